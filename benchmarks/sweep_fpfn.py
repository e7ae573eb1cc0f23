"""Out-of-corpus sweep of the tamper detector: other sources, other sizes, honest encodes and canonical tampers.

``corpus_fpfn.py --profile`` measures the detector on one corpus (six generators, 426x240, 2-s segments). This
sweep checks that the calibration carries over to content and sizes it never saw, in two parts:

- **honest**: FFmpeg test sources generated directly at the rendition size (as a test suite makes its clips:
  sharp-edged bars and patterns, pixel-level noise), 1 s and 2 s, a CRF 18 reference against x264 CRF 35, CRF 45,
  CRF 40 ``veryfast`` and 150 kbit/s. Every flag is a false alarm.
- **encoders** (``--encoder-sizes``, none by default): the honest part's sources (2 s) against other encoders
  (MPEG-4 part 2 at a fixed quantiser and at 200 kbit/s, MPEG-2, full-range MJPEG, x265 CRF 38, SVT-AV1 CRF 50)
  and x264 renditions with their first frame dropped or repeated, two frames dropped, or at 100 kbit/s.
- **at size** (``--at-sizes``, none by default): the honest part's sources generated at the size (2 s), a CRF 18
  reference against the 15 edits below applied at that size, as a test suite tampers its clips.
- **tampered**: eight sources rendered at 960x540 and scaled (bicubic) to each size; a CRF 18 reference against
  four honest variants (CRF 35 and 45, lanczos and bilinear scaling) and 15 edits (boxes of 3 % and 10 %, a
  quarter-frame blur, a pixelised tenth, mirrors, negation, a hue turn, desaturation, a semi-transparent band,
  text, and 8 frames inserted, frozen, reversed or dropped), each encoded at CRF 23. Edits that change nothing
  in a source (a hue turn of a black-and-white automaton) are counted like the others: the table shows them.

Run: ``python3 benchmarks/sweep_fpfn.py --dir DIR --honest-sizes 320x240,640x360 --tamper-sizes 256x144,480x270,
854x480`` (renditions are cached in DIR; a rerun only re-evaluates). ``--json`` writes the rows.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import shutil
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))   # the sibling corpus script, however this one is run
from corpus_fpfn import _profile_of, ff  # noqa: E402  (its ffmpeg runner and cached profiles)

HONEST_SOURCES = {   # lavfi graphs at the rendition size {s}, {t} seconds
    "smptebars": "smptebars=s={s}:r=30:d={t}", "smptehdbars": "smptehdbars=s={s}:r=30:d={t}",
    "testsrc": "testsrc=s={s}:r=30:d={t}", "testsrc2": "testsrc2=s={s}:r=30:d={t}",
    "rgbtestsrc": "rgbtestsrc=s={s}:r=30:d={t}", "yuvtestsrc": "yuvtestsrc=s={s}:r=30:d={t}",
    "mandelbrot": "mandelbrot=s={s}:r=30,trim=duration={t}",
    # (life and cellauto draw a random start unless seeded: the reference and the rendition must be the same clip)
    "life": "life=s={s}:r=30:mold=10:ratio=0.1:seed=7,trim=duration={t}",
    "cellauto": "cellauto=s={s}:r=30:rule=30:random_seed=7,trim=duration={t}",
    "pal100bars": "pal100bars=s={s}:r=30:d={t}", "colorspectrum": "colorspectrum=s={s}:r=30:d={t}",
    "allyuv": "allyuv=r=30:d={t},scale={s}",
}
X264 = ["-c:v", "libx264"]
HONEST_ENCODES = {"crf35": [*X264, "-crf", "35"], "crf45": [*X264, "-crf", "45"],
                  "crf40fast": [*X264, "-crf", "40", "-preset", "veryfast"], "b150k": [*X264, "-b:v", "150k"]}
# the encoder part: the same sources (2 s), a CRF 18 x264 reference against other encoders and first-frame edits
# (Matroska output). MJPEG is full-range (yuvj420p, FFmpeg's choice for it): the conversion clips levels below 16
# and above 235, which SMPTE bars' PLUGE and yuvtestsrc hold, a real change.
ENCODER_VARIANTS = {
    "mpeg4_q8": ["-c:v", "mpeg4", "-q:v", "8"], "mpeg4_200k": ["-c:v", "mpeg4", "-b:v", "200k"],
    "mpeg2_q12": ["-c:v", "mpeg2video", "-q:v", "12"],
    "mjpeg_q15_fullrange": ["-c:v", "mjpeg", "-q:v", "15", "-pix_fmt", "yuvj420p"],
    "x265_crf38": ["-c:v", "libx265", "-crf", "38", "-x265-params", "log-level=error"],
    "svtav1_crf50": ["-c:v", "libsvtav1", "-crf", "50", "-preset", "10"],
    "x264_crf45_first_dropped": ["-vf", "select=gte(n\\,1),setpts=N/30/TB", "-c:v", "libx264", "-crf", "45"],
    "x264_crf30_first_repeated": ["-vf", "tpad=start=1:start_mode=clone", "-c:v", "libx264", "-crf", "30"],
    "x264_crf28_two_dropped": ["-vf", "select=gte(n\\,2),setpts=N/30/TB", "-c:v", "libx264", "-crf", "28"],
    "x264_100k": ["-c:v", "libx264", "-b:v", "100k"],
}

TAMPER_SOURCES = {   # lavfi graphs at 960x540, 2 s
    "testsrc2": "testsrc2=s=960x540:r=30:d=2",
    "mandelbrot": "mandelbrot=s=960x540:r=30:start_scale=1.2:end_scale=0.3,trim=duration=2",
    "life": "life=s=960x540:r=30:seed=5:ratio=0.2:mold=20:life_color=#80ff80:death_color=#402020,trim=duration=2",
    "rgbtestsrc": "rgbtestsrc=s=960x540:r=30:d=2,hue=H=t*2",
    "yuvtestsrc": "yuvtestsrc=s=960x540:r=30:d=2,rotate=a=t*0.3",
    "cellauto": "cellauto=s=960x540:r=30:rule=110:random_seed=3:scroll=1,trim=duration=2",
    "smptenoise": "smptehdbars=s=960x540:r=30:d=2,noise=alls=8:allf=t",
    "zoompan": "testsrc=s=960x540:r=30:d=2,zoompan=z='1+0.002*on':d=1:s=960x540:fps=30",
}
FOREIGN = "testsrc2=s=960x540:r=30:d=2,hue=h=90,vflip"
TAMPER_HONEST = {"crf35": ("bicubic", "35"), "crf45": ("bicubic", "45"), "lanczos28": ("lanczos", "28"),
                 "bilinear30": ("bilinear", "30")}
TAMPERS = {   # filter on [0:v] (own) / [1:v] (foreign) before the scaling
    "box10": "drawbox=x=iw*0.55:y=ih*0.1:w=iw*0.3:h=ih*0.33:color=blue@1:t=fill",
    "box3": "drawbox=x=iw*0.1:y=ih*0.6:w=iw*0.17:h=ih*0.17:color=white@1:t=fill",
    "blur25": "split[m][r];[r]crop=iw/2:ih/2:iw/4:ih/4,boxblur=10[b];[m][b]overlay=W/4:H/4",
    "pixelise10": "split[m][r];[r]crop=iw*0.32:ih*0.32:iw*0.6:ih*0.6,pixelize=w=24:h=24[b];[m][b]overlay=W*0.6:H*0.6",
    "hflip": "hflip", "vflip": "vflip", "negate": "negate", "hue": "hue=h=60", "gray": "hue=s=0",
    "watermark": "drawbox=x=iw*0.3:y=ih*0.3:w=iw*0.4:h=ih*0.2:color=white@0.3:t=fill",
    "text": "drawtext=text='SAMPLE':fontsize=72:fontcolor=yellow:x=40:y=40",
    "insert8": None, "freeze8": "freezeframes=first=20:last=27:replace=20", "reverse8": None,
    "drop8": "select='not(between(n\\,20\\,27))',setpts=N/30/TB",
}


def _tamper_graph(name: str, scale: str) -> str:
    if name == "insert8":
        return ("[0:v]trim=end_frame=25,setpts=PTS-STARTPTS[a];[1:v]trim=end_frame=8,setpts=PTS-STARTPTS[b];"
                f"[0:v]trim=start_frame=25,setpts=PTS-STARTPTS[c];[a][b][c]concat=n=3:v=1,{scale}[v]")
    if name == "reverse8":
        return ("[0:v]trim=end_frame=20,setpts=PTS-STARTPTS[a];[0:v]trim=start_frame=20:end_frame=28,"
                "setpts=PTS-STARTPTS,reverse[b];[0:v]trim=start_frame=28,setpts=PTS-STARTPTS[c];"
                f"[a][b][c]concat=n=3:v=1,{scale}[v]")
    return f"[0:v]{TAMPERS[name]},{scale}[v]"


def _lossless(graph: str) -> list[str]:
    """ffmpeg arguments that render the lavfi graph's first 60 frames losslessly (a source the edits read)."""
    return ["-f", "lavfi", "-i", graph, "-frames:v", "60", "-c:v", "ffv1", "-pix_fmt", "yuv420p"]


def generated_tasks(d: Path, sizes: list[str], variants: dict[str, list[str]], durations=(1, 2), prefix: str = "h",
                    ext: str = ".mp4") -> list[tuple]:
    """(source, size, seconds, variant, reference path, rendition path, ffmpeg args of each) to render: the honest
    sources generated at each size for each duration, a CRF 18 x264 reference against each variant's encoder
    arguments (yuv420p unless the variant sets a pixel format). The honest part, and with ENCODER_VARIANTS the
    encoder part."""
    tasks = []
    for name, g in HONEST_SOURCES.items():
        for s in sizes:
            for t in durations:
                src = ["-f", "lavfi", "-i", g.format(s=s, t=t)]
                stem = f"{prefix}_{name}_{s}_{t}"
                ref_args = [*src, "-pix_fmt", "yuv420p", *X264, "-crf", "18"]
                for vn, enc in variants.items():
                    pix = [] if "-pix_fmt" in enc else ["-pix_fmt", "yuv420p"]
                    tasks.append((name, s, t, vn, d / f"{stem}_ref.mp4", d / f"{stem}_{vn}{ext}", ref_args,
                                  [*src, *pix, *enc]))
    return tasks


def _edit_tasks(name: str, s: str, src: Path, foreign: Path, ref: Path, ref_args: list[str], scale: str,
                stem: Path) -> list[tuple]:
    """The 15 edits (TAMPERS) of the lossless source src, then the filter scale, at CRF 23, against ref."""
    return [(name, s, "tampered", tn, ref, Path(f"{stem}_t_{tn}.mp4"), ref_args,
             ["-i", str(src), "-i", str(foreign), "-filter_complex", _tamper_graph(tn, scale), "-map", "[v]",
              "-frames:v", "68", "-pix_fmt", "yuv420p", *X264, "-crf", "23"]) for tn in TAMPERS]


def at_size_tasks(d: Path, sizes: list[str]) -> tuple[dict, list[tuple]]:
    """The at-size part: the honest sources generated at the size (2 s, lossless), a CRF 18 reference against the
    tamper part's 15 edits applied at the size (CRF 23), as a test suite would tamper its clips. Returns (the
    lossless inputs to render first: path -> ffmpeg args, the tasks as generated_tasks's)."""
    inputs, tasks = {}, []
    for s in sizes:
        foreign = d / f"a_foreign_{s}.mkv"
        inputs[foreign] = _lossless(FOREIGN.replace("960x540", s) + ",setsar=1")
        for name, g in HONEST_SOURCES.items():
            src = d / f"a_{name}_{s}_src.mkv"
            inputs[src] = _lossless(g.format(s=s, t=2) + ",setsar=1")
            ref_args = ["-i", str(src), "-pix_fmt", "yuv420p", *X264, "-crf", "18"]
            tasks += _edit_tasks(name, s, src, foreign, d / f"a_{name}_{s}_ref.mp4", ref_args, "null",
                                 d / f"a_{name}_{s}")
    return inputs, tasks


def tamper_tasks(d: Path, sizes: list[str]) -> tuple[dict, list[tuple]]:
    """The tamper part: the 960x540 sources, scaled to each size, a CRF 18 reference against the honest variants
    (TAMPER_HONEST) and the 15 edits. Returns (lossless inputs, tasks) as at_size_tasks does."""
    if not sizes:
        return {}, []
    foreign = d / "foreign.mkv"
    inputs, tasks = {foreign: _lossless(FOREIGN)}, []
    for name, g in TAMPER_SOURCES.items():
        src = d / f"src_{name}.mkv"
        inputs[src] = _lossless(g)
        for s in sizes:
            w, h = s.split("x")
            ref = d / f"t_{name}_{s}_ref.mp4"
            ref_args = ["-i", str(src), "-vf", f"scale={w}:{h}:flags=bicubic", "-pix_fmt", "yuv420p", *X264,
                        "-crf", "18"]
            for hn, (flags, crf) in TAMPER_HONEST.items():
                tasks.append((name, s, "honest", hn, ref, d / f"t_{name}_{s}_h_{hn}.mp4", ref_args,
                              ["-i", str(src), "-vf", f"scale={w}:{h}:flags={flags}", "-pix_fmt", "yuv420p",
                               *X264, "-crf", crf]))
            tasks += _edit_tasks(name, s, src, foreign, ref, ref_args, f"scale={w}:{h}:flags=bicubic",
                                 d / f"t_{name}_{s}")
    return inputs, tasks


def _render(path: Path, args: list[str]) -> None:
    if not path.exists():
        tmp = path.with_suffix(".part" + path.suffix)   # (the suffix picks the container)
        ff([*args, str(tmp)])
        tmp.rename(path)


def run(d: Path, honest_sizes: list[str], tamper_sizes: list[str], jobs: int,
        encoder_sizes: list[str] = (), at_sizes: list[str] = ()) -> list[dict]:
    from lpcore.verify import detect_tampering

    d.mkdir(parents=True, exist_ok=True)
    t_inputs, t_tasks = tamper_tasks(d, tamper_sizes)
    a_inputs, a_tasks = at_size_tasks(d, list(at_sizes))
    inputs = {**t_inputs, **a_inputs}
    tasks = [("honest-sweep", t) for t in generated_tasks(d, honest_sizes, HONEST_ENCODES)] + \
            [("encoder-sweep", t) for t in generated_tasks(d, list(encoder_sizes), ENCODER_VARIANTS, (2,), "e",
                                                           ".mkv")] + \
            [("tamper-sweep", t) for t in t_tasks] + [("at-size-sweep", t) for t in a_tasks]
    refs = {t[4]: t[6] for _, t in tasks}
    with cf.ThreadPoolExecutor(jobs) as ex:
        list(ex.map(lambda kv: _render(*kv), inputs.items()))
        list(ex.map(lambda kv: _render(*kv), refs.items()))
        list(ex.map(lambda pt: _render(pt[1][5], pt[1][7]), tasks))
    rows = []
    for part, (name, s, group, variant, ref, cand, _, _) in tasks:
        rep = detect_tampering(_profile_of(str(ref)), _profile_of(str(cand)))
        honest = part in ("honest-sweep", "encoder-sweep") or group == "honest"
        rows.append({"part": part, "source": name, "size": s, "variant": variant, "honest": honest,
                     "flagged": bool(rep.tampered), "score": rep.score,
                     "reason": rep.reasons[0] if rep.reasons else ""})
    return rows


def table(rows: list[dict]) -> str:
    out = []
    for part in ("honest-sweep", "encoder-sweep", "tamper-sweep", "at-size-sweep"):
        sel = [r for r in rows if r["part"] == part]
        if not sel:
            continue
        hon = [r for r in sel if r["honest"]]
        tam = [r for r in sel if not r["honest"]]
        counts = ([f"honest flagged {sum(r['flagged'] for r in hon)}/{len(hon)}"] if hon else []) + \
                 ([f"tampered flagged {sum(r['flagged'] for r in tam)}/{len(tam)}"] if tam else [])
        out.append(f"\n{part}: " + ", ".join(counts))
        by = defaultdict(lambda: [0, 0])
        for r in sel:
            key = ("honest " if r["honest"] else "") + r["variant"]
            by[key][0] += r["flagged"]
            by[key][1] += 1
        out.append("| variant | flagged |\n|---|---:|")
        out += [f"| {k} | {a}/{b} |" for k, (a, b) in sorted(by.items())]
        out += [f"- false alarm: {r['source']} {r['size']} {r['variant']} ({r['score']:.2f}: {r['reason']})"
                for r in hon if r["flagged"]]
        out += [f"- missed: {r['source']} {r['size']} {r['variant']} ({r['score']:.2f})"
                for r in tam if not r["flagged"]]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default="/tmp/lpcore_sweep")
    ap.add_argument("--honest-sizes", default="320x240,640x360")
    ap.add_argument("--tamper-sizes", default="256x144,480x270,854x480")
    ap.add_argument("--encoder-sizes", default="", help="sizes of the encoder part (none by default)")
    ap.add_argument("--at-sizes", default="", help="sizes of the at-size tamper part (none by default)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", help="also write the rows here")
    args = ap.parse_args(argv)
    if shutil.which("ffmpeg") is None:
        print("ffmpeg is required", file=sys.stderr)
        return 2
    split = lambda v: [x for x in v.split(",") if x]   # noqa: E731
    rows = run(Path(args.dir), split(args.honest_sizes), split(args.tamper_sizes), args.jobs,
               split(args.encoder_sizes), split(args.at_sizes))
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
