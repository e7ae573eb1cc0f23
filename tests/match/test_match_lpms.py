"""Livepeer preset against the lpms vectors (expected codes from livepeer/FFmpeg's avfilter_compare_sign_bypath)."""

from __future__ import annotations


import numpy as np
import pytest

from lpcore import SignatureFormatError
from lpcore import _native_match as native
from lpcore.vsig import VideoSignature, compare

from tests._shared import vector_path

VEC = vector_path("lpms")
NAMES = ["sw1", "nv1", "sw2", "nv2"]
EXPECTED = {  # README.md table, all 16 ordered pairs
    ("sw1", "sw1"): 2, ("sw1", "nv1"): 2, ("sw1", "sw2"): 0, ("sw1", "nv2"): 0,
    ("nv1", "sw1"): 2, ("nv1", "nv1"): 2, ("nv1", "sw2"): 0, ("nv1", "nv2"): 0,
    ("sw2", "sw1"): 0, ("sw2", "nv1"): 0, ("sw2", "sw2"): 2, ("sw2", "nv2"): 2,
    ("nv2", "sw1"): 0, ("nv2", "nv1"): 0, ("nv2", "sw2"): 2, ("nv2", "nv2"): 2,
}

pytestmark = pytest.mark.skipif(not VEC.is_dir(), reason="lpms vectors not found")


def _bytes(name: str) -> bytes:
    return (VEC / f"sign_{name}.bin").read_bytes()


@pytest.mark.parametrize("pair", sorted(EXPECTED), ids=lambda p: f"{p[0]}-{p[1]}")
def test_livepeer_lpms_table(pair):
    a, b = pair
    m = compare(VEC / f"sign_{a}.bin", VEC / f"sign_{b}.bin", preset="livepeer")
    assert m.code == EXPECTED[pair]
    assert bool(m) == (EXPECTED[pair] > 0)
    # bytes in, same answer
    assert compare(_bytes(a), _bytes(b)).code == EXPECTED[pair]


def test_upstream_logic_misses_short_lpms_pair():
    """README: upstream FFmpeg's lookup (B1, no nearbyint) finds no match for the 37-frame sw1/nv1 clips."""
    a = VideoSignature.from_binary(_bytes("sw1"))
    b = VideoSignature.from_binary(_bytes("nv1"))
    assert compare(a, b, preset="ffmpeg").code == 0
    assert compare(a, b, preset="exact").code == 2


@pytest.mark.parametrize("pair", [("sw1", "nv1"), ("sw2", "nv2"), ("sw1", "sw2"), ("nv2", "nv1")])
def test_exact_agrees_on_lpms(pair):
    a, b = pair
    want = EXPECTED[pair]
    assert compare(_bytes(a), _bytes(b), preset="exact").code == want
    assert compare(_bytes(b), _bytes(a), preset="exact").code == want


def test_truncated_one_fine_signature_is_no_match_without_error():
    m = compare(_bytes("sw1")[:289], _bytes("nv1"), preset="livepeer")
    assert m.code == 0 and not m


def test_truncated_no_fine_signature_is_an_error():
    with pytest.raises(SignatureFormatError):
        compare(_bytes("sw1")[:279], _bytes("nv1"), preset="livepeer")


def test_random_corruption_never_crashes():
    rng = np.random.default_rng(1234)
    originals = {n: _bytes(n) for n in NAMES}
    outcomes = set()
    for trial in range(300):
        a, b = rng.choice(NAMES, 2)
        data = bytearray(originals[a])
        for pos in rng.integers(0, len(data), rng.integers(1, 40)):
            data[pos] = int(rng.integers(0, 256))
        if trial % 10 == 0:
            data = data[: int(rng.integers(0, len(data)))]
        try:
            m = compare(bytes(data), originals[b], preset=["livepeer", "exact", "ffmpeg"][trial % 3])
            outcomes.add(m.code)
        except SignatureFormatError:
            outcomes.add("error")
    assert outcomes & {0, 1, 2}


def test_native_lookup_survives_arbitrary_arrays():
    """Bytes > 242 (never produced by a valid signature) and out-of-range segment starts must not be read
    out of bounds: the C code reads such bytes as 242 and skips segments without a frame."""
    rng = np.random.default_rng(7)
    for _ in range(200):
        n1, n2 = rng.integers(1, 200, 2)
        s1, s2 = rng.integers(1, 6, 2)
        arrays = []
        for n, s in ((n1, s1), (n2, s2)):
            arrays += [rng.integers(0, 256, (n, 76), dtype=np.uint8), rng.integers(0, 256, n, dtype=np.uint8),
                       rng.integers(0, 256, (s, 5, 31), dtype=np.uint8), rng.integers(-5, n + 5, s).astype(np.int64)]
        for flags in ((0, 0, False, False, False, True), (0, 1, True, True, True, False)):
            r = native.lookup_batch(
                [tuple(arrays[:4])], [tuple(arrays[4:])], th_d=9000, th_dc=60000, th_xh=int(rng.integers(0, 800)),
                th_di=0, th_it=0.0, mode=int(rng.integers(0, 2)), jaccard=flags[0], rounding=flags[1],
                full_offset_scan=flags[2], include_last_frame=flags[3], reset_walk_state=flags[4],
                model_b2_crash=flags[5], diagonal_walk=flags[4])[0]
            assert r[0] in (0, 1, 2)
            if r[0]:
                assert 0 <= r[2] < n1 and 0 <= r[3] < n2


def test_l1_matches_trit_definition():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 243, (20, 76), dtype=np.uint8)
    b = rng.integers(0, 243, (30, 76), dtype=np.uint8)

    def trits(x):
        t = np.zeros((len(x), 380), np.int16)
        v = x.astype(np.int16)
        for m in range(4, -1, -1):
            t[:, m::5] = v % 3
            v //= 3
        return t

    ta, tb = trits(a), trits(b)
    want = np.abs(ta[:, None, :] - tb[None, :, :]).sum(-1)
    assert np.array_equal(native.l1_matrix(a, b), want)
    # bytes > 242 are read as 242
    c = a.copy()
    c[c == 242] = 250
    assert np.array_equal(native.l1_matrix(c, b), want)
