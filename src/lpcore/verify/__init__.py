"""Verification: judging an orchestrator's returned renditions against a trusted one.

- :mod:`lpcore.verify.policy`: go-livepeer's fast-verification policy (:class:`Verifier`, :func:`verify_segment`).
- :mod:`lpcore.verify.pixels`: the decoded pixel count check.
- :mod:`lpcore.verify.detect`: tamper detection from verification profiles (:func:`detect_tampering`).
- :mod:`lpcore.verify.batch`: many pairs in-process or on Ray (:func:`run_batch`), rows into :mod:`.sinks`.

Selection of who gets a segment, sampling and suspension live in :mod:`lpcore.market`.
"""

from .detect import TamperReport, detect_tampering
from .pixels import count_pixels
from .policy import Rendition, TranscodeResult, Verdict, Verifier, verify_segment
from .batch import iter_batch, run_batch

__all__ = ["Rendition", "TranscodeResult", "Verdict", "Verifier", "verify_segment", "count_pixels",
           "run_batch", "iter_batch", "detect_tampering", "TamperReport"]
