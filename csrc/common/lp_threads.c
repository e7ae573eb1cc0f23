#include "common/lp_threads.h"

#include <omp.h>
#include <pthread.h>

/* GNU OpenMP's thread pool does not survive fork(): in the child the pool's threads are gone but libgomp still
 * counts on them, so the first parallel region with more than one thread hangs forever (multiprocessing's fork
 * start method, pre-forking servers). Any module of the process may have started the pool, so every fork after
 * this extension is loaded marks the child, and batch loops there run on the calling thread, which is safe. */
static volatile int forked_child = 0;

static void mark_forked_child(void) {
    forked_child = 1; /* runs in the child, which has one thread at this point */
}

__attribute__((constructor)) static void register_fork_handler(void) {
    pthread_atfork(NULL, NULL, mark_forked_child);
}

int lp_resolve_threads(int requested, long long n_items) {
    if (forked_child) return 1;
    int n = requested > 0 ? requested : omp_get_num_procs();
    if (n < 1) n = 1;
    if (n_items < (long long)n) n = n_items > 0 ? (int)n_items : 1;
    return n;
}
