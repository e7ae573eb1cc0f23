/* Ticket packing and hashing (see ticket.h). */
#include "pm/ticket.h"

#include <string.h>

#include "pm/batch.h"
#include "pm/keccak.h"

#if LP_KECCAK_BATCH_SCRATCH < LP_TICKET_PREIMAGE_MAX
#error "a ticket preimage must fit the batch scratch"
#endif

static inline const uint8_t *col(const lp_column *c, size_t i) {
    return c->ptr + c->stride * i;
}

size_t lp_ticket_preimage(uint8_t out[LP_TICKET_PREIMAGE_MAX], const lp_ticket_columns *cols, size_t i) {
    /* Offsets from spec/pm.md §1.3 (Solidity abi.encodePacked of the contract's Ticket struct). */
    memcpy(out + 0, col(&cols->recipient, i), 20);
    memcpy(out + 20, col(&cols->sender, i), 20);
    memcpy(out + 40, col(&cols->face_value, i), 32);
    memcpy(out + 72, col(&cols->win_prob, i), 32);
    memset(out + 104, 0, 28); /* Go widens the uint32 nonce to a 32-byte word */
    memcpy(out + 132, col(&cols->sender_nonce, i), 4);
    memcpy(out + 136, col(&cols->recipient_rand_hash, i), 32);
    const uint8_t *round = col(&cols->creation_round, i);
    const uint8_t *block_hash = col(&cols->creation_round_block_hash, i);
    if (lp_all_zero(round, 8) && lp_all_zero(block_hash, 32)) return LP_TICKET_PREIMAGE_MIN;
    memset(out + 168, 0, 24);
    memcpy(out + 192, round, 8);
    memcpy(out + 200, block_hash, 32);
    return LP_TICKET_PREIMAGE_MAX;
}

typedef struct {
    const lp_ticket_columns *cols;
    uint8_t *out;
} ticket_ctx;

static size_t ticket_fill(const void *ctx, size_t i, uint8_t *scratch, const uint8_t **msg) {
    *msg = scratch;
    return lp_ticket_preimage(scratch, ((const ticket_ctx *)ctx)->cols, i);
}

static void ticket_emit(const void *ctx, size_t i, const uint8_t digest[32]) {
    memcpy(((const ticket_ctx *)ctx)->out + 32 * i, digest, 32);
}

void lp_ticket_hashes(uint8_t *out, const lp_ticket_columns *cols, size_t n, int threads) {
    /* 168- and 232-byte preimages both take two blocks, so any mix of them runs four-wide */
    ticket_ctx c = {cols, out};
    lp_keccak256_batch(n, lp_hash_threads(threads, n, 2), ticket_fill, ticket_emit, &c);
}
