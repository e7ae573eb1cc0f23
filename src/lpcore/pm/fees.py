"""How many tickets pay for a fee: go-livepeer's rule, shared by every gateway-side payer in lpcore (the remote
signer, the demo, the marketplace simulation).

A gateway keeps a per-session credit balance with each orchestrator (EV sent minus fees owed). Before a segment it
must hold at least ``max(fee, ev)`` of credit, so it sends ``ceil((max(fee, ev) - balance) / ev)`` tickets, or
none when the balance already covers it (go-livepeer ``pm/sender.go`` / ``server/segment_rpc.go``). The fee is
then deducted from the balance.
"""

from __future__ import annotations

import math
from fractions import Fraction

__all__ = ["tickets_for_fee"]


def tickets_for_fee(fee: Fraction | int, ev: Fraction | int, balance: Fraction | int = 0) -> int:
    """Number of tickets of expected value ``ev`` (wei) to send so that ``balance + n * ev >= max(fee, ev)``;
    0 when ``balance`` already covers it. ``fee``, ``ev`` and ``balance`` are exact (int or Fraction)."""
    for name, v in (("fee", fee), ("ev", ev), ("balance", balance)):
        if isinstance(v, bool) or not isinstance(v, (int, Fraction)):
            raise TypeError(f"{name} must be an int or Fraction, got {type(v).__name__}")
    if ev <= 0:
        raise ValueError(f"ticket EV must be > 0, got {ev}")
    if fee < 0:
        raise ValueError(f"fee must be >= 0, got {fee}")
    min_credit = max(Fraction(fee), Fraction(ev))
    if balance >= min_credit:
        return 0
    return math.ceil((min_credit - balance) / Fraction(ev))
