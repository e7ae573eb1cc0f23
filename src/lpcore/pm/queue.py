"""Durable queue of winning tickets awaiting redemption (spec/pm.md §7.2; go-livepeer ``pm/queue.go``,
``common/db.go`` table ``ticketQueue``).

Tickets are stored in SQLite (WAL, ``synchronous=FULL``) keyed by signature, in arrival order. On each new L1
block :meth:`RedemptionQueue.process` walks the queued tickets of the validity window (``creation_round >=
last_initialized_round - 2``) in arrival order and hands to ``redeem`` only those whose params have expired
(``params_expiration_block <= block``), so a revealed recipientRand can never be reused for fresh tickets.
A successful redemption or a non-retryable error marks the ticket done; other errors leave it queued for the
next block.

Difference from go-livepeer, on purpose: Go re-selects the *earliest* ticket ``n`` times per block, so one
ticket that is not yet redeemable (or fails retryably) blocks the ones behind it for that block; here each
queued ticket is considered once per block, in the same order. Which tickets are eventually redeemed is the same.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Iterable

from .._db import connect, transaction
from . import errors as E
from .ticket import Ticket

TICKET_VALIDITY_PERIOD = 2  # go-livepeer queue.go hard-codes it

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ticket_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sig BLOB NOT NULL UNIQUE,
    sender BLOB NOT NULL, recipient BLOB NOT NULL, face_value TEXT NOT NULL, win_prob TEXT NOT NULL,
    sender_nonce INTEGER NOT NULL, recipient_rand_hash BLOB NOT NULL, creation_round INTEGER NOT NULL,
    creation_round_block_hash BLOB NOT NULL, params_expiration_block TEXT NOT NULL,
    price_num TEXT NOT NULL, price_den TEXT NOT NULL, recipient_rand TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued', tx_hash BLOB, error TEXT, attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ticket_queue_status ON ticket_queue (status, sender, creation_round);
"""


@dataclass(frozen=True)
class SignedTicket:
    """A ticket with its signature and the revealed recipientRand (go-livepeer ``SignedTicket``)."""

    ticket: object
    sig: bytes
    recipient_rand: int

    @property
    def sender(self) -> bytes:
        return self.ticket.sender


@dataclass
class QueueRun:
    """What one :meth:`RedemptionQueue.process` pass did."""

    redeemed: list = field(default_factory=list)      # (SignedTicket, tx_hash)
    failed: list = field(default_factory=list)        # (SignedTicket, error) non-retryable
    retry: list = field(default_factory=list)         # (SignedTicket, error) left queued
    not_expired: int = 0
    inactive: int = 0


def is_non_retryable(err: BaseException) -> bool:
    """go-livepeer ``isNonRetryableTicketErr``."""
    msg = str(err)
    return (
        isinstance(err, E.TicketUsed)
        or "transaction failed" in msg
        or "ticket creationRound does not have a block hash" in msg
    )


class RedemptionQueue:
    """The recipient's winning-ticket queue in SQLite at ``path``. Thread-safe."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._process_lock = threading.Lock()  # one redemption pass at a time
        self._db = connect(path)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def add(self, ticket: SignedTicket) -> bool:
        return self.add_many([ticket]) == 1

    def add_many(self, tickets: Iterable[SignedTicket]) -> int:
        """Store tickets in one transaction; a signature already queued is ignored. Returns rows added."""
        rows = []
        for st in tickets:
            t = st.ticket
            price = Fraction(t.price_per_pixel)
            rows.append((
                bytes(st.sig), t.sender, t.recipient, str(t.face_value), str(t.win_prob), t.sender_nonce,
                t.recipient_rand_hash, t.creation_round, t.creation_round_block_hash, str(t.params_expiration_block),
                str(price.numerator), str(price.denominator), str(st.recipient_rand),
            ))
        if not rows:
            return 0
        with transaction(self._db, self._lock):
            before = self._db.total_changes
            self._db.executemany(
                "INSERT OR IGNORE INTO ticket_queue (sig, sender, recipient, face_value, win_prob, sender_nonce, "
                "recipient_rand_hash, creation_round, creation_round_block_hash, params_expiration_block, "
                "price_num, price_den, recipient_rand) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            added = self._db.total_changes - before
        return added

    @staticmethod
    def _row_ticket(r) -> SignedTicket:
        t = Ticket(
            recipient=bytes(r[3]), sender=bytes(r[2]), face_value=int(r[4]), win_prob=int(r[5]), sender_nonce=r[6],
            recipient_rand_hash=bytes(r[7]), creation_round=r[8], creation_round_block_hash=bytes(r[9]),
            params_expiration_block=int(r[10]), price_per_pixel=Fraction(int(r[11]), int(r[12])),
        )
        return SignedTicket(t, bytes(r[1]), int(r[13]))

    _COLS = ("id, sig, sender, recipient, face_value, win_prob, sender_nonce, recipient_rand_hash, creation_round, "
             "creation_round_block_hash, params_expiration_block, price_num, price_den, recipient_rand")

    def queued(self, sender: bytes | None = None, min_creation_round: int | None = None) -> list[SignedTicket]:
        """Unredeemed tickets in arrival order (optionally one sender's, optionally within the window)."""
        q = f"SELECT {self._COLS} FROM ticket_queue WHERE status = 'queued'"
        args: list = []
        if sender is not None:
            q += " AND sender = ?"
            args.append(bytes(sender))
        if min_creation_round is not None:
            q += " AND creation_round >= ?"
            args.append(min_creation_round)
        with self._lock:
            rows = self._db.execute(q + " ORDER BY id", args).fetchall()
        return [self._row_ticket(r) for r in rows]

    def length(self, sender: bytes, last_initialized_round: int) -> int:
        with self._lock:
            return self._db.execute(
                "SELECT COUNT(*) FROM ticket_queue WHERE status = 'queued' AND sender = ? AND creation_round >= ?",
                (bytes(sender), last_initialized_round - TICKET_VALIDITY_PERIOD),
            ).fetchone()[0]

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._db.execute("SELECT status, COUNT(*) FROM ticket_queue GROUP BY status").fetchall())

    def all_tickets(self) -> list[tuple[SignedTicket, str, bytes | None, str | None]]:
        """Every stored ticket with ``(status, tx_hash, error)``, in arrival order."""
        with self._lock:
            rows = self._db.execute(f"SELECT {self._COLS}, status, tx_hash, error FROM ticket_queue ORDER BY id").fetchall()
        return [(self._row_ticket(r), r[14], r[15], r[16]) for r in rows]

    def _mark(self, sig: bytes, status: str, tx_hash: bytes | None, error: str | None) -> None:
        with transaction(self._db, self._lock):
            self._db.execute(
                "UPDATE ticket_queue SET status = ?, tx_hash = ?, error = ?, attempts = attempts + 1 "
                "WHERE sig = ? AND status = 'queued'",
                (status, tx_hash, error, sig),
            )

    def process(
        self,
        latest_l1_block: int,
        last_initialized_round: int,
        redeem: Callable[[SignedTicket], bytes],
        is_recipient_active: Callable[[bytes], bool] | None = None,
    ) -> QueueRun:
        """One block's pass (see module docstring). ``redeem`` returns a tx hash or raises."""
        with self._process_lock:
            return self._process(latest_l1_block, last_initialized_round, redeem, is_recipient_active)

    def _process(self, latest_l1_block, last_initialized_round, redeem, is_recipient_active) -> QueueRun:
        run = QueueRun()
        for st in self.queued(min_creation_round=last_initialized_round - TICKET_VALIDITY_PERIOD):
            if is_recipient_active is not None and not is_recipient_active(st.ticket.recipient):
                run.inactive += 1
                continue
            if st.ticket.params_expiration_block > latest_l1_block:
                run.not_expired += 1
                continue
            try:
                tx = redeem(st)
            except Exception as err:  # noqa: BLE001 - every redemption error is classified, as in Go
                if is_non_retryable(err):
                    self._mark(st.sig, "failed", None, str(err))
                    run.failed.append((st, err))
                else:
                    with self._lock:
                        self._db.execute("UPDATE ticket_queue SET attempts = attempts + 1, error = ? WHERE sig = ?",
                                         (str(err), st.sig))
                    run.retry.append((st, err))
                continue
            self._mark(st.sig, "redeemed", tx, None)
            run.redeemed.append((st, tx))
        return run
