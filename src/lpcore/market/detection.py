"""How often each detector catches each kind of tampering, and how often it rejects an honest rendition.

The ONE place the simulation (and the ``lpcore`` policy's evidence weights) get detection rates from. Every
number is a measurement, never a guess:

- ``mpeg7-livepeer`` and ``mpeg7-exact``: lpcore's MPEG-7 signature matcher with the ``livepeer`` (lpms) and
  ``exact`` presets on the project's corpus: ``benchmarks/corpus_fpfn.py``, table "False positives / negatives:
  livepeer vs exact" in benchmarks/README.md (8 synthetic sources, 24 segments per kind, 9 honest re-encodes and
  9 tamper kinds). A tamper kind's detection rate is 1 - (tampered renditions matched / 24); ``false_reject``
  is the honest renditions not matched (FN) over all honest pairs.
- ``profile``: the tamper-profile detector (:func:`lpcore.verify.detect_tampering`) on the *held-out* part of
  the tamper corpus: ``benchmarks/corpus_fpfn.py --profile`` on segments 18-89, tables "Tamper detection:
  `exact`, `livepeer` and the profile detector side by side" in benchmarks/README.md (the held-out segments
  18-53 and the later parts 54-65, 66-77 and 78-89 together: 57-72 renditions per kind in the target's scope,
  14 honest variants = 1 008 honest pairs; the detector's constants were set on segments 0-17, some changed
  after later parts, which benchmarks/README.md lists; 78-89 were rendered after the last change). That corpus
  names its kinds differently; each simulation kind takes the measured kind that is the same edit: ``logo`` (a
  box over 20 % of the frame) -> ``box`` (filled boxes of 2-40 %), ``small_logo`` (3 %) -> ``logo_2pct``,
  ``region_blur`` (a quarter frame) -> ``blur``, ``half_spliced`` -> ``splice`` (a half spliced from another
  clip), ``two_thirds_spliced`` -> ``splice`` too (not measured apart: more foreign frames, so at least as
  visible to the temporal evidence; the closest measured kind), ``zoom70`` -> ``zoom`` (70-90 %); ``hflip``,
  ``negate`` and ``other_segment`` are the same names.

``honest_pairs`` and ``tamper_pairs`` are the sample sizes. The simulation draws with the measured rates as they
are; the ``lpcore`` policy weighs evidence with :func:`false_reject_estimate`, the posterior mean
``(k + 1) / (n + 2)``, since a handful of false rejects in a few hundred pairs does not pin the rate down (and a zero
rate would turn one honest failure into an infinite likelihood ratio).
"""

from __future__ import annotations

from fractions import Fraction

__all__ = ["DETECTORS", "TAMPER_KINDS", "detection_rate", "false_reject_rate", "false_reject_estimate",
           "mean_detection_rate", "measured", "best_detector"]

TAMPER_KINDS = ("hflip", "logo", "negate", "other_segment", "region_blur", "small_logo", "half_spliced",
                "two_thirds_spliced", "zoom70")

_N = 24  # tampered renditions per kind in the corpus

DETECTORS: dict[str, dict] = {
    # benchmarks/README.md, "False positives / negatives: livepeer vs exact": matched counts per kind (of 24)
    "mpeg7-livepeer": {
        "false_reject": Fraction(26, 216), "honest_pairs": 216, "tamper_pairs": _N,
        "detect": {k: 1 - Fraction(m, _N) for k, m in {
            "hflip": 0, "logo": 20, "negate": 0, "other_segment": 0, "region_blur": 23, "small_logo": 23,
            "half_spliced": 20, "two_thirds_spliced": 21, "zoom70": 6}.items()},
    },
    "mpeg7-exact": {
        "false_reject": Fraction(10, 216), "honest_pairs": 216, "tamper_pairs": _N,
        "detect": {k: 1 - Fraction(m, _N) for k, m in {
            "hflip": 0, "logo": 18, "negate": 0, "other_segment": 0, "region_blur": 24, "small_logo": 24,
            "half_spliced": 24, "two_thirds_spliced": 6, "zoom70": 8}.items()},
    },
    # benchmarks/README.md, "Tamper detection: ...", segments 18-89 (every part after the calibration): `profile`
    # flagged counts per measured kind (of its renditions in the target's scope), under the simulation kind it
    # stands for (module docstring); honest flagged 2/1008
    "profile": {
        "false_reject": Fraction(2, 1008), "honest_pairs": 1008, "tamper_pairs": 1332,
        "detect": {
            "hflip": Fraction(72, 72),               # hflip 72/72
            "logo": Fraction(71, 71),                # box 71/71
            "negate": Fraction(72, 72),              # negate 72/72
            "other_segment": Fraction(72, 72),       # other_segment 72/72
            "region_blur": Fraction(42, 61),         # blur 42/61
            "small_logo": Fraction(71, 71),          # logo_2pct 71/71
            "half_spliced": Fraction(72, 72),        # splice 72/72
            "two_thirds_spliced": Fraction(72, 72),  # splice 72/72 (not measured apart)
            "zoom70": Fraction(67, 72),              # zoom 67/72
        },
    },
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


def false_reject_estimate(detector: str) -> Fraction:
    """The posterior mean of the false-reject rate under a uniform prior, ``(k + 1) / (n + 2)`` for ``k`` honest
    pairs rejected out of ``n``: what the policy's likelihood uses (never 0, close to the rate when ``n`` is
    large)."""
    t = _table(detector)
    n = t["honest_pairs"]
    return (t["false_reject"] * n + 1) / (n + 2)


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
