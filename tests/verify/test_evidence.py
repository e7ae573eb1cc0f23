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
