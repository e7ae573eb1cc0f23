"""vsig computation: independent-model checks, strides/streaming, bad input, the CLI and the shared header."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lpcore
from lpcore import DeviceUnavailable, VideoDecodeError, vsig
from lpcore import _native_vsig as native

from tests.vsig import reference as ref
from tests._shared import ffmpeg, needs_cc, needs_ffmpeg, run_header_program

ROOT = Path(__file__).resolve().parents[2]


# -- against the independent Python model of the spec ---------------------------------------------------------
@pytest.mark.parametrize("w,h", [(32, 32), (33, 35), (64, 32), (96, 64), (200, 150), (426, 240), (640, 480),
                                 (1000, 562), (1919, 1081), (4097, 2161), (5121, 2887)])
def test_matches_reference_model(w, h):
    rng = np.random.default_rng(w * 7919 + h)
    frames = [rng.integers(0, 256, (h, w), dtype=np.uint8),                 # noise
              rng.integers(170, 256, (h, w), dtype=np.uint8),               # bright noise (wraps at large D)
              np.full((h, w), 77, np.uint8),                                # flat: ties at the threshold
              (np.add.outer(np.arange(h), np.arange(w)) % 256).astype(np.uint8)]  # gradient
    framesig, words, conf = native.compute_frames(np.stack(frames))
    for i, plane in enumerate(frames):
        want = ref.signature(plane)
        assert (framesig[i].tolist(), words[i].tolist(), int(conf[i])) == want
        assert np.array_equal(native.block_sums(plane), ref.block_sums(plane))


def test_wrap_emulation_is_observable():
    # At 1919x1081 (D = 3,971,880) exact arithmetic and FFmpeg's mod-2^64 arithmetic disagree on bright noise,
    # so the bit-exact tests at these sizes would catch an implementation without the wrap.
    plane = np.random.default_rng(3).integers(150, 256, (1081, 1919), dtype=np.uint8)
    wrapped, exact = ref.signature(plane), ref.signature(plane, wrap=False)
    assert wrapped != exact
    assert native.compute_frames(plane[None])[0][0].tolist() == wrapped[0]


def test_flat_frames_have_zero_confidence():
    sig = vsig.compute(np.full((3, 64, 64), 128, np.uint8))
    assert sig.confidence.tolist() == [0, 0, 0]
    assert set(sig.trits().ravel().tolist()) == {1}


# -- layouts: strides, streaming, threads -----------------------------------------------------------------------
def test_any_strides_give_the_same_signature():
    rng = np.random.default_rng(11)
    base = rng.integers(0, 256, (6, 90, 140), dtype=np.uint8)
    want = vsig.compute(np.ascontiguousarray(base[:, ::-1, ::2]))
    assert vsig.compute(base[:, ::-1, ::2]) == want                      # negative row stride, column step 2
    padded = np.zeros((6, 100, 200), np.uint8)
    padded[:, 5:95, 10:150] = base
    assert vsig.compute(padded[:, 5:95, 10:150]) == vsig.compute(base)  # row pitch > width
    assert vsig.compute(base[::2]) == vsig.compute(np.ascontiguousarray(base[::2]))
    assert vsig.compute(base, threads=1) == vsig.compute(base, threads=2)


def test_streamed_planes_equal_array(monkeypatch):
    rng = np.random.default_rng(12)
    frames = rng.integers(0, 256, (100, 40, 48), dtype=np.uint8)
    import lpcore.vsig.engine as mod
    monkeypatch.setattr(mod, "CHUNK_BYTES", 40 * 48 * 9)               # 9-frame chunks: many partial chunks
    seen = []
    streamed = vsig.compute(iter(list(frames)), pts=range(5, 105), time_base=(1, 90000), progress=seen.append)
    whole = vsig.compute(frames, pts=np.arange(5, 105), time_base=(1, 90000))
    assert streamed == whole
    assert seen == list(range(9, 100, 9)) + [100]
    assert len(whole) == 100 and whole.seg_first.tolist() == [0, 45, 90] and whole.seg_last.tolist() == [89, 99, 99]
    assert whole.to_binary() == vsig.VideoSignature.from_binary(whole.to_binary()).to_binary()


def test_pts_and_time_base_go_into_the_files():
    frames = np.random.default_rng(1).integers(0, 256, (3, 32, 32), dtype=np.uint8)
    sig = vsig.compute(frames, pts=[-1, 2**33, 7], time_base=(1, 90000))
    assert sig.pts.tolist() == [2**64 - 1, 2**33, 7]                   # int64 pts stored as uint64, like FFmpeg
    back = vsig.VideoSignature.from_binary(sig.to_binary())
    assert back.pts.tolist() == [2**32 - 1, 0, 7]                      # binary pts keep 32 bits (B6)
    assert back.time_base == (1, 90000 & 0xFFFF)                      # MediaTimeUnit keeps 16 bits (B6)
    assert "<MediaTimeUnit>90000</MediaTimeUnit>" in sig.to_xml()
    assert "<MediaTimeOfFrame>18446744073709551615</MediaTimeOfFrame>" in sig.to_xml()


# -- bad input ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 31, 64), (1, 64, 31), (2, 24, 24), (1, 1, 1)])
def test_frames_below_32_pixels_are_rejected(shape):
    with pytest.raises(ValueError, match="at least 32x32"):
        vsig.compute(np.zeros(shape, np.uint8))
    with pytest.raises(ValueError, match="at least 32x32"):
        vsig.compute([np.zeros(shape[1:], np.uint8)])


@pytest.mark.parametrize("frames,exc,msg", [
    (np.zeros((2, 64, 64), np.uint16), TypeError, "uint8"),
    (np.zeros((2, 64, 64), np.float32), TypeError, "uint8"),
    (np.zeros((64, 64), np.uint8), ValueError, r"\(N, H, W\)"),
    (np.zeros((1, 64, 64, 3), np.uint8), ValueError, r"\(N, H, W\)"),
    (np.zeros((0, 64, 64), np.uint8), ValueError, "at least one frame"),
    ([], ValueError, "at least one frame"),
    (iter(()), ValueError, "at least one frame"),
    ([np.zeros((64, 64), np.uint8), np.zeros((64, 66), np.uint8)], ValueError, "same size"),
    ([np.zeros((64, 64, 3), np.uint8)], ValueError, r"\(H, W\)"),
    ([np.zeros((64, 64), np.int8)], TypeError, "uint8"),
    (42, TypeError, "iterable"),
    ("frames.mp4", TypeError, "iterable"),
])
def test_bad_frames(frames, exc, msg):
    with pytest.raises(exc, match=msg):
        vsig.compute(frames)


def test_bad_arguments():
    frames = np.zeros((2, 32, 32), np.uint8)
    with pytest.raises(ValueError, match="pts"):
        vsig.compute(frames, pts=[1, 2, 3])
    with pytest.raises(TypeError, match="pts"):
        vsig.compute(frames, pts=[1.5, 2.5])
    with pytest.raises(ValueError, match="time_base"):
        vsig.compute(frames, time_base=(0, 1))
    with pytest.raises(TypeError, match="time_base"):
        vsig.compute(frames, time_base=1 / 30)
    with pytest.raises(ValueError, match="device"):
        vsig.compute(frames, device="tpu")
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="threads"):
            vsig.compute(frames, threads=bad)
    assert vsig.compute(iter(frames), pts=(p for p in (4, 9))).pts.tolist() == [4, 9]


def _without_cupy(monkeypatch):
    from lpcore.vsig import cuda

    monkeypatch.setitem(sys.modules, "cupy", None)  # as on a machine without CuPy, even where it is installed
    monkeypatch.setattr(cuda, "_device_count", cuda._device_count.__wrapped__)  # uncached while patched
    monkeypatch.setattr(cuda, "available", cuda.available.__wrapped__)


def test_cuda_without_gpu_path_raises_device_unavailable(monkeypatch):
    _without_cupy(monkeypatch)
    with pytest.raises(DeviceUnavailable):
        vsig.compute(np.zeros((1, 32, 32), np.uint8), device="cuda")
    assert issubclass(DeviceUnavailable, lpcore.LpcoreError)


def test_undecodable_files(tmp_path):
    with pytest.raises(VideoDecodeError):
        vsig.compute_file(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    with pytest.raises(VideoDecodeError):
        vsig.compute_file(junk)
    empty = tmp_path / "empty.mkv"
    empty.write_bytes(b"")
    with pytest.raises(VideoDecodeError):
        vsig.compute_file(empty)


_ffmpeg = ffmpeg


@needs_ffmpeg
def test_bad_video_files(tmp_path):
    audio = tmp_path / "audio.wav"
    _ffmpeg("-f", "lavfi", "-i", "sine=d=0.2", str(audio))
    with pytest.raises(VideoDecodeError, match="no video"):
        vsig.compute_file(audio)
    tiny = tmp_path / "tiny.mkv"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=24x24:rate=25", "-frames:v", "2", "-c:v", "ffv1", str(tiny))
    with pytest.raises(ValueError, match="at least 32x32"):
        vsig.compute_file(tiny)
    clip = tmp_path / "clip.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=128x96:rate=25", "-frames:v", "30", "-c:v", "mpeg4", str(clip))
    data = clip.read_bytes()
    for cut in (len(data) // 3, len(data) // 2, len(data) - 100):
        broken = tmp_path / f"cut{cut}.mp4"
        broken.write_bytes(data[:cut])
        try:
            sig = vsig.compute_file(broken)
        except VideoDecodeError:
            continue
        assert 1 <= len(sig) <= 30


# -- CLI ------------------------------------------------------------------------------------------------------------
@needs_ffmpeg
def test_cli_compute(tmp_path, monkeypatch, capsys):
    import lpcore.cli

    clip = tmp_path / "clip.mkv"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-frames:v", "50", "-c:v", "ffv1", str(clip))
    ref_bin, ref_xml = tmp_path / "ref.bin", tmp_path / "ref.xml"
    _ffmpeg("-i", str(clip), "-map", "0:v:0", "-vf", f"format=yuv420p,signature=filename={ref_bin}", "-f", "null", "-")
    _ffmpeg("-i", str(clip), "-map", "0:v:0", "-vf", f"format=yuv420p,signature=format=xml:filename={ref_xml}",
            "-f", "null", "-")
    out = tmp_path / "out.bin"
    assert lpcore.cli.main(["vsig", "compute", str(clip), "-o", str(out)]) == 0
    assert out.read_bytes() == ref_bin.read_bytes()
    assert lpcore.cli.main(["vsig", "compute", str(clip), "-o", str(tmp_path / "o.xml"), "--xml", "-q",
                            "--device", "cpu"]) == 0
    assert (tmp_path / "o.xml").read_text() == ref_xml.read_text()
    assert lpcore.cli.main(["vsig", "compute", str(tmp_path / "nope.mp4"), "-o", str(out)]) == 1
    assert "cannot open" in capsys.readouterr().err
    _without_cupy(monkeypatch)
    assert lpcore.cli.main(["vsig", "compute", str(clip), "-o", str(out), "--device", "cuda"]) == 1


# -- the shared header compiles as C99 and as CUDA ----------------------------------------------------------------
_HEADER_USER = r"""
#include "vsig_common.h"
%s void one(const uint32_t *b, uint8_t *fs, uint8_t *w, uint8_t *c, const vsig_params *p)
{ vsig_frame_signature(b, p, fs, w, c); }
int host_init(vsig_params *p) { return vsig_params_init(p, 1920, 1080); }
"""


@needs_cc
def test_header_compiles_as_strict_c99(tmp_path):
    src = tmp_path / "h.c"
    src.write_text(_HEADER_USER % "")
    subprocess.run(["cc", "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-I", str(ROOT / "kernels"), "-c",
                    str(src), "-o", str(tmp_path / "h.o")], check=True)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc")
def test_header_compiles_with_nvcc(tmp_path):
    src = tmp_path / "h.cu"
    src.write_text(_HEADER_USER % "__device__")
    kernel = src.read_text() + r"""
__global__ void k(const uint32_t *b, uint8_t *fs, uint8_t *w, uint8_t *c, const vsig_params *p)
{ one(b + 1024 * blockIdx.x, fs + 76 * blockIdx.x, w + 5 * blockIdx.x, c + blockIdx.x, p); }
"""
    src.write_text(kernel)
    subprocess.run(["nvcc", "-ptx", "-arch=compute_80", "-Werror", "all-warnings", "-I", str(ROOT / "kernels"),
                    "-o", str(tmp_path / "h.ptx"), str(src)], check=True, capture_output=True)


@needs_cc
def test_header_element_index_helper(tmp_path):
    src = tmp_path / "e.c"
    src.write_text(r"""
#include "vsig_common.h"
int main(void) {
    int f, j, bad = 0;
    for (f = 0; f < VSIG_NELEM; f++) {
        int c = vsig_element_category(f, &j);
        vsig_category k = VSIG_CATEGORIES_at(c);
        if (j < 0 || j >= k.elem_count || k.elem_offset + j != f) bad++;
    }
    return bad;
}
""")
    assert run_header_program(src, tmp_path, std="c99", opt="-O0").returncode == 0


@needs_cc
def test_header_clamped_confidence_equals_division(tmp_path):
    run = run_header_program(ROOT / "tests" / "vsig" / "c" / "vsig_confidence_check.c", tmp_path)
    assert run.returncode == 0, run.stdout


def _child_compute(frames, queue):
    queue.put(vsig.compute(frames).to_binary())


def test_works_in_a_forked_child():
    # GNU OpenMP hangs in a child forked after a parallel region; lpcore falls back to one thread there.
    import multiprocessing

    frames = np.random.default_rng(0).integers(0, 256, (16, 64, 64), dtype=np.uint8)
    want = vsig.compute(frames, threads=2).to_binary()
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child_compute, args=(frames, queue))
    proc.start()
    proc.join(60)
    if proc.is_alive():
        proc.kill()
        pytest.fail("vsig.compute hung in a forked child")
    assert queue.get(timeout=5) == want


def _find_nvrtc() -> str | None:
    import ctypes.util
    import glob

    try:
        import nvidia.cuda_nvrtc as pkg  # pip wheel nvidia-cuda-nvrtc-cu12 (a CuPy dependency on some setups)
        hits = sorted(glob.glob(str(Path(next(iter(pkg.__path__))) / "lib" / "libnvrtc.so*")))
        if hits:
            return hits[0]
    except ImportError:
        pass
    return ctypes.util.find_library("nvrtc")


@pytest.mark.skipif(_find_nvrtc() is None, reason="needs libnvrtc (CuPy's RawModule compiler)")
def test_header_compiles_with_nvrtc():
    # CuPy's RawModule compiles with NVRTC, which has no <stdint.h>: the header must stand alone there.
    import ctypes

    lib = ctypes.CDLL(_find_nvrtc())
    src = rb"""
#include "vsig_common.h"
extern "C" __global__ void sig(const uint32_t *b, const vsig_params *p, uint8_t *fs, uint8_t *w, uint8_t *c, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) vsig_frame_signature(b + 1024 * i, p, fs + 76 * i, w + 5 * i, c + i);
}
"""
    prog = ctypes.c_void_p()
    headers = (ctypes.c_char_p * 1)((ROOT / "kernels" / "vsig_common.h").read_bytes())
    names = (ctypes.c_char_p * 1)(b"vsig_common.h")
    assert lib.nvrtcCreateProgram(ctypes.byref(prog), src, b"k.cu", 1, headers, names) == 0
    opts = (ctypes.c_char_p * 1)(b"--gpu-architecture=compute_80")
    rc = lib.nvrtcCompileProgram(prog, 1, opts)
    size = ctypes.c_size_t()
    lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetProgramLog(prog, log)
    lib.nvrtcDestroyProgram(ctypes.byref(prog))
    assert rc == 0, log.value.decode(errors="replace")
