"""Hypothesis properties of selection and prices: probabilities sum to 1, filters never add candidates, the
price comparison is exact."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

from lpcore.errors import InvalidPrice
from lpcore.market import (Candidate, FixedEthPrice, LiveSelectionAlgorithm, MaxPrices, Price, PriceInfo,
                           ProbabilitySelection, parse_price_per_unit)

prices = st.one_of(st.none(), st.builds(PriceInfo, st.integers(0, 10**12), st.integers(1, 10**6)))
candidate = st.builds(Candidate, st.integers(0, 12), stake=st.integers(0, 10**9), price=prices)
weights = st.sampled_from([(0.7, 0.0, 0.3), (0.3, 0.7, 0.0), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0), (0.2, 0.3, 0.5)])
max_price = st.one_of(st.none(), st.fractions(min_value=0, max_value=10**6, max_denominator=10**6))


@settings(max_examples=300, deadline=None)
@given(st.lists(candidate, max_size=12), weights, max_price, st.booleans())
def test_probabilities_sum_to_one_and_filters_never_add(cs, w, mx, ignore):
    sel = ProbabilitySelection(*w, ignore_max_price_if_needed=ignore)
    p = sel.probabilities(cs, mx)
    addrs = {c.address for c in cs}
    assert set(p) <= addrs
    assert all(v >= 0 for v in p.values())
    if p:
        assert sum(p.values()) == pytest.approx(1.0, abs=1e-9)
    priced = {c.address for c in cs if c.price is not None}
    assert set(p) <= priced
    if mx is not None and not ignore and any(c.price is not None for c in cs):
        last = {c.address: c for c in cs}
        assert all(last[a].price.price <= mx for a in p)
    pick = sel.select(cs, mx, r=0.5)
    assert (pick is None) == (not p) and (pick is None or pick.address in p)


@settings(max_examples=300, deadline=None)
@given(st.integers(-10**12, 10**12), st.integers(1, 10**9), st.integers(-10**12, 10**12), st.integers(1, 10**9))
def test_price_comparison_is_exact(pn, pd, mn, md):
    c = Candidate("a", stake=1, price=PriceInfo(pn, pd))
    mx = Fraction(mn, md)
    passes = "a" in ProbabilitySelection().probabilities([c], mx)
    assert passes == (0 <= pn and pn * md <= mn * pd)   # integer cross-multiplication, no float anywhere
    assert (LiveSelectionAlgorithm().select([c], mx) is not None) == (pn * md <= mn * pd)


def test_price_parsing_and_usd():
    assert parse_price_per_unit("0.50USD") == (Fraction(1, 2), "usd")
    assert parse_price_per_unit("1200") == (Fraction(1200), "")
    assert parse_price_per_unit("1e3") == (Fraction(1), "e3")   # Go's regex reads "e3" as a currency
    for bad in ("-1", "1.", "USD", "1 USD", "1" * 200):
        with pytest.raises(InvalidPrice):
            parse_price_per_unit(bad)
    feed = FixedEthPrice({"usd": Fraction(2500)})
    p = Price.parse("0.50USD", pixels_per_unit=10**12)
    assert p.wei_per_pixel(feed) == Fraction(1, 2) / 10**12 / 2500 * 10**18 == 200
    mp = MaxPrices(global_max=p, feed=feed)
    assert mp.for_job() == 200
    feed.quotes["usd"] = Fraction(5000)       # the feed moved: the ceiling follows at the next read
    assert mp.for_job() == 100
    assert Price(Fraction(2), 1, "ETH").wei_per_pixel() == 2 * 10**18
    with pytest.raises(InvalidPrice, match="price source"):
        p.wei_per_pixel()
    with pytest.raises(InvalidPrice):
        FixedEthPrice({}).price_of_eth("eur")
    with pytest.raises(InvalidPrice):
        PriceInfo(1, 2**63)
    assert MaxPrices(global_max=0).for_job() is None     # "0" = no limit


def test_orchestrator_price_per_capability_and_model():
    from lpcore.market import job_price

    base = PriceInfo(1000)
    table = {(27, "sd-turbo"): PriceInfo(3000), (30, "default"): PriceInfo(50, 10)}
    assert job_price(base, table) == 1000                                  # transcoding: the base price
    assert job_price(base, table, {27: ["sd-turbo"]}) == 3000
    assert job_price(base, table, {27: ["sd-turbo"], 30: ["default"]}) == 3005   # summed over (cap, model)
    assert job_price(base, table, {27: ["other"]}) == 1000                 # sum 0 -> base price
    assert job_price(None, {}, {27: ["x"]}) is None


def test_posted_prices_from_orchestrator_info():
    pytest.importorskip("google.protobuf")
    from lpcore.market import posted_prices
    from lpcore.signer import proto

    info = proto.OrchestratorInfo()
    info.price_info.pricePerUnit, info.price_info.pixelsPerUnit = 7, 3
    for cap, model, ppu, pix in ((27, "sd-turbo", 10, 1), (30, "", 4, 2), (31, "bad", 5, 0)):
        p = info.capabilities_prices.add()
        p.capability, p.constraint, p.pricePerUnit, p.pixelsPerUnit = cap, model, ppu, pix
    base, table = posted_prices(info)
    assert base.price == Fraction(7, 3)
    assert {k: v.price for k, v in table.items()} == {(27, "sd-turbo"): 10, (30, "default"): 2}
    assert posted_prices(proto.OrchestratorInfo()) == (None, {})
