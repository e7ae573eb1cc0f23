/* Batched ticket signatures and winner checks (see sig.h). */
#include "pm/sig.h"

#include <stdio.h>
#include <string.h>

#include "pm/batch.h"
#include "pm/keccak.h"

/* secp256k1 group order N and N/2 (rounded down), big-endian (see sig.h). */
const uint8_t LP_SECP256K1_N[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
const uint8_t LP_SECP256K1_HALF_N[32] = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

/* EIP-191 version 0x45 prefix for a 32-byte message (go-ethereum TextHash with len = "32"). */
static const char PERSONAL_PREFIX_32[] = "\x19" "Ethereum Signed Message:\n32";
#define PERSONAL_PREFIX_32_LEN 28

static void personal_hash(uint8_t out32[32], const uint8_t hash32[32]) {
    uint8_t pre[PERSONAL_PREFIX_32_LEN + 32];
    memcpy(pre, PERSONAL_PREFIX_32, PERSONAL_PREFIX_32_LEN);
    memcpy(pre + PERSONAL_PREFIX_32_LEN, hash32, 32);
    lp_keccak256(out32, pre, sizeof(pre));
}

void lp_pm_personal_message_digest(uint8_t out32[32], const uint8_t *msg, size_t len) {
    static const char prefix[] = "\x19" "Ethereum Signed Message:\n";
    char digits[24];
    int nd = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)len);
    lp_keccak256_state st;
    lp_keccak256_init(&st);
    lp_keccak256_update(&st, (const uint8_t *)prefix, sizeof(prefix) - 1);
    lp_keccak256_update(&st, (const uint8_t *)digits, (size_t)nd);
    lp_keccak256_update(&st, msg, len);
    lp_keccak256_final(&st, out32);
}

typedef struct {
    uint8_t *out;
    const uint8_t *hashes;
} personal_ctx;

static size_t personal_fill(const void *ctx, size_t i, uint8_t *scratch, const uint8_t **msg) {
    memcpy(scratch, PERSONAL_PREFIX_32, PERSONAL_PREFIX_32_LEN);
    memcpy(scratch + PERSONAL_PREFIX_32_LEN, ((const personal_ctx *)ctx)->hashes + 32 * i, 32);
    *msg = scratch;
    return PERSONAL_PREFIX_32_LEN + 32;
}

static void personal_emit(const void *ctx, size_t i, const uint8_t digest[32]) {
    memcpy(((const personal_ctx *)ctx)->out + 32 * i, digest, 32);
}

void lp_pm_personal_hashes(uint8_t *out, const uint8_t *hashes, size_t n, int threads) {
    personal_ctx c = {out, hashes};
    lp_keccak256_batch(n, lp_hash_threads(threads, n, 1), personal_fill, personal_emit, &c);
}

int lp_pm_seckey_valid(const lp_secp *s, const uint8_t seckey[32]) {
    return s->fn.ec_seckey_verify(s->ctx, seckey) == 1;
}

/* Ethereum address of a parsed public key: keccak256 of the 64 coordinate bytes, last 20 bytes. */
static int pubkey_address(const lp_secp *s, const lp_secp256k1_pubkey *pk, uint8_t out20[20]) {
    uint8_t ser[65], h[32];
    size_t len = sizeof(ser);
    if (!s->fn.ec_pubkey_serialize(s->ctx, ser, &len, pk, s->ec_uncompressed) || len != 65) return 0;
    lp_keccak256(h, ser + 1, 64); /* skip the 0x04 uncompressed-point tag */
    memcpy(out20, h + 12, 20);
    return 1;
}

int lp_pm_address(const lp_secp *s, const uint8_t seckey[32], uint8_t out20[20]) {
    lp_secp256k1_pubkey pk;
    memset(out20, 0, 20);
    if (!lp_pm_seckey_valid(s, seckey) || !s->fn.ec_pubkey_create(s->ctx, &pk, seckey)) return LP_ERR_ARG;
    if (pubkey_address(s, &pk, out20)) return LP_OK;
    memset(out20, 0, 20);
    return LP_ERR_ARG;
}

static int sign_row(const lp_secp *s, uint8_t out65[65], const uint8_t seckey[32], const uint8_t msg32[32],
                    int personal) {
    uint8_t digest[32];
    lp_secp256k1_recsig rs;
    int recid = 0;
    if (personal)
        personal_hash(digest, msg32);
    else
        memcpy(digest, msg32, 32);
    /* NULL nonce function = the library's RFC 6979 default, so bytes equal coincurve's and eth-keys'; the
     * library always returns low-s. */
    if (!s->fn.ecdsa_sign_recoverable(s->ctx, &rs, digest, seckey, NULL, NULL) ||
        !s->fn.ecdsa_recsig_serialize_compact(s->ctx, out65, &recid, &rs)) {
        memset(out65, 0, 65);
        return 0;
    }
    out65[64] = (uint8_t)(27 + recid); /* Ethereum's v = recovery id + 27 */
    return 1;
}

size_t lp_pm_sign_batch(const lp_secp *s, uint8_t *sigs, const uint8_t seckey[32], const uint8_t *msgs, size_t n,
                        int personal, int threads) {
    int nt = lp_resolve_threads(threads, (long long)n);
    long long count = (long long)n, failed = 0;
#pragma omp parallel for num_threads(nt) schedule(dynamic, LP_SECP_CHUNK) reduction(+ : failed) if (nt > 1)
    for (long long i = 0; i < count; i++)
        failed += !sign_row(s, sigs + 65 * (size_t)i, seckey, msgs + 32 * (size_t)i, personal);
    return (size_t)failed;
}

/* go-livepeer's crypto.VerifySig checks, in its order (spec/pm.md §2.3); the row's address is written only on
 * success. */
static uint8_t recover_row(const lp_secp *s, uint8_t addr20[20], const uint8_t msg32[32], const uint8_t sig[65],
                           int personal) {
    const uint8_t *r = sig, *sv = sig + 32;
    const uint8_t v = sig[64];
    uint8_t digest[32];
    lp_secp256k1_recsig rs;
    lp_secp256k1_pubkey pk;

    memset(addr20, 0, 20);
    if (memcmp(sv, LP_SECP256K1_HALF_N, 32) > 0) return LP_SIG_HIGH_S; /* s == N/2 is accepted */
    if (v != 27 && v != 28) return LP_SIG_BAD_V;
    /* s <= N/2 < N holds here; the library would reject r >= N too, but say so explicitly. */
    if (lp_all_zero(r, 32) || lp_all_zero(sv, 32) || memcmp(r, LP_SECP256K1_N, 32) >= 0) return LP_SIG_BAD_RS;
    if (!s->fn.ecdsa_recsig_parse_compact(s->ctx, &rs, sig, v - 27)) return LP_SIG_BAD_RS;
    if (personal)
        personal_hash(digest, msg32);
    else
        memcpy(digest, msg32, 32);
    if (!s->fn.ecdsa_recover(s->ctx, &pk, &rs, digest)) return LP_SIG_UNRECOVERABLE;
    if (!pubkey_address(s, &pk, addr20)) {
        memset(addr20, 0, 20);
        return LP_SIG_UNRECOVERABLE;
    }
    return LP_SIG_OK;
}

void lp_pm_recover_batch(const lp_secp *s, uint8_t *addrs, uint8_t *status, const uint8_t *msgs,
                         const uint8_t *sigs, size_t n, int personal, int threads) {
    int nt = lp_resolve_threads(threads, (long long)n);
    long long count = (long long)n;
#pragma omp parallel for num_threads(nt) schedule(dynamic, LP_SECP_CHUNK) if (nt > 1)
    for (long long i = 0; i < count; i++) {
        size_t k = (size_t)i;
        status[k] = recover_row(s, addrs + 20 * k, msgs + 32 * k, sigs + 65 * k, personal);
    }
}

void lp_pm_verify_batch(const lp_secp *s, uint8_t *valid, uint8_t *status, const uint8_t *msgs,
                        const uint8_t *sigs, lp_column senders, size_t n, int personal, int threads) {
    int nt = lp_resolve_threads(threads, (long long)n);
    long long count = (long long)n;
#pragma omp parallel for num_threads(nt) schedule(dynamic, LP_SECP_CHUNK) if (nt > 1)
    for (long long i = 0; i < count; i++) {
        size_t k = (size_t)i;
        uint8_t addr[20];
        uint8_t st = recover_row(s, addr, msgs + 32 * k, sigs + 65 * k, personal);
        /* A failed recovery leaves a zero address, which must not "match" a zero sender. */
        if (st == LP_SIG_OK && memcmp(addr, senders.ptr + senders.stride * k, 20) != 0) st = LP_SIG_WRONG_SENDER;
        status[k] = st;
        valid[k] = st == LP_SIG_OK;
    }
}

/* Winner rows go through lp_keccak256_batch with sig | rand built in its scratch; signatures too long for it
 * (never 65 bytes, only odd ragged input) are skipped there (length 0) and hashed afterwards without a copy. */
#define LP_WIN_STACK_SIG (LP_KECCAK_BATCH_SCRATCH - 32)

typedef struct {
    uint8_t *wins;
    const uint8_t *sigs;
    const int64_t *offsets; /* NULL: 65-byte rows */
    lp_column rand, prob;
} win_ctx;

static inline size_t win_sig(const win_ctx *c, size_t i, const uint8_t **sig) {
    *sig = c->offsets ? c->sigs + c->offsets[i] : c->sigs + 65 * i;
    return c->offsets ? (size_t)(c->offsets[i + 1] - c->offsets[i]) : 65;
}

static size_t win_fill(const void *ctx, size_t i, uint8_t *scratch, const uint8_t **msg) {
    const win_ctx *c = ctx;
    const uint8_t *sig;
    size_t len = win_sig(c, i, &sig);
    *msg = scratch;
    if (len > LP_WIN_STACK_SIG) return 0; /* hashed by the long-row pass */
    memcpy(scratch, sig, len);
    memcpy(scratch + len, c->rand.ptr + c->rand.stride * i, 32);
    return len + 32;
}

/* Both are 32-byte big-endian integers, so byte order comparison is numeric comparison (strict: §3). */
static void win_emit(const void *ctx, size_t i, const uint8_t digest[32]) {
    const win_ctx *c = ctx;
    c->wins[i] = memcmp(digest, c->prob.ptr + c->prob.stride * i, 32) < 0;
}

int lp_pm_is_winning_batch(uint8_t *wins, const uint8_t *sigs, size_t sigs_len, const int64_t *sig_offsets,
                           lp_column recipient_rand, lp_column win_prob, size_t n, int threads) {
    if (sig_offsets ? lp_check_offsets(sig_offsets, n, sigs_len) != LP_OK : sigs_len / 65 < n) return LP_ERR_ARG;
    win_ctx c = {wins, sigs, sig_offsets, recipient_rand, win_prob};
    lp_keccak256_batch(n, lp_hash_threads(threads, n, 1), win_fill, win_emit, &c);
    for (size_t i = 0; sig_offsets && i < n; i++) {
        const uint8_t *sig;
        size_t len = win_sig(&c, i, &sig);
        if (len <= LP_WIN_STACK_SIG) continue;
        uint8_t h[32];
        lp_keccak256_state st;
        lp_keccak256_init(&st);
        lp_keccak256_update(&st, sig, len);
        lp_keccak256_update(&st, recipient_rand.ptr + recipient_rand.stride * i, 32);
        lp_keccak256_final(&st, h);
        win_emit(&c, i, h);
    }
    return LP_OK;
}

size_t lp_pm_bench_raw_sign(const lp_secp *s, uint8_t *out, const uint8_t seckey[32], const uint8_t *digests,
                            size_t n) {
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        lp_secp256k1_recsig rs;
        int recid = 0;
        if (!s->fn.ecdsa_sign_recoverable(s->ctx, &rs, digests + 32 * i, seckey, NULL, NULL) ||
            !s->fn.ecdsa_recsig_serialize_compact(s->ctx, out + 65 * i, &recid, &rs)) {
            failed++;
            continue;
        }
        out[65 * i + 64] = (uint8_t)recid;
    }
    return failed;
}

size_t lp_pm_bench_raw_recover(const lp_secp *s, uint8_t *pubkeys_out, const uint8_t *digests,
                               const uint8_t *sigs, size_t n) {
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        lp_secp256k1_recsig rs;
        const uint8_t *sig = sigs + 65 * i;
        if (!s->fn.ecdsa_recsig_parse_compact(s->ctx, &rs, sig, sig[64] & 3) ||
            !s->fn.ecdsa_recover(s->ctx, (lp_secp256k1_pubkey *)(pubkeys_out + 64 * i), &rs, digests + 32 * i))
            failed++;
    }
    return failed;
}
