/* Work splitting shared by the batch loops in csrc/pm. */
#ifndef LP_PM_BATCH_H
#define LP_PM_BATCH_H

#include "common/lp_threads.h"

/* Rows per work unit handed to a thread. Batch loops use schedule(dynamic, chunk): rows are independent, so the
 * result is the same for any schedule, and on a shared machine a descheduled thread does not hold back the rest
 * of the batch. A hash row costs ~0.4 us, a secp256k1 operation ~20-50 us. */
#define LP_HASH_CHUNK 512
#define LP_SECP_CHUNK 8

/* Hash batches go parallel only from this many keccak-f permutations (~10-25 ms of work on one core). A parallel
 * region ends when its slowest thread does: on a busy machine a worker that is not scheduled costs a scheduler
 * time slice (several ms), which measured 5-10x slower than one thread for a 10 000-ticket winner check at load
 * 10 on 2 cores; above the threshold the work amortizes such a stall. One core hashes ~6 million rows per second. */
#define LP_HASH_PARALLEL_MIN_PERMUTATIONS 65536

/* Threads for a hash batch of n rows of `perms_per_row` permutations each (1 when below the threshold). */
static inline int lp_hash_threads(int requested, size_t n, size_t perms_per_row) {
    if ((unsigned long long)n * (perms_per_row ? perms_per_row : 1) < LP_HASH_PARALLEL_MIN_PERMUTATIONS) return 1;
    return lp_resolve_threads(requested, (long long)n);
}

#endif
