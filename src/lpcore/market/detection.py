"""How often each detector catches each kind of tampering, and how often it rejects an honest rendition.

The ONE place the simulation (and the ``lpcore`` policy's evidence weights) get detection rates from. Every
number is a measurement, never a guess:

- ``mpeg7-livepeer`` and ``mpeg7-exact``: lpcore's MPEG-7 signature matcher with the ``livepeer`` (lpms) and
  ``exact`` presets on the project's corpus: ``benchmarks/corpus_fpfn.py``, table "False positives / negatives:
  livepeer vs exact" in benchmarks/README.md (8 synthetic sources, 24 segments per kind, 9 honest re-encodes and
  9 tamper kinds). A tamper kind's detection rate is 1 - (tampered renditions matched / 24); ``false_reject``
  is the honest renditions not matched (FN) over all honest pairs.
- ``profile``: the tamper-profile detector (``lpcore.verify.detect``); its rates come from the tamper benchmark
  and are filled in here when it lands (None = not measured yet; the simulation refuses a detector without rates).
"""

from __future__ import annotations

from fractions import Fraction

__all__ = ["DETECTORS", "TAMPER_KINDS", "detection_rate", "false_reject_rate", "mean_detection_rate", "measured",
           "best_detector"]

TAMPER_KINDS = ("hflip", "logo", "negate", "other_segment", "region_blur", "small_logo", "half_spliced",
                "two_thirds_spliced", "zoom70")

_N = 24  # tampered renditions per kind in the corpus

DETECTORS: dict[str, dict] = {
    # benchmarks/README.md, "False positives / negatives: livepeer vs exact": matched counts per kind (of 24)
    "mpeg7-livepeer": {
        "false_reject": Fraction(26, 216),
        "detect": {k: 1 - Fraction(m, _N) for k, m in {
            "hflip": 0, "logo": 20, "negate": 0, "other_segment": 0, "region_blur": 23, "small_logo": 23,
            "half_spliced": 20, "two_thirds_spliced": 21, "zoom70": 6}.items()},
    },
    "mpeg7-exact": {
        "false_reject": Fraction(10, 216),
        "detect": {k: 1 - Fraction(m, _N) for k, m in {
            "hflip": 0, "logo": 18, "negate": 0, "other_segment": 0, "region_blur": 24, "small_logo": 24,
            "half_spliced": 24, "two_thirds_spliced": 6, "zoom70": 8}.items()},
    },
    # to be filled by the lead from the tamper benchmark (lpcore.verify.detect_tampering)
    "profile": {"false_reject": None, "detect": {k: None for k in TAMPER_KINDS}},
}


def _table(detector: str) -> dict:
    try:
        t = DETECTORS[detector]
    except KeyError:
        raise ValueError(f"unknown detector {detector!r}; known: {', '.join(DETECTORS)}") from None
    if not measured(detector):
        raise ValueError(f"detector {detector!r} has no measured rates yet (lpcore.market.detection)")
    return t


def detection_rate(detector: str, kind: str) -> Fraction:
    return _table(detector)["detect"][kind]


def false_reject_rate(detector: str) -> Fraction:
    return _table(detector)["false_reject"]


def mean_detection_rate(detector: str) -> Fraction:
    d = _table(detector)["detect"]
    return sum(d.values(), Fraction(0)) / len(d)


def measured(detector: str) -> bool:
    """Whether ``detector`` has a full table of measured rates."""
    t = DETECTORS.get(detector)
    return t is not None and t["false_reject"] is not None and all(v is not None for v in t["detect"].values())


def best_detector() -> str:
    """The detector the ``lpcore`` policy assumes by default: the profile detector once its rates are measured
    (it sees tampering MPEG-7 signatures miss), else the MPEG-7 ``exact`` preset."""
    return "profile" if measured("profile") else "mpeg7-exact"
