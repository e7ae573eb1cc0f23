"""On-chain redemption cost and throughput on the real TicketBroker bytecode (py-evm), beside go-livepeer's way.

- gas per redeemed ticket: ``redeemWinningTicket`` once per ticket (what go-livepeer always sends) vs
  ``batchRedeemWinningTickets`` with 1, 5 and 20 tickets (what ChainBroker sends when several are due); gas is
  deterministic, read from the receipts;
- tickets redeemed per second end to end through the queue: ``SenderMonitor.on_new_l1_block`` over a
  ``RedemptionQueue`` of 40 due tickets, ChainBroker batching 20 per transaction vs one transaction per ticket
  (``batch_size=1``, the peer). The EVM is py-evm in-process, so absolute rates say little about a real node
  (there block time and RPC latency dominate, and batching saves round trips too); the ratio is what matters.

Run: ``python3 -m pytest benchmarks/bench_chain.py --benchmark-only -s`` (needs shared/contracts/arbitrum-one).
"""

from __future__ import annotations

import time

import pytest

from lpcore import pm

from tests.broker.onchain_helpers import GATEWAY_KEY, ORCH, ORCH_KEY, Env, contracts_dir

pytestmark = pytest.mark.skipif(contracts_dir() is None, reason="shared/contracts/arbitrum-one not available")

_env = None


def env() -> Env:
    global _env
    if _env is None:
        _env = Env()
    _env.reset()
    return _env


def _funded(e):
    e.broker(GATEWAY_KEY).fund_deposit_and_reserve(10**20, 10**20)


def _gas_per_ticket(batch: int | None, n: int = 20) -> float:
    e = env()
    _funded(e)
    ob = e.broker(ORCH_KEY, batch_size=batch or 1)
    sts = [e.ticket(nonce=i + 1, face_value=10**12) for i in range(n)]
    if batch is None:  # the peer: one redeemWinningTicket per ticket
        for st in sts:
            ob.redeem_winning_ticket(st.ticket, st.sig, st.recipient_rand)
    else:
        for k in range(0, n, batch):
            chunk = sts[k:k + batch]
            if batch == 1:  # a batch call carrying one ticket
                fn = ob.contract.functions.batchRedeemWinningTickets(
                    [ob._ticket_tuple(st.ticket) for st in chunk], [st.sig for st in chunk],
                    [st.recipient_rand for st in chunk])
                ob._transact("batchRedeemWinningTickets", fn)
            else:
                res = ob.redeem_batch([st.ticket for st in chunk], [st.sig for st in chunk],
                                      [st.recipient_rand for st in chunk])
                assert all(tx is not None for tx, _ in res)
    recs = [r for r in ob.journal.recent(limit=1000) if r.state == "confirmed"]
    assert all(ob.is_used_ticket(st.ticket.hash()) for st in sts)
    return sum(r.gas_used for r in recs) / n


def test_gas_per_redeemed_ticket(benchmark):
    rows = {}

    def run():
        rows["single redeemWinningTicket (peer)"] = _gas_per_ticket(None)
        for b in (1, 5, 20):
            rows[f"batchRedeemWinningTickets x{b}"] = _gas_per_ticket(b)

    benchmark.pedantic(run, rounds=1, iterations=1)
    peer = rows["single redeemWinningTicket (peer)"]
    print("\n| redemption | gas per ticket | vs single |\n|---|---:|---:|")
    for k, v in rows.items():
        print(f"| {k} | {v:,.0f} | {peer / v:.2f}x |")
    benchmark.extra_info.update(rows)


def _queue_rate(tmp_path, batch_size: int, n: int = 40) -> float:
    e = env()
    _funded(e)
    ob = e.broker(ORCH_KEY, tmp_path, name=f"j{batch_size}.db", batch_size=batch_size)
    q = pm.RedemptionQueue(tmp_path / f"q{batch_size}.db")
    q.add_many(e.ticket(nonce=i + 1, face_value=10**12) for i in range(n))
    m = pm.SenderMonitor(ORCH, ob, ob, q, gas_price=0)
    t0 = time.perf_counter()
    run = m.on_new_l1_block(ob.last_seen_l1_block())
    dt = time.perf_counter() - t0
    assert len(run.redeemed) == n, run
    return n / dt


def test_queue_throughput(benchmark, tmp_path):
    rates = {}

    def run():
        rates["batched x20"] = _queue_rate(tmp_path, 20)
        rates["one tx per ticket (peer)"] = _queue_rate(tmp_path, 1)

    benchmark.pedantic(run, rounds=1, iterations=1)
    print(f"\nqueue -> ChainBroker: batched {rates['batched x20']:.1f} tickets/s, one per tx "
          f"{rates['one tx per ticket (peer)']:.1f} tickets/s, ratio "
          f"{rates['batched x20'] / rates['one tx per ticket (peer)']:.2f}x")
    benchmark.extra_info.update(rates)
