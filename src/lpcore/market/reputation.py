"""A durable per-orchestrator record: jobs, failures by class, latency distribution, verification results,
suspensions, swaps and money paid, in SQLite (``lpcore._db``).

The gateway's code paths write it (job outcomes, :class:`~lpcore.verify.Verifier` verdicts through
``record_verdict``, suspensions, swaps) and the selection policies read it. Reads come from an in-memory copy
loaded at open and kept in step with every committed write, so a policy can read it per decision at no I/O
cost; every write is one ``BEGIN IMMEDIATE`` transaction, so the record survives a crash or restart.

Latency is kept as a histogram over fixed log-spaced buckets (``LATENCY_BUCKETS_S``), enough for quantiles
(p50, p95) without storing every sample.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import _db

__all__ = ["Reputation", "Record", "LATENCY_BUCKETS_S"]

#: Upper bounds (seconds) of the latency histogram buckets; the last bucket is open-ended.
LATENCY_BUCKETS_S = tuple(round(0.05 * 1.25**i, 4) for i in range(32))   # 50 ms ... ~50 s

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orchestrators (
    address TEXT PRIMARY KEY,
    jobs INTEGER NOT NULL DEFAULT 0,
    successes INTEGER NOT NULL DEFAULT 0,
    verified_pass INTEGER NOT NULL DEFAULT 0,
    verified_fail INTEGER NOT NULL DEFAULT 0,
    suspensions INTEGER NOT NULL DEFAULT 0,
    swaps INTEGER NOT NULL DEFAULT 0,
    paid_wei TEXT NOT NULL DEFAULT '0'
);
CREATE TABLE IF NOT EXISTS failures (
    address TEXT NOT NULL, class TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (address, class)
);
CREATE TABLE IF NOT EXISTS latency (
    address TEXT NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (address, bucket)
);
CREATE TABLE IF NOT EXISTS verifications (
    address TEXT NOT NULL, detector TEXT NOT NULL, passed INTEGER NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (address, detector, passed)
);
"""


@dataclass
class Record:
    """What the gateway knows about one orchestrator."""

    address: str
    jobs: int = 0
    successes: int = 0
    failures: dict[str, int] = field(default_factory=dict)      # failure class -> count
    latency_hist: dict[int, int] = field(default_factory=dict)  # bucket index -> count
    verified_pass: int = 0
    verified_fail: int = 0
    by_detector: dict[tuple[str, bool], int] = field(default_factory=dict)
    suspensions: int = 0
    swaps: int = 0
    paid_wei: int = 0

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def latency_quantile(self, q: float) -> float | None:
        """Upper bound of the bucket holding quantile ``q`` of the recorded latencies (None if none)."""
        n = sum(self.latency_hist.values())
        if n == 0:
            return None
        rank, seen = q * n, 0
        for b in sorted(self.latency_hist):
            seen += self.latency_hist[b]
            if seen >= rank:
                return LATENCY_BUCKETS_S[min(b, len(LATENCY_BUCKETS_S) - 1)]
        return LATENCY_BUCKETS_S[-1]


def _bucket(latency_s: float) -> int:
    return bisect.bisect_left(LATENCY_BUCKETS_S, latency_s)


class Reputation:
    """Per-orchestrator reputation in SQLite at ``path`` (``":memory:"`` for a throwaway one)."""

    def __init__(self, path: str | Path = ":memory:"):
        self.path = path
        self._lock = threading.RLock()
        self._db = _db.connect(path)
        self._db.executescript(_SCHEMA)
        self._records: dict[str, Record] = {}
        self._load()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Reputation:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _load(self) -> None:
        db = self._db
        for a, jobs, succ, vp, vf, sus, sw, paid in db.execute("SELECT * FROM orchestrators"):
            self._records[a] = Record(a, jobs, succ, verified_pass=vp, verified_fail=vf, suspensions=sus, swaps=sw,
                                      paid_wei=int(paid))
        for a, cls, n in db.execute("SELECT address, class, count FROM failures"):
            self._rec(a).failures[cls] = n
        for a, b, n in db.execute("SELECT address, bucket, count FROM latency"):
            self._rec(a).latency_hist[b] = n
        for a, det, passed, n in db.execute("SELECT address, detector, passed, count FROM verifications"):
            self._rec(a).by_detector[(det, bool(passed))] = n

    def _rec(self, address: str) -> Record:
        r = self._records.get(address)
        if r is None:
            r = self._records[address] = Record(address)
        return r

    def get(self, address: str) -> Record:
        """The record of ``address`` (an empty one if never seen)."""
        with self._lock:
            return self._records.get(str(address)) or Record(str(address))

    def addresses(self) -> list[str]:
        with self._lock:
            return sorted(self._records)

    # -- writes -------------------------------------------------------------------------------------------------

    def _upsert(self, db, address: str, **add: int) -> None:
        db.execute("INSERT OR IGNORE INTO orchestrators (address) VALUES (?)", (address,))
        for col, n in add.items():
            if col == "paid_wei":  # decimal text: wei totals exceed SQLite's int64
                if not n:
                    continue
                row = db.execute("SELECT paid_wei FROM orchestrators WHERE address = ?", (address,)).fetchone()
                db.execute("UPDATE orchestrators SET paid_wei = ? WHERE address = ?",
                           (str(int(row[0]) + n), address))
            else:
                db.execute(f"UPDATE orchestrators SET {col} = {col} + ? WHERE address = ?", (n, address))

    def record_job(self, address: str, *, ok: bool, latency_s: float | None = None, failure: str | None = None,
                   paid_wei: int = 0) -> None:
        """One job (segment) sent to ``address``: ``ok``, or failed with class ``failure`` (e.g. ``"error"``,
        ``"timeout"``, ``"capacity"``); its latency and the wei paid for it."""
        address = str(address)
        if not ok and not failure:
            failure = "error"
        with _db.transaction(self._db, self._lock) as db:
            self._upsert(db, address, jobs=1, successes=int(ok), paid_wei=int(paid_wei))
            if not ok:
                db.execute("INSERT INTO failures VALUES (?, ?, 1) ON CONFLICT (address, class) "
                           "DO UPDATE SET count = count + 1", (address, failure))
            if latency_s is not None:
                db.execute("INSERT INTO latency VALUES (?, ?, 1) ON CONFLICT (address, bucket) "
                           "DO UPDATE SET count = count + 1", (address, _bucket(latency_s)))
        r = self._rec(address)
        r.jobs += 1
        r.successes += int(ok)
        r.paid_wei += int(paid_wei)
        if not ok:
            r.failures[failure] = r.failures.get(failure, 0) + 1  # type: ignore[index]
        if latency_s is not None:
            b = _bucket(latency_s)
            r.latency_hist[b] = r.latency_hist.get(b, 0) + 1

    def record_verification(self, address: str, passed: bool, detector: str = "mpeg7") -> None:
        address = str(address)
        with _db.transaction(self._db, self._lock) as db:
            self._upsert(db, address, **({"verified_pass": 1} if passed else {"verified_fail": 1}))
            db.execute("INSERT INTO verifications VALUES (?, ?, ?, 1) ON CONFLICT (address, detector, passed) "
                       "DO UPDATE SET count = count + 1", (address, detector, int(passed)))
        r = self._rec(address)
        if passed:
            r.verified_pass += 1
        else:
            r.verified_fail += 1
        r.by_detector[(detector, passed)] = r.by_detector.get((detector, passed), 0) + 1

    def record_verdict(self, verdict: Any, detector: str | None = None) -> None:
        """Every untrusted orchestrator a :class:`~lpcore.verify.Verdict` judged: passed or failed, under
        ``detector`` (default: the verdict's own, the Verifier's detector)."""
        detector = detector or getattr(verdict, "detector", None) or "mpeg7"
        for o in verdict.passed:
            self.record_verification(o, True, detector)
        for o in verdict.failures:
            if o != verdict.trusted:
                self.record_verification(o, False, detector)

    def on_verdict(self, verdict: Any) -> None:
        """So a Reputation can be given to ``Verifier(report=...)`` directly."""
        self.record_verdict(verdict)

    def record_suspension(self, address: str) -> None:
        self._count(address, "suspensions")

    def record_swap(self, address: str) -> None:
        """``address`` was swapped away from (it failed, or lost its place)."""
        self._count(address, "swaps")

    def _count(self, address: str, col: str) -> None:
        address = str(address)
        with _db.transaction(self._db, self._lock) as db:
            self._upsert(db, address, **{col: 1})
        r = self._rec(address)
        setattr(r, col, getattr(r, col) + 1)

    def records(self, addresses: Iterable[str] | None = None) -> list[Record]:
        with self._lock:
            keys = self._records if addresses is None else [str(a) for a in addresses]
            return [self.get(a) for a in keys]
