"""Livepeer probabilistic micropayments (spec/pm.md): tickets, signatures, winner checks and protocol roles.

Tickets and their crypto (§1-§3) come first, then the protocol roles built on them (§4-§7): each submodule
imports the siblings it needs, never this package, so the order below is only the order of the docs.
"""

from __future__ import annotations

from . import errors
from .crypto import (
    MAX_WIN_PROB,
    SECP256K1_HALF_N,
    SECP256K1_N,
    from_u256,
    is_winning_batch,
    personal_hash,
    recipient_rand_hash,
    recover_batch,
    recover_message,
    to_checksum_address,
    to_u256,
    verify_batch,
    verify_signature,
)
from .fees import tickets_for_fee
from .monitor import SenderMonitor
from .params import (
    MAX_SENDER_NONCES,
    TicketExpirationParams,
    TicketParams,
    face_value_for,
    float_string,
    recipient_rand,
    ticket_ev,
    validate_ticket_params,
    win_prob_for,
)
from .payment import Payment
from .queue import RedemptionQueue, SignedTicket
from .recipient import PaymentResult, ReceiveResult, Recipient
from .sender import Sender
from .signer import Signer
from .ticket import Ticket, ticket_hashes, ticket_hashes_columns
from .validator import Validator

__all__ = [
    # tickets and ticket crypto (spec/pm.md §1-§3)
    "MAX_WIN_PROB", "SECP256K1_N", "SECP256K1_HALF_N", "Ticket", "ticket_hashes", "ticket_hashes_columns",
    "personal_hash", "Signer", "recover_batch", "verify_batch", "verify_signature", "recover_message",
    "is_winning_batch", "recipient_rand_hash", "to_u256", "from_u256", "to_checksum_address",
    # protocol roles (spec/pm.md §4-§7)
    "errors", "MAX_SENDER_NONCES", "TicketExpirationParams", "TicketParams", "face_value_for", "float_string",
    "recipient_rand", "ticket_ev", "tickets_for_fee", "validate_ticket_params", "win_prob_for", "Payment", "Sender",
    "RedemptionQueue", "SignedTicket", "SenderMonitor", "Validator", "PaymentResult", "ReceiveResult", "Recipient",
]
