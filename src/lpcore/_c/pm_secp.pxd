# csrc/pm/secp.h
from libc.stdint cimport uintptr_t

cdef extern from "pm/secp.h" nogil:
    ctypedef struct lp_secp:
        pass
    enum:
        LP_SECP_FN_COUNT
    const char *lp_secp_function_name(int index)
    int lp_secp_init(lp_secp *s, const uintptr_t *fns, size_t n_fns, unsigned int context_flags,
                     unsigned int ec_uncompressed, const unsigned char *seed32)
