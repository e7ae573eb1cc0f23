"""One path each (issue 10): signature lists, the winner check for any signature length, aux_data, the
validator's native calls (threads passed on, shared fields broadcast by the C loops)."""

from __future__ import annotations

import numpy as np
import pytest

import lpcore
from lpcore import _native_pm, pm
from lpcore.pm import crypto, params, validator
from lpcore.pm.crypto import sig_rows


def _reference_win(sig: bytes, rand: int, prob: int) -> bool:
    return int.from_bytes(lpcore.keccak256(sig + rand.to_bytes(32, "big")), "big") < prob


@pytest.mark.parametrize("length", [0, 1, 64, 65, 66, 199, 200, 201, 300, 1000])
def test_winner_check_takes_any_signature_length(length: int) -> None:
    rng = np.random.default_rng(length)
    for k in range(8):
        sig = rng.integers(0, 256, length, dtype=np.uint8).tobytes()
        rand, prob = int(rng.integers(0, 2**62)) * (k + 1), pm.MAX_WIN_PROB // (k + 1)
        t = pm.Ticket(bytes(20), bytes(20), 1, prob, 0, bytes(32))
        want = _reference_win(sig, rand, prob)
        assert validator.Validator.is_winning_ticket(t, sig, rand) == want
        # mixed lengths in one ragged batch (the long ones take the native long-row path)
        batch = [sig, bytes(65), sig + b"x"]
        got = pm.is_winning_batch(batch, rand, prob).tolist()
        assert got == [_reference_win(s, rand, prob) for s in batch]


def test_sig_rows() -> None:
    arr, ok = sig_rows([bytes(65), b"\x01" * 64, bytearray(65)])
    assert arr.shape == (3, 65) and ok.tolist() == [True, False, True] and not arr[1].any()
    a = np.zeros((2, 65), np.uint8)
    same, ok = sig_rows(a)
    assert same is a and ok.tolist() == [True, True]
    with pytest.raises(TypeError, match=r"sigs\[0\]"):
        sig_rows(["x" * 65])


def test_aux_data_is_the_c_packers() -> None:
    h = bytes(range(32))
    t = pm.Ticket(bytes(20), bytes(20), 1, 1, 0, bytes(32), creation_round=7, creation_round_block_hash=h)
    assert params.aux_data(7, h) == t.aux_data() == (7).to_bytes(32, "big") + h
    assert t.hash() == lpcore.keccak256(_native_pm.ticket_one(*t._packed_fields(), preimage=True))
    assert params.aux_data(0, bytes(32)) == b"" and params.aux_data(0, h) != b""
    assert params.aux_data is pm.ticket.aux_data
    assert params.MAX_WIN_PROB is crypto.MAX_WIN_PROB and params.ZERO_HASH is pm.ticket.ZERO_HASH


def test_validator_passes_threads_and_one_row_for_shared_fields(monkeypatch) -> None:
    calls = []
    for name in ("verify_batch", "is_winning_batch", "ticket_hashes_columns"):
        real = getattr(validator, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            calls.append((_name, kwargs.get("threads"), [getattr(a, "shape", None) for a in args]))
            return _real(*args, **kwargs)
        monkeypatch.setattr(validator, name, spy)
    signer = pm.Signer(bytes(31) + b"\x07")
    n = 50
    hashes = pm.ticket_hashes_columns(bytes(20), signer.address, 5, 9, np.arange(n), bytes(32), 3, b"\x01" * 32)
    sigs = signer.sign_batch(hashes)
    res = validator.Validator(threads=2).validate_batch(
        recipient=bytes(20), sender=signer.address, face_value=5, win_prob=9, sender_nonces=list(range(n)),
        recipient_rand_hash=bytes(32), creation_round=3, creation_round_block_hash=b"\x01" * 32, sigs=sigs,
        recipient_rand=11)
    assert res.sig_valid.all() and np.array_equal(res.hashes, hashes)
    assert sorted(c[0] for c in calls) == ["is_winning_batch", "ticket_hashes_columns", "verify_batch"]
    assert all(c[1] == 2 for c in calls)
    winning = next(c for c in calls if c[0] == "is_winning_batch")
    assert winning[2][1:] == [(1, 32), (1, 32)]  # recipientRand and winProb: one row, broadcast natively
