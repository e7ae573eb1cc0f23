"""Builds kernels/vsig.cu for the CPU under cuda_emu.h (g++) and runs its kernels through ctypes.

Used by tests/test_vsig_gpu_emu.py (kernels vs the CPU path) and tests/fake_cupy (the CuPy backend end to end).
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
KERNELS = ROOT / "kernels"
CXX = shutil.which("g++") or shutil.which("c++")

_P = ctypes.c_void_p
_I64 = ctypes.c_longlong
_U32 = ctypes.c_uint32


class EmulatedKernels:
    """The two kernels of vsig.cu, run on the CPU; every launch takes explicit grid and block sizes."""

    def __init__(self, lib_path: Path):
        self.lib = ctypes.CDLL(str(lib_path))
        self.lib.emu_block_sums.argtypes = [ctypes.c_uint, ctypes.c_uint, _P, _I64, _I64, _U32, _U32, ctypes.c_int,
                                            _P]
        self.lib.emu_signature.argtypes = [ctypes.c_uint, ctypes.c_uint, _P, _U32, _U32, ctypes.c_int, _P, _P, _P]
        self.lib.emu_barriers.restype = ctypes.c_ulonglong
        self.lib.emu_profile_sums.argtypes = [ctypes.c_uint, ctypes.c_uint, _P, _I64, _I64, _P, _I64, _I64, _P,
                                              _I64, _I64, _U32, _U32, _U32, _U32, ctypes.c_int, _P, _P, _P, _P, _P]
        self.lib.emu_profile.argtypes = [ctypes.c_uint, ctypes.c_uint, _P, _P, _P, _P, _P, _U32, _U32, _U32, _U32,
                                         ctypes.c_int, _P]

    def launch_profile_sums(self, grid: int, threads: int, *args) -> None:
        if self.lib.emu_profile_sums(grid, threads, *args) != 0:
            raise RuntimeError("emulated vsig_profile_sums_kernel launch failed")

    def launch_profile(self, grid: int, threads: int, *args) -> None:
        if self.lib.emu_profile(grid, threads, *args) != 0:
            raise RuntimeError("emulated vsig_profile_kernel launch failed")

    def profile(self, y: np.ndarray, u: np.ndarray, v: np.ndarray, sums_threads: int = 256, threads: int = 256):
        """(block sums (N,32,32), profile (N,2560)) of planar frames through the two profile kernels."""
        n, h, w = y.shape
        _, ch, cw = u.shape
        blocks = np.full((n, 1024), 0xDEADBEEF, np.uint32)
        ssum = np.full((n, 1024), 0xDEADBEEF, np.uint32)
        ssq = np.full((n, 1024), 0xDEADBEEF, np.uint64)
        usum = np.full((n, 256), 0xDEADBEEF, np.uint32)
        vsum = np.full((n, 256), 0xDEADBEEF, np.uint32)
        prof = np.full((n, 2560), 77, np.uint8)
        ptr = lambda a: a.__array_interface__["data"][0]  # noqa: E731
        self.launch_profile_sums(n * 64, sums_threads, ptr(y), y.strides[0], y.strides[1], ptr(u), u.strides[0],
                                 u.strides[1], ptr(v), v.strides[0], v.strides[1], w, h, cw, ch, n,
                                 blocks.ctypes.data, ssum.ctypes.data, ssq.ctypes.data, usum.ctypes.data,
                                 vsum.ctypes.data)
        self.launch_profile(n, threads, blocks.ctypes.data, ssum.ctypes.data, ssq.ctypes.data, usum.ctypes.data,
                            vsum.ctypes.data, w, h, cw, ch, n, prof.ctypes.data)
        return blocks.reshape(n, 32, 32), prof

    def launch_block_sums(self, grid: int, threads: int, frames_ptr: int, frame_stride: int, row_stride: int,
                          width: int, height: int, n: int, blocks_ptr: int) -> None:
        rc = self.lib.emu_block_sums(grid, threads, frames_ptr, frame_stride, row_stride, width, height, n,
                                     blocks_ptr)
        if rc != 0:
            raise RuntimeError("emulated vsig_block_sums_kernel launch failed")

    def launch_signature(self, grid: int, threads: int, blocks_ptr: int, width: int, height: int, n: int,
                         framesig_ptr: int, words_ptr: int, confidence_ptr: int) -> None:
        rc = self.lib.emu_signature(grid, threads, blocks_ptr, width, height, n, framesig_ptr, words_ptr,
                                    confidence_ptr)
        if rc != 0:
            raise RuntimeError("emulated vsig_signature_kernel launch failed")

    def barriers(self) -> int:
        return int(self.lib.emu_barriers())

    # -- numpy conveniences (the launch shapes of lpcore.vsig.cuda by default) ------------------------------
    def block_sums(self, frames: np.ndarray, threads: int = 256) -> np.ndarray:
        n, h, w = frames.shape
        assert frames.strides[2] == 1
        blocks = np.full((n, 32, 32), 0xDEADBEEF, np.uint32)  # every cell must be written
        base = frames.__array_interface__["data"][0]
        self.launch_block_sums(n * 32, threads, base, frames.strides[0], frames.strides[1], w, h, n,
                               blocks.ctypes.data)
        return blocks

    def signature(self, blocks: np.ndarray, width: int, height: int, threads: int = 128):
        blocks = np.ascontiguousarray(blocks, np.uint32)
        n = blocks.shape[0]
        framesig = np.full((n, 76), 255, np.uint8)
        words = np.full((n, 5), 255, np.uint8)
        conf = np.full(n, 77, np.uint8)
        self.launch_signature(n, threads, blocks.ctypes.data, width, height, n, framesig.ctypes.data,
                              words.ctypes.data, conf.ctypes.data)
        return framesig, words, conf


def build(out_dir: Path, source: Path | None = None, include_dirs=(KERNELS,), defines=()) -> EmulatedKernels:
    """Compiles the emulation library into out_dir. ``source`` replaces kernels/vsig.cu (the fake CuPy passes the
    code it was given); ``include_dirs``/``defines`` are the NVRTC -I/-D options. g++ warnings are errors, so a
    kernel that stops being valid host C++ fails here too."""
    if CXX is None:
        raise RuntimeError("no C++ compiler")
    out = Path(out_dir) / "libvsigemu.so"
    cmd = [CXX, "-O2", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-I", str(HERE)]
    cmd += [f"-I{d}" for d in include_dirs] + [f"-D{d}" for d in defines]
    if source is not None:
        cmd.append(f'-DLP_EMU_KERNEL="{source}"')
    cmd += [str(HERE / "vsig_emu.cpp"), "-o", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)
    return EmulatedKernels(out)
