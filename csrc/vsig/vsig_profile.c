/* CPU computation of the verification profile (see vsig.h; layout and quantisation in kernels/vsig_common.h,
 * shared with the GPU), in the signature's pass over each frame: the luma block sums the signature needs are
 * accumulated exactly as vsig_block_sums() does (the same row kernels), and while a block row's pixels are hot in
 * cache its sampled rows also feed the sums of squares; the chroma planes are read on their sampled rows only.
 * At 1080p that is 1/16 of the luma rows squared and 1/8 of the chroma rows read, which keeps the extra cost small
 * (benchmarks/bench_profile.py). */
#include "vsig/vsig.h"

#include <stdlib.h>
#include <string.h>

#include "common/lp_threads.h"

/* Rows accumulated in the per-column partial sums before folding: 256*255 < 2^16. */
#define VSIG_PROFILE_CHUNK_ROWS 256

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define VSIG_PROFILE_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define VSIG_PROFILE_MULTIVERSION
#endif

/* The sampled rows' accumulators of one chunk of a block row, by column pair (2k, 2k+1; for an odd width the
 * last pair is the last column alone):
 *   ps[k]   the sum of their pixels in pair k          (nsamp*510 < 2^16: VSIG_PROFILE_MAX_SAMPLED rows at most)
 *   pq[k]   the sum of their squares in pair k         (nsamp*2*255^2 < 2^32)
 *   bs[c], bsq[c]  the sum and the sum of squares in column col_start[c], for each block c whose first column
 *           is odd: its first pair straddles the boundary with block c-1, and fold_moments splits it with these.
 * Sums and squares by pair are what x86's pmaddubsw and pmaddwd compute: they multiply neighbours and add them
 * into one lane, half the lanes, adds and stores of a sum per column (and half the fold's reads). Compilers do
 * not emit them for such store loops, so x86 gets them through AVX2 intrinsics, behind a CPU check; other CPUs,
 * and the tests through vsig_profile_set_simd(0), run the portable loops. Both give the same integers. */
#define VSIG_PROFILE_MAX_SAMPLED 128

typedef struct {
    uint16_t *ps;
    uint32_t *pq;
    uint32_t bs[VSIG_GRID], bsq[VSIG_GRID];
    uint32_t oddcol[VSIG_GRID];   /* col_start[oddblk[i]], odd */
    uint8_t oddblk[VSIG_GRID];
    int nodd;
} sampled_acc;

static void sampled_acc_init(sampled_acc *acc, const vsig_params *p, uint16_t *ps, uint32_t *pq)
{
    int c;
    acc->ps = ps;
    acc->pq = pq;
    acc->nodd = 0;
    for (c = 1; c < VSIG_GRID; c++)
        if (p->col_start[c] & 1u) {
            acc->oddcol[acc->nodd] = p->col_start[c];
            acc->oddblk[acc->nodd++] = (uint8_t)c;
        }
}

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && !defined(VSIG_NO_SIMD)
#define VSIG_PROFILE_AVX2 1
#include <immintrin.h>
#endif

static int vsig_simd = -1;   /* -1: not resolved yet; 0: portable loops; 1: AVX2 */

void vsig_profile_set_simd(int on)
{
#ifdef VSIG_PROFILE_AVX2
    __builtin_cpu_init();
    vsig_simd = on && __builtin_cpu_supports("avx2") ? 1 : 0;
#else
    (void)on;
    vsig_simd = 0;
#endif
}

int vsig_profile_simd(void)
{
    if (vsig_simd < 0)
        vsig_profile_set_simd(1);
    return vsig_simd;
}

/* Columns [x, w) of one sampled row s (x even) into the accumulators, set (first != 0: the chunk's first
 * sampled row, so that nothing is cleared beforehand) or added; then its boundary columns. */
static void sampled_row(const uint8_t *restrict s, sampled_acc *acc, uint32_t x, uint32_t w, int first)
{
    uint16_t *restrict ps = acc->ps;
    uint32_t *restrict pq = acc->pq;
    int i;
    if (first) {
        for (; x + 1 < w; x += 2) {
            uint32_t u = s[x], v = s[x + 1];
            ps[x / 2] = (uint16_t)(u + v);
            pq[x / 2] = u * u + v * v;
        }
        if (x < w) {
            ps[x / 2] = s[x];
            pq[x / 2] = (uint32_t)s[x] * s[x];
        }
        for (i = 0; i < acc->nodd; i++) {
            uint32_t v = s[acc->oddcol[i]];
            acc->bs[acc->oddblk[i]] = v;
            acc->bsq[acc->oddblk[i]] = v * v;
        }
        return;
    }
    for (; x + 1 < w; x += 2) {
        uint32_t u = s[x], v = s[x + 1];
        ps[x / 2] = (uint16_t)(ps[x / 2] + u + v);
        pq[x / 2] += u * u + v * v;
    }
    if (x < w) {
        ps[x / 2] = (uint16_t)(ps[x / 2] + s[x]);
        pq[x / 2] += (uint32_t)s[x] * s[x];
    }
    for (i = 0; i < acc->nodd; i++) {
        uint32_t v = s[acc->oddcol[i]];
        acc->bs[acc->oddblk[i]] += v;
        acc->bsq[acc->oddblk[i]] += v * v;
    }
}

#ifdef VSIG_PROFILE_AVX2
#define VSIG_LOAD32(r) _mm256_loadu_si256((const __m256i *)(const void *)(r))
#define VSIG_STORE32(r, v) _mm256_storeu_si256((__m256i *)(void *)(r), v)

/* Columns x..x+31 of a sampled row (x even): 16 pair sums (pmaddubsw by ones) and 16 pair squares (pmaddwd of
 * the pixels widened to 16 bits, in two halves, so the lanes stay in column order). */
__attribute__((target("avx2"))) static inline void sampled32_avx2(const uint8_t *s, uint16_t *ps, uint32_t *pq,
                                                                   int first)
{
    __m256i raw = VSIG_LOAD32(s);
    __m256i lo = _mm256_cvtepu8_epi16(_mm256_castsi256_si128(raw));
    __m256i hi = _mm256_cvtepu8_epi16(_mm256_extracti128_si256(raw, 1));
    __m256i sum = _mm256_maddubs_epi16(raw, _mm256_set1_epi8(1));   /* <= 510: no saturation */
    __m256i q0 = _mm256_madd_epi16(lo, lo), q1 = _mm256_madd_epi16(hi, hi);
    if (!first) {
        sum = _mm256_add_epi16(sum, VSIG_LOAD32(ps));
        q0 = _mm256_add_epi32(q0, VSIG_LOAD32(pq));
        q1 = _mm256_add_epi32(q1, VSIG_LOAD32(pq + 8));
    }
    VSIG_STORE32(ps, sum);
    VSIG_STORE32(pq, q0);
    VSIG_STORE32(pq + 8, q1);
}

__attribute__((target("avx2"))) static void sampled_row_avx2(const uint8_t *restrict s, sampled_acc *acc,
                                                             uint32_t w, int first)
{
    uint32_t x = 0;
    for (; x + 32 <= w; x += 32)
        sampled32_avx2(s + x, acc->ps + x / 2, acc->pq + x / 2, first);
    sampled_row(s, acc, x, w, first);   /* the last < 32 columns, and the boundary columns */
}

/* vsig_add_rows4 (the same uint16 column sums) with the sampled row s, one of a..d, in the same loop: the luma
 * step waits on memory, so the sampled row's sums and squares ride along, instead of a second pass over it. */
__attribute__((target("avx2"))) static void add_rows4_sampled_avx2(uint16_t *restrict colsum,
                                                                   const uint8_t *restrict a,
                                                                   const uint8_t *restrict b,
                                                                   const uint8_t *restrict c,
                                                                   const uint8_t *restrict d,
                                                                   const uint8_t *restrict s, sampled_acc *acc,
                                                                   uint32_t w, int first)
{
#define VSIG_WIDEN16(r, o) _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)((r) + x + (o))))
    uint32_t x = 0, o;
    for (; x + 32 <= w; x += 32) {
        for (o = 0; o < 32; o += 16) {
            __m256i t = _mm256_add_epi16(_mm256_add_epi16(VSIG_WIDEN16(a, o), VSIG_WIDEN16(b, o)),
                                         _mm256_add_epi16(VSIG_WIDEN16(c, o), VSIG_WIDEN16(d, o)));
            VSIG_STORE32(colsum + x + o, _mm256_add_epi16(VSIG_LOAD32(colsum + x + o), t));
        }
        sampled32_avx2(s + x, acc->ps + x / 2, acc->pq + x / 2, first);
    }
#undef VSIG_WIDEN16
    if (x < w)
        vsig_add_rows4(colsum + x, a + x, b + x, c + x, d + x, w - x);
    sampled_row(s, acc, x, w, first);
}
#undef VSIG_LOAD32
#undef VSIG_STORE32
#endif

/* One 4-row luma step a..d that holds the sampled row s. */
static void add_rows4_sampled(int simd, uint16_t *restrict colsum, const uint8_t *a, const uint8_t *b,
                              const uint8_t *c, const uint8_t *d, const uint8_t *s, sampled_acc *acc, uint32_t w,
                              int first)
{
#ifdef VSIG_PROFILE_AVX2
    if (simd) {
        add_rows4_sampled_avx2(colsum, a, b, c, d, s, acc, w, first);
        return;
    }
#endif
    (void)simd;
    vsig_add_rows4(colsum, a, b, c, d, w);
    sampled_row(s, acc, 0, w, first);
}

/* A sampled row outside the fused steps (the tail rows of a chunk, or every one when ystep < 4). */
static void add_sampled(int simd, const uint8_t *s, sampled_acc *acc, uint32_t w, int first)
{
#ifdef VSIG_PROFILE_AVX2
    if (simd) {
        sampled_row_avx2(s, acc, w, first);
        return;
    }
#endif
    (void)simd;
    sampled_row(s, acc, 0, w, first);
}

/* What block c's whole column pairs do not hold of its columns [x0, x1) in a chunk: the halves of the pairs
 * that straddle its boundaries (a straddling pair's second column is in bs/bsq of the block it starts; the last
 * column of an odd width is a pair of its own), added to *sum and *sq. */
static inline void edge_columns(const sampled_acc *acc, int c, uint32_t x0, uint32_t x1, uint32_t w, uint32_t *sum,
                                uint64_t *sq)
{
    if (x0 & 1u) {
        *sum += acc->bs[c];
        *sq += acc->bsq[c];
    }
    if (x1 & 1u) {
        int whole = x1 == w;
        *sum += acc->ps[x1 / 2] - (whole ? 0 : acc->bs[c + 1]);
        *sq += acc->pq[x1 / 2] - (whole ? 0 : acc->bsq[c + 1]);
    }
}

/* Folds one chunk's column accumulators into the 32 blocks of its block row: the block sums over all rows and,
 * when the chunk had sampled rows (sampled != 0), their sums and sums of squares (integer sums: the order changes
 * nothing); sampled == 1 says a block's sum of squares in this chunk fits in uint32. */
VSIG_PROFILE_MULTIVERSION
static void fold_moments(const vsig_params *p, const uint16_t *restrict colsum, const sampled_acc *acc,
                         int sampled, uint32_t *restrict blocks, uint32_t *restrict ssum, uint64_t *restrict ssq)
{
    int c;
    vsig_fold_columns(p, colsum, blocks);   /* the signature's own block sums, folded as vsig_block_sums does */
    if (!sampled)
        return;
    for (c = 0; c < VSIG_GRID; c++) {
        uint32_t s = 0, k, x0 = p->col_start[c], x1 = p->col_start[c + 1];
        uint64_t q64 = 0;
        edge_columns(acc, c, x0, x1, p->width, &s, &q64);
        if (sampled == 1) {   /* uint32 lanes, twice as wide as uint64; the block's total fits */
            uint32_t q = (uint32_t)q64;
            for (k = (x0 + 1) / 2; k < x1 / 2; k++) {
                s += acc->ps[k];
                q += acc->pq[k];
            }
            q64 = q;
        } else {
            for (k = (x0 + 1) / 2; k < x1 / 2; k++) {
                s += acc->ps[k];
                q64 += acc->pq[k];
            }
        }
        ssum[c] += s;
        ssq[c] += q64;
    }
}

/* The chroma planes' sampled rows are far apart, beyond the hardware prefetcher's reach, so reading them after
 * the luma waits on memory row by row (as long as all the rest of the profile). Their prefetches are therefore
 * spread over the luma pass, a few cache lines after each 4-row luma step (a burst would fill the miss queue and
 * stall the luma stream), in the order chroma_advance reads them (u and v row by row), about one luma block
 * row ahead of it. Only a hint: no result depends on it. */
typedef struct {
    const uint8_t *plane[2];
    int64_t stride[2];
    uint32_t step, lines, total, next, quota;   /* sampled row step, lines per row, lines of both planes */
    uint32_t row, pl, line;                     /* where line `next` is: sampled row, plane, line in the row */
} chroma_prefetch;

static void chroma_prefetch_init(chroma_prefetch *cp, const vsig_profile_params *pp, const vsig_params *p,
                                 const uint8_t *u, int64_t u_stride, const uint8_t *v, int64_t v_stride)
{
    uint32_t nrows = (pp->cheight + pp->cstep - 1) / pp->cstep, steps = p->height / 4 + 1;
    cp->plane[0] = u;
    cp->plane[1] = v;
    cp->stride[0] = u_stride;
    cp->stride[1] = v_stride;
    cp->step = pp->cstep;
    cp->lines = (pp->cwidth + 63) / 64;
    cp->total = 2 * nrows * cp->lines;
    cp->next = 0;
    cp->quota = (cp->total + steps - 1) / steps + 1;
    cp->row = cp->pl = cp->line = 0;
}

static void chroma_prefetch_some(chroma_prefetch *cp);

static void chroma_prefetch_some(chroma_prefetch *cp)
{
#if defined(__GNUC__)
    uint32_t end = cp->next + cp->quota < cp->total ? cp->next + cp->quota : cp->total;
    for (; cp->next < end; cp->next++) {   /* line `next` = (row, pl, line), stepped without divisions */
        __builtin_prefetch(cp->plane[cp->pl] + (int64_t)(cp->row * cp->step) * cp->stride[cp->pl] + 64 * cp->line);
        if (++cp->line == cp->lines) {
            cp->line = 0;
            cp->pl ^= 1u;
            cp->row += cp->pl == 0;
        }
    }
#else
    (void)cp;
#endif
}

/* colsum[x] = a[x], for x < w: a chroma chunk's first row (no clearing pass). */
VSIG_PROFILE_MULTIVERSION
static void set_rows1(uint16_t *restrict colsum, const uint8_t *restrict a, uint32_t w)
{
    uint32_t x;
    for (x = 0; x < w; x++)
        colsum[x] = a[x];
}

/* Cell sums of one chroma plane over its sampled rows, read in row order a few rows at a time (chroma_advance),
 * so that the profile pass can read them between luma block rows, while their prefetched lines are in cache.
 * The sums are those of a plain pass: per cell row, chunks of <= 256 rows summed per column in uint16, folded
 * into the cell sums (integer sums, the same whatever the grouping). */
typedef struct {
    const uint8_t *plane;
    int64_t stride;
    uint16_t *colsum;   /* pp->cwidth uint16 */
    uint32_t *cells;    /* VSIG_PCELLS */
    uint32_t y, rows;   /* next sampled row; rows in the current chunk */
    int rc;             /* cell row of the current chunk */
} chroma_state;

static void chroma_state_init(chroma_state *st, const uint8_t *plane, int64_t stride, uint16_t *colsum,
                              uint32_t *cells)
{
    st->plane = plane;
    st->stride = stride;
    st->colsum = colsum;
    st->cells = cells;
    st->y = 0;
    st->rows = 0;
    st->rc = 0;
    memset(cells, 0, VSIG_PCELLS * sizeof(uint32_t));
}

static void chroma_flush(chroma_state *st, const vsig_profile_params *pp)
{
    int c;
    if (!st->rows)
        return;
    for (c = 0; c < VSIG_PGRID; c++) {
        uint32_t s = 0, x;
        for (x = pp->col_start[c]; x < pp->col_start[c + 1]; x++)
            s += st->colsum[x];
        st->cells[st->rc * VSIG_PGRID + c] += s;
    }
    st->rows = 0;
}

/* Adds the sampled rows y < limit; limit == pp->cheight finishes the plane. */
static void chroma_advance(chroma_state *st, const vsig_profile_params *pp, uint32_t limit)
{
    while (st->y < limit) {
        const uint8_t *row = st->plane + (int64_t)st->y * st->stride;
        while (pp->row_start[st->rc + 1] <= st->y) {
            chroma_flush(st, pp);
            st->rc++;
        }
        if (st->rows == VSIG_PROFILE_CHUNK_ROWS)
            chroma_flush(st, pp);
        if (st->rows)
            vsig_add_rows1(st->colsum, row, pp->cwidth);
        else
            set_rows1(st->colsum, row, pp->cwidth);
        st->rows++;
        st->y += pp->cstep;
    }
    if (limit >= pp->cheight)
        chroma_flush(st, pp);
}

/* One frame's luma block sums (exactly vsig_block_sums'), its sampled rows' block sums and sums of squares, and
 * its chroma cell sums (cs[0], cs[1]: u and v, read between block rows while cp prefetches them), in one read of
 * the luma plane. */
static void block_moments(const vsig_params *p, const vsig_profile_params *pp, const uint8_t *plane,
                          int64_t row_stride, uint16_t *colsum, uint32_t *blocks, uint32_t *ssum, uint64_t *ssq,
                          chroma_prefetch *cp, chroma_state *cs, int simd)
{
    uint32_t w = p->width;
    sampled_acc acc;
    uint32_t maxcols = 0;
    int r, fuse = pp->ystep >= 4;
    /* <= 256 rows per chunk (uint16 column sums), and <= VSIG_PROFILE_MAX_SAMPLED sampled rows (uint16 pair sums) */
    uint32_t chunk_rows = pp->ystep * VSIG_PROFILE_MAX_SAMPLED < VSIG_PROFILE_CHUNK_ROWS
                              ? pp->ystep * VSIG_PROFILE_MAX_SAMPLED : VSIG_PROFILE_CHUNK_ROWS;
    sampled_acc_init(&acc, p, colsum + w, (uint32_t *)(void *)(colsum + 2 * (size_t)w));   /* ps, pq: (w+1)/2 */
    for (r = 0; r < VSIG_GRID; r++)
        if (p->col_start[r + 1] - p->col_start[r] > maxcols)
            maxcols = p->col_start[r + 1] - p->col_start[r];
    memset(blocks, 0, VSIG_NCELLS * sizeof(uint32_t));
    memset(ssum, 0, VSIG_NCELLS * sizeof(uint32_t));
    memset(ssq, 0, VSIG_NCELLS * sizeof(uint64_t));
    for (r = 0; r < VSIG_GRID; r++) {
        uint32_t y = p->row_start[r], y_end = p->row_start[r + 1];
        while (y < y_end) {
            uint32_t chunk_start = y, ys;
            uint32_t nsamp = 0;
            int sampled;
            uint32_t chunk_end = y_end - y > chunk_rows ? y + chunk_rows : y_end;
            memset(colsum, 0, (size_t)w * sizeof(uint16_t));
            ys = vsig_next_sampled(chunk_start, pp->ystep);
            for (; y + 4 <= chunk_end; y += 4) {
                const uint8_t *a = plane + (int64_t)y * row_stride;
                if (fuse && ys < y + 4) {   /* ystep >= 4: this step holds one sampled row, ys */
                    add_rows4_sampled(simd, colsum, a, a + row_stride, a + 2 * row_stride, a + 3 * row_stride,
                                      plane + (int64_t)ys * row_stride, &acc, w, !nsamp);
                    nsamp++;
                    ys += pp->ystep;
                } else {
                    vsig_add_rows4(colsum, a, a + row_stride, a + 2 * row_stride, a + 3 * row_stride, w);
                }
                chroma_prefetch_some(cp);
            }
            for (; y < chunk_end; y++)
                vsig_add_rows1(colsum, plane + (int64_t)y * row_stride, w);
            if (!fuse)
                ys = vsig_next_sampled(chunk_start, pp->ystep);
            for (; ys < chunk_end; ys += pp->ystep) {   /* the rest: the tail rows, or every one when ystep < 4 */
                add_sampled(simd, plane + (int64_t)ys * row_stride, &acc, w, !nsamp);
                nsamp++;
            }
            sampled = !nsamp ? 0 : ((uint64_t)maxcols * nsamp * 255 * 255 <= UINT32_MAX ? 1 : 2);
            fold_moments(p, colsum, &acc, sampled, blocks + r * VSIG_GRID, ssum + r * VSIG_GRID,
                         ssq + r * VSIG_GRID);
        }
        {   /* the chroma rows of this share of the frame, prefetched during the luma steps before */
            uint32_t limit = (uint32_t)((uint64_t)pp->cheight * (uint32_t)(r + 1) / VSIG_GRID);
            chroma_advance(&cs[0], pp, limit);
            chroma_advance(&cs[1], pp, limit);
        }
    }
}

int vsig_profile_batch(const vsig_params *p, const vsig_profile_params *pp, const vsig_planes *in, int64_t n,
                       int threads, uint8_t *framesig, uint8_t *words, uint8_t *confidence, uint8_t *profile)
{
    int nt = lp_resolve_threads(threads, n);
    int failed = 0, simd = vsig_profile_simd();   /* resolved here, before the threads read it */
    if (n <= 0)
        return VSIG_OK;
#pragma omp parallel num_threads(nt) reduction(| : failed)
    {
        size_t w16 = 4 * (size_t)p->width + 2 * (size_t)pp->cwidth;   /* luma scratch, then u and v column sums */
        uint16_t *scratch16 = (uint16_t *)malloc(w16 * sizeof(uint16_t));
        uint32_t blocks[VSIG_NCELLS], ssum[VSIG_NCELLS], usum[VSIG_PCELLS], vsum[VSIG_PCELLS];
        uint64_t ssq[VSIG_NCELLS];
        int64_t i;
        if (!scratch16)
            failed = 1;
#pragma omp for schedule(dynamic, 1)
        for (i = 0; i < n; i++) {
            if (failed)
                continue;
            chroma_prefetch cp;
            chroma_state cs[2];
            chroma_prefetch_init(&cp, pp, p, in->u + i * in->u_frame_stride, in->u_row_stride,
                                 in->v + i * in->v_frame_stride, in->v_row_stride);
            chroma_state_init(&cs[0], in->u + i * in->u_frame_stride, in->u_row_stride,
                              scratch16 + 4 * (size_t)p->width, usum);
            chroma_state_init(&cs[1], in->v + i * in->v_frame_stride, in->v_row_stride,
                              scratch16 + 4 * (size_t)p->width + pp->cwidth, vsum);
            block_moments(p, pp, in->y + i * in->y_frame_stride, in->y_row_stride, scratch16, blocks, ssum, ssq,
                          &cp, cs, simd);
            vsig_frame_signature(blocks, p, framesig + i * VSIG_FRAMESIG_BYTES, words + i * VSIG_NWORDS,
                                 confidence + i);
            vsig_profile_frame(blocks, ssum, ssq, usum, vsum, p, pp, profile + i * VSIG_PROFILE_BYTES);
        }
        free(scratch16);
    }
    return failed ? VSIG_ENOMEM : VSIG_OK;
}
