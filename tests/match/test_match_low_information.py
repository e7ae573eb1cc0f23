"""Static and flat content (issue 15 item 7): bounded lookup work, FFmpeg-exact results, and a flag saying the
input carries too little information to decide."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lpcore import vsig
from lpcore.vsig.match import LOW_INFORMATION_SHARE, PRESETS, compare


def _flat(n: int) -> vsig.VideoSignature:
    return vsig.compute(np.full((n, 32, 32), 128, np.uint8))


def _gradient(n: int) -> vsig.VideoSignature:
    plane = np.tile((np.arange(64, dtype=np.uint8) * 4), (64, 1))
    return vsig.compute(np.broadcast_to(plane, (n, 64, 64)))


def test_thirty_seconds_of_static_content_is_bounded_work() -> None:
    # 900 frames (30 s at 30 fps) against themselves: FFmpeg's O(90^4)-per-window voting took 17-34 s per
    # compare (88 s for the static gradient with "exact"). Run in a child with a generous bound for a loaded host.
    script = textwrap.dedent("""
        from tests.match.test_match_low_information import _flat, _gradient
        from lpcore.vsig import compare
        for sig in (_flat(900), _gradient(900)):
            for preset in ("ffmpeg", "ffmpeg71", "livepeer", "exact"):
                m = compare(sig, sig, preset=preset)
                print(preset, m.code, m.low_information)
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 8 and all(line.endswith(" 0 True") for line in lines), r.stdout


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_low_information_flag(preset) -> None:
    rng = np.random.default_rng(7)
    content = vsig.compute(rng.integers(0, 256, (60, 64, 64), dtype=np.uint8))
    assert content.confidence.min() >= 1
    m = compare(content, content, preset=preset)
    assert not m.low_information and (m.code == 2 or preset == "ffmpeg71")  # 7.1 misses aligned clips (B1)
    assert compare(_flat(60), _flat(60), preset=preset).low_information
    assert compare(content, _gradient(60), preset=preset).low_information
    # the limit, both sides: content in exactly half the frames is too little, one frame more is enough
    half = np.concatenate([rng.integers(0, 256, (30, 64, 64), dtype=np.uint8), np.full((30, 64, 64), 9, np.uint8)])
    more = half.copy()
    more[30] = rng.integers(0, 256, (64, 64), dtype=np.uint8)
    s_half, s_more = vsig.compute(half), vsig.compute(more)
    assert np.count_nonzero(s_half.confidence) == LOW_INFORMATION_SHARE * 60
    assert np.count_nonzero(s_more.confidence) == LOW_INFORMATION_SHARE * 60 + 1
    assert compare(s_half, s_half, preset=preset).low_information
    assert not compare(s_more, s_more, preset=preset).low_information
