"""Redemption queue (§7.2), client-side redemption checks (§7.3) and the sender monitor's max float (§7.1)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from tests.pm import pyref
from tests.pm.helpers import ORCH_ADDR, SECRET, Node
from lpcore import BrokerRevert, pm
from lpcore.broker import SenderInfo
from lpcore.pm import errors as E
from lpcore.pm.params import MAX_WIN_PROB
from lpcore.pm.queue import is_non_retryable


def winners(node: Node, n=3, exp_delta=5, fv=10**8):
    ep = node.recipient.expiration_params()
    exp = node.chain.last_seen_l1_block() + exp_delta
    seed = exp * 1000 + n
    rand = pm.recipient_rand(SECRET, seed, node.signer.address, fv, MAX_WIN_PROB - 1, exp, Fraction(1),
                             ep.creation_round, ep.creation_round_block_hash)
    p = pm.TicketParams(recipient=ORCH_ADDR, face_value=fv, win_prob=MAX_WIN_PROB - 1,
                        recipient_rand_hash=pyref.rand_hash(rand), seed=seed, expiration_block=exp,
                        price_per_pixel=Fraction(1), expiration_params=ep)
    res = node.recipient.receive_payment(node.pay(p, n))
    assert len(res.winners) == n
    return res.winners


def test_redeems_only_after_params_expire(node):
    ws = winners(node, 3, exp_delta=5)
    assert node.chain.advance(4) and node.queue.counts() == {"queued": 3}  # block = exp - 1: nothing redeemed
    run = node.monitor.on_new_l1_block(node.chain.last_seen_l1_block())
    assert run.not_expired == 3 and not run.redeemed
    node.chain.subscribe_l1_blocks(node.monitor.on_new_l1_block)
    node.chain.advance(1)  # block == expiration block -> redeemable
    assert node.queue.counts() == {"redeemed": 3}
    assert node.broker.transcoder_fees(ORCH_ADDR) == 3 * 10**8
    assert all(node.broker.is_used_ticket(w.ticket.hash()) for w in ws)
    for st, status, tx, err in node.queue.all_tickets():
        assert status == "redeemed" and len(tx) == 32 and err is None


def test_window_and_retry_classification(node):
    ws = winners(node, 2, exp_delta=2)
    node.chain.advance(2)
    calls = []

    def flaky(st):
        calls.append(st.ticket.sender_nonce)
        raise BrokerRevert("current round is not initialized")  # retryable, with back-off

    run = node.queue.process(node.chain.last_seen_l1_block(), node.chain.last_initialized_round(), flaky)
    assert len(run.retry) == 2 and node.queue.counts() == {"queued": 2} and calls == [1, 2]
    # back-off: not retried in the same block, retried on the next one
    run = node.queue.process(node.chain.last_seen_l1_block(), node.chain.last_initialized_round(), flaky)
    assert run.deferred == 2 and calls == [1, 2]
    node.chain.advance(1)

    def used(st):
        raise E.TicketUsed()

    run = node.queue.process(node.chain.last_seen_l1_block(), node.chain.last_initialized_round(), used)
    assert len(run.failed) == 2 and node.queue.counts() == {"failed": 2}
    assert [err for *_, err in node.queue.all_tickets()] == ["ticket already used"] * 2
    # outside the window (creation_round < LIR - 2) tickets are not looked at
    ws = winners(node, 1, exp_delta=2)
    node.chain.advance_rounds(3)
    run = node.queue.process(node.chain.last_seen_l1_block(), node.chain.last_initialized_round(),
                             lambda st: pytest.fail("must not redeem"))
    assert run.redeemed == [] and run.retry == [] and node.queue.counts()["queued"] == 1
    del ws


def test_non_retryable_errors():
    assert is_non_retryable(E.TicketUsed())
    # a reverted transaction alone is not terminal (go-livepeer #4013 dropped unused tickets that way)
    assert not is_non_retryable(RuntimeError("transaction failed txHash=0x12"))
    assert is_non_retryable(BrokerRevert("ticket creationRound does not have a block hash"))
    assert is_non_retryable(BrokerRevert("ticket is expired"))  # past the validity window: never payable
    assert not is_non_retryable(BrokerRevert("sender is unlocked"))
    assert not is_non_retryable(E.InsufficientFundsForTxCost())


def test_inactive_recipient_skipped(node):
    winners(node, 1, exp_delta=2)
    node.chain.advance(2)
    node.broker.register_transcoder(ORCH_ADDR, active=False)
    run = node.monitor.on_new_l1_block(node.chain.last_seen_l1_block())
    assert run.inactive == 1 and node.queue.counts() == {"queued": 1}


def test_client_side_redemption_checks(tmp_path):
    node = Node(tmp_path, gas_price=1)
    ws = winners(node, 2, exp_delta=2, fv=2_000_000)
    st = ws[0]
    tx = node.monitor.redeem_winning_ticket(st)
    # used by this broker: the paying transaction is the answer (issue 15.6: a crash between the payment and
    # the bookkeeping must end "redeemed" with the tx id, not "failed")
    assert node.monitor.redeem_winning_ticket(st) == tx
    node.broker.redemption_tx = lambda h: None  # used by somebody else
    with pytest.raises(E.TicketUsed, match="^ticket already used$"):
        node.monitor.redeem_winning_ticket(st)
    node.monitor._gas_price = 2  # txCost = 2.4M >= face value 2M
    with pytest.raises(E.InsufficientFaceValueForTxCost, match="^insufficient ticket face value for redeem tx cost$"):
        node.monitor.redeem_winning_ticket(ws[1])
    node.monitor._gas_price = 10**13  # txCost 1.2e19 above all available funds (~2e18)
    with pytest.raises(E.InsufficientFundsForTxCost, match="^insufficient sender funds for redeem tx cost$"):
        node.monitor.redeem_winning_ticket(ws[1])
    assert node.monitor.pending(node.signer.address) == 0


class FakeBroker:
    def __init__(self, info, claimed=0, pool=4):
        self.info, self.claimed, self.pool = info, claimed, pool

    def get_sender_info(self, s):
        return self.info

    def claimed_reserve(self, s, c):
        return self.claimed

    def transcoder_pool_size(self):
        return self.pool


def test_max_float_and_reserve_alloc():
    m = pm.SenderMonitor(ORCH_ADDR, FakeBroker(SenderInfo(300, 0, 1000, 200), claimed=50), None, None)
    s = b"\x01" * 20
    assert m.reserve_alloc(s) == (1000 + 200) // 4 - 50 == 250
    assert m.max_float(s) == 250  # nothing pending
    m._pending[s] = 100  # deposit / pending = 3.0 >= 3 -> pending ignored
    assert m.max_float(s) == 250
    m._pending[s] = 101  # ratio < 3 -> alloc - pending
    assert m.max_float(s) == 149
    assert m.available_funds(s) == 250 + 300 - 101
    m.broker.pool = 0
    assert m.reserve_alloc(s) == 0 and m.max_float(s) == -101


# --- issue 15.6: bookkeeping after crashes and locks --------------------------------------------------------


def test_ticket_paid_before_a_crash_ends_redeemed_with_its_tx(node):
    ws = winners(node, 2, exp_delta=2)
    node.chain.advance(2)
    tx = node.broker.redeem_winning_ticket(ws[0].ticket, ws[0].sig, ws[0].recipient_rand)  # then "SIGKILL"
    run = node.monitor.on_new_l1_block(node.chain.last_seen_l1_block())
    assert len(run.redeemed) == 2 and not run.failed
    rows = {st.sig: (status, t, err) for st, status, t, err in node.queue.all_tickets()}
    assert rows[ws[0].sig] == ("redeemed", tx, None)


def test_retry_update_never_overwrites_a_redeemed_row(node):
    ws = winners(node, 1, exp_delta=2)
    node.chain.advance(2)
    node.monitor.on_new_l1_block(node.chain.last_seen_l1_block())
    before = node.queue.all_tickets()
    node.queue.defer(ws[0].sig, "late retry from a stale pass", node.chain.last_seen_l1_block())
    node.queue.mark_failed(ws[0].sig, "late failure")
    assert node.queue.all_tickets() == before and before[0][1] == "redeemed" and before[0][3] is None


def test_locked_queue_database_neither_raises_nor_loses_the_paid_ticket(tmp_path):
    import sqlite3

    node = Node(tmp_path)
    node.queue.close()
    node.queue = node.monitor.queue = pm.RedemptionQueue(tmp_path / "queue.db", busy_timeout_s=0.2)
    ws = winners(node, 1, exp_delta=2)
    others = []
    node.chain.subscribe_l1_blocks(node.monitor.on_new_l1_block)
    node.chain.subscribe_l1_blocks(others.append)
    locker = sqlite3.connect(tmp_path / "queue.db", isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    node.chain.advance(2)  # the broker pays, the bookkeeping cannot be written: no exception, others called
    assert others == [node.chain.last_seen_l1_block()]
    assert node.broker.is_used_ticket(ws[0].ticket.hash()) and node.queue.counts() == {"queued": 1}
    locker.execute("ROLLBACK")
    locker.close()
    node.chain.advance(1)
    [(st, status, tx, err)] = node.queue.all_tickets()
    assert status == "redeemed" and tx == node.broker.redemption_tx(st.ticket.hash()) and err is None


def test_one_bad_row_is_quarantined_not_fatal(node):
    import sqlite3

    ws = winners(node, 2, exp_delta=2)
    db = sqlite3.connect(node.queue.path, isolation_level=None)
    db.execute("UPDATE ticket_queue SET face_value = 'not a number' WHERE sig = ?", (ws[0].sig,))
    db.close()
    node.chain.advance(2)
    run = node.monitor.on_new_l1_block(node.chain.last_seen_l1_block())
    assert run.error is None and run.quarantined == 1 and len(run.redeemed) == 1
    assert node.queue.counts() == {"quarantined": 1, "redeemed": 1}
    assert node.monitor.on_new_l1_block(node.chain.last_seen_l1_block()).error is None


def test_start_up_scan_redeems_what_a_previous_run_queued(tmp_path):
    node = Node(tmp_path)
    ws = winners(node, 3, exp_delta=2)
    node.chain.advance(2)
    fresh = pm.SenderMonitor(ORCH_ADDR, node.broker, node.chain, pm.RedemptionQueue(tmp_path / "queue.db"))
    run = fresh.start()  # no new payment from the sender is needed (go-livepeer #632)
    assert len(run.redeemed) == 3 and all(node.broker.is_used_ticket(w.ticket.hash()) for w in ws)
