/* MPEG-7 video signature lookup (spec/vsig.md §5): coarse candidates, frame pairs + Hough voting,
 * evaluation walk. One engine, parameterised so that each preset (FFmpeg <= 7.0, FFmpeg >= 7.1, the
 * Livepeer fork, and lpcore's corrected "exact" matcher) is a set of flags rather than a code path.
 *
 * Frames are addressed by index (0..n-1) instead of FFmpeg's linked lists; "has a successor" is
 * index + 1 < n. The caller checks shapes; these functions trust their arguments except where a
 * field comes from a file (bytes > 242, segment starts), which is always range-checked here. */
#ifndef LP_MATCH_H
#define LP_MATCH_H

#include <stdint.h>

#include "common/lp_common.h"
#include "vsig_common.h"

/* The signature layout is vsig's (kernels/vsig_common.h); the matcher only renames it. */
#define LP_MATCH_FRAMESIG_BYTES VSIG_FRAMESIG_BYTES /* 380 trits, 5 per byte */
#define LP_MATCH_BAG_BYTES VSIG_BAG_BYTES           /* one 243-bit bag-of-words bitmap */
#define LP_MATCH_WORDS VSIG_NWORDS
#define LP_MATCH_COARSE_SIZE VSIG_COARSE_SIZE       /* frames per coarse segment = Hough window */
#define LP_MATCH_PLANE_WORDS 12      /* 380 trits as two 6 x 64-bit planes */
#define LP_MATCH_CACHE_MAX (4LL << 20) /* largest na*nb whose distance matrix is cached (16 MiB) */

/* One signature, as columns (VideoSignature's arrays). */
typedef struct lp_match_stream {
    const uint8_t *framesig;   /* n x 76 packed trits; bytes > 242 (corrupt input) are read as 242 */
    const uint8_t *confidence; /* n */
    int64_t n;                 /* frames */
    const uint8_t *bags;       /* nseg x 5 x 31 bitmaps (MSB-first) */
    const int64_t *seg_first;  /* nseg start frame indices; < 0 or >= n means "no frame" (skipped) */
    int64_t nseg;
} lp_match_stream;

enum { LP_JACCARD_INT = 0,   /* FFmpeg <= 7.0 and Livepeer: I div U, accepts every coarse pair */
       LP_JACCARD_Q16 = 1 }; /* FFmpeg >= 7.1: 65536 - 65536*I div U (65536 when I = 0) */

enum { LP_ROUND_TRUNC = 0,     /* upstream: offset = p - trunc(m*i + 0.5) */
       LP_ROUND_NEARBYINT = 1 }; /* Livepeer: offset = p - nearbyint(m*i + 0.5), round half to even */

enum { LP_MODE_FULL = 0, LP_MODE_FAST = 1 };

typedef struct lp_match_params {
    int th_d;      /* word "too far" threshold, coarse (9000) */
    int th_dc;     /* composite coarse threshold (60000) */
    int th_xh;     /* fine L1 threshold (116 upstream, 150 Livepeer) */
    int th_di;     /* minimum match length in frames, 0 = off */
    double th_it;  /* minimum good/visited ratio; compatible presets pass the effective int (§5.1) */
    int mode;      /* LP_MODE_FULL or LP_MODE_FAST */
    int jaccard;   /* LP_JACCARD_* */
    int rounding;  /* LP_ROUND_* */
    int full_offset_scan;     /* 1: read Hough offsets -89..+89 (fixes B1); 0: -89..-1 only */
    int include_last_frame;   /* 1: the last frame takes part in stage 2 (fixes B8) */
    int reset_walk_state;     /* 1: stage-3 state is reset per candidate (fixes B7) */
    int diagonal_walk;        /* 1 ("exact"): stage 3 visits every frame pair of the candidate's alignment
                               * (no 3-bad-frames stop); th_it is then the minimum share of good frames among
                               * the informative ones, "whole" means one stream is covered end to end, and the
                               * best candidate is the whole one, then the one with most good frames */
    int model_b2_crash;       /* upstream: flag the SIGSEGV of bug B2 and stop, as FFmpeg would */
} lp_match_params;

typedef struct lp_match_result {
    int code;              /* 0 no match, 1 partial, 2 whole (Livepeer's result code) */
    int whole;             /* walk reached both ends */
    int64_t first_a;       /* matched start frame in stream a, -1 without a match */
    int64_t first_b;       /* matched start frame in stream b, -1 without a match */
    int matchframes;       /* frames walked in stream b (FFmpeg's bcount) */
    int offset;            /* Hough offset of the accepted candidate */
    int score;             /* Hough votes of the accepted candidate (0 = no match) */
    double framerateratio; /* 1.0 or 2.0 (frames of b per frame of a) */
    double meandist;       /* mean L1 of the good frames (99999 without a match) */
    int reference_crash;   /* 1: FFmpeg would have crashed here (bug B2); the search stopped */
    int64_t coarse_pairs;  /* coarse pairs that passed stage 1 */
    int64_t candidates;    /* stage-2 candidates evaluated */
} lp_match_result;

/* Expands packed frame signatures into bit planes for the L1 distance: for each trit t, bit "lo" is
 * t >= 1 and bit "hi" is t == 2, so |t_a - t_b| = [lo_a != lo_b] + [hi_a != hi_b] and the 380-trit L1
 * is the popcount of 12 XORed words.
 * In:  framesig  n x 76 bytes (bytes > 242 are read as 242, deterministically; FFmpeg reads out of
 *                its table there)
 *      n         number of frames (>= 0)
 * Out: planes    n x 12 uint64 words */
void lp_match_planes(const uint8_t *framesig, int64_t n, uint64_t *planes);

/* Trit L1 distance of two frames from their planes (0..760). */
int lp_match_l1(const uint64_t *pa, const uint64_t *pb);

/* Runs the three-stage lookup of a against b. Allocates once per call: the bit planes and, when
 * na*nb <= LP_MATCH_CACHE_MAX, a distance matrix filled lazily (overlapping coarse segments otherwise
 * recompute each frame pair up to four times).
 * Work is bounded whatever the content: stage 2 costs O(90^3) per coarse pair even when every frame pair ties
 * (FFmpeg's loop is O(90^4) there), windows with identical frame-pair lists vote once, and the "exact"
 * preset walks each alignment line once per lookup.
 * Returns LP_OK, or LP_ERR_NOMEM if memory could not be allocated (out untouched).
 * In:  params  the preset flags and thresholds
 *      a, b    the two signatures (a is FFmpeg's input 0)
 * Out: out     the result (see lp_match_result) */
LP_WARN_UNUSED_RESULT LP_NONNULL(1, 2, 3, 4) int lp_match_lookup(const lp_match_params *params,
                                                                const lp_match_stream *a, const lp_match_stream *b,
                                                                lp_match_result *out);

/* Runs n independent lookups a[i] against b[i] on `threads` OpenMP threads (<= 0: all cores); each thread
 * allocates one scratch buffer, grown to its largest pair, instead of one per pair.
 * Returns LP_OK, or LP_ERR_NOMEM if memory ran out for some pair (its out[i] then has code -1).
 * In:  params  shared by all pairs
 *      a, b    n streams each
 * Out: out     n results */
LP_WARN_UNUSED_RESULT int lp_match_lookup_batch(const lp_match_params *params, const lp_match_stream *a,
                                                const lp_match_stream *b, int64_t n, lp_match_result *out,
                                                int threads);

#endif
