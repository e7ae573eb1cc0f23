"""Quirks and fixes on synthetic signatures whose answer is known by construction."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from lpcore.vsig import compare

WORD_ELEMENTS = [(210, 217, 219, 274, 334), (44, 175, 233, 270, 273), (57, 70, 103, 237, 269),
                 (100, 285, 295, 337, 354), (101, 102, 111, 275, 296)]


def make_sig(framesig: np.ndarray, confidence: int | np.ndarray = 100) -> SimpleNamespace:
    """A signature with consistent words and coarse segments (spec §2.4, §3) around given frame signatures."""
    n = len(framesig)
    trits = np.zeros((n, 380), np.int64)
    v = framesig.astype(np.int64)
    for m in range(4, -1, -1):
        trits[:, m::5] = v % 3
        v //= 3
    words = np.stack([(trits[:, list(e)] * [81, 27, 9, 3, 1]).sum(1) for e in WORD_ELEMENTS], 1).astype(np.uint8)
    s = (n + 44) // 45
    bags = np.zeros((s, 5, 31), np.uint8)
    for k in range(s):
        for f in range(45 * k, min(45 * k + 90, n)):
            for i in range(5):
                bags[k, i, words[f, i] >> 3] |= 1 << (7 - (words[f, i] & 7))
    conf = np.broadcast_to(np.asarray(confidence, np.uint8), (n,)).copy()
    return SimpleNamespace(framesig=np.ascontiguousarray(framesig, np.uint8), confidence=conf, words=words,
                           bags=bags, seg_first=np.arange(s, dtype=np.int64) * 45, pts=np.arange(n, dtype=np.uint64),
                           time_base=(1, 30))


def frames(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 243, (n, 76), dtype=np.uint8)


def test_b1_short_identical_clips():
    """spec §7 B1: identical unique-frame clips of 40 frames give no match upstream (offset 0 is never read),
    48 frames do (via the coarse pair shifted by 45); Livepeer's nearbyint and exact match both."""
    for n, upstream in ((40, 0), (47, 0), (48, 2)):
        s = make_sig(frames(n, n))
        assert compare(s, s, preset="ffmpeg").code == upstream
        assert compare(s, s, preset="livepeer").code == 2
        m = compare(s, s, preset="exact")
        assert (m.code, m.start_a, m.start_b, m.matchframes, m.meandist) == (2, 0, 0, n, 0.0)


def test_positive_offset_only_exact():
    """b repeats a with 3 extra leading frames (b delayed): votes go to offset +3, which only exact reads."""
    a = frames(40, 1)
    b = np.concatenate([frames(3, 99), a])
    sa, sb = make_sig(a), make_sig(b)
    assert compare(sa, sb, preset="ffmpeg").code == 0
    assert compare(sa, sb, preset="livepeer").code == 0
    m = compare(sa, sb, preset="exact")
    assert (m.code, m.start_a, m.start_b, m.matchframes) == (2, 0, 3, 40)
    r = compare(sb, sa, preset="exact")  # symmetric
    assert (r.code, r.start_a, r.start_b, r.matchframes) == (2, 3, 0, 40)


def test_exact_needs_half_good_frames():
    """A rendition with only its first third right fails exact (th_it 0.5 of the alignment) but passes
    Livepeer as a partial match; with th_it lowered, exact accepts it too."""
    a = frames(60, 5)
    b = np.concatenate([a[:20], frames(40, 6)])
    sa, sb = make_sig(a), make_sig(b)
    assert compare(sa, sb, preset="livepeer").code == 1
    assert compare(sa, sb, preset="exact").code == 0
    assert compare(sa, sb, preset="exact", th_it=0.3).code == 2
    b2 = np.concatenate([a[:40], frames(20, 7)])
    assert compare(sa, make_sig(b2), preset="exact").code == 2


def test_flat_video_never_crashes():
    flat = make_sig(np.full((60, 76), 121, np.uint8), confidence=0)  # all trits 1, confidence 0
    m = compare(flat, flat, preset="ffmpeg")
    assert m.reference_crash and m.code == 0  # FFmpeg SIGSEGVs here (B2)
    for preset in ("livepeer", "exact", "ffmpeg71"):
        m = compare(flat, flat, preset=preset)
        assert m.code == 0 and not (preset == "livepeer" and m.reference_crash)


def test_half_frame_rate():
    a = frames(90, 11)
    sa, sb = make_sig(a), make_sig(a[::2])
    m = compare(sb, sa, preset="exact")  # b has two frames per frame of a
    assert m.code == 2 and m.framerate_ratio == 2.0 and (m.start_a, m.start_b) == (0, 0)
    m2 = compare(sa, sb, preset="exact")
    assert m2.code == 2 and m2.framerate_ratio == 0.5 and m2.orientation == "ba"


@pytest.mark.parametrize("preset", ["ffmpeg", "ffmpeg71", "livepeer", "exact"])
def test_unrelated_never_match(preset):
    assert compare(make_sig(frames(100, 20)), make_sig(frames(100, 21)), preset=preset).code == 0


def test_fast_mode_and_th_di():
    a = frames(120, 30)
    s = make_sig(a)
    assert compare(s, s, preset="ffmpeg", mode="fast").code == 2
    m = compare(s, s, preset="ffmpeg", th_di=50)
    assert m.code == 1 and m.matchframes == 50  # the walk stops once th_di frames are found
    assert compare(s, s, preset="exact", th_di=500).code == 0
