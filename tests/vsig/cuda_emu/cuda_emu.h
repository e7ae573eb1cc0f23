/* Host emulation of the CUDA built-ins the lpcore kernels use, so that kernels/vsig.cu compiles with g++ and its
 * grid runs on the CPU (tests/test_vsig_gpu_emu.py). Test-only: never shipped, never used for results.
 *
 * Semantics: every CUDA thread of a thread block is a coroutine (its own stack, entered once through ucontext, then
 * switched with _setjmp/_longjmp) and one OS thread runs them. A thread runs until it reaches a barrier (__syncthreads, or the warp rendezvous inside a shuffle) and
 * then yields to the scheduler; the scheduler releases a warp barrier when every live lane of that warp is waiting
 * on it and a block barrier when every live thread of the block is, and reports a deadlock (a barrier some threads
 * can never reach, which is undefined behaviour on a GPU) instead of hanging. This gives __syncthreads its exact
 * meaning (no thread passes before all arrive, shared-memory writes before it are visible after it) without
 * assuming anything about how the kernel is structured. Threads run one at a time in tid order, which is one of
 * the schedules a GPU may pick; kernels whose result depends on the schedule are wrong anyway. Since each thread
 * runs as far as it can before the next one starts, thread 0 races ahead of the others: a missing barrier shows up
 * as wrong output (tests build the kernels with LP_EMU_NO_SYNCTHREADS to check that it does).
 *
 * Thread blocks run one after another. __shared__ becomes `static`: one copy per kernel, which is exactly one
 * copy per running thread block here. Only __shfl_down_sync with a full mask is provided (all our kernels need).
 */
#ifndef LP_CUDA_EMU_H
#define LP_CUDA_EMU_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <ucontext.h>

#include <functional>
#include <vector>

#define LP_CUDA_EMU 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static

struct emu_dim3 {
    unsigned int x, y, z;
};

namespace emu {

enum State { RUNNABLE, WAIT_BLOCK, WAIT_WARP, DONE };

struct Thread {
    ucontext_t ctx;     /* first entry only */
    jmp_buf resume;     /* where a waiting thread continues */
    State state;
    bool started;
    std::vector<char> stack;
};

/* The launch being run. Plain globals: exactly one coroutine runs at any time. */
static emu_dim3 grid_dim, block_dim, block_idx, thread_idx;
static jmp_buf scheduler;
static std::vector<Thread> threads;
static std::function<void()> body;
static int current;
static uint64_t slots[1024];     /* shuffle exchange, one per thread */
static unsigned long long barriers;  /* barriers released (tests check the emulation really synchronised) */

static const size_t STACK_BYTES = 128 * 1024;

/* Context switches are _setjmp/_longjmp between stacks that ucontext set up once per thread: unlike
 * swapcontext they make no signal-mask system call, which keeps the block-sum kernel's ~10 shuffle rendezvous per
 * warp and block column affordable. */
static void entry()
{
    body();
    threads[current].state = DONE;
    _longjmp(scheduler, 1);
}

static void wait(State s)
{
    threads[current].state = s;
    if (!_setjmp(threads[current].resume))
        _longjmp(scheduler, 1);
}

/* Runs thread t until it waits or finishes. */
static void resume(int t)
{
    current = t;
    thread_idx = {(unsigned)t, 0, 0};
    if (!_setjmp(scheduler)) {
        if (!threads[t].started) {
            threads[t].started = true;
            setcontext(&threads[t].ctx);
        }
        _longjmp(threads[t].resume, 1);
    }
}

/* Releases every barrier whose waiters are complete. Returns 1 if any thread became runnable, 0 if all are done,
 * -1 on deadlock. */
static int release(int nt)
{
    int live = 0, at_block = 0, released = 0;
    for (int w = 0; w * 32 < nt; w++) {
        int wl = 0, ww = 0;
        for (int t = w * 32; t < nt && t < w * 32 + 32; t++) {
            if (threads[t].state != DONE) wl++;
            if (threads[t].state == WAIT_WARP) ww++;
        }
        if (ww && ww == wl) {
            for (int t = w * 32; t < nt && t < w * 32 + 32; t++)
                threads[t].state = RUNNABLE;
            released = 1;
            barriers++;
        }
    }
    if (released)
        return 1;
    for (int t = 0; t < nt; t++) {
        if (threads[t].state != DONE) live++;
        if (threads[t].state == WAIT_BLOCK) at_block++;
    }
    if (!live)
        return 0;
    if (at_block == live) {
        for (int t = 0; t < nt; t++)
            if (threads[t].state == WAIT_BLOCK) threads[t].state = RUNNABLE;
        barriers++;
        return 1;
    }
    return -1;
}

/* Runs body() as a grid of gx thread blocks of bx threads (1-D, like every lpcore launch).
 * Returns 0, or -1 if a thread block deadlocked on a barrier (the launch is abandoned). */
static int launch(unsigned gx, unsigned bx, std::function<void()> kernel)
{
    if (bx == 0 || bx > 1024)
        return -1;
    body = kernel;
    grid_dim = {gx, 1, 1};
    block_dim = {bx, 1, 1};
    threads.resize(bx);
    for (auto &t : threads)
        if (t.stack.size() != STACK_BYTES) t.stack.resize(STACK_BYTES);
    for (unsigned b = 0; b < gx; b++) {
        block_idx = {b, 0, 0};
        for (unsigned t = 0; t < bx; t++) {
            getcontext(&threads[t].ctx);
            threads[t].ctx.uc_stack.ss_sp = threads[t].stack.data();
            threads[t].ctx.uc_stack.ss_size = STACK_BYTES;
            threads[t].ctx.uc_link = NULL;  /* entry() never returns */
            makecontext(&threads[t].ctx, entry, 0);
            threads[t].state = RUNNABLE;
            threads[t].started = false;
        }
        for (;;) {
            for (unsigned t = 0; t < bx; t++) {
                while (threads[t].state == RUNNABLE)
                    resume((int)t);
            }
            int rc = release((int)bx);
            if (rc == 0)
                break;
            if (rc < 0) {
                fprintf(stderr, "cuda_emu: deadlock in thread block %u\n", b);
                return -1;
            }
        }
    }
    return 0;
}

}  // namespace emu

template <class T>
static inline T __ldg(const T *p) { return *p; }

#define threadIdx (emu::thread_idx)
#define blockIdx (emu::block_idx)
#define blockDim (emu::block_dim)
#define gridDim (emu::grid_dim)

#ifdef LP_EMU_NO_SYNCTHREADS
/* Mutation build for the tests: barriers removed, so a kernel that needs them must give wrong output. */
static inline void __syncthreads() {}
#else
static inline void __syncthreads() { emu::wait(emu::WAIT_BLOCK); }
#endif

/* Lane l gets lane l+delta's value (its own if l+delta is past the warp), as on the GPU. */
template <class T>
static inline T __shfl_down_sync(unsigned mask, T v, int delta)
{
    int t = (int)threadIdx.x, lane = t % 32;
    (void)mask;
    emu::slots[t] = (uint64_t)v;
    emu::wait(emu::WAIT_WARP);  /* every lane has published */
    T r = (lane + delta < 32 && t + delta < (int)blockDim.x) ? (T)emu::slots[t + delta] : v;
    emu::wait(emu::WAIT_WARP);  /* every lane has read before anyone publishes again */
    return r;
}

#endif /* LP_CUDA_EMU_H */
