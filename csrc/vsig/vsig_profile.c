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

/* Adds one sampled row's sums and sums of squares to the 32 blocks of its block row: short contiguous
 * reductions per block (the row is in cache, read just before by the block-sum kernel), which GCC vectorises;
 * a row segment's sum of squares is < 2048 * 255^2 < 2^32. */
VSIG_PROFILE_MULTIVERSION
static void sampled_row(const vsig_params *p, const uint8_t *restrict row, uint32_t *restrict ssum,
                        uint64_t *restrict ssq)
{
    int c;
    for (c = 0; c < VSIG_GRID; c++) {
        uint32_t s = 0, q = 0, x;
        for (x = p->col_start[c]; x < p->col_start[c + 1]; x++) {
            uint32_t v = row[x];
            s += v;
            q += v * v;
        }
        ssum[c] += s;
        ssq[c] += q;
    }
}

void vsig_block_moments(const vsig_params *p, const vsig_profile_params *pp, const uint8_t *plane,
                        int64_t row_stride, uint16_t *colsum, uint32_t *blocks, uint32_t *ssum, uint64_t *ssq)
{
    uint32_t w = p->width;
    int r, c;
    memset(blocks, 0, VSIG_NCELLS * sizeof(uint32_t));
    memset(ssum, 0, VSIG_NCELLS * sizeof(uint32_t));
    memset(ssq, 0, VSIG_NCELLS * sizeof(uint64_t));
    for (r = 0; r < VSIG_GRID; r++) {
        uint32_t y = p->row_start[r], y_end = p->row_start[r + 1];
        while (y < y_end) {
            uint32_t chunk_start = y, ys;
            uint32_t chunk_end = y_end - y > VSIG_PROFILE_CHUNK_ROWS ? y + VSIG_PROFILE_CHUNK_ROWS : y_end;
            memset(colsum, 0, (size_t)w * sizeof(uint16_t));
            for (; y + 4 <= chunk_end; y += 4) {
                const uint8_t *a = plane + (int64_t)y * row_stride;
                vsig_add_rows4(colsum, a, a + row_stride, a + 2 * row_stride, a + 3 * row_stride, w);
            }
            for (; y < chunk_end; y++)
                vsig_add_rows1(colsum, plane + (int64_t)y * row_stride, w);
            for (ys = vsig_next_sampled(chunk_start, pp->ystep); ys < chunk_end; ys += pp->ystep)
                sampled_row(p, plane + (int64_t)ys * row_stride, ssum + r * VSIG_GRID, ssq + r * VSIG_GRID);
            for (c = 0; c < VSIG_GRID; c++) {
                uint32_t s = 0, x;
                for (x = p->col_start[c]; x < p->col_start[c + 1]; x++)
                    s += colsum[x];
                blocks[r * VSIG_GRID + c] += s;
            }
        }
    }
}

static void prefetch_row(const uint8_t *row, uint32_t w)
{
#if defined(__GNUC__)
    uint32_t x;
    for (x = 0; x < w; x += 64)
        __builtin_prefetch(row + x);
#else
    (void)row;
    (void)w;
#endif
}

void vsig_chroma_sums(const vsig_profile_params *pp, const uint8_t *plane, int64_t row_stride, uint16_t *colsum,
                      uint32_t *cells)
{
    uint32_t w = pp->cwidth;
    int r, c;
    memset(cells, 0, VSIG_PCELLS * sizeof(uint32_t));
    for (r = 0; r < VSIG_PGRID; r++) {
        uint32_t y = vsig_next_sampled(pp->row_start[r], pp->cstep), y_end = pp->row_start[r + 1];
        while (y < y_end) {
            uint32_t rows = 0;
            memset(colsum, 0, w * sizeof(uint16_t));
            for (; y < y_end && rows < VSIG_PROFILE_CHUNK_ROWS; y += pp->cstep, rows++) {
                /* Sampled rows are far apart, beyond the hardware prefetcher's reach: ask for the next one. */
                if (y + pp->cstep < pp->cheight)
                    prefetch_row(plane + (int64_t)(y + pp->cstep) * row_stride, w);
                vsig_add_rows1(colsum, plane + (int64_t)y * row_stride, w);
            }
            for (c = 0; c < VSIG_PGRID; c++) {
                uint32_t s = 0, x;
                for (x = pp->col_start[c]; x < pp->col_start[c + 1]; x++)
                    s += colsum[x];
                cells[r * VSIG_PGRID + c] += s;
            }
        }
    }
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
        size_t w16 = p->width > pp->cwidth ? p->width : pp->cwidth;
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
            vsig_block_moments(p, pp, in->y + i * in->y_frame_stride, in->y_row_stride, scratch16, blocks, ssum,
                               ssq);
            vsig_frame_signature(blocks, p, framesig + i * VSIG_FRAMESIG_BYTES, words + i * VSIG_NWORDS,
                                 confidence + i);
            vsig_chroma_sums(pp, in->u + i * in->u_frame_stride, in->u_row_stride, scratch16, usum);
            vsig_chroma_sums(pp, in->v + i * in->v_frame_stride, in->v_row_stride, scratch16, vsum);
            vsig_profile_frame(blocks, ssum, ssq, usum, vsum, p, pp, profile + i * VSIG_PROFILE_BYTES);
        }
        free(scratch16);
    }
    return failed ? VSIG_ENOMEM : VSIG_OK;
}
