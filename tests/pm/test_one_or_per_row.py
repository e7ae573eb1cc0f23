"""Arguments that may be "one value for every row or one per row" are never misread (issue 15 item 10)."""

from __future__ import annotations

import numpy as np
import pytest

from lpcore import pm

RNG = np.random.default_rng(1510)
N = 32
SIGS = RNG.integers(0, 256, (N, 65), dtype=np.uint8)
RAND = int.from_bytes(RNG.integers(0, 256, 32, dtype=np.uint8).tobytes(), "big")
PROB = pm.MAX_WIN_PROB // 2


def test_a_32_byte_array_for_one_recipient_rand_is_refused_not_misread() -> None:
    want = pm.is_winning_batch(SIGS, RAND, PROB)
    word = np.frombuffer(RAND.to_bytes(32, "big"), np.uint8)
    assert want.tolist() == pm.is_winning_batch(SIGS, word.reshape(1, 32), PROB).tolist()
    assert want.tolist() == pm.is_winning_batch(SIGS, RAND.to_bytes(32, "big"), PROB).tolist()
    with pytest.raises(ValueError, match="recipient_rands: a 1-D uint8 array is ambiguous"):
        pm.is_winning_batch(SIGS, word, PROB)  # (32,) with N = 32: used to be read as 32 integers
    with pytest.raises(ValueError, match="win_probs: a 1-D uint8 array is ambiguous"):
        pm.is_winning_batch(SIGS, RAND, np.frombuffer(PROB.to_bytes(32, "big"), np.uint8))


def test_one_int_per_row_still_works() -> None:
    rands = np.arange(N, dtype=np.int64)
    assert pm.is_winning_batch(SIGS, rands, PROB).tolist() == [
        bool(pm.is_winning_batch(SIGS[i:i + 1], i, PROB)[0]) for i in range(N)]


def test_ticket_columns_refuse_ambiguous_uint8_vectors() -> None:
    args = dict(recipient=bytes(20), sender=bytes(range(20)), face_value=10, win_prob=7, recipient_rand_hash=bytes(32))
    per_row = pm.ticket_hashes_columns(sender_nonce=np.arange(4, dtype=np.uint32), **args)
    assert per_row.shape == (4, 32)
    with pytest.raises(ValueError, match="sender_nonce: a 1-D uint8 array is ambiguous"):
        pm.ticket_hashes_columns(sender_nonce=np.arange(4, dtype=np.uint8), **args)
    with pytest.raises(ValueError, match="creation_round: a 1-D uint8 array is ambiguous"):
        pm.ticket_hashes_columns(sender_nonce=1, creation_round=np.zeros(8, np.uint8), **args)
    with pytest.raises(ValueError, match="face_value: a 1-D uint8 array is ambiguous"):
        pm.ticket_hashes_columns(**{**args, "face_value": np.zeros(32, np.uint8)}, sender_nonce=1)
    # the byte fields are (N, width) arrays or bytes; a bare (20,) array is a shape error, never N rows
    with pytest.raises(ValueError, match="recipient"):
        pm.ticket_hashes_columns(**{**args, "recipient": np.zeros(20, np.uint8)}, sender_nonce=np.arange(20))
    with pytest.raises(ValueError, match="senders"):
        pm.verify_batch(np.zeros((20, 32), np.uint8), np.zeros((20, 65), np.uint8), np.zeros(20, np.uint8))
