/* Keccak-256 as Ethereum uses it: the original Keccak submission's padding (0x01 ... 0x80), rate 136 bytes,
 * 256-bit output. This is NOT FIPS-202 SHA3-256 (which pads with 0x06); the two differ on every input. */
#ifndef LP_KECCAK_H
#define LP_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#include "common/lp_common.h"

#define LP_KECCAK256_RATE 136 /* bytes absorbed per permutation: (1600 - 2*256) / 8 */

/* Incremental hashing state. Plain data: copy it to fork a common prefix. */
typedef struct {
    uint64_t lanes[25];               /* lane (x, y) lives at index x + 5*y */
    uint8_t buf[LP_KECCAK256_RATE];   /* bytes of the current, not yet absorbed block */
    size_t buf_len;                   /* number of valid bytes in buf, always < LP_KECCAK256_RATE */
} lp_keccak256_state;

/* Applies the Keccak-f[1600] permutation (24 rounds) in place.
 * In/Out: lanes  the 25 state lanes, lane (x, y) at index x + 5*y. */
void lp_keccakf1600(uint64_t lanes[25]);

/* Hashes one message.
 * Out: out32  the 32-byte digest.
 * In:  data   the message (may be NULL when len == 0).
 *      len    its length in bytes (any value). */
void lp_keccak256(uint8_t out32[32], const uint8_t *data, size_t len);

/* Starts an incremental hash.
 * Out: st  a state equivalent to having absorbed nothing. */
void lp_keccak256_init(lp_keccak256_state *st);

/* Absorbs more message bytes.
 * In/Out: st    a state from lp_keccak256_init (and earlier updates).
 * In:     data  the bytes (may be NULL when len == 0); len  their count. */
void lp_keccak256_update(lp_keccak256_state *st, const uint8_t *data, size_t len);

/* Pads, finishes and writes the digest. The state must be re-initialised before reuse.
 * In/Out: st     the state.
 * Out:    out32  the 32-byte digest of everything absorbed. */
void lp_keccak256_final(lp_keccak256_state *st, uint8_t out32[32]);

/* Hashes up to four messages; batch loops group their rows by four so that, where the CPU has AVX2, four
 * permutations run side by side in vector registers (~2.4x the throughput of the scalar BMI path). Messages
 * whose lengths span different numbers of 136-byte blocks, or count < 4, are hashed one by one. Results are
 * identical either way.
 * Out: out    count pointers to 32-byte digests.
 * In:  data   count message pointers; len  their lengths; count  0..4. */
void lp_keccak256_multi(uint8_t *const out[], const uint8_t *const data[], const size_t len[], int count);

/* The one four-wide batch loop behind every keccak batch in csrc/pm: rows are grouped by four for
 * lp_keccak256_multi and the groups spread over nt OpenMP threads (schedule(dynamic, LP_HASH_CHUNK / 4)).
 * fill(ctx, i, scratch, &msg) returns the length of row i's message and points msg at it: at existing bytes,
 * or at `scratch` (LP_KECCAK_BATCH_SCRATCH bytes, the caller's to write). emit(ctx, i, digest) receives the digest
 * of row i. Both are called from the worker threads, each row exactly once. */
#define LP_KECCAK_BATCH_SCRATCH 232 /* the longest message built in place: a ticket preimage with auxData */
typedef size_t (*lp_keccak_fill_fn)(const void *ctx, size_t i, uint8_t *scratch, const uint8_t **msg);
typedef void (*lp_keccak_emit_fn)(const void *ctx, size_t i, const uint8_t digest[32]);
LP_NONNULL(3, 4) void lp_keccak256_batch(size_t n, int nt, lp_keccak_fill_fn fill, lp_keccak_emit_fn emit,
                                         const void *ctx);

/* Hashes n fixed-width rows, in parallel.
 * Out: out      n*32 bytes: digest of row i at out + 32*i.
 * In:  data     row i is the `width` bytes at data + i*stride (stride 0 hashes row 0 n times).
 *      n        number of rows (0 is allowed and does nothing).
 *      width    bytes per row.
 *      stride   bytes between row starts.
 *      threads  <= 0: all cores; otherwise at most that many threads. Results do not depend on it. */
void lp_keccak256_rows(uint8_t *out, const uint8_t *data, size_t n, size_t width, size_t stride, int threads);

/* Hashes n rows of varying length stored back to back, in parallel.
 * Returns LP_OK; LP_ERR_ARG (writing nothing) if the offsets are negative, decreasing or exceed data_len.
 * Out: out      n*32 bytes: digest of row i at out + 32*i.
 * In:  data     the concatenated rows; data_len its size in bytes.
 *      offsets  n+1 entries: row i is data[offsets[i] .. offsets[i+1]).
 *      n        number of rows.
 *      threads  as for lp_keccak256_rows. */
LP_WARN_UNUSED_RESULT LP_NONNULL(4) int lp_keccak256_ragged(uint8_t *out, const uint8_t *data, size_t data_len,
                                                          const int64_t *offsets, size_t n, int threads);

/* Testing hook: on != 0 makes every later call use the portable permutation even where the CPU offers the
 * faster BMI1/BMI2 variant, so tests cover both (the two must agree bit for bit). Not thread-safe to flip
 * while other threads hash. */
void lp_keccak_force_portable(int on);

#endif
