/* Thread-count policy shared by every batch loop in csrc/. */
#ifndef LP_THREADS_H
#define LP_THREADS_H

/* At most this many threads per usable core (Python: lpcore._args.MAX_THREADS_PER_CPU). More only cost memory
 * and scheduling, and libgomp ends the process ("Thread creation failed", exit 1) when it cannot create the
 * threads a parallel region asks for. */
#define LP_MAX_THREADS_PER_CPU 4

/* Returns the number of OpenMP threads a batch call should use.
 * In: requested  <= 0 means "all cores" (Python's threads=None); otherwise that many threads, clamped to
 *                LP_MAX_THREADS_PER_CPU per core.
 *     n_items    number of independent items in the batch; never more threads than items (min 1).
 * Never more threads than this process has shown it can create: the first time a count above the proven one is
 * asked for, that many threads are created and joined once (pthreads, default attributes, as libgomp uses),
 * and where creation fails the count falls back to the threads that could be created (at least 1).
 * Always 1 in a process forked after this module was loaded (GNU OpenMP's pool does not survive fork()). */
int lp_resolve_threads(int requested, long long n_items);

#endif
