"""Parser hardening (issue 15 items 8 and 12): the strict parser checks the fields FFmpeg derives, the Livepeer
import is linear in the file size, and time bases are validated when a signature is made."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lpcore import SignatureFormatError, _native_vsig, vsig
from lpcore.vsig import VideoSignature

from tests._shared import vector_path

HEADER_BITS, SEGMENT_BITS, FRAME_BITS = 274, 1344, 689


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(out)


@pytest.fixture(scope="module")
def sw1() -> bytes:
    path = vector_path("lpms", "sign_sw1.bin")
    if not path.is_file():
        pytest.skip(f"{path} not available")
    return path.read_bytes()


def test_strict_parser_rejects_every_flip_of_a_derived_field(sw1: bytes) -> None:
    sig = VideoSignature.from_binary(sw1)
    n, s = len(sig), len(sig.seg_first)
    bits = []
    for v in range(s):
        seg = HEADER_BITS + SEGMENT_BITS * v
        bits += range(seg + 65, seg + 129)                      # segment start/end media time
        bits += range(seg + 129, seg + SEGMENT_BITS)            # the five bags of words
    frames = HEADER_BITS + SEGMENT_BITS * s + 1
    for f in range(n):
        bits += range(frames + FRAME_BITS * f + 41, frames + FRAME_BITS * f + 81)  # the five words
    accepted = [b for b in bits if _parses(_flip(sw1, b))]
    assert accepted == []
    # the free fields still parse (FFmpeg could write any confidence or pts)
    assert _parses(_flip(sw1, frames + 33 + 3))                 # frame 0 confidence
    # ... and the Livepeer fork's import, which checks none of this, still takes the flipped bags
    VideoSignature.from_binary(_flip(sw1, HEADER_BITS + 129), livepeer=True)


def _parses(data: bytes) -> bool:
    try:
        VideoSignature.from_binary(data)
    except SignatureFormatError:
        return False
    return True


def test_words_of_matches_computed_signatures() -> None:
    rng = np.random.default_rng(12)
    sig = vsig.compute(rng.integers(0, 256, (5, 48, 64), dtype=np.uint8))
    assert np.array_equal(_native_vsig.words_of(sig.framesig), sig.words)


def _livepeer_blob(segments: int, total_bytes: int) -> bytes:
    """A header claiming `segments` segments, then zero bytes (all-zero segments and frames)."""
    fields = [(1, 32), (1, 1), (0, 16), (0, 16), (31, 16), (31, 16), (0, 32), (0, 32), (1, 16), (1, 1), (0, 32),
              (0, 32), (segments, 32)]
    value = 0
    for v, width in fields:
        value = (value << width) | v
    head = (value << (8 - HEADER_BITS % 8)).to_bytes((HEADER_BITS + 7) // 8, "big")
    return head + bytes(total_bytes - len(head))


def test_livepeer_import_of_zero_segments_and_frames_matches_the_fork_rule() -> None:
    data = _livepeer_blob(40, 40 * 168 + 100 * 87)
    sig = VideoSignature.from_binary(data, livepeer=True)
    assert len(sig.seg_first) == 40 and len(sig) == (len(data) * 8 - HEADER_BITS - 40 * SEGMENT_BITS - 1) // 689
    # every pts is 0 and every segment spans [0, 0]: first frame 0, last frame n-1 (array order)
    assert sig.seg_first.tolist() == [0] * 40 and sig.seg_last.tolist() == [len(sig) - 1] * 40


def test_livepeer_import_rederivation_matches_a_scan_on_random_pts() -> None:
    rng = np.random.default_rng(8)
    for trial in range(20):
        n = int(rng.integers(1, 200))
        pts = rng.integers(0, 50, n).astype(np.uint64)
        framesig = rng.integers(0, 243, (n, 76))
        sig = VideoSignature.from_frames(64, 64, (1, 25), pts, rng.integers(0, 256, n), _native_vsig.words_of(framesig),
                                         framesig)
        fields = {k: getattr(sig, k) for k in VideoSignature.__slots__}
        fields["seg_start_pts"] = rng.integers(0, 60, len(sig.seg_first)).astype(np.uint64)
        fields["seg_end_pts"] = rng.integers(0, 60, len(sig.seg_first)).astype(np.uint64)
        lp = VideoSignature.from_binary(VideoSignature(**fields).to_binary(), livepeer=True)
        for s in range(len(sig.seg_first)):
            lo = min(fields["seg_start_pts"][s], fields["seg_end_pts"][s])
            hi = max(fields["seg_start_pts"][s], fields["seg_end_pts"][s])
            ge, le = np.flatnonzero(pts >= lo), np.flatnonzero(pts <= hi)
            assert lp.seg_first[s] == (int(ge[0]) if len(ge) else -1)
            assert lp.seg_last[s] == (int(le[-1]) if len(le) else -1)


def test_livepeer_import_is_linear_in_the_file_size() -> None:
    # 64 MB: a header claiming 200 000 segments, then zero bytes (~390 000 frames). The fork's per-segment scan
    # of every frame (n x s = 8e10 steps) ran for minutes; the bound is generous for a loaded machine.
    script = textwrap.dedent(f"""
        from tests.vsig.test_vsig_format_hardening import _livepeer_blob
        from lpcore.vsig import VideoSignature
        sig = VideoSignature.from_binary(_livepeer_blob(200_000, 64 << 20), livepeer=True)
        print(len(sig), len(sig.seg_first))
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    n, s = map(int, r.stdout.split())
    assert s == 200_000 and n == ((64 << 20) * 8 - HEADER_BITS - 200_000 * SEGMENT_BITS - 1) // FRAME_BITS


@pytest.mark.parametrize("time_base", [(1, 2**80), (2**40, 1), (1, 2**31)])
def test_time_base_beyond_ffmpegs_rational_is_refused_up_front(time_base) -> None:
    frames = np.zeros((2, 32, 32), np.uint8)
    with pytest.raises(ValueError, match="time_base"):
        vsig.compute(frames, time_base=time_base)


def test_largest_time_base_is_accepted_and_written() -> None:
    frames = np.zeros((2, 32, 32), np.uint8)
    sig = vsig.compute(frames, time_base=(1, 2**31 - 1))
    assert VideoSignature.from_binary(sig.to_binary()).media_time_unit == (2**31 - 1) & 0xFFFF
    assert "<MediaTimeUnit>2147483647</MediaTimeUnit>" in sig.to_xml()
