"""lpcore.vsig.compute vs FFmpeg's `signature` filter on the same pre-decoded luma.

The peer is what a user would otherwise run: ``ffmpeg -f rawvideo -i - -vf signature -f null -`` over the same
raw yuv420p frames; its signature cost is that run's time minus a plain null pass in the same session (the
raw-read cost), each the minimum over interleaved runs. lpcore's figure is ``vsig.compute`` on the (N, H, W)
luma already in memory, all cores.
Run: ``python3 -m pytest benchmarks/bench_vsig.py --benchmark-only -s`` (the ratio table prints at the end).
"""

from __future__ import annotations

import shutil

import pytest
from _vsig_peer import ffmpeg_filter_seconds, testsrc2_frames

from lpcore import vsig

FRAMES = 120
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
RESULTS: dict[str, dict[str, float]] = {}

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg binary (the peer)")


@pytest.fixture(scope="module")
def clips():
    return {name: testsrc2_frames(w, h, FRAMES) for name, (w, h) in SIZES.items()}


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
    seconds, null, sig_bin = ffmpeg_filter_seconds(benchmark, raw, w, h, tmp_path, repeats=4)
    # same frames through lpcore give the same file
    assert vsig.compute(luma, time_base=(1, 30)).to_binary() == sig_bin
    RESULTS[size]["null"] = null
    RESULTS[size]["ffmpeg"] = seconds
    benchmark.extra_info["signature_seconds"] = seconds


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
