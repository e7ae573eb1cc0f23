/* CPU computation of fine and coarse signatures (see vsig.h). The per-frame arithmetic after the block sums is
 * kernels/vsig_common.h; only the O(W*H) block-sum pass and the batch loop are CPU-specific. */
#include "vsig/vsig.h"

#include <stdlib.h>
#include <string.h>

#include "common/lp_threads.h"

/* Rows accumulated into the uint16 column sums before they are folded into the block sums: 256*255 < 65536. */
#define VSIG_COLSUM_ROWS 256

/* colsum[x] += a[x] (+ b[x] + c[x] + d[x]) over one run of rows (also used by the profile pass, vsig_profile.c).
 * These loops are the whole O(W*H) cost; they are contiguous byte->uint16 adds that compilers vectorise, and on
 * x86-64 GCC builds an AVX2 clone beside the SSE2 baseline, picked at load time. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define VSIG_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define VSIG_MULTIVERSION
#endif

VSIG_MULTIVERSION
void vsig_add_rows4(uint16_t *restrict colsum, const uint8_t *restrict a, const uint8_t *restrict b,
                    const uint8_t *restrict c, const uint8_t *restrict d, uint32_t w)
{
    uint32_t x;
    for (x = 0; x < w; x++)
        colsum[x] = (uint16_t)(colsum[x] + (uint16_t)((uint16_t)a[x] + b[x]) + (uint16_t)((uint16_t)c[x] + d[x]));
}

VSIG_MULTIVERSION
void vsig_add_rows1(uint16_t *restrict colsum, const uint8_t *restrict a, uint32_t w)
{
    uint32_t x;
    for (x = 0; x < w; x++)
        colsum[x] = (uint16_t)(colsum[x] + a[x]);
}

/* Folds the column sums of one block row into its 32 block sums, using the precomputed column boundaries. */
void vsig_fold_columns(const vsig_params *p, const uint16_t *colsum, uint32_t *block_row)
{
    int c;
    for (c = 0; c < VSIG_GRID; c++) {
        uint32_t s = 0, x;
        for (x = p->col_start[c]; x < p->col_start[c + 1]; x++)
            s += colsum[x];
        block_row[c] += s;
    }
}

void vsig_block_sums(const vsig_params *p, const uint8_t *plane, int64_t row_stride, uint16_t *colsum,
                     uint32_t *blocks)
{
    uint32_t w = p->width;
    int r;
    memset(blocks, 0, VSIG_NCELLS * sizeof(uint32_t));
    for (r = 0; r < VSIG_GRID; r++) {
        uint32_t y = p->row_start[r], y_end = p->row_start[r + 1];
        while (y < y_end) {
            uint32_t chunk_end = y_end - y > VSIG_COLSUM_ROWS ? y + VSIG_COLSUM_ROWS : y_end;
            memset(colsum, 0, w * sizeof(uint16_t));
            for (; y + 4 <= chunk_end; y += 4) {
                const uint8_t *a = plane + (int64_t)y * row_stride;
                vsig_add_rows4(colsum, a, a + row_stride, a + 2 * row_stride, a + 3 * row_stride, w);
            }
            for (; y < chunk_end; y++)
                vsig_add_rows1(colsum, plane + (int64_t)y * row_stride, w);
            vsig_fold_columns(p, colsum, blocks + r * VSIG_GRID);
        }
    }
}

int vsig_compute_batch(const vsig_params *p, const uint8_t *frames, int64_t frame_stride, int64_t row_stride,
                       int64_t n, int threads, uint8_t *framesig, uint8_t *words, uint8_t *confidence)
{
    int nt = lp_resolve_threads(threads, n);
    int failed = 0;
    if (n <= 0)
        return VSIG_OK;
#pragma omp parallel num_threads(nt) reduction(| : failed)
    {
        uint16_t *colsum = (uint16_t *)malloc((size_t)p->width * sizeof(uint16_t));
        uint32_t blocks[VSIG_NCELLS];
        int64_t i;
        if (!colsum)
            failed = 1;
#pragma omp for schedule(dynamic, 1)
        for (i = 0; i < n; i++) {
            if (!colsum)
                continue;
            vsig_block_sums(p, frames + i * frame_stride, row_stride, colsum, blocks);
            vsig_frame_signature(blocks, p, framesig + i * VSIG_FRAMESIG_BYTES, words + i * VSIG_NWORDS,
                                 confidence + i);
        }
        free(colsum);
    }
    return failed ? VSIG_ENOMEM : VSIG_OK;
}

int64_t vsig_segment_count(int64_t n)
{
    return n > 0 ? (n + VSIG_COARSE_STEP - 1) / VSIG_COARSE_STEP : 0;
}

void vsig_coarse(const uint8_t *words, int64_t n, int64_t *seg_first, int64_t *seg_last, uint8_t *bags)
{
    int64_t s, ns = vsig_segment_count(n), f;
    int i;
    memset(bags, 0, (size_t)ns * VSIG_NWORDS * VSIG_BAG_BYTES);
    for (s = 0; s < ns; s++) {
        int64_t first = s * VSIG_COARSE_STEP;
        int64_t last = first + VSIG_COARSE_SIZE - 1 < n - 1 ? first + VSIG_COARSE_SIZE - 1 : n - 1;
        uint8_t *bag = bags + s * VSIG_NWORDS * VSIG_BAG_BYTES;
        seg_first[s] = first;
        seg_last[s] = last;
        for (f = first; f <= last; f++)
            for (i = 0; i < VSIG_NWORDS; i++) {
                uint8_t wv = words[f * VSIG_NWORDS + i];
                bag[i * VSIG_BAG_BYTES + wv / 8] |= (uint8_t)(0x80u >> (wv % 8));
            }
    }
}
