"""``lpcore bench`` rows for video signatures: ``vsig.compute`` vs FFmpeg's `signature` filter, same frames."""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .case import Case


def rows(n: int) -> list[Case]:
    """1080p and 720p testsrc2 luma (min(n, 60) frames each: frames are the unit here). The peer is the
    whole `ffmpeg -f rawvideo -i frames.yuv -vf signature -f null -` run over the same frames, so it includes
    ffmpeg's start-up and raw read and its ratio reads higher than benchmarks/bench_vsig.py's, which subtracts
    a null pass."""
    from ..vsig import compute

    if shutil.which("ffmpeg") is None:
        return []
    tmp = Path(tempfile.mkdtemp(prefix="lpcore-bench-vsig-"))
    atexit.register(shutil.rmtree, tmp, True)
    frames = max(1, min(n, 60))
    cases = []
    for label, (w, h) in (("1080p", (1920, 1080)), ("720p", (1280, 720))):
        raw_file = tmp / f"{label}.yuv"
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi", "-i",
                        f"testsrc2=size={w}x{h}:rate=30", "-frames:v", str(frames), "-pix_fmt", "yuv420p", "-f",
                        "rawvideo", str(raw_file)], check=True)
        size = w * h * 3 // 2
        raw = np.fromfile(raw_file, np.uint8)
        luma = np.ascontiguousarray(
            np.lib.stride_tricks.as_strided(raw, (frames, h, w), (size, w, 1), writeable=False))
        cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt",
               "yuv420p", "-s", f"{w}x{h}", "-r", "30", "-i", str(raw_file), "-vf",
               f"signature=filename={tmp / 'sig.bin'}", "-f", "null", "-"]
        cases.append(Case(name=f"vsig compute {label}", items=frames, unit="frames",
                          ours=lambda luma=luma: compute(luma),
                          peers={"ffmpeg -vf signature": lambda cmd=cmd: subprocess.run(cmd, check=True)}))
    return cases
