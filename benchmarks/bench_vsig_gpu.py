"""lpcore.vsig.compute on the GPU vs the CPU path and FFmpeg's `signature` filter, 1080p and 4K batches.

GPU figures: ``vsig.compute(frames, device="cuda")`` with the luma already on the device (CuPy array, no
transfer) and with numpy luma (host->device transfer included); both include the per-frame results' copy back and
the coarse signatures on the host, i.e. everything a caller waits for. CPU figure: ``device="cpu"``, all cores.
FFmpeg: ``ffmpeg -f rawvideo -i frames.yuv -vf signature -f null -`` minus a plain null pass over the same raw
frames (minimum of interleaved runs), as in bench_vsig.py. The device-resident rate is also given as a fraction of
the GPU's peak memory bandwidth (W*H bytes read per frame; everything else is < 0.5 % of the traffic).
Skips cleanly without CuPy and a CUDA device.
Run: ``python3 -m pytest benchmarks/bench_vsig_gpu.py --benchmark-only -s`` (the table prints at the end).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from _vsig_peer import ffmpeg_filter_seconds, testsrc2_frames

from lpcore import vsig
from lpcore.vsig import cuda as vsig_cuda

SIZES = {"1080p": (1920, 1080), "4K": (3840, 2160)}
GPU_FRAMES = {"1080p": 1024, "4K": 256}   # ~2 GiB of luma per batch on the device
CPU_FRAMES = 24                           # the CPU path and FFmpeg run on this many of the same frames
UNIQUE = 24                               # distinct testsrc2 frames, tiled up to the GPU batch
RESULTS: dict[str, dict[str, float]] = {}

pytestmark = pytest.mark.skipif(not vsig_cuda.available(), reason="needs CuPy and a CUDA device")


@pytest.fixture(scope="module")
def clips():
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs the ffmpeg binary (frames and the peer)")
    return {name: testsrc2_frames(w, h, UNIQUE) for name, (w, h) in SIZES.items()}


def _batch(luma: np.ndarray, n: int) -> np.ndarray:
    return np.ascontiguousarray(np.resize(luma, (n,) + luma.shape[1:]))


@pytest.mark.parametrize("size", list(SIZES))
def test_gpu_device_resident(benchmark, clips, size):
    import cupy

    host = _batch(clips[size][1], GPU_FRAMES[size])
    dev = cupy.asarray(host)
    vsig.compute(dev[:8], device="cuda")  # compile / load the kernels outside the timing
    sig = benchmark.pedantic(vsig.compute, args=(dev,), kwargs={"device": "cuda"}, rounds=5, iterations=1,
                             warmup_rounds=1)
    assert len(sig) == len(host)
    assert np.array_equal(sig.framesig[:CPU_FRAMES], vsig.compute(host[:CPU_FRAMES], device="cpu").framesig)
    RESULTS.setdefault(size, {})["gpu"] = len(host) / benchmark.stats.stats.min


@pytest.mark.parametrize("size", list(SIZES))
def test_gpu_with_host_transfer(benchmark, clips, size):
    host = _batch(clips[size][1], GPU_FRAMES[size] // 4)
    benchmark.pedantic(vsig.compute, args=(host,), kwargs={"device": "cuda"}, rounds=3, iterations=1,
                       warmup_rounds=1)
    RESULTS.setdefault(size, {})["gpu_h2d"] = len(host) / benchmark.stats.stats.min


@pytest.mark.parametrize("size", list(SIZES))
def test_cpu_path(benchmark, clips, size):
    host = _batch(clips[size][1], CPU_FRAMES)
    benchmark.pedantic(vsig.compute, args=(host,), kwargs={"device": "cpu"}, rounds=3, iterations=1,
                       warmup_rounds=1)
    RESULTS.setdefault(size, {})["cpu"] = CPU_FRAMES / benchmark.stats.stats.min


@pytest.mark.parametrize("size", list(SIZES))
def test_ffmpeg_signature_filter(benchmark, clips, size, tmp_path):
    raw, luma = clips[size]
    w, h = SIZES[size]
    seconds, _, sig_bin = ffmpeg_filter_seconds(benchmark, raw, w, h, tmp_path, repeats=3)
    # the GPU gives FFmpeg's file for the same frames
    assert vsig.compute(luma, time_base=(1, 30), device="cuda").to_binary() == sig_bin
    RESULTS.setdefault(size, {})["ffmpeg"] = UNIQUE / seconds


def _peak_bandwidth() -> float:
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    return 2.0 * props["memoryClockRate"] * 1e3 * props["memoryBusWidth"] / 8  # bytes/s, double data rate


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    if not RESULTS:
        return
    import cupy

    name = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["name"].decode()
    peak = _peak_bandwidth()
    lines = ["", f"vsig on {name} (peak {peak / 1e12:.2f} TB/s): frames/s; ratios vs the CPU path and FFmpeg"]
    for size, r in RESULTS.items():
        w, h = SIZES[size]
        if not {"gpu", "gpu_h2d", "cpu", "ffmpeg"} <= r.keys():
            continue
        frac = r["gpu"] * w * h / peak
        lines.append(f"  {size:>5}: GPU resident {r['gpu']:10.0f} ({frac:5.1%} of peak bandwidth)   "
                     f"GPU incl. H2D {r['gpu_h2d']:8.0f}   CPU {r['cpu']:7.0f}   FFmpeg {r['ffmpeg']:6.0f}   "
                     f"resident/CPU {r['gpu'] / r['cpu']:6.1f}x   resident/FFmpeg {r['gpu'] / r['ffmpeg']:7.1f}x")
    print("\n".join(lines))
