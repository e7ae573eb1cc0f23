"""MPEG-7 video signatures, bit-identical to FFmpeg's `signature` filter (spec/vsig.md).

``compute(frames)`` / ``compute_file(path)`` give a :class:`VideoSignature`; ``to_binary()``/``to_xml()`` write
FFmpeg's files and ``VideoSignature.from_binary()`` reads them (strict, or with Livepeer's import rules).
"""

from __future__ import annotations

from .engine import compute, compute_file
from .signature import VideoSignature
from .match import Match, compare, compare_many  # noqa: E402
from .profile import VideoProfile, compute_profile, compute_profile_file  # noqa: E402

__all__ = ["compute", "compute_file", "VideoSignature", "compare", "compare_many", "Match", "VideoProfile",
           "compute_profile", "compute_profile_file"]
