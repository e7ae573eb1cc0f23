"""The one way lpcore opens SQLite and runs a write transaction.

Everything durable in lpcore (the local broker and its chain, the redemption queue, the on-chain transaction
journal, reputation) lives in SQLite opened here: WAL (readers never block the writer), ``synchronous=FULL``
(a committed transaction survives power loss, not just SIGKILL), autocommit mode so transactions are explicit,
and a busy timeout so two processes sharing a file wait for each other instead of failing at once.

``transaction(db, lock)`` is ``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any exception): IMMEDIATE takes
the write lock up front, so a read-modify-write inside it sees the state no other process can change until it
commits.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

__all__ = ["BUSY_TIMEOUT_S", "connect", "transaction"]

#: How long a writer waits for another connection's write lock before SQLite raises "database is locked".
BUSY_TIMEOUT_S = 30.0


def connect(path: str | Path, *, timeout: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """A durable SQLite connection: WAL, ``synchronous=FULL``, explicit transactions, usable from any thread
    (callers serialise with their own lock). ``":memory:"`` gives a private in-memory database."""
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=timeout)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    return db


@contextmanager
def transaction(db: sqlite3.Connection, lock: threading.Lock | threading.RLock | None = None
                ) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back if the body raises; holds ``lock`` (if given) throughout."""
    with lock if lock is not None else nullcontext():
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
