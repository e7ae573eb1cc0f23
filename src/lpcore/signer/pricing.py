"""Price ceilings of the remote signer (spec/remote_signer.md §4.6, §4.3 steps 13/13b and 16's legacy guard).

Three optional ceilings apply to the orchestrator's current price (wei per unit): the operator's configured
maximum (global, or summed per capability/model), the caller's ``maxPrice`` and, with state, the session's
initial price. The smallest present one decides; above it the answer is 481. The caller's ``maxPrice`` is
parsed only after authorisation, and its literal is bounded first (``lpcore._units.MAX_RATIONAL_LENGTH`` and
``MAX_RATIONAL_EXPONENT``): ``1e999999999`` used to compute ``10**999999999`` before the auth webhook ran.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping

from .._units import format_rat, parse_rat
from ..errors import RemoteSignerError
from ..pm.params import float_string

HTTP_PRICE_EXCEEDED = 481
#: The ``maxPrice.unit`` each billing type requires.
MAX_PRICE_UNITS = {"live": "seconds", "lv2v": "720p-pixel-seconds", "fixed": "fixed"}


def parse_max_price(max_price: Mapping[str, str], job_type: str) -> Fraction:
    """Validate a ``maxPrice`` object for ``job_type`` (§4.6); raises ``RemoteSignerError(400)``."""
    try:
        price = parse_rat(max_price.get("price", ""))
    except ValueError as exc:  # too long, or an exponent out of bounds
        raise RemoteSignerError(400, f"maxPrice.price {exc}") from None
    if price is None or price <= 0:
        raise RemoteSignerError(400, "maxPrice.price must be a positive decimal")
    if max_price.get("currency", "").strip().lower() != "wei":
        raise RemoteSignerError(400, "maxPrice.currency must be wei")
    unit = MAX_PRICE_UNITS.get(job_type)
    if unit is None:
        raise RemoteSignerError(400, "maxPrice requires payment type live, lv2v, or fixed")
    if max_price.get("unit", "").strip().lower() != unit:
        raise RemoteSignerError(400, f"maxPrice.unit must be {unit} for payment type {job_type}")
    return price


def configured_ceiling(max_price: Fraction | None, per_capability: Mapping[tuple[int, str], Fraction],
                       caps: Any | None) -> Fraction | None:
    """The operator's ceiling (go-livepeer ``GetCapabilitiesMaxPrice``): the sum of the per-(capability, model)
    maxima the request's constraints name, or the global maximum when that sum is 0 or there are none."""
    if caps is not None and per_capability:
        total = Fraction(0)
        for cap_id, constraints in caps.constraints.PerCapability.items():
            for model_id in constraints.models:
                total += Fraction(per_capability.get((cap_id, model_id), 0))
        if total > 0:
            return total
    return Fraction(max_price) if max_price is not None else None


def exceeded(orch_price: Fraction, source: str, ceiling: Fraction) -> RemoteSignerError:
    """The 481 answer, both numbers with three decimals as go-livepeer prints them."""
    return RemoteSignerError(HTTP_PRICE_EXCEEDED, f"orchestrator price {float_string(orch_price, 3)} exceeds "
                                                  f"{source} ceiling {float_string(ceiling, 3)}")


def check_ceilings(orch_price: Fraction, configured: Fraction | None, requested: Fraction | None,
                   initial: Fraction | None) -> None:
    """Step 13b: 481 when ``orch_price`` is above the smallest present ceiling."""
    best: tuple[str, Fraction] | None = None
    for source, ceiling in (("configured maximum price", configured), ("request maxPrice", requested),
                            ("initial session price", initial)):
        if ceiling is not None and (best is None or ceiling < best[1]):
            best = (source, ceiling)
    if best is not None and orch_price > best[1]:
        raise exceeded(orch_price, *best)


def check_not_doubled(orch_price: Fraction, initial: Fraction | None) -> None:
    """genPayment's legacy guard (unreachable after the initial-price ceiling, kept for parity)."""
    if initial is not None and initial > 0 and orch_price > 2 * initial:
        raise RemoteSignerError(HTTP_PRICE_EXCEEDED, "Orchestrator price has more than doubled, "
                                                     f"Orchestrator price: {format_rat(orch_price)}, "
                                                     f"Orchestrator initial price: {format_rat(initial)}")


__all__ = ["parse_max_price", "configured_ceiling", "check_ceilings", "check_not_doubled", "exceeded",
           "MAX_PRICE_UNITS", "HTTP_PRICE_EXCEEDED"]
