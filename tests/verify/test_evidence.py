"""Kernels of lpcore.verify._evidence against plain numpy on random inputs (the detector's tests cover what the
kernels mean; these pin how they compute it)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")

from numba import njit  # noqa: E402

from lpcore.verify import _evidence  # noqa: E402


@njit(cache=False)
def _medians_of(d, n, hist, hist4):
    lo, hi = d[:n].min(), d[:n].max()
    return _evidence._medians(d, n, lo, hi, hist, hist4)


@pytest.mark.parametrize("n", [4, 256, 1024])
def test_medians_match_numpy_on_both_paths(n):
    """_medians takes the counting path when the middle values lie within +-4 and the histogram otherwise; both
    must give numpy's median of d and of |d| (the mean of the two middle values), and leave the histograms
    zeroed for the next frame."""
    rng = np.random.default_rng(n)
    hist, hist4 = np.zeros(511, np.int32), np.zeros(4 * 511, np.int32)
    paths = {"window": 0, "histogram": 0}
    for _ in range(3000):
        centre = rng.uniform(-7, 7)
        scale = rng.choice([0.3, 1.0, 2.0, 4.0, 30.0])
        d = np.clip(np.round(rng.normal(centre, scale, n)), -255, 255).astype(np.int16)   # (as local_evidence)
        if rng.random() < 0.2:                      # outliers: a region that changed a lot
            d[rng.integers(0, n, max(1, n // 4))] = rng.integers(-255, 256)
        got = _medians_of(d, n, hist, hist4)
        assert got == (np.median(d), np.median(np.abs(d)))
        assert not hist.any() and not hist4.any()
        low, high = np.sort(d)[[(n - 1) // 2, n // 2]]
        a_high = np.sort(np.abs(d))[n // 2]
        paths["window" if -4 <= low and high <= 4 and a_high <= 4 else "histogram"] += 1
    assert min(paths.values()) > 100, paths   # both paths were exercised


def _profiles(rng, n, static=0.0):
    """Random profile bytes (n, 2560) and a candidate: near copies, noisy copies or unrelated bytes; `static` of
    the reference's luma blocks keep one value over time (the motion rule's still blocks)."""
    r = rng.integers(0, 256, (n, 2560)).astype(np.uint8)
    if static:
        still = rng.random(1024) < static
        r[:, :1024][:, still] = r[0, :1024][still]
    mode = rng.integers(0, 3)
    if mode == 0:
        c = np.clip(r.astype(int) + rng.integers(-3, 4, r.shape), 0, 255).astype(np.uint8)
    elif mode == 1:
        c = np.clip(r.astype(int) + rng.integers(-20, 21, r.shape), 0, 255).astype(np.uint8)
    else:
        c = rng.integers(0, 256, (n, 2560)).astype(np.uint8)
    return r, c


def test_coarse_descriptor_is_numpy_means_of_cells():
    rng = np.random.default_rng(11)
    for n in (1, 7, 60):
        d = rng.integers(0, 256, (n, 2560)).astype(np.uint8)
        y = d[:, :1024].reshape(n, 8, 4, 8, 4).mean(axis=(2, 4), dtype=np.float32).reshape(n, 64)
        u = d[:, 2048:2304].reshape(n, 4, 4, 4, 4).mean(axis=(2, 4), dtype=np.float32).reshape(n, 16)
        v = d[:, 2304:].reshape(n, 4, 4, 4, 4).mean(axis=(2, 4), dtype=np.float32).reshape(n, 16)
        assert np.array_equal(_evidence.coarse_descriptor(d), np.concatenate([y, u, v], axis=1))


def _geometry_numpy(r, c, gi, gj, zooms, n_frames):
    """geometry's four quantities in plain numpy (its zoom: the same float32/float64 operations per cell; the sums
    in numpy's order, so those agree to rounding, the integer ones exactly)."""
    k = len(gi)
    if k > n_frames:
        sel = np.array([i * (k - 1) // (n_frames - 1) for i in range(n_frames)])
        gi, gj, k = gi[sel], gj[sel], n_frames
    R = r[gi, :1024].reshape(k, 32, 32).astype(np.int64)
    C = c[gj, :1024].reshape(k, 32, 32).astype(np.int64)
    d_id = np.abs(C - R).sum() / (k * 1024.0)
    sm = np.abs(4 * C[:, :31, :31] - (R[:, :31, :31] + R[:, 1:, :31] + R[:, :31, 1:] + R[:, 1:, 1:])).sum()
    d_sm = sm / 4.0 / (k * 961.0)
    flips = [np.abs(C - R[:, :, ::-1]).sum(), np.abs(C - R[:, ::-1, :]).sum(), np.abs(C - (255 - R)).sum()]
    d_flip = min(flips) / (k * 1024.0)
    rf = R.astype(np.float32)
    best = np.inf
    for z in zooms:
        i = np.arange(32)
        p = (((i + 0.5) / 32.0 - 0.5) * z + 0.5) * 32.0 - 0.5
        f = np.floor(p)
        a0 = np.clip(f.astype(int), 0, 31)
        a1 = np.minimum(a0 + 1, 31)
        w = (p - f).astype(np.float32)
        cz = rf[:, :, a0] * (1 - w.astype(np.float64)) + rf[:, :, a1] * w          # columns, then rows
        zm = cz[:, a0, :] * (1 - w.astype(np.float64))[:, None] + cz[:, a1, :] * w.astype(np.float64)[:, None]
        best = min(best, np.abs(C.astype(np.float32).astype(np.float64) - zm).sum())
    return d_id, d_sm, d_flip, best / (k * 1024.0)


def test_geometry_matches_numpy():
    """geometry's identity, smoothed, mirror/negation and zoom fits (its flat integer sums, mirrored copies and
    zooms over their centre rows) against the plain numpy computation."""
    from lpcore.verify.detect import GEOM_FRAMES, GEOM_ZOOMS

    rng = np.random.default_rng(12)
    for _ in range(60):
        n = int(rng.integers(1, 30))
        r, c = _profiles(rng, n)
        k = int(rng.integers(1, n + 1))
        gi = np.sort(rng.choice(n, k, replace=False)).astype(np.int64)
        got = _evidence.geometry(r, c, gi, gi.copy(), GEOM_ZOOMS, GEOM_FRAMES)
        want = _geometry_numpy(r, c, gi, gi.copy(), GEOM_ZOOMS, GEOM_FRAMES)
        assert got[:3] == pytest.approx(want[:3], rel=0, abs=0)
        assert got[3] == pytest.approx(want[3], rel=1e-12)


def test_motion_rule_only_where_the_whole_neighbourhood_moves():
    """residual_evidence's motion map is 0 at every block with a still reference block among its 3x3 neighbours
    (edges clipped), and the plain per-block evidence elsewhere; its maximum is the map's (from 0)."""
    from lpcore.verify import detect as D

    rng = np.random.default_rng(13)
    mixed = 0
    for _ in range(40):
        n = int(rng.integers(D.MOTION_FRAMES, 30))
        r, c = _profiles(rng, n, static=rng.uniform(0.05, 0.6))
        c[:, :1024] = np.clip(r[:, :1024].astype(int) + rng.integers(-2, 3, (n, 1024)), 0, 255)
        y, x, h, w = (int(v) for v in rng.integers(0, 24, 4))
        patch = c[:, :1024].reshape(n, 32, 32)          # a region painted over with its own motion
        patch[:, y:y + h // 2 + 2, x:x + w // 2 + 2] = rng.integers(0, 256, patch[:, y:y + h // 2 + 2,
                                                                               x:x + w // 2 + 2].shape)
        gi = np.arange(n, dtype=np.int64)
        g = _evidence.grad_maps(r)
        ev, m_max, _, _, _ = _evidence.residual_evidence(
            r, c, g, gi, gi.copy(), D.MOTION_VAR, D.TINT_K, D.TINT_EDGE, D.MOTION_T, D.MOTION_REL, D.MOTION_EPS,
            D.MOTION_FRAMES, D.MOTION_MIN_VAR, 1e12)   # (the tint threshold out of reach: its share < 1e-9)
        moving = r[:, :1024].astype(np.float64).var(axis=0).reshape(32, 32) >= D.MOTION_MIN_VAR
        padded = np.pad(moving, 1, constant_values=True)
        whole = np.ones((32, 32), bool)
        for a in range(3):
            for b in range(3):
                whole &= padded[a:a + 32, b:b + 32]
        assert (ev[~whole] < 1e-6).all()
        assert m_max == pytest.approx(max(0.0, ev[whole].max(initial=0.0)), abs=1e-6)
        mixed += 0 < whole.sum() < 1024 and (ev[whole] > 1e-3).any()
    assert mixed > 10   # maps with both kinds of block, and motion evidence, were exercised


def test_aligned_frames():
    rng = np.random.default_rng(14)
    for _ in range(200):
        n = int(rng.integers(1, 20))
        anom, frozen = rng.random(n) < 0.3, rng.random(n) < 0.2
        i0, off = int(rng.integers(0, 5)), int(rng.integers(-4, 5))
        good, gi, gj = _evidence.aligned_frames(anom, frozen, i0, off)
        want = ~(anom | frozen)
        if not want.any():
            want[:] = True
        assert np.array_equal(good, want)
        assert np.array_equal(gi, np.flatnonzero(want) + i0) and gi.dtype == np.int64
        assert np.array_equal(gj, gi + off)


def _edge_model(R, frames, step, flat, k, eps, smin):
    """edge_blocks from its definition, in numpy (float32 means, as numpy's float32 mean of the bytes)."""
    m = R[frames, :1024].astype(np.float32).mean(0, dtype=np.float32).reshape(32, 32)
    sp = R[frames, 1024:2048].astype(np.float32).mean(0, dtype=np.float32).reshape(32, 32)
    e = np.zeros((32, 32), bool)
    e[:, 1:] |= np.abs(np.diff(m, axis=1)) > step
    e[:, :-1] |= np.abs(np.diff(m, axis=1)) > step
    e[1:] |= np.abs(np.diff(m, axis=0)) > step
    e[:-1] |= np.abs(np.diff(m, axis=0)) > step
    tex = sp >= smin
    v = (sp[:-2] < flat) & (sp[2:] < flat) & (sp[1:-1] <= k * np.abs(m[2:] - m[:-2]) + eps)
    h = (sp[:, :-2] < flat) & (sp[:, 2:] < flat) & (sp[:, 1:-1] <= k * np.abs(m[:, 2:] - m[:, :-2]) + eps)
    e[1:-1] |= v & tex[1:-1]
    e[:, 1:-1] |= h & tex[:, 1:-1]
    p = np.pad(e, 1)
    return np.logical_or.reduce([p[1 + dr:33 + dr, 1 + dc:33 + dc] for dr in (-1, 0, 1) for dc in (-1, 0, 1)])


def test_edge_blocks_steps_between_and_inside_blocks():
    """A sharp step between neighbouring block means, and one inside a block (its spread what a step between the
    flat blocks across it gives): both edge blocks, dilated by one block; textured neighbours or a spread beyond
    the step's are not. Against the numpy model on random maps too."""
    params = np.array([24.0, 4.0, 1.1, 2.0, 10.0], np.float32)
    R = np.zeros((2, 2560), np.uint8)
    lum = R[:, :1024].reshape(2, 32, 32)
    spr = R[:, 1024:2048].reshape(2, 32, 32)
    lum[:, :16], lum[:, 16], lum[:, 17:] = 50, 62, 74     # 12-level steps either side of row 16, 24 across it
    spr[:, 16, :10] = 24                                  # columns 0-9: one step inside the block
    spr[:, 15, 10:20] = 20                                # columns 10-19: textured blocks above
    spr[:, 16, 10:20] = 24
    spr[:, 16, 20:] = 40                                  # columns 20-31: more texture than the step gives
    frames = np.arange(2)
    e = _evidence.edge_blocks(R, frames, params)
    assert e[15:18, :9].all() and not e[:14].any() and not e[19:].any()
    assert not e[:, 11:19].any() and not e[:, 21:].any()
    off = params.copy()
    off[1] = 0.0                                          # nothing is flat: the step inside goes unseen
    assert not _evidence.edge_blocks(R, frames, off).any()
    lum[:, 20:] = 110                                     # a 36-level step between rows 19 and 20
    e = _evidence.edge_blocks(R, frames, params)
    assert e[18:22].all()
    rng = np.random.default_rng(3)
    only_inside = 0
    for _ in range(20):   # terraced luma (small steps, a few sharp ones), mostly flat blocks
        R = np.zeros((3, 2560), np.uint8)
        R[:, :1024] = (np.cumsum(rng.integers(0, 2, (32, 32)), 0).ravel() * 3)[None] % 200 + \
            rng.integers(0, 2, (3, 1024))
        R[:, 1024:2048] = np.where(rng.random((3, 1024)) < 0.7, rng.integers(0, 4, (3, 1024)),
                                   rng.integers(8, 30, (3, 1024)))
        fr = np.sort(rng.choice(3, rng.integers(1, 4), replace=False))
        e = _evidence.edge_blocks(R, fr, params)
        assert np.array_equal(e, _edge_model(R, fr, *params))
        only_inside += int((e & ~_evidence.edge_blocks(R, fr, off)).sum())
    assert only_inside > 100   # (the maps exercise the test inside blocks)
