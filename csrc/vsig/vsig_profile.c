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

/* Adds one sampled row to the column accumulators of its chunk: ssum16[x] += v, ssq32[x] += v*v, for x < w, or
 * sets them (first != 0: the chunk's first sampled row, so that nothing is cleared beforehand). One contiguous
 * pass over the row (in cache: the block-sum kernel has just read it), uint16 squares summed in uint32 lanes,
 * which GCC vectorises whole; the per-block reductions happen once per chunk, in fold_moments.
 * Within a chunk (<= 256 rows) ssum16 <= 256*255 < 2^16 and ssq32 <= 256*255^2 < 2^32. */
VSIG_PROFILE_MULTIVERSION
static void sampled_row(const uint8_t *restrict row, uint16_t *restrict ssum16, uint32_t *restrict ssq32,
                        uint32_t w, int first)
{
    uint32_t x;
    if (first) {
        for (x = 0; x < w; x++) {
            uint16_t v = row[x];
            ssum16[x] = v;
            ssq32[x] = (uint16_t)(v * v);
        }
        return;
    }
    for (x = 0; x < w; x++) {
        uint16_t v = row[x];
        ssum16[x] = (uint16_t)(ssum16[x] + v);
        ssq32[x] += (uint16_t)(v * v);
    }
}

/* vsig_add_rows4 (the same uint16 column sums) with sampled_row of s, one of a..d, in the same loop: the luma
 * step waits on memory, so the sampled row's sums and squares ride along, instead of a second pass over it. */
VSIG_PROFILE_MULTIVERSION
static void add_rows4_sampled(uint16_t *restrict colsum, const uint8_t *restrict a, const uint8_t *restrict b,
                              const uint8_t *restrict c, const uint8_t *restrict d, const uint8_t *restrict s,
                              uint16_t *restrict ssum16, uint32_t *restrict ssq32, uint32_t w, int first)
{
    uint32_t x;
    if (first) {
        for (x = 0; x < w; x++) {
            uint16_t v = s[x];
            colsum[x] = (uint16_t)(colsum[x] + (uint16_t)((uint16_t)a[x] + b[x]) + (uint16_t)((uint16_t)c[x] + d[x]));
            ssum16[x] = v;
            ssq32[x] = (uint16_t)(v * v);
        }
        return;
    }
    for (x = 0; x < w; x++) {
        uint16_t v = s[x];
        colsum[x] = (uint16_t)(colsum[x] + (uint16_t)((uint16_t)a[x] + b[x]) + (uint16_t)((uint16_t)c[x] + d[x]));
        ssum16[x] = (uint16_t)(ssum16[x] + v);
        ssq32[x] += (uint16_t)(v * v);
    }
}

/* Folds one chunk's column accumulators into the 32 blocks of its block row: the block sums over all rows and,
 * when the chunk had sampled rows (sampled != 0), their sums and sums of squares (integer sums: the order changes
 * nothing); sampled == 1 says a block's sum of squares in this chunk fits in uint32. */
VSIG_PROFILE_MULTIVERSION
static void fold_moments(const vsig_params *p, const uint16_t *restrict colsum, const uint16_t *restrict ssum16,
                         const uint32_t *restrict ssq32, int sampled, uint32_t *restrict blocks,
                         uint32_t *restrict ssum, uint64_t *restrict ssq)
{
    int c;
    vsig_fold_columns(p, colsum, blocks);   /* the signature's own block sums, folded as vsig_block_sums does */
    if (!sampled)
        return;
    if (sampled == 1) {   /* each block's sum of squares < 2^32: uint32 lanes, twice as wide as uint64 */
        for (c = 0; c < VSIG_GRID; c++) {
            uint32_t s = 0, q = 0, x;
            for (x = p->col_start[c]; x < p->col_start[c + 1]; x++) {
                s += ssum16[x];
                q += ssq32[x];
            }
            ssum[c] += s;
            ssq[c] += q;
        }
        return;
    }
    for (c = 0; c < VSIG_GRID; c++) {
        uint32_t s = 0, x;
        uint64_t q = 0;
        for (x = p->col_start[c]; x < p->col_start[c + 1]; x++) {
            s += ssum16[x];
            q += ssq32[x];
        }
        ssum[c] += s;
        ssq[c] += q;
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

static void block_moments(const vsig_params *p, const vsig_profile_params *pp, const uint8_t *plane,
                          int64_t row_stride, uint16_t *colsum, uint32_t *blocks, uint32_t *ssum, uint64_t *ssq,
                          chroma_prefetch *cp, chroma_state *cs)
{
    uint32_t w = p->width;
    uint16_t *ssum16 = colsum + w;
    uint32_t *ssq32 = (uint32_t *)(void *)(colsum + 2 * (size_t)w);
    uint32_t maxcols = 0;
    int r, fuse = pp->ystep >= 4;
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
            uint32_t chunk_end = y_end - y > VSIG_PROFILE_CHUNK_ROWS ? y + VSIG_PROFILE_CHUNK_ROWS : y_end;
            memset(colsum, 0, (size_t)w * sizeof(uint16_t));
            ys = vsig_next_sampled(chunk_start, pp->ystep);
            for (; y + 4 <= chunk_end; y += 4) {
                const uint8_t *a = plane + (int64_t)y * row_stride;
                if (fuse && ys < y + 4) {   /* ystep >= 4: this step holds one sampled row, ys */
                    add_rows4_sampled(colsum, a, a + row_stride, a + 2 * row_stride, a + 3 * row_stride,
                                      plane + (int64_t)ys * row_stride, ssum16, ssq32, w, !nsamp);
                    nsamp++;
                    ys += pp->ystep;
                } else {
                    vsig_add_rows4(colsum, a, a + row_stride, a + 2 * row_stride, a + 3 * row_stride, w);
                }
                if (cp)
                    chroma_prefetch_some(cp);
            }
            for (; y < chunk_end; y++)
                vsig_add_rows1(colsum, plane + (int64_t)y * row_stride, w);
            if (!fuse)
                ys = vsig_next_sampled(chunk_start, pp->ystep);
            for (; ys < chunk_end; ys += pp->ystep) {   /* the rest: the tail rows, or every one when ystep < 4 */
                sampled_row(plane + (int64_t)ys * row_stride, ssum16, ssq32, w, !nsamp);
                nsamp++;
            }
            sampled = !nsamp ? 0 : ((uint64_t)maxcols * nsamp * 255 * 255 <= UINT32_MAX ? 1 : 2);
            fold_moments(p, colsum, ssum16, ssq32, sampled, blocks + r * VSIG_GRID, ssum + r * VSIG_GRID,
                         ssq + r * VSIG_GRID);
        }
        if (cs) {   /* the chroma rows of this share of the frame, prefetched during the luma steps before */
            uint32_t limit = (uint32_t)((uint64_t)pp->cheight * (uint32_t)(r + 1) / VSIG_GRID);
            chroma_advance(&cs[0], pp, limit);
            chroma_advance(&cs[1], pp, limit);
        }
    }
}

void vsig_block_moments(const vsig_params *p, const vsig_profile_params *pp, const uint8_t *plane,
                        int64_t row_stride, uint16_t *colsum, uint32_t *blocks, uint32_t *ssum, uint64_t *ssq)
{
    block_moments(p, pp, plane, row_stride, colsum, blocks, ssum, ssq, NULL, NULL);
}

void vsig_chroma_sums(const vsig_profile_params *pp, const uint8_t *plane, int64_t row_stride, uint16_t *colsum,
                      uint32_t *cells)
{
    chroma_state st;
    chroma_state_init(&st, plane, row_stride, colsum, cells);
    chroma_advance(&st, pp, pp->cheight);
}

int vsig_profile_batch(const vsig_params *p, const vsig_profile_params *pp, const vsig_planes *in, int64_t n,
                       int threads, uint8_t *framesig, uint8_t *words, uint8_t *confidence, uint8_t *profile)
{
    int nt = lp_resolve_threads(threads, n);
    int failed = 0;
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
                          &cp, cs);
            vsig_frame_signature(blocks, p, framesig + i * VSIG_FRAMESIG_BYTES, words + i * VSIG_NWORDS,
                                 confidence + i);
            vsig_profile_frame(blocks, ssum, ssq, usum, vsum, p, pp, profile + i * VSIG_PROFILE_BYTES);
        }
        free(scratch16);
    }
    return failed ? VSIG_ENOMEM : VSIG_OK;
}
