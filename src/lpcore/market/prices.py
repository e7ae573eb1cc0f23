"""Posted prices, the gateway's max price and the fee of a segment, in exact rational wei per pixel.

Orchestrators post ``PriceInfo(price_per_unit, pixels_per_unit)``; the price is the exact ``Fraction``
``price_per_unit / pixels_per_unit`` wei per pixel (go-livepeer ``common.RatPriceInfo``). Every comparison
against a max price is exact and inclusive (``price <= max``), so 1/3 passes a 1/3 ceiling however it is
written (go-livepeer ``filterByMaxPrice``). Floats appear only where go-livepeer itself uses them (the 1.02
pixel estimate multiplier, turned into the exact binary double as Go's ``SetFloat64`` does).

The gateway's max price (``MaxPrices``) is a global ceiling plus per (capability, model) ceilings; a job's
effective max is the **sum** of its (capability, model) ceilings, falling back to the global one when that sum
is 0 (go-livepeer ``BroadcastConfig.GetCapabilitiesMaxPrice``). Ceilings may be set in USD (or any currency an
``EthPriceSource`` quotes) and are converted to wei at each read, so a price feed update applies at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

from .._units import WEI_PER_ETH, parse_rat
from ..errors import InvalidPrice
from ..pm.fees import tickets_for_fee

__all__ = [
    "PriceInfo", "as_price", "parse_price_per_unit", "EthPriceSource", "FixedEthPrice", "Price", "MaxPrices",
    "PIXEL_ESTIMATE_MULTIPLIER", "transcode_fee", "ai_fee", "tickets_for_fee", "WEI_PER_ETH", "job_price",
    "posted_prices",
]

#: go-livepeer ``pixelEstimateMultiplier`` (float64 1.02), exact as ``big.Rat.SetFloat64`` reads it.
PIXEL_ESTIMATE_MULTIPLIER = Fraction(1.02)
#: ``int64`` range of the wire fields; a posted price outside it is not a price go-livepeer could send.
_INT64 = 2**63


@dataclass(frozen=True)
class PriceInfo:
    """A posted price: ``price_per_unit`` wei per ``pixels_per_unit`` pixels (the wire ``net.PriceInfo``)."""

    price_per_unit: int
    pixels_per_unit: int = 1

    def __post_init__(self) -> None:
        for name in ("price_per_unit", "pixels_per_unit"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise InvalidPrice(f"{name} must be an int, got {type(v).__name__}")
            if not -_INT64 <= v < _INT64:
                raise InvalidPrice(f"{name} {v} does not fit the wire's int64")
        if self.pixels_per_unit == 0:
            raise InvalidPrice("pixels_per_unit must not be 0")

    @property
    def price(self) -> Fraction:
        """Exact wei per pixel."""
        return Fraction(self.price_per_unit, self.pixels_per_unit)

    @classmethod
    def from_proto(cls, msg: Any) -> PriceInfo | None:
        """From a ``net.PriceInfo`` message (or None): None when absent; ``InvalidPrice`` when
        ``pixelsPerUnit == 0`` (go-livepeer ``RatPriceInfo``)."""
        if msg is None:
            return None
        return cls(int(msg.pricePerUnit), int(msg.pixelsPerUnit))


def as_price(x: PriceInfo | Fraction | int | None) -> Fraction | None:
    """Wei per pixel of a PriceInfo, Fraction or int; None stays None (no price)."""
    if x is None:
        return None
    if isinstance(x, PriceInfo):
        return x.price
    if isinstance(x, bool) or not isinstance(x, (int, Fraction)):
        raise InvalidPrice(f"a price must be a PriceInfo, Fraction or int, got {type(x).__name__}")
    return Fraction(x)


_PRICE_RE = re.compile(r"^(\d+(\.\d+)?)([A-Za-z][A-Za-z0-9]*)?$")


def parse_price_per_unit(text: str) -> tuple[Fraction, str]:
    """``-maxPricePerUnit``-style ``"1200"``, ``"0.50USD"``, ``"1e-3ETH"`` is refused: go-livepeer's regex
    ``^(\\d+(\\.\\d+)?)([A-z][A-z0-9]*)?$`` (letters only in the suffix; Go's ``[A-z]`` also admits ``[\\]^_```,
    which no currency uses). Returns (exact amount, lower-cased currency, ``""`` = wei)."""
    if not isinstance(text, str) or len(text) > 100:
        raise InvalidPrice(f"invalid price {text!r}: expected digits with an optional currency, e.g. 0.50USD")
    m = _PRICE_RE.match(text.strip())
    if not m:
        raise InvalidPrice(f"invalid price {text!r}: expected digits with an optional currency, e.g. 0.50USD")
    return parse_rat(m.group(1)), (m.group(3) or "").lower()  # the one decimal parser (bounded; regex-checked)


class EthPriceSource(Protocol):
    """Quotes 1 ETH in a currency (``usd_per_eth("usd") == Fraction(3000)``); a Chainlink ETH/USD feed in
    go-livepeer, anything callable here."""

    def price_of_eth(self, currency: str) -> Fraction: ...


@dataclass
class FixedEthPrice:
    """A fixed quote table, e.g. ``FixedEthPrice({"usd": Fraction(3000)})``; update ``quotes`` to move it."""

    quotes: dict[str, Fraction]

    def price_of_eth(self, currency: str) -> Fraction:
        try:
            p = Fraction(self.quotes[currency.lower()])
        except KeyError:
            raise InvalidPrice(f"no ETH/{currency.upper()} quote available") from None
        if p <= 0:
            raise InvalidPrice(f"ETH/{currency.upper()} quote must be > 0, got {p}")
        return p


@dataclass(frozen=True)
class Price:
    """A ceiling in some currency per pixel: ``amount`` per ``pixels_per_unit`` pixels (go-livepeer
    ``AutoConvertedPrice``). ``currency`` ``""``/``wei`` is wei, ``eth`` is 1e18 wei, anything else goes through
    the ``EthPriceSource`` at each read: ``wei/pixel = amount / quote * 1e18``."""

    amount: Fraction
    pixels_per_unit: int = 1
    currency: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.pixels_per_unit, bool) or not isinstance(self.pixels_per_unit, int) \
                or self.pixels_per_unit <= 0:
            raise InvalidPrice(f"pixels_per_unit must be an int > 0, got {self.pixels_per_unit!r}")
        object.__setattr__(self, "amount", Fraction(self.amount))
        object.__setattr__(self, "currency", self.currency.lower())

    @classmethod
    def parse(cls, text: str, pixels_per_unit: int = 1) -> Price:
        amount, currency = parse_price_per_unit(text)
        return cls(amount, pixels_per_unit, currency)

    def wei_per_pixel(self, feed: EthPriceSource | None = None) -> Fraction:
        base = self.amount / self.pixels_per_unit
        if self.currency in ("", "wei"):
            return base
        if self.currency == "eth":
            return base * WEI_PER_ETH
        if feed is None:
            raise InvalidPrice(f"a {self.currency.upper()} price needs an ETH price source")
        return base / feed.price_of_eth(self.currency) * WEI_PER_ETH


Ceiling = Price | PriceInfo | Fraction | int


def _ceiling(x: Ceiling, feed: EthPriceSource | None) -> Fraction:
    if isinstance(x, Price):
        return x.wei_per_pixel(feed)
    p = as_price(x)
    assert p is not None
    return p


@dataclass
class MaxPrices:
    """The gateway's price ceilings (``-maxPricePerUnit``/``-pixelsPerUnit`` and ``-maxPricePerCapability``).

    ``global_max``: None = no limit (go-livepeer's ``"0"``). ``per_capability``: ``{(capability_id, model):
    ceiling}``; the model ``"default"`` is the capability-wide ceiling. A ceiling <= 0 is no ceiling, as go-livepeer's
    ``/setMaxPriceForCapability`` clears it."""

    global_max: Ceiling | None = None
    per_capability: dict[tuple[int, str], Ceiling] | None = None
    feed: EthPriceSource | None = None

    def _cap(self, cap: int, model: str) -> Fraction | None:
        table = self.per_capability or {}
        for key in ((cap, model), (cap, "default")):
            if key in table:
                v = _ceiling(table[key], self.feed)
                return v if v > 0 else None
        return None

    def for_job(self, caps: Mapping[int, Iterable[str]] | None = None) -> Fraction | None:
        """The effective max for a job: ``caps`` = ``{capability_id: models}`` (None or empty for transcoding).
        The sum of each (capability, model)'s ceiling; 0 (nothing configured) falls back to the global max."""
        total = Fraction(0)
        for cap, models in (caps or {}).items():
            for model in models:
                total += self._cap(int(cap), str(model)) or 0
        if total != 0:
            return total
        if self.global_max is None:
            return None
        g = _ceiling(self.global_max, self.feed)
        return g if g > 0 else None


def transcode_fee(profiles: Iterable[tuple[int, int, Fraction | float | int]], segment_s: Fraction | float,
                  price: PriceInfo | Fraction | int) -> Fraction:
    """go-livepeer ``estimateFee``: ``Σ w·h·ceil(fps)·ceil(seg) × 1.02 × price`` (exact); ``profiles`` are
    ``(width, height, fps)`` with fps 0 meaning 60."""
    p = as_price(price)
    if p is None or p < 0:
        raise InvalidPrice(f"a fee needs a price >= 0, got {price!r}")
    dur = math.ceil(Fraction(segment_s))
    pixels = 0
    for w, h, fps in profiles:
        f = Fraction(fps) if fps else Fraction(60)
        pixels += int(w) * int(h) * math.ceil(f) * dur
    return pixels * PIXEL_ESTIMATE_MULTIPLIER * p


def ai_fee(out_pixels: int, price: PriceInfo | Fraction | int) -> Fraction:
    """go-livepeer ``estimateAIFee``: ``outPixels × price`` (no multiplier)."""
    p = as_price(price)
    if p is None or p < 0:
        raise InvalidPrice(f"a fee needs a price >= 0, got {price!r}")
    return int(out_pixels) * p



def job_price(base: PriceInfo | None, per_capability: Mapping[tuple[int, str], PriceInfo] | None = None,
              caps: Mapping[int, Iterable[str]] | None = None) -> Fraction | None:
    """What an orchestrator charges for a job (go-livepeer ``priceInfo``, before its auto-adjust overhead): with
    no capabilities, its base price; otherwise the sum of its (capability, model) prices, falling back to the
    base price when that sum is 0. None when it posts no price at all."""
    total = Fraction(0)
    for cap, models in (caps or {}).items():
        for model in models:
            p = (per_capability or {}).get((int(cap), str(model)))
            if p is not None:
                total += p.price
    if total != 0:
        return total
    return base.price if base is not None else None


def posted_prices(info: Any) -> tuple[PriceInfo | None, dict[tuple[int, str], PriceInfo]]:
    """The base ``price_info`` and the ``capabilities_prices`` table of a ``net.OrchestratorInfo``; entries with
    ``pixelsPerUnit == 0`` are not prices and are left out (go-livepeer rejects them)."""
    base = None
    if info.HasField("price_info") and info.price_info.pixelsPerUnit != 0:
        base = PriceInfo.from_proto(info.price_info)
    table = {}
    for p in info.capabilities_prices:
        if p.pixelsPerUnit != 0:
            table[(int(p.capability), p.constraint or "default")] = PriceInfo.from_proto(p)
    return base, table
