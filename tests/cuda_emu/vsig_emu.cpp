/* kernels/vsig.cu compiled for the CPU under tests/cuda_emu/cuda_emu.h, with C entry points for ctypes.
 * Each entry point launches a kernel exactly as lpcore.vsig.cuda does (same grid shape), with a caller-chosen
 * thread-block size so the tests can check that the result does not depend on it. */
#include "cuda_emu.h"

#include "vsig.cu"

extern "C" {

/* Returns 0, or -1 if the emulated launch failed (deadlock, bad block size). */
int emu_block_sums(const uint8_t *frames, long long frame_stride, long long row_stride, uint32_t width,
                   uint32_t height, int n_frames, uint32_t *blocks, int threads)
{
    return emu::launch((unsigned)n_frames * VSIG_GRID, (unsigned)threads, [=] {
        vsig_block_sums_kernel(frames, frame_stride, row_stride, width, height, n_frames, blocks);
    });
}

int emu_signature(const uint32_t *blocks, uint32_t width, uint32_t height, int n_frames, uint8_t *framesig,
                  uint8_t *words, uint8_t *confidence, int threads)
{
    return emu::launch((unsigned)n_frames, (unsigned)threads, [=] {
        vsig_signature_kernel(blocks, width, height, n_frames, framesig, words, confidence);
    });
}

/* Barriers released since load: lets the test assert the emulation synchronised threads at all. */
unsigned long long emu_barriers(void) { return emu::barriers; }
}
