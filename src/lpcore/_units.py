"""Amounts and prices as text: the one conversion between wei and the text users read and type, and the one
parser of Go ``big.Rat`` literals (prices in wei per unit, balances), bounded before any arithmetic.

Every wei amount lpcore prints (``lpcore demo``, ``lpcore broker``, ``lpcore market``) goes through
:func:`format_eth`, so all of them use one notation: exact decimal ETH (no float rounding, trailing zeros
dropped), with the wei count on request. :func:`parse_eth` is the inverse for command-line input.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from .errors import LpcoreError

__all__ = ["WEI_PER_ETH", "WEI_PER_GWEI", "InvalidAmount", "format_eth", "parse_eth", "format_rat", "parse_rat",
           "MAX_RATIONAL_LENGTH", "MAX_RATIONAL_EXPONENT"]

WEI_PER_ETH = 10**18
WEI_PER_GWEI = 10**9

#: Longest amount text accepted by :func:`parse_eth`: a uint256 has 78 digits, so no real amount comes near;
#: the bound keeps ``Decimal`` from working on attacker-sized input.
MAX_AMOUNT_CHARS = 100


class InvalidAmount(LpcoreError, ValueError):
    """An ether amount that is not a whole, non-negative number of wei below 2**256."""


def format_eth(wei: int | Fraction | float, show_wei: bool = False) -> str:
    """``1.5 ETH`` for ``1500000000000000000``: exact, trailing zeros dropped. ``show_wei`` appends
    ``(1500000000000000000 wei)``. A fractional amount (an expected value) is rounded to the nearest wei."""
    w = int(round(wei))
    sign, w_abs = ("-", -w) if w < 0 else ("", w)
    whole, frac = divmod(w_abs, WEI_PER_ETH)
    text = f"{sign}{whole}.{frac:018d}".rstrip("0").rstrip(".") + " ETH"
    return f"{text} ({w} wei)" if show_wei else text


def parse_eth(text: str, wei: bool = False) -> int:
    """An amount typed by a user, in ETH (``"0.5"``) or, with ``wei``, in wei, as an int number of wei."""
    if not isinstance(text, str) or len(text) > MAX_AMOUNT_CHARS:
        raise InvalidAmount(f"invalid amount {str(text)[:MAX_AMOUNT_CHARS]!r}")
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise InvalidAmount(f"invalid amount {text!r}") from None
    if not d.is_finite() or d < 0:
        raise InvalidAmount(f"invalid amount {text!r}")
    # 2**256 has 78 digits: refuse larger exponents before Decimal overflows or int() builds a huge number
    if d and d.adjusted() >= 78:
        raise InvalidAmount(f"amount {text!r} does not fit a uint256")
    v = Fraction(d) * (1 if wei else WEI_PER_ETH)  # exact: Decimal arithmetic would round to 28 digits
    if v.denominator != 1:
        raise InvalidAmount(f"amount {text!r} is not a whole number of wei")
    v = int(v)
    if v >> 256:
        raise InvalidAmount(f"amount {text!r} does not fit a uint256")
    return v


def format_rat(value: Fraction) -> str:
    """Go's ``big.Rat.RatString``: ``"a"`` when the denominator is 1, else ``"a/b"`` in lowest terms."""
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


_RAT_RE = re.compile(r"([+-]?)(?:(\d+)(?:/(\d+))?|(\d*)\.(\d*)|(\d+))(?:[eE]([+-]?\d+))?\Z")

#: Longest rational literal accepted (prices and balances; a uint256 has 78 digits). Bounds the digits
#: ``int()`` converts, which costs time quadratic in their number.
MAX_RATIONAL_LENGTH = 256
#: Largest decimal exponent magnitude accepted: ``1e999999999`` would make ``10**exp`` run for hours under
#: the GIL. Real prices in wei per unit lie within 1e-30 .. 1e30.
MAX_RATIONAL_EXPONENT = 1000


def parse_rat(text: str) -> Fraction | None:
    """Parse a rational the way Go's ``big.Rat.SetString`` does (``"a"``, ``"a/b"``, decimals, exponents).

    Returns ``None`` if ``text`` is not a valid rational (including a zero denominator). Raises
    :class:`InvalidAmount` (a ``ValueError``)
    (message: what is too large) if it is longer than :data:`MAX_RATIONAL_LENGTH` characters or its exponent is
    outside ±:data:`MAX_RATIONAL_EXPONENT`; both are checked before any arithmetic.
    """
    if len(text) > MAX_RATIONAL_LENGTH:
        raise InvalidAmount(f"has more than {MAX_RATIONAL_LENGTH} characters")
    m = _RAT_RE.match(text)
    if not m:
        return None
    sign, num, den, int_part, frac_part, plain, exp = m.groups()
    if exp is not None and abs(int(exp)) > MAX_RATIONAL_EXPONENT:
        raise InvalidAmount(f"has an exponent outside ±{MAX_RATIONAL_EXPONENT}")
    if num is not None and den is not None:
        if exp is not None or int(den) == 0:
            return None
        value = Fraction(int(num), int(den))
    elif num is not None or plain is not None:
        value = Fraction(int(num if num is not None else plain))
    else:
        if not int_part and not frac_part:
            return None
        value = Fraction(int((int_part or "0") + (frac_part or "")), 10 ** len(frac_part or ""))
    if exp is not None:
        value *= Fraction(10) ** int(exp)
    return -value if sign == "-" else value
