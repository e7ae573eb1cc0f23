"""vsig on a real GPU (marked `gpu`; skipped without CuPy and a CUDA device): CUDA output == CPU output.

Without a GPU the same kernels are checked by test_vsig_gpu_emu.py (host emulation) and the CuPy layer by
test_vsig_cuda_backend.py (stand-in CuPy).
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from lpcore import vsig
from lpcore.vsig import cuda as vsig_cuda
from lpcore.vsig import engine

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not vsig_cuda.available(), reason="needs CuPy and a CUDA device")]


@pytest.fixture(scope="module")
def cp():
    import cupy
    return cupy


def _frames(n, h, w, seed):
    rng = np.random.default_rng(seed)
    out = rng.integers(0, 256, (n, h, w), dtype=np.uint8)
    out[1::4] = rng.integers(170, 256, out[1::4].shape, dtype=np.uint8)              # bright: uint64 wrap
    out[2::4] = int(rng.integers(0, 256))                                             # flat: threshold ties
    out[3::4] = (np.add.outer(np.arange(h), 3 * np.arange(w)) % 251).astype(np.uint8)  # gradient
    return out


SIZES = [(32, 32, 8), (33, 35, 8), (427, 241, 8), (1000, 562, 4), (1280, 720, 4), (1920, 1080, 8),
         (1919, 1081, 4), (3840, 2160, 2), (4097, 2161, 2), (5120, 2880, 2), (5121, 2887, 1)]


@pytest.mark.parametrize("w,h,n", SIZES, ids=[f"{w}x{h}" for w, h, _ in SIZES])
def test_cuda_equals_cpu(w, h, n):
    frames = _frames(n, h, w, seed=w * 31 + h)
    want = vsig.compute(frames, device="cpu")
    assert vsig.compute(frames, device="cuda") == want
    assert vsig.compute(frames, device="auto") == want


def test_cupy_input_without_host_copy(cp, monkeypatch):
    frames = _frames(12, 1080, 1920, seed=1)
    want = vsig.compute(frames, device="cpu")
    dev = cp.asarray(frames)

    def no_upload(self, chunk):
        raise AssertionError("device frames must not be copied through the host")
    monkeypatch.setattr(vsig_cuda.CudaBackend, "_upload", no_upload)
    assert vsig.compute(dev) == want
    assert vsig.compute(dev, device="cuda") == want


def test_device_strides(cp, monkeypatch):
    frames = _frames(10, 241, 427, seed=2)
    want = vsig.compute(frames, device="cpu")
    padded = cp.zeros((10, 260, 512), cp.uint8)
    padded[:, 7:248, 33:460] = cp.asarray(frames)
    monkeypatch.setattr(vsig_cuda, "DEVICE_CHUNK_FRAMES", 3)
    assert vsig.compute(padded[:, 7:248, 33:460], device="cuda") == want          # pitch, odd offset, 4 launches
    assert vsig.compute(cp.asarray(frames[:, ::-1])[:, ::-1], device="cuda") == want
    assert vsig.compute(cp.asarray(frames[::-1])[::-1], device="cuda") == want


def test_dlpack_and_cuda_array_interface(cp):
    frames = _frames(6, 360, 640, seed=3)
    want = vsig.compute(frames, device="cpu")
    dev = cp.asarray(frames)

    class CAI:
        __cuda_array_interface__ = dev.__cuda_array_interface__

    class DL:
        def __dlpack__(self, stream=None, **kw):
            return dev.__dlpack__(stream=stream, **kw) if stream is not None else dev.__dlpack__()

        def __dlpack_device__(self):
            return dev.__dlpack_device__()
    assert vsig.compute(CAI(), device="cuda") == want
    assert vsig.compute(DL(), device="cuda") == want
    try:
        import torch
    except ImportError:
        return
    if torch.cuda.is_available():
        assert vsig.compute(torch.from_numpy(frames).cuda()) == want


def test_chunked_streams(cp, monkeypatch):
    frames = _frames(50, 240, 426, seed=4)
    want = vsig.compute(frames, device="cpu")
    monkeypatch.setattr(engine, "CHUNK_BYTES", 240 * 426 * 9)
    monkeypatch.setattr(vsig_cuda, "HOST_CHUNK_BYTES", 240 * 426 * 4)
    seen = []
    assert vsig.compute((cp.asarray(p) for p in frames), device="cuda", progress=seen.append) == want
    assert seen == [9, 18, 27, 36, 45, 50]
    assert vsig.compute(iter(list(frames)), device="cuda") == want
    assert vsig.compute(frames, device="cuda", progress=lambda k: None) == want


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg binary (oracle)")
@pytest.mark.parametrize("src,w,h,n", [("testsrc2=size=1919x1081:rate=25", 1919, 1081, 5),
                                       ("mandelbrot=size=1280x720:rate=25", 1280, 720, 50),
                                       ("testsrc2=size=5120x2880:rate=25", 5120, 2880, 2)])
def test_cuda_on_ffmpeg_frames_matches_ffmpeg(cp, tmp_path, src, w, h, n):
    sig_file = tmp_path / "ffmpeg.bin"
    run = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi", "-i",
           f"{src},format=yuv444p,scale={w}:{h}", "-frames:v", str(n)]
    subprocess.run(run + ["-vf", f"format=yuv420p,signature=filename={sig_file}", "-f", "null", "-"], check=True,
                   capture_output=True)
    raw = subprocess.run(run + ["-pix_fmt", "yuv420p", "-f", "rawvideo", "-"], check=True,
                         capture_output=True).stdout
    frame = w * h + 2 * ((w + 1) // 2) * ((h + 1) // 2)
    dev = cp.asarray(np.frombuffer(raw, np.uint8))
    luma = cp.lib.stride_tricks.as_strided(dev, (n, h, w), (frame, w, 1))        # Y planes in place on the GPU
    sig = vsig.compute(luma, time_base=(1, 25), device="cuda")
    assert sig.to_binary() == sig_file.read_bytes()


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg binary (oracle)")
def test_compute_file_on_cuda_matches_ffmpeg(tmp_path):
    clip, sig_file = tmp_path / "clip.mp4", tmp_path / "ffmpeg.bin"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=1280x720:rate=30", "-frames:v", "120", "-c:v", "libx264", "-preset", "ultrafast",
                    str(clip)], check=True, capture_output=True)
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", str(clip), "-map",
                    "0:v:0", "-vf", f"format=yuv420p,signature=filename={sig_file}", "-f", "null", "-"], check=True,
                   capture_output=True)
    assert vsig.compute_file(clip, device="cuda").to_binary() == sig_file.read_bytes()
