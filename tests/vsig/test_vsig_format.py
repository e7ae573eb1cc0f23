"""Binary/XML formats: lpms vectors, round trips, strict vs Livepeer import, parser fuzzing."""

from __future__ import annotations

import hashlib
import random

import numpy as np
import pytest

from lpcore import SignatureFormatError, _native_vsig
from lpcore.vsig import VideoSignature

from tests._shared import vector_path

VECTORS = vector_path("lpms")

# From shared/vectors/lpms/README.md: name -> (bytes, sha256, N, S, first pts, last pts, conf min, conf max)
LPMS = {
    "sign_sw1.bin": (3389, "be1a3527f979b8f4b3ba4150fe32a088d20539d9c0509e8e7b75e91265158497", 37, 1, 1807, 1843, 98, 128),
    "sign_nv1.bin": (3389, "ab5c030baaf32af57f208296c9277d44d47ad2ab253e7604975ba2c048c86306", 37, 1, 1807, 1843, 98, 129),
    "sign_sw2.bin": (5538, "2c179e2550c095b67de2b1ca27ca59fa2dc56e1e5ea5ad6de0af13175a812e03", 60, 2, 1, 60, 73, 107),
    "sign_nv2.bin": (5538, "29eb00b5ed944a842eab02229cacfde061c0d507564659e7927d7c10908e0776", 60, 2, 1, 60, 73, 107),
}
WORD_ELEMS = [[210, 217, 219, 274, 334], [44, 175, 233, 270, 273], [57, 70, 103, 237, 269],
              [100, 285, 295, 337, 354], [101, 102, 111, 275, 296]]


def _load(name: str) -> bytes:
    data = (VECTORS / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == LPMS[name][1]
    return data


@pytest.mark.parametrize("name", sorted(LPMS))
@pytest.mark.parametrize("livepeer", [False, True])
def test_lpms_vectors_parse_and_reserialise(name, livepeer):
    size, _, n, s, pts0, pts1, cmin, cmax = LPMS[name]
    data = _load(name)
    sig = VideoSignature.from_binary(data, livepeer=livepeer)
    assert (sig.width, sig.height, len(sig), len(sig.seg_first)) == (426, 240, n, s)
    assert sig.time_base == (1, 24464)
    assert (int(sig.pts[0]), int(sig.pts[-1])) == (pts0, pts1)
    assert np.array_equal(np.diff(sig.pts.astype(np.int64)), np.ones(n - 1))
    assert (int(sig.confidence.min()), int(sig.confidence.max())) == (cmin, cmax)
    assert sig.seg_first.tolist() == [45 * i for i in range(s)]
    assert sig.to_binary() == data
    # the 5 words are the trits at the word element lists (spec §2.4)
    t = sig.trits().astype(int)
    words = np.stack([sum(t[:, e] * 3 ** (4 - m) for m, e in enumerate(ws)) for ws in WORD_ELEMS], 1)
    assert np.array_equal(words, sig.words)
    # re-deriving the coarse bags from the words gives the stored ones
    rebuilt = VideoSignature.from_frames(sig.width, sig.height, sig.time_base, sig.pts, sig.confidence, sig.words,
                                         sig.framesig)
    assert rebuilt == sig
    assert rebuilt.to_binary() == data


def test_lpms_truncations_livepeer():
    data = _load("sign_sw1.bin")
    one = VideoSignature.from_binary(data[:289], livepeer=True)   # exactly one fine signature
    assert len(one) == 1
    full = VideoSignature.from_binary(data, livepeer=True)
    assert np.array_equal(one.framesig[0], full.framesig[0]) and one.pts[0] == full.pts[0]
    with pytest.raises(SignatureFormatError):
        VideoSignature.from_binary(data[:279], livepeer=True)        # zero fine signatures
    with pytest.raises(SignatureFormatError):
        VideoSignature.from_binary(data[:289])                       # strict: NumOfFrames says 37


def test_xml_matches_binary_content():
    sig = VideoSignature.from_binary(_load("sign_sw2.bin"))
    xml = sig.to_xml()
    assert xml.startswith("<?xml version='1.0' encoding='ASCII' ?>\n")
    assert xml.count("<VideoFrame>") == 60 and xml.count("<VSVideoSegment>") == 2
    first = xml.split("<FrameSignature>")[1].split("</FrameSignature>")[0]
    assert first == "  ".join(str(t) for t in sig.trits()[0]) + " "


@pytest.mark.parametrize("name", sorted(LPMS))
@pytest.mark.parametrize("livepeer", [False, True])
def test_every_truncation_raises_or_parses(name, livepeer):
    data = _load(name)
    n_ok = 0
    for cut in range(len(data)):
        try:
            sig = VideoSignature.from_binary(data[:cut], livepeer=livepeer)
        except SignatureFormatError:
            continue
        n_ok += 1
        assert livepeer, "strict parsing must reject every truncation"
        assert sig.to_binary()[:16] == data[:16]
    if livepeer:
        assert n_ok > 0


@pytest.mark.parametrize("livepeer", [False, True])
def test_random_corruptions_never_crash(livepeer):
    rng = random.Random(1234)
    bases = [_load(n) for n in sorted(LPMS)]
    outcomes = {"ok": 0, "error": 0}
    for i in range(3000):
        data = bytearray(rng.choice(bases))
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.2:
            del data[rng.randrange(len(data)):]
        if rng.random() < 0.1:
            data += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        try:
            sig = VideoSignature.from_binary(bytes(data), livepeer=livepeer)
        except SignatureFormatError:
            outcomes["error"] += 1
            continue
        outcomes["ok"] += 1
        assert sig.words.max() <= 242 and sig.framesig.max() <= 242
        out = sig.to_binary()
        if not livepeer:
            assert out == bytes(data)       # strict: what parses re-serialises identically
        sig.to_xml()
    assert outcomes["ok"] > 0 and outcomes["error"] > 0


@pytest.mark.parametrize("bad", [b"", b"\x00", "text", None, 12, b"\xff" * 5000])
def test_garbage_is_rejected(bad):
    with pytest.raises((SignatureFormatError, TypeError)):
        VideoSignature.from_binary(bad)
    with pytest.raises((SignatureFormatError, TypeError)):
        VideoSignature.from_binary(bad, livepeer=True)


def test_strict_rejects_header_changes():
    data = bytearray(_load("sign_sw1.bin"))
    for pos, mask in [(0, 0x80), (3, 0x01), (4, 0x80), (7, 0x08)]:
        bad = bytearray(data)
        bad[pos] ^= mask
        with pytest.raises(SignatureFormatError):
            VideoSignature.from_binary(bytes(bad))
    padded = bytes(data) + b"\0"
    with pytest.raises(SignatureFormatError):
        VideoSignature.from_binary(padded)
    assert len(VideoSignature.from_binary(padded, livepeer=True)) == 37


# -- property tests: any valid signature round-trips through both formats ----------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402


@st.composite
def signatures(draw):
    n = draw(st.integers(1, 140))
    w = draw(st.integers(32, 65536))
    h = draw(st.integers(32, 65536))
    den = draw(st.integers(1, 2**20))
    pts = draw(arrays(np.uint64, n, elements=st.integers(0, 2**32 - 1)))
    conf = draw(arrays(np.uint8, n))
    framesig = draw(arrays(np.uint8, (n, 76), elements=st.integers(0, 242)))
    words = _native_vsig.words_of(framesig)  # FFmpeg derives the words from the frame signature
    return VideoSignature.from_frames(w, h, (1, den), pts, conf, words, framesig)


@settings(max_examples=60, deadline=None)
@given(signatures())
def test_binary_round_trip(sig):
    data = sig.to_binary()
    assert len(data) == (274 + 1344 * len(sig.seg_first) + 1 + 689 * len(sig) + 7) // 8
    back = VideoSignature.from_binary(data)
    assert back.to_binary() == data
    for k in ("pts", "confidence", "words", "framesig", "seg_first", "seg_last", "seg_start_pts", "seg_end_pts",
              "bags"):
        assert np.array_equal(getattr(back, k), getattr(sig, k)), k
    assert (back.width, back.height) == (sig.width, sig.height)
    assert back.media_time_unit == (sig.media_time_unit & 0xFFFF or 65536)
    lp = VideoSignature.from_binary(data, livepeer=True)
    assert np.array_equal(lp.framesig, sig.framesig) and np.array_equal(lp.words, sig.words)


@settings(max_examples=30, deadline=None)
@given(signatures())
def test_xml_structure(sig):
    xml = sig.to_xml()
    frames = xml.split("<FrameSignature>")[1:]
    assert len(frames) == len(sig)
    trits = sig.trits()
    for i, chunk in enumerate(frames):
        assert chunk.split("</FrameSignature>")[0].split() == [str(t) for t in trits[i]]
    bags = xml.split("<BagOfWords>")[1:]
    assert len(bags) == 5 * len(sig.seg_first)
    bits = np.unpackbits(sig.bags, axis=2)[:, :, :243].reshape(-1, 243)
    for b, chunk in zip(bits, bags):
        assert chunk.split("</BagOfWords>")[0].split() == [str(x) for x in b]
    assert f"<MediaTimeUnit>{sig.media_time_unit}</MediaTimeUnit>" in xml


def test_livepeer_import_rederives_segment_frames_from_pts():
    rng = np.random.default_rng(7)
    n = 100
    pts = np.arange(1000, 1000 + n, dtype=np.uint64)[::-1].copy()     # decreasing pts
    framesig = rng.integers(0, 243, (n, 76))
    sig = VideoSignature.from_frames(640, 360, (1, 90000), pts, rng.integers(0, 256, n),
                                     _native_vsig.words_of(framesig), framesig)
    data = sig.to_binary()
    assert VideoSignature.from_binary(data) == VideoSignature(640, 360, (1, 90000 & 0xFFFF), *[
        getattr(sig, k) for k in VideoSignature.__slots__[3:]])
    lp = VideoSignature.from_binary(data, livepeer=True)
    # segment s stored frames [45s, ...] with start/end pts taken from those frames; the fork picks the first
    # frame in array order whose pts >= min(start, end), and the last one whose pts <= max(start, end)
    for s in range(len(sig.seg_first)):
        lo = min(sig.seg_start_pts[s], sig.seg_end_pts[s])
        hi = max(sig.seg_start_pts[s], sig.seg_end_pts[s])
        assert lp.seg_first[s] == int(np.flatnonzero(pts >= lo)[0])
        assert lp.seg_last[s] == int(np.flatnonzero(pts <= hi)[-1])
    assert lp.seg_first.tolist() == [0, 0, 0]                          # pts decrease: frame 0 always qualifies
    # no frame at or after a segment's start time: the fork's NULL (-1), which the lookup skips
    fields = {k: getattr(sig, k) for k in VideoSignature.__slots__}
    fields["seg_start_pts"] = fields["seg_start_pts"].copy()
    fields["seg_end_pts"] = fields["seg_end_pts"].copy()
    fields["seg_start_pts"][1] = fields["seg_end_pts"][1] = 5000
    lp = VideoSignature.from_binary(VideoSignature(**fields).to_binary(), livepeer=True)
    assert lp.seg_first[1] == -1 and lp.seg_last[1] == n - 1


def test_bytes_above_242_are_rejected_in_both_modes():
    data = bytearray(_load("sign_sw1.bin"))
    first_frame_bit = 274 + 1344 + 1
    word_byte_bit = first_frame_bit + 1 + 32 + 8                     # first word of frame 0
    for bit in range(word_byte_bit, word_byte_bit + 8):
        data[bit // 8] |= 0x80 >> (bit % 8)                           # word := 255
    for livepeer in (False, True):
        with pytest.raises(SignatureFormatError, match="242"):
            VideoSignature.from_binary(bytes(data), livepeer=livepeer)


def test_constructor_validates():
    sig = VideoSignature.from_binary(_load("sign_sw1.bin"))
    fields = {k: getattr(sig, k) for k in VideoSignature.__slots__}
    with pytest.raises(ValueError, match="framesig"):
        VideoSignature(**{**fields, "framesig": sig.framesig[:, :75]})
    with pytest.raises(ValueError, match="0..242"):
        VideoSignature(**{**fields, "words": np.full_like(sig.words, 243)})
    with pytest.raises(TypeError, match="time_base"):
        VideoSignature(**{**fields, "time_base": "1/25"})
    with pytest.raises(ValueError, match="width"):
        VideoSignature(**{**fields, "width": 0})
