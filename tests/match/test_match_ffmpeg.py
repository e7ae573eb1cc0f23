"""The "ffmpeg" preset against Debian FFmpeg's own two-input lookup on the .bin files FFmpeg wrote."""

from __future__ import annotations

import pytest

from lpcore.vsig import VideoSignature, compare

from tests.match.oracle import PAIRS, needs_ffmpeg

pytestmark = needs_ffmpeg


def _sig(path):
    return VideoSignature.from_binary(path.read_bytes())


@pytest.mark.parametrize("pair", PAIRS, ids=[f"{a}-{b}{x.replace(':', '-')}" for a, b, x in PAIRS])
def test_ffmpeg_preset_equals_ffmpeg_verdict(verdicts, pair):
    v = verdicts[pair]
    m = compare(_sig(v.sig_a), _sig(v.sig_b), preset="ffmpeg", **v.options)
    if v.code == -1:  # FFmpeg crashed: bug B2 (flat video, or th_it rejecting every candidate)
        assert m.reference_crash and m.code == 0
        return
    assert not m.reference_crash
    assert m.code == v.code
    if v.code:
        assert f"{m.time_a:f}" == v.time_a
        assert f"{m.time_b:f}" == v.time_b
        assert m.matchframes == v.matchframes


def test_oracle_covers_every_outcome(verdicts):
    codes = {v.code for v in verdicts.values()}
    assert codes == {-1, 0, 1, 2}


def test_ffmpeg71_misses_aligned_clips(verdicts):
    """spec §7 B1: with the Q16 Jaccard, FFmpeg >= 7.1 reports no match for identical clips, re-encodes
    and a 10-frame shift (its offset-0 votes are never read)."""
    for pair in [("ref", "ref", ""), ("ref", "lowq", ""), ("ref", "shifted", "")]:
        v = verdicts[pair]
        assert compare(_sig(v.sig_a), _sig(v.sig_b), preset="ffmpeg71").code == 0


EXACT_EXPECTED = {  # content-preserving pairs match whole; other content and flat video do not
    ("ref", "ref"): 2, ("ref", "lowq"): 2, ("ref", "rescaled"): 2, ("ref", "shifted"): 2, ("ref", "partial"): 2,
    ("ref", "halfrate"): 2, ("ref", "different"): 0, ("ref", "blur"): 2, ("flat", "flat"): 0, ("short", "short"): 2,
}


@pytest.mark.parametrize("pair", sorted(EXACT_EXPECTED))
def test_exact_preset_outcomes_and_symmetry(verdicts, pair):
    v = verdicts[(*pair, "")]
    a, b = _sig(v.sig_a), _sig(v.sig_b)
    ab, ba = compare(a, b, preset="exact"), compare(b, a, preset="exact")
    assert ab.code == ba.code == EXACT_EXPECTED[pair]
    assert not ab.reference_crash
    # both calls choose from the same two lookups by the same key
    assert (ab.matchframes, ab.meandist) == (ba.matchframes, ba.meandist)
