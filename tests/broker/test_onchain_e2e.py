"""End to end on the real contract: pm.Sender pays pm.Recipient, winners go to the RedemptionQueue, the monitor
redeems them through ChainBroker (batched), and the contract's state equals what LocalBroker computes for the same
sequence.

The two worlds see the same chain: the EVM's RoundsManager stand-in mirrors the embedded ``Chain`` (rounds, round
block hashes, L1 block), so both sides create byte-identical tickets (same hashes, same signatures) and the
comparison is per ticket, not only in totals.
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from lpcore import pm
from lpcore.broker import LocalBroker

from tests.broker.onchain_helpers import GATEWAY, GATEWAY_KEY, ORCH, ORCH2, ORCH_KEY, env  # noqa: F401

EV = 10**12
F = 2 * EV  # the face value (max_face_value): win probability about 1/2
SECRET = b"\x07" * 32


class World:
    """One gateway and one orchestrator over a broker (local or on-chain)."""

    def __init__(self, *, broker, time_source, gateway_ops, queue_path, fees):
        self.broker, self.ts, self.ops, self.fees = broker, time_source, gateway_ops, fees
        self.sender = pm.Sender(pm.Signer(GATEWAY_KEY), time_source, broker, max_ev=Fraction(10**18),
                                max_total_ev=Fraction(10**21))
        self.queue = pm.RedemptionQueue(queue_path)
        self.monitor = pm.SenderMonitor(ORCH, broker, time_source, self.queue, gas_price=0)
        self.recipient = pm.Recipient(ORCH, self.monitor, time_source, secret=SECRET, ev=EV, gas_price=0,
                                      max_face_value=F, rng=random.Random(11))

    def pay(self, n: int):
        params = self.recipient.ticket_params(GATEWAY, Fraction(1))
        sid = self.sender.start_session(params)
        res = self.recipient.receive_payment(self.sender.create_ticket_batch(sid, n))
        assert res.error is None
        return res.winners

    def state(self):
        tickets = self.queue.all_tickets()
        return {
            "info": self.broker.get_sender_info(GATEWAY),
            "claimed": self.broker.claimed_reserve(GATEWAY, ORCH),
            "fees": self.fees(),
            "used": [self.broker.is_used_ticket(st.ticket.hash()) for st, *_ in tickets],
            "status": [(st.sig, status) for st, status, _, _ in tickets],
        }


@pytest.mark.slow
def test_sender_to_contract_equals_local_broker(env, tmp_path):
    local = LocalBroker(tmp_path / "local.db", round_length=50)
    chain = local.chain
    for a in (ORCH, ORCH2):
        local.register_transcoder(a)
    dep = env.dep

    def mirror():  # the EVM's rounds and L1 block follow the embedded chain
        r = chain.last_initialized_round()
        if dep.round_hashes.get(r) != chain.block_hash_for_round(r):
            dep.set_round(r, True, chain.block_hash_for_round(r))
        dep.set_l1_block(chain.last_seen_l1_block())

    mirror()
    gb = env.broker(GATEWAY_KEY, tmp_path, name="gateway.db")
    ob = env.broker(ORCH_KEY, tmp_path, name="orch.db")
    L = World(broker=local, time_source=chain, gateway_ops=None, queue_path=tmp_path / "lq.db",
              fees=lambda: local.transcoder_fees(ORCH))
    C = World(broker=ob, time_source=ob, gateway_ops=gb, queue_path=tmp_path / "cq.db", fees=lambda: dep.fees(ORCH))

    def fund(deposit, reserve):
        local.fund_deposit_and_reserve(GATEWAY, deposit, reserve)
        gb.fund_deposit_and_reserve(deposit, reserve)

    def advance(blocks=0, rounds=0):
        chain.advance_rounds(rounds) if rounds else chain.advance(blocks)
        mirror()
        runs = [w.monitor.on_new_l1_block(chain.last_seen_l1_block()) for w in (L, C)]
        for run in runs:
            assert run.error is None

    def check():
        sl, sc = L.state(), C.state()
        assert sl == sc
        return sl

    def winners(k):  # both worlds pay the same tickets until k more winners (identical on both sides)
        out = []
        while len(out) < k:
            wl, wc = L.pay(4), C.pay(4)
            assert [w.ticket.hash() for w in wl] == [w.ticket.hash() for w in wc]
            assert [w.sig for w in wl] == [w.sig for w in wc]
            out += wc
        return out

    fund(3 * F + F // 2, 10 * F)  # deposit first, then the reserve (5 F per recipient per round, pool 2)
    w1 = winners(5)
    n1 = len(w1)
    advance(blocks=20)  # params not expired yet: nothing redeemed
    assert check()["used"] == [False] * n1
    advance(blocks=25)  # past the params' expiration: all are due and redeemed (one batch on chain)
    s = check()
    assert s["used"] == [True] * n1 and s["fees"] == n1 * F and s["info"].deposit == 0
    claimed = n1 * F - (3 * F + F // 2)
    assert s["claimed"] == claimed
    batch = [r for r in ob.journal.recent() if r.kind == "batchRedeemWinningTickets"]
    assert len(batch) == 1 and batch[0].state == "confirmed"

    # Next round: the reserve allocation resets; tickets beyond deposit + claimable are deferred, not dropped.
    fund(F, 0)
    advance(rounds=1)
    w2 = winners(n1 + 3)
    advance(blocks=45)
    s = check()
    cover = F + (10 * F - claimed) // 2
    k = min(len(w2), cover // F)
    assert 0 < k < len(w2)
    assert s["used"][n1:] == [True] * k + [False] * (len(w2) - k) and s["fees"] == (n1 + k) * F
    assert [status for _, status in s["status"][n1 + k:]] == ["queued"] * (len(w2) - k)
    fund(10 * F, 0)  # the gateway tops up: the deferred tickets are paid once their back-off ends
    for _ in range(3):
        advance(blocks=2)
    s = check()
    assert s["used"] == [True] * (n1 + len(w2)) and s["fees"] == (n1 + len(w2)) * F
    for st, status, tx, _ in C.queue.all_tickets():
        assert status == "redeemed" and ob.redemption_tx(st.ticket.hash()) == tx


def test_tx_cost_check_uses_the_node_gas_price_by_default(env, tmp_path):
    env.broker(GATEWAY_KEY).fund_deposit_and_reserve(10**18, 0)
    ob = env.broker(ORCH_KEY, tmp_path)
    q = pm.RedemptionQueue(tmp_path / "q.db")
    cheap, worth = env.ticket(nonce=1, face_value=10**9), env.ticket(nonce=2, face_value=10**17)
    q.add_many([cheap, worth])
    monitor = pm.SenderMonitor(ORCH, ob, ob, q)  # gas price: the node's (1 gwei here) x 1.2 M redeem gas
    run = monitor.start()
    assert [st for st, _ in run.redeemed] == [worth]
    assert [(st, str(e)) for st, e in run.retry] == [(cheap, "insufficient ticket face value for redeem tx cost")]
