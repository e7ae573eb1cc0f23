"""Who gets a segment under fast verification (go-livepeer ``BroadcastSessionsManager.selectSessions``), and
what a :class:`~lpcore.verify.Verdict` does to selection.

Verification (:class:`lpcore.verify.Verifier`) only judges; this object only chooses. A gateway sends each
segment to 1 trusted and 2 untrusted orchestrators until one untrusted orchestrator passes; that one becomes the
sticky *verified* orchestrator and later segments go to it alone, re-verified with probability
``1/verification_freq`` (``getrandbits(32) % freq == 0`` stands for ``rand.Uint32() % freq``). Plug it into the
Verifier as ``Verifier(report=fast)``: each verdict's ``rejected`` orchestrators (failed before the passing one)
are suspended through the :class:`~lpcore.market.suspension.Suspender`; a verified orchestrator that fails loses
its status and counts as a swap.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import MarketSettingError
from .suspension import Suspender

__all__ = ["Selection", "FastVerification"]


@dataclass(frozen=True)
class Selection:
    """Which orchestrators get the segment, and whether their results are verified."""

    trusted: tuple[str, ...]
    untrusted: tuple[str, ...]      # the verified orchestrator first, when it is among them
    verify: bool                    # False: reusing the verified orchestrator without checking (or policy off)


class FastVerification:
    """Per-stream fast-verification selection state.

    ``verification_freq``: verify every segment until an orchestrator is verified, then about one in
    ``verification_freq``; 0 disables verification (one orchestrator per segment, untrusted first).
    ``suspender``/``penalty``: where rejected orchestrators go, for how many refreshes. ``reputation``: an
    optional :class:`~lpcore.market.reputation.Reputation` told of each verdict. ``rng``: the skip draw."""

    def __init__(self, verification_freq: int, *, suspender: Suspender | None = None, penalty: int = 1,
                 reputation: Any = None, rng: random.Random | None = None):
        if isinstance(verification_freq, bool) or not isinstance(verification_freq, int) or verification_freq < 0:
            raise MarketSettingError(f"verification_freq must be an int >= 0, got {verification_freq!r}")
        self.verification_freq = verification_freq
        self.suspender = suspender if suspender is not None else Suspender()
        self.penalty = penalty
        self.reputation = reputation
        self.rng = rng if rng is not None else random.Random()
        self.verified: str | None = None
        self.swaps = 0

    @property
    def enabled(self) -> bool:
        return self.verification_freq > 0

    def refresh(self) -> None:
        """A pool refresh: suspensions age by one."""
        self.suspender.signal_refresh()

    def is_suspended(self, orchestrator: str) -> bool:
        return self.suspender.is_suspended(orchestrator)

    def select(self, trusted: Sequence[str], untrusted: Sequence[str]) -> Selection:
        """1 trusted + 2 untrusted orchestrators, suspended ones left out, the verified one first. With the
        verified orchestrator among them, verification is skipped with probability ``1 - 1/freq`` and only it
        is used; a verified orchestrator that is no longer selectable loses its status (a swap)."""
        t = self.suspender.active(trusted)
        u = self.suspender.active(untrusted)
        if not self.enabled:
            one = (u or t)[:1]
            return Selection((), tuple(one), False) if u else Selection(tuple(one), (), False)
        if self.verified is not None and self.verified in u:
            u = [self.verified] + [o for o in u if o != self.verified]
            if self.rng.getrandbits(32) % self.verification_freq != 0:
                return Selection((), (self.verified,), False)
        elif self.verified is not None:
            self.verified = None
            self.swaps += 1
        return Selection(tuple(t[:1]), tuple(u[:2]), True)

    def on_verdict(self, verdict: Any) -> None:
        """Feedback from :meth:`lpcore.verify.Verifier.choose`: the passing orchestrator becomes verified, the
        ones rejected before it are suspended, a verified orchestrator that failed loses its status."""
        for o in verdict.rejected:
            self.suspender.suspend(o, self.penalty)
        if self.verified is not None and self.verified in verdict.failures:
            self.verified = None
            self.swaps += 1
        if verdict.verified and verdict.passed:
            self.verified = verdict.passed[0]
        if self.reputation is not None:
            self.reputation.record_verdict(verdict)
