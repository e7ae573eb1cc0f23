# csrc/pm/keccak.h
from libc.stdint cimport int64_t, uint8_t

cdef extern from "pm/keccak.h" nogil:
    enum:
        LP_KECCAK256_RATE
    void lp_keccak256(uint8_t *out32, const uint8_t *data, size_t length)
    void lp_keccak_force_portable(int on)
    void lp_keccak256_rows(uint8_t *out, const uint8_t *data, size_t n, size_t width, size_t stride, int threads)
    int lp_keccak256_ragged(uint8_t *out, const uint8_t *data, size_t data_len, const int64_t *offsets, size_t n,
                            int threads)
