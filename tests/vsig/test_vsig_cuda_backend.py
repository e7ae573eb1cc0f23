"""lpcore.vsig's CUDA backend (lpcore/vsig/cuda.py) end to end without a GPU.

A stand-in CuPy (tests/vsig/cuda_emu/fake_cupy.py) keeps "device" arrays in host memory and runs the kernels it is
given through the host emulation, so everything above the GPU is exercised: device selection and errors, the
NVRTC options and kernel lookup, launch shapes and argument types, chunking, strides, device-array input without
host copies (CuPy, __cuda_array_interface__, DLPack) and streams. Real-GPU checks are in test_vsig_gpu.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lpcore import DeviceUnavailable, vsig
from lpcore.vsig import cuda as vsig_cuda
from lpcore.vsig import engine

from tests.vsig.cuda_emu import emu

pytestmark = pytest.mark.skipif(emu.CXX is None, reason="needs a C++ compiler for the host emulation")


def _clear_caches():
    vsig_cuda._device_count.cache_clear()
    vsig_cuda.available.cache_clear()


@pytest.fixture(scope="module")
def fake_module():
    from tests.vsig.cuda_emu import fake_cupy
    vsig_cuda._kernels.cache_clear()   # compiled kernels are kept across this module's tests (one g++ build)
    yield fake_cupy
    vsig_cuda._kernels.cache_clear()


@pytest.fixture
def cupy(fake_module, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", fake_module)
    monkeypatch.setattr(fake_module._Runtime, "device_count", 1)
    _clear_caches()
    fake_module.copies.update(h2d=0, d2h=0)
    yield fake_module
    _clear_caches()


def _frames(n, h, w, seed=0):
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (n, h, w), dtype=np.uint8)
    frames[1::3] = rng.integers(180, 256, (len(frames[1::3]), h, w), dtype=np.uint8)
    return frames


def test_cuda_equals_cpu_for_numpy_input(cupy):
    frames = _frames(7, 241, 427)
    want = vsig.compute(frames, device="cpu")
    assert vsig.compute(frames, device="cuda") == want
    assert vsig.compute(frames, device="auto") == want
    assert cupy.compiled and f"-I{vsig_cuda.kernels_dir()}" in cupy.compiled[-1]
    assert cupy.copies["h2d"] == 2 * frames.nbytes                     # two runs, one transfer each


def test_auto_picks_cuda_when_present(cupy, monkeypatch):
    assert engine._on_cuda(engine._backend("auto"))
    assert not engine._on_cuda(engine._backend("cpu"))
    monkeypatch.setattr(cupy._Runtime, "device_count", 0)
    _clear_caches()
    assert not engine._on_cuda(engine._backend("auto"))   # no device: CPU
    with pytest.raises(DeviceUnavailable, match="no CUDA device"):
        vsig.compute(np.zeros((1, 32, 32), np.uint8), device="cuda")


def test_wrap_and_divide_sizes(cupy):
    for w, h in [(1919, 1081), (5120, 2880)]:
        frames = _frames(2, h, w, seed=w)
        assert vsig.compute(frames, device="cuda") == vsig.compute(frames, device="cpu")


def test_numpy_input_is_sent_in_bounded_chunks(cupy, monkeypatch):
    frames = _frames(23, 40, 48, seed=3)
    monkeypatch.setattr(vsig_cuda, "HOST_CHUNK_BYTES", 40 * 48 * 5)     # 5 frames per transfer
    monkeypatch.setattr(vsig_cuda, "DEVICE_CHUNK_FRAMES", 2)            # 2 frames per launch pair
    strided = np.zeros((23, 50, 60), np.uint8)
    strided[:, 3:43, 5:53] = frames
    want = vsig.compute(frames, device="cpu")
    assert vsig.compute(strided[:, 3:43, 5:53], device="cuda") == want
    assert cupy.copies["h2d"] == frames.nbytes                          # luma only, not the padding
    assert vsig.compute(frames[:, ::-1, ::-1].copy()[:, ::-1, ::-1], device="cuda") == want


def test_device_arrays_are_read_in_place(cupy):
    frames = _frames(9, 64, 96, seed=4)
    want = vsig.compute(frames, device="cpu")
    dev = cupy.asarray(frames)
    cupy.copies.update(h2d=0, d2h=0)
    assert vsig.compute(dev) == want                                    # auto: on the GPU already
    assert vsig.compute(dev, device="cuda") == want
    assert cupy.copies["h2d"] == 0
    assert cupy.copies["d2h"] == 2 * 9 * (76 + 5 + 1)                   # only the per-frame results come back


def test_device_strides_and_layouts(cupy, monkeypatch):
    frames = _frames(6, 90, 140, seed=5)
    padded = np.zeros((6, 100, 200), np.uint8)
    padded[:, 5:95, 10:150] = frames
    want = vsig.compute(frames, device="cpu")
    dev = cupy.asarray(padded)[:, 5:95, 10:150]
    monkeypatch.setattr(vsig_cuda, "DEVICE_CHUNK_FRAMES", 4)
    assert vsig.compute(dev, device="cuda") == want                     # pitch > width, 2 launch pairs
    assert vsig.compute(cupy.asarray(frames[:, ::-1])[:, ::-1], device="cuda") == want   # negative row stride
    wide = np.zeros((6, 90, 280), np.uint8)
    wide[:, :, ::2] = frames
    assert vsig.compute(cupy.asarray(wide)[:, :, ::2], device="cuda") == want  # column step 2: device copy
    assert cupy.copies["h2d"] == padded.nbytes + frames.nbytes + wide.nbytes


class _ForeignCAI:
    """Another library's GPU array: only __cuda_array_interface__."""

    def __init__(self, dev):
        self._dev = dev
        self.__cuda_array_interface__ = dev.__cuda_array_interface__


class _ForeignDLPack:
    """Another library's GPU tensor: only DLPack, on device type kDLCUDA."""

    def __init__(self, host):
        self._host = host

    def __dlpack__(self, stream=None, **kwargs):
        return self._host.__dlpack__()

    def __dlpack_device__(self):
        return (2, 0)


def test_cuda_array_interface_and_dlpack_input(cupy):
    frames = _frames(5, 48, 64, seed=6)
    want = vsig.compute(frames, device="cpu")
    dev = cupy.asarray(frames)
    cupy.copies.update(h2d=0)
    assert vsig.compute(_ForeignCAI(dev), device="cuda") == want
    assert vsig.compute(_ForeignCAI(dev)) == want
    assert vsig.compute(_ForeignDLPack(frames)) == want
    assert cupy.copies["h2d"] == 0
    assert vsig.compute(_ForeignCAI(dev), device="cpu") == want          # explicit CPU: one copy back


def test_streams(cupy, monkeypatch):
    frames = _frames(30, 40, 48, seed=7)
    monkeypatch.setattr(engine, "CHUNK_BYTES", 40 * 48 * 9)
    want = vsig.compute(frames, device="cpu", pts=np.arange(30) * 3, time_base=(1, 90000))
    seen = []
    got = vsig.compute((cupy.asarray(p) for p in frames), device="cuda", pts=np.arange(30) * 3,
                       time_base=(1, 90000), progress=seen.append)
    assert got == want and seen == [9, 18, 27, 30]
    assert vsig.compute(iter(list(frames)), device="cuda", pts=np.arange(30) * 3, time_base=(1, 90000)) == want
    assert vsig.compute((cupy.asarray(p) for p in frames), device="cpu", pts=np.arange(30) * 3,
                        time_base=(1, 90000)) == want
    with pytest.raises(ValueError, match="same size"):
        vsig.compute([cupy.asarray(frames[0]), cupy.asarray(frames[0][:, :40])], device="cuda")


def test_device_array_checks(cupy):
    with pytest.raises(TypeError, match="uint8"):
        vsig.compute(cupy.asarray(np.zeros((2, 64, 64), np.uint16)), device="cuda")
    with pytest.raises(ValueError, match="at least 32x32"):
        vsig.compute(cupy.asarray(np.zeros((2, 31, 64), np.uint8)), device="cuda")
    with pytest.raises(ValueError, match="at least one frame"):
        vsig.compute(cupy.asarray(np.zeros((0, 64, 64), np.uint8)), device="cuda")


def test_no_cupy_means_device_unavailable(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)                      # import cupy raises ImportError
    _clear_caches()
    try:
        frames = np.zeros((1, 32, 32), np.uint8)
        with pytest.raises(DeviceUnavailable, match="cupy-cuda12x"):
            vsig.compute(frames, device="cuda")
        assert vsig.compute(frames, device="auto") == vsig.compute(frames, device="cpu")
        with pytest.raises(DeviceUnavailable, match="CuPy"):
            vsig.compute(_ForeignDLPack(np.zeros((1, 32, 32), np.uint8)))   # GPU frames but no CuPy
        assert not vsig_cuda.available()
    finally:
        _clear_caches()


def test_importing_lpcore_never_imports_cupy():
    code = "import sys, lpcore, lpcore.vsig, lpcore.vsig.cuda; assert 'cupy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.skipif(__import__("shutil").which("ffmpeg") is None, reason="needs ffmpeg to make a clip")
def test_compute_file_on_cuda(cupy, tmp_path, monkeypatch):
    clip = tmp_path / "clip.mkv"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=200x150:rate=25", "-frames:v", "60", "-c:v", "ffv1", str(clip)], check=True)
    monkeypatch.setattr(engine, "CHUNK_BYTES", 200 * 150 * 16)         # decoded in 16-frame chunks
    want = vsig.compute_file(clip, device="cpu")
    assert vsig.compute_file(clip, device="cuda") == want
    assert vsig.compute_file(clip) == want                              # auto: CUDA here
    assert cupy.copies["h2d"] == 2 * 60 * 200 * 150
