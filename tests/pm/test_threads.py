"""Thread-count invariance: every batch call returns identical bytes for any `threads`, with batches large
enough that the parallel paths (and partial four-row groups) really run."""

from __future__ import annotations

import numpy as np
import pytest

from lpcore import _native_pm, pm

THREADS = (None, 1, 2, 3, 7)
RNG = np.random.default_rng(77)
N_HASH = 65_537  # above the parallel threshold (csrc/pm/batch.h), not a multiple of four
N_SECP = 301


def same_for_all_threads(call) -> np.ndarray:
    results = [call(t) for t in THREADS]
    for r in results[1:]:
        assert np.array_equal(results[0], r)
    return results[0]


def test_ticket_hashes_columns() -> None:
    nonces = RNG.integers(0, 2**32, N_HASH)
    rounds = RNG.integers(0, 2, N_HASH)  # mixed 168/232-byte preimages
    fv = pm.to_u256([int(x) for x in RNG.integers(0, 2**63, N_HASH)])
    out = same_for_all_threads(lambda t: pm.ticket_hashes_columns(
        bytes(20), bytes(range(20)), fv, 7, nonces, bytes(32), rounds, bytes(32), threads=t))
    single = pm.Ticket(bytes(20), bytes(range(20)), pm.from_u256(fv[5:6])[0], 7, int(nonces[5]), bytes(32),
                       int(rounds[5]), bytes(32))
    assert out[5].tobytes() == single.hash()


def test_keccak_rows_and_personal_hashes() -> None:
    rows = RNG.integers(0, 256, (N_HASH, 97), dtype=np.uint8)
    same_for_all_threads(lambda t: _native_pm.keccak256_rows(rows, t))
    hashes = RNG.integers(0, 256, (N_HASH, 32), dtype=np.uint8)
    out = same_for_all_threads(lambda t: _native_pm.personal_hashes(hashes, t))
    assert out[17].tobytes() == pm.personal_hash(hashes[17].tobytes())


def test_signatures() -> None:
    signer = pm.Signer(RNG.bytes(32))
    hashes = RNG.integers(0, 256, (N_SECP, 32), dtype=np.uint8)
    sigs = same_for_all_threads(lambda t: signer.sign_batch(hashes, threads=t))
    bad = sigs.copy()
    bad[::3, 64] = 30  # every third row invalid
    addrs = same_for_all_threads(lambda t: pm.recover_batch(hashes, bad, threads=t))
    assert not addrs[::3].any() and (addrs[1::3] == np.frombuffer(signer.address, np.uint8)).all()
    valid = same_for_all_threads(lambda t: pm.verify_batch(hashes, bad, signer.address, threads=t))
    assert valid.sum() == N_SECP - len(range(0, N_SECP, 3))


@pytest.mark.parametrize("ragged", [False, True])
def test_winner_checks(ragged: bool) -> None:
    sigs = RNG.integers(0, 256, (N_HASH, 65), dtype=np.uint8)
    rands = RNG.integers(0, 256, (N_HASH, 32), dtype=np.uint8)
    probs = RNG.integers(0, 256, (N_HASH, 32), dtype=np.uint8)
    arg = [(s.tobytes() * 3)[: 1 + i % 190] for i, s in enumerate(sigs)] if ragged else sigs
    wins = same_for_all_threads(lambda t: pm.is_winning_batch(arg, rands, probs, threads=t))
    assert 0 < wins.sum() < N_HASH
