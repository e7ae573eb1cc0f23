"""Livepeer probabilistic micropayments (spec/pm.md): tickets, signatures, winner checks and protocol roles."""

from __future__ import annotations

# --- Tickets and ticket crypto (owner: crypto; spec/pm.md §1-§3) -------------------------------------------------
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
from .signer import Signer
from .ticket import Ticket, ticket_hashes, ticket_hashes_columns

_CRYPTO_EXPORTS = [
    "MAX_WIN_PROB",
    "SECP256K1_N",
    "SECP256K1_HALF_N",
    "Ticket",
    "ticket_hashes",
    "ticket_hashes_columns",
    "personal_hash",
    "Signer",
    "recover_batch",
    "verify_batch",
    "verify_signature",
    "recover_message",
    "is_winning_batch",
    "recipient_rand_hash",
    "to_u256",
    "from_u256",
    "to_checksum_address",
]
# --- end of crypto exports ---------------------------------------------------------------------------------------

# --- Protocol roles (owner: roles; spec/pm.md §4-§7) ---------------------------------------------------------------
from . import errors  # noqa: E402
from .params import (  # noqa: E402
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
from .fees import tickets_for_fee  # noqa: E402
from .payment import Payment, TicketBatch  # noqa: E402
from .sender import Sender  # noqa: E402
from .queue import RedemptionQueue, SignedTicket  # noqa: E402
from .monitor import SenderMonitor  # noqa: E402
from .validator import Validator  # noqa: E402
from .recipient import PaymentResult, ReceiveResult, Recipient  # noqa: E402

_ROLES_EXPORTS = [
    "errors", "MAX_SENDER_NONCES", "TicketExpirationParams", "TicketParams", "face_value_for", "float_string",
    "recipient_rand", "ticket_ev", "tickets_for_fee", "validate_ticket_params", "win_prob_for", "Payment", "TicketBatch", "Sender",
    "RedemptionQueue", "SignedTicket", "SenderMonitor", "Validator", "PaymentResult", "ReceiveResult", "Recipient",
]
# --- end of roles exports ------------------------------------------------------------------------------------------

__all__ = [*_CRYPTO_EXPORTS, *_ROLES_EXPORTS]
