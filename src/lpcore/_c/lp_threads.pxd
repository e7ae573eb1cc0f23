# csrc/common/lp_threads.h
cdef extern from "common/lp_threads.h" nogil:
    enum:
        LP_MAX_THREADS_PER_CPU
    int lp_resolve_threads(int requested, long long n_items)
