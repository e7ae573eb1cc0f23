"""Verification profiles on a real GPU (marked `gpu`; skipped without CuPy and a CUDA device): the CUDA profile
and signature equal the CPU's byte for byte. Without a GPU the same kernels run under the host emulation in
test_profile.py."""

from __future__ import annotations

import numpy as np
import pytest

from lpcore.vsig import cuda as vsig_cuda
from lpcore.vsig.profile import compute_profile

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not vsig_cuda.available(), reason="needs CuPy and a CUDA device")]

SIZES = [(32, 32, 4), (33, 35, 4), (160, 90, 6), (427, 241, 4), (1000, 562, 2), (1920, 1080, 4), (1919, 1081, 2),
         (3840, 2160, 2), (5121, 2887, 1)]


def _planes(n, h, w, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 256, (n, h, w), dtype=np.uint8)
    y[1::3] = (np.add.outer(np.arange(h), 3 * np.arange(w)) % 251).astype(np.uint8)
    hc, wc = max(16, (h + 1) // 2), max(16, (w + 1) // 2)
    u = rng.integers(0, 256, (n, hc, wc), dtype=np.uint8)
    v = rng.integers(100, 160, (n, hc, wc), dtype=np.uint8)
    return y, u, v


@pytest.mark.parametrize("w,h,n", SIZES, ids=[f"{w}x{h}" for w, h, _ in SIZES])
def test_cuda_profile_equals_cpu(w, h, n):
    y, u, v = _planes(n, h, w, w * 31 + h)
    want = compute_profile(y, u, v, device="cpu")
    assert compute_profile(y, u, v, device="cuda") == want


def test_cuda_profile_from_device_arrays_with_strides():
    import cupy

    y, u, v = _planes(5, 241, 427, 7)
    want = compute_profile(y[::-1], u[::-1], v[::-1], device="cpu")
    dev = [cupy.asarray(a)[::-1] for a in (y, u, v)]
    assert compute_profile(*dev, device="cuda") == want
