"""The argument rules shared by every lpcore API that takes the same kind of argument.

``threads`` (every batch call in ``lpcore.pm``, ``lpcore.vsig`` and ``lpcore.vsig.match``): ``None`` means all
cores, an ``int >= 1`` means at most that many threads; anything else is refused with one message. Counts above
``MAX_THREADS_PER_CPU`` threads per core are clamped: more threads than that only cost memory and scheduling
(results never depend on the count), and a process that cannot create them would be ended by libgomp
("Thread creation failed", exit 1) past every ``try``. The native layer applies the same clamp
(``csrc/common/lp_threads.h``) and, where thread creation fails anyway, falls back to fewer threads.
"""

from __future__ import annotations

import argparse
import operator
import os
from typing import Callable

from .errors import LpcoreError

__all__ = ["MAX_THREADS_PER_CPU", "InvalidThreads", "max_threads", "threads", "int_at_least", "unit_interval"]


class InvalidThreads(LpcoreError, ValueError, TypeError):
    """A ``threads`` argument that is not None or an int >= 1 (both a ValueError and a TypeError, so callers
    that catch either keep working)."""


MAX_THREADS_PER_CPU = 4  # keep equal to LP_MAX_THREADS_PER_CPU in csrc/common/lp_threads.h


def _cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def max_threads() -> int:
    """The largest thread count lpcore uses on this machine: ``MAX_THREADS_PER_CPU`` per usable core."""
    return MAX_THREADS_PER_CPU * _cpus()


def threads(value: object) -> int:
    """Checks a public ``threads`` argument and returns the thread count to use (>= 1, clamped to
    :func:`max_threads`). ``None`` is every usable core."""
    if value is None:
        return _cpus()
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise InvalidThreads(f"threads must be None (all cores) or an int >= 1, got {type(value).__name__}")
    n = operator.index(value)
    if n < 1:
        raise InvalidThreads(f"threads must be None (all cores) or an int >= 1, got {n}")
    return min(n, max_threads())


# -- command-line argument types (argparse ``type=``), one message per kind across every sub-command --------------


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum`` (``--segments``, ``--orchestrators``, ``--workers``)."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {v}")
        return v
    return parse


def unit_interval(text: str) -> float:
    """An argparse type: a number in [0, 1] (a fraction or probability)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0 <= v <= 1:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {v}")
    return v
