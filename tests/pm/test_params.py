"""Ticket-params math (spec/pm.md §4.3-§4.5), validate_ticket_params (§5.3) and Go formatting helpers."""

from __future__ import annotations

import hashlib
import hmac
import json
from fractions import Fraction

import pytest

from lpcore import pm
from lpcore.broker import SenderInfo
from lpcore.pm import errors as E
from lpcore.pm.params import MAX_WIN_PROB

from tests.pm.helpers import VECTORS_PATH

VECTORS = json.loads(VECTORS_PATH.read_text())

TP = VECTORS["ticket_params"]


@pytest.mark.parametrize("row", TP["rows"], ids=[r["name"] for r in TP["rows"]])
def test_ticket_params_vectors(row):
    cfg = TP["config"]
    ev = int(cfg["ev"])
    price = Fraction(row["price_per_pixel"])
    assert int(cfg["max_face_value"]) == 0 and int(cfg["ev_multiplier"]) == 100

    def compute():
        fv = 0
        if price.numerator > 0:
            fv = pm.face_value_for(
                ev=ev, max_float=int(row["max_float"]), gas_price=int(row["gas_price"]),
                redeem_gas=int(cfg["redeem_gas"]), tx_cost_multiplier=int(cfg["tx_cost_multiplier"]),
                avg_gas_price=int(cfg["avg_gas_price"]),
            )
        return fv, pm.win_prob_for(fv, ev)

    if "expect_error" in row:
        with pytest.raises(E.InsufficientSenderReserve) as ei:
            compute()
        assert str(ei.value) == row["expect_error"]
        return
    fv, wp = compute()
    assert fv == int(row["face_value"])
    assert wp == int(row["win_prob"])
    if fv:
        assert abs(ev - fv * wp // MAX_WIN_PROB) <= 1


def test_face_value_max_float_error_propagates_unchanged():
    class Boom(Exception):
        pass

    err = Boom("max float unavailable")

    def mf():
        raise err

    with pytest.raises(Boom) as ei:
        pm.face_value_for(ev=5, max_float=mf, gas_price=100, redeem_gas=10000)
    assert ei.value is err


def test_face_value_max_face_value_cap():
    kw = dict(ev=5, max_float=10**10, gas_price=3, redeem_gas=1)  # txCost 3 -> fv = 300
    assert pm.face_value_for(**kw) == 300
    assert pm.face_value_for(**kw, max_face_value=50) == 50
    assert pm.face_value_for(**kw, max_face_value=400) == 300
    with pytest.raises(E.InsufficientSenderReserve):
        pm.face_value_for(**kw, max_face_value=4)  # below EV (step 6)
    with pytest.raises(E.InsufficientSenderReserve):
        pm.face_value_for(**kw, max_face_value=2)  # below both tx costs (step 7) too


def test_win_prob_rules():
    assert pm.win_prob_for(0, 5) == 0
    assert pm.win_prob_for(5, 5) == MAX_WIN_PROB
    # exact divisor: no +1
    fv = 3  # (2^256-1) is divisible by 3
    assert MAX_WIN_PROB % fv == 0
    assert pm.win_prob_for(fv, 1) == MAX_WIN_PROB // 3
    assert pm.win_prob_for(7, 2) == 2 * (MAX_WIN_PROB // 7 + 1)


def test_win_prob_go_low64_remainder_quirk():
    # fv divides (2^256-1) - 2^64 and fv > 2^64, so (2^256-1) mod fv == 2^64: non-zero, but its low 64 bits
    # are zero and Go's `m.Int64() != 0` treats it as an exact division (EV*q, not EV*(q+1)).
    fv = (MAX_WIN_PROB - 2**64) // 4801
    assert (MAX_WIN_PROB - 2**64) % 4801 == 0 and fv > 2**64 and MAX_WIN_PROB % fv == 2**64
    assert pm.win_prob_for(fv, 9) == 9 * (MAX_WIN_PROB // fv)
    # one more wei of remainder in the low bits -> ceiling as usual
    fv2 = fv - 1
    assert MAX_WIN_PROB % fv2 & (2**64 - 1) != 0
    assert pm.win_prob_for(fv2, 9) == 9 * (MAX_WIN_PROB // fv2 + 1)


def test_recipient_rand_encoding_matches_hmac_over_minimal_fields():
    secret = b"\x03" + b"\0" * 31
    sender = bytes.fromhex("a69cda26600c155cf2c150964bdb5371ac3f606f")
    bh = bytes(range(32))
    got = pm.recipient_rand(secret, 0x0102, sender, 0, 255, 40, Fraction(6, 4), 10, bh)
    msg = bytes([1, 2]) + sender + b"" + bytes([255]) + bytes([40]) + bytes([3]) + bytes([2]) + (10).to_bytes(32, "big") + bh
    assert got == int.from_bytes(hmac.new(secret, msg, hashlib.sha256).digest(), "big")
    # round 0 with zero hash -> empty auxData; zero seed -> empty
    got0 = pm.recipient_rand(secret, 0, sender, 1, 1, 1, Fraction(1), 0, b"\0" * 32)
    msg0 = sender + b"\x01\x01\x01\x01\x01"
    assert got0 == int.from_bytes(hmac.new(secret, msg0, hashlib.sha256).digest(), "big")
    # a negative price contributes its magnitude (Go's Bytes())
    assert pm.recipient_rand(secret, 0, sender, 1, 1, 1, Fraction(-1), 0, b"\0" * 32) == got0


def test_recipient_rand_argument_errors():
    s = b"\0" * 20
    with pytest.raises(ValueError, match="sender"):
        pm.recipient_rand(b"k", 1, b"\0" * 19, 1, 1, 1, Fraction(1), 0, b"\0" * 32)
    with pytest.raises(ValueError, match="face_value"):
        pm.recipient_rand(b"k", 1, s, -1, 1, 1, Fraction(1), 0, b"\0" * 32)
    with pytest.raises(ValueError, match="creation_round"):
        pm.recipient_rand(b"k", 1, s, 1, 1, 1, Fraction(1), -1, b"\0" * 32)
    with pytest.raises(TypeError, match="price_per_pixel"):
        pm.recipient_rand(b"k", 1, s, 1, 1, 1, 0.5, 0, b"\0" * 32)


@pytest.mark.parametrize("x,prec,want", [
    (Fraction(5, 2), 0, "3"), (Fraction(-5, 2), 0, "-3"), (Fraction(1, 3), 5, "0.33333"), (Fraction(2, 3), 5, "0.66667"),
    (Fraction(999999, 1000000), 5, "1.00000"), (Fraction(3 * 10**12), 5, "3000000000000.00000"), (Fraction(0), 5, "0.00000"),
    (Fraction(1, 200000), 5, "0.00001"), (Fraction(-1, 200000), 5, "-0.00001"),
])
def test_float_string_matches_go(x, prec, want):
    assert pm.float_string(x, prec) == want


def test_expected_value_vectors_render_like_go():
    for v in VECTORS["expected_value"]["vectors"]:
        fv, wp = int(v["face_value"]), int(v["win_prob"])
        assert pm.float_string(pm.ticket_ev(fv, wp), 0) == v["ev_float_string_0"]


# --- validate_ticket_params: every row of spec/pm.md §5.3, in order ---------------------------------------

R = b"\x11" * 20
GOOD_INFO = SenderInfo(deposit=10**12, withdraw_round=0, funds_remaining=10**12, claimed_in_current_round=0)


def params(fv=10**6, wp=MAX_WIN_PROB // 100, exp=150):
    return pm.TicketParams(recipient=R, face_value=fv, win_prob=wp, recipient_rand_hash=b"\x22" * 32, seed=7,
                           expiration_block=exp, price_per_pixel=Fraction(1))


def check(p, n=1, info=GOOD_INFO, l1=100, lir=10, max_ev=Fraction(10**5), max_total=Fraction(10**6), mult=1):
    pm.validate_ticket_params(p, n, last_seen_l1_block=l1, last_initialized_round=lir, sender_info=info,
                              max_ev=max_ev, max_total_ev=max_total, deposit_multiplier=mult)


def raises(exc, msg, *a, **k):
    with pytest.raises(exc) as ei:
        check(*a, **k)
    assert str(ei.value) == msg
    return ei.value


def test_validate_ok():
    check(params())


def test_validate_nil():
    raises(E.TicketParamsNil, "ticketParams is nil", None)


def test_validate_expiration_block_zero_low64():
    raises(E.TicketParamsExpirationBlockZero, "ticketParams expiration block is 0", params(exp=0))
    # Go reads the low 64 bits only: 2^64 counts as 0
    raises(E.TicketParamsExpirationBlockZero, "ticketParams expiration block is 0", params(exp=2**64))


def test_validate_expired_buffer():
    raises(E.TicketParamsExpired, "TicketParams expired", params(exp=101), l1=100)
    raises(E.TicketParamsExpired, "TicketParams expired", params(exp=100), l1=100)
    raises(E.TicketParamsExpired, "TicketParams expired", params(exp=50), l1=100)
    check(params(exp=102), l1=100)
    # checked before the free-ticket shortcut
    raises(E.TicketParamsExpired, "TicketParams expired", params(fv=0, wp=0, exp=100), l1=100)


def test_validate_free_ticket_skips_later_checks():
    check(params(fv=0, wp=0), info=lambda: (_ for _ in ()).throw(AssertionError("must not be called")))
    check(params(fv=10, wp=0), info=SenderInfo())


def test_validate_face_value_too_low():
    raises(E.TicketFaceValueTooLow, "ticket faceValue too low faceValue=1000", params(fv=1000, wp=MAX_WIN_PROB))


def test_validate_ev_too_high_5_decimals():
    # EV = 10^6 * (MAX//3) / MAX = 333333.33333... > 100000
    raises(E.TicketEVTooHigh, "ticket EV 333333.33333 > max ticket EV 100000.00000", params(wp=MAX_WIN_PROB // 3))


def test_validate_sender_info_error_propagates():
    class Fail(Exception):
        pass

    def info():
        raise Fail("rpc down")

    with pytest.raises(Fail, match="rpc down"):
        check(params(), info=info)


def test_validate_sender_unlocking_no_reserve_no_deposit():
    msg = "unable to validate sender: deposit and reserve is set to unlock soon"
    e = raises(E.SenderUnlockingSoon, msg, params(), info=SenderInfo(10**12, 11, 10**12, 0), lir=10)
    assert isinstance(e, E.SenderValidationError)
    raises(E.SenderUnlockingSoon, msg, params(), info=SenderInfo(10**12, 5, 10**12, 0), lir=10)
    check(params(), info=SenderInfo(10**12, 12, 10**12, 0), lir=10)  # unlocks after next round: fine
    raises(E.NoSenderReserve, "no sender reserve", params(), info=SenderInfo(10**12, 0, 0, 0))
    raises(E.NoSenderDeposit, "no sender deposit", params(), info=SenderInfo(0, 0, 10**12, 0))
    # order: unlock check before reserve before deposit
    raises(E.SenderUnlockingSoon, msg, params(), info=SenderInfo(0, 3, 0, 0), lir=10)
    raises(E.NoSenderReserve, "no sender reserve", params(), info=SenderInfo(0, 0, 0, 0))


def test_validate_total_ev():
    # EV 10^4 per ticket; 101 tickets -> 1010000 > 10^6
    raises(E.TotalTicketEVTooHigh, "total ticket EV 1010000.00000 for 101 tickets > max total ticket EV 1000000.00000",
           params(), 101)
    check(params(), 100)


def test_validate_face_value_above_deposit_over_multiplier():
    raises(E.TicketFaceValueAboveMax, "ticket faceValue 1000000 > max faceValue 333333", params(),
           info=SenderInfo(10**6, 0, 1, 0), mult=3)
    check(params(), info=SenderInfo(10**6, 0, 1, 0), mult=1)


def test_ticket_params_argument_checks():
    with pytest.raises(ValueError, match="recipient"):
        pm.TicketParams(recipient=b"\0" * 19, face_value=1, win_prob=1, recipient_rand_hash=b"\0" * 32, seed=0,
                        expiration_block=1)
    with pytest.raises(ValueError, match="win_prob"):
        pm.TicketParams(recipient=R, face_value=1, win_prob=2**256, recipient_rand_hash=b"\0" * 32, seed=0,
                        expiration_block=1)
    with pytest.raises(TypeError, match="face_value"):
        pm.TicketParams(recipient=R, face_value="1", win_prob=1, recipient_rand_hash=b"\0" * 32, seed=0,
                        expiration_block=1)
    assert params().session_id == "0x" + "22" * 32


def test_validate_expiry_buffer_uses_go_int64_of_the_difference():
    # Go computes (expiration - lastSeen).Int64(): only the low 64 bits of the difference count.
    raises(E.TicketParamsExpired, "TicketParams expired", params(exp=2**64 + 101), l1=100)  # diff 2^64+1 -> 1
    check(params(exp=2**64 + 102), l1=100)  # diff 2^64+2 -> 2: not expired
    raises(E.TicketParamsExpired, "TicketParams expired", params(exp=2**63 + 100), l1=100)  # diff 2^63 -> negative
