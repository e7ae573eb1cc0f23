/* lpcore video signatures, CPU path: FFmpeg-exact MPEG-7 fine/coarse signatures and the filter's files.
 *
 * The per-frame arithmetic lives in kernels/vsig_common.h (shared with the CUDA kernels); this header adds what
 * only the host does: block sums over a strided 8-bit luma plane, the threaded batch loop, coarse (bag-of-words)
 * segments, and the binary (spec/vsig.md §4.1) and XML (§4.2) formats. Nothing here touches Python.
 *
 * Return conventions: csrc/common/lp_common.h's. Functions returning int return VSIG_OK (= LP_OK, 0) on success
 * and a negative VSIG_E* code otherwise (VSIG_ENOMEM = LP_ERR_NOMEM); vsig_strerror() gives the message. Arguments are checked by the caller (the Cython layer) unless a
 * function says otherwise; parsers check every length themselves because their input is untrusted.
 */
#ifndef LP_VSIG_H
#define LP_VSIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/lp_common.h"
#include "vsig_common.h"

enum {
    VSIG_OK = LP_OK,
    VSIG_ENOMEM = LP_ERR_NOMEM, /* allocation failed */
    VSIG_ETRUNC = -2,        /* input ends before the structure it announces */
    VSIG_ESIZE = -3,         /* input is longer than the structure it announces */
    VSIG_EHEADER = -4,       /* a fixed header field has a value FFmpeg never writes */
    VSIG_ECOUNT = -5,        /* NumOfFrames / NumOfSegments inconsistent or zero */
    VSIG_ESEGMENT = -6,      /* a segment's frame range or flag differs from FFmpeg's layout */
    VSIG_EFLAG = -7,         /* a media-time flag or the compression flag differs from FFmpeg's */
    VSIG_ERANGE = -8,        /* a word or frame-signature byte is above 242 (not 5 trits) */
    VSIG_EPADDING = -9,      /* non-zero padding bits */
    VSIG_ENDTIME = -10,      /* EndMediaTimeOfSpatialRegion is not the last segment's end time */
    VSIG_EBUFFER = -11,      /* output buffer too small (caller bug) */
    VSIG_EEMPTY = -12,       /* zero frames or zero segments: nothing to write */
    VSIG_EDERIVED = -13      /* a word, bag or segment time differs from what the frames give (strict parse) */
};

/* Returns a static, human-readable message for a VSIG_E* code. */
const char *vsig_strerror(int code);

/* ---- computation --------------------------------------------------------------------------------------------- */

/* Computes the 32x32 luma block sums of one frame with FFmpeg's partition (spec §1.2).
 * In:      p           stream constants (vsig_params_init)
 *          plane       pixel (0,0) of a p->width x p->height 8-bit plane; columns are contiguous
 *          row_stride  bytes from one row to the next (any value, including negative)
 * Scratch: colsum      p->width uint16 (per-column partial sums; contents on entry don't matter)
 * Out:     blocks      1024 sums, row-major (blocks[row*32 + col]) */
void vsig_block_sums(const vsig_params *p, const uint8_t *plane, int64_t row_stride, uint16_t *colsum,
                     uint32_t *blocks);

/* Computes the fine signatures of n frames, frames spread over OpenMP threads.
 * Returns VSIG_OK, or VSIG_ENOMEM (outputs then partly written).
 * In:  p             stream constants
 *      frames        pixel (0,0) of frame 0
 *      frame_stride  bytes from one frame to the next;  row_stride: bytes from one row to the next
 *      n             number of frames (>= 0)
 *      threads       <= 0: all cores, else that many
 * Out: framesig      n*76 bytes;  words: n*5 bytes;  confidence: n bytes */
int vsig_compute_batch(const vsig_params *p, const uint8_t *frames, int64_t frame_stride, int64_t row_stride,
                       int64_t n, int threads, uint8_t *framesig, uint8_t *words, uint8_t *confidence);

/* Returns the number of coarse segments of an n-frame stream: (n+44) div 45 (0 for n = 0). */
int64_t vsig_segment_count(int64_t n);

/* Builds the coarse signatures (spec §3): segment s covers frames [45s, min(45s+89, n-1)], and bitmap i of a
 * segment has bit words[f][i] set (MSB first) for every frame f in it.
 * In:  words      n*5 words (each 0..242);  n >= 1
 * Out: seg_first, seg_last  vsig_segment_count(n) frame indices each
 *      bags       vsig_segment_count(n) * 5 * 31 bytes (fully overwritten) */
void vsig_coarse(const uint8_t *words, int64_t n, int64_t *seg_first, int64_t *seg_last, uint8_t *bags);

/* ---- signatures as plain arrays ------------------------------------------------------------------------------ */

/* A signature as parallel arrays (the VideoSignature fields). Read-only for writers, filled by the parser. */
typedef struct {
    uint32_t width, height;
    uint64_t media_time_unit;   /* den div num of the time base (binary keeps its low 16 bits, XML all of it) */
    int64_t n;                  /* frames */
    uint64_t *pts;              /* n */
    uint8_t *confidence;        /* n */
    uint8_t *words;             /* n*5 */
    uint8_t *framesig;          /* n*76 */
    int64_t s;                  /* segments */
    int64_t *seg_first, *seg_last;          /* s each */
    uint64_t *seg_start_pts, *seg_end_pts;  /* s each */
    uint8_t *bags;              /* s*5*31 */
} vsig_signature;

/* ---- binary format (spec §4.1) -------------------------------------------------------------------------------- */

/* Returns the size in bytes of the binary file of an n-frame, s-segment signature: ceil((274+1344s+1+689n)/8). */
uint64_t vsig_binary_size(int64_t n, int64_t s);

/* Writes FFmpeg's binary export of sig (EndMediaTimeOfSpatialRegion = end pts of the last segment).
 * Returns VSIG_OK, VSIG_EEMPTY if sig has no frame or no segment, VSIG_EBUFFER if cap < vsig_binary_size().
 * Out: out  vsig_binary_size(sig->n, sig->s) bytes */
LP_WARN_UNUSED_RESULT LP_NONNULL(1, 2) int vsig_write_binary(const vsig_signature *sig, uint8_t *out, size_t cap);

/* Header facts of a binary file, found by vsig_binary_probe(). */
typedef struct {
    uint32_t width, height;     /* PixelX_2 + 1, PixelY_2 + 1 */
    uint32_t media_time_unit;   /* 16-bit field as stored */
    int64_t n, s;               /* frames and segments the parse will produce */
} vsig_binary_info;

/* Validates the structure of an untrusted binary signature and counts its frames and segments, without
 * allocating. Strict mode (livepeer = 0) accepts exactly what FFmpeg's binary_export writes (fixed fields, segment
 * layout, flags, exact length, zero padding, bytes <= 242); re-serialising a strictly parsed file gives the same
 * bytes. Livepeer mode (livepeer = 1) follows the livepeer/FFmpeg fork's binary_import (spec §6.1): NumOfFrames
 * is ignored and n = (bits after CompressionFlag) div 689; NumOfSegments = 0, a truncated segment list or n = 0
 * fail; other fixed fields are not checked. Both modes reject word/signature bytes > 242.
 * Returns VSIG_OK or a negative VSIG_E* code.
 * In:  data, len  the file
 * Out: info       on success */
LP_WARN_UNUSED_RESULT LP_NONNULL(4) int vsig_binary_probe(const uint8_t *data, size_t len, int livepeer, vsig_binary_info *info);

/* Fills sig from a file that vsig_binary_probe() accepted with the same mode. In livepeer mode each segment's
 * seg_first is re-derived like the fork: the first frame (array order) whose pts >= min(start, end pts of the
 * segment), or -1 (the fork's NULL) if none; seg_last is the last frame (array order) whose pts <= max(start, end),
 * or -1 (unused by the lookup).
 * Strict mode also checks what FFmpeg derives rather than stores freely: each frame's words against its frame
 * signature (also checked by the probe), each segment's bags and start/end pts against its frames (read only).
 * Returns VSIG_OK or a negative VSIG_E* code: VSIG_EDERIVED, VSIG_ENOMEM (scratch for those checks), or any
 * other code if data differs from the probed data.
 * In:  data, len, livepeer, info  as probed
 * Out: sig  arrays sized from info->n and info->s, allocated by the caller; scalar fields are set here */
LP_WARN_UNUSED_RESULT LP_NONNULL(4, 5) int vsig_binary_read(const uint8_t *data, size_t len, int livepeer,
                                                           const vsig_binary_info *info, vsig_signature *sig);

/* ---- XML format (spec §4.2) ------------------------------------------------------------------------------------ */

/* Returns an upper bound of the XML text length of an n-frame, s-segment signature (excluding a terminator). */
uint64_t vsig_xml_max_size(int64_t n, int64_t s);

/* Writes FFmpeg's XML export of sig (ASCII, every line ending with \n, no terminator).
 * Returns the number of bytes written, or a negative VSIG_E* code (VSIG_EEMPTY, VSIG_EBUFFER).
 * Out: out  at most vsig_xml_max_size(sig->n, sig->s) bytes */
LP_WARN_UNUSED_RESULT LP_NONNULL(1, 2) int64_t vsig_write_xml(const vsig_signature *sig, char *out, size_t cap);

/* ---- verification profile (vsig_profile.c; layout in kernels/vsig_common.h, docs/verification.md) ----------- */

/* The row kernels of vsig_block_sums() (vsig_compute.c), shared with the profile pass so both sum luma alike:
 * colsum[x] += a[x] + b[x] + c[x] + d[x], and colsum[x] += a[x], for x < w. */
void vsig_add_rows4(uint16_t *colsum, const uint8_t *a, const uint8_t *b, const uint8_t *c, const uint8_t *d,
                    uint32_t w);
void vsig_add_rows1(uint16_t *colsum, const uint8_t *a, uint32_t w);
/* Folds the column sums of one block row into its VSIG_GRID block sums (block_row[c] += the columns of block c). */
void vsig_fold_columns(const vsig_params *p, const uint16_t *colsum, uint32_t *block_row);

/* One batch of planar YUV frames: pixel (0,0) of frame 0 of each plane, with byte strides (any sign). */
typedef struct {
    const uint8_t *y, *u, *v;
    int64_t y_frame_stride, y_row_stride;
    int64_t u_frame_stride, u_row_stride;
    int64_t v_frame_stride, v_row_stride;
} vsig_planes;

/* The profile pass sums and squares its sampled luma rows with AVX2 where the CPU has it (the same integer
 * sums either way). vsig_profile_simd() says which is used (resolving it on first use: call it before any
 * threads do); vsig_profile_set_simd(0) selects the portable loops (for the tests), (1) AVX2 where available.
 * Not thread-safe: set it while no profile is being computed. */
int vsig_profile_simd(void);
void vsig_profile_set_simd(int on);

/* Fine signatures and profiles of n frames in one pass per frame, frames spread over OpenMP threads.
 * Returns VSIG_OK, or VSIG_ENOMEM (outputs then partly written).
 * Out: framesig n*76, words n*5, confidence n, profile n*VSIG_PROFILE_BYTES bytes. */
int vsig_profile_batch(const vsig_params *p, const vsig_profile_params *pp, const vsig_planes *in, int64_t n,
                       int threads, uint8_t *framesig, uint8_t *words, uint8_t *confidence, uint8_t *profile);

#endif /* LP_VSIG_H */
