"""Durable result sinks for verification batches: JSON lines or SQLite, chosen by the output file's suffix.

A batch writes each pair's row the moment it arrives, so whatever was written survives the run being killed;
``resume=True`` reads the rows back and the batch skips those pairs. Both sinks refuse to overwrite a non-empty
output without ``resume`` (results are evidence; losing them silently is worse than asking).

- ``.jsonl`` / ``.ndjson``: one JSON object per line, flushed per row (a SIGKILL loses nothing written),
  fsynced about once a second and on close (power loss loses at most that second). A line cut short by a
  kill mid-write is dropped on resume (and cut from the file) so the pair is computed again; an exclusive
  ``flock`` keeps two batches from appending to one file at once.
- ``.sqlite`` / ``.sqlite3`` / ``.db``: a ``results`` table (one typed column per row field, primary key
  ``(reference, candidate)``), opened with :func:`lpcore._db.connect` and written one committed transaction per
  row (WAL, ``synchronous=FULL``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from .._db import connect, transaction
from ..errors import BatchError

__all__ = ["FIELDS", "Sink", "JsonlSink", "SqliteSink", "open_sink", "row_key"]

#: The keys of a result row, in the order they are written. ``tampered`` and ``score`` are present only when
#: ``lpcore.verify.detect`` is installed (they are left out, never faked, otherwise).
FIELDS = ("reference", "candidate", "match_code", "tampered", "score", "frames", "seconds", "error")

JSONL_SUFFIXES = (".jsonl", ".ndjson")
SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
FSYNC_INTERVAL_S = 1.0

Key = tuple[str, str]


def row_key(row: dict) -> Key:
    """The identity of a pair in an output: (reference, candidate) as the row names them."""
    return (row["reference"], row["candidate"])


class Sink:
    """Base of the sinks: ``previous`` holds the rows found at open (``resume=True``), keyed by
    :func:`row_key`; :meth:`write` stores one row durably and ignores a pair already stored (a pair is never in
    an output twice)."""

    path: Path
    previous: dict[Key, dict]

    def __init__(self) -> None:
        self.written: set[Key] = set()

    def has(self, key: Key) -> bool:
        return key in self.previous or key in self.written

    def write(self, row: dict) -> bool:
        """Stores ``row``; returns False (and stores nothing) when its pair is already in the output."""
        key = row_key(row)
        if self.has(key):
            return False
        self._write(row)
        self.written.add(key)
        return True

    def _write(self, row: dict) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _check_row(row: Any, where: str) -> dict:
    if (not isinstance(row, dict) or not isinstance(row.get("reference"), str)
            or not isinstance(row.get("candidate"), str) or not set(row) <= set(FIELDS)):
        raise BatchError(f"{where} is not a verification result row (keys {list(FIELDS)}); "
                         "refusing to resume into it")
    return row


class JsonlSink(Sink):
    def __init__(self, path: str | os.PathLike, *, resume: bool = False):
        super().__init__()
        import fcntl

        self.path = Path(path)
        self.lock = threading.Lock()
        try:
            self.file = open(self.path, "a+b")
        except OSError as e:
            raise BatchError(f"cannot open output {str(self.path)!r}: {e.strerror or e}") from None
        try:
            fcntl.flock(self.file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.file.close()
            raise BatchError(f"output {str(self.path)!r} is being written by another batch") from None
        try:
            self.previous = self._load(resume)
        except BaseException:
            self.file.close()
            raise
        self.last_sync = time.monotonic()

    def _load(self, resume: bool) -> dict[Key, dict]:
        self.file.seek(0)
        data = self.file.read()
        if not data:
            return {}
        if not resume:
            raise BatchError(f"output {str(self.path)!r} already holds results: pass --resume (resume=True) to "
                             "continue that batch, or choose another output")
        end = data.rfind(b"\n") + 1          # a last line without its newline was cut short by a kill
        rows: dict[Key, dict] = {}
        for number, line in enumerate(data[:end].splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise BatchError(f"{str(self.path)!r} line {number} is not JSON; refusing to resume into it") from None
            row = _check_row(row, f"{str(self.path)!r} line {number}")
            rows.setdefault(row_key(row), row)
        if end < len(data):
            self.file.truncate(end)
            os.fsync(self.file.fileno())
        return rows

    def _write(self, row: dict) -> None:
        line = json.dumps(row, allow_nan=False, separators=(",", ":")).encode() + b"\n"
        with self.lock:
            try:
                self.file.write(line)
                self.file.flush()            # in the kernel now: survives the process being killed
                now = time.monotonic()
                if now - self.last_sync >= FSYNC_INTERVAL_S:
                    os.fsync(self.file.fileno())
                    self.last_sync = now
            except OSError as e:             # disk full, I/O error: the run cannot record its results
                raise BatchError(f"cannot write to {str(self.path)!r}: {e.strerror or e}") from None

    def close(self) -> None:
        with self.lock:
            if self.file.closed:
                return
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()                # releases the flock


_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    reference  TEXT NOT NULL,
    candidate  TEXT NOT NULL,
    match_code INTEGER,
    tampered   INTEGER,
    score      REAL,
    frames     INTEGER,
    seconds    REAL,
    error      TEXT,
    detector   INTEGER NOT NULL,   -- 1: tampered/score are fields of this row (detect_tampering was available)
    PRIMARY KEY (reference, candidate)
)
"""


class SqliteSink(Sink):
    def __init__(self, path: str | os.PathLike, *, resume: bool = False):
        super().__init__()
        self.path = Path(path)
        self.lock = threading.Lock()
        try:
            self.db = connect(self.path)
            self.db.execute(_SCHEMA)
            cur = self.db.execute("SELECT reference, candidate, match_code, tampered, score, frames, seconds, "
                                  "error, detector FROM results")
            found = cur.fetchall()
        except sqlite3.DatabaseError as e:
            raise BatchError(f"output {str(self.path)!r} is not a usable SQLite results file: {e}") from None
        if found and not resume:
            self.db.close()
            raise BatchError(f"output {str(self.path)!r} already holds results: pass --resume (resume=True) to "
                             "continue that batch, or choose another output")
        self.previous = {}
        for ref, cand, code, tampered, score, frames, seconds, error, detector in found:
            row: dict[str, Any] = {"reference": ref, "candidate": cand, "match_code": code}
            if detector:
                row["tampered"] = None if tampered is None else bool(tampered)
                row["score"] = score
            row.update(frames=frames, seconds=seconds, error=error)
            self.previous[(ref, cand)] = row

    def _write(self, row: dict) -> None:
        tampered = row.get("tampered")
        values = (row["reference"], row["candidate"], row.get("match_code"),
                  None if tampered is None else int(bool(tampered)), row.get("score"), row.get("frames"),
                  row.get("seconds"), row.get("error"), int("tampered" in row))
        try:
            with transaction(self.db, self.lock):
                self.db.execute("INSERT OR IGNORE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
        except sqlite3.Error as e:           # disk full, locked past the busy timeout
            raise BatchError(f"cannot write to {str(self.path)!r}: {e}") from None

    def close(self) -> None:
        with self.lock:
            self.db.close()


def open_sink(path: str | os.PathLike, *, resume: bool = False) -> Sink:
    """The sink for an output path, by suffix: JSON lines (``.jsonl``, ``.ndjson``) or SQLite (``.sqlite``,
    ``.sqlite3``, ``.db``). Raises :class:`lpcore.errors.BatchError` for another suffix, an output that already
    holds results without ``resume``, or one that is not a results file."""
    suffix = Path(path).suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return JsonlSink(path, resume=resume)
    if suffix in SQLITE_SUFFIXES:
        return SqliteSink(path, resume=resume)
    raise BatchError(f"output {os.fspath(path)!r}: the suffix chooses the format; use one of "
                     f"{', '.join(JSONL_SUFFIXES + SQLITE_SUFFIXES)}")

