/* MPEG-7 video signatures on the GPU (spec/vsig.md §1-§2), loaded by lpcore.vsig.cuda through cupy.RawModule
 * (NVRTC, include path = this directory). All arithmetic after the pixel reads is vsig_common.h, the same code the
 * CPU path runs, so GPU and CPU output are identical by construction; tests/test_vsig_gpu_emu.py runs this very
 * file on the CPU (tests/cuda_emu/cuda_emu.h) and compares it with the CPU path byte for byte.
 *
 * Two launches per chunk of frames:
 *   vsig_block_sums_kernel  (N,H,W) uint8 luma, any frame/row stride  ->  (N,32,32) uint32 block sums
 *   vsig_signature_kernel   block sums  ->  (N,76) framesig, (N,5) words, (N,) confidence
 *
 * Kernel contract (checked by the Python caller, trusted here): 32 <= width, height <= VSIG_MAX_DIM; frames points
 * at pixel (0,0) of frame 0; pixels within a row are contiguous; strides are in bytes and may be negative; all
 * output arrays are C-contiguous with n_frames rows. Rows are read as aligned 32-bit words, so up to 3 bytes
 * before/after a row's pixels (inside the same aligned word, hence the same allocation) are read and ignored.
 */
#include "vsig_common.h"

#if !defined(__CUDACC__) && !defined(LP_CUDA_EMU)
/* NVRTC and nvcc define __CUDACC__; the host emulation (tests/cuda_emu) includes its shim before this file. */
#error "vsig.cu is CUDA source: compile it with NVRTC/nvcc, or with tests/cuda_emu/cuda_emu.h"
#endif

#define VSIG_WARP 32
#define VSIG_FULL_MASK 0xffffffffu
#ifdef __CUDACC__
#define LP_UNROLL4 _Pragma("unroll 4")
#else
#define LP_UNROLL4
#endif

/* ---- (1) block sums -------------------------------------------------------------------------------------------
 * Launch: grid = n_frames*32 thread blocks (one per frame and block row), block = a multiple of 32 threads
 * (256 recommended). Each warp owns block columns warp, warp+nwarps, ...; for each, its lanes read the pixel rows
 * of the block row as aligned 32-bit words (a group of lanes per row, consecutive lanes on consecutive words, so a
 * warp load is up to 128 contiguous bytes), mask off the bytes outside the block column (any pitch and alignment
 * work: rows are re-aligned one by one), add the four bytes with two SWAR steps, and one shuffle reduction gives
 * the block sum, written once. No atomics and no shared memory: each output element has exactly one writer.
 * An aligned word holding one of our bytes lies inside the same allocation (CUDA allocations are >= 256-byte
 * aligned), so the masked neighbour bytes are always readable.
 *
 * Per-lane sums stay far below 2^32: a lane sees at most ceil(H/32) rows of ceil((ceil(W/32)+6)/128) words x 1020.
 * The partition is vsig_block_start(), the same helper behind the CPU's row_start/col_start tables. */
extern "C" __global__ void vsig_block_sums_kernel(const uint8_t *__restrict__ frames, long long frame_stride,
                                                  long long row_stride, uint32_t width, uint32_t height,
                                                  int n_frames, uint32_t *__restrict__ blocks)
{
    const int frame = (int)(blockIdx.x / VSIG_GRID);
    const int r = (int)(blockIdx.x % VSIG_GRID);
    const int lane = (int)(threadIdx.x % VSIG_WARP);
    const int warp = (int)(threadIdx.x / VSIG_WARP);
    const int nwarps = (int)(blockDim.x / VSIG_WARP);
    const uint32_t y0 = vsig_block_start((uint32_t)r, height), y1 = vsig_block_start((uint32_t)r + 1, height);
    const uint8_t *plane = frames + (long long)frame * frame_stride;
    int c;
    if (frame >= n_frames)
        return;  /* uniform per thread block: the reduction below always has all 32 lanes */
    for (c = warp; c < VSIG_GRID; c += nwarps) {
        const uint32_t x0 = vsig_block_start((uint32_t)c, width), x1 = vsig_block_start((uint32_t)c + 1, width);
        const uint32_t span = x1 - x0;
        /* A row's [x0, x1) touches at most (span + 6) / 4 aligned words; the warp splits into groups of `group`
         * lanes (a power of two covering them, at most 32), each group taking one row per pass. */
        const uint32_t max_words = (span + 6) / 4;
        uint32_t group = 1, acc = 0, y;
        int off;
        while (group < max_words && group < VSIG_WARP)
            group *= 2;
        LP_UNROLL4
        for (y = y0 + (uint32_t)lane / group; y < y1; y += VSIG_WARP / group) {
            const uint8_t *first = plane + (long long)y * row_stride + x0;
            const uint32_t mis = (uint32_t)((unsigned long long)first & 3u);
            const uint32_t *words = (const uint32_t *)(const void *)(first - mis);
            const uint32_t nwords = (mis + span + 3) / 4;
            uint32_t i;
            for (i = (uint32_t)lane % group; i < nwords; i += group) {
                const uint32_t lo = 4 * i < mis ? mis - 4 * i : 0;            /* first byte of ours in the word */
                const uint32_t hi = mis + span - 4 * i >= 4 ? 4 : mis + span - 4 * i;  /* one past our last */
                const uint32_t w = __ldg(words + i) & (0xffffffffu << (8 * lo)) & (0xffffffffu >> (8 * (4 - hi)));
                const uint32_t pairs = (w & 0x00ff00ffu) + ((w >> 8) & 0x00ff00ffu);
                acc += (pairs & 0xffffu) + (pairs >> 16);
            }
        }
        for (off = VSIG_WARP / 2; off > 0; off /= 2)
            acc += __shfl_down_sync(VSIG_FULL_MASK, acc, off);
        if (lane == 0)
            blocks[(long long)frame * VSIG_NCELLS + r * VSIG_GRID + c] = acc;
    }
}

/* ---- (2) fine signature ---------------------------------------------------------------------------------------
 * Launch: grid = n_frames thread blocks (one per frame), any block size (128 recommended); every phase is a
 * strided loop over its work items, separated by __syncthreads(). The phases are the steps of
 * vsig_frame_signature() spread over threads:
 *   SAT terms (1024 cells) -> row prefix sums (32 rows) -> column prefix sums (32 columns)   [mod 2^64, so the
 *   order of additions does not matter] -> element values + D-element confidences (380) -> thresholds (one
 *   thread per category, vsig_category_threshold) -> trits (380) -> packing, words, confidence (3 threads). */

extern "C" __global__ void vsig_signature_kernel(const uint32_t *__restrict__ blocks, uint32_t width,
                                                 uint32_t height, int n_frames, uint8_t *__restrict__ framesig,
                                                 uint8_t *__restrict__ words, uint8_t *__restrict__ confidence)
{
    __shared__ vsig_params params;
    __shared__ uint64_t sat[VSIG_NCELLS];
    __shared__ int64_t values[VSIG_NELEM];
    __shared__ uint64_t scratch[VSIG_NELEM];     /* vsig_category_threshold's sort buffer, per category slice */
    __shared__ uint64_t thresholds[VSIG_NCAT];
    __shared__ uint16_t conf[VSIG_NDIFF];        /* min(conf_e, 255) of the D-elements, in element order */
    __shared__ uint8_t trits[VSIG_NELEM];
    __shared__ uint16_t hist[256];
    const int frame = (int)blockIdx.x;
    const int tid = (int)threadIdx.x, nt = (int)blockDim.x;
    const uint32_t *b = blocks + (long long)frame * VSIG_NCELLS;
    int i;
    if (frame >= n_frames)
        return;  /* uniform per thread block, before any barrier */

    if (tid == 0)
        vsig_params_init(&params, width, height);  /* cannot fail: the caller checked the size */
    __syncthreads();

    for (i = tid; i < VSIG_NCELLS; i += nt)
        sat[i] = vsig_scaled_term(b[i], &params, i / VSIG_GRID, i % VSIG_GRID);
    __syncthreads();
    for (i = tid; i < VSIG_GRID; i += nt) {        /* row i: inclusive prefix along x */
        int c;
        for (c = 1; c < VSIG_GRID; c++)
            sat[i * VSIG_GRID + c] += sat[i * VSIG_GRID + c - 1];
    }
    __syncthreads();
    for (i = tid; i < VSIG_GRID; i += nt) {        /* column i: inclusive prefix along y */
        int r;
        for (r = 1; r < VSIG_GRID; r++)
            sat[r * VSIG_GRID + i] += sat[(r - 1) * VSIG_GRID + i];
    }
    __syncthreads();

    for (i = tid; i < VSIG_NELEM; i += nt) {
        int j;
        const int cat = vsig_element_category(i, &j);
        const int64_t v = vsig_element_value(sat, &params, cat, j);
        values[i] = v;
        if (!VSIG_CATEGORIES_at(cat).av_elem)
            conf[i - (VSIG_NELEM - VSIG_NDIFF)] = (uint16_t)vsig_element_confidence_clamped(v, &params);
    }
    __syncthreads();

    for (i = tid; i < VSIG_NCAT; i += nt) {
        const vsig_category c = VSIG_CATEGORIES_at(i);
        thresholds[i] = vsig_category_threshold(values + c.elem_offset, c.elem_count, c.th_index,
                                                scratch + c.elem_offset);
    }
    __syncthreads();

    for (i = tid; i < VSIG_NELEM; i += nt) {
        int j;
        trits[i] = vsig_ternary(values[i], thresholds[vsig_element_category(i, &j)]);
    }
    __syncthreads();

    /* Three independent serial tails, on three different threads when the block has them. */
    if (tid == 0)
        vsig_pack_framesig(trits, framesig + (long long)frame * VSIG_FRAMESIG_BYTES);
    if (tid == 1 % nt)
        vsig_words(trits, words + (long long)frame * VSIG_NWORDS);
    if (tid == 2 % nt) {
        for (i = 0; i < 256; i++)
            hist[i] = 0;
        for (i = 0; i < VSIG_NDIFF; i++)
            vsig_confidence_add(hist, conf[i]);
        confidence[frame] = vsig_confidence(hist);
    }
}

/* ---- (3) verification profile: sums ---------------------------------------------------------------------------
 * Launch: grid = n_frames*64 thread blocks, one per (frame, cell row): rows 0-31 are the luma block rows, 32-47
 * the U cell rows and 48-63 the V cell rows of the profile's 16x16 chroma grid; block = a multiple of 32 threads
 * (256 recommended). Each warp owns the cell columns warp, warp+nwarps, ...; its lanes walk the cell's pixels
 * row by row, lane x on column x0+x, x0+x+32, ... (a warp load is 32 consecutive bytes), and shuffle reductions
 * give each output once: no atomics, no shared memory. A luma thread block writes the block sums over every row
 * (what vsig_signature_kernel reads, so the profile path runs this kernel instead of vsig_block_sums_kernel)
 * and the sums and sums of squares over the sampled rows; a chroma one writes its plane's cell sums over the
 * sampled rows. The partitions and the row sampling are vsig_common.h's, as on the CPU.
 * Contract as above, plus: 16 <= cwidth <= width, 16 <= cheight <= height; u and v have the same strides' rules. */
extern "C" __global__ void vsig_profile_sums_kernel(const uint8_t *__restrict__ y, long long y_frame_stride,
                                                    long long y_row_stride, const uint8_t *__restrict__ u,
                                                    long long u_frame_stride, long long u_row_stride,
                                                    const uint8_t *__restrict__ v, long long v_frame_stride,
                                                    long long v_row_stride, uint32_t width, uint32_t height,
                                                    uint32_t cwidth, uint32_t cheight, int n_frames,
                                                    uint32_t *__restrict__ blocks, uint32_t *__restrict__ ssum,
                                                    unsigned long long *__restrict__ ssq,
                                                    uint32_t *__restrict__ usum, uint32_t *__restrict__ vsum)
{
    const int frame = (int)(blockIdx.x / 64);
    const int row = (int)(blockIdx.x % 64);
    const int lane = (int)(threadIdx.x % VSIG_WARP);
    const int warp = (int)(threadIdx.x / VSIG_WARP);
    const int nwarps = (int)(blockDim.x / VSIG_WARP);
    vsig_profile_params pp;
    int c, off;
    if (frame >= n_frames)
        return;  /* uniform per thread block */
    vsig_profile_params_init(&pp, height, cwidth, cheight);  /* cannot fail: the caller checked the sizes */
    if (row < VSIG_GRID) {
        const uint8_t *plane = y + (long long)frame * y_frame_stride;
        const uint32_t y0 = vsig_block_start((uint32_t)row, height), y1 = vsig_block_start((uint32_t)row + 1, height);
        for (c = warp; c < VSIG_GRID; c += nwarps) {
            const uint32_t x0 = vsig_block_start((uint32_t)c, width), x1 = vsig_block_start((uint32_t)c + 1, width);
            uint32_t all = 0, sampled = 0, yy, x;
            unsigned long long sq = 0;
            for (yy = y0; yy < y1; yy++) {
                const uint8_t *line = plane + (long long)yy * y_row_stride;
                const int take = (yy % pp.ystep) == 0;
                for (x = x0 + (uint32_t)lane; x < x1; x += VSIG_WARP) {
                    const uint32_t p = __ldg(line + x);
                    all += p;
                    if (take) {
                        sampled += p;
                        sq += p * p;
                    }
                }
            }
            for (off = VSIG_WARP / 2; off > 0; off /= 2) {
                all += __shfl_down_sync(VSIG_FULL_MASK, all, off);
                sampled += __shfl_down_sync(VSIG_FULL_MASK, sampled, off);
                sq += __shfl_down_sync(VSIG_FULL_MASK, sq, off);
            }
            if (lane == 0) {
                const long long i = (long long)frame * VSIG_NCELLS + row * VSIG_GRID + c;
                blocks[i] = all;
                ssum[i] = sampled;
                ssq[i] = sq;
            }
        }
    } else {
        const int r = (row - VSIG_GRID) % VSIG_PGRID;
        const int is_v = row >= VSIG_GRID + VSIG_PGRID;
        const uint8_t *plane = is_v ? v + (long long)frame * v_frame_stride : u + (long long)frame * u_frame_stride;
        const long long stride = is_v ? v_row_stride : u_row_stride;
        for (c = warp; c < VSIG_PGRID; c += nwarps) {
            const uint32_t x0 = pp.col_start[c], x1 = pp.col_start[c + 1];
            uint32_t s = 0, yy, x;
            for (yy = vsig_next_sampled(pp.row_start[r], pp.cstep); yy < pp.row_start[r + 1]; yy += pp.cstep) {
                const uint8_t *line = plane + (long long)yy * stride;
                for (x = x0 + (uint32_t)lane; x < x1; x += VSIG_WARP)
                    s += __ldg(line + x);
            }
            for (off = VSIG_WARP / 2; off > 0; off /= 2)
                s += __shfl_down_sync(VSIG_FULL_MASK, s, off);
            if (lane == 0)
                (is_v ? vsum : usum)[(long long)frame * VSIG_PCELLS + r * VSIG_PGRID + c] = s;
        }
    }
}

/* ---- (4) verification profile: bytes --------------------------------------------------------------------------
 * Launch: grid = n_frames thread blocks, any block size (256 recommended): each thread writes profile bytes
 * k = tid, tid+nt, ... of its frame with vsig_profile_byte(), the function the CPU's vsig_profile_frame() loops
 * over. */
extern "C" __global__ void vsig_profile_kernel(const uint32_t *__restrict__ blocks, const uint32_t *__restrict__ ssum,
                                               const unsigned long long *__restrict__ ssq,
                                               const uint32_t *__restrict__ usum, const uint32_t *__restrict__ vsum,
                                               uint32_t width, uint32_t height, uint32_t cwidth, uint32_t cheight,
                                               int n_frames, uint8_t *__restrict__ profile)
{
    __shared__ vsig_params params;
    __shared__ vsig_profile_params pparams;
    const int frame = (int)blockIdx.x;
    const int tid = (int)threadIdx.x, nt = (int)blockDim.x;
    const long long f = frame;
    int k;
    if (frame >= n_frames)
        return;  /* uniform per thread block, before the barrier */
    if (tid == 0) {
        vsig_params_init(&params, width, height);
        vsig_profile_params_init(&pparams, height, cwidth, cheight);
    }
    __syncthreads();
    for (k = tid; k < VSIG_PROFILE_BYTES; k += nt)
        profile[f * VSIG_PROFILE_BYTES + k] =
            vsig_profile_byte(k, blocks + f * VSIG_NCELLS, ssum + f * VSIG_NCELLS,
                              (const uint64_t *)(ssq + f * VSIG_NCELLS), usum + f * VSIG_PCELLS,
                              vsum + f * VSIG_PCELLS, &params, &pparams);
}
