/* kernels/vsig.cu compiled for the CPU under tests/cuda_emu/cuda_emu.h, with C entry points for ctypes.
 * Each entry point is one kernel launch with the caller's grid and block sizes (the tests use lpcore.vsig.cuda's
 * launch shapes, and other block sizes to show the result does not depend on them). LP_EMU_KERNEL names the
 * kernel source to include (default: vsig.cu from the include path). */
#include "cuda_emu.h"

#ifdef LP_EMU_KERNEL
#include LP_EMU_KERNEL
#else
#include "vsig.cu"
#endif

extern "C" {

/* Returns 0, or -1 if the emulated launch failed (deadlock, bad block size). */
int emu_block_sums(unsigned grid, unsigned threads, const uint8_t *frames, long long frame_stride,
                   long long row_stride, uint32_t width, uint32_t height, int n_frames, uint32_t *blocks)
{
    return emu::launch(grid, threads, [=] {
        vsig_block_sums_kernel(frames, frame_stride, row_stride, width, height, n_frames, blocks);
    });
}

int emu_signature(unsigned grid, unsigned threads, const uint32_t *blocks, uint32_t width, uint32_t height,
                  int n_frames, uint8_t *framesig, uint8_t *words, uint8_t *confidence)
{
    return emu::launch(grid, threads, [=] {
        vsig_signature_kernel(blocks, width, height, n_frames, framesig, words, confidence);
    });
}

int emu_profile_sums(unsigned grid, unsigned threads, const uint8_t *y, long long yfs, long long yrs,
                     const uint8_t *u, long long ufs, long long urs, const uint8_t *v, long long vfs, long long vrs,
                     uint32_t width, uint32_t height, uint32_t cwidth, uint32_t cheight, int n_frames,
                     uint32_t *blocks, uint32_t *ssum, unsigned long long *ssq, uint32_t *usum, uint32_t *vsum)
{
    return emu::launch(grid, threads, [=] {
        vsig_profile_sums_kernel(y, yfs, yrs, u, ufs, urs, v, vfs, vrs, width, height, cwidth, cheight, n_frames,
                                 blocks, ssum, ssq, usum, vsum);
    });
}

int emu_profile(unsigned grid, unsigned threads, const uint32_t *blocks, const uint32_t *ssum,
                const unsigned long long *ssq, const uint32_t *usum, const uint32_t *vsum, uint32_t width,
                uint32_t height, uint32_t cwidth, uint32_t cheight, int n_frames, uint8_t *profile)
{
    return emu::launch(grid, threads, [=] {
        vsig_profile_kernel(blocks, ssum, ssq, usum, vsum, width, height, cwidth, cheight, n_frames, profile);
    });
}

/* Barriers released since load: lets the test assert the emulation synchronised threads at all. */
unsigned long long emu_barriers(void) { return emu::barriers; }
}
