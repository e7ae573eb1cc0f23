#include "common/lp_threads.h"

#include <omp.h>

int lp_resolve_threads(int requested, long long n_items) {
    int n = requested > 0 ? requested : omp_get_num_procs();
    if (n < 1) n = 1;
    if (n_items < (long long)n) n = n_items > 0 ? (int)n_items : 1;
    return n;
}
