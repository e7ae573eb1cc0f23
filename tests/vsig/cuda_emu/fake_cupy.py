"""A stand-in for the small part of CuPy that lpcore.vsig.cuda uses, backed by host memory and the emulated
kernels (emu.py), so that the CUDA backend's Python layer (dispatch, chunking, strides, launch shapes, argument
types, no host copy of device frames) runs end to end in CI without a GPU. Test-only.

"Device" arrays are numpy arrays in a wrapper that refuses implicit host conversion, like CuPy; host<->device
copies are counted. RawModule compiles the code it is given (with the -I/-D options it is given) through emu.py,
and kernel calls check the argument types a real launch needs (numpy scalars of the kernel's parameter types).
"""

from __future__ import annotations

import ctypes
import shutil
import tempfile
import types
import weakref
from pathlib import Path

import numpy as np

from tests.vsig.cuda_emu import emu

uint8 = np.uint8
uint32 = np.uint32
uint64 = np.uint64
copies = {"h2d": 0, "d2h": 0}
compiled: list[tuple[str, ...]] = []   # options of every RawModule compiled


class _Pointer:
    def __init__(self, ptr: int):
        self.ptr = ptr


class Device:
    def __init__(self, id: int = 0):
        self.id = id

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class ndarray:
    def __init__(self, a: np.ndarray):
        self._a = a

    shape = property(lambda self: self._a.shape)
    strides = property(lambda self: self._a.strides)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    data = property(lambda self: _Pointer(self._a.__array_interface__["data"][0]))
    device = property(lambda self: Device(0))

    def __len__(self):
        return len(self._a)

    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed (fake CuPy)")

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.shape, "typestr": self.dtype.str, "strides": self.strides, "version": 3,
                "data": (self.data.ptr, False)}

    def __getitem__(self, index):
        return ndarray(self._a[index])

    def __setitem__(self, index, value):
        if not isinstance(value, ndarray):
            raise TypeError("fake CuPy: only device arrays may be assigned")
        self._a[index] = value._a

    def get(self) -> np.ndarray:
        copies["d2h"] += self._a.nbytes
        return self._a.copy()


def _from_interface(obj) -> np.ndarray:
    """A numpy view of foreign memory described by __cuda_array_interface__ (no copy)."""
    cai = obj.__cuda_array_interface__
    dtype = np.dtype(cai["typestr"])
    shape = tuple(cai["shape"])
    strides = cai.get("strides") or tuple(np.empty(shape, dtype).strides)
    ptr = cai["data"][0]
    lo = sum(min(0, (n - 1) * s) for n, s in zip(shape, strides))
    hi = sum(max(0, (n - 1) * s) for n, s in zip(shape, strides)) + dtype.itemsize
    buf = (ctypes.c_uint8 * (hi - lo)).from_address(ptr + lo)
    return np.ndarray(shape, dtype, buffer=buf, offset=-lo, strides=strides)


def asarray(obj):
    if isinstance(obj, ndarray):
        return obj
    if isinstance(obj, np.ndarray):
        copies["h2d"] += obj.nbytes
        return ndarray(obj.copy())
    if hasattr(obj, "__cuda_array_interface__"):
        return ndarray(_from_interface(obj))
    raise TypeError(f"fake CuPy: cannot convert {type(obj).__name__}")


class _HostCapsule:
    def __init__(self, obj):
        self.obj = obj

    def __dlpack__(self, stream=None, **kwargs):
        return self.obj.__dlpack__()

    def __dlpack_device__(self):
        return (1, 0)


def from_dlpack(obj):
    if tuple(obj.__dlpack_device__())[0] != 2:
        raise TypeError("fake CuPy: not a CUDA DLPack tensor")
    return ndarray(np.from_dlpack(_HostCapsule(obj)))   # zero-copy, like CuPy


def ascontiguousarray(a):
    return ndarray(np.ascontiguousarray(a._a))


def empty(shape, dtype):
    return ndarray(np.empty(shape, dtype))


class _Runtime:
    device_count = 1

    @classmethod
    def getDeviceCount(cls):
        return cls.device_count


cuda = types.SimpleNamespace(Device=Device, runtime=_Runtime)

# kernel name -> expected parameter kinds (ndarray dtype, or numpy scalar type)
_SIGNATURES = {
    "vsig_block_sums_kernel": (np.uint8, np.int64, np.int64, np.uint32, np.uint32, np.int32, np.uint32),
    "vsig_signature_kernel": (np.uint32, np.uint32, np.uint32, np.int32, np.uint8, np.uint8, np.uint8),
    "vsig_profile_sums_kernel": (np.uint8, np.int64, np.int64, np.uint8, np.int64, np.int64, np.uint8, np.int64,
                                 np.int64, np.uint32, np.uint32, np.uint32, np.uint32, np.int32, np.uint32,
                                 np.uint32, np.uint64, np.uint32, np.uint32),
    "vsig_profile_kernel": (np.uint32, np.uint32, np.uint64, np.uint32, np.uint32, np.uint32, np.uint32, np.uint32,
                            np.uint32, np.int32, np.uint8),
}


class RawModule:
    def __init__(self, code: str, options: tuple[str, ...] = ()):
        includes = [o[2:] for o in options if o.startswith("-I")]
        defines = [o[2:] for o in options if o.startswith("-D")]
        self._dir = Path(tempfile.mkdtemp(prefix="fake_cupy_"))
        # the build directory goes with the module (the loaded library stays mapped once its file is gone)
        weakref.finalize(self, shutil.rmtree, self._dir, True)
        source = self._dir / "module.cu"
        source.write_text(code)
        self._kernels = emu.build(self._dir, source=source, include_dirs=includes, defines=defines)
        compiled.append(tuple(options))

    def get_function(self, name: str):
        if name not in _SIGNATURES:
            raise KeyError(name)
        return _Function(self._kernels, name)


class _Function:
    def __init__(self, kernels, name):
        self.kernels, self.name = kernels, name

    def __call__(self, grid, block, args):
        assert len(grid) == 1 and len(block) == 1, "lpcore launches 1-D grids"
        kinds = _SIGNATURES[self.name]
        assert len(args) == len(kinds), f"{self.name}: {len(args)} arguments"
        raw = []
        for arg, kind in zip(args, kinds):
            if isinstance(arg, ndarray):
                assert arg.dtype == kind, f"{self.name}: array of {arg.dtype}, want {np.dtype(kind)}"
                raw.append(arg.data.ptr)
            else:
                assert type(arg) is kind, f"{self.name}: scalar {type(arg).__name__}, want {kind.__name__}"
                raw.append(int(arg))
        if self.name == "vsig_block_sums_kernel":
            self.kernels.launch_block_sums(int(grid[0]), int(block[0]), *raw)
        elif self.name == "vsig_profile_sums_kernel":
            self.kernels.launch_profile_sums(int(grid[0]), int(block[0]), *raw)
        elif self.name == "vsig_profile_kernel":
            self.kernels.launch_profile(int(grid[0]), int(block[0]), *raw)
        else:
            self.kernels.launch_signature(int(grid[0]), int(block[0]), *raw)
