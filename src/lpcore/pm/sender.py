"""Gateway (broadcaster) side of PM: sessions, nonces and signed ticket batches (spec/pm.md §5).

API (exact signatures; the remote signer codes against them)::

    Sender(signer, time_source, sender_info_source, *, max_ev=Fraction(3_000_000_000_000),
           max_total_ev=Fraction(20_000_000_000_000), deposit_multiplier=1)
    Sender.address -> bytes                                   # 20-byte sender address (signer.address)
    Sender.start_session(ticket_params: TicketParams) -> str  # session id = "0x" + 64 hex of recipient_rand_hash
    Sender.start_session_with_nonce(ticket_params: TicketParams, nonce: int) -> str
    Sender.cleanup_session(session_id: str) -> None
    Sender.create_ticket_batch(session_id: str, size: int) -> Payment
    Sender.validate_ticket_params(ticket_params: TicketParams | None) -> None     # raises (numTickets = 1)
    Sender.validate_ticket_params_for(ticket_params: TicketParams | None, num_tickets: int) -> None
    Sender.ev(session_id: str) -> Fraction
    Sender.nonce(session_id: str) -> int                      # last nonce handed out (0 = none yet)

- ``signer``: any object with ``.address`` (20 bytes) and ``.sign_batch(hashes (N,32)) -> (N,65)``, normally
  :class:`lpcore.pm.Signer`.
- ``time_source``: :class:`lpcore.broker.TimeSource` (``last_seen_l1_block()``, ``last_initialized_round()``,
  ``last_initialized_l1_block_hash()``), e.g. :class:`lpcore.broker.Chain` or
  :class:`lpcore.broker.StaticChainView`.
- ``sender_info_source``: :class:`lpcore.broker.SenderInfoSource` (``get_sender_info(address)``), e.g.
  :class:`lpcore.broker.LocalBroker` or a ``StaticChainView``.

Semantics (go-livepeer ``pm/sender.go``): a session is keyed by the params' ``recipient_rand_hash``;
``start_session`` stores nonce 0 and overwrites an existing session (so nonces restart); each ticket takes the
next nonce, so the first ticket of a session has nonce 1; nonces wrap at 2**32. ``create_ticket_batch``
validates the params for ``size`` tickets (§5.3, raising :mod:`lpcore.pm.errors` classes with go-livepeer's
messages), fills in the sender's own creation round when the params carry none (§5.2), then hashes all
tickets with one columnar call and signs them with one ``sign_batch`` call. A missing session raises
:class:`~lpcore.pm.errors.SessionNotFound` (``"error loading session: %x"``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Protocol

import numpy as np

from . import errors as E
from .params import (
    DEFAULT_DEPOSIT_MULTIPLIER,
    DEFAULT_MAX_TICKET_EV,
    DEFAULT_MAX_TOTAL_EV,
    TicketExpirationParams,
    TicketParams,
    validate_ticket_params,
)
from .payment import Payment
from .ticket import ticket_hashes_columns

if TYPE_CHECKING:  # broker imports pm: the interfaces are only named here, never imported at run time
    from ..broker.base import SenderInfoSource, TimeSource


class BatchSigner(Protocol):
    """What a :class:`Sender` signs with: :class:`lpcore.pm.Signer`, or anything with the same two members
    (a remote key, a hardware wallet, a benchmark's reference loop)."""

    @property
    def address(self) -> bytes:
        """The 20-byte Ethereum address the signatures recover to."""
        ...

    def sign_batch(self, hashes: np.ndarray) -> np.ndarray:
        """EIP-191 signatures, ``(N, 65)`` uint8, of ``(N, 32)`` ticket hashes."""
        ...

_U32 = 2**32


@dataclass
class _Session:
    nonce: int
    params: TicketParams


class Sender:
    """A gateway's PM sender. Thread-safe: nonces are reserved atomically per batch."""

    def __init__(
        self,
        signer: BatchSigner,
        time_source: TimeSource,
        sender_info_source: SenderInfoSource,
        *,
        max_ev: Fraction | int = DEFAULT_MAX_TICKET_EV,
        max_total_ev: Fraction | int = DEFAULT_MAX_TOTAL_EV,
        deposit_multiplier: int = DEFAULT_DEPOSIT_MULTIPLIER,
    ) -> None:
        if not isinstance(deposit_multiplier, int) or deposit_multiplier < 1:
            raise ValueError(f"deposit_multiplier must be an int >= 1, got {deposit_multiplier!r}")
        self.signer = signer
        self.time_source = time_source
        self.sender_info_source = sender_info_source
        self.max_ev = Fraction(max_ev)
        self.max_total_ev = Fraction(max_total_ev)
        self.deposit_multiplier = deposit_multiplier
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    @property
    def address(self) -> bytes:
        return bytes(self.signer.address)

    # -- sessions ------------------------------------------------------------------------------------------

    def start_session(self, ticket_params: TicketParams) -> str:
        """Start (or restart, resetting the nonce to 0) the session for ``ticket_params``; returns its id."""
        return self.start_session_with_nonce(ticket_params, 0)

    def start_session_with_nonce(self, ticket_params: TicketParams, nonce: int) -> str:
        """Like :meth:`start_session` but the next ticket gets ``nonce + 1`` (the remote signer resumes a
        session from its round-tripped state this way)."""
        if not isinstance(ticket_params, TicketParams):
            raise TypeError("ticket_params must be a TicketParams")
        if isinstance(nonce, bool) or not isinstance(nonce, int) or not 0 <= nonce < _U32:
            raise ValueError(f"nonce must be a uint32, got {nonce!r}")
        sid = ticket_params.session_id
        with self._lock:
            self._sessions[sid] = _Session(nonce, ticket_params)
        return sid

    def cleanup_session(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def _load(self, session_id: str) -> _Session:
        with self._lock:
            s = self._sessions.get(session_id)
        if s is None:
            raise E.SessionNotFound(session_id)
        return s

    def ev(self, session_id: str) -> Fraction:
        return self._load(session_id).params.ev()

    def nonce(self, session_id: str) -> int:
        return self._load(session_id).nonce

    # -- validation and tickets ----------------------------------------------------------------------------

    def validate_ticket_params(self, ticket_params: TicketParams | None) -> None:
        """spec/pm.md §5.3 for a single ticket; raises the first failing check."""
        self.validate_ticket_params_for(ticket_params, 1)

    def validate_ticket_params_for(self, ticket_params: TicketParams | None, num_tickets: int) -> None:
        """spec/pm.md §5.3 for ``num_tickets`` tickets (what ``create_ticket_batch`` runs)."""
        ts = self.time_source
        validate_ticket_params(
            ticket_params,
            num_tickets,
            last_seen_l1_block=ts.last_seen_l1_block(),
            last_initialized_round=ts.last_initialized_round(),
            sender_info=lambda: self.sender_info_source.get_sender_info(self.address),
            max_ev=self.max_ev,
            max_total_ev=self.max_total_ev,
            deposit_multiplier=self.deposit_multiplier,
        )

    def _own_expiration_params(self) -> TicketExpirationParams:
        ts = self.time_source
        return TicketExpirationParams(ts.last_initialized_round(), bytes(ts.last_initialized_l1_block_hash()))

    def create_ticket_batch(self, session_id: str, size: int) -> Payment:
        """Validate, then create and sign ``size`` tickets for the session (spec/pm.md §5.2).

        Returns a :class:`~lpcore.pm.Payment` whose ``sender_nonces`` are ``n0+1 .. n0+size`` (mod 2**32) and
        whose ``sigs`` is an (size, 65) uint8 array; ``expected_price`` is the params' price."""
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"size must be a non-negative int, got {size!r}")
        session = self._load(session_id)
        params = session.params
        self.validate_ticket_params_for(params, size)
        expiration = params.expiration_params
        if expiration is None or not expiration.is_set():
            expiration = self._own_expiration_params()
        with self._lock:
            first = session.nonce
            session.nonce = (first + size) % _U32
        nonces = (np.arange(1, size + 1, dtype=np.uint64) + np.uint64(first)) % np.uint64(_U32)
        nonces = nonces.astype(np.uint32)
        sender = self.address
        hashes = ticket_hashes_columns(
            params.recipient,
            sender,
            params.face_value,
            params.win_prob,
            nonces,
            params.recipient_rand_hash,
            expiration.creation_round,
            expiration.creation_round_block_hash,
        )
        try:
            sigs = np.asarray(self.signer.sign_batch(hashes), dtype=np.uint8)
        except (ValueError, TypeError, RuntimeError, OSError) as err:
            raise E.TicketSigningError(session_id, err) from err
        return Payment(
            ticket_params=params,
            sender=sender,
            expiration_params=expiration,
            sender_nonces=nonces,
            sigs=sigs,
            expected_price=params.price_per_pixel,
        )
