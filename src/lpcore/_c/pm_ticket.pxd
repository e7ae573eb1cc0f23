# csrc/pm/ticket.h
from libc.stdint cimport uint8_t

cdef extern from "pm/ticket.h" nogil:
    enum:
        LP_TICKET_PREIMAGE_MIN
        LP_TICKET_PREIMAGE_MAX
    ctypedef struct lp_column:
        const uint8_t *ptr
        size_t stride
    ctypedef struct lp_ticket_columns:
        lp_column recipient
        lp_column sender
        lp_column face_value
        lp_column win_prob
        lp_column sender_nonce
        lp_column recipient_rand_hash
        lp_column creation_round
        lp_column creation_round_block_hash
    void lp_ticket_hashes(uint8_t *out, const lp_ticket_columns *cols, size_t n, int threads)
    size_t lp_ticket_preimage(uint8_t *out, const lp_ticket_columns *cols, size_t i)
