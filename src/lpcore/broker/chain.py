"""A simulated chain clock: L1 blocks, rounds and round block hashes, advanced by the caller.

It plays go-livepeer's ``TimeManager`` (``eth/watchers/timewatcher.go``) and the RoundsManager contract
(spec/pm.md §9): ``current_round = block // round_length``; initializing a round stores
``blockhash(block - 1)`` for it (``RoundsManager.initializeRound``). Block hashes are simulated:
``sha256(b"lpcore-chain" ‖ seed ‖ u256(block))`` - never zero, unpredictable enough for a commit-reveal
demo, and reproducible for a given seed. With a ``path`` the state is kept in SQLite (WAL, one
transaction per advance), so a reopened chain continues where it stopped.

The database is the only copy of the state: every read is one indexed SELECT and every write reads and changes
it inside one ``BEGIN IMMEDIATE`` transaction (``l1_block = l1_block + ?``), so several ``Chain`` objects on
one file - in one process or several - always agree: a broker opened before another process advanced the
rounds sees the new round, and two processes each advancing 10 blocks advance 20. Only the round length and
the seed, fixed when the file is created, are kept in memory.

Block subscribers are called after the commit, in this process only (another process's advances notify that
process's subscribers), each inside its own ``try``: one subscriber's failure is logged and never stops the
others nor the advance, which has happened whatever a subscriber does.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from typing import Callable

from .._db import connect, transaction
from ..errors import BrokerArgumentError, BrokerRevert
from .base import ZERO_HASH, BlockSubscribers, TimeSource

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
        path: str | os.PathLike[str] | None = None,
        *,
        round_length: int = 50,
        start_block: int | None = None,
        seed: bytes = b"",
        auto_initialize: bool = True,
    ) -> None:
        if round_length < 1:
            raise BrokerArgumentError(f"round_length must be >= 1, got {round_length}")
        self._lock = threading.RLock()
        self._db = connect(":memory:" if path is None else path)
        self._db.executescript(_SCHEMA)
        # Reads outside a write use their own connection and lock. With one connection, a reader thread would
        # queue behind a writer thread waiting in BEGIN IMMEDIATE for the file lock - which a LocalBroker
        # transaction on the same file may hold while it reads the chain: a deadlock until the busy timeout.
        # A WAL reader needs no lock and sees the last commit. A private in-memory chain has no other writer.
        self._reader = self._db if path is None else connect(path)
        self._read_lock = self._lock if path is None else threading.Lock()
        self.auto_initialize = auto_initialize
        self._subscribers = BlockSubscribers()
        q = "SELECT round_length, seed, l1_block, last_initialized_round FROM chain_state"
        row = self._reader.execute(q).fetchone()
        # Opening an existing, initialized chain only reads; the write lock is taken to create it or to initialize
        # the round it is in.
        if row is None or (auto_initialize and row[3] < row[2] // row[0]):
            block = 10 * round_length if start_block is None else start_block
            with transaction(self._db, self._lock):
                # OR IGNORE: another process may create the file at the same time; the first one's values win.
                self._db.execute("INSERT OR IGNORE INTO chain_state VALUES (1, ?, 0, ?, ?)",
                                 (block, round_length, bytes(seed)))
                row = self._db.execute(q).fetchone()
                self.round_length, self.seed = row[0], bytes(row[1])
                if auto_initialize:
                    self._initialize(required=False)
        self.round_length, self.seed = row[0], bytes(row[1])

    def close(self) -> None:
        if self._reader is not self._db:
            self._reader.close()
        self._db.close()

    # -- reads (TimeSource) ----------------------------------------------------------------------------------

    def _state(self, tx: sqlite3.Connection | None = None) -> tuple[int, int]:
        """``(l1_block, last_initialized_round)``: as last committed, or as this chain's open transaction ``tx``
        has written it."""
        if tx is not None:
            return tx.execute("SELECT l1_block, last_initialized_round FROM chain_state").fetchone()
        with self._read_lock:
            return self._reader.execute("SELECT l1_block, last_initialized_round FROM chain_state").fetchone()

    def block_hash(self, block: int) -> bytes:
        """The simulated hash of L1 block ``block``."""
        return hashlib.sha256(b"lpcore-chain" + self.seed + block.to_bytes(32, "big")).digest()

    def last_seen_l1_block(self) -> int:
        return self._state()[0]

    def current_round(self) -> int:
        return self._state()[0] // self.round_length

    def last_initialized_round(self) -> int:
        return self._state()[1]

    def current_round_initialized(self) -> bool:
        block, lir = self._state()
        return lir == block // self.round_length

    def block_hash_for_round(self, round_: int) -> bytes:
        """``RoundsManager.blockHashForRound``: zero for a round that was never initialized."""
        with self._read_lock:
            row = self._reader.execute("SELECT hash FROM round_block_hash WHERE round = ?", (round_,)).fetchone()
        return ZERO_HASH if row is None else bytes(row[0])

    def last_initialized_l1_block_hash(self) -> bytes:
        return self.block_hash_for_round(self.last_initialized_round())

    def pre_last_initialized_l1_block_hash(self) -> bytes:
        return self.block_hash_for_round(self.last_initialized_round() - 1)

    # -- writes ----------------------------------------------------------------------------------------------

    def _initialize(self, *, required: bool) -> int | None:
        """Inside a transaction: ``initializeRound()`` if the current round is not initialized yet (else revert
        when ``required``). Returns the round initialized, or None."""
        block, lir = self._state(self._db)
        cur = block // self.round_length
        if not lir < cur:
            if required:
                raise BrokerRevert("round already initialized")
            return None
        self._db.execute("INSERT OR REPLACE INTO round_block_hash VALUES (?, ?)", (cur, self.block_hash(block - 1)))
        self._db.execute("UPDATE chain_state SET last_initialized_round = ?", (cur,))
        return cur

    def initialize_round(self) -> int:
        """``RoundsManager.initializeRound()``: store ``blockhash(block - 1)`` for the current round."""
        with transaction(self._db, self._lock):
            return self._initialize(required=True)

    def advance(self, blocks: int = 1) -> int:
        """Mine ``blocks`` L1 blocks (initializing a new round if ``auto_initialize``), then notify this
        process's subscribers; returns the new block number.

        The blocks are committed before any subscriber runs, so a subscriber's exception (a locked queue
        database, a bug) cannot undo or hide them: it is logged on the ``lpcore.broker`` logger and the remaining
        subscribers are still called. ``advance`` itself raises only if the chain's own transaction fails."""
        if isinstance(blocks, bool) or not isinstance(blocks, int):
            raise BrokerArgumentError(f"blocks must be an int, got {type(blocks).__name__}")
        if blocks < 0:
            raise BrokerArgumentError(f"blocks must be >= 0, got {blocks}")
        return self._mine(lambda block: blocks)

    def advance_rounds(self, rounds: int = 1) -> int:
        """Advance to the first block of the round ``rounds`` ahead (counted from the current round when the
        transaction runs); returns the new block number."""
        if isinstance(rounds, bool) or not isinstance(rounds, int):
            raise BrokerArgumentError(f"rounds must be an int, got {type(rounds).__name__}")
        if rounds < 0:
            raise BrokerArgumentError(f"rounds must be >= 0, got {rounds}")
        return self._mine(lambda block: max(0, (block // self.round_length + rounds) * self.round_length - block))

    def _mine(self, blocks_for: Callable[[int], int]) -> int:
        with transaction(self._db, self._lock):
            block = self._state(self._db)[0]
            self._db.execute("UPDATE chain_state SET l1_block = l1_block + ?", (blocks_for(block),))
            if self.auto_initialize:
                self._initialize(required=False)
            block = self._state(self._db)[0]
        self._subscribers.notify(block)
        return block

    def subscribe_l1_blocks(self, callback: Callable[[int], None]) -> Callable[[], None]:
        return self._subscribers.subscribe(callback)
