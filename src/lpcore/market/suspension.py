"""go-livepeer's suspender, refresh thresholds and live swap limiter (``server/suspensions.go``,
``server/broadcast.go``, ``server/ai_session.go``, ``server/ai_live_video.go``).

A suspender counts refreshes (``count``) and keeps, per orchestrator, the refresh count until which it is
suspended. ``suspended(o)`` is that value while it is >= ``count`` (lower is better; 0 = not suspended).

Semantics: by default every suspension means "excluded for the next ``penalty`` refreshes" (``until = count +
penalty``, go-livepeer's AI pools). ``go_compat=True`` reproduces the transcoding path's literal arithmetic,
``list[o] += penalty`` compared with the growing ``count``, under which a penalty of 1 after the second refresh
has no effect at all (market spec QUIRK in §3.6).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from typing import Any

from ..errors import MarketSettingError

__all__ = ["Suspender", "transcoding_penalty", "refresh_threshold", "SwapLimiter",
           "AI_POOL_PENALTY", "LIVE_SUSPEND_PENALTY", "MAX_REFRESH_SESSIONS_THRESHOLD"]

#: go-livepeer batch-AI pool penalty (refreshes an orchestrator stays out after a failure).
AI_POOL_PENALTY = 3
#: go-livepeer live ``suspendOrchestrator`` penalty (5 refreshes of 6 min, ~30 min).
LIVE_SUSPEND_PENALTY = 5
#: go-livepeer ``maxRefreshSessionsThreshold``.
MAX_REFRESH_SESSIONS_THRESHOLD = 8


class Suspender:
    """Refresh-counted suspensions. ``go_compat``: the transcoding path's additive arithmetic (see module doc)."""

    def __init__(self, *, go_compat: bool = False):
        self.go_compat = go_compat
        self.count = 0
        self.list: dict[Any, int] = {}

    def signal_refresh(self, times: int = 1) -> None:
        """One pool refresh (``count++``); ``times`` repeats it (go-livepeer's release-all when pools empty)."""
        self.count += int(times)

    def suspend(self, orchestrator: Any, penalty: int) -> None:
        """Suspends for ``penalty`` refreshes: ``list = count + penalty`` (``go_compat``: ``list += penalty``)."""
        if isinstance(penalty, bool) or not isinstance(penalty, int) or penalty < 0:
            raise MarketSettingError(f"penalty must be an int >= 0, got {penalty!r}")
        if self.go_compat:
            self.list[orchestrator] = self.list.get(orchestrator, 0) + penalty
        else:
            self.list[orchestrator] = self.count + penalty

    def suspended(self, orchestrator: Any) -> int:
        """0 if not suspended (an expired entry is dropped), else the refresh count it is suspended until."""
        until = self.list.get(orchestrator)
        if until is None:
            return 0
        if until < self.count:
            del self.list[orchestrator]
            return 0
        return until

    def is_suspended(self, orchestrator: Any) -> bool:
        return self.suspended(orchestrator) > 0

    def release(self, orchestrator: Any) -> None:
        self.list.pop(orchestrator, None)

    def active(self, orchestrators: Iterable[Any]) -> list[Any]:
        """The given orchestrators that are not suspended, order kept."""
        return [o for o in orchestrators if not self.is_suspended(o)]


def transcoding_penalty(pool_size: int, num_orchs: int) -> int:
    """go-livepeer ``SessionPool.suspend``: ``ceil(max(1, poolSize) / max(1, numOrchs))``."""
    return math.ceil(max(1, pool_size) / max(1, num_orchs))


def refresh_threshold(num_orchs: int) -> int:
    """Refresh a pool when it holds fewer sessions than ``int(min(8, ceil(numOrchs / 2)))``."""
    return int(min(MAX_REFRESH_SESSIONS_THRESHOLD, math.ceil(num_orchs / 2)))


class SwapLimiter:
    """go-livepeer live swaps: more than ``max_recent`` (2) swaps, each within ``interval_s`` (3 min) of the
    previous one, stop the stream. A swap more than ``interval_s`` after the previous resets the count to 1."""

    def __init__(self, max_recent: int = 2, interval_s: float = 180.0):
        self.max_recent = max_recent
        self.interval_s = interval_s
        self.count = 0
        self.last: float | None = None
        self.history: deque[float] = deque(maxlen=64)

    def swap(self, now: float) -> bool:
        """Records a swap at ``now``; False means "too many swaps", the stream should stop."""
        if self.last is not None and now - self.last > self.interval_s:
            self.count = 0
        self.count += 1
        self.last = now
        self.history.append(now)
        return self.count <= self.max_recent
