"""The CUDA kernels (kernels/vsig.cu), run on the CPU, against the CPU path and FFmpeg's filter.

CI has no GPU, so the very translation unit NVRTC compiles is built with g++ under tests/vsig/cuda_emu/cuda_emu.h,
which turns each CUDA thread into a coroutine with exact __syncthreads/shuffle rendezvous semantics, and its grid
is launched with lpcore.vsig.cuda's launch shapes (and others). Outputs must equal the CPU path byte for byte,
and the FFmpeg binary file where FFmpeg made the frames. Also: every kernel compiles with nvcc to PTX for sm_80
and sm_90 without a warning (scripts/check-kernels.sh), when nvcc is installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lpcore import _native_vsig as native
from lpcore import vsig
from lpcore.vsig import cuda as vsig_cuda

from tests.vsig.cuda_emu import emu

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(emu.CXX is None, reason="needs a C++ compiler for the host emulation")


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    return emu.build(tmp_path_factory.mktemp("vsig_emu"))


def _contents(rng, n, h, w):
    kinds = [lambda: rng.integers(0, 256, (h, w), dtype=np.uint8),                      # noise
             lambda: rng.integers(170, 256, (h, w), dtype=np.uint8),                    # bright: wraps at large D
             lambda: np.full((h, w), int(rng.integers(0, 256)), np.uint8),              # flat: threshold ties
             lambda: (np.add.outer(np.arange(h), 3 * np.arange(w)) % 251).astype(np.uint8)]  # gradient
    return np.stack([kinds[i % len(kinds)]() for i in range(n)])


def _assert_same_as_cpu(kernels, frames, bs_threads=vsig_cuda.BLOCK_SUM_THREADS,
                        sig_threads=vsig_cuda.SIGNATURE_THREADS):
    n, h, w = frames.shape
    blocks = kernels.block_sums(frames, bs_threads)
    for i in range(n):
        assert np.array_equal(blocks[i], native.block_sums(frames[i])), f"block sums of frame {i} at {w}x{h}"
    got = kernels.signature(blocks, w, h, sig_threads)
    want = native.compute_frames(np.ascontiguousarray(frames))
    for name, g, e in zip(("framesig", "words", "confidence"), got, want):
        assert np.array_equal(g, e), f"{name} differs at {w}x{h}"
    return got


# (width, height, frames): multiples of 32, odd sizes, uint64-wrap sizes (D > 224,350) and divide mode
SIZES = [(32, 32, 4), (33, 35, 4), (64, 32, 4), (63, 95, 4), (427, 241, 4), (1000, 562, 4), (1280, 720, 2),
         (1919, 1081, 4), (3840, 2160, 2), (4097, 2161, 1), (5120, 2880, 2), (5121, 2887, 1)]


@pytest.mark.parametrize("w,h,n", SIZES, ids=[f"{w}x{h}" for w, h, _ in SIZES])
def test_kernels_equal_cpu_path(kernels, w, h, n):
    rng = np.random.default_rng(w * 65537 + h)
    _assert_same_as_cpu(kernels, _contents(rng, n, h, w))


def test_wrap_and_divide_sizes_are_covered():
    # the list above reaches both of FFmpeg's overflow regimes, so the kernels' uint64 arithmetic is exercised
    assert native.stream_params(5120, 2880)[0] and native.stream_params(5121, 2887)[0]
    assert all(native.stream_params(w, h)[1] > 224_350 for w, h in [(1919, 1081), (3840, 2160), (4097, 2161)])


def test_any_strides(kernels):
    rng = np.random.default_rng(5)
    base = rng.integers(0, 256, (3, 90, 140), dtype=np.uint8)
    padded = np.zeros((3, 100, 200), np.uint8)
    padded[:, 5:95, 10:150] = base
    _assert_same_as_cpu(kernels, padded[:, 5:95, 10:150])                  # row pitch > width, odd offset
    _assert_same_as_cpu(kernels, base[:, ::-1, :])                         # negative row stride
    _assert_same_as_cpu(kernels, base[::-1])                               # negative frame stride
    _assert_same_as_cpu(kernels, np.broadcast_to(base[1], (2, 90, 140)))   # frame stride 0


@pytest.mark.parametrize("bs_threads,sig_threads", [(32, 1), (64, 37), (1024, 384)])
def test_result_does_not_depend_on_block_size(kernels, bs_threads, sig_threads):
    # one warp doing all 32 block columns, odd thread counts in the signature kernel (strided phases), and more
    # threads than work items: same bytes every time
    frames = _contents(np.random.default_rng(bs_threads), 4, 241, 427)
    _assert_same_as_cpu(kernels, frames, bs_threads, sig_threads)


def test_emulation_really_synchronises(kernels):
    before = kernels.barriers()
    kernels.signature(np.zeros((1, 32, 32), np.uint32), 64, 64)
    assert kernels.barriers() - before == 7  # the signature kernel's seven __syncthreads()
    before = kernels.barriers()
    kernels.block_sums(np.zeros((1, 32, 32), np.uint8), 32)
    assert kernels.barriers() - before == 32 * 32 * 5 * 2  # 5 shuffles x 2 rendezvous per block column


def test_missing_barriers_would_be_caught(tmp_path):
    # the emulation has teeth: without __syncthreads the signature kernel reads shared memory before it is written
    broken = emu.build(tmp_path, defines=["LP_EMU_NO_SYNCTHREADS"])
    frames = _contents(np.random.default_rng(9), 4, 241, 427)
    blocks = broken.block_sums(frames)
    assert np.array_equal(blocks[0], native.block_sums(frames[0]))  # no barriers in this kernel: still right
    got = broken.signature(blocks, 427, 241)
    want = native.compute_frames(frames)
    assert not all(np.array_equal(g, e) for g, e in zip(got, want))


# -- FFmpeg-generated frames: the kernels' output written as FFmpeg's file must equal FFmpeg's file -------------
CLIPS = [("testsrc2=size=1919x1081:rate=25", 1919, 1081, 3),
         ("mandelbrot=size=63x95:rate=25", 63, 95, 46),
         ("cellauto=size=427x241:rate=25:rule=110:seed=7", 427, 241, 50),
         ("smptehdbars=size=1280x720:rate=25", 1280, 720, 2)]


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg binary (oracle)")
@pytest.mark.parametrize("src,w,h,n", CLIPS, ids=[c[0].split("=")[0] + f"_{c[1]}x{c[2]}" for c in CLIPS])
def test_kernels_on_ffmpeg_frames_match_ffmpeg(kernels, tmp_path, src, w, h, n):
    sig_file, raw_file = tmp_path / "ffmpeg.bin", tmp_path / "luma.yuv"
    run = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi", "-i",
           f"{src},format=yuv444p,scale={w}:{h}", "-frames:v", str(n)]
    subprocess.run(run + ["-vf", f"format=yuv420p,signature=filename={sig_file}", "-f", "null", "-"], check=True,
                   capture_output=True)
    subprocess.run(run + ["-pix_fmt", "yuv420p", "-f", "rawvideo", str(raw_file)], check=True,
                   capture_output=True)
    raw = np.fromfile(raw_file, np.uint8)
    frame = w * h + 2 * ((w + 1) // 2) * ((h + 1) // 2)
    assert len(raw) == n * frame
    luma = np.lib.stride_tricks.as_strided(raw, (n, h, w), (frame, w, 1), writeable=False)  # chroma in between
    framesig, words, conf = _assert_same_as_cpu(kernels, luma)
    sig = vsig.VideoSignature.from_frames(w, h, (1, 25), np.arange(n), conf, words, framesig)
    assert sig.to_binary() == sig_file.read_bytes()


# -- nvcc: the CI compile check, from the test suite ------------------------------------------------------------
@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc")
def test_kernels_compile_with_nvcc_without_warnings():
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "check-kernels.sh")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "vsig.cu sm_80" in proc.stdout and "vsig.cu sm_90" in proc.stdout


def test_kernel_sources_are_found():
    directory = vsig_cuda.kernels_dir()
    assert (directory / "vsig.cu").is_file() and (directory / "vsig_common.h").is_file()
    options = vsig_cuda.nvrtc_options(directory)
    assert f"-I{directory}" in options
    assert any(o.startswith("-DLPCORE_KERNELS_DIGEST=") for o in options)


# -- NVRTC: the compiler CuPy's RawModule uses, with lpcore's exact options --------------------------------------
def _find_nvrtc() -> Path | None:
    """libnvrtc from $LPCORE_NVRTC, an NVIDIA pip wheel (nvidia-cuda-nvrtc*, as CuPy installs it) or the system."""
    import ctypes.util
    import glob
    import os
    import site

    if os.environ.get("LPCORE_NVRTC"):
        return Path(os.environ["LPCORE_NVRTC"])
    for base in site.getsitepackages() + [site.getusersitepackages()] + sys.path:
        for hit in sorted(glob.glob(os.path.join(base, "nvidia", "*", "lib", "libnvrtc.so.*"))):
            return Path(hit)
    for root in ("/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib"):
        hits = sorted(glob.glob(os.path.join(root, "libnvrtc.so*")))
        if hits:
            return Path(hits[0])
    found = ctypes.util.find_library("nvrtc")
    return Path(found) if found else None


NVRTC = _find_nvrtc()


@pytest.mark.skipif(NVRTC is None, reason="needs libnvrtc (pip nvidia-cuda-nvrtc, or set LPCORE_NVRTC)")
@pytest.mark.parametrize("arch", ["compute_80", "compute_90"])
def test_kernels_compile_with_nvrtc(arch):
    import ctypes

    for builtins in sorted(NVRTC.parent.glob("libnvrtc-builtins.so.*")):  # NVRTC dlopens it by soname
        ctypes.CDLL(str(builtins), mode=ctypes.RTLD_GLOBAL)
    lib = ctypes.CDLL(str(NVRTC))
    directory = vsig_cuda.kernels_dir()
    prog = ctypes.c_void_p()
    source = (directory / vsig_cuda.KERNEL_SOURCE).read_bytes()
    assert lib.nvrtcCreateProgram(ctypes.byref(prog), source, b"vsig.cu", 0, None, None) == 0
    options = [o.encode() for o in vsig_cuda.nvrtc_options(directory)] + [f"-arch={arch}".encode()]
    rc = lib.nvrtcCompileProgram(prog, len(options), (ctypes.c_char_p * len(options))(*options))
    size = ctypes.c_size_t()
    lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetProgramLog(prog, log)
    assert rc == 0 and b"warning" not in log.value, log.value.decode()
    lib.nvrtcGetPTXSize(prog, ctypes.byref(size))
    ptx = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetPTX(prog, ptx)
    lib.nvrtcDestroyProgram(ctypes.byref(prog))
    for kernel in ("vsig_block_sums_kernel", "vsig_signature_kernel"):   # unmangled, as get_function looks up
        assert f".entry {kernel}(".encode() in ptx.value
