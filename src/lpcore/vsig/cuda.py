"""CUDA backend of :func:`lpcore.vsig.compute` (CuPy): fine signatures of luma frames on the GPU.

``kernels/vsig.cu`` is compiled at run time with NVRTC through ``cupy.RawModule``; its arithmetic is
``kernels/vsig_common.h``, the code the CPU path runs, so the output is identical to the CPU backend's. Frames
already on the GPU (CuPy arrays, anything with ``__cuda_array_interface__`` or CUDA DLPack) are read in place,
with any frame/row stride; numpy frames are sent to the device in bounded chunks. Coarse signatures and files are
built on the host from the per-frame results, exactly as for the CPU backend.

CuPy is optional (``pip install 'lpcore[gpu]'``, i.e. ``cupy-cuda12x``; use ``cupy-cuda13x`` with CUDA 13
drivers). It is imported only when a CUDA path is requested; importing lpcore never needs it.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DeviceUnavailable

__all__ = ["available", "cupy_module", "is_device_array", "as_cupy", "kernels_dir", "nvrtc_options", "CudaBackend"]

KERNEL_SOURCE = "vsig.cu"
BLOCK_SUM_THREADS = 256       # 8 warps per (frame, block row); each warp owns 4 block columns
SIGNATURE_THREADS = 128       # one thread block per frame; 380 elements in 3 strided rounds
PROFILE_THREADS = 256         # profile bytes: one thread block per frame, 2560 bytes in 10 strided rounds
PROFILE_BYTES = 2560          # per frame (kernels/vsig_common.h VSIG_PROFILE_BYTES)
DEVICE_CHUNK_FRAMES = 4096    # frames per launch pair: 16 MiB of block-sum scratch
HOST_CHUNK_BYTES = 64 << 20   # numpy input is transferred at most this many luma bytes at a time

# DLPack device types that CuPy can read in place (kDLCUDA, kDLCUDAManaged).
_DLPACK_CUDA = (2, 13)
_INSTALL_HINT = "install CuPy: pip install 'lpcore[gpu]' (cupy-cuda12x), or cupy-cuda13x for CUDA 13 drivers"


def kernels_dir() -> Path:
    """The directory holding ``vsig.cu`` and ``vsig_common.h``: ``lpcore/kernels`` in an installed wheel, else the
    source tree's ``kernels/`` (development checkout with ``PYTHONPATH=src``)."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[1] / "kernels", here.parents[3] / "kernels"):
        if (candidate / KERNEL_SOURCE).is_file() and (candidate / "vsig_common.h").is_file():
            return candidate
    raise DeviceUnavailable(f"the CUDA kernel sources ({KERNEL_SOURCE}, vsig_common.h) are missing from this "
                            f"lpcore installation (looked in {here.parents[1] / 'kernels'})")


def nvrtc_options(directory: Path) -> tuple[str, ...]:
    """NVRTC options for ``vsig.cu``. CuPy's kernel cache is keyed by the source text and the options, not by
    included headers, so a digest of every kernel file is passed as a define: a changed header recompiles."""
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.cu")) + sorted(directory.glob("*.h")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return ("-I" + str(directory), "--std=c++17", "-DLPCORE_KERNELS_DIGEST=0x" + digest.hexdigest()[:16])


def _import_cupy():
    try:
        import cupy
    except Exception as exc:  # ImportError, or a broken CUDA install raising at import
        raise DeviceUnavailable(f"device='cuda' needs CuPy, which could not be imported ({exc}); "
                                f"{_INSTALL_HINT}") from None
    return cupy


@functools.lru_cache(maxsize=1)
def _device_count() -> int:
    cupy = _import_cupy()
    try:
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # no driver, no device: CUDARuntimeError
        return 0


@functools.lru_cache(maxsize=1)
def available() -> bool:
    """True if CuPy imports and sees at least one CUDA device (what ``device="auto"`` checks). Cached: a failed
    ``import cupy`` costs ~0.2 ms, which small ``compute`` calls would otherwise pay every time."""
    try:
        return _device_count() > 0
    except DeviceUnavailable:
        return False


def _require_device():
    cupy = _import_cupy()
    if _device_count() == 0:
        raise DeviceUnavailable("device='cuda': CuPy is installed but found no CUDA device (driver missing, or "
                                "CUDA_VISIBLE_DEVICES hides every GPU)")
    return cupy


def cupy_module():
    """The cupy module, once CuPy and a CUDA device are known to be present (else DeviceUnavailable)."""
    return _require_device()


def is_device_array(obj: Any) -> bool:
    """True if ``obj`` is a GPU array (``__cuda_array_interface__``, or DLPack on a CUDA device). Needs no CuPy."""
    if isinstance(obj, np.ndarray):
        return False
    try:
        if hasattr(obj, "__cuda_array_interface__"):
            return True
        dlpack_device = getattr(obj, "__dlpack_device__", None)
        return dlpack_device is not None and int(dlpack_device()[0]) in _DLPACK_CUDA
    except Exception:  # a property that raises for host tensors means "not on the GPU"
        return False


def as_cupy(obj: Any):
    """A CuPy view of a GPU array (no copy). Raises DeviceUnavailable without CuPy or a device."""
    cupy = _require_device()
    if isinstance(obj, cupy.ndarray):
        return obj
    try:
        if hasattr(obj, "__cuda_array_interface__"):
            return cupy.asarray(obj)
        return cupy.from_dlpack(obj)
    except Exception as exc:
        raise TypeError(f"frames: cannot view {type(obj).__name__} as a CuPy array ({exc})") from None


@functools.lru_cache(maxsize=None)
def _profile_kernels(device_id: int):
    """(profile sums, signature, profile bytes) kernels of one device (the same vsig.cu module as _kernels';
    CuPy's cache keys on source and options, so the second load is not a second compile)."""
    cupy = _import_cupy()
    directory = kernels_dir()
    with cupy.cuda.Device(device_id):
        module = cupy.RawModule(code=(directory / KERNEL_SOURCE).read_text(), options=nvrtc_options(directory))
    return (module.get_function("vsig_profile_sums_kernel"), module.get_function("vsig_signature_kernel"),
            module.get_function("vsig_profile_kernel"))


@functools.lru_cache(maxsize=None)
def _kernels(device_id: int):
    """(block_sums, signature) kernels compiled for one device (cached per process; CuPy also caches on disk)."""
    cupy = _import_cupy()
    directory = kernels_dir()
    with cupy.cuda.Device(device_id):
        module = cupy.RawModule(code=(directory / KERNEL_SOURCE).read_text(), options=nvrtc_options(directory))
        return module.get_function("vsig_block_sums_kernel"), module.get_function("vsig_signature_kernel")


class CudaBackend:
    """Per-chunk signature function on the GPU: ``backend(frames)`` with ``frames`` a ``(K,H,W)`` uint8 array
    (numpy or CuPy, checked by the caller) returns numpy ``(framesig (K,76), words (K,5), confidence (K,))``."""

    device = "cuda"

    def __init__(self):
        self.cupy = _require_device()

    def __call__(self, frames) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cp = self.cupy
        n, height, width = frames.shape
        framesig = np.empty((n, 76), np.uint8)
        words = np.empty((n, 5), np.uint8)
        confidence = np.empty(n, np.uint8)
        if n == 0:
            return framesig, words, confidence
        if isinstance(frames, np.ndarray):
            step = max(1, HOST_CHUNK_BYTES // (height * width))
            with cp.cuda.Device():
                for start in range(0, n, step):
                    chunk = self._upload(frames[start:start + step])
                    self._device(chunk, framesig[start:start + step], words[start:start + step],
                                 confidence[start:start + step])
            return framesig, words, confidence
        with frames.device:
            if frames.strides[2] != 1:
                frames = cp.ascontiguousarray(frames)  # a device-side copy; the kernels read rows as bytes
            self._device(frames, framesig, words, confidence)
        return framesig, words, confidence

    def _upload(self, frames: np.ndarray):
        """Host -> device copy of one chunk. Made contiguous on the host first so that only the luma bytes cross
        the bus (a strided view into yuv420p frames would otherwise drag the chroma along)."""
        return self.cupy.asarray(np.ascontiguousarray(frames))

    def _device(self, frames, framesig: np.ndarray, words: np.ndarray, confidence: np.ndarray) -> None:
        """Signs a CuPy (K,H,W) array whose rows are contiguous (any frame/row stride) into host outputs."""
        cp = self.cupy
        block_sums, signature = _kernels(cp.cuda.Device().id)
        n, height, width = frames.shape
        k_max = min(n, DEVICE_CHUNK_FRAMES)
        blocks = cp.empty((k_max, 1024), cp.uint32)
        fs = cp.empty((k_max, 76), cp.uint8)
        wd = cp.empty((k_max, 5), cp.uint8)
        cf = cp.empty(k_max, cp.uint8)
        w, h = np.uint32(width), np.uint32(height)
        for start in range(0, n, k_max):
            view = frames[start:start + k_max]
            k = view.shape[0]
            block_sums((k * 32,), (BLOCK_SUM_THREADS,),
                       (view, np.int64(view.strides[0]), np.int64(view.strides[1]), w, h, np.int32(k), blocks))
            signature((k,), (SIGNATURE_THREADS,), (blocks, w, h, np.int32(k), fs, wd, cf))
            framesig[start:start + k] = fs[:k].get()
            words[start:start + k] = wd[:k].get()
            confidence[start:start + k] = cf[:k].get()

    def profile(self, y, u, v):
        """Signatures and verification profiles of planar (K,H,W) / (K,Hc,Wc) uint8 frames (numpy or CuPy, checked
        by the caller): numpy ``(framesig, words, confidence, profile (K,2560))``, identical to the CPU path's."""
        cp = self.cupy
        n = y.shape[0]
        out = (np.empty((n, 76), np.uint8), np.empty((n, 5), np.uint8), np.empty(n, np.uint8),
               np.empty((n, PROFILE_BYTES), np.uint8))
        if n == 0:
            return out
        if isinstance(y, np.ndarray):
            step = max(1, HOST_CHUNK_BYTES // (y.shape[1] * y.shape[2]))
            with cp.cuda.Device():
                for s in range(0, n, step):
                    planes = [self._upload(a[s:s + step]) for a in (y, u, v)]
                    self._device_profile(*planes, *(o[s:s + step] for o in out))
            return out
        with y.device:
            y, u, v = (a if a.strides[2] == 1 else cp.ascontiguousarray(a) for a in (y, u, v))
            self._device_profile(y, u, v, *out)
        return out

    def _device_profile(self, y, u, v, framesig, words, confidence, profile) -> None:
        cp = self.cupy
        sums, signature, quantise = _profile_kernels(cp.cuda.Device().id)
        n, height, width = y.shape
        ch, cw = u.shape[1], u.shape[2]
        k_max = min(n, DEVICE_CHUNK_FRAMES)
        blocks, ssum, usum, vsum = (cp.empty((k_max, c), cp.uint32) for c in (1024, 1024, 256, 256))
        ssq = cp.empty((k_max, 1024), cp.uint64)
        fs, wd, cf = cp.empty((k_max, 76), cp.uint8), cp.empty((k_max, 5), cp.uint8), cp.empty(k_max, cp.uint8)
        pr = cp.empty((k_max, PROFILE_BYTES), cp.uint8)
        dims = (np.uint32(width), np.uint32(height), np.uint32(cw), np.uint32(ch))
        for start in range(0, n, k_max):
            planes = [a[start:start + k_max] for a in (y, u, v)]
            k = planes[0].shape[0]
            args = []
            for a in planes:
                args += [a, np.int64(a.strides[0]), np.int64(a.strides[1])]
            sums((k * 64,), (BLOCK_SUM_THREADS,), (*args, *dims, np.int32(k), blocks, ssum, ssq, usum, vsum))
            signature((k,), (SIGNATURE_THREADS,), (blocks, dims[0], dims[1], np.int32(k), fs, wd, cf))
            quantise((k,), (PROFILE_THREADS,), (blocks, ssum, ssq, usum, vsum, *dims, np.int32(k), pr))
            framesig[start:start + k] = fs[:k].get()
            words[start:start + k] = wd[:k].get()
            confidence[start:start + k] = cf[:k].get()
            profile[start:start + k] = pr[:k].get()
