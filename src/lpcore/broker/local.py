"""The embedded TicketBroker: a SQLite model of Livepeer's TicketBroker contract (spec/pm.md §7.4-§7.7).

Every state change (funding, unlock, withdraw, each redemption, each batch) is one SQLite transaction in WAL
mode with ``synchronous=FULL``, so a crash at any point leaves either the state before or the state after
the call: a ticket is marked used in the same transaction that pays it, and every payment is recorded as
an event in that transaction. Checks run in the contract's order and fail with
:class:`lpcore.BrokerRevert` carrying the contract's revert string.

Events are rows of the ``events`` table named and keyed as the contract's events (``DepositFunded``,
``ReserveFunded``, ``ReserveClaimed``, ``WinningTicketTransfer``, ``WinningTicketRedeemed``, ``Unlock``,
``UnlockCancelled``, ``Withdrawal``); ``WinningTicketRedeemed`` also records ``ticketHash`` for indexing.

Addresses are 20-byte ``bytes``; amounts are ints (wei), stored as decimal text (SQLite integers are 64-bit).
``caller`` arguments play ``msg.sender``; ``value`` plays ``msg.value``. Rounds and blocks come from a
:class:`lpcore.broker.Chain` (by default one kept in the same database file).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .._db import connect, transaction
from ..errors import BrokerArgumentError, BrokerRevert
from ..pm.crypto import SECP256K1_HALF_N, is_winning_batch, recipient_rand_hash, recover_batch, sig_rows, to_u256
from ..pm.ticket import Ticket, ticket_hashes
from .base import ZERO_HASH, Broker, SenderInfo, wei_amount
from .chain import Chain

_ZERO_ADDR = b"\0" * 20
UINT256_MAX = 2**256 - 1
#: What a Solidity >= 0.8 contract reverts with on checked-arithmetic overflow or underflow: ``Panic(0x11)``,
#: which carries no revert string; this is how the embedded broker spells it.
PANIC_ARITHMETIC = "panic: arithmetic underflow or overflow (0x11)"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS broker_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS senders (
    address BLOB PRIMARY KEY, deposit TEXT NOT NULL DEFAULT '0', withdraw_round INTEGER NOT NULL DEFAULT 0,
    reserve TEXT NOT NULL DEFAULT '0');
CREATE TABLE IF NOT EXISTS claimed_for_round (
    holder BLOB NOT NULL, round INTEGER NOT NULL, amount TEXT NOT NULL, PRIMARY KEY (holder, round));
CREATE TABLE IF NOT EXISTS claimed_by_address (
    holder BLOB NOT NULL, round INTEGER NOT NULL, claimant BLOB NOT NULL, amount TEXT NOT NULL,
    PRIMARY KEY (holder, round, claimant));
CREATE TABLE IF NOT EXISTS used_tickets (hash BLOB PRIMARY KEY);
CREATE TABLE IF NOT EXISTS transcoders (
    address BLOB PRIMARY KEY, active INTEGER NOT NULL, fees TEXT NOT NULL DEFAULT '0');
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, block INTEGER NOT NULL, round INTEGER NOT NULL, name TEXT NOT NULL,
    args TEXT NOT NULL);
"""


def _addr(name: str, a) -> bytes:
    if not isinstance(a, (bytes, bytearray, memoryview)) or len(a) != 20:
        raise BrokerArgumentError(f"{name} must be a 20-byte address")
    return bytes(a)


def _checked_add(a: int, b: int) -> int:
    """``a + b`` as uint256 arithmetic in Solidity 0.8 (the deployed TicketBroker): overflow reverts."""
    total = a + b
    if total > UINT256_MAX:
        raise BrokerRevert(PANIC_ARITHMETIC)
    return total


@dataclass(frozen=True)
class Event:
    id: int
    block: int
    round: int
    name: str
    args: dict


class LocalBroker(Broker):
    """SQLite TicketBroker at ``path`` (created if missing; reopened with its state otherwise).

    ``unlock_period`` and ``ticket_validity_period`` default to Arbitrum mainnet's 2 rounds (spec/pm.md §9);
    they are fixed when the database is created. ``chain`` defaults to a :class:`Chain` in the same file.
    """

    def __init__(self, path: str | os.PathLike[str], *, chain: Chain | None = None, unlock_period: int = 2,
                 ticket_validity_period: int = 2, round_length: int = 50) -> None:
        if ticket_validity_period <= 0:
            raise BrokerRevert("ticketValidityPeriod must be greater than 0")
        self.path = path
        self.chain = chain if chain is not None else Chain(path, round_length=round_length)
        self._lock = threading.RLock()
        self._db = connect(path)
        self._db.executescript(_SCHEMA)
        with self._tx() as db:
            for k, v in (("unlock_period", unlock_period), ("ticket_validity_period", ticket_validity_period),
                         ("paused", 0)):
                db.execute("INSERT OR IGNORE INTO broker_meta VALUES (?, ?)", (k, str(v)))
        self.unlock_period = int(self._meta("unlock_period"))
        self.ticket_validity_period = int(self._meta("ticket_validity_period"))

    def close(self) -> None:
        self._db.close()

    # -- plumbing ------------------------------------------------------------------------------------------

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db, self._lock)

    def _meta(self, key: str) -> str:
        return self._db.execute("SELECT value FROM broker_meta WHERE key = ?", (key,)).fetchone()[0]

    def _emit(self, db, name: str, **args) -> int:
        enc = {k: ("0x" + v.hex() if isinstance(v, (bytes, bytearray)) else str(v) if isinstance(v, int) else v)
               for k, v in args.items()}
        cur = db.execute(
            "INSERT INTO events (block, round, name, args) VALUES (?, ?, ?, ?)",
            (self.chain.last_seen_l1_block(), self.chain.current_round(), name, json.dumps(enc)),
        )
        return cur.lastrowid

    def _tx_id(self, event_id: int) -> bytes:
        return hashlib.sha256(b"lpcore-local-tx" + str(self.path).encode() + event_id.to_bytes(8, "big")).digest()

    def _sender_row(self, db, sender: bytes) -> tuple[int, int, int]:
        row = db.execute("SELECT deposit, withdraw_round, reserve FROM senders WHERE address = ?", (sender,)).fetchone()
        return (int(row[0]), row[1], int(row[2])) if row else (0, 0, 0)

    def _put_sender(self, db, sender: bytes, deposit: int, withdraw_round: int, reserve: int) -> None:
        db.execute(
            "INSERT INTO senders (address, deposit, withdraw_round, reserve) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(address) DO UPDATE SET deposit = excluded.deposit, withdraw_round = excluded.withdraw_round, "
            "reserve = excluded.reserve",
            (sender, str(deposit), withdraw_round, str(reserve)),
        )

    def _require_not_paused(self) -> None:
        if self._meta("paused") != "0":
            raise BrokerRevert("system is paused")

    # -- admin (Controller / BondingManager stand-ins) -------------------------------------------------------

    def set_paused(self, paused: bool) -> None:
        with self._tx() as db:
            db.execute("UPDATE broker_meta SET value = ? WHERE key = 'paused'", ("1" if paused else "0",))

    def register_transcoder(self, address: bytes, active: bool = True) -> None:
        """Register ``address`` with the BondingManager stand-in; active ones form the transcoder pool."""
        address = _addr("address", address)
        with self._tx() as db:
            db.execute(
                "INSERT INTO transcoders (address, active) VALUES (?, ?) "
                "ON CONFLICT(address) DO UPDATE SET active = excluded.active",
                (address, int(active)),
            )

    def transcoder_pool_size(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM transcoders WHERE active = 1").fetchone()[0]

    def is_active_transcoder(self, address: bytes) -> bool:
        with self._lock:
            row = self._db.execute("SELECT active FROM transcoders WHERE address = ?", (bytes(address),)).fetchone()
        return bool(row and row[0])

    def transcoder_fees(self, address: bytes) -> int:
        with self._lock:
            row = self._db.execute("SELECT fees FROM transcoders WHERE address = ?", (bytes(address),)).fetchone()
        return int(row[0]) if row else 0

    # -- reads -----------------------------------------------------------------------------------------------

    def get_sender_info(self, sender: bytes) -> SenderInfo:
        sender = _addr("sender", sender)
        with self._lock:
            deposit, withdraw_round, reserve = self._sender_row(self._db, sender)
            claimed = self._claimed_for_round(self._db, sender, self.chain.current_round())
        return SenderInfo(deposit, withdraw_round, reserve, claimed)

    def _claimed_for_round(self, db, holder: bytes, round_: int) -> int:
        row = db.execute("SELECT amount FROM claimed_for_round WHERE holder = ? AND round = ?", (holder, round_)).fetchone()
        return int(row[0]) if row else 0

    def _claimed_by(self, db, holder: bytes, round_: int, claimant: bytes) -> int:
        row = db.execute(
            "SELECT amount FROM claimed_by_address WHERE holder = ? AND round = ? AND claimant = ?",
            (holder, round_, claimant),
        ).fetchone()
        return int(row[0]) if row else 0

    def claimed_reserve(self, reserve_holder: bytes, claimant: bytes) -> int:
        with self._lock:
            return self._claimed_by(self._db, bytes(reserve_holder), self.chain.current_round(), bytes(claimant))

    def claimable_reserve(self, reserve_holder: bytes, claimant: bytes) -> int:
        with self._lock:
            return self._claimable(self._db, bytes(reserve_holder), bytes(claimant))

    def _claimable(self, db, holder: bytes, claimant: bytes) -> int:
        if not self.is_active_transcoder(claimant):
            return 0
        pool = self.transcoder_pool_size()
        if pool == 0:
            return 0
        cur = self.chain.current_round()
        total = self._sender_row(db, holder)[2] + self._claimed_for_round(db, holder, cur)
        share = total // pool - self._claimed_by(db, holder, cur, claimant)
        if share < 0:  # OZ 4.x SafeMath.sub is checked 0.8 arithmetic: Panic(0x11), no revert string
            raise BrokerRevert(PANIC_ARITHMETIC)
        return share

    def is_used_ticket(self, ticket_hash: bytes) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM used_tickets WHERE hash = ?", (bytes(ticket_hash),)).fetchone() is not None

    def is_unlock_in_progress(self, sender: bytes) -> bool:
        return self.get_sender_info(sender).withdraw_round > 0

    def events(self, name: str | None = None) -> list[Event]:
        with self._lock:
            q = "SELECT id, block, round, name, args FROM events"
            rows = self._db.execute(q + (" WHERE name = ?" if name else "") + " ORDER BY id", (name,) if name else ()).fetchall()
        return [Event(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    def totals(self) -> dict[str, int]:
        """Money accounting for conservation checks: everything funded equals what is held plus paid out."""
        with self._lock:
            db = self._db
            s = db.execute("SELECT deposit, reserve FROM senders").fetchall()

            def total(name: str, key: str) -> int:
                return sum(int(json.loads(r[0])[key]) for r in db.execute("SELECT args FROM events WHERE name = ?", (name,)))

            held_deposit = sum(int(r[0]) for r in s)
            held_reserve = sum(int(r[1]) for r in s)
            funded = total("DepositFunded", "amount") + total("ReserveFunded", "amount")
            transferred = total("WinningTicketTransfer", "amount")
            withdrawn = total("Withdrawal", "deposit") + total("Withdrawal", "reserve")
            fees = sum(int(r[0]) for r in db.execute("SELECT fees FROM transcoders"))
            used = db.execute("SELECT COUNT(*) FROM used_tickets").fetchone()[0]
        return dict(funded=funded, deposits=held_deposit, reserves=held_reserve, transferred=transferred,
                    withdrawn=withdrawn, fees=fees, used_tickets=used)

    # -- funding, unlock, withdraw (spec/pm.md §7.7) ----------------------------------------------------------

    def fund_deposit(self, sender: bytes, amount: int) -> None:
        """``fundDeposit()`` sent by ``sender`` with ``msg.value = amount``."""
        sender, amount = _addr("sender", sender), wei_amount("amount", amount)
        with self._tx() as db:
            self._require_not_paused()
            self._process_deposit_pre(db, sender, sender, amount)
            self._emit(db, "DepositFunded", sender=sender, amount=amount)

    def fund_reserve(self, sender: bytes, amount: int) -> None:
        """``fundReserve()`` sent by ``sender`` with ``msg.value = amount``."""
        sender, amount = _addr("sender", sender), wei_amount("amount", amount)
        with self._tx() as db:
            self._require_not_paused()
            self._process_reserve_pre(db, sender, sender, amount)

    def fund_deposit_and_reserve(self, sender: bytes, deposit_amount: int, reserve_amount: int,
                                 value: int | None = None) -> None:
        """``fundDepositAndReserve(d, r)`` sent by ``sender``; ``value`` (``msg.value``) defaults to ``d + r``."""
        self.fund_deposit_and_reserve_for(sender, sender, deposit_amount, reserve_amount, value)

    def fund_deposit_and_reserve_for(self, caller: bytes, addr: bytes, deposit_amount: int, reserve_amount: int,
                                     value: int | None = None) -> None:
        """``fundDepositAndReserveFor(addr, d, r)`` sent by ``caller`` with ``msg.value = value``."""
        caller, addr = _addr("caller", caller), _addr("addr", addr)
        deposit_amount = wei_amount("deposit_amount", deposit_amount)
        reserve_amount = wei_amount("reserve_amount", reserve_amount)
        value = None if value is None else wei_amount("value", value)
        with self._tx() as db:
            self._require_not_paused()
            # checkDepositReserveETHValueSplit: `msg.value == d.add(r)`, where the add itself may overflow.
            total = _checked_add(deposit_amount, reserve_amount)
            if (total if value is None else value) != total:
                raise BrokerRevert("msg.value does not equal sum of deposit amount and reserve amount")
            # Modifier order: processDeposit (add, maybe cancel), processReserve (add + ReserveFunded, maybe
            # cancel), body, then processDeposit's epilogue emits DepositFunded.
            self._process_deposit_pre(db, caller, addr, deposit_amount)
            self._process_reserve_pre(db, caller, addr, reserve_amount)
            self._emit(db, "DepositFunded", sender=addr, amount=deposit_amount)

    def _process_deposit_pre(self, db, caller: bytes, sender: bytes, amount: int) -> None:
        deposit, wr, reserve = self._sender_row(db, sender)
        deposit = _checked_add(deposit, amount)
        if caller == sender and wr > 0:
            wr = 0
            self._emit(db, "UnlockCancelled", sender=sender)
        self._put_sender(db, sender, deposit, wr, reserve)

    def _process_reserve_pre(self, db, caller: bytes, sender: bytes, amount: int) -> None:
        deposit, wr, reserve = self._sender_row(db, sender)
        reserve = _checked_add(reserve, amount)
        self._put_sender(db, sender, deposit, wr, reserve)
        self._emit(db, "ReserveFunded", reserveHolder=sender, amount=amount)
        if caller == sender and wr > 0:
            self._put_sender(db, sender, deposit, 0, reserve)
            self._emit(db, "UnlockCancelled", sender=sender)

    def unlock(self, sender: bytes) -> int:
        """``unlock()`` sent by ``sender``; returns the withdraw round."""
        sender = _addr("sender", sender)
        with self._tx() as db:
            self._require_not_paused()
            deposit, wr, reserve = self._sender_row(db, sender)
            if not (deposit > 0 or reserve > 0):
                raise BrokerRevert("sender deposit and reserve are zero")
            if wr > 0:
                raise BrokerRevert("unlock already initiated")
            cur = self.chain.current_round()
            wr = cur + self.unlock_period
            self._put_sender(db, sender, deposit, wr, reserve)
            self._emit(db, "Unlock", sender=sender, startRound=cur, endRound=wr)
            return wr

    def cancel_unlock(self, sender: bytes) -> None:
        sender = _addr("sender", sender)
        with self._tx() as db:
            self._require_not_paused()
            deposit, wr, reserve = self._sender_row(db, sender)
            if not wr > 0:
                raise BrokerRevert("no unlock request in progress")
            self._put_sender(db, sender, deposit, 0, reserve)
            self._emit(db, "UnlockCancelled", sender=sender)

    def withdraw(self, sender: bytes) -> tuple[int, int]:
        """``withdraw()`` sent by ``sender``; returns ``(deposit, reserve)`` paid out."""
        sender = _addr("sender", sender)
        with self._tx() as db:
            self._require_not_paused()
            deposit, wr, reserve = self._sender_row(db, sender)
            if not (deposit > 0 or reserve > 0):
                raise BrokerRevert("sender deposit and reserve are zero")
            if not wr > 0:
                raise BrokerRevert("no unlock request in progress")
            if not self.chain.current_round() >= wr:  # isLocked: currentRound < withdrawRound
                raise BrokerRevert("account is locked")
            # `delete reserves[holder]` clears only the funds; the claim mappings stay (MixinReserve.sol).
            self._put_sender(db, sender, 0, wr, 0)
            self._emit(db, "Withdrawal", sender=sender, deposit=deposit, reserve=reserve)
            return deposit, reserve

    # -- redemption (spec/pm.md §7.4-§7.6) --------------------------------------------------------------------

    def redeem_winning_ticket(self, ticket, sig: bytes, recipient_rand: int) -> bytes:
        """``redeemWinningTicket(ticket, sig, recipientRand)``; returns a transaction id or raises
        :class:`lpcore.BrokerRevert`. ``ticket`` is a :class:`lpcore.pm.Ticket` (its auxData is
        ``Ticket.aux_data()``)."""
        with self._tx() as db:
            self._require_not_paused()
            self._require_round_initialized()
            pre = self._precompute([ticket], [sig], [recipient_rand])
            return self._redeem_one(db, ticket, bytes(sig), recipient_rand, pre, 0)

    def batch_redeem_winning_tickets(self, tickets: Sequence, sigs: Sequence[bytes], recipient_rands: Sequence[int]) -> bytes:
        """``batchRedeemWinningTickets``: each ticket is a sub-call whose revert is ignored (spec/pm.md §7.6).
        The whole batch is one transaction; returns its id. ``last_batch_results`` holds per-ticket outcomes
        (``None`` = redeemed, else the revert string) for callers that want them (the contract returns none)."""
        if not (len(tickets) == len(sigs) == len(recipient_rands)):
            raise BrokerArgumentError("tickets, sigs and recipient_rands must have the same length")
        results: list[str | None] = []
        with self._tx() as db:
            self._require_not_paused()
            self._require_round_initialized()
            pre = self._precompute(tickets, sigs, recipient_rands)
            for i, t in enumerate(tickets):
                db.execute("SAVEPOINT ticket")
                try:
                    self._redeem_one(db, t, bytes(sigs[i]), recipient_rands[i], pre, i)
                    db.execute("RELEASE ticket")
                    results.append(None)
                except BrokerRevert as err:
                    db.execute("ROLLBACK TO ticket")
                    db.execute("RELEASE ticket")
                    results.append(err.reason)
            last = db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
        self.last_batch_results = results
        return hashlib.sha256(b"lpcore-local-batch" + str(self.path).encode() + last.to_bytes(8, "big")
                              + b"".join(h.tobytes() for h in pre[0])).digest()

    def _require_round_initialized(self) -> None:
        if not self.chain.current_round_initialized():
            raise BrokerRevert("current round is not initialized")

    def _precompute(self, tickets, sigs, rands):
        """Hash, recover and lottery-check all tickets with one batch call each (C engine)."""
        n = len(tickets)
        for i, t in enumerate(tickets):
            if not isinstance(t, Ticket):
                raise BrokerArgumentError(f"tickets[{i}] must be an lpcore.pm.Ticket, got {type(t).__name__}")
            if not isinstance(sigs[i], (bytes, bytearray, memoryview)):
                raise BrokerArgumentError(f"sigs[{i}] must be bytes, got {type(sigs[i]).__name__}")
            r = rands[i]
            if isinstance(r, bool) or not isinstance(r, int) or not 0 <= r < 2**256:
                raise BrokerArgumentError(f"recipient_rands[{i}] must be a uint256 int, got {r!r}")
        hashes = ticket_hashes(list(tickets)) if n else np.zeros((0, 32), np.uint8)
        sig_arr, ok = sig_rows(list(sigs))
        recovered = recover_batch(hashes, sig_arr) if n else np.zeros((0, 20), np.uint8)
        rr = list(rands)
        wins = is_winning_batch(sig_arr, to_u256(rr), to_u256([t.win_prob for t in tickets])) if n else []
        return hashes, ok, recovered, wins

    def _redeem_one(self, db, t, sig: bytes, recipient_rand: int, pre, i: int) -> bytes:
        hashes, sig_ok, recovered, wins = pre
        ticket_hash = hashes[i].tobytes()
        if t.recipient == _ZERO_ADDR:
            raise BrokerRevert("ticket recipient is null address")
        if t.sender == _ZERO_ADDR:
            raise BrokerRevert("ticket sender is null address")
        if len(t.aux_data()) != 64:
            raise BrokerRevert("invalid length for ticket auxData: must be 64 bytes")
        block_hash = self.chain.block_hash_for_round(t.creation_round)
        if block_hash == ZERO_HASH:
            raise BrokerRevert("ticket creationRound does not have a block hash")
        if t.creation_round_block_hash != block_hash:
            raise BrokerRevert("ticket creationRoundBlockHash invalid for creationRound")
        cur = self.chain.current_round()
        if not t.creation_round + self.ticket_validity_period > cur:
            raise BrokerRevert("ticket is expired")
        if recipient_rand_hash(recipient_rand) != t.recipient_rand_hash:
            raise BrokerRevert("recipientRand does not match recipientRandHash")
        if db.execute("SELECT 1 FROM used_tickets WHERE hash = ?", (ticket_hash,)).fetchone():
            raise BrokerRevert("ticket is used")
        if not sig_ok[i]:
            raise BrokerRevert("INVALID_SIGNATURE_LENGTH")
        # OpenZeppelin ECDSA v4.4.1 (deployed): s, then v, then ecrecover == 0.
        if int.from_bytes(sig[32:64], "big") > SECP256K1_HALF_N:
            raise BrokerRevert("ECDSA: invalid signature 's' value")
        if sig[64] not in (27, 28):
            raise BrokerRevert("ECDSA: invalid signature 'v' value")
        signer = recovered[i].tobytes()
        if signer == _ZERO_ADDR:
            raise BrokerRevert("ECDSA: invalid signature")
        if signer != t.sender:
            raise BrokerRevert("invalid signature over ticket hash")
        if not wins[i]:
            raise BrokerRevert("ticket did not win")
        deposit, wr, reserve = self._sender_row(db, t.sender)
        if not (wr == 0 or cur < wr):
            raise BrokerRevert("sender is unlocked")
        if not (deposit > 0 or reserve > 0):
            raise BrokerRevert("sender deposit and reserve are zero")
        db.execute("INSERT INTO used_tickets VALUES (?)", (ticket_hash,))
        if t.face_value > deposit:
            amount = deposit + self._claim_from_reserve(db, t.sender, t.recipient, t.face_value - deposit)
            deposit = 0
        else:
            amount = t.face_value
            deposit -= t.face_value
        _, _, reserve = self._sender_row(db, t.sender)
        self._put_sender(db, t.sender, deposit, wr, reserve)
        if amount > 0:
            row = db.execute("SELECT fees FROM transcoders WHERE address = ?", (t.recipient,)).fetchone()
            if row is None:
                raise BrokerRevert("transcoder must be registered")
            db.execute("UPDATE transcoders SET fees = ? WHERE address = ?", (str(int(row[0]) + amount), t.recipient))
            self._emit(db, "WinningTicketTransfer", sender=t.sender, recipient=t.recipient, amount=amount)
        eid = self._emit(
            db, "WinningTicketRedeemed", sender=t.sender, recipient=t.recipient, faceValue=t.face_value,
            winProb=t.win_prob, senderNonce=t.sender_nonce, recipientRand=recipient_rand, auxData=t.aux_data(),
            ticketHash=ticket_hash,
        )
        return self._tx_id(eid)

    def _claim_from_reserve(self, db, holder: bytes, claimant: bytes, amount: int) -> int:
        claim = min(amount, self._claimable(db, holder, claimant))
        if claim > 0:
            cur = self.chain.current_round()
            deposit, wr, reserve = self._sender_row(db, holder)
            db.execute(
                "INSERT INTO claimed_for_round VALUES (?, ?, ?) ON CONFLICT(holder, round) DO UPDATE SET amount = ?",
                (holder, cur, str(claim), str(self._claimed_for_round(db, holder, cur) + claim)),
            )
            db.execute(
                "INSERT INTO claimed_by_address VALUES (?, ?, ?, ?) ON CONFLICT(holder, round, claimant) "
                "DO UPDATE SET amount = ?",
                (holder, cur, claimant, str(claim), str(self._claimed_by(db, holder, cur, claimant) + claim)),
            )
            self._put_sender(db, holder, deposit, wr, reserve - claim)
            self._emit(db, "ReserveClaimed", reserveHolder=holder, claimant=claimant, amount=claim)
        return claim

    def redemption_tx(self, ticket_hash: bytes) -> bytes | None:
        """The transaction id that paid ``ticket_hash`` here, or ``None`` (lets the queue mark a ticket this
        broker paid as ``redeemed`` after a crash between the payment and the bookkeeping)."""
        needle = f'%"ticketHash": "0x{bytes(ticket_hash).hex()}"%'
        with self._lock:
            row = self._db.execute("SELECT id FROM events WHERE name = 'WinningTicketRedeemed' AND args LIKE ?",
                                   (needle,)).fetchone()
        return None if row is None else self._tx_id(row[0])
