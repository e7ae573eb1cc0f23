/* Thread-count policy shared by every batch loop in csrc/. */
#ifndef LP_THREADS_H
#define LP_THREADS_H

/* Returns the number of OpenMP threads a batch call should use.
 * In: requested  <= 0 means "all cores" (Python's threads=None); otherwise that many threads.
 *     n_items    number of independent items in the batch; never more threads than items (min 1).
 * Always 1 in a process forked after this module was loaded (GNU OpenMP's pool does not survive fork()). */
int lp_resolve_threads(int requested, long long n_items);

#endif
