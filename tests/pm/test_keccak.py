"""keccak-256: fixed vectors, pycryptodome / safe-pysha3 oracles at every block-boundary length, bulk inputs,
batched rows, and argument errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from Crypto.Hash import keccak as cd_keccak
from hypothesis import given, settings
from hypothesis import strategies as st

import lpcore
from lpcore import _native_pm

from tests._shared import vector_path

VECTORS = json.loads(vector_path("pm_vectors.json").read_text())


def oracle(data: bytes) -> bytes:
    return cd_keccak.new(data=data, digest_bits=256).digest()


def test_known_digests() -> None:
    # keccak256("") is Ethereum's well-known empty hash; keccak256("foo") is the spec's constant.
    assert lpcore.keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert lpcore.keccak256(b"foo").hex() == VECTORS["constants"]["keccak256_foo"]


def test_is_not_sha3_256() -> None:
    import hashlib

    assert lpcore.keccak256(b"abc") != hashlib.sha3_256(b"abc").digest()


@pytest.mark.parametrize("length", [0, 1, 31, 32, 33, 63, 64, 65, 134, 135, 136, 137, 271, 272, 273, 408, 1000])
def test_block_boundaries(length: int) -> None:
    data = bytes((i * 131 + 7) & 0xFF for i in range(length))
    assert lpcore.keccak256(data) == oracle(data)


def test_against_safe_pysha3() -> None:
    sha3 = pytest.importorskip("sha3")
    for length in range(0, 600, 7):
        data = bytes(range(256)) * 3
        assert lpcore.keccak256(data[:length]) == sha3.keccak_256(data[:length]).digest()


def test_bulk_multi_megabyte() -> None:
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, size=(3 << 20) + 77, dtype=np.uint8).tobytes()
    assert lpcore.keccak256(data) == oracle(data)
    assert lpcore.keccak256(bytearray(data)) == oracle(data)
    assert lpcore.keccak256(memoryview(data)[5:]) == oracle(data[5:])


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=700))
def test_random_inputs(data: bytes) -> None:
    assert lpcore.keccak256(data) == oracle(data)


@pytest.mark.parametrize("width", [0, 1, 32, 97, 136, 300])
@pytest.mark.parametrize("threads", [1, 2, 3, None])
def test_rows(width: int, threads: int) -> None:
    rng = np.random.default_rng(width)
    rows = rng.integers(0, 256, size=(300, width), dtype=np.uint8)
    out = _native_pm.keccak256_rows(rows, threads)
    assert out.shape == (300, 32) and out.dtype == np.uint8
    assert [bytes(r) for r in out] == [oracle(bytes(r)) for r in rows]


def test_ragged_rows() -> None:
    rng = np.random.default_rng(5)
    lengths = rng.integers(0, 400, size=500)
    data = rng.integers(0, 256, size=int(lengths.sum()), dtype=np.uint8)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    out = _native_pm.keccak256_ragged(data, offsets)
    expect = [oracle(data[offsets[i] : offsets[i + 1]].tobytes()) for i in range(500)]
    assert [bytes(r) for r in out] == expect
    with pytest.raises(ValueError, match="offsets"):
        _native_pm.keccak256_ragged(data, np.array([0, 5, 3], dtype=np.int64))
    with pytest.raises(ValueError, match="offsets"):
        _native_pm.keccak256_ragged(data, np.array([0, data.size + 1], dtype=np.int64))
    with pytest.raises(ValueError, match="offsets"):
        _native_pm.keccak256_ragged(data, np.array([-1, 2], dtype=np.int64))


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="str"):
        lpcore.keccak256("abc")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="data"):
        lpcore.keccak256(12)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="contiguous"):
        lpcore.keccak256(memoryview(b"abcdef")[::2])
    with pytest.raises(TypeError, match="rows"):
        _native_pm.keccak256_rows([[1, 2]])
    with pytest.raises(TypeError, match="uint8"):
        _native_pm.keccak256_rows(np.zeros((2, 3), dtype=np.int16))
    with pytest.raises(ValueError, match="shape"):
        _native_pm.keccak256_rows(np.zeros(3, dtype=np.uint8))
    with pytest.raises(ValueError, match="contiguous"):
        _native_pm.keccak256_rows(np.zeros((4, 6), dtype=np.uint8)[:, ::2])


def test_portable_and_bmi_permutations_agree() -> None:
    """Both compiled variants of the permutation (run-time dispatch) against the oracle."""
    rng = np.random.default_rng(8)
    data = rng.integers(0, 256, 5000, dtype=np.uint8).tobytes()
    try:
        _native_pm._keccak_force_portable(True)
        portable = [lpcore.keccak256(data[:n]) for n in range(0, 5000, 97)]
    finally:
        _native_pm._keccak_force_portable(False)
    fast = [lpcore.keccak256(data[:n]) for n in range(0, 5000, 97)]
    assert portable == fast == [oracle(data[:n]) for n in range(0, 5000, 97)]


def test_four_wide_batches_equal_one_at_a_time() -> None:
    """Batch paths hash rows four at a time where AVX2 exists; the portable path one at a time. Same bytes."""
    from lpcore import pm

    rng = np.random.default_rng(12)
    n = 1003  # not a multiple of four: the last group is partial
    sigs = rng.integers(0, 256, (n, 65), dtype=np.uint8)
    rands = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    probs = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    rounds = rng.integers(0, 3, n)  # mixes 168- and 232-byte preimages inside groups
    ragged = [rng.bytes(int(k)) for k in rng.integers(0, 300, 41)]

    def run() -> list:
        return [
            pm.is_winning_batch(sigs, rands, probs),
            pm.is_winning_batch(ragged, 7, pm.MAX_WIN_PROB // 2),
            pm.ticket_hashes_columns(bytes(20), bytes(20), 1, 2, np.arange(n), bytes(32), rounds, bytes(32)),
            _native_pm.personal_hashes(rands),
            _native_pm.keccak256_rows(sigs),
        ]

    try:
        _native_pm._keccak_force_portable(True)
        portable = run()
    finally:
        _native_pm._keccak_force_portable(False)
    for a, b in zip(portable, run()):
        assert np.array_equal(a, b)
    assert [bytes(r) for r in portable[4]] == [oracle(bytes(s)) for s in sigs]
