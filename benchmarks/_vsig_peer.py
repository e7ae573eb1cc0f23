"""FFmpeg's `signature` filter as the peer of lpcore's signature benchmarks (CPU and GPU), and their frames."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np


def testsrc2_frames(w: int, h: int, n: int) -> tuple[bytes, np.ndarray]:
    """n testsrc2 frames as raw yuv420p bytes and as their (n, h, w) luma (C-contiguous)."""
    raw = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi", "-i",
         f"testsrc2=size={w}x{h}:rate=30", "-frames:v", str(n), "-pix_fmt", "yuv420p", "-f", "rawvideo", "-"],
        check=True, capture_output=True).stdout
    frame = w * h * 3 // 2
    luma = np.lib.stride_tricks.as_strided(np.frombuffer(raw, np.uint8), (n, h, w), (frame, w, 1), writeable=False)
    return raw, np.ascontiguousarray(luma)


def _ffmpeg(raw_file: Path, w: int, h: int, vf: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt",
                    "yuv420p", "-s", f"{w}x{h}", "-r", "30", "-i", str(raw_file), *vf, "-f", "null", "-"],
                   check=True, capture_output=True)
    return time.perf_counter() - t


def ffmpeg_filter_seconds(benchmark, raw: bytes, w: int, h: int, tmp_path: Path, repeats: int) -> tuple[float, float, bytes]:
    """Time FFmpeg's filter over the raw frames: (signature seconds, null-pass seconds, the .bin it wrote).

    Signature seconds = the filtered run minus a plain null pass (the raw-read cost), each the minimum over
    interleaved runs, which is the figure least disturbed by other load. The last filtered run goes through
    pytest-benchmark so it appears in its table.
    """
    raw_file = tmp_path / "frames.yuv"
    raw_file.write_bytes(raw)
    sig_file = tmp_path / "sig.bin"
    with_filter = ["-vf", f"signature=filename={sig_file}"]
    nulls, sigs = [], []
    for _ in range(repeats):
        nulls.append(_ffmpeg(raw_file, w, h, []))
        sigs.append(_ffmpeg(raw_file, w, h, with_filter))
    benchmark.pedantic(_ffmpeg, args=(raw_file, w, h, with_filter), rounds=1, iterations=1)
    sigs.append(benchmark.stats.stats.min)
    return max(min(sigs) - min(nulls), 1e-9), min(nulls), sig_file.read_bytes()
