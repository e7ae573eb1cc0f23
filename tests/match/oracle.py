"""Shared data of the matcher tests: FFmpeg-generated clip recipes and the pairs checked against FFmpeg."""

from __future__ import annotations

import re

from tests._shared import FFMPEG, needs_ffmpeg  # noqa: F401  (re-exported to the matcher tests)

_X264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast"]
_SRC = "testsrc2=s=160x96:r=25:d=4"  # 100 frames: enough for upstream's 45-frame coarse shift (bug B1)

# name -> ffmpeg arguments producing <name>.mp4 (from ref.mp4 unless it names a lavfi source)
CLIPS: dict[str, list[str]] = {
    "ref": ["-f", "lavfi", "-i", _SRC, *_X264, "-crf", "18"],
    "lowq": ["-i", "ref.mp4", *_X264, "-crf", "45"],
    "rescaled": ["-i", "ref.mp4", "-vf", "scale=96:56", *_X264, "-crf", "23"],
    "shifted": ["-i", "ref.mp4", "-vf", "trim=start_frame=10,setpts=PTS-STARTPTS", *_X264, "-crf", "18"],
    "partial": ["-i", "ref.mp4", "-vf", "trim=start_frame=20:end_frame=70,setpts=PTS-STARTPTS", *_X264, "-crf", "18"],
    "halfrate": ["-i", "ref.mp4", "-vf", r"select=not(mod(n\,2)),setpts=N/(12.5*TB)", "-r", "12.5", *_X264,
                 "-crf", "18"],
    "different": ["-f", "lavfi", "-i", "mandelbrot=s=160x96:r=25", "-t", "4", *_X264, "-crf", "18"],
    "logo": ["-i", "ref.mp4", "-vf", "drawbox=x=20:y=10:w=60:h=40:color=red:t=fill", *_X264, "-crf", "18"],
    "blur": ["-i", "ref.mp4", "-vf", "boxblur=4", *_X264, "-crf", "18"],
    "flat": ["-f", "lavfi", "-i", "color=c=gray:s=160x96:r=25:d=4", *_X264, "-crf", "18"],
    "short": ["-f", "lavfi", "-i", "testsrc2=s=160x96:r=25:d=1.6", *_X264, "-crf", "18"],  # 40 frames
    # one frame held for 100: static content, every frame pair ties (the matcher's worst case, issue 15 item 7)
    "still": ["-i", "ref.mp4", "-vf", "trim=end_frame=1,loop=loop=99:size=1:start=0,setpts=N/(25*TB)", *_X264,
              "-crf", "18"],
}

# (a, b, extra signature options): the pairs whose "ffmpeg" preset result must equal FFmpeg's verdict
PAIRS: list[tuple[str, str, str]] = [
    ("ref", "ref", ""), ("ref", "lowq", ""), ("ref", "rescaled", ""), ("ref", "shifted", ""),
    ("shifted", "ref", ""), ("ref", "partial", ""), ("partial", "ref", ""), ("ref", "halfrate", ""),
    ("halfrate", "ref", ""), ("ref", "different", ""), ("ref", "logo", ""), ("ref", "blur", ""),
    ("flat", "flat", ""), ("short", "short", ""), ("ref", "lowq", ":detectmode=fast"),
    ("ref", "shifted", ":th_di=50"), ("ref", "ref", ":th_it=0.3"), ("ref", "ref", ":th_it=0.1"),
    ("ref", "blur", ":th_xh=60"), ("still", "still", ""), ("still", "ref", ""), ("ref", "still", ""),
]

_MATCH = re.compile(r"matching of video 0 at (\S+) and 1 at (\S+), (\d+) frames matching")


