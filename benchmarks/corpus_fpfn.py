"""False-positive / false-negative rates of the "livepeer" and "exact" presets on a generated corpus.

Each corpus item is a 2-second segment (60 frames at 30 fps, like Livepeer's HLS segments) of one of
several synthetic FFmpeg sources. For each segment and rendition size, a *trusted* rendition is encoded
(libx264 crf 18, bicubic scaling) and compared, as go-livepeer does (trusted first), with:

- *honest* renditions: the same segment scaled with another scaler and/or encoded at other bitrates or
  with another encoder (what a different, honest orchestrator or GPU pipeline returns) -> must match;
- *tampered* renditions: logo/box overlay, region blur, colour inversion, mirror, zoom, a spliced-in
  foreign half, a different segment of the same source, unrelated content -> must not match.

Signatures are computed by FFmpeg's own ``signature`` filter on the decoded renditions (the gateway-side
view; ``verify_segment`` on files does the same with lpcore). FN rate = honest pairs reported as no match;
FP rate = tampered pairs reported as a match (code 1 or 2, as lpms counts it).

Usage: ``python3 benchmarks/corpus_fpfn.py [--dir DIR] [--segments N] [--jobs 2]``; the corpus is cached in
DIR, so a second run only re-compares.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

FPS = 30
DUR = 2
# (width, height, frames): 2-s segments at two rendition sizes, and 1-s segments (short final segments,
# 1-s segment configurations) at 426x240
SIZES = [(640, 360, 60), (426, 240, 60), (426, 240, 30)]


def sources(n: int, start: int = 0) -> list[tuple[str, str]]:
    """(name, lavfi graph) of n distinct 2-s segments (960x540, 30 fps), numbered from start."""
    base = "s=960x540:r=30"
    out = []
    for k in range(start, start + n):
        kind = k % 6
        if kind == 0:
            g = f"testsrc2={base}:d=40,trim=start={5 * k % 30}:duration=2,setpts=PTS-STARTPTS"
        elif kind == 1:
            g = f"mandelbrot={base}:start_scale={1.5 + 0.2 * k}:end_scale=0.1,trim=duration=2"
        elif kind == 2:
            g = f"life={base}:seed={k}:mold=10:ratio=0.3:death_color=#202020:life_color=#e0e0a0,trim=duration=2"
        elif kind == 3:
            g = f"cellauto={base}:rule={[18, 30, 90, 110, 150][k % 5]}:random_seed={k}:scroll=1,trim=duration=2"
        elif kind == 4:
            g = f"gradients={base}:seed={k}:speed=0.02:nb_colors=4,trim=duration=2"
        else:
            g = (f"smptehdbars={base},trim=duration=2[bg];testsrc=s=240x160:r=30,trim=duration=2,"
                 f"hue=h={37 * k}[fg];[bg][fg]overlay=x='40+{6 + k % 5}*t*60':y='60+{k % 7}*t*40'")
        out.append((f"seg{k:02d}", g))
    return out


HONEST = {  # name -> (scale flags, encoder args, filter before scaling)
    "crf23": ("bicubic", ["-c:v", "libx264", "-crf", "23"], None),
    "crf35": ("bicubic", ["-c:v", "libx264", "-crf", "35"], None),
    "crf45": ("bicubic", ["-c:v", "libx264", "-crf", "45"], None),
    "bilinear_crf28": ("bilinear", ["-c:v", "libx264", "-crf", "28"], None),
    "lanczos_300k": ("lanczos", ["-c:v", "libx264", "-b:v", "300k"], None),
    "area_mpeg4": ("area", ["-c:v", "mpeg4", "-q:v", "8"], None),
    "neighbor_crf30": ("neighbor", ["-c:v", "libx264", "-crf", "30"], None),
    # a pipeline that lost the first frame, or repeated it (decoder/encoder start-up differences)
    "drop_first_crf28": ("bicubic", ["-c:v", "libx264", "-crf", "28"], "trim=start_frame=1,setpts=PTS-STARTPTS"),
    "dup_first_crf28": ("bicubic", ["-c:v", "libx264", "-crf", "28"], "tpad=start=1:start_mode=clone"),
}

TAMPER = {  # name -> filter applied to the source before the trusted scaling (uses [o] other content)
    "logo": "drawbox=x=iw*0.05:y=ih*0.05:w=iw*0.45:h=ih*0.45:color=red@1:t=fill",
    "small_logo": "drawbox=x=iw*0.7:y=ih*0.75:w=iw*0.2:h=ih*0.15:color=white@1:t=fill",
    "region_blur": "split[m][r];[r]crop=iw/2:ih/2:0:0,boxblur=20[b];[m][b]overlay=0:0",
    "negate": "negate",
    "hflip": "hflip",
    "zoom": "crop=iw*0.7:ih*0.7,scale=960:540",
    "splice": "SPLICE2",         # first half own content, second half foreign content
    "splice_third": "SPLICE3",   # first third own content, the rest foreign
    "other_segment": "OTHER",    # a different segment of the corpus
}


def ff(args: list[str]) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], check=True)


def make_source(d: Path, name: str, graph: str) -> Path:
    out = d / f"{name}.mkv"
    if not out.exists():
        ff(["-f", "lavfi", "-i", graph, "-frames:v", str(FPS * DUR), "-c:v", "ffv1", "-pix_fmt", "yuv420p",
            str(out)])
    return out


def render(d: Path, tag: str, src: Path, size, flags: str, enc: list[str], pre: str | None = None,
           other: Path | None = None) -> Path:
    """Encodes src (optionally tampered) at size and writes the signature of the decoded rendition."""
    w, h, frames = size
    sig = d / f"{tag}.bin"
    if sig.exists():
        return sig
    mp4 = d / f"{tag}.mp4"
    scale = f"scale={w}:{h}:flags={flags},trim=end_frame={frames}"
    if pre in ("SPLICE2", "SPLICE3"):
        own = frames // int(pre[-1])
        graph = (f"[0:v]trim=end_frame={own},setpts=PTS-STARTPTS[x];[1:v]trim=start_frame={own},"
                 f"setpts=PTS-STARTPTS[y];[x][y]concat=n=2:v=1,{scale}[v]")
        ff(["-i", str(src), "-i", str(other), "-filter_complex", graph, "-map", "[v]", "-pix_fmt", "yuv420p", *enc,
            str(mp4)])
    else:
        chain = scale if not pre else f"{pre},{scale}"
        ff(["-i", str(other if pre == "OTHER" else src), "-filter_complex",
            f"[0:v]{chain if pre != 'OTHER' else scale}[v]", "-map", "[v]", "-pix_fmt", "yuv420p", *enc, str(mp4)])
    ff(["-i", str(mp4), "-map", "0:v:0", "-vf", f"signature=filename={sig}", "-f", "null", "-"])
    mp4.unlink()
    return sig


def build(d: Path, n: int, jobs: int, start: int = 0) -> list[dict]:
    d.mkdir(parents=True, exist_ok=True)
    srcs = sources(n, start)
    with cf.ThreadPoolExecutor(jobs) as ex:
        paths = list(ex.map(lambda s: make_source(d, *s), srcs))
    tasks = []
    for k, (name, _) in enumerate(srcs):
        src, other = paths[k], paths[(k + 1) % n]
        for w, h, frames in SIZES:
            sz = f"{w}x{h}" + ("" if frames == FPS * DUR else f"-{frames}f")
            size = (w, h, frames)
            trusted = (f"{name}_{sz}_trusted", src, size, "bicubic", ["-c:v", "libx264", "-crf", "18"], None, None)
            tasks.append(("trusted", name, sz, trusted))
            for hn, (flags, enc, pre) in HONEST.items():
                tasks.append((f"honest:{hn}", name, sz, (f"{name}_{sz}_h_{hn}", src, size, flags, enc, pre, None)))
            for tn, pre in TAMPER.items():
                tasks.append((f"tamper:{tn}", name, sz, (f"{name}_{sz}_t_{tn}", src, size, "bicubic",
                                                        ["-c:v", "libx264", "-crf", "23"], pre, other)))
    with cf.ThreadPoolExecutor(jobs) as ex:
        sigs = list(ex.map(lambda t: render(d, t[3][0], *t[3][1:]), tasks))
    items = []
    for (kind, name, sz, _), sig in zip(tasks, sigs):
        items.append({"kind": kind, "segment": name, "size": sz, "sig": str(sig)})
    return items


def evaluate(items: list[dict], presets: list[str], thresholds: dict | None = None,
             sizes: set[str] | None = None) -> dict:
    from lpcore.vsig import compare

    trusted = {(i["segment"], i["size"]): i["sig"] for i in items if i["kind"] == "trusted"}
    res: dict = defaultdict(lambda: defaultdict(lambda: [0, 0]))   # preset -> kind -> [matched, total]
    for it in items:
        if it["kind"] == "trusted" or (sizes is not None and it["size"] not in sizes):
            continue
        ref = Path(trusted[(it["segment"], it["size"])]).read_bytes()
        cand = Path(it["sig"]).read_bytes()
        for p in presets:
            m = compare(ref, cand, preset=p, **(thresholds or {}).get(p, {}))
            res[p][it["kind"]][0] += bool(m)
            res[p][it["kind"]][1] += 1
    return res


def rates(res: dict, presets: list[str], label: str) -> str:
    """One line: FN and FP rate per preset."""
    cells = []
    for p in presets:
        hm = sum(v[0] for k, v in res[p].items() if k.startswith("honest"))
        ht = sum(v[1] for k, v in res[p].items() if k.startswith("honest"))
        tm = sum(v[0] for k, v in res[p].items() if k.startswith("tamper"))
        tt = sum(v[1] for k, v in res[p].items() if k.startswith("tamper"))
        cells.append(f"FN {ht - hm}/{ht} = {100 * (ht - hm) / ht:.1f}%, FP {tm}/{tt} = {100 * tm / tt:.1f}%")
    return f"| {label} | " + " | ".join(cells) + " |"


def table(res: dict, presets: list[str]) -> str:
    kinds = sorted({k for p in presets for k in res[p]}, key=lambda k: (not k.startswith("honest"), k))
    lines = ["| pair kind | " + " | ".join(f"{p} match rate" for p in presets) + " |",
             "|---|" + "---|" * len(presets)]
    for k in kinds:
        cells = [f"{res[p][k][0]}/{res[p][k][1]}" for p in presets]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    for label, prefix, good in (("**FN rate** (honest not matched)", "honest", False),
                                ("**FP rate** (tampered matched)", "tamper", True)):
        cells = []
        for p in presets:
            m = sum(v[0] for k, v in res[p].items() if k.startswith(prefix))
            t = sum(v[1] for k, v in res[p].items() if k.startswith(prefix))
            bad = m if good else t - m
            cells.append(f"{bad}/{t} = {100 * bad / t:.1f}%")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default="/tmp/lpcore_corpus")
    ap.add_argument("--segments", type=int, default=12)
    ap.add_argument("--start", type=int, default=0, help="first segment number (held-out sets use other numbers)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--presets", default="livepeer,exact")
    ap.add_argument("--json", help="also write the raw counts here")
    args = ap.parse_args(argv)
    if shutil.which("ffmpeg") is None:
        print("ffmpeg is required", file=sys.stderr)
        return 2
    items = build(Path(args.dir), args.segments, args.jobs, args.start)
    presets = args.presets.split(",")
    res = evaluate(items, presets)
    print(table(res, presets))
    print()
    print("| segments | " + " | ".join(presets) + " |")
    print("|---|" + "---|" * len(presets))
    for size in sorted({i["size"] for i in items}):
        print(rates(evaluate(items, presets, sizes={size}), presets, size))
    if args.json:
        Path(args.json).write_text(json.dumps({p: dict(v) for p, v in res.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
