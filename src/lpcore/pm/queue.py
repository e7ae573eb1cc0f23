"""Durable queue of winning tickets awaiting redemption (spec/pm.md §7.2; go-livepeer ``pm/queue.go``,
``common/db.go`` table ``ticketQueue``).

Tickets are stored in SQLite (WAL, ``synchronous=FULL``) keyed by signature, in arrival order. On each new L1
block :meth:`RedemptionQueue.process` walks the queued tickets of the validity window (``creation_round >=
last_initialized_round - 2``) in arrival order and hands to ``redeem`` only those whose params have expired
(``params_expiration_block <= block``), so a revealed recipientRand can never be reused for fresh tickets.
A successful redemption or a non-retryable error marks the ticket done; other errors leave it queued for the
next block.

Differences from go-livepeer, on purpose (its defects, spec/chain.md §4.3, §4.6, §7):

- no head-of-line blocking: Go re-selects the *earliest* ticket ``n`` times per block, so one ticket that is not
  yet redeemable (or fails retryably) blocks the ones behind it; here each queued ticket is considered once per
  block, in arrival order;
- back-off: a retryable failure defers the ticket for 1, 2, 4, ... blocks (at most :data:`MAX_BACKOFF_BLOCKS`)
  instead of retrying it every block (``next_block``);
- a reverted transaction is not terminal by itself (go-livepeer drops a still-unused ticket on any
  "transaction failed", #4013): only the terminal reasons of :data:`TERMINAL_REASONS` and a used ticket are;
- every UPDATE is guarded by ``status = 'queued'``, so a ``redeemed`` row is never overwritten;
- a row that cannot be read back (corrupt field) is ``quarantined`` with the reason instead of making every pass
  raise.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Iterable

from .._db import BUSY_TIMEOUT_S, connect, transaction
from . import errors as E
from .ticket import Ticket

TICKET_VALIDITY_PERIOD = 2  # go-livepeer queue.go hard-codes it
#: Longest back-off between two attempts of one ticket (64 L1 blocks, about 13 minutes; a ticket stays valid for
#: two rounds, about 11 500 blocks, so the ticket is retried well over a hundred times before it expires).
MAX_BACKOFF_BLOCKS = 64

#: Revert reasons / errors after which a ticket can never be paid (spec/chain.md §8.12); everything else is
#: retried with back-off.
TERMINAL_REASONS = (
    "ticket is used", "ticket did not win", "invalid signature over ticket hash", "INVALID_SIGNATURE_LENGTH",
    "ECDSA: invalid signature", "recipientRand does not match recipientRandHash",
    "ticket creationRound does not have a block hash", "ticket creationRoundBlockHash invalid for creationRound",
    "ticket is expired", "ticket recipient is null address", "ticket sender is null address",
    "invalid length for ticket auxData",
)


def backoff_blocks(retries: int) -> int:
    """Blocks to wait after the ``retries``-th retryable failure: 1, 2, 4, ... capped at MAX_BACKOFF_BLOCKS."""
    return min(MAX_BACKOFF_BLOCKS, 1 << max(0, min(retries - 1, 16)))

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ticket_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sig BLOB NOT NULL UNIQUE,
    sender BLOB NOT NULL, recipient BLOB NOT NULL, face_value TEXT NOT NULL, win_prob TEXT NOT NULL,
    sender_nonce INTEGER NOT NULL, recipient_rand_hash BLOB NOT NULL, creation_round INTEGER NOT NULL,
    creation_round_block_hash BLOB NOT NULL, params_expiration_block TEXT NOT NULL,
    price_num TEXT NOT NULL, price_den TEXT NOT NULL, recipient_rand TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued', tx_hash BLOB, error TEXT, attempts INTEGER NOT NULL DEFAULT 0,
    next_block INTEGER NOT NULL DEFAULT 0
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
    deferred: int = 0                                 # waiting out a back-off
    quarantined: int = 0                              # rows that could not be read
    error: BaseException | None = None                # the pass itself failed (e.g. database locked)


def is_non_retryable(err: BaseException) -> bool:
    """go-livepeer ``isNonRetryableTicketErr`` without its #4013 defect: a used ticket or a terminal contract
    reason (:data:`TERMINAL_REASONS`) is final; a failed transaction with any other reason is retried."""
    msg = str(err)
    return isinstance(err, E.TicketUsed) or any(r in msg for r in TERMINAL_REASONS)


class RedemptionQueue:
    """The recipient's winning-ticket queue in SQLite at ``path``. Thread-safe."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._process_lock = threading.Lock()  # one redemption pass at a time
        self._db = connect(path, timeout=busy_timeout_s)
        self._db.executescript(_SCHEMA)
        cols = {r[1] for r in self._db.execute("PRAGMA table_info(ticket_queue)")}
        if "next_block" not in cols:  # a queue file made before back-off existed
            self._db.execute("ALTER TABLE ticket_queue ADD COLUMN next_block INTEGER NOT NULL DEFAULT 0")

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
        return self._readable(rows)

    def _readable(self, rows) -> list[SignedTicket]:
        out, bad = [], []
        for r in rows:
            try:
                out.append(self._row_ticket(r))
            except (ValueError, TypeError, ArithmeticError) as exc:  # a corrupt row must not stop the others
                bad.append((f"quarantined: unreadable row: {exc}", r[0]))
        if bad:
            with transaction(self._db, self._lock):
                self._db.executemany("UPDATE ticket_queue SET status = 'quarantined', error = ? "
                                     "WHERE id = ? AND status = 'queued'", bad)
            self.quarantined_total = getattr(self, "quarantined_total", 0) + len(bad)
        return out

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
        out = []
        for r in rows:
            try:
                out.append((self._row_ticket(r), r[14], r[15], r[16]))
            except (ValueError, TypeError, ArithmeticError):
                continue  # quarantined rows cannot be rebuilt as tickets
        return out

    def _mark(self, sig: bytes, status: str, tx_hash: bytes | None, error: str | None) -> None:
        with transaction(self._db, self._lock):
            self._db.execute(
                "UPDATE ticket_queue SET status = ?, tx_hash = ?, error = ?, attempts = attempts + 1 "
                "WHERE sig = ? AND status = 'queued'",
                (status, tx_hash, error, bytes(sig)),
            )

    def mark_redeemed(self, sig: bytes, tx_hash: bytes) -> None:
        self._mark(sig, "redeemed", bytes(tx_hash), None)

    def mark_failed(self, sig: bytes, error: str) -> None:
        self._mark(sig, "failed", None, error)

    def defer(self, sig: bytes, error: str, block: int) -> None:
        """A retryable failure at L1 block ``block``: keep the ticket queued, retry after the back-off."""
        with transaction(self._db, self._lock):
            row = self._db.execute("SELECT attempts FROM ticket_queue WHERE sig = ? AND status = 'queued'",
                                   (bytes(sig),)).fetchone()
            if row is None:
                return
            self._db.execute(
                "UPDATE ticket_queue SET attempts = attempts + 1, error = ?, next_block = ? "
                "WHERE sig = ? AND status = 'queued'", (error, block + backoff_blocks(row[0] + 1), bytes(sig)))

    def due(self, latest_l1_block: int, last_initialized_round: int,
            is_recipient_active: Callable[[bytes], bool] | None = None) -> tuple[list[SignedTicket], QueueRun]:
        """The queued tickets of the validity window that may be redeemed now, in arrival order: params expired,
        back-off over, recipient active. The returned :class:`QueueRun` counts the others."""
        run = QueueRun()
        q = (f"SELECT {self._COLS}, next_block FROM ticket_queue WHERE status = 'queued' AND creation_round >= ? "
             "ORDER BY id")
        with self._lock:
            rows = self._db.execute(q, (last_initialized_round - TICKET_VALIDITY_PERIOD,)).fetchall()
        waiting = {r[1] for r in rows if r[14] > latest_l1_block}
        before = getattr(self, "quarantined_total", 0)
        tickets = self._readable([r[:14] for r in rows])
        run.quarantined = getattr(self, "quarantined_total", 0) - before
        out = []
        active: dict[bytes, bool] = {}
        for st in tickets:
            if is_recipient_active is not None:
                r = st.ticket.recipient
                if r not in active:
                    active[r] = bool(is_recipient_active(r))
                if not active[r]:
                    run.inactive += 1
                    continue
            if st.ticket.params_expiration_block > latest_l1_block:
                run.not_expired += 1
                continue
            if st.sig in waiting:
                run.deferred += 1
                continue
            out.append(st)
        return out, run

    def process(
        self,
        latest_l1_block: int,
        last_initialized_round: int,
        redeem: Callable[[SignedTicket], bytes],
        is_recipient_active: Callable[[bytes], bool] | None = None,
    ) -> QueueRun:
        """One block's pass, one ticket at a time (see module docstring). ``redeem`` returns a tx hash or
        raises; a non-retryable error marks the ticket failed, any other defers it with back-off."""
        with self._process_lock:
            due, run = self.due(latest_l1_block, last_initialized_round, is_recipient_active)
            for st in due:
                try:
                    tx = redeem(st)
                except Exception as err:  # noqa: BLE001 - every redemption error is classified, as in Go
                    if is_non_retryable(err):
                        self.mark_failed(st.sig, str(err))
                        run.failed.append((st, err))
                    else:
                        self.defer(st.sig, str(err), latest_l1_block)
                        run.retry.append((st, err))
                    continue
                self.mark_redeemed(st.sig, tx)
                run.redeemed.append((st, tx))
            return run
