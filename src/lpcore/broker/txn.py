"""Durable transactions: a write-ahead journal and the one sender per account (spec/chain.md §1, §8.2-§8.8, §8.11).

Every state-changing call goes through :meth:`TxSender.send`:

1. **estimate** ``eth_estimateGas`` from the account (a revert raises :class:`lpcore.BrokerRevert` with the
   contract's revert string; nothing is recorded or sent); the limit is the estimate times ``gas_margin``.
2. **record** the intent (``queued``: to, value, data, gas, kind, linked ticket hashes) in SQLite (WAL).
3. under the account lock (a thread lock plus an OS file lock beside the journal, so a second process with the
   same journal waits): pick the **nonce** ``max(node pending nonce, 1 + highest in-flight nonce in the
   journal)``, build EIP-1559 **fees**, **sign** locally, and persist the signed raw transaction and its hash
   (``submitted``) *before* ``eth_sendRawTransaction``;
4. **send**; then **watch** the receipts of every hash signed for that nonce until one is final.

Transaction states: ``queued`` -> ``submitted`` (nonce, hashes) -> ``confirmed`` (status 1) | ``failed`` (status
0 or refused by the node; ``reason``) | ``dropped`` (never sent, or the nonce was taken by a transaction that is not
ours). Each signed attempt is a row of ``tx_attempts``; an attempt superseded by a fee-bumped one is
``replaced``, the one that was mined is ``mined``.

Crash safety (SIGKILL between any two steps): a ``queued`` row was never signed, so :meth:`TxSender.reconcile`
marks it ``dropped``; a ``submitted`` row has its raw bytes, so reconcile finds its receipt, or rebroadcasts it
(the nonce is never skipped: no gap blocks later transactions), or marks it ``dropped`` if the node's nonce
moved past it without any of its hashes. Nothing is ever re-signed with a new nonce after a crash, so an
operation is never sent twice.

Node errors (:data:`NODE_ERRORS` documents each path): ``nonce too low`` / ``replacement transaction
underpriced`` on a first send re-read the nonce and re-sign (bounded); on a replacement, ``underpriced`` bumps
again and ``nonce too low`` / ``already known`` go to receipt lookup; ``insufficient funds`` fails the
transaction (nothing is in the mempool); timeouts and transport errors leave it ``submitted`` and the watcher
rebroadcasts the stored raw bytes.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from .._db import connect, transaction
from ..errors import BrokerRevert
from .rpc import ChainError

#: Fault-injection hook for the crash tests: called with a step name ("recorded", "signed", "sent", "mined",
#: "finalized"); production code never sets it.
FAULT_HOOK: Callable[[str], None] | None = None

PRICE_BUMP_PERCENT = 11      # go-livepeer: geth's 10 % minimum + 1, rounded up
MAX_RESIGN = 3               # re-signs with a fresh nonce after "nonce too low" on a first send
MAX_UNDERPRICED_BUMPS = 3    # extra bumps when a replacement is "underpriced"

NODE_ERRORS = {
    "nonce too low": "first send: re-read the pending nonce and re-sign (at most MAX_RESIGN times); "
                     "replacement: another of our hashes was mined or the nonce is used - look up receipts",
    "already known": "the node has the transaction: treated as sent",
    "replacement transaction underpriced": "first send: a foreign tx holds the nonce - re-sign with a fresh one; "
                                           "replacement: bump the fees again (MAX_UNDERPRICED_BUMPS)",
    "insufficient funds": "nothing entered the mempool: the transaction is failed with the node's text and "
                          "ChainError is raised (redemptions retry with back-off)",
    "timeout / transport": "the send may have happened: the transaction stays submitted and the watcher "
                           "rebroadcasts the stored raw transaction, then replaces it with a fee bump",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS txs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL, kind TEXT NOT NULL, to_addr TEXT NOT NULL,
    value TEXT NOT NULL, data BLOB NOT NULL, gas INTEGER NOT NULL, nonce INTEGER, state TEXT NOT NULL,
    reason TEXT, final_hash TEXT, block INTEGER, gas_used INTEGER, created REAL NOT NULL, updated REAL NOT NULL);
CREATE INDEX IF NOT EXISTS txs_state ON txs (account, state);
CREATE TABLE IF NOT EXISTS tx_attempts (
    hash TEXT PRIMARY KEY, tx_id INTEGER NOT NULL REFERENCES txs(id), raw BLOB NOT NULL, max_fee TEXT NOT NULL,
    tip TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'sent', created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS tx_attempts_tx ON tx_attempts (tx_id);
CREATE TABLE IF NOT EXISTS tx_tickets (
    tx_id INTEGER NOT NULL REFERENCES txs(id), ticket_hash BLOB NOT NULL, idx INTEGER NOT NULL,
    outcome TEXT, PRIMARY KEY (tx_id, idx));
CREATE INDEX IF NOT EXISTS tx_tickets_hash ON tx_tickets (ticket_hash);
"""

IN_FLIGHT = ("queued", "submitted")


def _fault(step: str) -> None:
    if FAULT_HOOK is not None:
        FAULT_HOOK(step)


def _hex(b: bytes) -> str:
    return "0x" + bytes(b).hex()


@dataclass(frozen=True)
class TxRecord:
    id: int
    account: str
    kind: str
    to: str
    value: int
    nonce: int | None
    state: str
    reason: str | None
    final_hash: str | None
    block: int | None
    gas_used: int | None
    created: float
    hashes: tuple[str, ...] = ()


class TxJournal:
    """The SQLite journal of transactions (see module docstring); ``path`` ``":memory:"`` is not durable."""

    def __init__(self, path: str | Path):
        self.path = path
        self._lock = threading.RLock()
        self.db = connect(path)
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def tx(self) -> Iterator[Any]:
        with transaction(self.db, self._lock) as db:
            yield db

    def meta(self, key: str) -> str | None:
        with self._lock:
            row = self.db.execute("SELECT value FROM journal_meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.tx() as db:
            db.execute("INSERT OR REPLACE INTO journal_meta VALUES (?, ?)", (key, value))

    def record(self, account: str, kind: str, to: str, value: int, data: bytes, gas: int,
               tickets: Sequence[bytes] = ()) -> int:
        now = time.time()
        with self.tx() as db:
            cur = db.execute(
                "INSERT INTO txs (account, kind, to_addr, value, data, gas, state, created, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)", (account, kind, to, str(value), bytes(data), gas, now, now))
            tx_id = cur.lastrowid
            db.executemany("INSERT INTO tx_tickets (tx_id, ticket_hash, idx) VALUES (?, ?, ?)",
                           [(tx_id, bytes(h), i) for i, h in enumerate(tickets)])
        return tx_id

    def add_attempt(self, tx_id: int, nonce: int, tx_hash: str, raw: bytes, max_fee: int, tip: int) -> None:
        with self.tx() as db:
            db.execute("UPDATE tx_attempts SET state = 'replaced' WHERE tx_id = ? AND state = 'sent'", (tx_id,))
            db.execute("INSERT OR IGNORE INTO tx_attempts (hash, tx_id, raw, max_fee, tip, created) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (tx_hash, tx_id, bytes(raw), str(max_fee), str(tip), time.time()))
            db.execute("UPDATE txs SET nonce = ?, state = 'submitted', updated = ? WHERE id = ?",
                       (nonce, time.time(), tx_id))

    def drop_attempt(self, tx_hash: str) -> None:
        """Forget an attempt the node refused outright (it never entered any mempool)."""
        with self.tx() as db:
            row = db.execute("SELECT tx_id FROM tx_attempts WHERE hash = ?", (tx_hash,)).fetchone()
            db.execute("DELETE FROM tx_attempts WHERE hash = ?", (tx_hash,))
            if row is not None:  # the previous attempt (if any) is the live one again
                last = db.execute("SELECT hash FROM tx_attempts WHERE tx_id = ? ORDER BY created DESC LIMIT 1",
                                  (row[0],)).fetchone()
                if last is not None:
                    db.execute("UPDATE tx_attempts SET state = 'sent' WHERE hash = ?", (last[0],))
                else:  # nothing of this row is anywhere: its nonce is free again
                    db.execute("UPDATE txs SET nonce = NULL WHERE id = ?", (row[0],))

    def finish(self, tx_id: int, state: str, *, reason: str | None = None, final_hash: str | None = None,
               block: int | None = None, gas_used: int | None = None,
               outcomes: dict[int, str] | None = None) -> None:
        with self.tx() as db:
            db.execute("UPDATE txs SET state = ?, reason = ?, final_hash = ?, block = ?, gas_used = ?, updated = ? "
                       "WHERE id = ?", (state, reason, final_hash, block, gas_used, time.time(), tx_id))
            if final_hash is not None:
                db.execute("UPDATE tx_attempts SET state = CASE WHEN hash = ? THEN 'mined' ELSE 'replaced' END "
                           "WHERE tx_id = ?", (final_hash, tx_id))
            for idx, outcome in (outcomes or {}).items():
                db.execute("UPDATE tx_tickets SET outcome = ? WHERE tx_id = ? AND idx = ?", (outcome, tx_id, idx))

    def note(self, tx_id: int, reason: str) -> None:
        with self.tx() as db:
            db.execute("UPDATE txs SET reason = ?, updated = ? WHERE id = ?", (reason, time.time(), tx_id))

    def get(self, tx_id: int) -> TxRecord:
        with self._lock:
            r = self.db.execute("SELECT id, account, kind, to_addr, value, nonce, state, reason, final_hash, block, "
                                "gas_used, created FROM txs WHERE id = ?", (tx_id,)).fetchone()
            hashes = tuple(h for (h,) in self.db.execute(
                "SELECT hash FROM tx_attempts WHERE tx_id = ? ORDER BY created", (tx_id,)))
        return TxRecord(r[0], r[1], r[2], r[3], int(r[4]), r[5], r[6], r[7], r[8], r[9], r[10], r[11], hashes)

    def fields(self, tx_id: int) -> tuple[str, int, bytes, int]:
        with self._lock:
            to, value, data, gas = self.db.execute("SELECT to_addr, value, data, gas FROM txs WHERE id = ?",
                                                   (tx_id,)).fetchone()
        return to, int(value), bytes(data), gas

    def attempts(self, tx_id: int) -> list[tuple[str, bytes, int, int]]:
        with self._lock:
            rows = self.db.execute("SELECT hash, raw, max_fee, tip FROM tx_attempts WHERE tx_id = ? ORDER BY created",
                                   (tx_id,)).fetchall()
        return [(h, bytes(raw), int(mf), int(tip)) for h, raw, mf, tip in rows]

    def in_flight(self, account: str) -> list[int]:
        with self._lock:
            return [i for (i,) in self.db.execute(
                "SELECT id FROM txs WHERE account = ? AND state IN ('queued', 'submitted') ORDER BY id", (account,))]

    def max_in_flight_nonce(self, account: str) -> int | None:
        with self._lock:
            row = self.db.execute("SELECT MAX(nonce) FROM txs WHERE account = ? AND state = 'submitted'",
                                  (account,)).fetchone()
        return row[0]

    def recent(self, account: str | None = None, limit: int = 10) -> list[TxRecord]:
        with self._lock:
            q = "SELECT id FROM txs" + (" WHERE account = ?" if account else "") + " ORDER BY id DESC LIMIT ?"
            ids = [i for (i,) in self.db.execute(q, ((account, limit) if account else (limit,)))]
        return [self.get(i) for i in ids]

    def tickets_of(self, tx_id: int) -> list[tuple[int, bytes, str | None]]:
        with self._lock:
            return [(i, bytes(h), o) for i, h, o in self.db.execute(
                "SELECT idx, ticket_hash, outcome FROM tx_tickets WHERE tx_id = ? ORDER BY idx", (tx_id,))]

    def ticket_txs(self, ticket_hash: bytes) -> list[tuple[int, str, str | None, str | None]]:
        """``(tx_id, tx state, final hash, ticket outcome)`` of every transaction that carried the ticket."""
        with self._lock:
            return list(self.db.execute(
                "SELECT t.id, t.state, t.final_hash, k.outcome FROM tx_tickets k JOIN txs t ON t.id = k.tx_id "
                "WHERE k.ticket_hash = ? ORDER BY t.id", (bytes(ticket_hash),)))


class _FileLock:
    """An exclusive ``flock`` on ``path`` (released by the OS if the process dies)."""

    def __init__(self, path: str | Path | None):
        self._path = None if path in (None, ":memory:") else str(path) + ".lock"
        self._fd: int | None = None

    def __enter__(self):
        if self._path is not None:
            import fcntl

            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None


def _error_text(exc: BaseException) -> str:
    msg = getattr(exc, "args", None)
    if msg and isinstance(msg[0], dict):
        return str(msg[0].get("message", msg[0]))
    return str(exc)


@dataclass
class Receipt:
    tx_id: int
    tx_hash: bytes
    status: int
    block: int
    gas_used: int
    logs: list


class TxSender:
    """Signs and sends for one account, durably (see module docstring).

    ``max_gas_price`` (wei, ``None`` = no ceiling) caps the fee cap and refuses to build while ``eth_gasPrice``
    is above it; ``gas_margin`` multiplies the estimate; ``tx_timeout_s`` is the wait before a stuck
    transaction is rebroadcast and replaced with a fee bump of 11 %, at most ``max_replacements`` times; the
    overall wait is ``tx_timeout_s * (max_replacements + 1)``; ``confirmations`` is the depth that makes a
    receipt final (1 = mined).
    """

    def __init__(self, w3, account, journal: TxJournal, *, chain_id: int, max_gas_price: int | None = None,
                 gas_margin: float = 1.2, tx_timeout_s: float = 300.0, max_replacements: int = 1,
                 poll_s: float = 1.0, confirmations: int = 1):
        self.w3 = w3
        self.account = account
        self.address = account.address
        self.journal = journal
        self.chain_id = chain_id
        self.max_gas_price = max_gas_price
        self.gas_margin = gas_margin
        self.tx_timeout_s = tx_timeout_s
        self.max_replacements = max_replacements
        self.poll_s = poll_s
        self.confirmations = max(1, confirmations)
        self._lock = threading.Lock()
        self._file_lock = _FileLock(journal.path)

    @contextmanager
    def account_lock(self):
        with self._lock, self._file_lock:
            yield

    # -- fees and nonce ------------------------------------------------------------------------------------
    def fees(self) -> tuple[int, int]:
        """``(max_fee_per_gas, max_priority_fee_per_gas)`` per spec/chain.md §8.3."""
        eth = self.w3.eth
        gas_price = int(eth.gas_price)
        if self.max_gas_price is not None and gas_price > self.max_gas_price:
            raise ChainError(f"current gas price exceeds maximum gas price max={self.max_gas_price} wei "
                             f"current={gas_price} wei")
        base = int(eth.get_block("latest").get("baseFeePerGas") or 0)
        try:
            tip = int(eth.max_priority_fee)
        except Exception:  # noqa: BLE001 - the node lacks eth_maxPriorityFeePerGas
            tip = max(0, gas_price - base)
        fee_cap = tip + 2 * base
        if self.max_gas_price is not None:
            fee_cap = min(fee_cap, self.max_gas_price)
        if fee_cap < tip:
            raise ChainError(f"maxFeePerGas ({fee_cap}) < maxPriorityFeePerGas ({tip})")
        return fee_cap, tip

    def next_nonce(self) -> int:
        pending = int(self.w3.eth.get_transaction_count(self.address, "pending"))
        top = self.journal.max_in_flight_nonce(self.address)
        return max(pending, top + 1 if top is not None else 0)

    # -- sending ---------------------------------------------------------------------------------------------
    def estimate(self, to: str, value: int, data: bytes) -> int:
        try:
            gas = int(self.w3.eth.estimate_gas({"from": self.address, "to": to, "value": value, "data": data}))
        except Exception as exc:  # noqa: BLE001
            raise_revert(exc)
            raise ChainError(f"gas estimation failed: {_error_text(exc)}") from exc
        return int(gas * self.gas_margin)

    def send(self, kind: str, to: str, value: int, data: bytes, *, tickets: Sequence[bytes] = (),
             gas: int | None = None) -> Receipt:
        """Estimate, record, sign, send and wait (see module docstring); returns the final receipt. A status-0
        receipt raises :class:`BrokerRevert` with the replayed revert reason."""
        gas = self.estimate(to, value, data) if gas is None else gas
        fee_cap, tip = self.fees()
        tx_id = self.journal.record(self.address, kind, to, value, data, gas, tickets)
        _fault("recorded")
        self._sign_and_send(tx_id, fee_cap, tip)
        return self.wait(tx_id)

    def _sign(self, tx_id: int, nonce: int, fee_cap: int, tip: int) -> tuple[str, bytes]:
        to, value, data, gas = self.journal.fields(tx_id)
        signed = self.account.sign_transaction({
            "type": 2, "chainId": self.chain_id, "nonce": nonce, "to": to, "value": value, "data": data,
            "gas": gas, "maxFeePerGas": fee_cap, "maxPriorityFeePerGas": tip})
        raw = bytes(signed.raw_transaction)
        tx_hash = _hex(signed.hash)
        self.journal.add_attempt(tx_id, nonce, tx_hash, raw, fee_cap, tip)
        return tx_hash, raw

    def _sign_and_send(self, tx_id: int, fee_cap: int, tip: int) -> None:
        with self.account_lock():
            for _ in range(MAX_RESIGN + 1):
                nonce = self.next_nonce()
                tx_hash, raw = self._sign(tx_id, nonce, fee_cap, tip)
                _fault("signed")
                err = self._broadcast(raw)
                _fault("sent")
                if err is None:
                    return
                low = err.lower()
                if "nonce too low" in low or "underpriced" in low:
                    self.journal.drop_attempt(tx_hash)  # the nonce is someone else's: re-read it
                    continue
                if "insufficient funds" in low or "exceeds" in low or "intrinsic gas" in low or "invalid" in low:
                    self.journal.drop_attempt(tx_hash)
                    self.journal.finish(tx_id, "failed", reason=err)
                    raise ChainError(f"transaction refused by the node: {err}")
                # timeouts / transport: it may be in the mempool; the watcher rebroadcasts it
                self.journal.note(tx_id, f"send uncertain: {err}")
                return
            self.journal.finish(tx_id, "dropped", reason="nonce kept being taken by other transactions")
            raise ChainError("could not get a free nonce (nonce too low after re-reading it)")

    def _broadcast(self, raw: bytes) -> str | None:
        """Send ``raw``; ``None`` if accepted (or already known), else the node's/transport's error text."""
        try:
            self.w3.eth.send_raw_transaction(raw)
        except Exception as exc:  # noqa: BLE001 - classified by text below
            text = _error_text(exc)
            if "already known" in text.lower() or "known transaction" in text.lower():
                return None
            return text or type(exc).__name__
        return None

    # -- watching ----------------------------------------------------------------------------------------
    def _find_receipt(self, tx_id: int):
        for tx_hash, *_ in self.journal.attempts(tx_id):
            try:
                r = self.w3.eth.get_transaction_receipt(tx_hash)
            except Exception:  # noqa: BLE001 - not found yet, or a transient RPC error: keep polling
                continue
            if r is not None and r.get("blockNumber") is not None:
                return r
        return None

    def _is_final(self, r) -> bool:
        if self.confirmations <= 1:
            return True
        return int(self.w3.eth.block_number) - int(r["blockNumber"]) + 1 >= self.confirmations

    def wait(self, tx_id: int, *, timeout_s: float | None = None) -> Receipt:
        """Watch every hash of ``tx_id`` until one has a final receipt; rebroadcast and replace when stuck.
        Raises :class:`ChainError` on the overall deadline (the transaction stays ``submitted``)."""
        overall = self.tx_timeout_s * (self.max_replacements + 1) if timeout_s is None else timeout_s
        deadline = time.monotonic() + overall
        last_send = time.monotonic()
        replacements = 0
        while True:
            rec = self.journal.get(tx_id)
            if rec.state == "queued" or (rec.state == "submitted" and not rec.hashes):
                # recorded but never signed (a crash, or every signature was refused): nothing to wait for
                self.journal.finish(tx_id, "dropped", reason="never sent")
                continue
            if rec.state not in IN_FLIGHT:
                return self._settled(rec)
            r = self._find_receipt(tx_id)
            if r is not None and self._is_final(r):
                return self._finalize(tx_id, r)
            now = time.monotonic()
            if now >= deadline:
                raise ChainError(f"timed out waiting for transaction receipt txHash={rec.hashes[-1] if rec.hashes else '?'}")
            if r is None and now - last_send >= self.tx_timeout_s:
                if self._nonce_passed(rec):
                    continue  # _nonce_passed finished the row if none of our hashes was mined
                if replacements < self.max_replacements and self._replace(tx_id):
                    replacements += 1
                else:
                    self._rebroadcast(tx_id)
                last_send = time.monotonic()
            time.sleep(self.poll_s)

    def _settled(self, rec: TxRecord) -> Receipt:
        if rec.state == "confirmed":
            return Receipt(rec.id, bytes.fromhex(rec.final_hash[2:]), 1, rec.block or 0, rec.gas_used or 0, [])
        if rec.state == "failed" and rec.final_hash:
            raise TxFailed(rec.reason or "transaction failed", rec.final_hash)
        raise ChainError(f"transaction {rec.id} {rec.state}: {rec.reason}")

    def _nonce_passed(self, rec: TxRecord) -> bool:
        """The account's mined nonce is past ours: one of our hashes is mined (receipt lag) or the nonce was
        used by a transaction that is not ours (then the row is ``dropped``)."""
        if rec.nonce is None:
            return False
        mined = int(self.w3.eth.get_transaction_count(self.address, "latest"))
        if mined <= rec.nonce:
            return False
        time.sleep(self.poll_s)
        if self._find_receipt(rec.id) is not None:
            return True
        self.journal.finish(rec.id, "dropped", reason="nonce used by a transaction that is not in the journal")
        return True

    def _rebroadcast(self, tx_id: int) -> None:
        attempts = self.journal.attempts(tx_id)
        if attempts:
            self._broadcast(attempts[-1][1])

    def _replace(self, tx_id: int) -> bool:
        """Re-sign the same nonce, gas and data with both fees bumped by 11 % (ceil); ``False`` if the bump
        would exceed ``max_gas_price``."""
        rec = self.journal.get(tx_id)
        attempts = self.journal.attempts(tx_id)
        if not attempts or rec.nonce is None:
            return False
        _, _, fee_cap, tip = attempts[-1]
        for _ in range(MAX_UNDERPRICED_BUMPS + 1):
            fee_cap, tip = _bump(fee_cap), _bump(tip)
            if self.max_gas_price is not None and fee_cap > self.max_gas_price:
                self.journal.note(tx_id, f"replacement gas price exceeds max gas price suggested={fee_cap} "
                                         f"max={self.max_gas_price}")
                return False
            with self.account_lock():
                tx_hash, raw = self._sign(tx_id, rec.nonce, fee_cap, tip)
                _fault("signed")
                err = self._broadcast(raw)
                _fault("sent")
            if err is None:
                return True
            low = err.lower()
            if "underpriced" in low:
                self.journal.drop_attempt(tx_hash)
                continue
            if "nonce too low" in low:
                self.journal.drop_attempt(tx_hash)  # mined already (ours or not): receipt lookup decides
                return True
            if "insufficient funds" in low:
                self.journal.drop_attempt(tx_hash)
                self.journal.note(tx_id, f"blocked: {err}")
                return False
            return True  # uncertain: keep it, it is one more hash to watch
        return False

    def _finalize(self, tx_id: int, r) -> Receipt:
        _fault("mined")
        tx_hash = _hex(r["transactionHash"])
        status, block, gas_used = int(r["status"]), int(r["blockNumber"]), int(r["gasUsed"])
        if status == 1:
            self.journal.finish(tx_id, "confirmed", final_hash=tx_hash, block=block, gas_used=gas_used)
            _fault("finalized")
            return Receipt(tx_id, bytes.fromhex(tx_hash[2:]), 1, block, gas_used, list(r["logs"]))
        reason = self.replay_reason(tx_id, r)
        self.journal.finish(tx_id, "failed", reason=reason, final_hash=tx_hash, block=block, gas_used=gas_used)
        _fault("finalized")
        raise TxFailed(reason, tx_hash)

    def replay_reason(self, tx_id: int, r) -> str:
        """The revert reason of a mined status-0 transaction: replay its call at the parent block, then at its
        own block (spec/chain.md §8.8)."""
        to, value, data, gas = self.journal.fields(tx_id)
        call = {"from": self.address, "to": to, "value": value, "data": data, "gas": gas}
        block = int(r["blockNumber"])
        for at in (block - 1, block):
            try:
                self.w3.eth.call(call, at)
            except Exception as exc:  # noqa: BLE001
                reason = revert_reason(exc)
                if reason is not None:
                    return reason
        if int(r["gasUsed"]) >= gas:
            return f"out of gas (used {r['gasUsed']} of {gas})"
        return "transaction failed (status 0) and the revert reason could not be replayed"

    # -- restart ------------------------------------------------------------------------------------------
    def reconcile(self, *, wait_s: float = 0.0) -> dict[str, int]:
        """Settle what a previous process left: ``queued`` rows (never signed) become ``dropped``;
        ``submitted`` rows are finished from their receipts, marked ``dropped`` if the nonce moved past them
        without any of their hashes, or rebroadcast and (with ``wait_s`` > 0) waited for."""
        out = {"dropped": 0, "settled": 0, "rebroadcast": 0, "waiting": 0}
        for tx_id in self.journal.in_flight(self.address):
            rec = self.journal.get(tx_id)
            if rec.state == "queued":
                self.journal.finish(tx_id, "dropped", reason="never sent (the process stopped before signing)")
                out["dropped"] += 1
                continue
            r = self._find_receipt(tx_id)
            if r is not None:
                try:
                    self._finalize(tx_id, r)
                except TxFailed:
                    pass
                out["settled"] += 1
                continue
            mined = int(self.w3.eth.get_transaction_count(self.address, "latest"))
            if rec.nonce is not None and mined > rec.nonce:
                self.journal.finish(tx_id, "dropped", reason="nonce used by a transaction that is not in the journal")
                out["dropped"] += 1
                continue
            self._rebroadcast(tx_id)
            out["rebroadcast"] += 1
        if wait_s > 0:
            for tx_id in self.journal.in_flight(self.address):
                try:
                    self.wait(tx_id, timeout_s=wait_s)
                    out["settled"] += 1
                except (ChainError, BrokerRevert):
                    out["waiting"] += 1
        return out


def _bump(v: int) -> int:
    return -(-v * (100 + PRICE_BUMP_PERCENT) // 100)


class TxFailed(BrokerRevert):
    """A mined transaction with status 0: ``reason`` is the replayed revert string, ``tx_hash`` the mined hash."""

    def __init__(self, reason: str, tx_hash: str):
        super().__init__(reason)
        self.tx_hash = tx_hash


def revert_reason(exc: BaseException) -> str | None:
    """The contract's revert string from a web3 call/estimate error, or ``None`` if it is not a revert."""
    try:
        from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, (ContractLogicError, ContractPanicError, ContractCustomError)):
        msg = exc.message if getattr(exc, "message", None) else str(exc)
        if isinstance(msg, tuple):
            msg = msg[0]
        msg = str(msg)
        for prefix in ("execution reverted: ", "execution reverted:"):
            if msg.startswith(prefix):
                return msg[len(prefix):].strip() or "execution reverted"
        return msg
    text = _error_text(exc)
    if text.startswith("execution reverted"):
        return text.partition(":")[2].strip() or "execution reverted"
    return None


def raise_revert(exc: BaseException) -> None:
    reason = revert_reason(exc)
    if reason is not None:
        raise BrokerRevert(reason) from exc


__all__ = ["TxJournal", "TxSender", "TxRecord", "Receipt", "TxFailed", "NODE_ERRORS", "revert_reason", "FAULT_HOOK"]
