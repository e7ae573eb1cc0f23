"""A simulated chain clock: L1 blocks, rounds and round block hashes, advanced by the caller.

It plays go-livepeer's ``TimeManager`` (``eth/watchers/timewatcher.go``) and the RoundsManager contract
(spec/pm.md §9): ``current_round = block // round_length``; initializing a round stores
``blockhash(block - 1)`` for it (``RoundsManager.initializeRound``). Block hashes are simulated:
``sha256(b"lpcore-chain" ‖ seed ‖ u256(block))`` - never zero, unpredictable enough for a commit-reveal
demo, and reproducible for a given seed. With a ``path`` the state is kept in SQLite (WAL, one
transaction per advance), so a reopened chain continues where it stopped.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Callable

from .._db import connect, transaction
from ..errors import BrokerRevert
from .base import ZERO_HASH, TimeSource

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chain_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    l1_block INTEGER NOT NULL,
    last_initialized_round INTEGER NOT NULL,
    round_length INTEGER NOT NULL,
    seed BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS round_block_hash (
    round INTEGER PRIMARY KEY,
    hash BLOB NOT NULL
);
"""


class Chain(TimeSource):
    """Simulated L1 blocks and Livepeer rounds (see module docstring)."""

    def __init__(
        self,
        path=None,
        *,
        round_length: int = 50,
        start_block: int | None = None,
        seed: bytes = b"",
        auto_initialize: bool = True,
    ):
        if round_length < 1:
            raise ValueError(f"round_length must be >= 1, got {round_length}")
        self._lock = threading.RLock()
        self._db = connect(":memory:" if path is None else path)
        self._db.executescript(_SCHEMA)
        self.auto_initialize = auto_initialize
        self._subscribers: list[Callable[[int], None]] = []
        row = self._db.execute("SELECT l1_block, last_initialized_round, round_length, seed FROM chain_state").fetchone()
        if row is None:
            block = 10 * round_length if start_block is None else start_block
            with transaction(self._db):
                self._db.execute(
                    "INSERT INTO chain_state VALUES (1, ?, 0, ?, ?)", (block, round_length, bytes(seed))
                )
            row = (block, 0, round_length, bytes(seed))
        self._block, self._lir, self.round_length, self.seed = row[0], row[1], row[2], bytes(row[3])
        self._hashes = dict(self._db.execute("SELECT round, hash FROM round_block_hash").fetchall())
        if auto_initialize and self.current_round() > self._lir:
            self.initialize_round()

    def close(self) -> None:
        self._db.close()

    # -- reads (TimeSource) ----------------------------------------------------------------------------------

    def block_hash(self, block: int) -> bytes:
        """The simulated hash of L1 block ``block``."""
        return hashlib.sha256(b"lpcore-chain" + self.seed + block.to_bytes(32, "big")).digest()

    def last_seen_l1_block(self) -> int:
        return self._block

    def current_round(self) -> int:
        return self._block // self.round_length

    def last_initialized_round(self) -> int:
        return self._lir

    def current_round_initialized(self) -> bool:
        return self._lir == self.current_round()

    def block_hash_for_round(self, round_: int) -> bytes:
        """``RoundsManager.blockHashForRound``: zero for a round that was never initialized."""
        return bytes(self._hashes.get(round_, ZERO_HASH))

    def last_initialized_l1_block_hash(self) -> bytes:
        return self.block_hash_for_round(self._lir)

    def pre_last_initialized_l1_block_hash(self) -> bytes:
        return self.block_hash_for_round(self._lir - 1)

    # -- writes ----------------------------------------------------------------------------------------------

    def initialize_round(self) -> int:
        """``RoundsManager.initializeRound()``: store ``blockhash(block - 1)`` for the current round."""
        with self._lock:
            cur = self.current_round()
            if not self._lir < cur:
                raise BrokerRevert("round already initialized")
            h = self.block_hash(self._block - 1)
            with transaction(self._db):
                self._db.execute("INSERT OR REPLACE INTO round_block_hash VALUES (?, ?)", (cur, h))
                self._db.execute("UPDATE chain_state SET last_initialized_round = ?", (cur,))
            self._hashes[cur] = h
            self._lir = cur
            return cur

    def advance(self, blocks: int = 1) -> int:
        """Mine ``blocks`` L1 blocks (initializing a new round if ``auto_initialize``), notify subscribers,
        return the new block number."""
        if blocks < 0:
            raise ValueError(f"blocks must be >= 0, got {blocks}")
        with self._lock:
            with transaction(self._db):
                self._db.execute("UPDATE chain_state SET l1_block = ?", (self._block + blocks,))
            self._block += blocks
            if self.auto_initialize and self.current_round() > self._lir:
                self.initialize_round()
            block = self._block
            subscribers = list(self._subscribers)
        for fn in subscribers:
            fn(block)
        return block

    def advance_rounds(self, rounds: int = 1) -> int:
        """Advance to the first block of the round ``rounds`` ahead; returns the new block number."""
        target = (self.current_round() + rounds) * self.round_length
        return self.advance(target - self._block)

    def subscribe_l1_blocks(self, callback: Callable[[int], None]) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe
