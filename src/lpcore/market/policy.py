"""lpcore's own selection policy (``"lpcore"``).

The rule, per segment:

1. **Price cap**: only candidates with a posted price ``<= max`` (exact, inclusive) and no suspension.
2. **Integrity** is a posterior, not a counter. Each verification of an orchestrator is evidence with a
   likelihood taken from the detector's *measured* rates (:mod:`lpcore.market.detection`): an honest rendition
   fails with the detector's false-reject rate ``f`` (its posterior mean ``(k + 1) / (n + 2)``, never 0); a
   cheater (assumed to tamper on a fraction ``q`` of segments) fails with ``q·d + (1-q)·f`` where ``d`` is the
   mean detection rate. The log-odds that an
   orchestrator cheats start at the prior and move by ``log(LR)`` per check. Past ``ban_odds`` (4:1) the
   orchestrator is out, whatever its stake or price: a cheap, high-stake cheater cannot keep work. Below that,
   suspicion lowers its sampled value and gets every segment checked, so one honest false reject costs a few
   checks, not a ban.
3. **Thompson sampling** on what the gateway pays per good segment: for each candidate draw a success rate
   from ``Beta(1 + successes + stake prior, 1 + failures)`` and a latency from its measured mean and spread
   (a candidate never measured starts at its discovery round trip); the score is
   ``fee / (p_success · p_honest) · (1 + latency_weight · max(0, latency/segment − target))``, lowest wins.
   Stake enters only as pseudo-successes in the prior (up to ``stake_prior`` of them, in proportion to the
   candidate's stake relative to the largest): it breaks ties between unknowns, it does not buy work.
   Sampling explores new orchestrators exactly as much as their uncertainty warrants. Two guards against
   tampering no detector sees (the MPEG-7 signature misses a region blur or a small logo entirely): a price
   below the ``price_floor_quantile`` of the eligible prices earns no more preference than that quantile
   (below-market pricing is how a cheater buys work), and no orchestrator serves more than ``max_share`` of the
   last ``share_window`` segments while others are eligible, so one undetectable cheater cannot take the stream.
4. **Verification sampling**: a candidate is verified with probability ``1 / (1 + passes / verify_halflife)``,
   never below ``verify_floor`` and always while its cheating odds are above ``suspicious_odds``: new and
   untrusted orchestrators are checked on every segment, proven ones on a few, and no orchestrator ever learns
   that it is no longer checked.

State lives in a :class:`~lpcore.market.reputation.Reputation` (durable when given a path), so a restarted
gateway keeps what it learnt.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from .detection import best_detector, false_reject_estimate, mean_detection_rate
from .reputation import Reputation
from .prices import as_price
from .selection import Candidate, price_at_most

__all__ = ["LpcorePolicy", "PolicySettings"]


@dataclass(frozen=True)
class PolicySettings:
    """Knobs of :class:`LpcorePolicy` (defaults tuned on simulation seeds 0-2 at cheater fraction 0.2 only)."""

    detector: str = field(default_factory=best_detector)   # whose measured rates weigh the evidence
    prior_cheat: float = 0.2          # prior probability that an unknown orchestrator cheats
    assumed_tamper_rate: float = 0.5  # q: fraction of segments a cheater is assumed to tamper with
    ban_odds: float = 4.0             # cheating odds (4:1, P > 0.8) above which an orchestrator gets no work
    suspicious_odds: float = 0.1      # above these odds every segment is verified
    stake_prior: float = 0.5          # pseudo-successes the largest stake is worth
    latency_target: float = 0.75      # latency / segment duration that costs nothing extra
    latency_weight: float = 2.0
    verify_halflife: float = 3.0
    verify_floor: float = 0.1
    price_floor_quantile: float = 0.3   # prices below this quantile of the eligible ones buy no more preference
    max_share: float = 0.05           # most of the last ``share_window`` segments one orchestrator may serve
    share_window: int = 100
    stickiness: float = 0.8           # the last orchestrator's sampled cost is multiplied by this (fewer swaps)
    segment_s: float = 2.0


class LpcorePolicy:
    """The ``"lpcore"`` policy over a :class:`Reputation`. ``rng``: every draw (Thompson, verification)."""

    def __init__(self, reputation: Reputation | None = None, *, settings: PolicySettings | None = None,
                 rng: random.Random | None = None):
        self.reputation = reputation if reputation is not None else Reputation()
        self.settings = s = settings or PolicySettings()
        self.rng = rng if rng is not None else random.Random()
        f = float(false_reject_estimate(s.detector))   # never 0: a measured 0/84 is not impossible
        d = float(mean_detection_rate(s.detector))
        q = s.assumed_tamper_rate
        p_fail_cheat = q * d + (1 - q) * f
        self._llr_fail = math.log(p_fail_cheat / f)
        self._llr_pass = math.log((1 - p_fail_cheat) / (1 - f))
        self._prior = math.log(s.prior_cheat / (1 - s.prior_cheat))
        self._lat: dict[Any, tuple[int, float, float]] = {}   # address -> (n, mean, M2) of latency/segment
        self._recent: deque[Any] = deque(maxlen=s.share_window)  # who served the last segments
        self._served: dict[Any, int] = {}

    # -- evidence ---------------------------------------------------------------------------------------------

    def cheat_log_odds(self, address: Any) -> float:
        r = self.reputation.get(str(address))
        return self._prior + r.verified_fail * self._llr_fail + r.verified_pass * self._llr_pass

    def banned(self, address: Any) -> bool:
        return self.cheat_log_odds(address) > math.log(self.settings.ban_odds)

    def observe_latency(self, address: Any, latency_s: float) -> None:
        n, mean, m2 = self._lat.get(address, (0, 0.0, 0.0))
        x = latency_s / self.settings.segment_s
        n += 1
        delta = x - mean
        mean += delta / n
        m2 += delta * (x - mean)
        self._lat[address] = (n, mean, m2)

    def record_job(self, address: Any, *, ok: bool, latency_s: float | None = None, failure: str | None = None,
                   paid_wei: int = 0) -> None:
        """A job outcome: into the reputation (durable) and the latency estimate."""
        self.reputation.record_job(str(address), ok=ok, latency_s=latency_s, failure=failure, paid_wei=paid_wei)
        if latency_s is not None:
            self.observe_latency(address, latency_s)

    def served(self, address: Any) -> None:
        """``address``'s result was used for a segment (the share cap counts these)."""
        if len(self._recent) == self._recent.maxlen:
            old = self._recent[0]
            self._served[old] -= 1
        self._recent.append(address)
        self._served[address] = self._served.get(address, 0) + 1

    def record_verification(self, address: Any, passed: bool) -> None:
        self.reputation.record_verification(str(address), passed, self.settings.detector)

    # -- decisions --------------------------------------------------------------------------------------------

    def eligible(self, candidates: Sequence[Candidate], max_price: Fraction | None = None,
                 suspended: Any = None) -> list[Candidate]:
        out = []
        mx = as_price(max_price)
        for c in candidates:
            p = c.price_per_pixel
            if p is None or p.numerator < 0 or (mx is not None and not price_at_most(p, mx)):
                continue
            if suspended is not None and suspended(c.address):
                continue
            if self.banned(c.address):
                continue
            out.append(c)
        return out

    def choose(self, candidates: Sequence[Candidate], max_price: Fraction | None = None, *,
               suspended: Any = None, exclude: Sequence[Any] = ()) -> Candidate | None:
        """The candidate with the lowest Thompson-sampled cost per good segment, or None. The draws for all
        candidates are one vectorised numpy call seeded from ``rng``, so a choice is reproducible."""
        excluded = set(exclude)
        pool = [c for c in self.eligible(candidates, max_price, suspended) if c.address not in excluded]
        s = self.settings
        cap = s.max_share * self._recent.maxlen if self._recent.maxlen else math.inf
        spread = [c for c in pool if self._served.get(c.address, 0) < cap]
        pool = spread or pool
        if not pool:
            return None
        recs = [self.reputation.get(str(c.address)) for c in pool]
        succ = np.array([r.successes for r in recs], float)
        fail = np.array([r.failed for r in recs], float)
        odds = self._prior + np.array([r.verified_fail for r in recs], float) * self._llr_fail \
            + np.array([r.verified_pass for r in recs], float) * self._llr_pass
        stake = np.array([float(c.stake or 0) for c in pool])
        price = np.array([float(c.price_per_pixel) for c in pool])
        lat = [self._lat.get(c.address, (0, 0.0, 0.0)) for c in pool]
        n = np.array([x[0] for x in lat], float)
        mean = np.array([x[1] if x[0] else (c.latency or 0.5) / s.segment_s for x, c in zip(lat, pool)])
        sd = np.array([math.sqrt(x[2] / (x[0] - 1)) + 0.05 if x[0] > 1 else 0.55 for x in lat])
        spread_sd = np.where(n > 0, sd / np.sqrt(np.maximum(n, 1)), 0.5)
        g = np.random.default_rng(self.rng.getrandbits(64))
        prior = s.stake_prior * stake / (stake.max() or 1.0)
        p_ok = g.beta(1 + succ + prior, 1 + fail)
        lat_draw = np.maximum(0.0, g.normal(mean, spread_sd))
        p_honest = 1 - s.assumed_tamper_rate / (1 + np.exp(-odds))
        floor = np.quantile(price, s.price_floor_quantile, method="lower")
        score = (np.maximum(price, floor) + 1e-9) / np.maximum(p_ok * p_honest, 1e-9)
        score *= 1 + s.latency_weight * np.maximum(0.0, lat_draw - s.latency_target)
        if self._recent:
            score[[i for i, c in enumerate(pool) if c.address == self._recent[-1]]] *= s.stickiness
        return pool[int(np.argmin(score))]

    def verify_probability(self, address: Any) -> float:
        s = self.settings
        if self.cheat_log_odds(address) > math.log(s.suspicious_odds):
            return 1.0
        passes = self.reputation.get(str(address)).verified_pass
        return max(s.verify_floor, 1 / (1 + passes / s.verify_halflife))

    def should_verify(self, address: Any) -> bool:
        return self.rng.random() < self.verify_probability(address)
