"""lpcore.vsig.compute vs FFmpeg's `signature` filter on the same pre-decoded luma.

The peer is what a user would otherwise run: ``ffmpeg -f rawvideo -i - -vf signature -f null -`` over the same
raw yuv420p frames; its signature cost is that run's time minus a plain null pass in the same session (the
raw-read cost), each the minimum over interleaved runs. lpcore's figure is ``vsig.compute`` on the (N, H, W)
luma already in memory, all cores.
Run: ``python3 -m pytest benchmarks/bench_vsig.py --benchmark-only -s`` (the ratio table prints at the end).
"""

from __future__ import annotations

import shutil
import subprocess
import time

import numpy as np
import pytest

from lpcore import vsig

FRAMES = 120
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
RESULTS: dict[str, dict[str, float]] = {}

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg binary (the peer)")


@pytest.fixture(scope="module")
def clips():
    out = {}
    for name, (w, h) in SIZES.items():
        raw = subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi", "-i",
             f"testsrc2=size={w}x{h}:rate=30", "-frames:v", str(FRAMES), "-pix_fmt", "yuv420p", "-f", "rawvideo",
             "-"], check=True, capture_output=True).stdout
        frame = w * h * 3 // 2
        arr = np.frombuffer(raw, np.uint8)
        luma = np.lib.stride_tricks.as_strided(arr, (FRAMES, h, w), (frame, w, 1), writeable=False)
        out[name] = (raw, np.ascontiguousarray(luma))
    return out


def _ffmpeg(raw_file, w: int, h: int, vf: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt",
                    "yuv420p", "-s", f"{w}x{h}", "-r", "30", "-i", str(raw_file), *vf, "-f", "null", "-"],
                   check=True, capture_output=True)
    return time.perf_counter() - t


@pytest.mark.parametrize("size", list(SIZES))
def test_lpcore_compute(benchmark, clips, size):
    _, luma = clips[size]
    sig = benchmark.pedantic(vsig.compute, args=(luma,), rounds=7, iterations=1, warmup_rounds=1)
    assert len(sig) == FRAMES
    RESULTS.setdefault(size, {})["lpcore"] = benchmark.stats.stats.min


@pytest.mark.parametrize("size", list(SIZES))
def test_ffmpeg_signature_filter(benchmark, clips, size, tmp_path):
    raw, luma = clips[size]
    w, h = SIZES[size]
    raw_file = tmp_path / "frames.yuv"
    raw_file.write_bytes(raw)
    sig_file = tmp_path / "sig.bin"
    with_filter = ["-vf", f"signature=filename={sig_file}"]
    # Interleaved null and filter passes; the minimum of each is the least disturbed by other load.
    nulls, sigs = [], []
    for _ in range(4):
        nulls.append(_ffmpeg(raw_file, w, h, []))
        sigs.append(_ffmpeg(raw_file, w, h, with_filter))
    benchmark.pedantic(_ffmpeg, args=(raw_file, w, h, with_filter), rounds=1, iterations=1)
    sigs.append(benchmark.stats.stats.min)
    # same frames through lpcore give the same file
    assert vsig.compute(luma, time_base=(1, 30)).to_binary() == sig_file.read_bytes()
    RESULTS[size]["null"] = min(nulls)
    RESULTS[size]["ffmpeg"] = max(min(sigs) - min(nulls), 1e-9)
    benchmark.extra_info["signature_seconds"] = RESULTS[size]["ffmpeg"]


@pytest.fixture(scope="module", autouse=True)
def report():
    """Prints the ratio table after the module's benchmarks (pytest-benchmark skips plain tests)."""
    yield
    lines = ["", f"vsig compute, {FRAMES} frames (fps; ratio = lpcore / FFmpeg filter)"]
    for size, r in RESULTS.items():
        if "lpcore" in r and "ffmpeg" in r:
            a, b = FRAMES / r["lpcore"], FRAMES / r["ffmpeg"]
            lines.append(f"  {size:>6}: lpcore {a:8.0f} fps   ffmpeg signature {b:8.0f} fps "
                         f"(null pass {r['null']:.2f} s)   ratio {a / b:5.1f}x")
    print("\n".join(lines))
