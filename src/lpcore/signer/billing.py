"""What one ``/generate-live-payment`` call bills, and how many tickets pay it (spec/remote_signer.md §4.4,
§4.5, §4.3 steps 12–15 and 18).

Billing uses the session's **initial** price (the orchestrator's price may fall during a session, never rise:
``lpcore.signer.pricing`` enforces that); the ticket count is :func:`lpcore.pm.tickets_for_fee`, the one
fee-to-tickets rule of lpcore. All arithmetic is exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from .. import pm
from .._units import format_rat, parse_rat
from ..errors import RemoteSignerError
from .state import PaymentState

#: go-livepeer caps one payment at 100 tickets (``server/remote_signer.go``).
MAX_TICKETS_PER_PAYMENT = 100
#: 1280×720 pixels at 30 fps: the billing unit of "lv2v" (``defaultSegInfo``).
LV2V_PIXELS_PER_SECOND = 1280 * 720 * 30
#: What the first call of a session bills (no elapsed time yet): 60 s of lv2v, 10 s of live.
LV2V_OPENING_SECONDS = 60
LIVE_OPENING_SECONDS = 10
HTTP_NO_TICKETS = 482
_U32 = 1 << 32


def billable_units(job_type: str, in_pixels: int, state: PaymentState, now_ns: int, has_state: bool) -> int:
    """Step 12: units to pay for since ``state.last_update`` (§4.4)."""
    elapsed = 0.0
    if has_state and state.last_update is not None:
        elapsed = (now_ns - state.last_update) / 1e9
    if job_type == "":
        units = in_pixels
    elif job_type == "lv2v":
        units = int(LV2V_PIXELS_PER_SECOND * (elapsed if elapsed > 0 else LV2V_OPENING_SECONDS))
    elif job_type == "live":
        units = math.ceil(elapsed) if elapsed > 0 else LIVE_OPENING_SECONDS
    elif job_type == "fixed":
        units = 1
    else:
        raise RemoteSignerError(400, "invalid job type")
    if units <= 0:
        raise RemoteSignerError(400, "missing billable unit or job type")
    return units


def initial_price(state: PaymentState, has_state: bool) -> Fraction:
    """Step 13a: the session's price in wei per unit; a state must carry a positive one."""
    if has_state and (state.initial_price_per_unit <= 0 or state.initial_pixels_per_unit <= 0):
        raise RemoteSignerError(400, "invalid initial price in state")
    return Fraction(state.initial_price_per_unit, state.initial_pixels_per_unit)


@dataclass(frozen=True)
class Charge:
    """Steps 14–15 and the balance of step 18."""

    fee: Fraction
    num_tickets: int
    balance: Fraction  # the caller's credit after this payment: existing + n·ev − fee


def charge(units: int, price: Fraction, ev: Fraction, state: PaymentState) -> Charge:
    """The fee for ``units`` at ``price`` and the tickets of expected value ``ev`` that cover it (§4.5).

    482 when the existing credit already covers it (or ``ev`` is 0: such params can never be paid). The
    ticket cap is a separate step (:func:`check_ticket_cap`).
    """
    fee = units * price
    existing = Fraction(0)
    if state.balance:
        try:
            parsed = parse_rat(state.balance)
        except ValueError:  # over the rational bounds: no state this signer wrote
            parsed = None
        if parsed is None:
            raise RemoteSignerError(400, "invalid state")
        existing = parsed
    # A negative price (step 4 lets it through) bills nothing: go-livepeer's minCredit = max(fee, ev) is ev.
    num_tickets = pm.tickets_for_fee(max(fee, Fraction(0)), ev, existing) if ev > 0 else 0
    if num_tickets == 0:
        raise RemoteSignerError(HTTP_NO_TICKETS, "no tickets")
    return Charge(fee=fee, num_tickets=num_tickets, balance=existing + num_tickets * ev - fee)


def check_ticket_cap(bill: Charge) -> None:
    """Step 15's cap: at most :data:`MAX_TICKETS_PER_PAYMENT` tickets per payment (400)."""
    if bill.num_tickets > MAX_TICKETS_PER_PAYMENT:
        raise RemoteSignerError(400, f"numTickets {bill.num_tickets} exceeds maximum of {MAX_TICKETS_PER_PAYMENT}")


def settle(state: PaymentState, bill: Charge, now_ns: int, session_id: str, first_nonce: int) -> PaymentState:
    """Step 18: the state after this payment. Nonces ``first_nonce+1 .. first_nonce+n`` (mod 2**32, as
    ``pm.Sender`` hands them out) are used, so the last one is stored."""
    return state.replace(balance=format_rat(bill.balance), last_update=now_ns, pm_session_id=session_id,
                         sender_nonce=(first_nonce + bill.num_tickets) % _U32)


__all__ = ["billable_units", "initial_price", "charge", "check_ticket_cap", "settle", "Charge",
           "MAX_TICKETS_PER_PAYMENT",
           "LV2V_PIXELS_PER_SECOND", "LV2V_OPENING_SECONDS", "LIVE_OPENING_SECONDS", "HTTP_NO_TICKETS"]
