"""A marketplace simulation: one gateway streams ``segments`` 2-s segments through a world of ``orchestrators``
with hidden price, stake, latency distribution, failure rate, capacity and tamper behaviour, under a policy:

- ``"sdk"``: the official Python SDK (``livepeer-gateway``): walks the discovery list in order and keeps the first
  orchestrator that answers until it fails; no price filter, no verification, no memory (its batches of 5 only
  reorder answers within a batch by arrival, which this model leaves out).
- ``"go-livepeer"``: discovery ranked by round trip, the ``MinLSSelector`` over the untrusted pool with
  ``ProbabilitySelection`` (0.7 stake / 0.3 random) for unknown sessions, the max-price filter, go-livepeer's
  literal transcoding suspender (``go_compat``), fast verification (1 trusted + 2 untrusted, sticky verified
  orchestrator re-checked 1 in ``verification_freq``) with the MPEG-7 ``livepeer`` preset's measured rates.
  Two choices are generous to go-livepeer: the MinLS selector falls back to a known session when every unknown
  one is over the max price (Go selects nobody), and the pool refreshes when nothing is selectable (Go waits
  until the pool, price-filtered sessions included, is below its size threshold); both would otherwise fail
  most segments in a world where several orchestrators price above the gateway's max.
- ``"lpcore"``: :class:`~lpcore.market.policy.LpcorePolicy`, verifying with its settings' detector (by default
  the tamper-profile detector's measured rates, :func:`lpcore.market.detection.best_detector`).

Behaviours: ``honest``; ``always`` (tampers every segment); ``sometimes`` (30 % of segments); ``unverified``
(honest for its first 5 jobs, the probation in which a gateway checks newcomers most, then 60 %);
``cheap_staked`` (half the median price, three times the largest honest stake, tampers 50 %). Each cheater has
one tamper kind from the corpus; whether a check catches it is drawn with that kind's measured detection rate
(:mod:`lpcore.market.detection`), and an honest rendition fails a check with the detector's false-reject rate.

Every payment uses the gateway's rule (:func:`lpcore.pm.tickets_for_fee`, per-orchestrator credit balance): a
segment sent is paid whether or not it is used, so verification costs what it costs in the real protocol.
All randomness is drawn up front from ``seed`` (common random numbers: every policy meets the same world and
the same per-segment luck), so a result is a pure function of ``(policy, seed, parameters)``.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..pm.fees import tickets_for_fee
from .detection import TAMPER_KINDS, detection_rate, false_reject_rate
from .policy import LpcorePolicy, PolicySettings
from .prices import PriceInfo, transcode_fee
from .reputation import Reputation
from .selection import Candidate, MinLSSelector, ProbabilitySelection, Session, can_reuse, latency_score
from .suspension import Suspender, refresh_threshold, transcoding_penalty

__all__ = ["simulate", "SimResult", "World", "make_world", "POLICIES", "BEHAVIOURS"]

POLICIES = ("sdk", "go-livepeer", "lpcore")
BEHAVIOURS = ("honest", "always", "sometimes", "unverified", "cheap_staked")
TAMPER_PROB = {"honest": 0.0, "always": 1.0, "sometimes": 0.3, "unverified": 0.6, "cheap_staked": 0.5}
PROBATION_JOBS = 5
PROFILES = ((1280, 720, 30), (854, 480, 30), (640, 360, 30))   # the renditions a segment is transcoded to
SEGMENT_S = 2.0
TICKET_EV = 8 * 10**9
MAX_ATTEMPTS = 3                   # go-livepeer MaxAttempts per segment
TIMEOUT_S = 2 * SEGMENT_S          # a rendition later than this is a failed attempt
CAPACITY_WINDOW = 30               # segments over which an orchestrator's load is measured


@dataclass
class Orch:
    address: str
    price: PriceInfo
    stake: int
    latency_median_s: float
    latency_sigma: float
    rtt_s: float
    failure_rate: float
    capacity: int                  # segments it serves per CAPACITY_WINDOW before it starts failing
    behaviour: str
    tamper_kind: str | None


@dataclass
class World:
    orchs: list[Orch]
    trusted: Orch
    max_price: Fraction
    discovery_order: list[int]     # the order a discovery list (webhook/signer) hands out
    # per (segment, orchestrator) draws, shape (segments, n + 1); column n is the trusted orchestrator
    lat_z: np.ndarray
    fail_u: np.ndarray
    tamper_u: np.ndarray
    detect_u: np.ndarray


def make_world(seed: int, orchestrators: int = 50, segments: int = 2000, cheater_fraction: float = 0.2) -> World:
    if not 0 <= cheater_fraction <= 1:
        raise ValueError(f"cheater_fraction must be in [0, 1], got {cheater_fraction}")
    if orchestrators < 1 or segments < 1:
        raise ValueError("orchestrators and segments must be >= 1")
    g = np.random.default_rng(seed)
    n = orchestrators
    prices = np.exp(g.normal(math.log(1000), 0.35, n))
    pricey = g.random(n) < 0.1
    prices[pricey] *= 3                                       # above the gateway's max
    stakes = (g.pareto(1.5, n) + 1) * 1000
    lat_med = np.exp(g.normal(math.log(0.9), 0.35, n))
    slow = g.random(n) < 0.1
    lat_med[slow] *= 2.5                                      # slower than real time
    fail = np.where(g.random(n) < 0.15, g.uniform(0.1, 0.3, n), g.uniform(0.0, 0.03, n))
    cap = g.integers(6, 30, n)
    n_cheat = int(round(cheater_fraction * n))
    cheaters = g.permutation(n)[:n_cheat]
    kinds = ["always", "sometimes", "unverified", "cheap_staked"]
    behaviour = ["honest"] * n
    for j, i in enumerate(cheaters):
        behaviour[i] = kinds[j % len(kinds)]
    honest_stake = max([stakes[i] for i in range(n) if behaviour[i] == "honest"] or [stakes.max()])
    med_price = float(np.median(prices))
    orchs = []
    for i in range(n):
        b = behaviour[i]
        price = float(prices[i])
        stake = float(stakes[i])
        if b == "cheap_staked":
            price, stake = med_price / 2, 3 * honest_stake
        orchs.append(Orch(f"0x{i + 1:040x}", PriceInfo(max(1, int(round(price)))), int(stake),
                          float(lat_med[i]), 0.25, float(lat_med[i]) * 0.1 + float(g.uniform(0.01, 0.05)),
                          float(fail[i]), int(cap[i]), b,
                          None if b == "honest" else TAMPER_KINDS[int(g.integers(len(TAMPER_KINDS)))]))
    trusted = Orch("trusted", PriceInfo(int(round(med_price))), 0, 0.8, 0.15, 0.02, 0.0, 10**9, "honest", None)
    shape = (segments, n + 1)
    return World(orchs, trusted, Fraction(2000), [int(i) for i in g.permutation(n)],
                 g.standard_normal(shape), g.random(shape), g.random(shape), g.random(shape))


@dataclass
class SimResult:
    policy: str
    seed: int
    segments: int
    tampered_accepted: int = 0
    failed_segments: int = 0
    good_segments: int = 0
    paid_wei: int = 0
    swaps: int = 0
    verified_segments: int = 0
    latencies: list[float] = field(default_factory=list, repr=False)
    cumulative_cost: list[int] = field(default_factory=list, repr=False)
    cumulative_tampered: list[int] = field(default_factory=list, repr=False)
    share: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def cost_per_good_segment(self) -> Fraction:
        """Wei paid per accepted honest segment (everything paid, verification included)."""
        return Fraction(self.paid_wei, self.good_segments) if self.good_segments else Fraction(self.paid_wei)

    @property
    def p95_latency_s(self) -> float:
        return float(np.percentile(self.latencies, 95)) if self.latencies else 0.0


class _Run:
    """Shared mechanics: paying, the orchestrators' behaviour, the verification draw, the bookkeeping."""

    def __init__(self, world: World, policy: str, seed: int, detector: str):
        self.w = world
        self.res = SimResult(policy, seed, len(world.lat_z))
        self.balance: dict[str, Fraction] = {}
        self.jobs: dict[str, int] = {}
        self.load: dict[str, list[int]] = {}
        self.fn = float(false_reject_rate(detector))
        self.detector = detector
        self.k = 0
        self.last: str | None = None
        self.index = {o.address: i for i, o in enumerate(world.orchs)}
        self.index[world.trusted.address] = len(world.orchs)
        self.by_addr = {o.address: o for o in world.orchs}
        self.by_addr[world.trusted.address] = world.trusted

    def pay(self, o: Orch) -> int:
        fee = transcode_fee(PROFILES, SEGMENT_S, o.price)
        bal = self.balance.get(o.address, Fraction(0))
        n = tickets_for_fee(fee, TICKET_EV, bal)
        self.balance[o.address] = bal + n * TICKET_EV - fee
        self.res.paid_wei += n * TICKET_EV
        return n * TICKET_EV

    def attempt(self, o: Orch) -> tuple[bool, float, bool, str | None]:
        """Sends segment k to ``o``: (ok, latency, tampered, failure class); pays for it."""
        col = self.index[o.address]
        self.last_paid = self.pay(o)
        self.res.share[o.address] = self.res.share.get(o.address, 0) + 1
        recent = self.load.setdefault(o.address, [])
        recent.append(self.k)
        while recent and recent[0] <= self.k - CAPACITY_WINDOW:
            recent.pop(0)
        jobs = self.jobs.get(o.address, 0)
        self.jobs[o.address] = jobs + 1
        lat = o.latency_median_s * math.exp(o.latency_sigma * float(self.w.lat_z[self.k, col]))
        over = len(recent) > o.capacity
        if over:
            lat *= 3
        if self.w.fail_u[self.k, col] < o.failure_rate + (0.5 if over else 0.0):
            return False, lat, False, "capacity" if over else "error"
        if lat > TIMEOUT_S:
            return False, TIMEOUT_S, False, "timeout"
        p = TAMPER_PROB[o.behaviour]
        if o.behaviour == "unverified" and jobs < PROBATION_JOBS:
            p = 0.0
        return True, lat, bool(self.w.tamper_u[self.k, col] < p), None

    def check(self, o: Orch, tampered: bool, detector: str | None = None) -> bool:
        """Does ``o``'s rendition pass a check? (measured detection / false-reject rates)."""
        u = float(self.w.detect_u[self.k, self.index[o.address]])
        if tampered:
            return u >= float(detection_rate(detector or self.detector, o.tamper_kind))
        return u >= self.fn

    def finish(self, accepted: Orch | None, tampered: bool, latency: float) -> None:
        r = self.res
        if accepted is None:
            r.failed_segments += 1
        elif tampered:
            r.tampered_accepted += 1
        else:
            r.good_segments += 1
        if accepted is not None:
            r.latencies.append(latency)
            if self.last is not None and accepted.address != self.last and accepted is not self.w.trusted:
                r.swaps += 1
            if accepted is not self.w.trusted:
                self.last = accepted.address
        r.cumulative_cost.append(r.paid_wei)
        r.cumulative_tampered.append(r.tampered_accepted)


def _sdk(run: _Run) -> None:
    w = run.w
    order = [w.orchs[i] for i in w.discovery_order]
    pos = 0
    for k in range(len(w.lat_z)):
        run.k = k
        total = 0.0
        done = None
        tampered = False
        for _ in range(MAX_ATTEMPTS):
            o = order[pos % len(order)]
            ok, lat, t, _cls = run.attempt(o)
            total += lat
            if ok:
                done, tampered = o, t
                break
            pos += 1        # any error: the next orchestrator in the list
        run.finish(done, tampered, total)


def _go_livepeer(run: _Run, rng: random.Random, verification_freq: int) -> None:
    w = run.w
    sus = Suspender(go_compat=True)
    algo = ProbabilitySelection()
    n = len(w.orchs)
    penalty = transcoding_penalty(n, n)
    threshold = refresh_threshold(n)
    sessions: dict[str, Session] = {}
    sel = MinLSSelector(algorithm=algo, max_price=w.max_price, rng=rng)
    last: list[Session] = []
    verified: str | None = None

    def refresh() -> None:
        sus.signal_refresh()
        fresh = [o for o in w.orchs if o.address not in sessions]
        # discovery: non-suspended by round trip, then suspended ones (lowest penalty first) to fill
        fresh.sort(key=lambda o: (sus.suspended(o.address) > 0, sus.suspended(o.address), o.rtt_s))
        new = [Session(Candidate(o.address, stake=o.stake, price=o.price, latency=o.rtt_s)) for o in fresh]
        for s in new:
            sessions[s.address] = s
        sel.add(new)

    def remove(addr: str) -> None:
        s = sessions.pop(addr, None)
        if s is not None:
            sel.remove(s)
        if s in last:
            last.remove(s)

    def pick(exclude: set[str]) -> Session | None:
        if sel.size() < threshold:
            refresh()
        for s in last:
            if s.address not in exclude and s.address in sessions and can_reuse(s, 0.0):
                return s
        for retry in range(2):
            s = sel.select()
            while s is not None and (s.address not in sessions or s.address in exclude):
                s = sel.select()
            if s is not None or retry:
                return s
            # Generous to go-livepeer: refresh when nothing is selectable. Go refreshes only below the size
            # threshold, which price-filtered sessions count towards, and would fail the segment.
            refresh()
        return None

    def set_last(used: list[Session]) -> None:
        """lastSess = the sessions just used that run in real time (reusable); one leaving it goes back to
        the selector (a session slower than real time was already returned by ``done_with``)."""
        new = [s for s in used if s.address in sessions and 0 < s.latency_score <= 1.0]
        for old in last:
            if old not in new and old.address in sessions and 0 < old.latency_score <= 1.0:
                sel.complete(old)
        last[:] = new

    def done_with(s: Session, lat: float) -> None:
        s.latency_score = latency_score(lat, SEGMENT_S)
        if s.address in sessions and not (0 < s.latency_score <= 1.0):
            sel.complete(s)

    refresh()
    for k in range(len(w.lat_z)):
        run.k = k
        accepted, tampered, seg_lat = None, False, 0.0
        for _ in range(MAX_ATTEMPTS):
            skip = (verified is not None and verified in sessions and verification_freq > 0
                    and rng.getrandbits(32) % verification_freq != 0)
            if verified is not None and verified not in sessions:
                verified = None
            if skip:
                chosen = [sessions[verified]]
            else:
                first = sessions.get(verified) if verified else None
                chosen = [first] if first is not None else []
                while len(chosen) < (2 if verification_freq else 1):
                    s = pick({c.address for c in chosen})
                    if s is None:
                        break
                    chosen.append(s)
            if not chosen:
                break
            outs = []
            for s in chosen:
                o = run.by_addr[s.address]
                ok, lat, t, _cls = run.attempt(o)
                outs.append((s, o, ok, lat, t))
            verify = not skip and verification_freq > 0
            if verify:
                run.attempt(w.trusted)
                run.res.verified_segments += 1
            seg_lat += max(lat for *_, lat, _ in outs)
            good = []
            for s, o, ok, lat, t in outs:
                if not ok:
                    remove(s.address)                        # suspendAndRemoveOrch
                    sus.suspend(s.address, penalty)
                    if s.address == verified:
                        verified = None
                else:
                    good.append((s, o, lat, t))
                    done_with(s, lat)
            if not good:
                continue
            if not verify:
                s, o, lat, t = good[0]
                accepted, tampered = o, t
                set_last([g[0] for g in good])
                break
            failed_before = []
            for s, o, lat, t in good:
                if run.check(o, t, "mpeg7-livepeer"):
                    accepted, tampered = o, t
                    verified = s.address
                    for f in failed_before:                  # earlier mismatches: suspendAndRemoveOrch
                        remove(f)
                        sus.suspend(f, penalty)
                    set_last([s] + [g[0] for g in good if g[0] is not s])
                    break
                failed_before.append(s.address)
                if s.address == verified:
                    verified = None
            if accepted is None:                             # nobody matched: the trusted result, no suspension
                accepted, tampered = w.trusted, False
                set_last([g[0] for g in good])
            break
        run.finish(accepted, tampered, seg_lat)


def _lpcore(run: _Run, rng: random.Random, settings: PolicySettings, reputation: Reputation | None) -> None:
    w = run.w
    pol = LpcorePolicy(reputation, settings=settings, rng=rng)
    sus = Suspender()
    cands = [Candidate(o.address, stake=o.stake, price=o.price, latency=o.rtt_s) for o in w.orchs]
    for k in range(len(w.lat_z)):
        run.k = k
        if k % 30 == 0:
            sus.signal_refresh()                             # a pool refresh every minute of stream
        accepted, tampered, seg_lat = None, False, 0.0
        tried: list[str] = []
        for _ in range(MAX_ATTEMPTS):
            c = pol.choose(cands, w.max_price, suspended=sus.is_suspended, exclude=tried)
            if c is None:
                c = pol.choose(cands, w.max_price, exclude=tried)   # everyone suspended: release-all
                if c is None:
                    break
            o = run.by_addr[c.address]
            tried.append(c.address)
            verify = pol.should_verify(c.address)
            ok, lat, t, cls = run.attempt(o)
            pol.record_job(c.address, ok=ok, latency_s=lat, failure=cls, paid_wei=run.last_paid)
            if verify and ok:
                run.attempt(w.trusted)
                run.res.verified_segments += 1
            seg_lat += lat
            if not ok:
                sus.suspend(c.address, 1 if cls == "capacity" else 3)   # capacity: a short hold (go-livepeer #3436)
                continue
            if verify:
                passed = run.check(o, t)
                pol.record_verification(c.address, passed)
                if not passed:                               # use the trusted rendition; swap next segment
                    accepted, tampered = w.trusted, False
                    break
            accepted, tampered = o, t
            pol.served(c.address)
            break
        run.finish(accepted, tampered, seg_lat)


def simulate(policy: str, *, seed: int, orchestrators: int = 50, segments: int = 2000, cheater_fraction: float = 0.2,
             verification_freq: int = 4, settings: PolicySettings | None = None,
             reputation: Reputation | None = None, world: World | None = None) -> SimResult:
    """Runs ``policy`` (``"sdk"``, ``"go-livepeer"`` or ``"lpcore"``) over the world of ``seed``.
    ``verification_freq``: go-livepeer's fast-verification frequency. ``settings``/``reputation``: the lpcore
    policy's knobs and store (a fresh in-memory one by default)."""
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; choose from {', '.join(POLICIES)}")
    w = world if world is not None else make_world(seed, orchestrators, segments, cheater_fraction)
    rng = random.Random(seed * 1_000_003 + zlib.crc32(policy.encode()))
    if policy == "sdk":
        run = _Run(w, policy, seed, "mpeg7-livepeer")
        _sdk(run)
    elif policy == "go-livepeer":
        run = _Run(w, policy, seed, "mpeg7-livepeer")
        _go_livepeer(run, rng, verification_freq)
    else:
        s = settings or PolicySettings()
        run = _Run(w, policy, seed, s.detector)
        _lpcore(run, rng, s, reputation)
    return run.res


def compare_policies(policies: Sequence[str] = POLICIES, *, seed: int, **kw) -> list[SimResult]:
    """Every policy over the same world (same seed and parameters)."""
    w = make_world(seed, kw.pop("orchestrators", 50), kw.pop("segments", 2000), kw.pop("cheater_fraction", 0.2))
    return [simulate(p, seed=seed, world=w, **kw) for p in policies]
