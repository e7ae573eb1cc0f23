/* Ticket packing and hashing (see ticket.h). */
#include "pm/ticket.h"

#include <string.h>

#include "pm/batch.h"
#include "pm/keccak.h"

static inline const uint8_t *col(const lp_column *c, size_t i) {
    return c->ptr + c->stride * i;
}

static int all_zero(const uint8_t *p, size_t n) {
    uint8_t acc = 0;
    for (size_t k = 0; k < n; k++) acc |= p[k];
    return acc == 0;
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
    if (all_zero(round, 8) && all_zero(block_hash, 32)) return LP_TICKET_PREIMAGE_MIN;
    memset(out + 168, 0, 24);
    memcpy(out + 192, round, 8);
    memcpy(out + 200, block_hash, 32);
    return LP_TICKET_PREIMAGE_MAX;
}

void lp_ticket_hashes(uint8_t *out, const lp_ticket_columns *cols, size_t n, int threads) {
    int nt = lp_hash_threads(threads, n, 2); /* 168/232 bytes: two permutations */
    long long groups = (long long)((n + 3) / 4);
#pragma omp parallel for num_threads(nt) schedule(dynamic, LP_HASH_CHUNK / 4) if (nt > 1)
    for (long long g = 0; g < groups; g++) {
        /* Four tickets per lp_keccak256_multi call: 168- and 232-byte preimages both take two blocks, so any
         * mix of them runs four-wide. */
        uint8_t pre[4][LP_TICKET_PREIMAGE_MAX];
        uint8_t *outs[4];
        const uint8_t *msgs[4];
        size_t lens[4];
        int count = 0;
        for (size_t i = 4 * (size_t)g; i < n && count < 4; i++, count++) {
            lens[count] = lp_ticket_preimage(pre[count], cols, i);
            msgs[count] = pre[count];
            outs[count] = out + 32 * i;
        }
        lp_keccak256_multi(outs, msgs, lens, count);
    }
}
