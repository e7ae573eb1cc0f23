"""The detector's per-block evidence loop (numba): one pass over the aligned frames' profile bytes.

numpy needs ~30 array passes and a sort per median for this (about 15 ms per 60-frame pair); every quantity here
is an integer difference of profile bytes, so the medians come from counting histograms (exactly numpy's median
of the same integers) and the texture medians from a 1/128-step histogram of the log spread ratios. The constants
are passed in from lpcore.verify.detect, which documents them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_LR_STEPS = 128        # histogram resolution of log spread ratios (per unit)
_LR_RANGE = 8.0        # |log ratio| <= log(261/6) < 4: the histogram covers [-8, 8)
_LR_BINS = int(2 * _LR_RANGE * _LR_STEPS)


@njit(cache=True, nogil=True)
def _hist_median(hist, offset, n):
    """Median of n integers given as counts hist[v + offset]: the mean of the two middle values, like numpy."""
    lo_rank, hi_rank = (n - 1) // 2, n // 2
    seen = 0
    lo = hi = -1
    for i in range(hist.shape[0]):
        seen += hist[i]
        if lo < 0 and seen > lo_rank:
            lo = i
        if seen > hi_rank:
            hi = i
            break
    return 0.5 * (lo + hi) - offset


@njit(cache=True, nogil=True, inline="always")
def _grad_flat(row, base, b, side):
    """Largest absolute step from cell b of the side x side map stored row-major at row[base:] to its 4
    neighbours."""
    v = np.float32(row[base + b])
    r, c = b // side, b % side
    g = np.float32(0.0)
    if c > 0:
        g = max(g, abs(v - np.float32(row[base + b - 1])))
    if c + 1 < side:
        g = max(g, abs(v - np.float32(row[base + b + 1])))
    if r > 0:
        g = max(g, abs(v - np.float32(row[base + b - side])))
    if r + 1 < side:
        g = max(g, abs(v - np.float32(row[base + b + side])))
    return g


@njit(cache=True, nogil=True, inline="always")
def _box3_max_flat(e, out):
    """out = 3x3 neighbourhood mean of the row-major 32x32 map e (edges replicated); returns its maximum."""
    tmp = np.empty(1024, np.float32)
    for b in range(1024):
        c = b % 32
        a = e[b - 1] if c > 0 else e[b]
        d = e[b + 1] if c < 31 else e[b]
        tmp[b] = a + e[b] + d
    m = np.float32(0.0)
    for b in range(1024):
        a = tmp[b - 32] if b >= 32 else tmp[b]
        d = tmp[b + 32] if b < 992 else tmp[b]
        v = (a + tmp[b] + d) / np.float32(9.0)
        out[b] = v
        if v > m:
            m = v
    return m


@njit(cache=True, nogil=True)
def local_evidence(R, C, gi, gj, noise_y, noise_c, spread, spread_bins, t_persist, t_frames):
    """Evidence of the aligned frame pairs (gi[t], gj[t]).

    R, C: the reference's and candidate's (N, 2560) profile bytes (C-contiguous rows: ymean, yspread, umean,
    vmean, row-major maps). noise_y = (Y0, YS, YG), noise_c = (C0, CS, CG), spread = (EPS, NOISE_S, GAIN, MIN);
    spread_bins: reference-spread bin edges; t_persist/t_frames: thresholds of (luma, texture, colour).
    Returns (g_y, g_c, persist (3, 32, 32) / t_persist, per-frame maxima (3, K) / t_frames); the persistent
    maps are the frame-averaged maps' 3x3 neighbourhood means, the per-frame maxima those of each frame."""
    k = gi.shape[0]
    e = np.empty((3, k, 1024), np.float32)
    lr = np.empty((k, 1024), np.float32)
    lrbin = np.empty((k, 1024), np.int32)
    hist = np.zeros(511, np.int32)
    hist_a = np.zeros(256, np.int32)
    nb = spread_bins.shape[0] + 1
    lr_hist = np.zeros((nb, _LR_BINS), np.int32)
    bin_of = np.empty(256, np.int32)
    for s in range(256):
        b = 0
        while b < spread_bins.shape[0] and s >= spread_bins[b]:
            b += 1
        bin_of[s] = b
    log_lut = np.empty(256, np.float32)
    for v in range(256):
        log_lut[v] = np.float32(np.log(np.float64(v) + spread[0]))
    g_y = 0.0
    g_c = 0.0
    for t in range(k):
        rr = R[gi[t]]
        cc = C[gj[t]]
        hist[:] = 0
        hist_a[:] = 0
        for b in range(1024):
            d = np.int32(cc[b]) - np.int32(rr[b])
            hist[d + 255] += 1
            hist_a[abs(d)] += 1
        med = np.float32(_hist_median(hist, 255, 1024))
        g_y += _hist_median(hist_a, 0, 1024)
        meds = np.zeros(2, np.float32)
        for plane in range(2):
            base = 2048 + 256 * plane
            hist[:] = 0
            hist_a[:] = 0
            for b in range(256):
                d = np.int32(cc[base + b]) - np.int32(rr[base + b])
                hist[d + 255] += 1
                hist_a[abs(d)] += 1
            meds[plane] = _hist_median(hist, 255, 256)
            g_c += _hist_median(hist_a, 0, 256)
        for b in range(1024):
            rs_b = rr[1024 + b]
            cs_b = cc[1024 + b]
            tex = np.float32(max(rs_b, cs_b))
            d = np.float32(np.int32(cc[b]) - np.int32(rr[b])) - med
            e[0, t, b] = abs(d) / (noise_y[0] + noise_y[1] * tex + noise_y[2] * _grad_flat(rr, 0, b, 32))
            x = log_lut[cs_b] - log_lut[rs_b]
            lr[t, b] = x
            bn = bin_of[rs_b]
            lrbin[t, b] = bn
            q = int((x + _LR_RANGE) * _LR_STEPS)
            lr_hist[bn, min(max(q, 0), _LR_BINS - 1)] += 1
        for j in range(256):
            r, c = j // 16, j % 16
            tex16 = np.float32(0.0)
            for dr in range(2):
                for dc in range(2):
                    bb = 1024 + (2 * r + dr) * 32 + 2 * c + dc
                    tex16 = max(tex16, np.float32(rr[bb]), np.float32(cc[bb]))
            du = abs(np.float32(np.int32(cc[2048 + j]) - np.int32(rr[2048 + j])) - meds[0])
            dv = abs(np.float32(np.int32(cc[2304 + j]) - np.int32(rr[2304 + j])) - meds[1])
            grad = _grad_flat(rr, 2048, j, 16) + _grad_flat(rr, 2304, j, 16)
            ev = (du + dv) / (noise_c[0] + noise_c[1] * tex16 + noise_c[2] * grad)
            for dr in range(2):
                for dc in range(2):
                    e[2, t, (2 * r + dr) * 32 + 2 * c + dc] = ev
    med_b = np.zeros(nb, np.float32)
    scale_b = np.ones(nb, np.float32)
    dev_hist = np.zeros(_LR_BINS, np.int32)
    for b in range(nb):
        n = 0
        for q in range(_LR_BINS):
            n += lr_hist[b, q]
        if n == 0:
            continue
        mq = _hist_median(lr_hist[b], 0, n)
        med_b[b] = np.float32((mq + 0.5) / _LR_STEPS - _LR_RANGE)
        dev_hist[:] = 0
        for q in range(_LR_BINS):
            if lr_hist[b, q]:
                dq = int(abs(q - mq))
                dev_hist[min(dq, _LR_BINS - 1)] += lr_hist[b, q]
        mad = np.float32(_hist_median(dev_hist, 0, n) / _LR_STEPS)
        scale_b[b] = np.float32(spread[1]) + np.float32(1.4826) * mad
    for t in range(k):
        rr = R[gi[t]]
        cc = C[gj[t]]
        for b in range(1024):
            tex = max(np.float32(rr[1024 + b]), np.float32(cc[1024 + b]))
            if tex < spread[3]:
                e[1, t, b] = 0.0
                continue
            bn = lrbin[t, b]
            res = lr[t, b] - med_b[bn]
            z = -res if res < 0 else np.float32(spread[2]) * res
            e[1, t, b] = z / scale_b[bn]
    persist = np.empty((3, 1024), np.float32)
    frames = np.empty((3, k), np.float32)
    mean = np.empty(1024, np.float32)
    box = np.empty(1024, np.float32)
    for kind in range(3):
        mean[:] = 0.0
        for t in range(k):
            for b in range(1024):
                mean[b] += e[kind, t, b]
            frames[kind, t] = _box3_max_flat(e[kind, t], box) / t_frames[kind]
        for b in range(1024):
            mean[b] /= k
        _box3_max_flat(mean, box)
        for b in range(1024):
            persist[kind, b] = box[b] / t_persist[kind]
    return g_y / k, g_c / k, persist.reshape(3, 32, 32), frames
