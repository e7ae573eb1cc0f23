"""Verification profiles (lpcore.vsig.profile): the CPU pass against an independent numpy model, the CUDA kernels
(host emulation) against the CPU pass byte for byte, the signature computed in the same pass, and the LPVP
format (round trip, every truncation, random corruption)."""

from __future__ import annotations

import math
import random
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from lpcore import SignatureFormatError, vsig
from lpcore import _native_vsig as native
from lpcore.vsig import cuda as vsig_cuda
from lpcore.vsig.profile import PROFILE_BYTES, VideoProfile, compute_profile, compute_profile_file

from tests.vsig.cuda_emu import emu
from tests._shared import ffmpeg, needs_cc, needs_ffmpeg, run_header_program

# the signature tests' awkward sizes: multiples of 32, odd sizes, uint64-wrap sizes and divide mode
SIZES = [(32, 32), (33, 35), (64, 32), (63, 95), (160, 90), (427, 241), (1000, 562), (1919, 1081), (5121, 2887)]


def _starts(size: int, grid: int) -> list[int]:
    return [(size * i + grid - 1) // grid for i in range(grid + 1)]


def _profile_model(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The profile of one frame from its definition (docs/verification.md), in plain numpy/Python integers."""
    h, w = y.shape
    hc, wc = u.shape
    ystep = min(16, max(1, h // 32 // 2))
    cstep = min(16, max(1, hc // 16 // 2))
    out = np.zeros(PROFILE_BYTES, np.uint8)
    rs, cs = _starts(h, 32), _starts(w, 32)
    f = y.astype(np.int64)
    for r in range(32):
        rows = [yy for yy in range(rs[r], rs[r + 1]) if yy % ystep == 0]
        for c in range(32):
            b = f[rs[r]:rs[r + 1], cs[c]:cs[c + 1]]
            out[r * 32 + c] = (2 * int(b.sum()) + b.size) // (2 * b.size)            # round half up
            s = f[rows, cs[c]:cs[c + 1]]
            n, s1, s2 = s.size, int(s.sum()), int((s * s).sum())
            out[1024 + r * 32 + c] = min(255, math.isqrt(4 * (n * s2 - s1 * s1) // (n * n)))  # 2 x std, floored
    rs, cs = _starts(hc, 16), _starts(wc, 16)
    for k, plane in enumerate((u, v)):
        g = plane.astype(np.int64)
        for r in range(16):
            rows = [yy for yy in range(rs[r], rs[r + 1]) if yy % cstep == 0]
            for c in range(16):
                b = g[rows, cs[c]:cs[c + 1]]
                out[2048 + 256 * k + r * 16 + c] = (2 * int(b.sum()) + b.size) // (2 * b.size)
    return out


def _planes(rng, n, h, w, chroma=None):
    kinds = [lambda s: rng.integers(0, 256, s, dtype=np.uint8),
             lambda s: rng.integers(200, 256, s, dtype=np.uint8),
             lambda s: np.full(s, int(rng.integers(0, 256)), np.uint8),
             lambda s: (np.add.outer(np.arange(s[0]), 3 * np.arange(s[1])) % 251).astype(np.uint8)]
    hc, wc = chroma or (max(16, (h + 1) // 2), max(16, (w + 1) // 2))
    y = np.stack([kinds[i % 4]((h, w)) for i in range(n)])
    u = np.stack([kinds[(i + 1) % 4]((hc, wc)) for i in range(n)])
    v = np.stack([kinds[(i + 2) % 4]((hc, wc)) for i in range(n)])
    return y, u, v


@contextmanager
def _row_kernels(simd: bool):
    """The CPU pass's AVX2 row kernels (simd, where the CPU has them) or its portable loops inside the block."""
    before = native.profile_simd()
    native.profile_simd(simd)
    try:
        yield
    finally:
        native.profile_simd(before)


@pytest.fixture(params=[True, False], ids=["simd", "portable"])
def row_kernels(request):
    """Runs a test with the CPU pass's AVX2 row kernels (where the CPU has them) and with its portable loops."""
    with _row_kernels(request.param):
        yield request.param


@pytest.mark.parametrize("w,h", SIZES[:-2] + [(1919, 1081)], ids=lambda x: str(x))
def test_cpu_profile_equals_model(w, h, row_kernels):
    rng = np.random.default_rng(w * 7 + h)
    y, u, v = _planes(rng, 2 if w > 1000 else 4, h, w)
    framesig, words, conf, prof = native.compute_profile_frames(y, u, v)
    for i in range(len(y)):
        assert np.array_equal(prof[i], _profile_model(y[i], u[i], v[i])), f"frame {i} at {w}x{h}"
    # same pass, same signature as the signature-only path
    want = native.compute_frames(y)
    for g, e in zip((framesig, words, conf), want):
        assert np.array_equal(g, e)


def test_row_kernels_agree_on_every_width_remainder():
    """The AVX2 kernels take 32 columns at a time and the column pairs straddle odd block boundaries: every width
    from 32 to 160 (each remainder mod 32, odd and even boundaries) and a few heights, random and extreme pixels,
    give the same bytes with both row kernels."""
    rng = np.random.default_rng(5)
    for w in range(32, 161):
        for h in (32, 67, 130 + w % 7):
            y, u, v = _planes(rng, 2, h, w)
            y[1, ::3] = 255
            with _row_kernels(False):
                want = native.compute_profile_frames(y, u, v, 1)
            with _row_kernels(True):
                got = native.compute_profile_frames(y, u, v, 1)
            for g, e in zip(got, want):
                assert np.array_equal(g, e), f"{w}x{h}"


def test_profile_any_strides_and_chroma_sizes():
    rng = np.random.default_rng(3)
    y, u, v = _planes(rng, 3, 90, 140, chroma=(45, 70))
    base = native.compute_profile_frames(y, u, v)[3]
    padded = np.zeros((3, 100, 200), np.uint8)
    padded[:, 5:95, 10:150] = y
    assert np.array_equal(native.compute_profile_frames(padded[:, 5:95, 10:150], u, v)[3], base)
    flipped = native.compute_profile_frames(y[::-1], u[::-1], v[::-1])[3]
    assert np.array_equal(flipped, base[::-1])
    # 4:4:4 chroma and the smallest chroma the grid allows
    for chroma in [(90, 140), (16, 16)]:
        y2, u2, v2 = _planes(rng, 2, 90, 140, chroma=chroma)
        prof = native.compute_profile_frames(y2, u2, v2)[3]
        assert np.array_equal(prof[1], _profile_model(y2[1], u2[1], v2[1]))
    with pytest.raises(ValueError):
        native.compute_profile_frames(y, u[:, :15], v[:, :15])


def test_compute_profile_api_checks():
    rng = np.random.default_rng(4)
    y, u, v = _planes(rng, 2, 64, 64)
    prof = compute_profile(y, u, v, device="cpu")
    assert prof.signature == vsig.compute(y, device="cpu")
    assert prof.ymean.shape == (2, 32, 32) and prof.umean.shape == (2, 16, 16)
    with pytest.raises(ValueError):
        compute_profile(y, u[:1], v[:1])
    with pytest.raises(TypeError):
        compute_profile(y.astype(np.int16), u, v)
    with pytest.raises(ValueError):
        compute_profile(y[:, :20], u, v)


# -- GPU kernels under the host emulation ----------------------------------------------------------------------
needs_cxx = pytest.mark.skipif(emu.CXX is None, reason="needs a C++ compiler for the host emulation")


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    return emu.build(tmp_path_factory.mktemp("vsig_profile_emu"))


@needs_cxx
@pytest.mark.parametrize("w,h", SIZES, ids=lambda x: str(x))
def test_gpu_kernels_equal_cpu_profile(kernels, w, h):
    rng = np.random.default_rng(w * 65537 + h)
    y, u, v = _planes(rng, 1 if w > 2000 else 3, h, w)
    blocks, prof = kernels.profile(y, u, v)
    _, _, _, want = native.compute_profile_frames(y, u, v)
    assert np.array_equal(prof, want), f"profile differs at {w}x{h}"
    for i in range(len(y)):
        assert np.array_equal(blocks[i], native.block_sums(y[i]))
    # the signature kernel on the profile pass's block sums gives the CPU signature
    got = kernels.signature(blocks, w, h)
    for g, e in zip(got, native.compute_frames(y)):
        assert np.array_equal(g, e)


@needs_cxx
@pytest.mark.parametrize("sums_threads,threads", [(32, 1), (96, 37), (1024, 512)])
def test_gpu_profile_does_not_depend_on_block_size(kernels, sums_threads, threads):
    rng = np.random.default_rng(sums_threads)
    y, u, v = _planes(rng, 2, 241, 427)
    padded = np.zeros((2, 250, 440), np.uint8)
    padded[:, 3:244, 5:432] = y
    _, prof = kernels.profile(padded[:, 3:244, 5:432], u[:, ::-1], v, sums_threads, threads)
    assert np.array_equal(prof, native.compute_profile_frames(y, u[:, ::-1], v)[3])


@needs_cxx
def test_cuda_backend_profile_equals_cpu(monkeypatch):
    from tests.vsig.cuda_emu import fake_cupy

    monkeypatch.setitem(sys.modules, "cupy", fake_cupy)
    monkeypatch.setattr(fake_cupy._Runtime, "device_count", 1)
    vsig_cuda._device_count.cache_clear()
    vsig_cuda.available.cache_clear()
    vsig_cuda._profile_kernels.cache_clear()
    try:
        rng = np.random.default_rng(11)
        y, u, v = _planes(rng, 5, 90, 160)
        want = compute_profile(y, u, v, device="cpu")
        assert compute_profile(y, u, v, device="cuda") == want
        dev = [fake_cupy.asarray(a) for a in (y, u, v)]
        assert compute_profile(*dev, device="cuda") == want
    finally:
        vsig_cuda._device_count.cache_clear()
        vsig_cuda.available.cache_clear()
        vsig_cuda._profile_kernels.cache_clear()


# -- files --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("prof") / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x90:r=30:d=1", "-c:v", "libx264", "-crf", "30", "-pix_fmt",
           "yuv420p", str(path))
    return path


@needs_ffmpeg
def test_file_profile_signature_is_ffmpegs(clip, tmp_path):
    prof = compute_profile_file(clip, "cpu")
    assert len(prof) == 30 and prof.chroma_size == (80, 45)
    assert prof.signature == vsig.compute_file(clip, "cpu")
    ffbin = tmp_path / "ff.bin"
    ffmpeg("-i", str(clip), "-map", "0:v:0", "-vf", f"signature=filename={ffbin}", "-f", "null", "-")
    assert prof.signature.to_binary() == ffbin.read_bytes()
    assert compute_profile_file(clip.read_bytes(), "cpu") == prof


def test_file_errors(tmp_path):
    from lpcore import VideoDecodeError

    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(VideoDecodeError):
        compute_profile_file(bad)
    with pytest.raises(VideoDecodeError):
        compute_profile_file(b"\x00" * 100)


# -- LPVP format --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(21)
    y, u, v = _planes(rng, 6, 90, 160)
    return compute_profile(y, u, v, pts=np.arange(6) * 3, time_base=(1, 90), device="cpu")


@pytest.mark.parametrize("compress", [True, False])
def test_format_round_trip(sample, compress):
    data = sample.to_bytes(compress=compress)
    assert data[:4] == b"LPVP" and data[4] == 1
    back = VideoProfile.from_bytes(data)
    assert back == sample and back.to_bytes(compress=compress) == data
    if not compress:
        assert len(data) == 40 + len(sample.signature.to_binary()) + 6 * PROFILE_BYTES


@pytest.mark.parametrize("compress", [True, False])
def test_format_rejects_every_truncation_and_extension(sample, compress):
    data = sample.to_bytes(compress=compress)
    for cut in range(len(data)):
        with pytest.raises(SignatureFormatError):
            VideoProfile.from_bytes(data[:cut])
    with pytest.raises(SignatureFormatError):
        VideoProfile.from_bytes(data + b"\x00")


def test_format_rejects_random_corruption(sample):
    rng = random.Random(77)
    for base in (sample.to_bytes(), sample.to_bytes(compress=False)):
        for _ in range(600):
            data = bytearray(base)
            for _ in range(rng.randint(1, 4)):
                i = rng.randrange(len(data))
                data[i] = (data[i] + rng.randrange(1, 256)) % 256
            with pytest.raises(SignatureFormatError):
                VideoProfile.from_bytes(bytes(data))


def test_format_field_checks(sample):
    import struct
    import zlib

    data = bytearray(sample.to_bytes())

    def patched(offset, fmt, value, fix_crc=True):
        d = bytearray(data)
        struct.pack_into(fmt, d, offset, value)
        if fix_crc:
            struct.pack_into("<I", d, 36, zlib.crc32(bytes(d[40:])))
        return bytes(d)

    for offset, fmt, value, msg in [(4, "<B", 2, "version"), (5, "<B", 2, "flags"), (6, "<B", 16, "grid"),
                                    (8, "<I", 31, "sizes"), (16, "<I", 161, "sizes"), (24, "<I", 0, "zero"),
                                    (24, "<I", 7, "frames"), (0, "<4s", b"LPVQ", "magic")]:
        with pytest.raises(SignatureFormatError, match=msg):
            VideoProfile.from_bytes(patched(offset, fmt, value))
    # a deflate payload that inflates to more than announced is refused without inflating it all
    d = bytearray(data)
    sig_len = struct.unpack_from("<I", d, 28)[0]
    bomb = zlib.compress(bytes(10 * 6 * PROFILE_BYTES))
    d = d[:40 + sig_len] + bomb
    struct.pack_into("<I", d, 32, len(bomb))
    struct.pack_into("<I", d, 36, zlib.crc32(bytes(d[40:])))
    with pytest.raises(SignatureFormatError, match="inflate"):
        VideoProfile.from_bytes(bytes(d))
    with pytest.raises(TypeError):
        VideoProfile.from_bytes("LPVP")


@needs_cc
def test_header_quantisers_equal_plain_arithmetic(tmp_path):
    """The profile's division by multiplication and its reciprocal-guided square root (kernels/vsig_common.h),
    which the CPU pass and the GPU kernel share, against plain integer division and an integer square root."""
    run = run_header_program(Path(__file__).parent / "c" / "vsig_profile_quant_check.c", tmp_path, libs=("-lm",))
    assert run.returncode == 0, run.stdout
