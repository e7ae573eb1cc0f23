"""Orchestrator side of PM: advertise ticket params, receive and validate tickets (spec/pm.md §4, §6;
go-livepeer ``pm/recipient.go`` and ``core/orchestrator.go`` ``ProcessPayment``).

API::

    Recipient(address, sender_monitor, time_source, *, secret=None, ev=8_000_000_000, redeem_gas=1_200_000,
              tx_cost_multiplier=100, gas_price=None, max_face_value=0, validator=None, rng=None)
    Recipient.ticket_params(sender: bytes, price: Fraction) -> TicketParams
    Recipient.receive_ticket(ticket, sig: bytes, seed: int) -> ReceiveResult(session_id, won, error)
    Recipient.receive_payment(payment: Payment) -> PaymentResult
    Recipient.redeem_winning_ticket(ticket, sig: bytes, seed: int) -> None     # queue it (durable)
    Recipient.tx_cost_multiplier(sender) -> Fraction ; Recipient.ev -> Fraction
    Recipient.on_new_l1_block(block) -> None                                    # replay-map cleanup

Errors follow go-livepeer: fatal ones raise :class:`~lpcore.pm.errors.FatalReceiveError` (wrapping the
cause); non-fatal ones (invalid signature, replayed nonce, too many nonces, expired params) are *returned* in
``ReceiveResult.error`` together with ``won``, because a winning ticket must still be queued (§6.1).

:meth:`receive_payment` is the batch path: the HMAC, sender validation and the shared validator checks run
once per payment; all signatures are verified with one ``verify_batch`` call and all lottery draws made with
one ``is_winning_batch`` call; then the per-ticket protocol logic (nonce replay map, sticky errors, crediting,
queueing winners) runs in order exactly as ``ProcessPayment`` does. Winners are stored in the durable queue
in one transaction before the call returns. :meth:`receive_ticket` is the same path with one ticket.

Differences from go-livepeer, on purpose: sender validation and the HMAC run once per payment instead of once
per ticket (identical results unless the sender's on-chain state changes within one payment). The replay map is
in memory, as in go-livepeer: an orchestrator restarted with the *same* secret would accept replays of
still-unexpired params again (credit only - the signature-keyed queue and the broker's used-ticket set still
stop a second redemption); with the default random secret old params simply stop validating.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from fractions import Fraction
import random
from typing import TYPE_CHECKING, Callable, NamedTuple

import numpy as np

from . import errors as E
from .crypto import recipient_rand_hash, to_checksum_address
from .params import (
    DEFAULT_TICKET_EV,
    MAX_SENDER_NONCES,
    PARAMS_EXPIRATION_BLOCK,
    REDEEM_GAS_L2,
    TX_COST_MULTIPLIER,
    ZERO_HASH,
    TicketExpirationParams,
    TicketParams,
    face_value_for,
    recipient_rand,
    ticket_ev,
    win_prob_for,
)
from .payment import Payment
from .queue import SignedTicket
from .ticket import Ticket
from .validator import Validator

if TYPE_CHECKING:  # broker imports pm: the interfaces are only named here, never imported at run time
    from ..broker.base import TimeSource
    from .monitor import SenderMonitor


class ReceiveResult(NamedTuple):
    """go-livepeer's ``(sessionID, won, err)``: ``session_id`` is set only for winners; ``error`` is a
    non-fatal error or ``None``."""

    session_id: str
    won: bool
    error: Exception | None


@dataclass
class PaymentResult:
    """Outcome of :meth:`Recipient.receive_payment`."""

    tickets: int = 0
    credited_tickets: int = 0
    credited_ev: Fraction = Fraction(0)
    winners: list = field(default_factory=list)      # SignedTicket, queued for redemption
    error: Exception | None = None                   # first non-fatal error (sticky)
    errors: list = field(default_factory=list)       # every non-fatal error, in ticket order (index, error)


@dataclass
class _NonceEntry:
    seen: set
    expiration_block: int


class Recipient:
    """An orchestrator's PM recipient. Thread-safe; the replay map is guarded by one lock."""

    def __init__(
        self,
        address: bytes,
        sender_monitor: SenderMonitor,
        time_source: TimeSource,
        *,
        secret: bytes | None = None,
        ev: int = DEFAULT_TICKET_EV,
        redeem_gas: int = REDEEM_GAS_L2,
        tx_cost_multiplier: int = TX_COST_MULTIPLIER,
        gas_price: int | Callable[[], int | None] | None = None,
        max_face_value: int = 0,
        validator: Validator | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if secret is None:
            secret = secrets.token_bytes(32)
        if not isinstance(secret, (bytes, bytearray)) or len(secret) != 32:
            raise ValueError("secret must be 32 bytes")
        self.address = bytes(address)
        if len(self.address) != 20:
            raise ValueError("address must be 20 bytes")
        self.sender_monitor = sender_monitor
        self.time_source = time_source
        self.secret = bytes(secret)
        self._ev = ev
        self.redeem_gas = redeem_gas
        self._tx_cost_multiplier = tx_cost_multiplier
        self._gas_price = gas_price
        self.max_face_value = max_face_value
        self.validator = validator or Validator()
        # The seed is public (go-livepeer draws it from math/rand); secrecy comes from the HMAC key. An injected
        # ``random.Random`` makes runs reproducible.
        self._rng = rng
        self._nonces: dict[str, _NonceEntry] = {}
        self._lock = threading.Lock()
        self._unsubscribe = time_source.subscribe_l1_blocks(self.on_new_l1_block)

    # -- params (spec/pm.md §4) ----------------------------------------------------------------------------

    @property
    def ev(self) -> Fraction:
        return Fraction(self._ev)

    def gas_price(self) -> int | None:
        return self._gas_price() if callable(self._gas_price) else self._gas_price

    def _face_value(self, sender: bytes) -> int:
        return face_value_for(
            ev=self._ev, max_float=lambda: self.sender_monitor.max_float(sender), gas_price=self.gas_price(),
            redeem_gas=self.redeem_gas, tx_cost_multiplier=self._tx_cost_multiplier, max_face_value=self.max_face_value,
        )

    def tx_cost_multiplier(self, sender: bytes) -> Fraction:
        fv = self._face_value(sender)
        tx_cost = self.redeem_gas * (self.gas_price() or 0)
        return Fraction(0) if tx_cost <= 0 else Fraction(fv, tx_cost)

    def expiration_params(self) -> TicketExpirationParams:
        """Last initialized round and its hash; the previous round when that hash is zero (Arbitrum quirk)."""
        ts = self.time_source
        rnd, h = ts.last_initialized_round(), bytes(ts.last_initialized_l1_block_hash())
        if h == ZERO_HASH:
            rnd, h = rnd - 1, bytes(ts.pre_last_initialized_l1_block_hash())
        return TicketExpirationParams(rnd, h)

    def ticket_params(self, sender: bytes, price: Fraction) -> TicketParams:
        """``TicketParams(sender, price)`` (spec/pm.md §4.2): fresh seed, face value, win prob, commitment."""
        sender = bytes(sender)
        price = Fraction(price)
        seed = self._rng.getrandbits(256) if self._rng is not None else int.from_bytes(secrets.token_bytes(32), "big")
        face_value = self._face_value(sender) if price.numerator > 0 else 0
        expiration_block = self.time_source.last_seen_l1_block() + PARAMS_EXPIRATION_BLOCK
        win_prob = win_prob_for(face_value, self._ev)
        ep = self.expiration_params()
        rand = recipient_rand(self.secret, seed, sender, face_value, win_prob, expiration_block, price,
                              ep.creation_round, ep.creation_round_block_hash)
        return TicketParams(
            recipient=self.address, face_value=face_value, win_prob=win_prob,
            recipient_rand_hash=recipient_rand_hash(rand), seed=seed, expiration_block=expiration_block,
            price_per_pixel=price, expiration_params=ep,
        )

    # -- receiving (spec/pm.md §6) -------------------------------------------------------------------------

    def _receive(self, *, recipient: bytes, sender: bytes, face_value: int, win_prob: int, recipient_rand_hash: bytes,
                 expiration_block: int, price: Fraction, creation_round: int, creation_round_block_hash: bytes,
                 seed: int, nonces, sigs) -> tuple[int, list[ReceiveResult], object]:
        """``ReceiveTicket`` for tickets sharing every field but (nonce, sig); raises FatalReceiveError."""
        rand = recipient_rand(self.secret, seed, sender, face_value, win_prob, expiration_block, price,
                              creation_round, creation_round_block_hash)
        try:
            self.sender_monitor.validate_sender(sender)
        except Exception as err:  # noqa: BLE001 - every sender-validation failure is fatal (§6.2 step 2)
            raise E.FatalReceiveError(err) from err
        try:
            self.validator.check_shared(self.address, recipient, sender, rand, recipient_rand_hash)
        except E.TicketValidationError as err:
            raise E.FatalReceiveError(err) from err
        check = self.validator.validate_batch(
            recipient=recipient, sender=sender, face_value=face_value, win_prob=win_prob, sender_nonces=nonces,
            recipient_rand_hash=recipient_rand_hash, creation_round=creation_round,
            creation_round_block_hash=creation_round_block_hash, sigs=sigs, recipient_rand=rand,
        )
        session_id = "0x" + bytes(recipient_rand_hash).hex()
        key = str(rand)
        expired = expiration_block <= self.time_source.last_seen_l1_block()
        sender_hex = None
        results: list[ReceiveResult] = []
        valid, won = check.sig_valid.tolist(), check.won.tolist()
        with self._lock:
            for i, nonce in enumerate(np.asarray(nonces, dtype=np.int64).tolist()):
                if not valid[i]:
                    results.append(ReceiveResult("", False, E.InvalidTicketSignature()))
                    continue
                sid = session_id if won[i] else ""
                entry = self._nonces.get(key)
                if entry is None:
                    entry = self._nonces[key] = _NonceEntry(set(), expiration_block)
                elif nonce in entry.seen:
                    sender_hex = sender_hex or to_checksum_address(sender)
                    results.append(ReceiveResult(sid, won[i], E.NonceAlreadySeen(sender_hex, nonce)))
                    continue
                if len(entry.seen) >= MAX_SENDER_NONCES:
                    sender_hex = sender_hex or to_checksum_address(sender)
                    results.append(ReceiveResult(sid, won[i], E.TooManyNonces(sender_hex, nonce)))
                    continue
                entry.seen.add(nonce)
                results.append(ReceiveResult(sid, won[i], E.TicketParamsExpired() if expired else None))
        return rand, results, check

    def receive_ticket(self, ticket, sig: bytes, seed: int) -> ReceiveResult:
        """``ReceiveTicket`` (spec/pm.md §6.2) for one ticket; raises FatalReceiveError for fatal errors."""
        _, results, _ = self._receive(
            recipient=ticket.recipient, sender=ticket.sender, face_value=ticket.face_value, win_prob=ticket.win_prob,
            recipient_rand_hash=ticket.recipient_rand_hash, expiration_block=ticket.params_expiration_block,
            price=ticket.price_per_pixel, creation_round=ticket.creation_round,
            creation_round_block_hash=ticket.creation_round_block_hash, seed=seed, nonces=[ticket.sender_nonce],
            sigs=[bytes(sig)],
        )
        return results[0]

    def receive_payment(self, payment: Payment) -> PaymentResult:
        """``ProcessPayment`` step 5 for a whole payment (see module docstring)."""
        if len(payment.sender) == 0:
            raise E.PaymentError(f"Could not find Sender for payment: {payment!r}")
        tp, ep = payment.ticket_params, payment.expiration_params
        is_active = getattr(getattr(self.sender_monitor, "broker", None), "is_active_transcoder", None)
        if is_active is not None and not is_active(tp.recipient):
            raise E.PaymentError(
                f"orchestrator {to_checksum_address(tp.recipient)} is inactive in round "
                f"{self.time_source.last_initialized_round()}, cannot process payments"
            )
        if payment.expected_price is None:  # the wire Payment carried no expected_price
            raise E.PaymentError('invalid expected price sent with payment err="expected price is nil"')
        price = Fraction(payment.expected_price)
        rand, results, check = self._receive(
            recipient=tp.recipient, sender=payment.sender, face_value=tp.face_value, win_prob=tp.win_prob,
            recipient_rand_hash=tp.recipient_rand_hash, expiration_block=tp.expiration_block, price=price,
            creation_round=ep.creation_round, creation_round_block_hash=ep.creation_round_block_hash, seed=tp.seed,
            nonces=payment.nonce_array(), sigs=payment.sigs,
        )
        out = PaymentResult(tickets=len(results))
        for i, r in enumerate(results):
            if r.error is not None:
                out.errors.append((i, r.error))
                if out.error is None:
                    out.error = r.error
            if out.error is None:
                out.credited_tickets += 1
            if r.won:
                ticket = Ticket(
                    recipient=tp.recipient, sender=payment.sender, face_value=tp.face_value, win_prob=tp.win_prob,
                    sender_nonce=int(payment.sender_nonces[i]), recipient_rand_hash=tp.recipient_rand_hash,
                    creation_round=ep.creation_round, creation_round_block_hash=ep.creation_round_block_hash,
                    params_expiration_block=tp.expiration_block, price_per_pixel=price,
                )
                out.winners.append(SignedTicket(ticket, check.sigs[i].tobytes(), rand))
        out.credited_ev = ticket_ev(tp.face_value, tp.win_prob) * out.credited_tickets
        if out.winners:
            self.sender_monitor.queue_tickets(out.winners)
        return out

    def redeem_winning_ticket(self, ticket, sig: bytes, seed: int) -> None:
        """``RedeemWinningTicket``: recompute recipientRand and queue the ticket (durably)."""
        rand = recipient_rand(self.secret, seed, ticket.sender, ticket.face_value, ticket.win_prob,
                              ticket.params_expiration_block, ticket.price_per_pixel, ticket.creation_round,
                              ticket.creation_round_block_hash)
        self.sender_monitor.queue_ticket(SignedTicket(ticket, bytes(sig), rand))

    # -- replay map ----------------------------------------------------------------------------------------

    def on_new_l1_block(self, block: int) -> None:
        """Drop replay-map entries whose params expired (``expiration_block <= block``)."""
        with self._lock:
            for key in [k for k, e in self._nonces.items() if e.expiration_block <= block]:
                del self._nonces[key]

    def nonce_map_size(self) -> tuple[int, int]:
        """``(recipientRand entries, nonces held)`` - for monitoring and tests."""
        with self._lock:
            return len(self._nonces), sum(len(e.seen) for e in self._nonces.values())

    def close(self) -> None:
        self._unsubscribe()

