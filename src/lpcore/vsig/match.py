"""Signature matching: FFmpeg's MPEG-7 lookup (spec/vsig.md §5) with its presets, and lpcore's "exact" one.

``compare(a, b, preset="livepeer")`` runs the three-stage lookup in C (``csrc/match``, GIL released):
coarse candidates by Jaccard distance, frame pairs + Hough voting, then the evaluation walk. The presets
reproduce their reference's outcome, quirks included:

========== ==========================================================================================
preset     reference and behaviour
========== ==========================================================================================
ffmpeg     FFmpeg <= 7.0 / Debian 5.1 (n5.1.8 lookup): integer "Jaccard" (every coarse pair passes),
           trunc rounding, Hough offsets -89..-1 only (B1), last frame outside stage 2 (B8), stage-3
           state leaking between candidates (B7); ``th_it`` is the option value, turned into FFmpeg's
           effective int (§5.1); flags FFmpeg's SIGSEGV of bug B2 (``Match.reference_crash``).
ffmpeg71   FFmpeg >= 7.1: as ``ffmpeg`` with the Q16 Jaccard distance (stage 1 becomes selective).
livepeer   livepeer/FFmpeg ``avfilter_compare_sign_*`` as lpms calls it: th_xh 150, ``nearbyint``
           rounding, zeroed bestmatch (no B2 crash); ``.bin`` inputs use the fork's import rules.
exact      lpcore's corrected matcher (the verifier's default): all Hough offsets -89..+89 (B1), the last
           frame takes part (B8), no state shared between candidates (B7), and each candidate's whole
           alignment line is evaluated instead of stopping at 3 bad frames: it passes when more than half
           of its frame pairs carry content (confidence > 0 on a side, FFmpeg's confidence rule) and at
           least ``th_it`` (default 0.5, FFmpeg's documented meaning, never applied by FFmpeg) of those are
           within ``th_xh`` (150); "whole" means one stream is covered end to end; among candidates the
           whole one, then the one with most good frames wins. Flat video gives no match, never a crash.
========== ==========================================================================================

``exact`` is symmetric by construction: it runs the lookup in both orders and keeps the better result by
the key (code, matchframes, -meandist); on a tie the a→b run wins. ``code`` is therefore identical for
``compare(a, b)`` and ``compare(b, a)``; positions are always reported for (a, b), with
``orientation == "ba"`` when they came from the b→a run.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _native_match as _native
from .._args import threads as _threads_arg
from ..errors import LpcoreError, SignatureFormatError

__all__ = ["Match", "compare", "compare_many", "PRESETS", "LOW_INFORMATION_SHARE", "effective_th_it",
           "add_compare_command", "check_preset"]

_JACCARD_INT, _JACCARD_Q16 = 0, 1
_ROUND_TRUNC, _ROUND_NEARBYINT = 0, 1
_MODES = {"full": 0, "fast": 1}


@dataclass(frozen=True)
class _Preset:
    th_xh: int
    jaccard: int
    rounding: int
    full_offset_scan: bool
    include_last_frame: bool
    reset_walk_state: bool
    model_b2_crash: bool
    th_it_rule: str          # "ffmpeg": option double -> effective int; "c-int": truncation; "ratio": as is
    th_it_default: float
    symmetric: bool
    livepeer_import: bool
    diagonal_walk: bool = False


PRESETS: dict[str, _Preset] = {
    "ffmpeg": _Preset(116, _JACCARD_INT, _ROUND_TRUNC, False, False, False, True, "ffmpeg", 0.5, False, False),
    "ffmpeg71": _Preset(116, _JACCARD_Q16, _ROUND_TRUNC, False, False, False, True, "ffmpeg", 0.5, False, False),
    "livepeer": _Preset(150, _JACCARD_INT, _ROUND_NEARBYINT, False, False, False, False, "c-int", 0.5, False, True),
    "exact": _Preset(150, _JACCARD_INT, _ROUND_TRUNC, True, True, True, False, "ratio", 0.5, True, False, True),
}

_THRESHOLDS = ("th_d", "th_dc", "th_xh", "th_di", "th_it", "mode")

# A signature whose frames with content (confidence >= 1) are at most this share of all its frames carries too
# little information for a verdict: flat or static video has the same frame signature at any level, and
# FFmpeg's own confidence rule (also the "exact" preset's) refuses an alignment whose good frames are mostly such
# frames. Match.low_information reports it, so "no match" on such input is not read as "different content".
LOW_INFORMATION_SHARE = 0.5


def _low_information(sig) -> bool:
    n = len(sig.confidence)
    return n == 0 or int(np.count_nonzero(sig.confidence)) <= LOW_INFORMATION_SHARE * n


def effective_th_it(value: float) -> int:
    """FFmpeg's effective ``thit``: the option double is stored over an int field, so on little-endian hosts
    the int reads the low 32 bits of the IEEE-754 double (spec/vsig.md §5.1: 0.5 -> 0, 0.3 -> huge)."""
    return struct.unpack("<i", struct.pack("<d", float(value))[:4])[0]


@dataclass(frozen=True)
class Match:
    """Outcome of a signature lookup. ``code``: 0 none, 1 partial, 2 whole (Livepeer's result code)."""

    code: int
    start_a: int | None = None       # matched start frame (0-based index) in a
    start_b: int | None = None       # matched start frame in b
    time_a: float | None = None      # start_a's pts in seconds (pts * time_base), as FFmpeg logs it
    time_b: float | None = None
    matchframes: int = 0             # frames walked in b (FFmpeg's "N frames matching")
    framerate_ratio: float = 0.0     # frames of b per frame of a: 1.0 or 2.0 (0.5 for an exact "ba" result)
    offset: int = 0                  # Hough offset of the accepted candidate
    score: int = 0                   # Hough votes of the accepted candidate
    meandist: float = 99999.0        # mean trit L1 distance of the good frames
    preset: str = "livepeer"
    orientation: str = "ab"          # "ba": exact preset, result taken from the b-vs-a lookup
    reference_crash: bool = False    # FFmpeg itself would have crashed (bug B2); code is then 0
    coarse_pairs: int = 0            # coarse pairs that passed stage 1
    candidates: int = 0              # stage-2 candidates evaluated
    low_information: bool = False    # a or b carries too little content to decide (see LOW_INFORMATION_SHARE)

    @property
    def whole(self) -> bool:
        """The walk reached both ends of a stream ("whole video matching")."""
        return self.code == 2

    def __bool__(self) -> bool:
        return self.code > 0

    def describe(self) -> str:
        """FFmpeg-style one-line summary."""
        if self.reference_crash:
            return "no matching (FFmpeg itself would crash here: bug B2)"
        if not self:
            return "no matching"
        s = (f"matching of a at frame {self.start_a} ({_fmt_time(self.time_a)}) and b at frame {self.start_b} "
             f"({_fmt_time(self.time_b)}), {self.matchframes} frames matching, ratio {self.framerate_ratio:g}, "
             f"meandist {self.meandist:.3f}")
        return s + (", whole video matching" if self.whole else ", partial")


def _fmt_time(t: float | None) -> str:
    return "?" if t is None else f"{t:.6f} s"


def _resolve(preset: str, thresholds: dict[str, Any]) -> tuple[_Preset, dict[str, Any]]:
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
    unknown = set(thresholds) - set(_THRESHOLDS)
    if unknown:
        raise TypeError(f"unknown threshold(s) {sorted(unknown)}; allowed: {list(_THRESHOLDS)}")
    p = PRESETS[preset]
    mode = thresholds.get("mode", "full")
    if mode not in _MODES:
        raise ValueError(f"mode must be 'full' or 'fast', got {mode!r}")
    vals: dict[str, Any] = {"mode": _MODES[mode]}
    for name, default in (("th_d", 9000), ("th_dc", 60000), ("th_xh", p.th_xh), ("th_di", 0)):
        v = thresholds.get(name, default)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not -(2**31) <= int(v) < 2**31:
            raise ValueError(f"{name} must be a 32-bit int, got {v!r}")
        vals[name] = int(v)
    th_it = thresholds.get("th_it", p.th_it_default)
    if isinstance(th_it, bool) or not isinstance(th_it, (int, float, np.integer, np.floating)):
        raise ValueError(f"th_it must be a number, got {th_it!r}")
    if p.th_it_rule == "ffmpeg":
        vals["th_it"] = float(effective_th_it(float(th_it)))
    elif p.th_it_rule == "c-int":
        vals["th_it"] = float(int(th_it))  # the fork assigns 0.5 to the int field in C: truncation
    else:
        vals["th_it"] = float(th_it)
    return p, vals


def check_preset(preset: str, thresholds: dict[str, Any] | None = None) -> None:
    """Checks a preset name and its threshold overrides as :func:`compare` would (ValueError/TypeError), so a
    caller that compares later (``lpcore.verify.Verifier``) can refuse bad settings at construction."""
    _resolve(preset, dict(thresholds or {}))


def _load_signature(x: Any, name: str, livepeer_import: bool):
    """Turns an argument of compare() into a VideoSignature (or anything with its array attributes)."""
    if hasattr(x, "framesig") and hasattr(x, "bags"):
        return x
    from . import VideoSignature  # the vsig package; imported lazily to keep import order simple

    if isinstance(x, (bytes, bytearray, memoryview)):
        return VideoSignature.from_binary(bytes(x), livepeer=livepeer_import)
    if isinstance(x, (str, os.PathLike)):
        path = Path(x)
        if not path.is_file():
            raise ValueError(f"{name}: no such file {str(path)!r}")
        with open(path, "rb") as fh:
            head = fh.read(64)
        if path.suffix.lower() == ".xml" or head.lstrip().startswith(b"<?xml"):
            raise SignatureFormatError(f"{name}: XML signatures are not accepted by compare; use the binary .bin")
        if path.suffix.lower() == ".bin":
            return VideoSignature.from_binary(path.read_bytes(), livepeer=livepeer_import)
        from . import compute_file

        return compute_file(str(path))
    if isinstance(x, np.ndarray) or (hasattr(x, "__array__") and not isinstance(x, (str, bytes))):
        from . import compute

        return compute(x)
    raise TypeError(f"{name} must be a VideoSignature, .bin bytes, a path (.bin or video) or frames, "
                    f"got {type(x).__name__}")


def _stream(sig) -> tuple:
    if len(sig.framesig) == 0:
        raise SignatureFormatError("cannot compare a signature with 0 frames")
    return (sig.framesig, sig.confidence, sig.bags, sig.seg_first)


def _lookup(pairs: list, p: _Preset, v: dict[str, Any], preset: str, orientation: str, threads) -> list[Match]:
    """The one path to the C lookup: every compare goes through the batch call."""
    rows = _native.lookup_batch(
        [_stream(a) for a, _ in pairs], [_stream(b) for _, b in pairs],
        th_d=v["th_d"], th_dc=v["th_dc"], th_xh=v["th_xh"], th_di=v["th_di"], th_it=v["th_it"], mode=v["mode"],
        jaccard=p.jaccard, rounding=p.rounding, full_offset_scan=p.full_offset_scan,
        include_last_frame=p.include_last_frame, reset_walk_state=p.reset_walk_state,
        model_b2_crash=p.model_b2_crash, diagonal_walk=p.diagonal_walk, threads=threads)
    return [replace(_to_match(sa, sb, r, preset, orientation),
                    low_information=_low_information(sa) or _low_information(sb)) for (sa, sb), r in zip(pairs, rows)]


def _to_match(sa, sb, r: tuple, preset: str, orientation: str) -> Match:
    code, _whole, fa, fb, matchframes, offset, score, frr, meandist, crash, cpairs, ncand = r
    common = dict(preset=preset, orientation=orientation, reference_crash=bool(crash), coarse_pairs=int(cpairs),
                  candidates=int(ncand))
    if code == 0:
        return Match(0, meandist=float(meandist), **common)
    return Match(int(code), start_a=int(fa), start_b=int(fb), time_a=_time(sa, fa), time_b=_time(sb, fb),
                 matchframes=int(matchframes), framerate_ratio=float(frr), offset=int(offset), score=int(score),
                 meandist=float(meandist), **common)


def _time(sig, index: int) -> float | None:
    tb = getattr(sig, "time_base", None)
    pts = getattr(sig, "pts", None)
    if tb is None or pts is None or not tb[1]:
        return None
    return float(Fraction(int(pts[index])) * Fraction(int(tb[0]), int(tb[1])))


def _mirror(m: Match) -> Match:
    """A b-vs-a result expressed for (a, b)."""
    if not m:
        return replace(m, orientation="ba")
    return replace(m, start_a=m.start_b, start_b=m.start_a, time_a=m.time_b, time_b=m.time_a,
                   framerate_ratio=1.0 / m.framerate_ratio, orientation="ba")


def compare(a: Any, b: Any, preset: str = "livepeer", **thresholds: Any) -> Match:
    """Matches signature ``a`` against ``b`` (FFmpeg's input 0 and 1).

    ``a``/``b``: a VideoSignature, binary signature bytes, a path to a ``.bin`` signature or to a video
    (computed with vsig), or luma frames ``(N, H, W) uint8``. ``.bin`` inputs use the Livepeer fork's import
    rules with ``preset="livepeer"`` and FFmpeg's otherwise. ``thresholds``: ``th_d``, ``th_dc``, ``th_xh``,
    ``th_di``, ``th_it`` and ``mode`` ("full"/"fast"), defaulting to the preset's values.
    Raises ``SignatureFormatError`` for unreadable signatures (Livepeer's "< 0" result code).
    """
    return compare_many([(a, b)], preset, threads=1, **thresholds)[0]


def compare_many(pairs: Sequence[tuple[Any, Any]], preset: str = "livepeer", *, threads: int | None = None,
                 **thresholds: Any) -> list[Match]:
    """``compare`` over many pairs at once, on ``threads`` native threads (None: all cores), GIL released.
    Inputs and thresholds as in :func:`compare`; results in input order."""
    p, v = _resolve(preset, thresholds)
    threads = _threads_arg(threads)
    loaded = [(_load_signature(a, "a", p.livepeer_import), _load_signature(b, "b", p.livepeer_import))
              for a, b in pairs]
    if not p.symmetric:
        return _lookup(loaded, p, v, preset, "ab", threads)
    both = _lookup(loaded + [(sb, sa) for sa, sb in loaded], p, v, preset, "ab", threads)
    n = len(loaded)

    def key(x: Match):
        return (x.code, x.matchframes, -x.meandist)

    out = []
    for m, m2 in zip(both[:n], both[n:]):
        m2 = _mirror(m2)
        out.append(m2 if key(m2) > key(m) else m)
    return out


# ------------------------------------------------------------------------------------------- CLI (match)

def add_compare_command(subparsers: argparse._SubParsersAction) -> None:
    """Adds ``lpcore vsig compare A B [--preset ...]`` to the ``vsig`` sub-command parsers."""
    p = subparsers.add_parser("compare", help="match two videos or .bin signatures (exit 0: match, 1: none, 2: error)",
                              description="Runs FFmpeg's MPEG-7 signature lookup (or lpcore's 'exact' matcher) on "
                                          "two videos or binary signatures and prints the result code "
                                          "(0 none, 1 partial, 2 whole) with the matched positions.")
    p.add_argument("a", help="video file or binary signature (.bin)")
    p.add_argument("b", help="video file or binary signature (.bin)")
    p.add_argument("--preset", default="livepeer", choices=sorted(PRESETS),
                   help="matching rules: livepeer (go-livepeer's FFmpeg fork, default), ffmpeg (FFmpeg < 7.1), "
                        "ffmpeg71 (FFmpeg >= 7.1), exact (lpcore's bug-free lookup)")
    p.add_argument("--mode", choices=sorted(_MODES), default=None, help="full (default) or fast")
    for name, what in (("th_d", "word distance sum below which a coarse word pair is similar (default 9000)"),
                       ("th_dc", "distance sum over all words below which coarse signatures are similar "
                                 "(default 60000)"),
                       ("th_xh", "frame distance below which two frames are similar (default: the preset's, "
                                 "116 or 150)"),
                       ("th_di", "minimum length of a matching sequence, in frames (default 0)")):
        p.add_argument(f"--{name}", type=int, default=None, metavar="N", help=what)
    p.add_argument("--th_it", type=float, default=None, metavar="R",
                   help="fraction of good frames a match needs (default 0.5; FFmpeg presets read it as FFmpeg does)")
    p.set_defaults(func=_cmd_compare)


def _cmd_compare(args: argparse.Namespace) -> int:
    th = {k: getattr(args, k) for k in _THRESHOLDS if getattr(args, k, None) is not None}
    try:
        m = compare(args.a, args.b, preset=args.preset, **th)
    except (LpcoreError, ValueError, TypeError) as e:
        print(f"lpcore vsig compare: {e}", file=sys.stderr)
        return 2
    print(f"{m.code} {m.describe()}")
    return 0 if m else 1
