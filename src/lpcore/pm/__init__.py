"""Livepeer probabilistic micropayments: tickets (C engine) and the protocol roles (spec/pm.md)."""

from __future__ import annotations

# Protocol roles (owner: roles).
from . import errors
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
from .payment import Payment, TicketBatch
from .sender import Sender
