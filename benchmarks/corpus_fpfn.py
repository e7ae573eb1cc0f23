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
import functools
import json
import math
import random
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

FPS = 30
HELD_OUT_FROM = 18   # profile corpus: segments 0-17 calibrate (0-5 first, 6-17 once held out, benchmarks/README.md);
                     # from here on they are held out and vary more with k
# The profile corpus's parts, (first segment, name), each rendered after the changes before it (benchmarks/README.md,
# "Parts"): 18-53 were evaluated during development (two thresholds were raised after them); 54-65 were rendered
# afterwards; 66-77 after the rules TINT_EDGE, EDGE_GAIN and TEXTURE_LOST_*, evaluated once; 78 and on after a
# motion-rule change that was later undone (undoing it moved none of their verdicts), evaluated once.
PARTS = ((0, "calibration"), (HELD_OUT_FROM, "held-out"), (54, "fresh"), (66, "new"), (78, "final"))
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
            # from segment 18 on the start also moves with k // 6 (5k mod 30 repeats every 6 segments)
            t0 = 5 * k % 30 if k < HELD_OUT_FROM else (5 * k + 7 * (k // 6)) % 38
            g = f"testsrc2={base}:d=40,trim=start={t0}:duration=2,setpts=PTS-STARTPTS"
        elif kind == 1:
            g = f"mandelbrot={base}:start_scale={1.5 + 0.2 * k}:end_scale=0.1,trim=duration=2"
        elif kind == 2:
            g = f"life={base}:seed={k}:mold=10:ratio=0.3:death_color=#202020:life_color=#e0e0a0,trim=duration=2"
        elif kind == 3:
            g = f"cellauto={base}:rule={[18, 30, 90, 110, 150][k % 5]}:random_seed={k}:scroll=1,trim=duration=2"
        elif kind == 4:
            # FFmpeg's gradients source picks its default colours at random on every run, whatever the seed
            # (5.1: two renders of one segment differed by 63 levels on average), so they are given here
            rng = random.Random(k)
            cols = ":".join(f"c{i}=0x{rng.randrange(1 << 24):06x}" for i in range(4))
            g = f"gradients={base}:seed={k}:speed=0.02:nb_colors=4:{cols},trim=duration=2"
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


FFMPEG = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin"]


def ff(args: list[str]) -> None:
    subprocess.run([*FFMPEG, "-y", *args], check=True)


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


def render_sources(d: Path, n: int, jobs: int, start: int = 0) -> tuple[list, list[Path]]:
    """The corpus's source segments (``sources``), rendered into ``d`` on ``jobs`` threads: both corpora start here."""
    d.mkdir(parents=True, exist_ok=True)
    srcs = sources(n, start)
    with cf.ThreadPoolExecutor(jobs) as ex:
        paths = list(ex.map(lambda s: make_source(d, *s), srcs))
    return srcs, paths


def build(d: Path, n: int, jobs: int, start: int = 0) -> list[dict]:
    srcs, paths = render_sources(d, n, jobs, start)
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


# ---------------------------------------------------------------------------------------------------------------
# Profile detector corpus (lpcore.verify.detect_tampering beside the MPEG-7 presets)
#
# Renditions are kept as files and profiled with lpcore (the profile's signature is byte-identical to FFmpeg's,
# tests/vsig), so each rendition is decoded once. Every tamper kind varies its size, position or timing with the
# segment number k, so calibration (segments < HELD_OUT_FROM) and held-out segments see different edits.

PROFILE_SIZES = [(426, 240, 60)]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

PROFILE_HONEST = {  # name -> (scale flags, encoder args, filter before scaling)
    **HONEST,
    "crf40_veryfast": ("bicubic", ["-c:v", "libx264", "-preset", "veryfast", "-crf", "40"], None),
    "x265_crf32": ("bicubic", ["-c:v", "libx265", "-crf", "32", "-x265-params", "log-level=error"], None),
    "spline_150k": ("spline", ["-c:v", "libx264", "-b:v", "150k"], None),
    "vp9_crf45": ("bilinear", ["-c:v", "libvpx-vp9", "-crf", "45", "-b:v", "0", "-deadline", "realtime",
                               "-cpu-used", "8"], None),
    "drop_first_crf40": ("lanczos", ["-c:v", "libx264", "-crf", "40"], "trim=start_frame=1,setpts=PTS-STARTPTS"),
}


def _box(k: int, area: float, salt: int = 0) -> tuple[float, float, float, float]:
    """(x, y, w, h) fractions of a box of the given area fraction, aspect and position varying with k."""
    aspect = [1.0, 1.6, 0.7, 2.2][(k + salt) % 4]
    w = min(0.9, math.sqrt(area * aspect))
    h = min(0.9, area / w)
    pos = [(0.05, 0.05), (0.95, 0.9), (0.5, 0.5), (0.05, 0.9), (0.9, 0.1), (0.3, 0.7), (0.7, 0.3)][(k + salt) % 7]
    return (pos[0] * (1 - w), pos[1] * (1 - h), w, h)


def _region(k: int, area: float, inner: str, salt: int = 0) -> str:
    """A filter on a region of the frame: crop it, run `inner`, overlay it back at the same place. The box is
    given in even source pixels: crop and overlay round fractional positions differently on yuv420p, which
    moved the region by a pixel or two (a luma change of its own; a hue turn of grey content was then still
    "visible")."""
    x, y, w, h = (2 * int(f * s / 2) for f, s in zip(_box(k, area, salt), (SRC_W, SRC_H, SRC_W, SRC_H)))
    return f"[0:v]split[m][r];[r]crop={w}:{h}:{x}:{y},{inner}[e];[m][e]overlay={x}:{y}[v]"


def _simple(chain: str) -> str:
    return f"[0:v]{chain}[v]"


def _variant(k: int) -> int:
    """The edit-parameter index of segment k. Before HELD_OUT_FROM it is k, so an edit's size follows the
    generator (both cycle with k % 6); from there on it is shifted by k // 6, so that every generator also
    meets other sizes, positions and colours."""
    return k if k < HELD_OUT_FROM else k + k // 6


def tamper_encoder(k: int) -> list[str]:
    """The cheater's encoder: x264 CRF 23 on the calibration part; from HELD_OUT_FROM on CRF 18, 23 or 28 (a
    noisier tampered rendition hides its edit better)."""
    crf = 23 if k < HELD_OUT_FROM else [18, 23, 28][k % 3]
    return ["-c:v", "libx264", "-crf", str(crf)]


def _tamper_graph(name: str, k: int) -> str:
    """filter_complex for tamper kind `name` at segment k: inputs [0:v] (own) and [1:v] (foreign), output [v]
    at the source's 960x540."""
    k = _variant(k)
    areas = [0.02, 0.04, 0.08, 0.15, 0.25, 0.4]
    a = areas[k % len(areas)]
    colors = ["red", "white", "black", "yellow", "0x3080ff", "green"]
    c = colors[k % len(colors)]
    x, y, w, h = _box(k, a)
    if name == "box":
        return _simple(f"drawbox=x=iw*{x:.3f}:y=ih*{y:.3f}:w=iw*{w:.3f}:h=ih*{h:.3f}:color={c}@1:t=fill")
    if name == "logo_2pct":
        x, y, w, h = _box(k, 0.02, 3)
        return _simple(f"drawbox=x=iw*{x:.3f}:y=ih*{y:.3f}:w=iw*{w:.3f}:h=ih*{h:.3f}:color={c}@1:t=fill")
    if name == "semi_transparent":
        return _simple(f"drawbox=x=iw*{x:.3f}:y=ih*{y:.3f}:w=iw*{w:.3f}:h=ih*{h:.3f}:color=white@0.35:t=fill")
    if name == "text":
        size = [36, 48, 64, 80][k % 4]
        return _simple(f"drawtext=fontfile={FONT}:text='FAKE {k}':fontsize={size}:fontcolor={c}:"
                       f"x=w*{x:.3f}:y=h*{y:.3f}")
    if name == "blur":
        return _region(k, max(a, 0.04), "boxblur=8", 1)
    if name == "pixelise":
        return _region(k, max(a, 0.04), "pixelize=w=16:h=16", 2)
    if name == "delogo":
        x, y, w, h = _box(k, max(a, 0.03), 4)
        return _simple(f"delogo=x={int(960 * x) + 2}:y={int(540 * y) + 2}:w={int(960 * w) - 4}:h={int(540 * h) - 4}")
    if name == "chroma_region":
        return _region(k, max(a, 0.04), f"hue=h={[90, 180, 270][k % 3]}:s=1.5", 5)
    if name == "chroma_global":
        return _simple(["hue=s=0", "hue=h=120", "colorbalance=rs=0.4:bs=-0.4"][k % 3])
    if name == "insert":   # 5..10 foreign frames inserted mid-segment (the rendition grows)
        at, cnt = 15 + 5 * (k % 5), 5 + k % 6
        return (f"[0:v]trim=end_frame={at},setpts=PTS-STARTPTS[a];[1:v]trim=end_frame={cnt},setpts=PTS-STARTPTS[b];"
                f"[0:v]trim=start_frame={at},setpts=PTS-STARTPTS[c];[a][b][c]concat=n=3:v=1[v]")
    if name == "replace":  # 5..10 frames replaced by foreign ones
        at, cnt = 15 + 5 * (k % 5), 5 + k % 6
        return (f"[0:v]trim=end_frame={at},setpts=PTS-STARTPTS[a];[1:v]trim=start_frame={at}:end_frame={at + cnt},"
                f"setpts=PTS-STARTPTS[b];[0:v]trim=start_frame={at + cnt},setpts=PTS-STARTPTS[c];"
                f"[a][b][c]concat=n=3:v=1[v]")
    if name == "frozen":
        at, cnt = 10 + 5 * (k % 6), 5 + 3 * (k % 5)
        return _simple(f"freezeframes=first={at}:last={at + cnt - 1}:replace={at}")
    if name == "reordered":  # a run of 6..10 frames played backwards
        at, cnt = 15 + 4 * (k % 5), 6 + k % 5
        return (f"[0:v]trim=end_frame={at},setpts=PTS-STARTPTS[a];[0:v]trim=start_frame={at}:end_frame={at + cnt},"
                f"setpts=PTS-STARTPTS,reverse[b];[0:v]trim=start_frame={at + cnt},setpts=PTS-STARTPTS[c];"
                f"[a][b][c]concat=n=3:v=1[v]")
    if name == "missing":  # 5..10 frames dropped mid-segment
        at, cnt = 15 + 5 * (k % 5), 5 + k % 6
        return _simple(f"select='not(between(n\\,{at}\\,{at + cnt - 1}))',setpts=N/30/TB")
    if name == "hflip":
        return _simple("hflip")
    if name == "vflip":
        return _simple("vflip")
    if name == "negate":
        return _simple("negate")
    if name == "zoom":
        z = [0.7, 0.8, 0.9][k % 3]
        return _simple(f"crop=iw*{z}:ih*{z},scale=960:540")
    if name == "splice":
        return ("[0:v]trim=end_frame=30,setpts=PTS-STARTPTS[a];[1:v]trim=start_frame=30,setpts=PTS-STARTPTS[b];"
                "[a][b]concat=n=2:v=1[v]")
    if name == "other_segment":
        return "[1:v]null[v]"
    raise ValueError(name)


PROFILE_TAMPER = {  # name -> (group, edited area >= 2 % of the frame or >= 5 frames of the segment)
    "box": ("local", True), "logo_2pct": ("local", True), "semi_transparent": ("local", True),
    "text": ("local", True), "blur": ("local", True), "pixelise": ("local", True), "delogo": ("local", True),
    "chroma_region": ("chroma", True), "chroma_global": ("chroma", True),
    "insert": ("temporal", True), "replace": ("temporal", True), "frozen": ("temporal", True),
    "reordered": ("temporal", True), "missing": ("temporal", True),
    "hflip": ("global", True), "vflip": ("global", True), "negate": ("global", True), "zoom": ("global", True),
    "splice": ("temporal", True), "other_segment": ("global", True),
}


def render_media(d: Path, tag: str, src: Path, other: Path, size, flags: str, enc: list[str],
                 graph: str | None = None, pre: str | None = None) -> Path:
    """Encodes src (optionally tampered by a filter_complex `graph` or a simple `pre` chain) at size; keeps
    the file (the profile detector decodes it)."""
    w, h, frames = size
    out = d / f"{tag}.{'webm' if 'libvpx-vp9' in enc else 'mp4'}"
    if out.exists():
        return out
    scale = f"scale={w}:{h}:flags={flags}"
    if graph is None:
        graph = f"[0:v]{pre + ',' if pre else ''}null[v]"
    graph = graph.replace("[v]", "[t]") + f";[t]{scale}[v]"
    # renditions keep the segment's length, except where frames were inserted (up to 10 more)
    tmp = out.with_suffix(".part" + out.suffix)
    ff(["-i", str(src), "-i", str(other), "-filter_complex", graph, "-map", "[v]", "-pix_fmt", "yuv420p", *enc,
        "-frames:v", str(frames + (10 if "concat=n=3" in graph else 0)), str(tmp)])
    tmp.rename(out)
    return out


def build_profile_corpus(d: Path, n: int, jobs: int, start: int = 0) -> list[dict]:
    srcs, paths = render_sources(d, n, jobs, start)
    tasks = []
    for idx, (name, _) in enumerate(srcs):
        k = start + idx
        src, other = paths[idx], paths[(idx + 1) % n]
        for w, h, frames in PROFILE_SIZES:
            sz = f"{w}x{h}"
            size = (w, h, frames)
            tasks.append(("trusted", name, sz, k, (f"p_{name}_{sz}_trusted", src, other, size, "bicubic",
                                                     ["-c:v", "libx264", "-crf", "18"], None, None)))
            for hn, (flags, enc, pre) in PROFILE_HONEST.items():
                tasks.append((f"honest:{hn}", name, sz, k, (f"p_{name}_{sz}_h_{hn}", src, other, size, flags, enc,
                                                             None, pre)))
            for tn in PROFILE_TAMPER:
                tasks.append((f"tamper:{tn}", name, sz, k, (f"p_{name}_{sz}_t_{tn}", src, other, size, "bicubic",
                                                             tamper_encoder(k), _tamper_graph(tn, k), None)))
    with cf.ThreadPoolExecutor(jobs) as ex:
        files = list(ex.map(lambda t: render_media(d, *t[4]), tasks))
        effects = list(ex.map(lambda tf: edit_effect(str(tf[1]), tf[0][4][1], tf[0][4][2], tf[0][4][6])
                              if tf[0][0].startswith("tamper:") else None, zip(tasks, files)))
    return [{"kind": kind, "segment": name, "size": sz, "k": k, "media": str(f), "effect": e}
            for (kind, name, sz, k, _), f, e in zip(tasks, files, effects)]


SRC_W, SRC_H = 960, 540
CHANGED_LEVELS = 8      # a pixel is changed if a plane differs by more than this
CHANGED_PIXELS = 0.001  # a frame is changed if >= 0.1 % of its pixels are, and edited (in the sense:
CHANGED_AREA = 0.019    # >= 2 % of the frame, less a pixel's rounding) if their bounding box spans >= 1.9 % of it
CHANGED_FRAMES = 5      # a tamper counts if >= 5 frames are (or frames were added or removed)


@functools.lru_cache(maxsize=2)
def _source_frames(src: str) -> "np.ndarray":
    """A source segment's raw frames, decoded once for all its tamper kinds (the jobs walk a segment's renditions
    in order, so two segments at a time are enough)."""
    return _raw_frames(["-i", src])


def _raw_frames(args: list[str]) -> "np.ndarray":
    """Frames (N, H*3/2, W) uint8 (yuv420p planes stacked) of an ffmpeg run writing raw video to stdout."""
    import numpy as np

    out = subprocess.run([*FFMPEG, *args, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"], check=True,
                         capture_output=True).stdout
    fsz = SRC_W * SRC_H * 3 // 2
    return np.frombuffer(out, np.uint8)[: len(out) // fsz * fsz].reshape(-1, fsz)


def edit_effect(media: str, src: Path, other: Path, graph: str) -> dict:
    """What a tamper's filter graph changes in its source (at the source's 960x540, before any encode). Per
    frame, in each plane (a chroma sample covers the 4 pixels it colours): the pixels differing by more than
    CHANGED_LEVELS, as a share of the plane, and the share their bounding box spans. A frame is *changed* if
    the first is >= CHANGED_PIXELS, *edited* if also the second is >= CHANGED_AREA. ``visible``: >= 5 changed
    frames (or another frame count); ``in_scope``: >= 5 edited frames (or another frame count), the issue's
    "edited area >= 2 % of the frame or >= 5 frames". An edit that changes nothing (a hue turn of grey content,
    a blur of a flat gradient) cannot be seen by any comparison of pictures; one under 2 % of the frame (small
    text) is outside the target. The tables count both apart. Cached beside the rendition."""
    import numpy as np

    cache = Path(media).with_suffix(".effect.json")
    if cache.exists():
        return json.loads(cache.read_text())
    a = _source_frames(str(src))
    b = _raw_frames(["-i", str(src), "-i", str(other), "-filter_complex", graph, "-map", "[v]",
                     "-frames:v", str(FPS * DUR + 10)])
    n = min(len(a), len(b))
    ys, cs = SRC_W * SRC_H, SRC_W * SRC_H // 4
    planes = [(0, SRC_H, SRC_W), (ys, SRC_H // 2, SRC_W // 2), (ys + cs, SRC_H // 2, SRC_W // 2)]
    changed = edited = 0
    for i in range(n):
        d = np.abs(a[i].astype(np.int16) - b[i].astype(np.int16)) > CHANGED_LEVELS
        hit = box_hit = False
        for off, h, w in planes:
            m = d[off:off + h * w].reshape(h, w)
            if m.mean() < CHANGED_PIXELS:
                continue
            hit = True
            rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
            box_hit = box_hit or (rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1) >= CHANGED_AREA * h * w
        changed += hit
        edited += box_hit
    other_len = len(a) != len(b)
    res = {"changed_frames": int(changed), "edited_frames": int(edited), "frames": [int(len(a)), int(len(b))],
           "visible": bool(changed >= CHANGED_FRAMES or other_len),
           "in_scope": bool(edited >= CHANGED_FRAMES or other_len)}
    cache.write_text(json.dumps(res))
    return res


def _profile_of(path: str):
    from lpcore.vsig.profile import VideoProfile, compute_profile_file

    cache = Path(path).with_suffix(".lpvp")
    if cache.exists():
        return VideoProfile.from_bytes(cache.read_bytes())
    prof = compute_profile_file(path, "cpu")
    cache.write_bytes(prof.to_bytes())
    return prof


def evaluate_profile(items: list[dict], presets: list[str]) -> list[dict]:
    """One row per (non-trusted) rendition: kind, part (calibration / held-out), detector verdict and scores,
    and each preset's MPEG-7 verdict (matched = accepted)."""
    from lpcore.verify.detect import detect_tampering
    from lpcore.vsig import compare

    trusted = {(i["segment"], i["size"]): i["media"] for i in items if i["kind"] == "trusted"}
    rows = []
    for it in items:
        if it["kind"] == "trusted":
            continue
        ref = _profile_of(trusted[(it["segment"], it["size"])])
        cand = _profile_of(it["media"])
        rep = detect_tampering(ref, cand)
        row = {"kind": it["kind"], "segment": it["segment"], "size": it["size"],
               "part": [name for first, name in PARTS if first <= it["k"]][-1],
               "profile": bool(rep.tampered), "score": rep.score, "scores": rep.scores, "offset": rep.offset,
               "visible": it["effect"] is None or it["effect"]["visible"],
               "in_scope": it["effect"] is None or it["effect"]["in_scope"]}
        for p in presets:
            row[p] = not bool(compare(ref.signature, cand.signature, preset=p))   # True = flagged
        rows.append(row)
    return rows


def profile_table(rows: list[dict], part: str, presets: list[str]) -> str:
    """Markdown table: per kind, the share flagged by each method (honest: false alarms; tampered: detections),
    over the tampers in the target's scope (``edit_effect``); the last two columns count the tampers outside it
    (an edit under 2 % of the frame, one that changes nothing visible), whose detections are summed apart."""
    methods = presets + ["profile"]
    sel = [r for r in rows if r["part"] == part]
    kinds = sorted({r["kind"] for r in sel}, key=lambda k: (not k.startswith("honest"), k))
    head = ("| rendition kind | " + " | ".join(f"`{m}` flagged" for m in methods)
            + " | < 2 % of the frame (not counted) | no visible change (not counted) |")
    lines = [head, "|---|" + "---|" * (len(methods) + 2)]
    for kd in kinds:
        rs = [r for r in sel if r["kind"] == kd and r["in_scope"]]
        small = sum(1 for r in sel if r["kind"] == kd and r["visible"] and not r["in_scope"])
        noop = sum(1 for r in sel if r["kind"] == kd and not r["visible"])
        lines.append(f"| {kd} | " + " | ".join(f"{sum(r[m] for r in rs)}/{len(rs)}" for m in methods)
                     + f" | {small or ''} | {noop or ''} |")
    groups = (("**false alarms** (honest flagged)", lambda r: r["kind"].startswith("honest")),
              ("**detected** (tampered flagged)", lambda r: r["kind"].startswith("tamper") and r["in_scope"]),
              ("tampers under 2 % of the frame, flagged",
               lambda r: r["kind"].startswith("tamper") and r["visible"] and not r["in_scope"]),
              ("tampers with no visible change, flagged", lambda r: r["kind"].startswith("tamper") and not r["visible"]))
    for label, pick in groups:
        rs = [r for r in sel if pick(r)]
        if not rs:
            continue
        cells = []
        for m in methods:
            f = sum(r[m] for r in rs)
            cells.append(f"{f}/{len(rs)} = {100 * f / max(1, len(rs)):.1f}%")
        lines.append(f"| {label} | " + " | ".join(cells) + " | | |")
    return "\n".join(lines)


def profile_main(args) -> int:
    items = build_profile_corpus(Path(args.dir), args.segments, args.jobs, args.start)
    presets = args.presets.split(",")
    rows = evaluate_profile(items, presets)
    for _, part in PARTS:
        if any(r["part"] == part for r in rows):
            print(f"\n### {part} segments\n")
            print(profile_table(rows, part, presets))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default="/tmp/lpcore_corpus")
    ap.add_argument("--segments", type=int, default=12)
    ap.add_argument("--start", type=int, default=0, help="first segment number (held-out sets use other numbers)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--presets", default="livepeer,exact")
    ap.add_argument("--json", help="also write the raw counts here")
    ap.add_argument("--profile", action="store_true",
                    help="the profile detector's corpus (more tamper kinds, decoded renditions) instead")
    args = ap.parse_args(argv)
    if shutil.which("ffmpeg") is None:
        print("ffmpeg is required", file=sys.stderr)
        return 2
    if args.profile:
        return profile_main(args)
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
