"""go-livepeer's gateway-side selection, reproduced where users depend on it.

- :class:`ProbabilitySelection`: ``ProbabilitySelectionAlgorithm`` (perf filter, exact max-price filter,
  stake/price/random mixture, one draw ``r`` and the first ``r <= cumulative P``).
- :class:`MinLSSelector`: the transcoding latency-score state machine (unknown sessions in discovery order,
  known ones on a min-heap of ``LatencyScore``, threshold 1.0).
- :class:`LiveSelectionAlgorithm`: live AI, the first session under the max price in latency order.
- :func:`is_version_compatible`, :func:`latency_score`, :func:`can_reuse` (``selectSession``).

Deliberate fixes, each with go-livepeer's behaviour behind ``go_compat=True`` where it is observable:
- candidates are iterated in a defined order (input order, deduplicated by address, first seen) instead of Go's
  map order, so a draw ``r`` always picks the same candidate;
- a zero stake sum (every candidate unstaked) or a zero price-weight sum (every price past ``exp`` underflow)
  gives that component ``1/n`` per candidate, so the probabilities still sum to 1; Go gives each candidate 1.0,
  ΣP > 1 and the result depends on map order (``go_compat`` keeps that);
- a candidate without a price is never selectable by the probability algorithm (Go dereferences a nil price and
  panics), in both modes.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from fractions import Fraction
from typing import Any

from ..errors import MarketSettingError
from .prices import PriceInfo, as_price

__all__ = [
    "Candidate", "ProbabilitySelection", "LiveSelectionAlgorithm", "MinLSSelector", "Session",
    "latency_score", "can_reuse", "is_version_compatible", "SELECTOR_LATENCY_SCORE_THRESHOLD",
]

#: go-livepeer ``SELECTOR_LATENCY_SCORE_THRESHOLD``: a session transcoding at least real time.
SELECTOR_LATENCY_SCORE_THRESHOLD = 1.0


@dataclass(frozen=True)
class Candidate:
    """An orchestrator a gateway may choose: ``address`` (the ticket recipient, an ``0x`` hex string or any
    hashable id), ``uri`` (service URI), ``stake`` (any unit; only ratios matter), ``price`` (a
    :class:`PriceInfo` or exact wei/pixel), ``latency`` (discovery round trip, s), ``capabilities`` and the
    discovery ``score`` (1.0 trusted, 0.0 untrusted)."""

    address: Any
    _: KW_ONLY
    uri: str | None = None
    stake: int | float | Fraction = 0
    price: PriceInfo | Fraction | int | None = None
    latency: float | None = None
    capabilities: Any = None
    score: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ppp", as_price(self.price))  # validated and converted once

    @property
    def price_per_pixel(self) -> Fraction | None:
        return self._ppp  # type: ignore[attr-defined]


def price_at_most(price: Fraction, ceiling: Fraction) -> bool:
    """``price <= ceiling``, exactly, by integer cross-multiplication (denominators are positive)."""
    return price.numerator * ceiling.denominator <= ceiling.numerator * price.denominator


def _dedupe(candidates: Iterable[Candidate]) -> tuple[list[Any], dict[Any, Candidate]]:
    """Addresses in first-seen order; for a repeated address the last candidate's price wins
    (go-livepeer ``selectUnknownSession`` builds ``prices`` in list order)."""
    order: list[Any] = []
    last: dict[Any, Candidate] = {}
    for c in candidates:
        if c.address not in last:
            order.append(c.address)
        last[c.address] = c
    return order, last


def _filter_by_max_price(addrs: list[Any], prices: Mapping[Any, Fraction], max_price: Fraction | None,
                         ignore_if_needed: bool) -> list[Any]:
    """go-livepeer ``filterByMaxPrice``: no max or no prices at all -> everyone; else keep ``price <= max``
    (a missing price is rejected); none left -> everyone only with ``ignoreMaxPriceIfNeeded``."""
    if max_price is None or not prices:
        return list(addrs)
    kept = [a for a in addrs if a in prices and price_at_most(prices[a], max_price)]
    if not kept and ignore_if_needed:
        return list(addrs)
    return kept


class ProbabilitySelection:
    """go-livepeer ``ProbabilitySelectionAlgorithm`` (``server/selection_algorithm.go``), defaults as
    ``-selectStakeWeight 0.7 -selectPriceWeight 0 -selectRandFreq 0.3 -selectPriceExpFactor 100``."""

    def __init__(self, stake_weight: float = 0.7, price_weight: float = 0.0, random_weight: float = 0.3,
                 price_exp_factor: float = 100, min_perf_score: float = 0.0, ignore_max_price_if_needed: bool = False,
                 go_compat: bool = False):
        for name, w in (("stake_weight", stake_weight), ("price_weight", price_weight),
                        ("random_weight", random_weight)):
            if not isinstance(w, (int, float)) or isinstance(w, bool) or not math.isfinite(w) or w < 0:
                raise MarketSettingError(f"{name} must be a finite number >= 0, got {w!r}")
        if abs(stake_weight + price_weight + random_weight - 1) > 1e-4:
            raise MarketSettingError("stake, price and random weights must sum to 1, got "
                              f"{stake_weight} + {price_weight} + {random_weight}")
        if not isinstance(price_exp_factor, (int, float)) or not price_exp_factor > 0:
            raise MarketSettingError(f"price_exp_factor must be > 0, got {price_exp_factor!r}")
        self.stake_weight = float(stake_weight)
        self.price_weight = float(price_weight)
        self.random_weight = float(random_weight)
        self.price_exp_factor = float(price_exp_factor)
        self.min_perf_score = float(min_perf_score)
        self.ignore_max_price_if_needed = bool(ignore_max_price_if_needed)
        self.go_compat = bool(go_compat)

    def _filter(self, candidates: Iterable[Candidate], max_price: Fraction | None,
                perf_scores: Mapping[Any, float] | None) -> tuple[list[Any], dict[Any, Candidate]]:
        addrs, by_addr = _dedupe(candidates)
        # filterByPerfScore: disabled, or nobody passes -> everyone
        if self.min_perf_score > 0 and perf_scores:
            kept = [a for a in addrs if perf_scores.get(a, 0.0) >= self.min_perf_score]
            addrs = kept or addrs
        prices = {a: by_addr[a].price_per_pixel for a in addrs if by_addr[a].price is not None}
        addrs = _filter_by_max_price(addrs, prices, as_price(max_price), self.ignore_max_price_if_needed)
        # A missing price cannot be weighed (Go panics on it) and a negative one is not a price an orchestrator
        # can charge (go-livepeer's discovery predicate requires >= 0): never selectable.
        return [a for a in addrs if a in prices and prices[a].numerator >= 0], by_addr

    def probabilities(self, candidates: Iterable[Candidate], max_price: Fraction | PriceInfo | int | None = None,
                      perf_scores: Mapping[Any, float] | None = None) -> dict[Any, float]:
        """P per address after the perf and max-price filters, in iteration order (float64, as Go)."""
        addrs, by_addr = self._filter(candidates, max_price, perf_scores)
        if not addrs:
            return {}
        pn = {}
        for a in addrs:
            p = by_addr[a].price_per_pixel
            pn[a] = math.exp(-float(p) / self.price_exp_factor)
        price_sum = sum(pn.values())
        stakes = {a: float(by_addr[a].stake or 0) for a in addrs}
        stake_sum = sum(stakes.values())
        n = len(addrs)
        rand_prob = 1 / n
        out = {}
        for a in addrs:
            if price_sum != 0:
                price_prob = pn[a] / price_sum
            else:
                price_prob = 1.0 if self.go_compat else 1 / n
            if stake_sum != 0:
                stake_prob = stakes[a] / stake_sum
            else:
                stake_prob = 1.0 if self.go_compat else 1 / n
            out[a] = price_prob * self.price_weight + stake_prob * self.stake_weight + rand_prob * self.random_weight
        return out

    def select(self, candidates: Sequence[Candidate], max_price: Fraction | PriceInfo | int | None = None,
               perf_scores: Mapping[Any, float] | None = None, *, rng: random.Random | None = None,
               r: float | None = None) -> Candidate | None:
        """One draw: ``r`` (given, or ``rng.random()``), the first address with ``r <= cumulative P``, or the
        first address when float slack leaves none; None when the filters leave nobody (Go's zero address).
        Returns the first candidate (in input order) with that address."""
        probs = self.probabilities(candidates, max_price, perf_scores)
        addr = _draw(probs, rng, r)
        if addr is None:
            return None
        return next(c for c in candidates if c.address == addr)


def _draw(probs: Mapping[Any, float], rng: random.Random | None, r: float | None) -> Any:
    if not probs:
        return None
    if r is None:
        r = (rng if rng is not None else random).random()
    cum = 0.0
    for a, p in probs.items():
        cum += p
        if r <= cum:
            return a
    return next(iter(probs))


class LiveSelectionAlgorithm:
    """go-livepeer ``LiveSelectionAlgorithm``: the max-price filter (no ignore fallback), then the first
    survivor in the given (initial-latency) order; stake, perf and randomness are not used."""

    def select(self, candidates: Sequence[Candidate], max_price: Fraction | PriceInfo | int | None = None,
               perf_scores: Mapping[Any, float] | None = None, *, rng: random.Random | None = None,
               r: float | None = None) -> Candidate | None:
        addrs, by_addr = _dedupe(candidates)
        prices = {a: by_addr[a].price_per_pixel for a in addrs if by_addr[a].price is not None}
        kept = _filter_by_max_price(addrs, prices, as_price(max_price), False)
        if not kept:
            return None
        return next(c for c in candidates if c.address == kept[0])


# --- transcoding sessions ----------------------------------------------------------------------------------


@dataclass(eq=False)
class Session:
    """A gateway's session with one orchestrator: its ``candidate``, the last ``latency_score`` (0 = never
    measured) and the segments in flight as ``(started_at, segment_duration_s)``."""

    candidate: Candidate
    latency_score: float = 0.0
    in_flight: list[tuple[float, float]] = field(default_factory=list)

    @property
    def address(self) -> Any:
        return self.candidate.address


def latency_score(took_s: float, segment_s: float) -> float:
    """go-livepeer ``SubmitSegment``: ``took / max(1.5, segment duration)``; 1.0 means real time."""
    return float(took_s) / max(1.5, float(segment_s))


def can_reuse(session: Session, now: float, dur_mult: float = 1) -> bool:
    """go-livepeer ``selectSession``'s test for reusing the last session: with nothing in flight, iff
    ``0 < LatencyScore <= 1``; otherwise iff the oldest in-flight segment started less than ``dur_mult ×`` its
    duration ago (raised to 1.5 s when that is <= 1 s)."""
    if not session.in_flight:
        return 0 < session.latency_score <= SELECTOR_LATENCY_SCORE_THRESHOLD
    start, dur = min(session.in_flight)
    max_in_flight = dur_mult * dur
    if max_in_flight <= 1.0:
        max_in_flight = 1.5
    return now - start < max_in_flight


class MinLSSelector:
    """go-livepeer ``MinLSSelector``: ``sessions`` (unknown, discovery order) and a min-heap of known sessions
    on ``LatencyScore``. ``algorithm`` (with ``max_price``/``perf_scores``) picks among unknown sessions on-chain;
    ``algorithm=None`` is off-chain mode: unknown sessions are taken in list order. ``rng`` feeds the algorithm.

    QUIRK (market spec §3.4): when the heap minimum is above ``min_ls`` and unknown sessions exist, go-livepeer
    uses the unknown picker even if it returns nobody (every unknown session price-filtered), so no session is
    selected although known ones exist. By default lpcore then falls back to the known heap; ``go_compat=True``
    keeps Go's None."""

    def __init__(self, *, min_ls: float = SELECTOR_LATENCY_SCORE_THRESHOLD, algorithm: Any = None,
                 max_price: Fraction | None = None, perf_scores: Mapping[Any, float] | None = None,
                 rng: random.Random | None = None, go_compat: bool = False):
        self.go_compat = go_compat
        self.min_ls = min_ls
        self.algorithm = algorithm
        self.max_price = max_price
        self.perf_scores = perf_scores
        self.rng = rng if rng is not None else random.Random()
        self.unknown: list[Session] = []
        self._known: list[tuple[float, int, Session]] = []
        self._tick = itertools.count()

    def add(self, sessions: Iterable[Session]) -> None:
        self.unknown.extend(sessions)

    def complete(self, session: Session) -> None:
        heapq.heappush(self._known, (session.latency_score, next(self._tick), session))

    def remove(self, session: Session) -> None:
        """Removes ``session`` from the unknown list only, as go-livepeer does."""
        self.unknown = [s for s in self.unknown if s is not session]

    def size(self) -> int:
        return len(self.unknown) + len(self._known)

    @property
    def known(self) -> list[Session]:
        return [s for _, _, s in sorted(self._known)]

    def select(self) -> Session | None:
        if not self._known:
            return self._select_unknown()
        if self._known[0][0] > self.min_ls and self.unknown:
            pick = self._select_unknown()
            if pick is not None or self.go_compat:
                return pick
        return heapq.heappop(self._known)[2]

    def _select_unknown(self) -> Session | None:
        if not self.unknown:
            return None
        if self.algorithm is None:
            return self.unknown.pop(0)
        pick = self.algorithm.select([s.candidate for s in self.unknown], self.max_price, self.perf_scores,
                                     rng=self.rng)
        if pick is None:
            return None
        for i, s in enumerate(self.unknown):
            if s.address == pick.address:
                return self.unknown.pop(i)
        return None


# --- versions -----------------------------------------------------------------------------------------------

_SEMVER = re.compile(r"^v?(\d{1,9})(?:\.(\d{1,9}))?(?:\.(\d{1,9}))?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


def _semver(text: str) -> tuple[int, int, int] | None:
    m = _SEMVER.match(text.strip()) if isinstance(text, str) and len(text) <= 100 else None
    if not m:
        return None
    return tuple(int(g or 0) for g in m.groups())  # type: ignore[return-value]


def is_version_compatible(min_version: str, version: str) -> bool:
    """go-livepeer ``isVersionCompatible``: no (or an unparsable) minimum accepts anything; an O version that is
    empty, ``"undefined"`` or unparsable is refused; otherwise ``version >= min`` with prerelease suffixes
    stripped on both sides."""
    if not min_version:
        return True
    if version in ("", "undefined"):
        return False
    lo = _semver(min_version)
    if lo is None:
        return True
    v = _semver(version)
    if v is None:
        return False
    return v >= lo
