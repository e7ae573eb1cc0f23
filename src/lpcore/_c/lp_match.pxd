# csrc/match/lp_match.h
from libc.stdint cimport int64_t, uint8_t, uint64_t

cdef extern from "match/lp_match.h" nogil:
    enum:
        LP_MATCH_FRAMESIG_BYTES
        LP_MATCH_BAG_BYTES
        LP_MATCH_WORDS
        LP_MATCH_COARSE_SIZE
        LP_MATCH_PLANE_WORDS

    ctypedef struct lp_match_stream:
        const uint8_t *framesig
        const uint8_t *confidence
        int64_t n
        const uint8_t *bags
        const int64_t *seg_first
        int64_t nseg

    ctypedef struct lp_match_params:
        int th_d
        int th_dc
        int th_xh
        int th_di
        double th_it
        int mode
        int jaccard
        int rounding
        int full_offset_scan
        int include_last_frame
        int reset_walk_state
        int diagonal_walk
        int model_b2_crash

    ctypedef struct lp_match_result:
        int code
        int whole
        int64_t first_a
        int64_t first_b
        int matchframes
        int offset
        int score
        double framerateratio
        double meandist
        int reference_crash
        int64_t coarse_pairs
        int64_t candidates

    void lp_match_planes(const uint8_t *framesig, int64_t n, uint64_t *planes)
    int lp_match_l1(const uint64_t *pa, const uint64_t *pb)
    int lp_match_lookup(const lp_match_params *params, const lp_match_stream *a, const lp_match_stream *b,
                        lp_match_result *out)
    int lp_match_lookup_batch(const lp_match_params *params, const lp_match_stream *a, const lp_match_stream *b,
                              int64_t n, lp_match_result *out, int threads)
