"""Verification policy: go-livepeer's "fast verification" (spec/vsig.md §6.3) as plain, testable state.

A gateway with ``verification_freq > 0`` sends each segment to 1 trusted and 2 untrusted orchestrators,
compares one random rendition's perceptual hash (MPEG-7 signature) of each untrusted result with the
trusted one, and uses the first untrusted result that passes; that orchestrator becomes the sticky
"verified" one and later segments go to it alone, re-verified with probability ``1/verification_freq``.
Untrusted orchestrators that failed before the passing one are suspended.

Everything random goes through the injected ``rng`` (``random.Random`` API): ``getrandbits(32) % freq``
stands for go-livepeer's ``rand.Uint32() % freq`` and ``randrange(n)`` for ``rand.Intn(n)``.

Deliberate differences from go-livepeer, each safer for the gateway:
- a missing untrusted hash fails that orchestrator (``MissingHash``) instead of failing the whole segment;
- a corrupt untrusted hash is a ``SignatureMismatch`` (go-livepeer logs the compare error and treats it so);
- the default preset is lpcore's ``"exact"`` matcher (``preset="livepeer"`` reproduces lpms).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import MissingHash, PixelMismatch, SignatureFormatError, SignatureMismatch, VerificationError
from ..vsig.match import Match, compare

from .pixels import count_pixels

__all__ = ["Rendition", "TranscodeResult", "Selection", "Verdict", "Verifier", "verify_segment"]


@dataclass(frozen=True)
class Rendition:
    """One rendition of a transcoded segment as an orchestrator returned it."""

    signature: Any = None      # perceptual hash: .bin bytes, path, VideoSignature or frames; None/b"" = missing
    media: Any = None          # the rendition itself (path, bytes or frames), needed only for the pixel check
    pixels: int | None = None  # pixel count the orchestrator reported (width * height * frames)


@dataclass(frozen=True)
class TranscodeResult:
    """All renditions of one segment from one orchestrator."""

    orchestrator: str
    renditions: Sequence[Rendition]


@dataclass(frozen=True)
class Selection:
    """Which orchestrators get the segment, and whether their results are verified."""

    trusted: tuple[str, ...]
    untrusted: tuple[str, ...]
    verify: bool               # False: reusing the verified orchestrator without checking (or policy off)


@dataclass
class Verdict:
    """Outcome of :meth:`Verifier.choose` for one segment."""

    accepted: TranscodeResult | None          # the result the gateway uses
    rendition: int | None = None              # index of the rendition that was checked
    verified: bool = False                    # an untrusted result passed and is used
    passed: list[str] = field(default_factory=list)
    failures: dict[str, VerificationError] = field(default_factory=dict)
    suspended: list[str] = field(default_factory=list)   # suspended by this verdict
    matches: dict[str, Match] = field(default_factory=dict)

    @property
    def orchestrator(self) -> str | None:
        return self.accepted.orchestrator if self.accepted else None


class Verifier:
    """Per-stream fast-verification state (go-livepeer ``BroadcastSessionsManager`` + suspender).

    ``verification_freq``: verify every segment until an orchestrator is verified, then about one segment
    in ``verification_freq``; 0 disables verification. ``preset``/``thresholds``: the signature matcher.
    ``check_pixels``: also compare decoded with reported pixel counts (``pixel_counter``, default
    :func:`count_pixels`). ``rng``: source of randomness (``random.Random`` API)."""

    def __init__(self, verification_freq: int, *, preset: str = "exact", thresholds: dict | None = None,
                 check_pixels: bool = False, pixel_counter: Callable[[Any], int] | None = None,
                 rng: random.Random | None = None):
        if isinstance(verification_freq, bool) or not isinstance(verification_freq, int) or verification_freq < 0:
            raise ValueError(f"verification_freq must be an int >= 0, got {verification_freq!r}")
        self.verification_freq = verification_freq
        self.preset = preset
        self.thresholds = dict(thresholds or {})
        from ..vsig.match import _resolve  # validate preset and thresholds now, not at the first segment

        _resolve(preset, self.thresholds)
        self.check_pixels = check_pixels
        self.pixel_counter = pixel_counter or count_pixels
        self.rng = rng if rng is not None else random.Random()
        self.verified: str | None = None          # the sticky verified orchestrator
        self.suspensions: dict[str, int] = {}     # orchestrator -> times suspended

    @property
    def enabled(self) -> bool:
        return self.verification_freq > 0

    def is_suspended(self, orchestrator: str) -> bool:
        return self.suspensions.get(orchestrator, 0) > 0

    def release(self, orchestrator: str) -> None:
        """Lifts a suspension (the gateway's suspender does this after its penalty period)."""
        self.suspensions.pop(orchestrator, None)

    def select(self, trusted: Sequence[str], untrusted: Sequence[str]) -> Selection:
        """Session selection for one segment (``selectSessions``): 1 trusted + 2 untrusted orchestrators,
        suspended ones left out. With a verified orchestrator among them, verification is skipped with
        probability 1 - 1/freq and only that orchestrator is used; a verified orchestrator that is no
        longer selectable loses its status."""
        t = [o for o in trusted if not self.is_suspended(o)]
        u = [o for o in untrusted if not self.is_suspended(o)]
        if not self.enabled:
            one = (u or t)[:1]
            return Selection((), tuple(one), False) if u else Selection(tuple(one), (), False)
        t, u = t[:1], u[:2]
        if self.verified is not None and self.verified in u:
            if self.rng.getrandbits(32) % self.verification_freq != 0:
                return Selection((), (self.verified,), False)
        elif self.verified is not None:
            self.verified = None
        return Selection(tuple(t), tuple(u), True)

    def choose(self, trusted: TranscodeResult | None, untrusted: Sequence[TranscodeResult]) -> Verdict:
        """Picks the result to use (``chooseResults``): checks one random rendition of each untrusted
        result against the trusted one, verified orchestrator first; the first that passes is used,
        becomes the verified orchestrator, and the untrusted ones that failed before it are suspended.
        If none passes the trusted result is used (and nobody is suspended by this path)."""
        if trusted is None:
            if not untrusted:
                raise ValueError("choose() needs at least one result")
            return Verdict(accepted=untrusted[0])
        if not untrusted:
            return Verdict(accepted=trusted)
        n = len(trusted.renditions)
        if n == 0:
            raise ValueError(f"trusted result from {trusted.orchestrator!r} has no renditions")
        index = self.rng.randrange(n)
        verdict = Verdict(accepted=trusted, rendition=index)
        reference = trusted.renditions[index].signature
        if _missing(reference):
            verdict.failures[trusted.orchestrator] = MissingHash(
                f"trusted orchestrator {trusted.orchestrator!r} returned no perceptual hash", trusted.orchestrator)
            return verdict
        ordered = sorted(untrusted, key=lambda r: r.orchestrator != self.verified)  # stable: verified first
        failed: list[str] = []
        for result in ordered:
            error = self._check(reference, result, index, verdict)
            if error is None:
                verdict.accepted = result
                verdict.verified = True
                verdict.passed.append(result.orchestrator)
                self.verified = result.orchestrator
                for o in failed:
                    self.suspensions[o] = self.suspensions.get(o, 0) + 1
                verdict.suspended = failed
                return verdict
            verdict.failures[result.orchestrator] = error
            failed.append(result.orchestrator)
            if result.orchestrator == self.verified:
                self.verified = None  # it just failed: it is no longer a safe orchestrator to reuse
        return verdict

    def _check(self, reference: Any, result: TranscodeResult, index: int, verdict: Verdict) -> VerificationError | None:
        o = result.orchestrator
        if index >= len(result.renditions) or _missing(result.renditions[index].signature):
            return MissingHash(f"orchestrator {o!r} returned no perceptual hash for rendition {index}", o)
        rendition = result.renditions[index]
        try:
            m = compare(reference, rendition.signature, preset=self.preset, **self.thresholds)
        except SignatureFormatError as e:
            return SignatureMismatch(f"orchestrator {o!r}: unreadable perceptual hash ({e})", o)
        verdict.matches[o] = m
        if not m:
            return SignatureMismatch(f"orchestrator {o!r}: perceptual hash does not match the trusted one", o)
        if self.check_pixels:
            if rendition.pixels is None or rendition.media is None:
                return PixelMismatch(f"orchestrator {o!r}: rendition {index} has no reported pixels or media", o)
            decoded = self.pixel_counter(rendition.media)
            if decoded != rendition.pixels:
                return PixelMismatch(f"orchestrator {o!r}: decoded {decoded} pixels, reported {rendition.pixels}", o)
        return None


def _missing(signature: Any) -> bool:
    if signature is None:
        return True
    if isinstance(signature, (bytes, bytearray, memoryview)) and len(signature) == 0:
        return True
    return False


def verify_segment(reference: Any, candidate: Any, *, preset: str = "exact", **thresholds: Any) -> Match:
    """Checks a candidate rendition against a trusted reference: files (video or ``.bin``), signature
    bytes, frames or VideoSignatures. Returns the Match (truthy when the candidate passes)."""
    if _missing(reference) or _missing(candidate):
        raise MissingHash("reference and candidate signatures are required")
    return compare(reference, candidate, preset=preset, **thresholds)
