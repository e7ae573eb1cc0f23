"""The simulated chain clock (RoundsManager / TimeWatcher stand-in)."""

from __future__ import annotations

import pytest

from lpcore import BrokerRevert
from lpcore.broker import Chain


def test_rounds_and_block_hashes(tmp_path):
    c = Chain(tmp_path / "c.db", round_length=50, start_block=1234, seed=b"s")
    assert c.last_seen_l1_block() == 1234 and c.current_round() == 24 and c.last_initialized_round() == 24
    # initializeRound stores blockhash(block - 1) for the round
    assert c.block_hash_for_round(24) == c.block_hash(1233) != b"\0" * 32
    assert c.last_initialized_l1_block_hash() == c.block_hash(1233)
    assert c.pre_last_initialized_l1_block_hash() == b"\0" * 32  # round 23 never initialized
    seen = []
    unsub = c.subscribe_l1_blocks(seen.append)
    assert c.advance(16) == 1250 and seen == [1250]
    assert c.current_round() == 25 and c.last_initialized_round() == 25
    assert c.pre_last_initialized_l1_block_hash() == c.block_hash(1233)
    unsub()
    c.advance_rounds(2)
    assert c.last_seen_l1_block() == 1350 and seen == [1250]
    assert c.block_hash_for_round(26) == b"\0" * 32  # skipped rounds are never initialized
    with pytest.raises(BrokerRevert, match="^round already initialized$"):
        c.initialize_round()
    with pytest.raises(ValueError, match="blocks"):
        c.advance(-1)
    # a different seed simulates a different chain
    assert Chain(seed=b"t").block_hash(1233) != c.block_hash(1233)


def test_manual_initialization_and_persistence(tmp_path):
    c = Chain(tmp_path / "c.db", round_length=10, start_block=100, auto_initialize=False)
    assert c.last_initialized_round() == 0 and not c.current_round_initialized()
    c.initialize_round()
    assert c.current_round_initialized()
    c.advance(25)
    assert c.current_round() == 12 and not c.current_round_initialized()
    c.close()
    c2 = Chain(tmp_path / "c.db", round_length=999, auto_initialize=False)  # stored round length wins
    assert (c2.last_seen_l1_block(), c2.round_length, c2.last_initialized_round()) == (125, 10, 10)
    assert c2.block_hash_for_round(10) == c2.block_hash(99)
    with pytest.raises(ValueError, match="round_length"):
        Chain(round_length=0)
