"""``lpcore market simulate``: the marketplace simulation, policies side by side."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._args import int_at_least, unit_interval
from .._units import WEI_PER_ETH, WEI_PER_GWEI

__all__ = ["register"]

_POSITIVE = int_at_least(1)


def register(subparsers) -> None:
    from .simulation import POLICIES

    market = subparsers.add_parser("market", help="marketplace tools (selection policy simulation)",
                                   description="Marketplace tools.")
    sub = market.add_subparsers(dest="market_command", metavar="COMMAND", required=True)
    p = sub.add_parser("simulate", help="simulate a gateway's policies over a world of orchestrators",
                       description="Runs each policy over the same simulated world of orchestrators (hidden "
                                   "price, stake, latency, failures, capacity and tamper behaviour) and prints "
                                   "the results side by side.")
    p.add_argument("--policies", default=",".join(POLICIES),
                   help=f"comma-separated policies (default {','.join(POLICIES)})")
    p.add_argument("--seed", type=int, default=0, help="world seed (default 0)")
    p.add_argument("--orchestrators", type=_POSITIVE, default=50, help="orchestrators in the world (default 50)")
    p.add_argument("--segments", type=_POSITIVE, default=2000, help="segments streamed (default 2000)")
    p.add_argument("--cheater-fraction", type=unit_interval, default=0.2,
                   help="fraction of orchestrators that tamper (default 0.2)")
    p.add_argument("--plot", type=Path, default=None, metavar="OUT.png",
                   help="draw cumulative cost and tampered-accepted curves into this PNG (needs matplotlib)")
    p.set_defaults(func=_simulate)


def _simulate(args: argparse.Namespace) -> int:
    from .simulation import POLICIES, compare_policies

    policies = [x.strip() for x in args.policies.split(",") if x.strip()]
    bad = [x for x in policies if x not in POLICIES]
    if bad or not policies:
        print(f"lpcore market simulate: unknown policy {', '.join(bad) or '(none)'}; choose from "
              f"{', '.join(POLICIES)}", file=sys.stderr)
        return 2
    if args.plot is not None and not args.plot.parent.is_dir():
        print(f"lpcore market simulate: --plot: folder {str(args.plot.parent)!r} does not exist", file=sys.stderr)
        return 2
    results = compare_policies(policies, seed=args.seed, orchestrators=args.orchestrators,
                               segments=args.segments, cheater_fraction=args.cheater_fraction)
    print(f"world: seed {args.seed}, {args.orchestrators} orchestrators, {args.segments} segments, "
          f"cheater fraction {args.cheater_fraction}")
    head = f"{'policy':<13}{'tampered accepted':>18}{'failed':>8}{'gwei per good segment':>23}" \
           f"{'p95 latency (s)':>17}{'swaps':>7}{'verified':>10}"
    print(head)
    for r in results:
        print(f"{r.policy:<13}{r.tampered_accepted:>18}{r.failed_segments:>8}"
              f"{float(r.cost_per_good_segment) / WEI_PER_GWEI:>23.2f}{r.p95_latency_s:>17.2f}{r.swaps:>7}"
              f"{r.verified_segments:>10}")
    print("gwei per good segment: everything paid (verification included) / segments accepted untampered "
          "(1 gwei = 1e9 wei = 1e-9 ETH).")
    if args.plot is not None:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("lpcore market simulate: --plot needs matplotlib (pip install matplotlib)", file=sys.stderr)
            return 2
        fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
        for r in results:
            a.plot([c / WEI_PER_ETH for c in r.cumulative_cost], label=r.policy)
            b.plot(r.cumulative_tampered, label=r.policy)
        a.set(xlabel="segment", ylabel="cumulative paid (ETH)", title="cost")
        b.set(xlabel="segment", ylabel="tampered segments accepted", title="tampering accepted")
        a.legend()
        b.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=100)
        plt.close(fig)
        print(f"plot written to {args.plot}")
    return 0
