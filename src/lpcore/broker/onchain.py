"""The on-chain TicketBroker: fund, redeem and withdraw on Livepeer's contract with web3 (spec/chain.md, pm.md §7).

``ChainBroker(rpc, *, ticket_broker=..., controller=..., key=... | keystore=..., password=..., journal=...)``
implements :class:`~lpcore.broker.base.Broker`, :class:`~lpcore.broker.base.TimeSource` and
:class:`~lpcore.broker.base.SenderInfoSource`, so ``pm.Recipient``, ``pm.SenderMonitor`` and
``pm.RedemptionQueue`` run on it exactly as on :class:`~lpcore.broker.LocalBroker`. Reads go through one
:class:`~lpcore.broker.rpc.ChainView`; writes through one :class:`~lpcore.broker.txn.TxSender` (durable journal,
EIP-1559 fees, replacement, reconciliation). The key signs locally and is never sent or logged.

Defaults are Arbitrum One: chain id 42161 (checked at start and stored in the journal - a journal never serves two
chains), the Controller ``0xD8E8…6ee4``; the TicketBroker is resolved through the Controller unless given.

Redemption: :meth:`redeem_winning_ticket` (one ticket) and :meth:`redeem_batch` (many, with
``batchRedeemWinningTickets``; each ticket is first checked with an ``eth_call`` of the single redemption so
failing ones never cost gas, and which ones were paid is read from the receipt's ``WinningTicketRedeemed``
events, since the contract swallows individual failures). A ticket already carried by an in-flight transaction
of the journal is waited for, never sent twice (spec/chain.md §8.15); a replay raises ``BrokerRevert("ticket is
used")`` as the contract (and LocalBroker) does, and :meth:`redemption_tx` answers "which of our transactions paid
this ticket" (the queue uses it after a crash).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Sequence

from ..errors import BrokerRevert
from .base import Broker, SenderInfo, TimeSource, wei_amount
from .rpc import (
    ARBITRUM_ONE_CHAIN_ID,
    ARBITRUM_ONE_CONTROLLER,
    ChainArgumentError,
    ChainError,
    ChainView,
    checksum_address,
)
from .txn import TxFailed, TxJournal, TxSender, revert_reason

DEFAULT_BATCH_SIZE = 20


def _is_file(p) -> bool:
    try:
        return Path(p).is_file()
    except (OSError, ValueError):  # JSON text or a password is not a path (too long, NUL bytes)
        return False


def load_account(key: Any = None, keystore: Any = None, password: Any = None):
    """An eth-account ``LocalAccount`` from a raw key (32 bytes or hex) or a keystore (path, JSON text or dict)
    with ``password`` (text, or a path to a file holding it)."""
    from eth_account import Account

    if (key is None) == (keystore is None):
        raise ChainArgumentError("give exactly one of key= or keystore=")
    if key is not None:
        if isinstance(key, str):
            try:
                key = bytes.fromhex(key[2:] if key.startswith("0x") else key)
            except ValueError:
                raise ChainArgumentError("key must be a 32-byte private key (hex)") from None
        if not isinstance(key, (bytes, bytearray)) or len(key) != 32:
            raise ChainArgumentError("key must be a 32-byte private key")
        return Account.from_key(bytes(key))
    if isinstance(keystore, (str, Path)) and _is_file(keystore):
        keystore = Path(keystore).read_text()
    if password is None:
        raise ChainArgumentError("a keystore needs password=")
    if isinstance(password, Path) or (isinstance(password, str) and _is_file(password)):
        password = Path(password).read_text().rstrip("\n")
    from ..signer.keys import decrypt_keystore  # the one keystore reader (the signer's)

    try:
        return Account.from_key(decrypt_keystore(keystore, password))
    except ValueError as exc:
        raise ChainArgumentError(f"could not decrypt the keystore: {exc}") from None


class ChainBroker(Broker, TimeSource):
    """Livepeer's TicketBroker on a JSON-RPC node (see module docstring).

    Options: ``chain_id`` (default 42161; ``None`` accepts the node's), ``journal`` (SQLite path of the
    transaction journal; ``":memory:"`` is not crash-safe), ``max_gas_price`` (wei ceiling), ``gas_margin``
    (estimate multiplier, default 1.2), ``tx_timeout_s`` / ``max_replacements`` / ``poll_s`` /
    ``confirmations`` (the sender's watch policy), ``batch_size`` (tickets per batch transaction).
    Without a key the broker is read-only (status, reads); writes raise :class:`ChainError`. With a key the
    journal is reconciled at construction (``reconcile=False`` skips it): receipts of what a previous process left
    in flight are read, never-signed rows dropped, signed ones rebroadcast.
    """

    def __init__(self, rpc: Any, *, ticket_broker: bytes | str | None = None,
                 controller: bytes | str = ARBITRUM_ONE_CONTROLLER, key: Any = None, keystore: Any = None,
                 password: Any = None, chain_id: int | None = ARBITRUM_ONE_CHAIN_ID, journal: Any = ":memory:",
                 max_gas_price: int | None = None, gas_margin: float = 1.2, tx_timeout_s: float = 300.0,
                 max_replacements: int = 1, poll_s: float = 1.0, confirmations: int = 1,
                 batch_size: int = DEFAULT_BATCH_SIZE, timeout_s: float = 20.0, reconcile: bool = True):
        if isinstance(controller, str):
            controller = bytes.fromhex(controller[2:] if controller.startswith("0x") else controller)
        if isinstance(ticket_broker, str):
            ticket_broker = bytes.fromhex(ticket_broker[2:] if ticket_broker.startswith("0x") else ticket_broker)
        self.view = ChainView(rpc, controller=controller, ticket_broker=ticket_broker, timeout_s=timeout_s)
        self.w3 = self.view.w3
        self.contract = self.view.ticket_broker
        self.address_hex = self.contract.address
        node_chain = int(self.w3.eth.chain_id)
        if chain_id is not None and node_chain != chain_id:
            raise ChainError(f"expecting chainID of {chain_id}, but got {node_chain}")
        self.chain_id = node_chain
        self.journal = TxJournal(journal)
        stored = self.journal.meta("chain_id")
        if stored is None:
            self.journal.set_meta("chain_id", str(node_chain))
        elif int(stored) != node_chain:
            raise ChainError(f"the journal {journal} belongs to chain {stored}, but the node is on {node_chain}")
        self.batch_size = batch_size
        self.last_batch_results: list[str | None] = []
        self._redeem_lock = threading.Lock()
        self.account = None if key is None and keystore is None else load_account(key, keystore, password)
        self.sender = None
        if self.account is not None:
            self.sender = TxSender(self.w3, self.account, self.journal, chain_id=node_chain,
                                   max_gas_price=max_gas_price, gas_margin=gas_margin, tx_timeout_s=tx_timeout_s,
                                   max_replacements=max_replacements, poll_s=poll_s, confirmations=confirmations)
            if reconcile:  # settle what a previous process left in flight (spec/chain.md §8.11)
                self.reconcile()

    def __repr__(self) -> str:  # never the key
        who = self.account.address if self.account is not None else "read-only"
        return f"ChainBroker(chain_id={self.chain_id}, ticket_broker={self.address_hex}, account={who})"

    def close(self) -> None:
        self.view.close()
        self.journal.close()

    @property
    def address(self) -> bytes | None:
        """The configured account (20 bytes), or ``None`` when read-only."""
        return None if self.account is None else bytes.fromhex(self.account.address[2:])

    def _require_sender(self) -> TxSender:
        if self.sender is None:
            raise ChainError("no key configured: this ChainBroker is read-only")
        return self.sender

    # -- TimeSource / SenderInfoSource / reads (delegated to the one chain view) ---------------------------
    def last_seen_l1_block(self) -> int:
        return self.view.last_seen_l1_block()

    def last_initialized_round(self) -> int:
        return self.view.last_initialized_round()

    def last_initialized_l1_block_hash(self) -> bytes:
        return self.view.last_initialized_l1_block_hash()

    def pre_last_initialized_l1_block_hash(self) -> bytes:
        return self.view.pre_last_initialized_l1_block_hash()

    def subscribe_l1_blocks(self, callback):
        return self.view.subscribe_l1_blocks(callback)

    def current_round(self) -> int:
        return self.view.current_round()

    def current_round_initialized(self) -> bool:
        return self.view.current_round_initialized()

    def block_hash_for_round(self, round_: int) -> bytes:
        return self.view.block_hash_for_round(round_)

    def get_sender_info(self, sender: bytes) -> SenderInfo:
        return self.view.get_sender_info(sender)

    def claimed_reserve(self, reserve_holder: bytes, claimant: bytes) -> int:
        return self.view.claimed_reserve(reserve_holder, claimant)

    def claimable_reserve(self, reserve_holder: bytes, claimant: bytes) -> int:
        return self.view.claimable_reserve(reserve_holder, claimant)

    def is_used_ticket(self, ticket_hash: bytes) -> bool:
        return self.view.is_used_ticket(ticket_hash)

    def transcoder_pool_size(self) -> int:
        return self.view.transcoder_pool_size()

    def is_active_transcoder(self, address: bytes) -> bool:
        return self.view.is_active_transcoder(address)

    @property
    def ticket_validity_period(self) -> int:
        return self.view.ticket_validity_period()

    @property
    def unlock_period(self) -> int:
        return self.view.unlock_period()

    def gas_price(self) -> int:
        return self.view.gas_price()

    def balance(self, address: bytes | None = None) -> int:
        """ETH balance (wei) of ``address`` (default: the configured account)."""
        address = address if address is not None else self.address
        return int(self.w3.eth.get_balance(checksum_address(address)))

    def ticket_hash(self, ticket) -> bytes:
        """The contract's ``getTicketHash`` (for cross-checks; lpcore computes ``Ticket.hash()`` natively)."""
        return bytes(self.contract.functions.getTicketHash(self._ticket_tuple(ticket)).call())

    # -- gateway operations (spec/pm.md §7.7) ------------------------------------------------------------
    def _transact(self, kind: str, fn, value: int = 0, tickets: Sequence[bytes] = ()):
        sender = self._require_sender()
        data = bytes.fromhex(fn._encode_transaction_data()[2:])
        return sender.send(kind, self.address_hex, value, data, tickets=tickets)

    def fund_deposit(self, amount: int) -> bytes:
        """``fundDeposit()`` with ``msg.value = amount``; returns the tx hash once final."""
        return self._transact("fundDeposit", self.contract.functions.fundDeposit(), _wei(amount)).tx_hash

    def fund_reserve(self, amount: int) -> bytes:
        return self._transact("fundReserve", self.contract.functions.fundReserve(), _wei(amount)).tx_hash

    def fund_deposit_and_reserve(self, deposit: int, reserve: int) -> bytes:
        """``fundDepositAndReserve(d, r)`` with ``msg.value = d + r`` exactly."""
        d, r = _wei(deposit), _wei(reserve)
        return self._transact("fundDepositAndReserve", self.contract.functions.fundDepositAndReserve(d, r),
                              d + r).tx_hash

    def unlock(self) -> bytes:
        return self._transact("unlock", self.contract.functions.unlock()).tx_hash

    def cancel_unlock(self) -> bytes:
        return self._transact("cancelUnlock", self.contract.functions.cancelUnlock()).tx_hash

    def withdraw(self) -> bytes:
        return self._transact("withdraw", self.contract.functions.withdraw()).tx_hash

    # -- redemption (spec/pm.md §7.4-§7.6) -----------------------------------------------------------------
    @staticmethod
    def _ticket_tuple(t) -> tuple:
        return (checksum_address(t.recipient), checksum_address(t.sender), t.face_value, t.win_prob, t.sender_nonce,
                bytes(t.recipient_rand_hash), t.aux_data())

    def _check_one(self, t, sig: bytes, rand: int) -> str | None:
        """``eth_call`` of the single redemption from our account: ``None`` if it would pass, else the reason."""
        who = self.account.address if self.account is not None else None
        try:
            self.contract.functions.redeemWinningTicket(self._ticket_tuple(t), bytes(sig), rand).call(
                {"from": who} if who else {})
        except Exception as exc:  # noqa: BLE001
            reason = revert_reason(exc)
            if reason is None:
                raise ChainError(f"eth_call failed: {exc}") from exc
            return reason
        return None

    def _await_in_flight(self, ticket_hash: bytes) -> bytes | None:
        """If a journal transaction carrying this ticket is in flight, wait for it; return the hash of the
        transaction that paid the ticket, if one did."""
        sender = self._require_sender()
        for tx_id, state, _, _ in self.journal.ticket_txs(ticket_hash):
            if state in ("queued", "submitted"):
                try:
                    r = sender.wait(tx_id)
                    self._record_outcomes(tx_id, r.logs if r.logs else self._logs(r.tx_hash))
                except (BrokerRevert, ChainError):
                    pass
        return self.redemption_tx(ticket_hash)

    def _logs(self, tx_hash: bytes) -> list:
        return list(self.w3.eth.get_transaction_receipt("0x" + tx_hash.hex())["logs"])

    def _paid_hashes(self, logs: list) -> set[bytes]:
        """Ticket hashes paid in a receipt: each ``WinningTicketRedeemed`` event of our TicketBroker carries
        every field of the ticket but the recipientRandHash, which is ``keccak256(recipientRand)``."""
        from lpcore import pm

        out = set()
        from web3.logs import DISCARD  # web3 loads with the broker's first use, not with `import lpcore.broker`

        for e in self.contract.events.WinningTicketRedeemed().process_receipt({"logs": logs}, errors=DISCARD):
            if e.address != self.address_hex:
                continue
            a, aux = e.args, bytes(e.args.auxData)
            try:
                t = pm.Ticket(recipient=bytes.fromhex(a.recipient[2:]), sender=bytes.fromhex(a.sender[2:]),
                              face_value=a.faceValue, win_prob=a.winProb, sender_nonce=a.senderNonce,
                              recipient_rand_hash=pm.recipient_rand_hash(a.recipientRand),
                              creation_round=int.from_bytes(aux[:32], "big") if len(aux) == 64 else 0,
                              creation_round_block_hash=aux[32:] if len(aux) == 64 else b"\0" * 32)
            except (ValueError, TypeError):  # not a ticket lpcore could have made
                continue
            out.add(t.hash())
        return out

    def _record_outcomes(self, tx_id: int, logs: list) -> dict[int, bool]:
        """Mark each ticket of ``tx_id`` paid / unpaid from the receipt's WinningTicketRedeemed events."""
        paid_set = self._paid_hashes(logs)
        paid = {idx: h in paid_set for idx, h, _ in self.journal.tickets_of(tx_id)}
        rec = self.journal.get(tx_id)
        self.journal.finish(tx_id, rec.state, reason=rec.reason, final_hash=rec.final_hash, block=rec.block,
                            gas_used=rec.gas_used, outcomes={i: ("paid" if p else "unpaid") for i, p in paid.items()})
        return paid

    def redemption_tx(self, ticket_hash: bytes) -> bytes | None:
        """The hash of the journal transaction that paid ``ticket_hash`` (settling journal rows a crash left
        unread first); ``None`` if none of ours did."""
        ticket_hash = bytes(ticket_hash)
        for tx_id, state, final_hash, outcome in self.journal.ticket_txs(ticket_hash):
            if state == "confirmed" and outcome is None:  # crash between the receipt and the bookkeeping
                paid = self._record_outcomes(tx_id, self._logs(bytes.fromhex(final_hash[2:])))
                idx = [i for i, h, _ in self.journal.tickets_of(tx_id) if h == ticket_hash]
                outcome = "paid" if any(paid[i] for i in idx) else "unpaid"
            if state == "confirmed" and outcome == "paid":
                return bytes.fromhex(final_hash[2:])
        return None

    def reconcile(self, *, wait_s: float = 0.0) -> dict[str, int]:
        """Settle the journal after a restart (see :meth:`TxSender.reconcile`); redemption rows whose receipt
        is found get their per-ticket outcomes from the chain."""
        out = self._require_sender().reconcile(wait_s=wait_s)
        for rec in self.journal.recent(self.sender.address, limit=1000):
            if rec.state == "confirmed" and rec.final_hash:
                tickets = self.journal.tickets_of(rec.id)
                if tickets and any(o is None for _, _, o in tickets):
                    self._record_outcomes(rec.id, self._logs(bytes.fromhex(rec.final_hash[2:])))
        return out

    def redeem_winning_ticket(self, ticket, sig: bytes, recipient_rand: int) -> bytes:
        """Redeem one ticket; returns the hash of the transaction that paid it. Raises :class:`BrokerRevert`
        with the contract's reason (from ``eth_estimateGas`` before sending, or the replayed failed receipt)."""
        results = self.redeem_batch([ticket], [sig], [recipient_rand], batch=False)
        tx, err = results[0]
        if err is not None:
            raise err
        return tx

    def batch_redeem_winning_tickets(self, tickets: Sequence, sigs: Sequence[bytes],
                                     recipient_rands: Sequence[int]) -> bytes:
        """``batchRedeemWinningTickets``; per-ticket outcomes in ``last_batch_results`` (``None`` = paid, else
        the reason). Returns the batch transaction's hash (zero hash if no ticket could be sent)."""
        results = self.redeem_batch(tickets, sigs, recipient_rands)
        self.last_batch_results = [None if err is None else str(err) for _, err in results]
        txs = [tx for tx, err in results if tx is not None]
        return txs[0] if txs else b"\0" * 32

    def redeem_batch(self, tickets: Sequence, sigs: Sequence[bytes], recipient_rands: Sequence[int], *,
                     batch: bool = True) -> list[tuple[bytes | None, BaseException | None]]:
        """Redeem tickets; returns ``(tx_hash, None)`` for each paid ticket and ``(None, error)`` otherwise.

        Each ticket is pre-checked with an ``eth_call`` (a revert is its error and costs no gas; a replay gets
        the contract's ``ticket is used``, and :meth:`redemption_tx` tells whether we paid it); a ticket in an
        in-flight journal transaction is waited for instead of being sent again; the rest go in chunks of
        ``batch_size`` (one ticket: ``redeemWinningTicket``; more: ``batchRedeemWinningTickets``).
        """
        if not (len(tickets) == len(sigs) == len(recipient_rands)):
            raise ChainArgumentError("tickets, sigs and recipient_rands must have the same length")
        self._require_sender()
        out: list[tuple[bytes | None, BaseException | None]] = [(None, None)] * len(tickets)
        with self._redeem_lock:
            todo = []
            for i, t in enumerate(tickets):
                h = t.hash()
                if self.journal.ticket_txs(h):  # never two transactions in flight for one ticket
                    self._await_in_flight(h)  # then the contract itself answers ("ticket is used" if paid)
                # one ticket: its gas estimate is the check; several: check each so one bad ticket never
                # rides in a batch (it would cost gas and tell nothing)
                reason = self._check_one(t, sigs[i], recipient_rands[i]) if len(tickets) > 1 else None
                if reason is not None:
                    out[i] = (None, BrokerRevert(reason))
                    continue
                todo.append(i)
            step = self.batch_size if batch else 1
            for k in range(0, len(todo), max(1, step)):
                chunk = todo[k:k + max(1, step)]
                self._send_redemption(chunk, tickets, sigs, recipient_rands, out)
        return out

    def _send_redemption(self, chunk, tickets, sigs, rands, out) -> None:
        ts = [tickets[i] for i in chunk]
        if len(chunk) == 1:
            fn = self.contract.functions.redeemWinningTicket(self._ticket_tuple(ts[0]), bytes(sigs[chunk[0]]),
                                                             rands[chunk[0]])
            kind = "redeemWinningTicket"
        else:
            fn = self.contract.functions.batchRedeemWinningTickets(
                [self._ticket_tuple(t) for t in ts], [bytes(sigs[i]) for i in chunk], [rands[i] for i in chunk])
            kind = "batchRedeemWinningTickets"
        data = bytes.fromhex(fn._encode_transaction_data()[2:])
        hashes = [t.hash() for t in ts]
        sender = self._require_sender()
        try:
            gas = sender.estimate(self.address_hex, 0, data)
            fee_cap, tip = sender.fees()
        except (BrokerRevert, ChainError) as err:
            for i in chunk:
                out[i] = (None, err)
            return
        tx_id = sender.journal.record(sender.address, kind, self.address_hex, 0, data, gas, hashes)
        from . import txn

        txn._fault("recorded")
        try:
            sender._sign_and_send(tx_id, fee_cap, tip)
            r = sender.wait(tx_id)
        except TxFailed as err:
            sender.journal.finish(tx_id, "failed", reason=err.reason, final_hash=err.tx_hash,
                                  outcomes={j: "unpaid" for j in range(len(chunk))})
            for i in chunk:
                out[i] = (None, err)
            return
        except (BrokerRevert, ChainError) as err:
            for i in chunk:
                out[i] = (None, err)
            return
        paid = self._record_outcomes(tx_id, r.logs)
        for j, i in enumerate(chunk):
            if paid[j]:
                out[i] = (r.tx_hash, None)
            else:  # swallowed by the batch: ask the contract why (the reason classifies the retry)
                reason = self._check_one(tickets[i], sigs[i], rands[i]) or "ticket not paid by the batch transaction"
                out[i] = (None, BrokerRevert(reason))


def _wei(v) -> int:
    return wei_amount("amount", v, ChainArgumentError)
