"""Property tests (hypothesis) for the params math, against direct restatements of the spec."""

from __future__ import annotations

import hashlib
import hmac
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from lpcore import pm
from lpcore.pm.params import MAX_WIN_PROB

u256 = st.integers(0, 2**256 - 1)


def be(x: int) -> bytes:
    return x.to_bytes((x.bit_length() + 7) // 8, "big") if x else b""


@settings(max_examples=200, deadline=None)
@given(secret=st.binary(min_size=32, max_size=32), seed=u256, sender=st.binary(min_size=20, max_size=20),
       fv=u256, wp=u256, exp=u256, num=st.integers(-(2**70), 2**70), den=st.integers(1, 2**70),
       rnd=st.integers(0, 2**63 - 1), bh=st.binary(min_size=32, max_size=32))
def test_recipient_rand_is_hmac_of_minimal_fields(secret, seed, sender, fv, wp, exp, num, den, rnd, bh):
    price = Fraction(num, den)
    aux = b"" if rnd == 0 and bh == b"\0" * 32 else rnd.to_bytes(32, "big") + bh
    msg = be(seed) + sender + be(fv) + be(wp) + be(exp) + be(abs(price.numerator)) + be(price.denominator) + aux
    want = int.from_bytes(hmac.new(secret, msg, hashlib.sha256).digest(), "big")
    assert pm.recipient_rand(secret, seed, sender, fv, wp, exp, price, rnd, bh) == want


@settings(max_examples=300, deadline=None)
@given(fv=st.integers(1, 2**64), ev=st.integers(1, 2**40))
def test_win_prob_is_the_ceiling_below_2_64(fv, ev):
    wp = pm.win_prob_for(fv, ev)
    if fv == ev:
        assert wp == MAX_WIN_PROB
    else:
        assert wp == ev * -(-MAX_WIN_PROB // fv)  # ceil((2^256-1)/fv): the quirk cannot trigger for fv <= 2^64
        if ev < fv:
            assert abs(ev - fv * wp // MAX_WIN_PROB) <= 1


@settings(max_examples=300, deadline=None)
@given(num=st.integers(-(10**30), 10**30), den=st.integers(1, 10**12), prec=st.integers(0, 8))
def test_float_string_rounds_half_away_from_zero(num, den, prec):
    x = Fraction(num, den)
    with localcontext() as ctx:
        ctx.prec = 80
        d = (Decimal(abs(num)) / Decimal(den)).quantize(Decimal(1).scaleb(-prec), rounding=ROUND_HALF_UP)
    want = ("-" if num < 0 else "") + (f"{d:.{prec}f}")
    assert pm.float_string(x, prec) == want


@settings(max_examples=200, deadline=None)
@given(ev=st.integers(1, 10**12), gas=st.none() | st.integers(0, 10**12), redeem=st.integers(1, 2 * 10**6),
       mult=st.integers(1, 1000), max_float=st.integers(0, 10**24), max_fv=st.integers(0, 10**20))
def test_face_value_never_exceeds_caps(ev, gas, redeem, mult, max_float, max_fv):
    try:
        fv = pm.face_value_for(ev=ev, max_float=max_float, gas_price=gas, redeem_gas=redeem, tx_cost_multiplier=mult,
                               max_face_value=max_fv)
    except pm.errors.InsufficientSenderReserve:
        return
    assert ev <= fv <= max_float
    if max_fv > 0:
        assert fv <= max_fv
    tx = redeem * (gas or 0)
    assert fv >= tx or fv >= redeem * 3 * 10**9


@settings(max_examples=60, deadline=None)
@given(sigs=st.lists(st.binary(min_size=0, max_size=70), min_size=1, max_size=8),
       nonces=st.lists(st.integers(0, 2**32 - 1), min_size=8, max_size=8))
def test_garbage_signatures_are_non_fatal_invalid_signatures(tmp_path_factory, sigs, nonces):
    """Random bytes as signatures (any length): each ticket fails alone as an invalid signature, nothing is
    credited or queued, and nothing crashes. (A random 65-byte string recovering to the sender is a 2^-160 event.)"""
    from tests.pm.helpers import Node

    node = _FUZZ_NODE.get("node") or _FUZZ_NODE.setdefault("node", Node(tmp_path_factory.mktemp("fuzz")))
    p = node.params()
    pay = pm.Payment(p, node.signer.address, p.expiration_params, nonces[: len(sigs)], sigs, p.price_per_pixel)
    res = node.recipient.receive_payment(pay)
    assert res.tickets == len(sigs) and res.credited_tickets == 0 and not res.winners
    assert all(isinstance(e, pm.errors.InvalidTicketSignature) for _, e in res.errors) and len(res.errors) == len(sigs)


_FUZZ_NODE: dict = {}
