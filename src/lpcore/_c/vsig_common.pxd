# kernels/vsig_common.h: the signature layout shared by the CPU code, the CUDA kernels, the matcher and Python.
from libc.stdint cimport uint8_t

cdef extern from "vsig_common.h" nogil:
    enum:
        VSIG_MIN_DIM
        VSIG_MAX_DIM
        VSIG_NELEM
        VSIG_FRAMESIG_BYTES
        VSIG_NWORDS
        VSIG_BAG_BYTES
        VSIG_COARSE_STEP
        VSIG_COARSE_SIZE
    uint8_t vsig_trit_at(const uint8_t *framesig, int e)
    void vsig_words(const uint8_t *trits, uint8_t *words)
