"""The leaf of ``lpcore bench``: a workload (:class:`Case`) and the interleaved best-of timing.

Row modules (``lpcore._bench.<area>``) import this module and nothing of the runner; the runner
(:mod:`lpcore.bench`) and ``benchmarks/bench_*.py`` import the row modules by path. So no plugin imports the
registry that lists it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Case", "RowFunction", "TIMERS", "best_times"]


@dataclass
class Case:
    """One workload: ``ours`` and each peer compute the same result from the same inputs."""

    name: str
    items: float  # work per call, in `unit` (tickets, signatures, megabytes, ...)
    unit: str
    ours: Callable[[], Any]
    peers: dict[str, Callable[[], Any]] = field(default_factory=dict)
    note: str = ""
    # "wall": elapsed time (what a caller waits; multi-threaded calls need it). "thread": CPU time of the calling
    # thread, for single-threaded comparisons: on a busy machine it measures the code, not the scheduler.
    timer: str = "wall"


#: A row module's ``rows(n)``: the batch size in, the cases to time out.
RowFunction = Callable[[int], list[Case]]

TIMERS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "thread": time.thread_time}


def best_times(fns: list[Callable[[], Any]], repeat: int, timer: str = "wall") -> list[float]:
    """Best time of `repeat` calls of each function, interleaved round by round so that a burst of load on a
    shared machine hits every contender alike (after one warm-up call each)."""
    clock = TIMERS[timer]
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t0 = clock()
            fn()
            best[i] = min(best[i], clock() - t0)
    return best
