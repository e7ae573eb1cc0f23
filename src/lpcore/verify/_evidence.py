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
def _gradient(a, r, c, rows, cols):
    """Largest absolute step from cell (r, c) of the 2-D map a to its 4 neighbours."""
    v = np.float32(a[r, c])
    g = np.float32(0.0)
    if c > 0:
        g = max(g, abs(v - np.float32(a[r, c - 1])))
    if c + 1 < cols:
        g = max(g, abs(v - np.float32(a[r, c + 1])))
    if r > 0:
        g = max(g, abs(v - np.float32(a[r - 1, c])))
    if r + 1 < rows:
        g = max(g, abs(v - np.float32(a[r + 1, c])))
    return g


@njit(cache=True, nogil=True, inline="always")
def _box3_max(e, out, tmp):
    """out = 3x3 neighbourhood mean of the 32x32 map e (edges replicated; tmp: scratch); returns its maximum."""
    for r in range(32):
        for c in range(32):
            a = e[r, c - 1] if c > 0 else e[r, c]
            b = e[r, c + 1] if c < 31 else e[r, c]
            tmp[r, c] = a + e[r, c] + b
    m = np.float32(0.0)
    for r in range(32):
        for c in range(32):
            a = tmp[r - 1, c] if r > 0 else tmp[r, c]
            b = tmp[r + 1, c] if r < 31 else tmp[r, c]
            v = (a + tmp[r, c] + b) / np.float32(9.0)
            out[r, c] = v
            if v > m:
                m = v
    return m


@njit(cache=True, nogil=True)
def local_evidence(rY, rS, rU, rV, cY, cS, cU, cV, gi, gj, noise_y, noise_c, spread, spread_bins,
                   t_persist, t_frames):
    """Evidence of the aligned frame pairs (gi[t], gj[t]).

    rY/rS/cY/cS: (N, 32, 32) uint8 luma means/spreads of reference/candidate; rU/rV/cU/cV: (N, 16, 16) chroma
    means. noise_y = (Y0, YS, YG), noise_c = (C0, CS, CG), spread = (EPS, NOISE_S, GAIN, MIN);
    spread_bins: reference-spread bin edges; t_persist/t_frames: thresholds of (luma, texture, colour).
    Returns (g_y, g_c, persist (3, 32, 32) / t_persist, per-frame maxima (3, K) / t_frames)."""
    k = gi.shape[0]
    e = np.empty((3, k, 32, 32), np.float32)
    lr = np.empty((k, 32, 32), np.float32)
    lrbin = np.empty((k, 32, 32), np.int32)
    hist = np.zeros(511, np.int32)
    hist_a = np.zeros(256, np.int32)
    chist = np.zeros(511, np.int32)
    chist_a = np.zeros(256, np.int32)
    nb = spread_bins.shape[0] + 1
    lr_hist = np.zeros((nb, _LR_BINS), np.int32)
    bin_of = np.empty(256, np.int32)
    for s in range(256):
        b = 0
        while b < spread_bins.shape[0] and s >= spread_bins[b]:
            b += 1
        bin_of[s] = b
    g_y = 0.0
    g_c = 0.0
    log_lut = np.empty(256, np.float32)   # log(spread + EPS): the log ratio is a difference of two look-ups
    for v in range(256):
        log_lut[v] = np.float32(np.log(np.float64(v) + spread[0]))
    for t in range(k):
        i, j = gi[t], gj[t]
        hist[:] = 0
        hist_a[:] = 0
        for r in range(32):
            for c in range(32):
                d = np.int32(cY[j, r, c]) - np.int32(rY[i, r, c])
                hist[d + 255] += 1
                hist_a[abs(d)] += 1
        med = _hist_median(hist, 255, 1024)
        g_y += _hist_median(hist_a, 0, 1024)
        med_u = 0.0
        med_v = 0.0
        ga = 0.0
        for plane in range(2):
            chist[:] = 0
            chist_a[:] = 0
            for r in range(16):
                for c in range(16):
                    if plane == 0:
                        d = np.int32(cU[j, r, c]) - np.int32(rU[i, r, c])
                    else:
                        d = np.int32(cV[j, r, c]) - np.int32(rV[i, r, c])
                    chist[d + 255] += 1
                    chist_a[abs(d)] += 1
            if plane == 0:
                med_u = _hist_median(chist, 255, 256)
            else:
                med_v = _hist_median(chist, 255, 256)
            ga += _hist_median(chist_a, 0, 256)
        g_c += ga
        ryi, rui, rvi = rY[i], rU[i], rV[i]
        for r in range(32):
            for c in range(32):
                rs_b = rS[i, r, c]
                cs_b = cS[j, r, c]
                tex = np.float32(max(rs_b, cs_b))
                d = np.float32(np.int32(cY[j, r, c]) - np.int32(ryi[r, c])) - np.float32(med)
                e[0, t, r, c] = abs(d) / (noise_y[0] + noise_y[1] * tex + noise_y[2] * _gradient(ryi, r, c, 32, 32))
                x = log_lut[cs_b]  - log_lut[rs_b]
                lr[t, r, c] = x
                b = bin_of[rs_b]
                lrbin[t, r, c] = b
                q = int((x + _LR_RANGE) * _LR_STEPS)
                lr_hist[b, min(max(q, 0), _LR_BINS - 1)] += 1
        for r in range(16):
            for c in range(16):
                tex16 = np.float32(0.0)
                for dr in range(2):
                    for dc in range(2):
                        tex16 = max(tex16, np.float32(rS[i, 2 * r + dr, 2 * c + dc]),
                                    np.float32(cS[j, 2 * r + dr, 2 * c + dc]))
                du = abs(np.float32(np.int32(cU[j, r, c]) - np.int32(rU[i, r, c])) - np.float32(med_u))
                dv = abs(np.float32(np.int32(cV[j, r, c]) - np.int32(rV[i, r, c])) - np.float32(med_v))
                grad = _gradient(rui, r, c, 16, 16) + _gradient(rvi, r, c, 16, 16)
                ev = (du + dv) / (noise_c[0] + noise_c[1] * tex16 + noise_c[2] * grad)
                for dr in range(2):
                    for dc in range(2):
                        e[2, t, 2 * r + dr, 2 * c + dc] = ev
    # texture: per reference-spread bin, median and MAD of the log ratios (histograms), then one-sided z
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
        m = np.float32((mq + 0.5) / _LR_STEPS - _LR_RANGE)
        med_b[b] = m
        dev_hist[:] = 0
        for q in range(_LR_BINS):
            if lr_hist[b, q]:
                dq = int(abs(q - mq))
                dev_hist[min(dq, _LR_BINS - 1)] += lr_hist[b, q]
        mad = np.float32(_hist_median(dev_hist, 0, n) / _LR_STEPS)
        scale_b[b] = np.float32(spread[1]) + np.float32(1.4826) * mad
    for t in range(k):
        i, j = gi[t], gj[t]
        for r in range(32):
            for c in range(32):
                tex = max(np.float32(rS[i, r, c]), np.float32(cS[j, r, c]))
                if tex < spread[3]:
                    e[1, t, r, c] = 0.0
                    continue
                b = lrbin[t, r, c]
                res = lr[t, r, c] - med_b[b]
                z = -res if res < 0 else np.float32(spread[2]) * res
                e[1, t, r, c] = z / scale_b[b]
    persist = np.empty((3, 32, 32), np.float32)
    frames = np.empty((3, k), np.float32)
    mean = np.empty((32, 32), np.float32)
    box = np.empty((32, 32), np.float32)
    tmp = np.empty((32, 32), np.float32)
    for kind in range(3):
        mean[:, :] = 0.0
        for t in range(k):
            for r in range(32):
                for c in range(32):
                    mean[r, c] += e[kind, t, r, c]
            frames[kind, t] = _box3_max(e[kind, t], box, tmp) / t_frames[kind]
        for r in range(32):
            for c in range(32):
                mean[r, c] /= k
        _box3_max(mean, box, tmp)
        for r in range(32):
            for c in range(32):
                persist[kind, r, c] = box[r, c] / t_persist[kind]
    return g_y / k, g_c / k, persist, frames
