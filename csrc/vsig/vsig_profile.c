/* CPU computation of the verification profile (see vsig.h; layout and quantisation in kernels/vsig_common.h,
 * shared with the GPU), in the signature's pass over each frame: the luma block sums the signature needs are
 * accumulated exactly as vsig_block_sums() does (the same row kernels), and while a block row's pixels are hot in
 * cache its sampled rows also feed the sums of squares; the chroma planes are read on their sampled rows only.
 * At 1080p that is 1/8 of the luma rows squared and 1/8 of the chroma rows read, which keeps the extra cost small
 * (benchmarks/bench_profile.py). */
#include "vsig/vsig.h"

#include <stdlib.h>
#include <string.h>

#include "common/lp_threads.h"

/* Rows accumulated in the per-column partial sums before folding: 256*255 < 2^16 and 256*255^2 < 2^32. */
#define VSIG_PROFILE_CHUNK_ROWS 256

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define VSIG_PROFILE_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define VSIG_PROFILE_MULTIVERSION
#endif

/* colsum[x] += a[x]; colsq[x] += a[x]^2 (a byte's square fits uint16, so the products stay in 16-bit lanes). */
VSIG_PROFILE_MULTIVERSION
static void add_row_sq(uint16_t *restrict colsum, uint32_t *restrict colsq, const uint8_t *restrict a, uint32_t w)
{
    uint32_t x;
    for (x = 0; x < w; x++) {
        uint16_t va = a[x];
        colsum[x] = (uint16_t)(colsum[x] + va);
        colsq[x] += (uint32_t)(uint16_t)(va * va);
    }
}

/* The same for two rows a and b. The AVX2 version keeps columns in order (vpmovzxbw), pairs a[x] with b[x] in
 * 32-bit lanes (vpunpck{l,h}wd) so that one vpmaddwd gives a[x]^2 + b[x]^2, and restores column order with two
 * lane permutes: about half the instructions of two add_row_sq calls. */
static void add_rows2_sq_c(uint16_t *restrict colsum, uint32_t *restrict colsq, const uint8_t *restrict a,
                           const uint8_t *restrict b, uint32_t x, uint32_t w)
{
    for (; x < w; x++) {
        uint16_t va = a[x], vb = b[x];
        colsum[x] = (uint16_t)(colsum[x] + va + vb);
        colsq[x] += (uint32_t)(uint16_t)(va * va) + (uint32_t)(uint16_t)(vb * vb);
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define VSIG_PROFILE_AVX2 1
__attribute__((target("avx2"))) static void add_rows2_sq_avx2(uint16_t *restrict colsum, uint32_t *restrict colsq,
                                                              const uint8_t *restrict a, const uint8_t *restrict b,
                                                              uint32_t w)
{
    uint32_t x = 0;
    for (; x + 16 <= w; x += 16) {
        __m256i A = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(a + x)));
        __m256i B = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(b + x)));
        __m256i lo = _mm256_unpacklo_epi16(A, B), hi = _mm256_unpackhi_epi16(A, B);
        __m256i qlo = _mm256_madd_epi16(lo, lo), qhi = _mm256_madd_epi16(hi, hi);  /* cols 0-3,8-11 / 4-7,12-15 */
        __m256i q0 = _mm256_permute2x128_si256(qlo, qhi, 0x20), q1 = _mm256_permute2x128_si256(qlo, qhi, 0x31);
        void *cs = colsum + x, *c0 = colsq + x, *c1 = colsq + x + 8;
        _mm256_storeu_si256((__m256i *)cs, _mm256_add_epi16(_mm256_loadu_si256((const __m256i *)cs),
                                                             _mm256_add_epi16(A, B)));
        _mm256_storeu_si256((__m256i *)c0, _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)c0), q0));
        _mm256_storeu_si256((__m256i *)c1, _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)c1), q1));
    }
    add_rows2_sq_c(colsum, colsq, a, b, x, w);
}
#endif

static void add_rows2_sq(uint16_t *restrict colsum, uint32_t *restrict colsq, const uint8_t *restrict a,
                         const uint8_t *restrict b, uint32_t w)
{
#ifdef VSIG_PROFILE_AVX2
    static int have_avx2 = -1;   /* a benign race: every thread stores the same value */
    if (have_avx2 < 0)
        have_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
    if (have_avx2) {
        add_rows2_sq_avx2(colsum, colsq, a, b, w);
        return;
    }
#endif
    add_rows2_sq_c(colsum, colsq, a, b, 0, w);
}

void vsig_block_moments(const vsig_params *p, const vsig_profile_params *pp, const uint8_t *plane,
                        int64_t row_stride, uint16_t *scratch16, uint32_t *colsq, uint32_t *blocks, uint32_t *ssum,
                        uint64_t *ssq)
{
    uint32_t w = p->width;
    uint16_t *colsum = scratch16, *colsum_s = scratch16 + w;
    int r, c;
    memset(blocks, 0, VSIG_NCELLS * sizeof(uint32_t));
    memset(ssum, 0, VSIG_NCELLS * sizeof(uint32_t));
    memset(ssq, 0, VSIG_NCELLS * sizeof(uint64_t));
    for (r = 0; r < VSIG_GRID; r++) {
        uint32_t y = p->row_start[r], y_end = p->row_start[r + 1];
        while (y < y_end) {
            uint32_t chunk_start = y, ys;
            uint32_t chunk_end = y_end - y > VSIG_PROFILE_CHUNK_ROWS ? y + VSIG_PROFILE_CHUNK_ROWS : y_end;
            memset(colsum, 0, 2 * (size_t)w * sizeof(uint16_t));
            memset(colsq, 0, w * sizeof(uint32_t));
            for (; y + 4 <= chunk_end; y += 4) {
                const uint8_t *a = plane + (int64_t)y * row_stride;
                vsig_add_rows4(colsum, a, a + row_stride, a + 2 * row_stride, a + 3 * row_stride, w);
            }
            for (; y < chunk_end; y++)
                vsig_add_rows1(colsum, plane + (int64_t)y * row_stride, w);
            ys = vsig_next_sampled(chunk_start, pp->ystep);
            for (; ys + pp->ystep < chunk_end; ys += 2 * pp->ystep) {
                const uint8_t *a = plane + (int64_t)ys * row_stride;
                add_rows2_sq(colsum_s, colsq, a, a + pp->ystep * row_stride, w);
            }
            if (ys < chunk_end)
                add_row_sq(colsum_s, colsq, plane + (int64_t)ys * row_stride, w);
            for (c = 0; c < VSIG_GRID; c++) {
                uint32_t s = 0, s2 = 0, x;
                uint64_t q = 0;
                for (x = p->col_start[c]; x < p->col_start[c + 1]; x++) {
                    s += colsum[x];
                    s2 += colsum_s[x];
                    q += colsq[x];
                }
                blocks[r * VSIG_GRID + c] += s;
                ssum[r * VSIG_GRID + c] += s2;
                ssq[r * VSIG_GRID + c] += q;
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
        size_t w16 = 2 * (size_t)p->width > pp->cwidth ? 2 * (size_t)p->width : pp->cwidth;
        uint16_t *scratch16 = (uint16_t *)malloc(w16 * sizeof(uint16_t));
        uint32_t *colsq = (uint32_t *)malloc((size_t)p->width * sizeof(uint32_t));
        uint32_t blocks[VSIG_NCELLS], ssum[VSIG_NCELLS], usum[VSIG_PCELLS], vsum[VSIG_PCELLS];
        uint64_t ssq[VSIG_NCELLS];
        int64_t i;
        if (!scratch16 || !colsq)
            failed = 1;
#pragma omp for schedule(dynamic, 1)
        for (i = 0; i < n; i++) {
            if (failed)
                continue;
            vsig_block_moments(p, pp, in->y + i * in->y_frame_stride, in->y_row_stride, scratch16, colsq, blocks,
                               ssum, ssq);
            vsig_frame_signature(blocks, p, framesig + i * VSIG_FRAMESIG_BYTES, words + i * VSIG_NWORDS,
                                 confidence + i);
            vsig_chroma_sums(pp, in->u + i * in->u_frame_stride, in->u_row_stride, scratch16, usum);
            vsig_chroma_sums(pp, in->v + i * in->v_frame_stride, in->v_row_stride, scratch16, vsum);
            vsig_profile_frame(blocks, ssum, ssq, usum, vsum, p, pp, profile + i * VSIG_PROFILE_BYTES);
        }
        free(scratch16);
        free(colsq);
    }
    return failed ? VSIG_ENOMEM : VSIG_OK;
}
