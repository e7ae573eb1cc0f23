"""Selection throughput for 1 000 candidates, and the marketplace simulation table.

- ``go-livepeer``: one ``ProbabilitySelection.select`` (defaults 0.7 stake / 0 price / 0.3 random, a max price
  that about 80 % of the candidates pass) over 1 000 candidates with random stakes and exact prices;
- ``lpcore``: one ``LpcorePolicy.choose`` over the same candidates, with a reputation holding history for all
  of them (Thompson draws for every candidate).

The simulation table runs the three policies over several seeds and cheater fractions (``SIM_SEEDS``,
``SIM_FRACTIONS``; 2 000 segments, 50 orchestrators) and prints tampered-accepted, cost per good segment, p95
latency and swaps. Run: ``python3 -m pytest benchmarks/bench_market.py --benchmark-only -s``.
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from lpcore.market import Candidate, PriceInfo, ProbabilitySelection
from lpcore.market.policy import LpcorePolicy
from lpcore.market.reputation import Reputation
from lpcore.market.simulation import POLICIES, compare_policies

N = 1000
SIM_SEEDS = (100, 101, 102)
SIM_FRACTIONS = (0.1, 0.2, 0.3)


@pytest.fixture(scope="module")
def candidates():
    g = random.Random(1)
    return [Candidate(f"0x{i:040x}", stake=g.randint(0, 10**6), price=PriceInfo(g.randint(300, 2500), g.randint(1, 3)),
                      latency=g.uniform(0.01, 0.3)) for i in range(N)]


def test_select_go_livepeer(benchmark, candidates):
    sel = ProbabilitySelection()
    rng = random.Random(0)
    pick = benchmark(sel.select, candidates, Fraction(1500), rng=rng)
    assert pick is not None
    print(f"\ngo-livepeer ProbabilitySelection: {1 / benchmark.stats['mean']:,.0f} selections/s over {N}")


def test_select_lpcore(benchmark, candidates):
    rep = Reputation()
    g = random.Random(2)
    pol = LpcorePolicy(rep, rng=random.Random(0))
    for c in candidates:
        for _ in range(3):
            pol.record_job(c.address, ok=g.random() > 0.05, latency_s=g.uniform(0.5, 2.5))
        pol.record_verification(c.address, True)
    pick = benchmark(pol.choose, candidates, Fraction(1500))
    assert pick is not None
    print(f"\nlpcore LpcorePolicy.choose: {1 / benchmark.stats['mean']:,.0f} selections/s over {N}")


def test_simulation_table(benchmark):
    rows = []

    def run_all():
        rows.clear()
        for f in SIM_FRACTIONS:
            for seed in SIM_SEEDS:
                rows.extend((f, r) for r in compare_policies(seed=seed, cheater_fraction=f))
    benchmark.pedantic(run_all, rounds=1, iterations=1)
    print("\n| cheater fraction | seed | policy | tampered accepted | failed | gwei per good segment | p95 latency (s) "
          "| swaps |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for f, r in rows:
        print(f"| {f} | {r.seed} | {r.policy} | {r.tampered_accepted} | {r.failed_segments} | "
              f"{float(r.cost_per_good_segment) / 1e9:.1f} | {r.p95_latency_s:.2f} | {r.swaps} |")
    for f in SIM_FRACTIONS:
        tot = {p: [0, 0.0] for p in POLICIES}
        for ff, r in rows:
            if ff == f:
                tot[r.policy][0] += r.tampered_accepted
                tot[r.policy][1] += float(r.cost_per_good_segment) / 1e9 / len(SIM_SEEDS)
        print(f"cheater fraction {f}: " + ", ".join(f"{p} tampered {t} mean cost {c:.1f} gwei"
                                                   for p, (t, c) in tot.items()))
