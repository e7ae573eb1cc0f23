"""Ticket hot paths beside their peers, same inputs, same run (N = 10 000).

Workloads come from ``lpcore._bench.pm.rows`` (the same cases ``lpcore bench`` prints):
- sign_batch / recover_batch / verify_batch (all cores) vs a coincurve ``sign_recoverable`` /
  ``PublicKey.from_signature_and_message`` loop with the EIP-191 prefix hashed by the fastest Python keccak;
- is_winning_batch and ticket_hashes_columns (a Payment: shared params, N nonces) vs per-ticket pycryptodome and
  safe-pysha3 keccak loops;
- keccak256 of an 8 MB segment vs both libraries (MB/s);
- sign_batch / recover_batch on one thread vs the bare libsecp256k1 calls in a C loop (lpcore's own overhead).

Run: ``python3 -m pytest benchmarks/bench_pm.py --benchmark-only``; the ratio table is printed at the end.
"""

from __future__ import annotations

import pytest

from lpcore._bench.case import Case, best_times
from lpcore._bench.pm import rows as pm_rows

N = 10_000
CASES = pm_rows(N)
RESULTS: dict[str, dict[str, float]] = {}
PARAMS = [(case, impl) for case in CASES for impl in ("lpcore", *case.peers)]


@pytest.fixture(scope="module", autouse=True)
def ratio_table(request: pytest.FixtureRequest):
    yield
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    if reporter is None or not RESULTS:
        return
    lines = ["", f"pm throughput, N={N} (min of rounds; ratio = peer time / lpcore time; "
             "(cpu) = interleaved calling-thread CPU time)"]
    for case in CASES:
        times = RESULTS.get(case.name, {})
        if "lpcore" not in times:
            continue
        ours = times["lpcore"]
        for peer in case.peers:
            if peer in times:
                label = case.name + (" (cpu)" if case.timer == "thread" else "")
                lines.append(
                    f"  {label:<30} lpcore {case.items / ours:>14,.0f} {case.unit}/s   {peer:<28} "
                    f"{case.items / times[peer]:>12,.0f} {case.unit}/s   ratio {times[peer] / ours:6.2f}x")
    # Module teardown runs under output capture; print the table past it.
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        for line in lines:
            reporter.write_line(line)


@pytest.mark.parametrize("case,impl", PARAMS, ids=[f"{c.name.replace(' ', '_')}-{i}" for c, i in PARAMS])
def test_pm(benchmark, case: Case, impl: str) -> None:
    fn = case.ours if impl == "lpcore" else case.peers[impl]
    benchmark.group = case.name
    benchmark.extra_info.update(items=case.items, unit=case.unit, note=case.note)
    benchmark.pedantic(fn, rounds=5, warmup_rounds=1, iterations=1)
    if benchmark.stats is None:  # --benchmark-disable
        return
    if case.timer == "wall":
        RESULTS.setdefault(case.name, {})[impl] = benchmark.stats.stats.min
    elif impl == "lpcore":
        # Single-thread overhead vs the bare library: a few percent, far below the noise of wall time on a
        # shared machine, so the ratio uses interleaved CPU time of this thread.
        times = best_times([case.ours, *case.peers.values()], 9, "thread")
        RESULTS[case.name] = dict(zip(("lpcore", *case.peers), times))
