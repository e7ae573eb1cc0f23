"""Verification: judging untrusted transcoded results against a trusted one (go-livepeer "fast verification",
``chooseResults``), and nothing else.

:class:`Verifier` checks one random rendition of each untrusted result against the trusted result, in the order
given, and uses the first that passes. *Which* orchestrators get a segment, the sticky "verified" orchestrator,
sampling and suspensions are selection's business and live in :mod:`lpcore.market` (``FastVerification``); the
Verifier reports each :class:`Verdict` to whoever listens (``report=``: the selector, the reputation store).

Detectors (``detector=``): ``"mpeg7"`` compares MPEG-7 signatures with a :mod:`lpcore.vsig.match` preset;
``"profile"`` runs :func:`lpcore.verify.detect.detect_tampering` (imported when first used) on the renditions'
media (the trusted one profiled once per segment; each report in ``Verdict.reports``, its reasons in the
:class:`~lpcore.errors.TamperDetected` message); or any callable
``(reference: Rendition, candidate: Rendition) -> VerificationError | None``.

An untrusted result is attacker-controlled: whatever it holds (an undecodable or tiny video, a text file, a
missing path, an 8x8 frame array) makes *that orchestrator* fail with :class:`~lpcore.errors.BadRendition`; the
segment goes on and the next orchestrator is checked.

Everything random goes through the injected ``rng`` (``random.Random`` API): ``randrange(n)`` stands for
go-livepeer's ``rand.Intn(n)`` when picking the rendition to check.

Deliberate differences from go-livepeer, each safer for the gateway:
- a missing untrusted hash fails that orchestrator (``MissingHash``) instead of failing the whole segment;
- a corrupt untrusted hash is a ``SignatureMismatch`` (go-livepeer logs the compare error and treats it so);
- the default preset is lpcore's ``"exact"`` matcher (``preset="livepeer"`` reproduces lpms).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import (BadRendition, MissingHash, PixelMismatch, SignatureFormatError, SignatureMismatch,
                      TamperDetected, VerificationError)
from ..vsig.match import Match, compare

from .pixels import count_pixels

__all__ = ["Rendition", "TranscodeResult", "Verdict", "Verifier", "verify_segment", "Detector"]


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


@dataclass
class Verdict:
    """Outcome of :meth:`Verifier.choose` for one segment."""

    accepted: TranscodeResult | None          # the result the gateway uses
    rendition: int | None = None              # index of the rendition that was checked
    verified: bool = False                    # an untrusted result passed and is used
    passed: list[str] = field(default_factory=list)
    failures: dict[str, VerificationError] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)    # failed before the one that passed (go-livepeer
    #                                                       suspends exactly these; none when nobody passed)
    matches: dict[str, Match] = field(default_factory=dict)
    trusted: str | None = None                            # the trusted orchestrator of this segment
    checked: list[str] = field(default_factory=list)      # untrusted orchestrators checked, in order
    reports: dict[str, Any] = field(default_factory=dict)  # detector="profile": each checked one's TamperReport
    detector: str = "mpeg7"                               # who judged: "mpeg7", "profile" or "custom"

    @property
    def orchestrator(self) -> str | None:
        return self.accepted.orchestrator if self.accepted else None


Detector = Callable[[Rendition, Rendition], "VerificationError | None"]


class Verifier:
    """Judges untrusted results of one segment against the trusted one (go-livepeer ``chooseResults``).

    ``detector``: ``"mpeg7"`` (signature match with ``preset``/``thresholds``), ``"profile"``
    (:func:`lpcore.verify.detect.detect_tampering` on the renditions' ``media``, extra options in
    ``detector_options``) or a callable ``(reference, candidate) -> VerificationError | None``.
    ``check_pixels``: also compare decoded with reported pixel counts (``pixel_counter``, default
    :func:`count_pixels`). ``rng``: picks the rendition to check. ``report``: a callable, an object with
    ``on_verdict(verdict)``, or a sequence of them, told of every verdict (selection, reputation)."""

    def __init__(self, *, preset: str = "exact", thresholds: dict | None = None,
                 detector: str | Detector = "mpeg7", detector_options: dict | None = None,
                 check_pixels: bool = False, pixel_counter: Callable[[Any], int] | None = None,
                 rng: random.Random | None = None, report: Any = None):
        self.preset = preset
        self.thresholds = dict(thresholds or {})
        from ..vsig.match import check_preset  # validate preset and thresholds now, not at the first segment

        check_preset(preset, self.thresholds)
        if not (callable(detector) or detector in ("mpeg7", "profile")):
            raise ValueError(f"detector must be 'mpeg7', 'profile' or a callable, got {detector!r}")
        self.detector = detector
        self.detector_options = dict(detector_options or {})
        self.check_pixels = check_pixels
        self.pixel_counter = pixel_counter or count_pixels
        self.rng = rng if rng is not None else random.Random()
        if report is None:
            self._reporters: list = []
        elif isinstance(report, (list, tuple)):
            self._reporters = list(report)
        else:
            self._reporters = [report]

    def choose(self, trusted: TranscodeResult | None, untrusted: Sequence[TranscodeResult]) -> Verdict:
        """Picks the result to use: one random rendition of each untrusted result is checked against the
        trusted one, in the order given (a selector puts its verified orchestrator first); the first that
        passes is used. Those that failed before it are the verdict's ``rejected`` (go-livepeer suspends them).
        If none passes the trusted result is used and nobody is rejected (go-livepeer's QUIRK, kept)."""
        verdict = self._judge(trusted, untrusted)
        for r in self._reporters:
            (r.on_verdict if hasattr(r, "on_verdict") else r)(verdict)
        return verdict

    def _judge(self, trusted: TranscodeResult | None, untrusted: Sequence[TranscodeResult]) -> Verdict:
        verdict = self._judge_segment(trusted, untrusted)
        verdict.detector = self.detector if isinstance(self.detector, str) else "custom"
        return verdict

    def _judge_segment(self, trusted: TranscodeResult | None, untrusted: Sequence[TranscodeResult]) -> Verdict:
        if trusted is None:
            if not untrusted:
                raise ValueError("choose() needs at least one result")
            return Verdict(accepted=untrusted[0])
        if not untrusted:
            return Verdict(accepted=trusted, trusted=trusted.orchestrator)
        n = len(trusted.renditions)
        if n == 0:
            raise ValueError(f"trusted result from {trusted.orchestrator!r} has no renditions")
        index = self.rng.randrange(n)
        verdict = Verdict(accepted=trusted, rendition=index, trusted=trusted.orchestrator)
        reference = trusted.renditions[index]
        if self.detector == "mpeg7" and _missing(reference.signature):
            verdict.failures[trusted.orchestrator] = MissingHash(
                f"trusted orchestrator {trusted.orchestrator!r} returned no perceptual hash", trusted.orchestrator)
            return verdict
        if self.detector == "mpeg7":
            try:  # the trusted side is read once, and its failure is not blamed on the untrusted ones
                reference = replace(reference, signature=_prepared(reference.signature))
            except Exception as e:  # noqa: BLE001
                verdict.failures[trusted.orchestrator] = BadRendition(
                    f"trusted orchestrator {trusted.orchestrator!r}: reference rendition {index} cannot be read "
                    f"({type(e).__name__}: {e})", trusted.orchestrator)
                return verdict
        if self.detector == "profile":
            if reference.media is None:
                verdict.failures[trusted.orchestrator] = BadRendition(
                    f"trusted orchestrator {trusted.orchestrator!r}: rendition {index} has no media to examine",
                    trusted.orchestrator)
                return verdict
            from .detect import load_profile  # the profile detector; loaded only when used

            try:  # decoded once for all the untrusted results (the profile carries the signature too)
                reference = replace(reference, media=load_profile(
                    reference.media, "reference", device=self.detector_options.get("device", "auto")))
            except Exception as e:  # noqa: BLE001
                verdict.failures[trusted.orchestrator] = BadRendition(
                    f"trusted orchestrator {trusted.orchestrator!r}: reference rendition {index} cannot be read "
                    f"({type(e).__name__}: {e})", trusted.orchestrator)
                return verdict
        failed: list[str] = []
        for result in untrusted:
            verdict.checked.append(result.orchestrator)
            try:
                error = self._check(reference, result, index, verdict)
            except Exception as e:  # noqa: BLE001 - untrusted input: any failure to judge it is its failure
                error = BadRendition(f"orchestrator {result.orchestrator!r}: rendition {index} cannot be judged "
                                     f"({type(e).__name__}: {e})", result.orchestrator)
                error.__cause__ = e
            if error is None:
                verdict.accepted = result
                verdict.verified = True
                verdict.passed.append(result.orchestrator)
                verdict.rejected = failed
                return verdict
            verdict.failures[result.orchestrator] = error
            failed.append(result.orchestrator)
        return verdict

    def _check(self, reference: Rendition, result: TranscodeResult, index: int,
               verdict: Verdict) -> VerificationError | None:
        o = result.orchestrator
        if index >= len(result.renditions):
            return MissingHash(f"orchestrator {o!r} returned no rendition {index}", o)
        rendition = result.renditions[index]
        if self.detector == "mpeg7":
            if _missing(rendition.signature):
                return MissingHash(f"orchestrator {o!r} returned no perceptual hash for rendition {index}", o)
            try:
                m = compare(reference.signature, rendition.signature, preset=self.preset, **self.thresholds)
            except SignatureFormatError as e:
                return SignatureMismatch(f"orchestrator {o!r}: unreadable perceptual hash ({e})", o)
            verdict.matches[o] = m
            if not m:
                return SignatureMismatch(f"orchestrator {o!r}: perceptual hash does not match the trusted one", o)
        elif self.detector == "profile":
            if rendition.media is None:
                return BadRendition(f"orchestrator {o!r}: rendition {index} has no media to examine", o)
            if _is_profile(rendition.media):
                return BadRendition(f"orchestrator {o!r}: rendition {index} is a verification profile, not media"
                                    " (the gateway profiles what it will deliver)", o)
            from .detect import detect_tampering  # the profile detector; loaded only when used

            report = detect_tampering(reference.media, rendition.media, **self.detector_options)
            verdict.reports[o] = report
            if report.tampered:
                reasons = "; ".join(map(str, getattr(report, "reasons", ()) or ())) or "tampering detected"
                return TamperDetected(f"orchestrator {o!r}: {reasons} (score {report.score:.2f})", o)
        else:
            error = self.detector(reference, rendition)
            if error is not None:
                if not isinstance(error, VerificationError):
                    raise TypeError(f"a detector returns a VerificationError or None, got {type(error).__name__}")
                if error.orchestrator is None:
                    error.orchestrator = o
                return error
        if self.check_pixels:
            if rendition.pixels is None or rendition.media is None:
                return PixelMismatch(f"orchestrator {o!r}: rendition {index} has no reported pixels or media", o)
            decoded = self.pixel_counter(rendition.media)
            if decoded != rendition.pixels:
                return PixelMismatch(f"orchestrator {o!r}: decoded {decoded} pixels, reported {rendition.pixels}", o)
        return None


def _prepared(signature: Any) -> Any:
    """A reference given as frames or as a video file becomes its VideoSignature once (what ``compare`` would
    compute for every candidate); ``.bin`` bytes and paths are left to ``compare``, whose reading depends on the
    preset."""
    import os

    import numpy as np

    if isinstance(signature, np.ndarray):
        from ..vsig import compute

        return compute(signature)
    if isinstance(signature, (str, os.PathLike)) and str(signature).lower().endswith((".bin", ".xml")) is False:
        from ..vsig import compute_file

        if not os.path.isfile(signature):
            raise ValueError(f"no such file {str(signature)!r}")
        return compute_file(str(signature))
    return signature


def _is_profile(media: Any) -> bool:
    """Whether untrusted ``media`` is a verification profile (an object, LPVP bytes or an LPVP file) rather than
    the rendition: ``detect_tampering`` reads profiles, and a forged one would pass for any video."""
    import os

    from ..vsig.profile import VideoProfile

    if isinstance(media, VideoProfile):
        return True
    if isinstance(media, (bytes, bytearray, memoryview)):
        return bytes(media[:4]) == b"LPVP"
    if isinstance(media, (str, os.PathLike)) and os.path.isfile(media):
        try:
            with open(media, "rb") as f:
                return f.read(4) == b"LPVP"
        except OSError:
            return False
    return False


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
