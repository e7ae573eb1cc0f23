/* Livepeer PM ticket packing and hashing (spec/pm.md §1.3-§1.4), batched over columns.
 *
 * A batch is given column by column. Each column is a pointer plus a stride; a stride of 0 repeats row 0 for
 * every ticket, so a Payment (one set of shared ticket params, N sender nonces) is described without copying
 * the shared fields N times. All integers arrive as big-endian bytes, so this code never depends on the host's
 * byte order. */
#ifndef LP_TICKET_H
#define LP_TICKET_H

#include <stddef.h>
#include <stdint.h>

#include "common/lp_common.h"

#define LP_TICKET_PREIMAGE_MAX 232 /* 168 fixed bytes + 64 bytes of auxData */
#define LP_TICKET_PREIMAGE_MIN 168 /* auxData empty: creation round 0 and an all-zero block hash */

/* One column: the value for ticket i is at ptr + i * stride. */
typedef struct {
    const uint8_t *ptr;
    size_t stride; /* 0 broadcasts row 0 to every ticket */
} lp_column;

/* The hashed ticket fields (ParamsExpirationBlock and PricePerPixel are not part of the hash). */
typedef struct {
    lp_column recipient;                 /* 20-byte address */
    lp_column sender;                    /* 20-byte address */
    lp_column face_value;                /* 32-byte big-endian uint256 */
    lp_column win_prob;                  /* 32-byte big-endian uint256 */
    lp_column sender_nonce;              /* 4-byte big-endian uint32 (Go's type; widened to uint256 in the hash) */
    lp_column recipient_rand_hash;       /* 32 bytes */
    lp_column creation_round;            /* 8-byte big-endian; the caller keeps it < 2^63 (Go's int64) */
    lp_column creation_round_block_hash; /* 32 bytes */
} lp_ticket_columns;

/* Writes the hash preimage of ticket i: recipient | sender | u256(faceValue) | u256(winProb) | u256(nonce) |
 * recipientRandHash | auxData, with auxData = u256(creationRound) | blockHash, or empty when the creation round
 * is 0 and the block hash is all zero (go-livepeer's Ticket.AuxData rule).
 * Returns the preimage length: 168 or 232.
 * Out: out   LP_TICKET_PREIMAGE_MAX bytes (bytes past the returned length are left untouched).
 * In:  cols  the columns; i  the ticket index. */
LP_NONNULL(1, 2) size_t lp_ticket_preimage(uint8_t out[LP_TICKET_PREIMAGE_MAX], const lp_ticket_columns *cols, size_t i);

/* Hashes n tickets: out row i = keccak256(preimage of ticket i), in parallel.
 * Out: out      n*32 bytes.
 * In:  cols     the columns (each with n rows, or stride 0).
 *      n        number of tickets (0 does nothing).
 *      threads  <= 0: all cores; otherwise at most that many. Results do not depend on it. */
void lp_ticket_hashes(uint8_t *out, const lp_ticket_columns *cols, size_t n, int threads);

#endif
