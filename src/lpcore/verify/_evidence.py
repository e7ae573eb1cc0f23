"""The detector's numba kernels over profile bytes: the per-block evidence loop (one pass over the aligned
frames), the residual statistics, frame distances, temporal rules, geometry and the summaries.

numpy needs ~30 array passes and a sort per median for this (about 15 ms per 60-frame pair); every quantity here
is an integer difference of profile bytes, so the medians come from counting histograms (exactly numpy's median
of the same integers) and the texture medians from a 1/128-step histogram of the log spread ratios. The constants
are passed in from lpcore.verify.detect, which documents them.

Speed (the detector's budget is ~0.5 ms per 60-frame pair; on one core here local_evidence takes ~0.26 ms and
geometry ~0.08 ms of the whole ~0.49 ms): the luma and colour maps of a frame are finished, boxed and accumulated
while its bytes are in cache, so only the texture ratios (which need every frame's texture medians first) are kept
for a second pass. The loops are shaped for LLVM's vectoriser: error_model="numpy" (no zero-division branches), one
kind of work per loop (table look-ups, which stay scalar, apart from the arithmetic), flat loops or contiguous row
slices instead of r * side + c indexing (which numba leaves scalar), unsigned histogram indices (no negative-index
wrap-around), box maxima without building the boxed map (a max reduction on the int32 bits of the non-negative
sums), colour maps kept at 16x16, histograms counted into 4 interleaved copies. What is left is mostly scalar:
histogram increments and table look-ups. Every output is bit-identical to the plain per-block loops these replaced
(same arithmetic, and each float32 or float64 sum in the same order, or an integer sum where the float sum was
exact).
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


@njit(cache=True, nogil=True)
def _abs_median(hist, n):
    """Median of |v| over the n integers counted in hist[v + 255] (the signed histogram): as _hist_median of the
    histogram of |v|, without building it."""
    lo_rank, hi_rank = (n - 1) // 2, n // 2
    seen = hist[255]
    lo = hi = -1
    if seen > lo_rank:
        lo = 0
    if seen > hi_rank:
        return 0.0
    for a in range(1, 256):
        seen += hist[255 + a] + hist[255 - a]
        if lo < 0 and seen > lo_rank:
            lo = a
        if seen > hi_rank:
            hi = a
            break
    return 0.5 * (lo + hi)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _diffs(rr, cc, base, n, d):
    """d[i] = cc[base + i] - rr[base + i] (into int16: differences of bytes fit); returns their (min, max), which
    bound the histogram cells the medians touch (min/max reductions over integers vectorise; the 511-cell scans
    and re-zeroing did not)."""
    lo = np.int32(255)
    hi = np.int32(-255)
    for i in range(n):
        v = np.int32(cc[base + i]) - np.int32(rr[base + i])
        d[i] = v
        lo = min(lo, v)
        hi = max(hi, v)
    return lo, hi


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _le_counts(d, n):
    """F(v) = #{i < n: d[i] <= v} for v = -5 .. 4 (d int16, n <= 32 767), as a tuple of int32 (F(-5), ..., F(4)).
    One pass of compares and adds into ten counters, which LLVM keeps in vector registers: ~12x faster than
    counting into a histogram. The counters are int16 (each count <= n), cast back at every step so that numba
    does not widen them: LLVM then compares and adds 16-bit lanes, twice as many per instruction as int32 and
    without widening the compares (3x faster than int32 counters on 1 024 differences)."""
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = c8 = c9 = np.int16(0)
    for i in range(n):
        x = d[i]
        c0 = np.int16(c0 + np.int16(x <= -5))
        c1 = np.int16(c1 + np.int16(x <= -4))
        c2 = np.int16(c2 + np.int16(x <= -3))
        c3 = np.int16(c3 + np.int16(x <= -2))
        c4 = np.int16(c4 + np.int16(x <= -1))
        c5 = np.int16(c5 + np.int16(x <= 0))
        c6 = np.int16(c6 + np.int16(x <= 1))
        c7 = np.int16(c7 + np.int16(x <= 2))
        c8 = np.int16(c8 + np.int16(x <= 3))
        c9 = np.int16(c9 + np.int16(x <= 4))
    return (np.int32(c0), np.int32(c1), np.int32(c2), np.int32(c3), np.int32(c4), np.int32(c5), np.int32(c6),
            np.int32(c7), np.int32(c8), np.int32(c9))


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _medians(d, n, lo, hi, hist, hist4):
    """(median of d[:n], median of |d[:n]|), exactly as _hist_median/_abs_median of the signed histogram of d.

    Block differences of aligned frames are mostly within a few levels, so the middle values are first looked
    for in the counts F(v) = #{d <= v} of v = -5 .. 4 (_le_counts): the two middle values of d lie in [-4, 4]
    when F(-5) <= (n - 1) // 2 and F(4) > n // 2, and those of |d| in [0, 4] when #{|d| <= 4} = F(4) - F(-5)
    > n // 2; each is then the least v whose count exceeds its rank, as the histogram scan finds it. Otherwise
    the histogram: hist (511 cells, value v at v + 255) and hist4 (4 interleaved copies: 4 * (v + 255) + i % 4)
    are all zero on entry and are left so; only cells lo..hi are touched. n is a multiple of 4. Counting into 4
    copies breaks the chains of increments of one cell (~10 % faster than one)."""
    f0, f1, f2, f3, f4, f5, f6, f7, f8, f9 = _le_counts(d, n)
    r0, r1 = (n - 1) // 2, n // 2
    if f0 <= r0 and f9 > r1 and f9 - f0 > r1:
        # F is non-decreasing, so the least v whose count exceeds r is -5 + #{v: F(v) <= r}; the same for
        # #{|d| <= a} = F(a) - F(-a - 1), from a = 0 (branch-free sums of compares)
        a_lo = (np.int32(f1 <= r0) + np.int32(f2 <= r0) + np.int32(f3 <= r0) + np.int32(f4 <= r0)
                + np.int32(f5 <= r0) + np.int32(f6 <= r0) + np.int32(f7 <= r0) + np.int32(f8 <= r0) - 4)
        a_hi = (np.int32(f1 <= r1) + np.int32(f2 <= r1) + np.int32(f3 <= r1) + np.int32(f4 <= r1)
                + np.int32(f5 <= r1) + np.int32(f6 <= r1) + np.int32(f7 <= r1) + np.int32(f8 <= r1) - 4)
        g0, g1, g2, g3 = f5 - f4, f6 - f3, f7 - f2, f8 - f1
        b_lo = np.int32(g0 <= r0) + np.int32(g1 <= r0) + np.int32(g2 <= r0) + np.int32(g3 <= r0)
        b_hi = np.int32(g0 <= r1) + np.int32(g1 <= r1) + np.int32(g2 <= r1) + np.int32(g3 <= r1)
        return 0.5 * (a_lo + a_hi), 0.5 * (b_lo + b_hi)
    return _hist_medians(d, n, lo, hi, hist, hist4)


@njit(cache=True, nogil=True, error_model="numpy")
def _hist_medians(d, n, lo, hi, hist, hist4):
    """_medians by the histogram (see there); a call of its own, so that the hot loop stays small."""
    for i in range(0, n, 4):           # (unsigned indices: no negative-index wrap-around code)
        hist4[np.uint32(4 * (d[i] + 255))] += 1
        hist4[np.uint32(4 * (d[i + 1] + 255) + 1)] += 1
        hist4[np.uint32(4 * (d[i + 2] + 255) + 2)] += 1
        hist4[np.uint32(4 * (d[i + 3] + 255) + 3)] += 1
    for i in range(lo + 255, hi + 256):
        hist[i] = hist4[4 * i] + hist4[4 * i + 1] + hist4[4 * i + 2] + hist4[4 * i + 3]
    for i in range(4 * (lo + 255), 4 * (hi + 256)):
        hist4[i] = 0
    med = _hist_median(hist[lo + 255:hi + 256], -lo, n)   # cell j of the slice holds the value lo + j
    amed = _abs_median(hist, n)
    for i in range(lo + 255, hi + 256):
        hist[i] = 0
    return med, amed


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _grad_map(row, base, side, hp, vp, g):
    """g[b] = largest absolute step from cell b of the side x side map at row[base:] to its 4 neighbours (side a
    power of two), all uint8 (steps of bytes fit).

    Branch-free, so that LLVM vectorises it, and in byte lanes (|a - b| as max - min of the bytes, cast back to
    uint8 at once so that numba does not widen it: 2x faster than int32 lanes): hp[i + 1] is the step from cell
    i to its right neighbour (0 at a row's last cell, and hp[0] = 0), vp[i + side] the step from cell i to the
    cell below (0 beyond the edges); a cell's steps are then hp[i], hp[i + 1], vp[i], vp[i + side]. The same
    maxima as a per-cell loop."""
    n = side * side
    zero = np.uint8(0)
    hp[0] = 0
    for i in range(n - 1):
        a = row[base + i + 1]
        b = row[base + i]
        d = np.uint8(max(a, b) - min(a, b))
        hp[i + 1] = d if (i & (side - 1)) != side - 1 else zero
    hp[n] = 0
    for i in range(side):
        vp[i] = 0
        vp[n + i] = 0
    for i in range(n - side):
        a = row[base + i + side]
        b = row[base + i]
        vp[i + side] = np.uint8(max(a, b) - min(a, b))
    for i in range(n):
        g[i] = max(max(hp[i], hp[i + 1]), max(vp[i], vp[i + side]))


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _row_sums(e, tmp):
    """tmp = the horizontal 3-sums of the row-major 32x32 map e (edges replicated): one flat loop over the whole
    map, then the 64 row-end cells redone. A loop per row (30 cells) LLVM leaves scalar, ~10x slower."""
    for b in range(1, 1023):
        tmp[b] = e[b - 1] + e[b] + e[b + 1]
    for r in range(32):
        o = r * 32
        tmp[o] = e[o] + e[o] + e[o + 1]
        tmp[o + 31] = e[o + 30] + e[o + 31] + e[o + 31]


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _box3_max(e, tmp, s):
    """The maximum of _box3(e, ...) without writing the map: the 3x3 sums in the same order, one division at the
    end (division by 9 is monotonic, so max(x / 9) == max(x) / 9 exactly). The sums are >= 0, whose float32 bit
    patterns order like int32, so the maximum is an integer reduction over s viewed as int32 (LLVM vectorises
    that; a float max reduction it does not, without fast-math)."""
    _row_sums(e, tmp)
    for b in range(32):
        s[b] = tmp[b] + tmp[b] + tmp[b + 32]
    for b in range(32, 992):
        s[b] = tmp[b - 32] + tmp[b] + tmp[b + 32]
    for b in range(992, 1024):
        s[b] = tmp[b - 32] + tmp[b] + tmp[b]
    return _bits_max9(s)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _bits_max9(s):
    """max(0, max(s)) / 9 for the 1024 sums s >= 0 (overwrites s[0])."""
    si = s.view(np.int32)
    m = np.int32(0)                  # the bits of +0.0: the maximum starts at 0, as _box3's
    for b in range(1024):
        m = max(m, si[b])
    si[0] = m
    return s[0] / np.float32(9.0)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _box3_max16(E, ha, hb, s):
    """_box3_max of the 32x32 map that repeats each cell of the 16x16 map E over 2x2 blocks, without building it.

    Its horizontal 3-sums at columns 2m and 2m + 1 are ha[m] = (E[m - 1] + E[m]) + E[m] and
    hb[m] = (E[m] + E[m]) + E[m + 1] (edges replicated: the same sums, in the same order, as _row_sums makes of
    the repeated map), the same for both rows of a block; the vertical 3-sums of a row map T at rows 2n and
    2n + 1 are likewise (T[n - 1] + T[n]) + T[n] and (T[n] + T[n]) + T[n + 1]. The four combinations, into s,
    are exactly the repeated map's 3x3 sums."""
    for j in range(1, 256):
        ha[j] = E[j - 1] + E[j] + E[j]
    for j in range(255):
        hb[j] = E[j] + E[j] + E[j + 1]
    for r in range(16):
        o = r * 16
        ha[o] = E[o] + E[o] + E[o]
        hb[o + 15] = E[o + 15] + E[o + 15] + E[o + 15]
    for h in range(2):
        T = ha if h == 0 else hb
        up = 512 * h          # s[up:up + 256]: rows 2n; s[up + 256:up + 512]: rows 2n + 1
        for j in range(16):
            s[up + j] = T[j] + T[j] + T[j]
        for j in range(16, 256):
            s[up + j] = T[j - 16] + T[j] + T[j]
        for j in range(240):
            s[up + 256 + j] = T[j] + T[j] + T[j + 16]
        for j in range(240, 256):
            s[up + 256 + j] = T[j] + T[j] + T[j]
    return _bits_max9(s)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _any3x3(e, tmp, out):
    """out[b] = OR of the 0/1 uint8 map e (row-major 32x32) over cell b's 3x3 neighbourhood, clipped at the
    edges (replicating an edge cell adds no other cell, so it is the same): ORs of 3 within rows, then of 3
    rows, in flat loops that LLVM vectorises (the row-end cells redone, as _row_sums does); tmp: 1024 uint8."""
    for b in range(1, 1023):
        tmp[b] = e[b - 1] | e[b] | e[b + 1]
    for r in range(32):
        o = r * 32
        tmp[o] = e[o] | e[o + 1]
        tmp[o + 31] = e[o + 30] | e[o + 31]
    for b in range(32):
        out[b] = tmp[b] | tmp[b + 32]
    for b in range(32, 992):
        out[b] = tmp[b - 32] | tmp[b] | tmp[b + 32]
    for b in range(992, 1024):
        out[b] = tmp[b - 32] | tmp[b]


@njit(cache=True, nogil=True, inline="always")
def _box3(e, tmp, out):
    """The 3x3 neighbourhood mean of the row-major 32x32 map e (edges replicated), into out. Row by row without
    index tests (except the row ends), so that LLVM vectorises it."""
    _row_sums(e, tmp)
    nine = np.float32(9.0)
    for b in range(32):
        out[b] = (tmp[b] + tmp[b] + tmp[b + 32]) / nine
    for b in range(32, 992):
        out[b] = (tmp[b - 32] + tmp[b] + tmp[b + 32]) / nine
    for b in range(992, 1024):
        out[b] = (tmp[b - 32] + tmp[b] + tmp[b]) / nine


@njit(cache=True, nogil=True, error_model="numpy")
def grad_maps(D):
    """Per frame of the profile bytes D (N, 2560): the largest step of each block mean to its 4 neighbours, of
    the 32x32 luma map, then the 16x16 U and V maps: (N, 1536) uint8 (steps of bytes fit). local_evidence's
    noise model reads them for the reference frames."""
    n = D.shape[0]
    out = np.empty((n, 1536), np.uint8)
    hp = np.empty(1025, np.uint8)
    vp = np.empty(1024 + 32, np.uint8)
    for t in range(n):
        row = D[t]
        o = out[t]
        _grad_map(row, 0, 32, hp, vp, o[:1024])
        _grad_map(row, 2048, 16, hp, vp, o[1024:1280])
        _grad_map(row, 2304, 16, hp, vp, o[1280:])
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def local_evidence(R, C, G, gi, gj, noise_y, noise_c, spread, spread_bins, t_persist, t_frames):
    """Evidence of the aligned frame pairs (gi[t], gj[t]).

    G: the reference's grad_maps (they depend on it alone, so the detector keeps them with the profile).
    R, C: the reference's and candidate's (N, 2560) profile bytes (C-contiguous rows: ymean, yspread, umean,
    vmean, row-major maps). noise_y = (Y0, YS, YG), noise_c = (C0, CS, CG), spread = (EPS, NOISE_S, GAIN, MIN);
    spread_bins: reference-spread bin edges; t_persist/t_frames: thresholds of (luma, texture, colour).
    Returns (g_y, g_c, persist (4, 32, 32) / t_persist, per-frame maxima (3, K) / t_frames, g_s); the persistent
    maps are the frame-averaged maps' 3x3 neighbourhood means, the per-frame maxima those of each frame; g_s is
    the median log spread ratio (candidate / reference, at the histogram's resolution) of the textured blocks
    (either spread >= MIN) of all frames: how much texture the rendition kept overall.
    persist[3] is the texture map of texture lost only (gains count 0), on the texture threshold: the detector's
    contrast rule reads it, since a scaler's aliasing can add texture locally where no edit removed any."""
    k = gi.shape[0]
    if k == 0:
        raise ZeroDivisionError("division by zero")   # what the checked division below used to raise
    lr = np.empty((k, 1024), np.float32)
    hist = np.zeros(511, np.int32)
    hist4 = np.zeros(4 * 511, np.int32)
    nb = spread_bins.shape[0] + 1
    lr_hist = np.zeros((nb, _LR_BINS), np.int32)
    q_lo, q_hi = _LR_BINS, -1      # the range of log-ratio cells used, over all bins
    bin_of = np.empty(256, np.int32)
    bin_off = np.empty(256, np.uint32)   # offset of the bin's row in lr_hist: unsigned indices skip numba's
    for s in range(256):                 # negative-index wrap-around (~1/3 of the scatter's time)
        b = 0
        while b < spread_bins.shape[0] and s >= spread_bins[b]:
            b += 1
        bin_of[s] = b
        bin_off[s] = b * _LR_BINS
    # counted into 4 interleaved copies (cell 4 x (bin offset + q) + b % 4): neighbouring blocks mostly fall into
    # the same cell, and 4 copies break the chains of increments of one memory cell; summed after the loop
    lr_hist4 = np.zeros(4 * nb * _LR_BINS, np.int32)
    tex_hist4 = np.zeros(4 * _LR_BINS, np.int32)   # log ratios of the textured blocks, all reference spreads
                                                   # (4 interleaved copies, as lr_hist4)
    smin_i = np.int32(spread[3])               # (spreads are integers: >= MIN as integers, MIN an integer)
    log_lut = np.empty(256, np.float32)
    for v in range(256):
        log_lut[v] = np.float32(np.log(np.float64(v) + spread[0]))
    dy = np.empty(1024, np.int16)     # (block differences: int16, for _le_counts' 16-bit lanes)
    du = np.empty(256, np.int16)
    dv = np.empty(256, np.int16)
    txi = np.empty(1024, np.int32)
    qi = np.empty(1024, np.int32)
    e = np.empty(1024, np.float32)
    hm = np.empty(512, np.int32)
    t16 = np.empty(256, np.int32)
    ha = np.empty(256, np.float32)
    hb = np.empty(256, np.float32)
    ev16 = np.empty(256, np.float32)
    tmp = np.empty(1024, np.float32)
    box = np.empty(1024, np.float32)
    mean = np.zeros((4, 1024), np.float32)
    mean_c = np.zeros(256, np.float32)   # the colour map's 16x16 cells (each fills 2x2 blocks of mean[2])
    frames = np.empty((3, k), np.float32)
    smin = np.float32(spread[3])
    y0, ys, yg = np.float32(noise_y[0]), np.float32(noise_y[1]), np.float32(noise_y[2])
    c0, cs, cg = np.float32(noise_c[0]), np.float32(noise_c[1]), np.float32(noise_c[2])
    g_y = 0.0
    g_c = 0.0
    for t in range(k):
        rr = R[gi[t]]
        cc = C[gj[t]]
        lo, hi = _diffs(rr, cc, 0, 1024, dy)
        m, a = _medians(dy, 1024, lo, hi, hist, hist4)
        med = np.float32(m)
        g_y += a
        lo, hi = _diffs(rr, cc, 2048, 256, du)
        m, a = _medians(du, 256, lo, hi, hist, hist4)
        med_u = np.float32(m)
        g_c += a
        lo, hi = _diffs(rr, cc, 2304, 256, dv)
        m, a = _medians(dv, 256, lo, hi, hist, hist4)
        med_v = np.float32(m)
        g_c += a
        gy = G[gi[t], :1024]
        gu = G[gi[t], 1024:1280]
        gv = G[gi[t], 1280:]
        # split by kind of work: LLVM vectorises the arithmetic loops only if no table look-up is in them
        for b in range(1024):
            ti = max(np.int32(rr[1024 + b]), np.int32(cc[1024 + b]))
            txi[b] = ti
            d = np.float32(dy[b]) - med
            e[b] = abs(d) / (y0 + ys * np.float32(ti) + yg * np.float32(gy[b]))
        lrt = lr[t]
        for b in range(1024):
            lrt[b] = log_lut[cc[1024 + b]] - log_lut[rr[1024 + b]]
        for b in range(1024):
            # (lr + 8) * 128 in float64 as before; its truncation fits int32 (|lr| < 4)
            q = min(max(np.int32((lrt[b] + _LR_RANGE) * _LR_STEPS), 0), _LR_BINS - 1)
            q_lo = min(q_lo, q)
            q_hi = max(q_hi, q)
            qi[b] = q
        for b in range(0, 1024, 4):
            q0, q1, q2, q3 = np.uint32(qi[b]), np.uint32(qi[b + 1]), np.uint32(qi[b + 2]), np.uint32(qi[b + 3])
            lr_hist4[np.uint32(4) * (bin_off[rr[1024 + b]] + q0)] += 1
            lr_hist4[np.uint32(4) * (bin_off[rr[1025 + b]] + q1) + np.uint32(1)] += 1
            lr_hist4[np.uint32(4) * (bin_off[rr[1026 + b]] + q2) + np.uint32(2)] += 1
            lr_hist4[np.uint32(4) * (bin_off[rr[1027 + b]] + q3) + np.uint32(3)] += 1
            tex_hist4[np.uint32(4) * q0] += np.int32(txi[b] >= smin_i)
            tex_hist4[np.uint32(4) * q1 + np.uint32(1)] += np.int32(txi[b + 1] >= smin_i)
            tex_hist4[np.uint32(4) * q2 + np.uint32(2)] += np.int32(txi[b + 2] >= smin_i)
            tex_hist4[np.uint32(4) * q3 + np.uint32(3)] += np.int32(txi[b + 3] >= smin_i)
        # the larger spread of the 2x2 luma blocks under each colour cell: pairs of columns, then of rows
        for i in range(512):
            hm[i] = max(txi[2 * i], txi[2 * i + 1])
        for r in range(16):            # (row slices: LLVM vectorises these short loops, not r * 16 + c ones)
            src = hm[r * 32:r * 32 + 32]
            dst = t16[r * 16:r * 16 + 16]
            for c in range(16):
                dst[c] = max(src[c], src[16 + c])
        for j in range(256):
            tex16 = np.float32(t16[j])
            eu = abs(np.float32(du[j]) - med_u)
            evv = abs(np.float32(dv[j]) - med_v)
            grad = np.float32(gu[j]) + np.float32(gv[j])
            ev16[j] = (eu + evv) / (c0 + cs * tex16 + cg * grad)
        for j in range(256):
            mean_c[j] += ev16[j]
        for b in range(1024):
            mean[0, b] += e[b]
        frames[0, t] = _box3_max(e, tmp, box) / t_frames[0]
        frames[2, t] = _box3_max16(ev16, ha, hb, box) / t_frames[2]
    for r in range(16):
        for c in range(16):
            v = mean_c[r * 16 + c]
            b0 = r * 64 + c * 2
            mean[2, b0] = v
            mean[2, b0 + 1] = v
            mean[2, b0 + 32] = v
            mean[2, b0 + 33] = v
    for b in range(nb):
        for q in range(q_lo, q_hi + 1):
            c = 4 * (b * _LR_BINS + q)
            lr_hist[b, q] = lr_hist4[c] + lr_hist4[c + 1] + lr_hist4[c + 2] + lr_hist4[c + 3]
    med_b = np.zeros(nb, np.float32)
    scale_b = np.ones(nb, np.float32)
    dev_hist = np.zeros(_LR_BINS, np.int32)
    for b in range(nb):
        lo, hi = q_lo, q_hi + 1
        n = 0
        for q in range(lo, hi):
            n += lr_hist[b, q]
        if n == 0:
            continue
        mq = _hist_median(lr_hist[b, lo:hi], -lo, n)
        med_b[b] = np.float32((mq + 0.5) / _LR_STEPS - _LR_RANGE)
        dmax = 0
        for q in range(lo, hi):
            if lr_hist[b, q]:
                dq = min(int(abs(q - mq)), _LR_BINS - 1)
                dev_hist[dq] += lr_hist[b, q]
                dmax = max(dmax, dq)
        mad = np.float32(_hist_median(dev_hist[:dmax + 1], 0, n) / _LR_STEPS)
        dev_hist[:dmax + 1] = 0
        scale_b[b] = np.float32(spread[1]) + np.float32(1.4826) * mad
    gain = np.float32(spread[2])
    zero = np.float32(0.0)
    res_b = np.empty(1024, np.float32)
    scl = np.empty(1024, np.float32)
    med_s = np.empty(256, np.float32)      # the bin's median and scale by reference spread: one look-up each
    scale_s = np.empty(256, np.float32)
    for v in range(256):
        med_s[v] = med_b[bin_of[v]]
        scale_s[v] = scale_b[bin_of[v]]
    for t in range(k):
        rr = R[gi[t]]
        cc = C[gj[t]]
        lrt = lr[t]
        # the look-ups alone (scalar), then the division vectorised (a scalar division per block dominated)
        for b in range(1024):
            rs_b = rr[1024 + b]
            res_b[b] = lrt[b] - med_s[rs_b]
            scl[b] = scale_s[rs_b]
        for b in range(1024):
            res = res_b[b]
            z = -res if res < 0 else gain * res
            textured = np.float32(max(np.int32(rr[1024 + b]), np.int32(cc[1024 + b]))) >= smin
            e[b] = z / scl[b] if textured else zero
            mean[3, b] += e[b] if res < 0 else zero   # texture lost only: then z = -res, the same quotient
        for b in range(1024):
            mean[1, b] += e[b]
        frames[1, t] = _box3_max(e, tmp, box) / t_frames[1]
    persist = np.empty((4, 1024), np.float32)
    for kind in range(4):
        for b in range(1024):
            mean[kind, b] /= k
        _box3(mean[kind], tmp, box)
        t_kind = t_persist[kind] if kind < 3 else t_persist[1]
        for b in range(1024):
            persist[kind, b] = box[b] / t_kind
    tex_hist = np.zeros(_LR_BINS, np.int32)
    n_tex = 0
    for q in range(q_lo, q_hi + 1):
        tex_hist[q] = tex_hist4[4 * q] + tex_hist4[4 * q + 1] + tex_hist4[4 * q + 2] + tex_hist4[4 * q + 3]
        n_tex += tex_hist[q]
    g_s = 0.0
    if n_tex:
        g_s = (_hist_median(tex_hist[q_lo:q_hi + 1], -q_lo, n_tex) + 0.5) / _LR_STEPS - _LR_RANGE
    return g_y / k, g_c / k, persist.reshape(4, 32, 32), frames, g_s


@njit(cache=True, nogil=True)
def diagonal_medians(dist, lo, hi, min_len):
    """For each offset o in [lo, hi]: the median of dist[i, i + o] over the frames both sides have (inf when
    fewer than min_len), as numpy's median of the same values. The alignment search's costs, in one call."""
    n, m = dist.shape
    band = np.empty((hi - lo + 1, n), dist.dtype)
    for o in range(lo, hi + 1):
        for i in range(max(0, -o), min(n, m - o)):
            band[o - lo, i] = dist[i, i + o]
    return _band_medians(band, lo, hi, n, m, min_len)


@njit(cache=True, nogil=True)
def _band_medians(band, lo, hi, n, m, min_len):
    """For each offset o in [lo, hi]: the median of band[o - lo, i] over the frames i that offset aligns
    (0 <= i < n, 0 <= i + o < m; inf when fewer than min_len), as numpy's median of the same values."""
    out = np.empty(hi - lo + 1)
    buf = np.empty(max(min(n, m), 1))
    for o in range(lo, hi + 1):
        i0, i1 = max(0, -o), min(n, m - o)
        if i1 - i0 < min_len:
            out[o - lo] = np.inf
            continue
        for i in range(i0, i1):
            buf[i - i0] = band[o - lo, i]
        out[o - lo] = np.median(buf[:i1 - i0])
    return out


_GEOM_LANES = 6        # zoom sums accumulated side by side (the detector searches 6 zooms)


@njit(cache=True, nogil=True, error_model="numpy")
def geometry(R, C, gi, gj, zooms, n_frames):
    """Mean |candidate - T(reference)| of the 32x32 luma block-mean maps over the aligned pairs (gi[t], gj[t]),
    for T = identity, identity smoothed over 2x2 blocks (what bilinear resampling does to the map; compared with
    zooms, so that a coarse encode of noise-like content does not look zoomed), mirror left-right, mirror
    top-bottom, negation (the least of the three), and centred zooms by each factor in zooms (the least).
    Returns (identity, smoothed identity, least mirror/negation, least zoom). Of more than n_frames (>= 2) pairs,
    n_frames spread evenly are used: pairs floor(i (k - 1) / (n_frames - 1)), as np.linspace(..).astype(int)
    picks them.

    Speed: the identity, mirror, negation and smoothed sums are of integers (or quarters), exact in any order,
    so they are integer reductions over the flat map (the mirrored maps copied first: a reversed index in the
    same loop kept LLVM from vectorising it). A zoom reads only the reference rows zi0[0] .. zi1[31] (its centre
    band), interpolated along the columns by table look-ups into row-major rows, which the row interpolation
    then reads contiguously (no transposed copies; the same expressions in the same order). Each zoom sum is
    one float64 chain of additions in (frame, row, column) order, whose latency bounds the time; the zoomed maps
    are built first and their sums advanced _GEOM_LANES at a time in registers (the zoom table padded with its
    last zoom), so the chains overlap and every sum keeps its order."""
    k = gi.shape[0]
    if k > n_frames:
        sel = np.empty(n_frames, np.int64)
        for i in range(n_frames):
            sel[i] = i * (k - 1) // (n_frames - 1)
        gi, gj, k = gi[sel], gj[sel], n_frames
    nz = zooms.shape[0]
    zi0 = np.empty((nz, 32), np.int64)
    zi1 = np.empty((nz, 32), np.int64)
    zw = np.empty((nz, 32), np.float32)
    for q in range(nz):
        for i in range(32):
            p = (((i + 0.5) / 32.0 - 0.5) * zooms[q] + 0.5) * 32.0 - 0.5
            f = np.floor(p)
            a = min(max(int(f), 0), 31)
            zi0[q, i] = a
            zi1[q, i] = min(a + 1, 31)
            zw[q, i] = np.float32(p - f)
    ng = (nz + _GEOM_LANES - 1) // _GEOM_LANES
    d_z = np.zeros(ng * _GEOM_LANES)
    rf = np.empty(1024, np.float32)
    ri32 = np.zeros(1056, np.int32)       # (padded: the smoothed term's last cell reads one beyond the map)
    ci32 = np.empty(1024, np.int32)
    rlr = np.empty(1024, np.int32)        # the reference mirrored left-right
    rtb = np.empty(1024, np.int32)        # ... and top-bottom
    s_int = np.zeros(5, np.int64)
    cz = np.empty((32, 32))
    zm = np.empty((ng * _GEOM_LANES, 1024))   # the zoomed maps
    for t in range(k):
        rr = R[gi[t]]
        cc = C[gj[t]]
        for b in range(1024):
            rf[b] = np.float32(rr[b])
            ri32[b] = rr[b]
            ci32[b] = cc[b]
        for i in range(32):
            src = ri32[i * 32:i * 32 + 32]
            d1 = rlr[i * 32:i * 32 + 32]
            d2 = rtb[(31 - i) * 32:(31 - i) * 32 + 32]
            for j in range(32):
                d1[j] = src[31 - j]
                d2[j] = src[j]
        # identity, mirrors and negation: |c - T(r)| of integers, and the smoothed one 4 x |c - mean of 2x2|, an
        # integer too (int32 per frame: at most 1 020 x 1 024); the smoothed term counts 0 where it is not defined
        # (the last row, and the last column: the mask)
        x0 = x1 = x2 = x3 = x4 = np.int32(0)
        for b in range(1024):
            c = ci32[b]
            v = ri32[b]
            x0 += abs(c - v)
            x1 += abs(c - rlr[b])
            x2 += abs(c - rtb[b])
            x3 += abs(c - (255 - v))
        for b in range(992):
            sm = abs(4 * ci32[b] - (ri32[b] + ri32[b + 32] + ri32[b + 1] + ri32[b + 33]))
            x4 += sm * np.int32((b & 31) != 31)
        s_int[0] += x0
        s_int[1] += x1
        s_int[2] += x2
        s_int[3] += x3
        s_int[4] += x4
        for slot in range(ng * _GEOM_LANES):
            q = min(slot, nz - 1)
            r_lo, r_hi = zi0[q, 0], zi1[q, 31]     # the reference rows this zoom reads
            for i in range(r_lo, r_hi + 1):      # row i of the column-interpolated map, from row i of r
                src = rf[i * 32:i * 32 + 32]
                dst = cz[i]
                for j in range(32):
                    wb = zw[q, j]
                    dst[j] = src[zi0[q, j]] * (1 - wb) + src[zi1[q, j]] * wb
            zq = zm[slot]
            for i in range(32):          # row i of the zoomed map from rows a0, a1 of cz
                a0, a1, wa = zi0[q, i], zi1[q, i], zw[q, i]
                s0 = cz[a0]
                s1 = cz[a1]
                dst = zq[i * 32:i * 32 + 32]
                for j in range(32):
                    dst[j] = s0[j] * (1 - wa) + s1[j] * wa
        for g in range(ng):
            o = g * _GEOM_LANES
            z0, z1, z2, z3, z4, z5 = zm[o], zm[o + 1], zm[o + 2], zm[o + 3], zm[o + 4], zm[o + 5]
            s0, s1, s2, s3, s4, s5 = d_z[o], d_z[o + 1], d_z[o + 2], d_z[o + 3], d_z[o + 4], d_z[o + 5]
            for b in range(1024):
                c = np.float32(cc[b])
                s0 += abs(c - z0[b])
                s1 += abs(c - z1[b])
                s2 += abs(c - z2[b])
                s3 += abs(c - z3[b])
                s4 += abs(c - z4[b])
                s5 += abs(c - z5[b])
            d_z[o], d_z[o + 1], d_z[o + 2], d_z[o + 3], d_z[o + 4], d_z[o + 5] = s0, s1, s2, s3, s4, s5
    n = max(k, 1) * 1024.0
    d_id, d_t0, d_t1, d_t2 = np.float64(s_int[0]), np.float64(s_int[1]), np.float64(s_int[2]), np.float64(s_int[3])
    d_sm = s_int[4] / 4.0
    return d_id / n, d_sm / (max(k, 1) * 961.0), min(d_t0, min(d_t1, d_t2)) / n, d_z[:nz].min() / n


@njit(cache=True, nogil=True)
def coarse_descriptor(D):
    """The alignment descriptor of every frame: 8x8 means of the 32x32 luma map and 4x4 means of each 16x16
    chroma map (profile bytes 0..1023, 2048..2303, 2304..2559), float32 (N, 96). Integer sums / 16, so exactly
    the float32 of numpy's means of the same 4x4 cells."""
    n = D.shape[0]
    out = np.empty((n, 96), np.float32)
    # flat loops LLVM vectorises: the sums of 4 consecutive bytes (luma 256, then u 64 and v 64), then each cell
    # from 4 of them in consecutive rows (integer sums: the same in any order; a cell by cell loop was 3x slower)
    s4 = np.empty(384, np.int32)
    acc = np.empty(96, np.int32)
    sixteen = np.float32(16.0)
    for t in range(n):
        row = D[t]
        for q in range(256):
            p = 4 * q
            s4[q] = np.int32(row[p]) + np.int32(row[p + 1]) + np.int32(row[p + 2]) + np.int32(row[p + 3])
        for q in range(128):
            p = 2048 + 4 * q
            s4[256 + q] = np.int32(row[p]) + np.int32(row[p + 1]) + np.int32(row[p + 2]) + np.int32(row[p + 3])
        for g in range(8):        # luma: a map row is 8 entries of s4, a cell row 4 map rows
            o = g * 32
            for c in range(8):
                acc[g * 8 + c] = s4[o + c] + s4[o + 8 + c] + s4[o + 16 + c] + s4[o + 24 + c]
        for g in range(8):        # u (cell rows 0-3), then v (4-7): a map row is 4 entries
            o = 256 + g * 16
            for c in range(4):
                acc[64 + g * 4 + c] = s4[o + c] + s4[o + 4 + c] + s4[o + 8 + c] + s4[o + 12 + c]
        o_t = out[t]
        for q in range(96):
            o_t[q] = np.float32(acc[q]) / sixteen
    return out


@njit(cache=True, nogil=True, error_model="numpy", fastmath=True)
def _rms(a, b, scale):
    """RMS difference of the float32 rows a and b (scale = 1 / their length): the one inner loop of every frame
    distance here, so that each distance is the same float32 sum in the same (vectorised) order wherever it is
    computed. On profile bytes the sum of squares is an integer, exact in float32 (in any order) below 2^24,
    i.e. for RMS differences below 128 levels; above that only the same loop gives the same rounding.
    fastmath (LLVM may reorder the float32 sum: vectorised) is on this function alone, not inlined by numba:
    the flags stay on its instructions, so its callers need none (they compare with inf and NaN, which
    fastmath assumes away)."""
    acc = np.float32(0.0)
    for k in range(a.shape[0]):
        d = a[k] - b[k]
        acc += d * d
    return np.sqrt(acc * scale)


@njit(cache=True, nogil=True, error_model="numpy")
def rms_distances(A, B):
    """RMS difference of every row of A (N, K) and every row of B (M, K), float32 (N, M): the detector's coarse
    frame distances. One thread, vectorised (_rms), and no BLAS thread pool: a batch runs many pairs side by
    side, and a 60x60 problem is too small to share."""
    n, m, kk = A.shape[0], B.shape[0], A.shape[1]
    a = np.empty((n, kk), np.float32)
    b = np.empty((m, kk), np.float32)
    for i in range(n):
        for k in range(kk):
            a[i, k] = A[i, k]
    for j in range(m):
        for k in range(kk):
            b[j, k] = B[j, k]
    out = np.empty((n, m), np.float32)
    scale = np.float32(1.0 / kk)
    for i in range(n):
        for j in range(m):
            out[i, j] = _rms(a[i], b[j], scale)
    return out


@njit(cache=True, nogil=True)
def luma_maps(D):
    """The 32x32 luma block means of every frame as float32 rows (N, 1024): the fine distances' operands."""
    n = D.shape[0]
    out = np.empty((n, 1024), np.float32)
    for t in range(n):
        for k in range(1024):
            out[t, k] = D[t, k]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def fine_diagonals(A, B, lo, hi, min_len):
    """RMS differences of the 32x32 luma maps A (N, 1024) and B (M, 1024) (float32, luma_maps) of the frame
    pairs (i, i + o) for the offsets o in [lo, hi], and each offset's median over them (inf when fewer than
    min_len), as diagonal_medians of the full distance matrix gives it: the alignment search reads only these
    diagonals, (hi - lo + 1) / M of the matrix. Returns (medians, band): band[o - lo, i] is the distance of
    pair (i, i + o) where both frames exist (elsewhere undefined); temporal_evidence reuses the chosen
    offset's row as the aligned pairs' fine distances."""
    n, m = A.shape[0], B.shape[0]
    w = hi - lo + 1
    band = np.empty((w, n), np.float32)
    scale = np.float32(1.0 / 1024)
    # frame by frame, all offsets at once: A[i] and the few B rows around it stay in L1 (offset by offset, two
    # 4 KB rows came from L2 per distance, 3x slower)
    for i in range(n):
        for o in range(max(lo, -i), min(hi, m - 1 - i) + 1):
            band[o - lo, i] = _rms(A[i], B[i + o], scale)
    return _band_medians(band, lo, hi, n, m, min_len), band


@njit(cache=True, nogil=True, error_model="numpy")
def fine_reorder(A, B, dr, dc, ri, cj, eps, ratio, own_in):
    """The fine reorder check's distances for the aligned pairs (ri[t], cj[t]) of the 32x32 luma maps A, B
    (float32, luma_maps): (own, far), float32 (len(ri),) each. own[t]: the pair's RMS difference; far[t]: the
    least one of candidate map cj[t] to a reference map >= 2 frames from ri[t], where it can matter, i.e.
    where (own + eps) / (far + eps) >= ratio is possible; elsewhere inf or some larger distance (either way
    the ratio stays below). own_in: the pairs' distances when already known (fine_diagonals' band row of this
    alignment: the same _rms of the same rows, so the same values), or an empty array to compute them. The full
    distance matrix's entries, at a fraction of its cost:

    most pairs are ruled out without reading the maps. The 4x4 cell means of the luma maps (the descriptors'
    first 64 entries, dr/dc: integer sums / 16, exact in float32) bound the RMS difference from below (the
    mean square over a cell is at least the square of the cell's mean difference), so only pairs whose bound is
    below the distance the ratio needs (with a margin against float32 rounding) are measured."""
    n, m = A.shape[0], B.shape[0]
    L = ri.shape[0]
    known = own_in.shape[0] == L
    own = own_in.copy() if known else np.empty(L, np.float32)
    far = np.full(L, np.inf, np.float32)
    scale = np.float32(1.0 / 1024)
    # the cell means x 16 are the integer cell sums: the bound's squares summed exactly in int32 (<= 64 x 4080^2),
    # a reduction LLVM vectorises (a float one it may not reorder)
    sr = np.empty((n, 64), np.int32)
    sc = np.empty((m, 64), np.int32)
    for i in range(n):
        for q in range(64):
            sr[i, q] = np.int32(dr[i, q] * np.float32(16.0))
    for j in range(m):
        for q in range(64):
            sc[j, q] = np.int32(dc[j, q] * np.float32(16.0))
    # a coarser bound first, from 2x2 groups of cells (16 sums): (a + b + c + d)^2 <= 4 (a^2 + b^2 + c^2 + d^2)
    # bounds the 64 cells' sum of squares from below by a quarter of the 16 groups'
    # (float64, exact for these integers; transposed: the bounds of one candidate frame to all reference frames
    # at once, vectorised over the reference frames)
    grT = np.empty((16, n))
    gc = np.empty((m, 16))
    for i in range(n):
        for q in range(16):
            o = (q >> 2) * 16 + (q & 3) * 2      # cells (2 gr, 2 gc), (2 gr, 2 gc + 1), the same one row below
            grT[q, i] = sr[i, o] + sr[i, o + 1] + sr[i, o + 8] + sr[i, o + 9]
    for j in range(m):
        for q in range(16):
            o = (q >> 2) * 16 + (q & 3) * 2
            gc[j, q] = sc[j, o] + sc[j, o + 1] + sc[j, o + 8] + sc[j, o + 9]
    lb4 = np.empty(n)
    for t in range(L):
        r, j = ri[t], cj[t]
        if not known:
            own[t] = _rms(A[r], B[j], scale)
        # the ratio is reached only if far + eps <= (own + eps) / ratio: that distance, with slack for rounding;
        # RMS >= bound = sqrt(sum of squared cell-sum differences / (16^2 x 64))
        need = max((np.float64(own[t]) + eps) / (ratio * (1.0 - 1e-4)) - eps, 0.0) + 1e-3
        need_sq = need * need * (256.0 * 64.0)
        best = np.float32(np.inf)
        scj = sc[j]
        lb4[:] = 0
        for q in range(16):
            g = gc[j, q]
            row = grT[q]
            for i in range(n):
                d4 = row[i] - g
                lb4[i] += d4 * d4
        for i in range(n):
            if abs(i - r) < 2 or lb4[i] > 4.0 * need_sq:
                continue
            sri = sr[i]
            lb = np.int32(0)
            for q in range(64):
                d = sri[q] - scj[q]
                lb += d * d
            if lb <= need_sq:
                best = min(best, _rms(A[i], B[j], scale))
        far[t] = best
    return own, far


@njit(cache=True, nogil=True, inline="always")
def _pairwise_mean(a):
    """np.mean of the float32 row a (8 < len <= 128), bit for bit: numpy's pairwise sum of that length (8
    float32 accumulators, combined as a tree, then the remainder in order), divided in float32."""
    n = a.shape[0]
    r0, r1, r2, r3, r4, r5, r6, r7 = a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]
    i = 8
    while i < n - n % 8:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[i]
        i += 1
    return res / np.float32(n)


@njit(cache=True, nogil=True, inline="always")
def _third_largest(x):
    """np.sort(x)[-3] (len(x) >= 3, no NaN)."""
    a = b = c = -np.inf          # a >= b >= c: the three largest so far
    for v in x:
        if v > c:
            if v > b:
                c = b
                if v > a:
                    b = a
                    a = v
                else:
                    b = v
            else:
                c = v
    return c


@njit(cache=True, nogil=True, error_model="numpy")
def temporal_evidence(dist, dr, dc, A, B, own, off, ratio, floor, reorder_ratio, reorder_floor, fine_ratio,
                      fine_eps, still, moving, n_temporal, n_reorder, n_freeze):
    """The detector's temporal evidence at alignment ``off`` (candidate index - reference index), in one pass
    over the aligned frames; lpcore.verify.detect documents the rules and constants (ratio/floor: TEMPORAL_*,
    reorder_*: REORDER_*, fine_*: FINE_REORDER/FINE_EPS, still/moving: FREEZE_*; n_temporal/n_reorder/n_freeze:
    the frames each rule needs, *_FRAMES). dist: coarse distances (N, M); dr/dc: descriptors; A/B: luma_maps;
    own: the aligned pairs' fine distances if known (fine_reorder's own_in), else empty.
    The aligned frames ri = i0..i1-1, cj = ri + off must number >= 1.

    Returns (t_scores float32 (L,): aligned distance / limit; anomalous (temporal anomalies, misplaced frames
    included); frozen; fine_scores float32 (zeros unless the fine rule fired); counts int64 [anomalous before
    the reorder rules, of them reordered, foreign, misplaced, fine-misplaced, frozen]; the temporal score).
    Bit for bit what the numpy code it replaced computed: float32 comparisons and quotients where numpy, with
    a Python float on the other side, took float32 (NEP 50), np.median/np.mean/np.sort/argmin semantics."""
    n, m = dist.shape
    i0, i1 = max(0, -off), min(n, m - off)
    L = i1 - i0
    d_al = np.empty(L, np.float32)
    buf = np.empty(L)
    for t in range(L):
        d_al[t] = dist[i0 + t, i0 + t + off]
        buf[t] = d_al[t]
    level = np.median(buf)
    limit = np.float32(max(ratio * level, floor))
    mis_limit = np.float32(max(ratio * level, reorder_floor))
    r32, rr32 = np.float32(ratio), np.float32(reorder_ratio)
    t_scores = np.empty(L, np.float32)
    anomalous = np.zeros(L, np.bool_)
    misplaced = np.zeros(L, np.bool_)
    counts = np.zeros(6, np.int64)
    for t in range(L):
        r, j = i0 + t, i0 + t + off
        d = d_al[t]
        t_scores[t] = d / limit
        best = 0                       # argmin over the column: its first least entry
        for i in range(1, n):
            if dist[i, j] < dist[best, j]:
                best = i
        d_best = dist[best, j]
        if d > limit:
            anomalous[t] = True
            counts[0] += 1
            if best != r and d_best * r32 < d:
                counts[1] += 1
            else:
                counts[2] += 1
        if d_best * rr32 < d and abs(best - r) >= 2 and d > mis_limit:
            misplaced[t] = True
            counts[3] += 1
    t_score = 0.0
    if counts[0] >= n_temporal:
        t_score = np.float64(_third_largest(t_scores))     # (n_temporal = 3: the third largest)
    if counts[3] >= n_reorder:
        t_score = max(t_score, counts[3] / n_reorder)
    # the same on the fine maps
    ri = np.arange(i0, i1)
    own, far = fine_reorder(A, B, dr, dc, ri, ri + off, fine_eps, fine_ratio, own)
    fr = np.empty(L, np.float32)
    fe, f32 = np.float32(fine_eps), np.float32(fine_ratio)
    for t in range(L):
        fr[t] = (own[t] + fe) / (far[t] + fe)
        if fr[t] >= f32:
            counts[4] += 1
    fine_scores = np.zeros(L, np.float32)
    if counts[4] >= n_reorder:
        for t in range(L):
            if fr[t] >= f32:
                fine_scores[t] = fr[t] / f32
                misplaced[t] = True
        t_score = max(t_score, np.float64(_third_largest(fr)) / fine_ratio)
    for t in range(L):
        anomalous[t] = anomalous[t] or misplaced[t]
    # freezes: the candidate repeats a frame while the reference keeps moving
    frozen = np.zeros(L, np.bool_)
    s32, m32 = np.float32(still), np.float32(moving)
    k = dr.shape[1]
    sq = np.empty(k, np.float32)
    for t in range(1, L):
        r, j = i0 + t, i0 + t + off
        for q in range(k):
            v = dc[j, q] - dc[j - 1, q]
            sq[q] = v * v
        c_step = np.sqrt(_pairwise_mean(sq))
        for q in range(k):
            v = dr[r, q] - dr[r - 1, q]
            sq[q] = v * v
        r_step = np.sqrt(_pairwise_mean(sq))
        if c_step < s32 and r_step > m32:
            frozen[t] = True
            counts[5] += 1
    if counts[5] >= n_freeze:
        t_score = max(t_score, counts[5] / n_freeze)
    return t_scores, anomalous, frozen, fine_scores, counts, t_score


@njit(cache=True, nogil=True)
def _select(a, lo, hi, k):
    """Rearranges a[lo:hi + 1] (no NaN) so that a[k] holds the value of rank k - lo there, with nothing larger
    before it and nothing smaller after it (quickselect, median-of-3 pivots), and returns it: np.partition's
    order statistic, in place, on one copy for several ranks."""
    while hi > lo:
        mid = (lo + hi) // 2
        if a[mid] < a[lo]:
            a[mid], a[lo] = a[lo], a[mid]
        if a[hi] < a[lo]:
            a[hi], a[lo] = a[lo], a[hi]
        if a[hi] < a[mid]:
            a[hi], a[mid] = a[mid], a[hi]
        pivot = a[mid]
        i, j = lo, hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    return a[k]


@njit(cache=True, nogil=True, inline="always")
def _median_select(a):
    """np.median of the float32 array a of even length (no NaN), in float32 (the mean of the two middle values),
    found by _select, which leaves a partitioned: a[:h] holds the smaller half, a[h] the value of rank h
    (h = len / 2), a[h + 1:] the rest."""
    h = a.shape[0] // 2
    hi_mid = _select(a, 0, a.shape[0] - 1, h)
    lo_mid = a[0]
    for i in range(1, h):
        lo_mid = max(lo_mid, a[i])
    return (lo_mid + hi_mid) / np.float32(2)


@njit(cache=True, nogil=True, inline="always")
def _kth_largest(x, kk):
    """np.sort(x)[-kk] (1 <= kk <= len(x), no NaN): the kk largest kept in order, for a small kk."""
    top = np.full(kk, -np.inf)
    for v in x:
        if v > top[kk - 1]:
            i = kk - 1
            while i > 0 and top[i - 1] < v:
                top[i] = top[i - 1]
                i -= 1
            top[i] = v
    return top[kk - 1]


@njit(cache=True, nogil=True, error_model="numpy")
def local_summary(pm, pf, edge_map, kk, rel_q, rel_clean, rel_min, rel_eps, t_rel, rel_loss, edge_gain,
                  edge_floor, tex_scale, ev_res):
    """The local evidence's maps and scores from local_evidence's (persist, frames) = (pm, pf), as
    lpcore.verify.detect documents them (rel_*: LOCAL_REL_*, edge_gain/edge_floor:
    EDGE_GAIN/EDGE_GAIN_FLOOR; kk: how many frames the per-frame score needs, the kk-th largest): each persistent
    map less its median over the frame, the texture map's share of texture gained divided by up to edge_gain near
    the reference's sharp edges (edge_map: edge_blocks' (32, 32) map; the loss-only map pm[3] tells the shares apart;
    the full divisor from a luma floor of edge_floor on, none in a noise-free rendition) and the texture map then
    divided by tex_scale (>= 1: the tolerance of a rendition that lost texture overall), and where the luma map's
    rel_q quantile (its floor, before the median is taken off) is at most rel_clean, the contrast rule's maps
    (texture also from pm[3], none near sharp edges); ev_res (32, 32) float32 (residual_evidence's map) joins
    them in the regions. Returns (regions (32, 32) float64: the largest kind (or ev_res) per block, per-frame
    maxima float64 (K,), details (3, 2) float64: per kind its map's maximum and its kk-th largest frame
    maximum, the largest region value, the kk-th largest frame maximum).

    Bit for bit numpy's np.median and np.quantile (linear) of the maps, and its float32 arithmetic (a Python
    float operand taken as float32, NEP 50): the order statistics come from quickselect (exact values, in
    any order), the arithmetic is the same float32 operations in the same order. (rel_q * (n - 1) must fall in
    the upper half, as LOCAL_REL_Q = 0.75 does.)"""
    n = pm.shape[1] * pm.shape[2]
    flat = pm.reshape(4, n)
    pos = rel_q * (n - 1)
    q_lo = int(pos)
    frac = np.float32(pos - q_lo)
    floor = np.empty(4, np.float32)
    med = np.empty(4, np.float32)
    h = n // 2
    a = np.empty(n, np.float32)
    for kind in range(4):
        a[:] = flat[kind]
        med[kind] = _median_select(a)          # (and a partitioned about rank h)
        # ranks q_lo, q_lo + 1 (> h): from the upper part alone
        q1 = _select(a, h + 1, n - 1, q_lo + 1)
        q0 = a[h]
        for i in range(h + 1, q_lo + 1):
            q0 = max(q0, a[i])
        floor[kind] = q0 + frac * (q1 - q0)
    maps = np.empty((3, n), np.float32)
    for kind in range(3):
        for b in range(n):
            maps[kind, b] = flat[kind, b] - med[kind]
    edge = edge_map.reshape(n)
    ramp = min(np.float32(1.0), floor[0] / np.float32(edge_floor))
    inv_gain = np.float32(1.0) / (np.float32(1.0) + (np.float32(edge_gain) - np.float32(1.0)) * ramp)
    tex_abs = np.empty(n, np.float32)   # the absolute texture map; the contrast rule reads maps[1] as it was
    inv_scale = np.float32(1.0) / np.float32(tex_scale)
    for b in range(n):
        v = maps[1, b]
        if edge[b]:
            # texture gained beside a sharp edge is an encoder's ringing: that share (the map less its loss-only
            # part, both less their medians) counts less, as much less as the rendition is noisy
            lo = min(flat[3, b] - med[3], v)
            v = lo + (v - lo) * inv_gain
        tex_abs[b] = v * inv_scale
    if floor[0] <= np.float32(rel_clean):
        eps = np.float32(rel_eps)
        rmin = np.float32(rel_min)
        loss_den = (floor[3] + eps) * np.float32(rel_loss)
        for kind in range(3):
            den = (floor[kind] + eps) * np.float32(t_rel[kind])
            for b in range(n):
                v = maps[kind, b]
                rel = min(v / rmin, v / den)
                if kind == 1:
                    rel = min(rel, (flat[3, b] - med[3]) / loss_den)
                    if edge[b]:
                        rel = np.float32(0.0)
                    v = tex_abs[b]
                maps[kind, b] = max(v, rel)
    else:
        maps[1, :] = tex_abs
    regions = np.empty(n)
    res = ev_res.reshape(n)
    for b in range(n):
        regions[b] = max(max(maps[0, b], max(maps[1, b], maps[2, b])), res[b])
    k = pf.shape[1]
    pf_max = np.empty(k)
    for t in range(k):
        pf_max[t] = max(pf[0, t], max(pf[1, t], pf[2, t]))
    details = np.empty((3, 2))
    for kind in range(3):
        details[kind, 0] = maps[kind].max()
        details[kind, 1] = _kth_largest(pf[kind], kk)
    return regions.reshape(pm.shape[1], pm.shape[2]), pf_max, details, regions.max(), _kth_largest(pf_max, kk)


@njit(cache=True, nogil=True)
def aligned_frames(anomalous, frozen, i0, off):
    """The aligned frames the spatial evidence reads (temporal_evidence's flags of frames i0 + t): good[t] when
    frame t is neither anomalous nor frozen (every frame when none is), and their int64 indices in the reference
    (gi = i0 + t) and the candidate (gj = gi + off). One call instead of five numpy operations per pair."""
    n = anomalous.shape[0]
    good = np.empty(n, np.bool_)
    k = 0
    for t in range(n):
        g = not (anomalous[t] or frozen[t])
        good[t] = g
        k += np.int64(g)
    if k == 0:
        good[:] = True
        k = n
    gi = np.empty(k, np.int64)
    gj = np.empty(k, np.int64)
    j = 0
    for t in range(n):
        if good[t]:
            gi[j] = i0 + t
            gj[j] = i0 + t + off
            j += 1
    return good, gi, gj


@njit(cache=True, nogil=True)
def frame_summary(m, i0, off, good, pf_max, anomalous, t_scores, frozen, fine_scores, cover_score, mark_local,
                  mark_all, threshold, local_mark):
    """Per candidate frame (m of them) its strongest evidence, and the ranges of flagged frames: the aligned
    frames i0 + off + t (t < len(good)) take the largest of their local (pf_max, over the good frames in order),
    temporal (t_scores where anomalous), freeze (1.0) and fine reorder evidence; the unaligned ones
    cover_score. Flagged: frame score >= threshold, also aligned good frames with pf_max >= local_mark when
    mark_local (persistent local evidence), and every aligned frame when mark_all (global evidence).
    Returns (frame_scores float64 (m,), ranges int64 (R, 2) of flagged frames (first, last), the first frame
    with the largest score)."""
    L = good.shape[0]
    fs = np.full(m, cover_score)
    flagged = np.zeros(m, np.bool_)
    g = 0
    for t in range(L):
        v = 0.0
        local = 0.0
        if good[t]:
            local = pf_max[g]
            v = local
            g += 1
        v = max(v, np.float64(t_scores[t]) if anomalous[t] else 0.0)
        v = max(v, 1.0 if frozen[t] else 0.0)
        v = max(v, np.float64(fine_scores[t]))
        j = i0 + off + t
        fs[j] = v
        flagged[j] = mark_all or (mark_local and good[t] and local >= local_mark)
    best = 0
    for j in range(m):
        flagged[j] = flagged[j] or fs[j] >= threshold
        if fs[j] > fs[best]:
            best = j
    ranges = np.empty((m, 2), np.int64)
    r = 0
    j = 0
    while j < m:
        if flagged[j]:
            a = j
            while j + 1 < m and flagged[j + 1]:
                j += 1
            ranges[r, 0] = a
            ranges[r, 1] = j
            r += 1
        j += 1
    return fs, ranges[:r].copy(), best


@njit(cache=True, nogil=True)
def edge_blocks(R, frames, edge):
    """(32, 32) bool: blocks within two blocks (Chebyshev) of a sharp edge of the mean 32x32 luma and spread maps
    of reference frames ``frames`` (each mean: the exact integer sum as float32, divided by the count in float32,
    as numpy's float32 mean gives it); edge = (step, flat, k, eps, smin) float32 (lpcore.verify.detect's
    EDGE_STEP, STEP_FLAT, STEP_K, STEP_EPS, SPREAD_MIN). A block is at an edge if a step between it and a
    4-neighbour exceeds ``step`` levels, or if its texture is one step between flat neighbours: the two blocks
    across it (above and below, or left and right) have spreads under ``flat``, and its spread, at least
    ``smin``, is at most k x the difference of their means + eps (2 x std of a step of h levels is at most h).
    The detector's texture contrast rule ignores edge blocks: a scaler or encoder moves or smears a sharp edge by
    a pixel, which can empty or fill a block's texture, and the evidence maps are 3x3 means, so the ring around
    the edge blocks carries it too. An edge inside a block splits its step between the block's two 4-neighbour
    steps, so only the second test sees it."""
    # flat, branch-free loops over the map (vectorised), the same sums, steps and comparisons as per-cell code:
    # a block is an edge block if its largest step to a 4-neighbour exceeds step (|a - b| is the same float32
    # from either side), then the 3x3 dilation as row and column ORs
    acc = np.zeros(2048, np.int32)         # luma means, then spreads (255 x frames fits)
    for t in range(frames.shape[0]):
        row = R[frames[t]]
        for b in range(2048):
            acc[b] += row[b]
    cnt = np.float32(frames.shape[0])
    m = np.empty(1024, np.float32)
    sp = np.empty(1024, np.float32)
    for b in range(1024):
        m[b] = np.float32(acc[b]) / cnt
        sp[b] = np.float32(acc[1024 + b]) / cnt
    step, flat, k, eps, smin = edge[0], edge[1], edge[2], edge[3], edge[4]
    hp = np.zeros(1025, np.float32)        # hp[b + 1]: step from b to its right neighbour (0 at a row's end)
    vp = np.zeros(1024 + 32, np.float32)   # vp[b + 32]: step from b to the block below (0 beyond the edges)
    for b in range(1023):
        d = abs(m[b + 1] - m[b])
        hp[b + 1] = d if (b & 31) != 31 else np.float32(0.0)
    for b in range(992):
        vp[b + 32] = abs(m[b + 32] - m[b])
    e = np.empty(1024, np.uint8)           # edge flags
    for b in range(1024):
        g = max(max(hp[b], hp[b + 1]), max(vp[b], vp[b + 32]))
        e[b] = 1 if g > step else 0
    # one step across the block, between flat blocks (branch-free, so that it vectorises): vertically for rows
    # 1-30, horizontally for columns 1-30
    for b in range(32, 992):
        v = (sp[b] >= smin) & (sp[b - 32] < flat) & (sp[b + 32] < flat) & \
            (sp[b] <= k * abs(m[b + 32] - m[b - 32]) + eps)
        e[b] |= np.uint8(v)
    for b in range(1, 1023):
        c = b & 31
        v = (c != 0) & (c != 31) & (sp[b] >= smin) & (sp[b - 1] < flat) & (sp[b + 1] < flat) & \
            (sp[b] <= k * abs(m[b + 1] - m[b - 1]) + eps)
        e[b] |= np.uint8(v)
    tmp = np.empty(1024, np.uint8)
    near = np.empty(1024, np.uint8)
    _any3x3(e, tmp, near)
    out = np.empty((32, 32), np.bool_)
    flat = out.reshape(1024)
    for b in range(1024):
        flat[b] = near[b] != 0
    return out


@njit(cache=True, nogil=True)
def _median32(x):
    """np.median of a float32 array of even length (no NaN), in float32, on a copy (_median_select)."""
    return _median_select(x.copy())


@njit(cache=True, nogil=True, error_model="numpy")
def residual_evidence(R, C, G, gi, gj, k_var, k_col, k_edge, m_t, m_rel, m_eps, m_frames, m_vmin, t_t):
    """Three statistics of the aligned frames (R[gi], C[gj]) that the block-difference maps miss, as evidence
    (lpcore.verify.detect documents the constants): returns the (32, 32) float32 map of the larger of the motion
    and tint evidence (the tint map's 16x16 blocks spread over 2x2), each one's maximum, and the mean U and V
    differences.

    - *motion*: per luma block, var_t(c - r) / (var_t(r) + k_var)
      (population variances of the block means over time), as its 3x3 neighbourhood mean. An honest encoder's
      block means follow the reference's (its errors are small against the content's own change; k_var keeps
      static blocks from dividing by nothing), content painted over with something that moves on its own
      (delogo's interpolation of a moving border) leaves the variance of the difference at or above the
      reference's. Only where the reference's block means vary by at least m_vmin (levels^2) in the whole
      3x3 neighbourhood.
    - *tint*: per chroma block, sum_t |c - r|^2 / sum_t (|r|^2 + k_col + k_edge |g|^2) of
      the (U, V) vectors about neutral grey, as its 3x3 neighbourhood mean: the colour error relative to the
      block's own colour. A hue turn or a saturation change of a region moves the vectors by their own size;
      an honest encoder's chroma errors are small against saturated colour and bounded by k_col on grey, and
      beside a colour edge it bleeds the neighbour's colour in: g = the reference's largest U and V steps to a
      4-neighbour in that frame (G, its grad_maps), so grey next to saturated colour tolerates that much.
    - the mean U and V differences over all aligned frames and chroma blocks: a colour cast or desaturation of
      the whole picture moves them, an honest encoder's chroma errors have both signs.
    The sums are integers, so they do not depend on their order."""
    k = gi.shape[0]
    # int32 sums, one kind of work per loop so that LLVM vectorises them: cnum, the largest, is at most
    # k * 2 * 255^2, within int32 for k < 16 500 frames (lpcore.verify.detect refuses more than MAX_FRAMES = 3 600)
    sr = np.zeros(1024, np.int32)
    srr = np.zeros(1024, np.int32)
    sd = np.zeros(1024, np.int32)
    sdd = np.zeros(1024, np.int32)
    cnum = np.zeros(256, np.int32)
    cden = np.zeros(256, np.int32)
    cedge = np.zeros(256, np.int32)   # (the same bound as cnum: two squared steps of bytes per frame)
    su = np.int32(0)
    sv = np.int32(0)
    for t in range(k):
        rr = R[gi[t]]
        cc = C[gj[t]]
        gr = G[gi[t]]
        for b in range(1024):
            r = np.int32(rr[b])
            d = np.int32(cc[b]) - r
            sr[b] += r
            srr[b] += r * r
            sd[b] += d
            sdd[b] += d * d
        for b in range(256):
            ru = np.int32(rr[2048 + b]) - 128
            rv = np.int32(rr[2304 + b]) - 128
            du = np.int32(cc[2048 + b]) - 128 - ru
            dv = np.int32(cc[2304 + b]) - 128 - rv
            su += du
            sv += dv
            cnum[b] += du * du + dv * dv
            cden[b] += ru * ru + rv * rv
        for b in range(256):
            gu = np.int32(gr[1024 + b])
            gv = np.int32(gr[1280 + b])
            cedge[b] += gu * gu + gv * gv
    kk = np.float64(max(k, 1))
    motion = np.empty(1024, np.float32)
    still = np.empty(1024, np.uint8)     # 1 where the reference's block mean varies by less than m_vmin
    for b in range(1024):
        # var = (k * sum(x^2) - sum(x)^2) / k^2, exact in integers (int64: k * sum(x^2) outgrows int32), then one
        # float64 division
        vr = np.float64(np.int64(k) * srr[b] - np.int64(sr[b]) * sr[b]) / (kk * kk)
        vd = np.float64(np.int64(k) * sdd[b] - np.int64(sd[b]) * sd[b]) / (kk * kk)
        motion[b] = np.float32(vd / (vr + k_var))
        still[b] = np.uint8(not vr >= m_vmin)
    tmp = np.empty(1024, np.float32)
    out = np.empty(1024, np.float32)
    _box3(motion, tmp, out)
    col = np.empty((16, 16), np.float64)
    for b in range(256):
        col[b // 16, b % 16] = np.float64(cnum[b]) / (np.float64(cden[b]) + k_edge * np.float64(cedge[b]) + kk * k_col)
    tint = np.empty(256, np.float32)
    for i in range(16):
        for j in range(16):
            acc = 0.0
            for a in range(i - 1, i + 2):
                for c in range(j - 1, j + 2):   # edges replicated, as _box3
                    acc += col[min(15, max(0, a)), min(15, max(0, c))]
            tint[i * 16 + j] = np.float32(acc / 9.0)
    # the evidence maps (1.0 = threshold) less each map's median over the frame (what an honest encoder does is
    # spread over the picture); motion also relative to that median, and only on enough frames
    ev = np.zeros((32, 32), np.float32)
    m_max = np.float32(0.0)
    if k >= m_frames:
        med = _median32(out)
        rel = (med + np.float32(m_eps)) * np.float32(m_rel)
        # only where the reference itself moves, in the whole 3x3 neighbourhood: on static content the ratio is
        # an encoder's frame-to-frame pumping over k_var alone. The still neighbourhoods as one 3x3 OR of the
        # still blocks (_any3x3; the per-block 3x3 loop was scalar), then every block branch-free (a block
        # near a still one gives 0, which changes neither the zero map nor the maximum from 0)
        ftmp = np.empty(1024, np.uint8)
        near_still = np.empty(1024, np.uint8)
        _any3x3(still, ftmp, near_still)
        evf = ev.reshape(1024)
        zero = np.float32(0.0)
        for b in range(1024):
            x = out[b] - med
            e = min(x / np.float32(m_t), x / rel)
            evf[b] = zero if near_still[b] else e
        for b in range(1024):
            m_max = max(m_max, evf[b])
    t_med = _median32(tint)
    t_max = np.float32(0.0)
    for b in range(256):
        e = (tint[b] - t_med) / np.float32(t_t)
        t_max = max(t_max, e)
        r, c = 2 * (b // 16), 2 * (b % 16)
        for a in range(r, r + 2):
            for q in range(c, c + 2):
                ev[a, q] = max(ev[a, q], e)
    return ev, m_max, t_max, np.float64(su) / (kk * 256.0), np.float64(sv) / (kk * 256.0)
