"""Verification: judging an orchestrator's returned renditions against a trusted one.

- :mod:`lpcore.verify.policy`: go-livepeer's fast-verification policy (:class:`Verifier`, :func:`verify_segment`).
- :mod:`lpcore.verify.pixels`: the decoded pixel count check.
- :mod:`lpcore.verify.detect`: tamper detection from verification profiles (:func:`detect_tampering`).
"""

from .detect import TamperReport, detect_tampering
from .pixels import count_pixels
from .policy import Rendition, Selection, TranscodeResult, Verdict, Verifier, verify_segment

__all__ = ["Rendition", "TranscodeResult", "Selection", "Verdict", "Verifier", "verify_segment", "count_pixels",
           "detect_tampering", "TamperReport"]
