"""``lpcore bench``: throughput of lpcore's hot paths beside the peer a Python user would otherwise call.

Each module in :data:`ROWS` (``lpcore._bench.<area>``) has ``rows(n)`` returning
:class:`~lpcore._bench.case.Case` objects (one workload, our callable and one or more peer callables over the
same inputs); ``benchmarks/bench_<area>.py`` time the same cases under pytest-benchmark. Add an area with one
line in :data:`ROWS`. A row module whose extra is missing is skipped with a note, so ``lpcore bench`` runs on a
plain install.
"""

from __future__ import annotations

import argparse
import importlib
import os
from typing import Any

from ._bench.case import RowFunction, best_times
from .errors import MissingExtra

#: Row modules run by ``lpcore bench``, in this order; each defines ``rows(n) -> list[Case]``.
ROWS: list[str] = [
    "lpcore._bench.pm",
    "lpcore._bench.signer",
    "lpcore._bench.roles",
    "lpcore._bench.vsig",
]


def row_functions(skipped: list[tuple[str, MissingExtra]] | None = None) -> list[RowFunction]:
    """The ``rows`` function of each module in :data:`ROWS` that can load; modules whose extra is missing are
    left out (and appended to ``skipped`` as ``(module, error)`` when given)."""
    fns = []
    for path in ROWS:
        try:
            fns.append(importlib.import_module(path).rows)
        except MissingExtra as exc:
            if skipped is not None:
                skipped.append((path, exc))
    return fns


def _rate(items: float, seconds: float, unit: str) -> str:
    r = items / seconds
    return f"{r:,.1f} {unit}/s" if r < 1000 else f"{r:,.0f} {unit}/s"


def run(args: argparse.Namespace) -> int:
    if args.n < 1 or args.repeat < 1:
        raise SystemExit("lpcore bench: -n and --repeat must be >= 1")
    print(f"lpcore bench: n={args.n}, best of {args.repeat} (interleaved), {os.cpu_count()} cores; "
          "ratio = peer time / lpcore time; (cpu) = calling-thread CPU time")
    header = f"{'workload':<30} {'lpcore':>18}  {'peer':<28} {'peer rate':>18} {'ratio':>8}"
    print(header)
    print("-" * len(header))
    skipped: list[tuple[str, MissingExtra]] = []
    for row_fn in row_functions(skipped):
        for case in row_fn(args.n):
            if args.only and not any(sel in case.name for sel in args.only):
                continue
            ours, *peer_times = best_times([case.ours, *case.peers.values()], args.repeat, case.timer)
            first = True
            for peer_name, theirs in zip(case.peers, peer_times):
                label = case.name + (" (cpu)" if case.timer == "thread" else "") if first else ""
                ours_s = _rate(case.items, ours, case.unit) if first else ""
                print(f"{label:<30} {ours_s:>18}  {peer_name:<28} {_rate(case.items, theirs, case.unit):>18} "
                      f"{theirs / ours:>7.2f}x", flush=True)
                first = False
    for path, exc in skipped:
        print(f"skipped {path.rsplit('.', 1)[-1]} rows: {exc}", flush=True)
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("bench", help="throughput of lpcore's hot paths vs the usual Python peers",
                              description="Times each lpcore hot path and the peer a Python user would otherwise "
                                          "call on the same inputs, interleaved, and prints both rates and their "
                                          "ratio (peer time / lpcore time).")
    p.add_argument("-n", type=int, default=10_000, metavar="N",
                   help="batch size: tickets or signatures per call (default 10000; video rows use min(N, 60) "
                        "frames)")
    p.add_argument("--repeat", type=int, default=3, metavar="R",
                   help="timed runs per measurement, the best one kept (default 3)")
    p.add_argument("--only", nargs="*", default=None, metavar="NAME",
                   help="run only workloads whose name contains one of these (e.g. sign_batch Recipient)")
    p.set_defaults(func=run)
