"""market.md §7 test vectors TV1-TV5 and TV7-TV12 (TV6, discovery ranking, is in test_discovery.py).

Each QUIRK is tested in both modes where lpcore offers both (``go_compat``)."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest

from lpcore.errors import InvalidPrice, MarketError
from lpcore.market import (Candidate, LiveSelectionAlgorithm, MaxPrices, MinLSSelector, PriceInfo,
                           ProbabilitySelection, Session, Suspender, SwapLimiter, can_reuse, is_version_compatible,
                           latency_score, refresh_threshold, tickets_for_fee, transcode_fee, ai_fee,
                           transcoding_penalty)

A, B, C, D = (f"0x{i:040x}" for i in (1, 2, 3, 4))


def cands(stakes=None, prices=None, order=(A, B, C)):
    stakes, prices = stakes or {}, prices or {}
    return [Candidate(a, stake=stakes.get(a, 0), price=prices.get(a, 1)) for a in order]


# --- TV1 ------------------------------------------------------------------------------------------------------

def test_tv1_calculate_probabilities():
    p = ProbabilitySelection(0.3, 0.7, 0, 100).probabilities(
        cands({A: 100, B: 100000, C: 300}, {A: 400, B: 700, C: 1000}))
    assert p == pytest.approx({A: 0.665530, B: 0.331925, C: 0.002545}, abs=1e-4)
    p = ProbabilitySelection(0, 0, 1).probabilities(cands({A: 100, B: 100000, C: 300}))
    assert p == pytest.approx({A: 1 / 3, B: 1 / 3, C: 1 / 3})
    p = ProbabilitySelection(0, 1, 0).probabilities(cands(prices={A: 1, B: 1, C: 10**8}))
    assert p == pytest.approx({A: 0.5, B: 0.5, C: 0.0})
    p = ProbabilitySelection(1, 0, 0).probabilities(cands({A: 100, B: 100, C: 800}))
    assert p == pytest.approx({A: 0.1, B: 0.1, C: 0.8})


# --- TV2 ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("go_compat", [False, True])
def test_tv2_default_weights_and_select_by(go_compat):
    sel = ProbabilitySelection(go_compat=go_compat)
    cs = cands({A: 100, B: 100, C: 800})
    p = sel.probabilities(cs)
    assert p[A] == p[B] == 0.16999999999999998 and math.isclose(p[C], 0.66)
    cum = list(itertools_accumulate(p.values()))
    assert cum == [0.16999999999999998, 0.33999999999999997, 0.9999999999999999]
    for r, want in [(0.0, A), (0.1699, A), (0.1701, B), (0.3399, B), (0.3401, C), (0.9999999999999999, C)]:
        assert sel.select(cs, r=r).address == want
    # fallback: no cum >= r selects the first candidate (weights sum within the 1e-4 tolerance)
    slack = ProbabilitySelection(0.7, 0, 0.29995, go_compat=go_compat)
    assert math.isclose(sum(slack.probabilities(cs).values()), 0.99995)
    assert slack.select(cs, r=0.99999).address == A
    # distribution: N = 100 000 draws with seed 0, +-0.01
    rng = random.Random(0)
    counts = {A: 0, B: 0, C: 0}
    for _ in range(100_000):
        counts[sel.select(cs, rng=rng).address] += 1
    assert counts[A] / 1e5 == pytest.approx(0.17, abs=0.01)
    assert counts[B] / 1e5 == pytest.approx(0.17, abs=0.01)
    assert counts[C] / 1e5 == pytest.approx(0.66, abs=0.01)


def itertools_accumulate(values):
    total = 0.0
    for v in values:
        total += v
        yield total


def test_weights_must_sum_to_one():
    with pytest.raises(MarketError, match="sum to 1"):
        ProbabilitySelection(0.5, 0.5, 0.5)
    with pytest.raises(MarketError):
        ProbabilitySelection(-0.3, 1.0, 0.3)
    with pytest.raises(MarketError):
        ProbabilitySelection(price_exp_factor=0)


# --- TV3 (QUIRK 3.1a) -----------------------------------------------------------------------------------------

def test_tv3_zero_total_stake_go_compat():
    sel = ProbabilitySelection(go_compat=True)
    cs = cands()
    p = sel.probabilities(cs)
    assert p == pytest.approx({A: 0.8, B: 0.8, C: 0.8}) and sum(p.values()) == pytest.approx(2.4)
    assert sel.select(cs, r=0.5).address == A
    assert sel.select(cs, r=0.85).address == B
    assert all(sel.select(cs, r=r / 100).address != C for r in range(100))


def test_tv3_zero_total_stake_normalised():
    sel = ProbabilitySelection()
    cs = cands()
    p = sel.probabilities(cs)
    assert p == pytest.approx({A: 1 / 3, B: 1 / 3, C: 1 / 3}) and sum(p.values()) == pytest.approx(1.0)
    assert sel.select(cs, r=0.5).address == B
    # a zero price-weight sum (every exp underflows at AI-scale prices) is normalised the same way
    big = cands({A: 1, B: 1, C: 2}, {A: 10**6, B: 10**6, C: 10**6})
    q = ProbabilitySelection(0.0, 1.0, 0.0).probabilities(big)
    assert q == pytest.approx({A: 1 / 3, B: 1 / 3, C: 1 / 3})
    assert ProbabilitySelection(0.0, 1.0, 0.0, go_compat=True).probabilities(big) == {A: 1.0, B: 1.0, C: 1.0}


@pytest.mark.parametrize("go_compat", [False, True])
def test_tv3_second_case(go_compat):
    p = ProbabilitySelection(go_compat=go_compat).probabilities(
        [Candidate(A, stake=1, price=0), Candidate(B, stake=3, price=0)])
    assert p == pytest.approx({A: 0.325, B: 0.675}) and sum(p.values()) == pytest.approx(1)


# --- TV4 ------------------------------------------------------------------------------------------------------

def _filtered(min_perf, perf, prices, max_price, ignore=False):
    sel = ProbabilitySelection(min_perf_score=min_perf, ignore_max_price_if_needed=ignore)
    return list(sel.probabilities(cands(prices=prices), max_price, perf))


def test_tv4_filter_pipeline():
    assert _filtered(0.7, {A: .8, B: .6, C: .9}, {A: 500, B: 1500, C: 700}, 750) == [A, C]
    assert _filtered(0.7, {A: .8, B: .9, C: .6}, {A: 500, B: 1000, C: 1500}, 1000) == [A, B]
    assert _filtered(0.7, {A: .6, B: .8, C: .9}, {A: 500, B: 1500, C: 1000}, 100, ignore=True) == [B, C]
    assert _filtered(0.7, {A: .6, B: .8, C: .9}, {A: 500, B: 1500, C: 1000}, 100) == []
    sel = ProbabilitySelection(min_perf_score=0.7)
    assert sel.select(cands(prices={A: 500, B: 1500, C: 1000}), 100, {A: .6, B: .8, C: .9}, r=0.5) is None
    assert _filtered(0.99, {A: .8, B: .9, C: .6}, {}, None) == [A, B, C]
    assert _filtered(0.7, {}, {}, None) == [A, B, C]


# --- TV5 ------------------------------------------------------------------------------------------------------

def test_tv5_rational_max_price():
    mx = MaxPrices(global_max=PriceInfo(1, 3)).for_job()
    assert mx == Fraction(1, 3)
    sel = ProbabilitySelection()
    for info, ok in [(PriceInfo(333, 1000), True), (PriceInfo(1, 3), True), (PriceInfo(2, 6), True),
                     (PriceInfo(334, 1000), False)]:
        got = sel.probabilities([Candidate(A, price=info)], mx)
        assert (A in got) is ok, info
    with pytest.raises(InvalidPrice):
        PriceInfo(5, 0)


@pytest.mark.parametrize("go_compat", [False, True])
def test_tv5_quirk_3_1b_nil_price_is_excluded(go_compat):
    # the (5, 0) orchestrator has no valid price: as the only candidate, Go bypasses the filter and panics
    sel = ProbabilitySelection(go_compat=go_compat)
    assert sel.probabilities([Candidate(A, price=None)], Fraction(1, 3)) == {}
    assert sel.probabilities([Candidate(A, price=None)]) == {}
    assert sel.select([Candidate(A, price=None), Candidate(B, price=1)], r=0.0).address == B


def test_tv5_effective_max_per_capability():
    mp = MaxPrices(global_max=1500, per_capability={(27, "sd-turbo"): 1000, (30, "default"): 1200})
    assert mp.for_job({27: ["sd-turbo"]}) == 1000
    assert mp.for_job({27: ["other-model"]}) == 1500
    assert mp.for_job({30: ["anything"]}) == 1200
    assert mp.for_job({27: ["sd-turbo"], 30: ["x"]}) == 2200
    assert mp.for_job(None) == 1500 and mp.for_job({}) == 1500
    assert MaxPrices().for_job({27: ["sd-turbo"]}) is None and MaxPrices().for_job() is None


# --- TV7 ------------------------------------------------------------------------------------------------------

def test_tv7_min_ls_selector():
    u1, u2, u3 = (Session(Candidate(n)) for n in ("U1", "U2", "U3"))
    sel = MinLSSelector()
    sel.add([u1, u2, u3])
    assert sel.select() is u1
    u1.latency_score = 1.1
    sel.complete(u1)
    assert sel.select() is u2
    u2.latency_score = 0.9
    sel.complete(u2)
    assert [s.latency_score for s in sel.known] == [0.9, 1.1]
    assert sel.select() is u2
    u2.latency_score = 1.1
    sel.complete(u2)
    assert sel.select() is u3
    u3.latency_score = 2.1
    sel.complete(u3)
    assert sel.unknown == [] and sorted(s.latency_score for s in sel.known) == [1.1, 1.1, 2.1]
    got = sel.select()
    assert got in (u1, u2) and got.latency_score == 1.1
    assert sel.select().latency_score == 1.1 and sel.select() is u3 and sel.select() is None


def test_tv7_latency_score_and_reuse():
    assert latency_score(1.2, 2.0) == pytest.approx(0.6)
    assert latency_score(1.2, 1.0) == pytest.approx(0.8)
    assert latency_score(4.4, 4.0) == pytest.approx(1.1)
    s = Session(Candidate(A), latency_score=0.8)
    assert can_reuse(s, now=0)
    s.latency_score = 0
    assert not can_reuse(s, now=0)
    s.in_flight = [(10.0, 1.0)]
    assert can_reuse(s, now=11.4, dur_mult=1)
    s.in_flight = [(10.0, 2.0)]
    assert not can_reuse(s, now=12.5, dur_mult=1)
    assert can_reuse(s, now=12.5, dur_mult=2)


def test_tv7_unknown_sessions_on_chain_and_quirk():
    # on-chain: the algorithm picks among unknown sessions; the earliest session of the drawn address wins
    algo = ProbabilitySelection(1.0, 0.0, 0.0)
    s1, s2, s3 = Session(Candidate(A, stake=0, price=1)), Session(Candidate(B, stake=10, price=1)), \
        Session(Candidate(B, stake=10, price=1, uri="extra"))
    sel = MinLSSelector(algorithm=algo, rng=random.Random(0))
    sel.add([s1, s2, s3])
    assert sel.select() is s2 and sel.select() is s3
    # QUIRK: heap min > 1.0 and every unknown session price-filtered -> Go: None although a known session
    # exists; lpcore's default falls back to the known session
    for go_compat in (True, False):
        k = Session(Candidate(C, stake=1, price=1), latency_score=1.5)
        sel = MinLSSelector(algorithm=algo, max_price=Fraction(10), go_compat=go_compat)
        sel.add([Session(Candidate(D, stake=1, price=100))])
        sel.complete(k)
        assert sel.select() is (None if go_compat else k)


# --- TV8 ------------------------------------------------------------------------------------------------------

def test_tv8_ai_semantics():
    s = Suspender()
    s.signal_refresh()
    s.suspend("O1", 3)
    assert s.list["O1"] == 4
    for count in (2, 3, 4):
        s.signal_refresh()
        assert s.count == count and s.suspended("O1") == 4
    s.signal_refresh()
    assert s.suspended("O1") == 0 and "O1" not in s.list


def test_tv8_release_all_and_live():
    s = Suspender()
    s.signal_refresh()
    s.suspend("O1", 3)
    s.signal_refresh()               # count 2: pools empty -> release all
    s.signal_refresh(3)
    assert s.count == 5 and s.suspended("O1") == 0
    s.signal_refresh()
    assert s.count == 6 and not s.is_suspended("O1")
    s.signal_refresh()               # count 7: live Remove (penalty 0) + suspend(5)
    s.suspend("L", 0)
    s.suspend("L", 5)
    assert s.list["L"] == 12
    for _ in range(5):
        s.signal_refresh()
        assert s.is_suspended("L")
    s.signal_refresh()
    assert not s.is_suspended("L")


def test_tv8_transcoding_go_literal_and_fixed():
    assert transcoding_penalty(10, 10) == 1 and transcoding_penalty(20, min(20, 8)) == 3
    go = Suspender(go_compat=True)
    go.signal_refresh()
    go.suspend("O1", transcoding_penalty(10, 10))
    assert go.list["O1"] == 1
    go.signal_refresh()
    assert not go.is_suspended("O1")   # the Go arithmetic lets it straight back in
    fixed = Suspender()
    fixed.signal_refresh()
    fixed.suspend("O1", transcoding_penalty(10, 10))
    assert fixed.list["O1"] == 2
    fixed.signal_refresh()
    assert fixed.is_suspended("O1")
    fixed.signal_refresh()
    assert not fixed.is_suspended("O1")


# --- TV9 ------------------------------------------------------------------------------------------------------

def test_tv9_refresh_thresholds_and_swaps():
    assert [refresh_threshold(n) for n in (3, 8, 30)] == [2, 4, 8]
    assert refresh_threshold(min(20, 14)) == 7
    lim = SwapLimiter()
    assert lim.swap(0) and lim.count == 1
    assert lim.swap(60) and lim.count == 2
    assert not lim.swap(120) and lim.count == 3
    lim = SwapLimiter()
    lim.swap(0)
    lim.swap(60)
    assert lim.swap(60 + 181) and lim.count == 1


# --- TV10 -----------------------------------------------------------------------------------------------------

def test_tv10_fee_and_ticket_count():
    fee = transcode_fee([(426, 240, 30), (640, 360, 30)], 2.0, 1200)
    assert fee == Fraction(26860059275088730989375, 1099511627776)
    assert round(fee) == 24_429_081_600
    ev = 8 * 10**9
    assert tickets_for_fee(fee, ev, 0) == 4
    assert tickets_for_fee(fee, ev, 10**10) == 2
    assert tickets_for_fee(fee, ev, 25 * 10**9) == 0
    ai = ai_fee(1_048_576, 4768371)
    assert ai == 4_999_999_389_696 and tickets_for_fee(ai, ev) == 625
    assert fee != 19_958_400 * Fraction("1.02") * 1200   # the binary double, not the decimal


# --- TV11 -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lo, ver, ok", [("0.8.0", "0.8.0-dev", True), ("0.8.0", "0.8.1", True),
                                         ("0.8.0", "0.7.9", False), ("0.8.0", "", False),
                                         ("0.8.0", "undefined", False), ("0.8.0", "garbage", False),
                                         ("garbage", "0.1.0", True), ("garbage", "", False),
                                         ("", "anything", True), ("", "", True)])
def test_tv11_version_gating(lo, ver, ok):
    assert is_version_compatible(lo, ver) is ok


# --- TV12 -----------------------------------------------------------------------------------------------------

def test_tv12_live_selection():
    live = LiveSelectionAlgorithm()
    cs = [Candidate(A), Candidate(B, price=2500), Candidate(C, price=500), Candidate(D, price=1000)]
    assert live.select(cs, 2000).address == C
    cs2 = [Candidate(A), Candidate(B, price=2500), Candidate(C, price=3500), Candidate(D, price=4000)]
    assert live.select(cs2, 2000) is None
    assert live.select(cs, None).address == A
    assert live.select([Candidate(A), Candidate(B)], 2000).address == A
