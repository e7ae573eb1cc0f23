"""Sender sessions, nonces, batches (spec/pm.md §5.1-§5.2), checked against the pure-Python reference."""

from __future__ import annotations

import threading
from fractions import Fraction

import numpy as np
import pytest

from tests.pm import pyref
from tests.pm.helpers import ORCH_ADDR, SENDER_KEY
from lpcore import pm
from lpcore.broker import SenderInfo, StaticChainView
from lpcore.pm import errors as E
from lpcore.pm.params import MAX_WIN_PROB

BH = bytes(range(1, 33))


def make_sender(**kw):
    signer = pm.Signer(SENDER_KEY)
    view = StaticChainView(last_seen_l1_block=1000, last_initialized_round=20, last_initialized_l1_block_hash=BH,
                           sender_info={signer.address: SenderInfo(10**18, 0, 10**18, 0)})
    return pm.Sender(signer, view, view, **kw), view


def params(rrh=b"\x42" * 32, ep=None, fv=10**9, wp=MAX_WIN_PROB // 1000):
    return pm.TicketParams(recipient=ORCH_ADDR, face_value=fv, win_prob=wp, recipient_rand_hash=rrh, seed=99,
                           expiration_block=1040, price_per_pixel=Fraction(3, 2), expiration_params=ep)


def test_first_nonce_is_one_and_signatures_match_reference():
    s, _ = make_sender()
    ep = pm.TicketExpirationParams(19, b"\x07" * 32)
    sid = s.start_session(params(ep=ep))
    assert sid == "0x" + "42" * 32
    batch = s.create_ticket_batch(sid, 5)
    assert list(batch.sender_nonces) == [1, 2, 3, 4, 5]
    assert batch.sigs.shape == (5, 65) and batch.sigs.dtype == np.uint8
    assert batch.expiration_params == ep and batch.sender == s.address
    assert batch.expected_price == Fraction(3, 2)
    for i, n in enumerate(batch.sender_nonces):
        h = pyref.ticket_hash(ORCH_ADDR, s.address, 10**9, MAX_WIN_PROB // 1000, int(n), b"\x42" * 32, 19, b"\x07" * 32)
        assert batch.sigs[i].tobytes() == pyref.sign(SENDER_KEY, h)  # RFC 6979: deterministic
        assert pyref.recover(h, batch.sigs[i].tobytes()) == s.address
    assert list(s.create_ticket_batch(sid, 2).sender_nonces) == [6, 7]
    assert s.nonce(sid) == 7


def test_restart_resets_nonce_and_with_nonce_resumes():
    s, _ = make_sender()
    p = params()
    sid = s.start_session(p)
    s.create_ticket_batch(sid, 3)
    assert s.start_session(p) == sid
    assert list(s.create_ticket_batch(sid, 1).sender_nonces) == [1]
    s.start_session_with_nonce(p, 41)
    assert list(s.create_ticket_batch(sid, 2).sender_nonces) == [42, 43]


def test_nonce_wraps_at_2_32():
    s, _ = make_sender()
    sid = s.start_session_with_nonce(params(), 2**32 - 2)
    assert list(s.create_ticket_batch(sid, 3).sender_nonces) == [2**32 - 1, 0, 1]
    with pytest.raises(ValueError, match="nonce"):
        s.start_session_with_nonce(params(), 2**32)


def test_missing_expiration_params_use_senders_own_round():
    s, _ = make_sender()
    for ep in (None, pm.TicketExpirationParams(0, b"\x07" * 32), pm.TicketExpirationParams(19, b"\0" * 32)):
        sid = s.start_session(params(ep=ep))
        b = s.create_ticket_batch(sid, 1)
        assert b.expiration_params == pm.TicketExpirationParams(20, BH)
        h = pyref.ticket_hash(ORCH_ADDR, s.address, 10**9, MAX_WIN_PROB // 1000, 1, b"\x42" * 32, 20, BH)
        assert pyref.recover(h, b.sigs[0].tobytes()) == s.address


def test_session_errors_and_ev():
    s, _ = make_sender()
    with pytest.raises(E.SessionNotFound) as ei:
        s.create_ticket_batch("0xabc", 1)
    assert str(ei.value) == "error loading session: " + b"0xabc".hex()
    with pytest.raises(E.SessionNotFound):
        s.ev("0xabc")
    sid = s.start_session(params(fv=1000, wp=MAX_WIN_PROB // 2))
    assert s.ev(sid) == Fraction(1000 * (MAX_WIN_PROB // 2), MAX_WIN_PROB)
    s.cleanup_session(sid)
    with pytest.raises(E.SessionNotFound):
        s.nonce(sid)


def test_batch_validates_for_n_tickets_and_keeps_nonce_on_failure():
    s, view = make_sender(max_ev=Fraction(10**7), max_total_ev=Fraction(10**8))
    sid = s.start_session(params())  # EV = 10^6
    with pytest.raises(E.TotalTicketEVTooHigh) as ei:
        s.create_ticket_batch(sid, 101)
    ev = Fraction(10**9 * (MAX_WIN_PROB // 1000), MAX_WIN_PROB)  # 999999.99999999...
    assert pm.float_string(ev * 101, 5) == "101000000.00000"
    assert str(ei.value) == "total ticket EV 101000000.00000 for 101 tickets > max total ticket EV 100000000.00000"
    assert s.nonce(sid) == 0
    s.validate_ticket_params(params())  # numTickets = 1 passes
    view.l1_block = 1039
    with pytest.raises(E.TicketParamsExpired):
        s.create_ticket_batch(sid, 1)
    view.l1_block = 1000
    view.sender_info[s.address] = SenderInfo(10**18, 21, 10**18, 0)
    with pytest.raises(E.SenderUnlockingSoon):
        s.validate_ticket_params(params())


def test_concurrent_batches_never_share_a_nonce():
    s, _ = make_sender()
    sid = s.start_session(params())
    out = []
    lock = threading.Lock()

    def work():
        for _ in range(10):
            b = s.create_ticket_batch(sid, 7)
            with lock:
                out.extend(int(n) for n in b.sender_nonces)

    ts = [threading.Thread(target=work) for _ in range(4)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    assert sorted(out) == list(range(1, 281))


def test_argument_errors():
    s, _ = make_sender()
    with pytest.raises(TypeError):
        s.start_session("params")
    sid = s.start_session(params())
    with pytest.raises(ValueError, match="size"):
        s.create_ticket_batch(sid, -1)
    with pytest.raises(ValueError, match="deposit_multiplier"):
        pm.Sender(pm.Signer(SENDER_KEY), None, None, deposit_multiplier=0)
