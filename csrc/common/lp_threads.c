#include "common/lp_threads.h"

#include <omp.h>
#include <pthread.h>
#include <stdlib.h>

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

/* Largest thread count (the calling thread included) known to be creatable in this process. libgomp keeps its
 * pool threads alive, so once a region ran with k threads, k threads exist; only a larger count is probed. */
static int proven_threads = 1;
static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;

static void *probe_thread(void *arg) {
    return arg;
}

/* Creates want-1 threads, all alive at once (a thread that has returned keeps its stack until it is joined),
 * then joins them; returns how many threads, the caller's included, could exist together. */
static int probe_threads(int want) {
    pthread_t *ids = malloc((size_t)want * sizeof(pthread_t));
    int created = 0;
    if (!ids) return 1;
    while (created < want - 1 && pthread_create(&ids[created], NULL, probe_thread, NULL) == 0) created++;
    for (int k = 0; k < created; k++) pthread_join(ids[k], NULL);
    free(ids);
    return created + 1;
}

static int available_threads(int n) {
    int known = __atomic_load_n(&proven_threads, __ATOMIC_ACQUIRE);
    if (n <= known) return n;
    pthread_mutex_lock(&probe_lock);
    known = proven_threads;
    if (n > known) {
        int got = probe_threads(n);
        if (got > known) known = got;
        __atomic_store_n(&proven_threads, known, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&probe_lock);
    return n < known ? n : known;
}

int lp_resolve_threads(int requested, long long n_items) {
    if (forked_child) return 1;
    int procs = omp_get_num_procs();
    if (procs < 1) procs = 1;
    int n = requested > 0 ? requested : procs;
    if (n > LP_MAX_THREADS_PER_CPU * procs) n = LP_MAX_THREADS_PER_CPU * procs;
    if (n_items < (long long)n) n = n_items > 0 ? (int)n_items : 1;
    return n > 1 ? available_threads(n) : 1;
}
