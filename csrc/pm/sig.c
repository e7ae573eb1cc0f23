/* Batched ticket signatures and winner checks (see sig.h). */
#include "pm/sig.h"

#include <stdio.h>
#include <string.h>

#include "pm/batch.h"
#include "pm/keccak.h"

/* secp256k1 group order N and N/2 (rounded down), big-endian. */
static const uint8_t SECP256K1_N[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
static const uint8_t SECP256K1_HALF_N[32] = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

/* EIP-191 version 0x45 prefix for a 32-byte message (go-ethereum TextHash with len = "32"). */
static const char PERSONAL_PREFIX_32[] = "\x19" "Ethereum Signed Message:\n32";
#define PERSONAL_PREFIX_32_LEN 28

static int all_zero(const uint8_t *p, size_t n) {
    uint8_t acc = 0;
    for (size_t k = 0; k < n; k++) acc |= p[k];
    return acc == 0;
}

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

void lp_pm_personal_hashes(uint8_t *out, const uint8_t *hashes, size_t n, int threads) {
    int nt = lp_hash_threads(threads, n, 1);
    long long groups = (long long)((n + 3) / 4);
#pragma omp parallel for num_threads(nt) schedule(dynamic, LP_HASH_CHUNK / 4) if (nt > 1)
    for (long long g = 0; g < groups; g++) {
        uint8_t pre[4][PERSONAL_PREFIX_32_LEN + 32];
        uint8_t *outs[4];
        const uint8_t *msgs[4];
        size_t lens[4];
        int count = 0;
        for (size_t i = 4 * (size_t)g; i < n && count < 4; i++, count++) {
            memcpy(pre[count], PERSONAL_PREFIX_32, PERSONAL_PREFIX_32_LEN);
            memcpy(pre[count] + PERSONAL_PREFIX_32_LEN, hashes + 32 * i, 32);
            msgs[count] = pre[count];
            lens[count] = sizeof(pre[count]);
            outs[count] = out + 32 * i;
        }
        lp_keccak256_multi(outs, msgs, lens, count);
    }
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
    if (!lp_pm_seckey_valid(s, seckey) || !s->fn.ec_pubkey_create(s->ctx, &pk, seckey)) return 0;
    if (pubkey_address(s, &pk, out20)) return 1;
    memset(out20, 0, 20);
    return 0;
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
    if (memcmp(sv, SECP256K1_HALF_N, 32) > 0) return LP_SIG_HIGH_S; /* s == N/2 is accepted */
    if (v != 27 && v != 28) return LP_SIG_BAD_V;
    /* s <= N/2 < N holds here; the library would reject r >= N too, but say so explicitly. */
    if (all_zero(r, 32) || all_zero(sv, 32) || memcmp(r, SECP256K1_N, 32) >= 0) return LP_SIG_BAD_RS;
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

/* Win rows are hashed four at a time through lp_keccak256_multi; preimages up to this size are copied to the
 * stack (65-byte signatures give 97 bytes), longer ones are hashed one by one without a copy. */
#define LP_WIN_STACK_SIG 128

int lp_pm_is_winning_batch(uint8_t *wins, const uint8_t *sigs, size_t sigs_len, const int64_t *sig_offsets,
                           lp_column recipient_rand, lp_column win_prob, size_t n, int threads) {
    if (sig_offsets) {
        if (sig_offsets[0] < 0) return 0;
        for (size_t i = 0; i < n; i++)
            if (sig_offsets[i + 1] < sig_offsets[i]) return 0;
        if ((uint64_t)sig_offsets[n] > (uint64_t)sigs_len) return 0;
    } else if (sigs_len / 65 < n) {
        return 0;
    }
    int nt = lp_hash_threads(threads, n, 1);
    long long groups = (long long)((n + 3) / 4);
#pragma omp parallel for num_threads(nt) schedule(dynamic, LP_HASH_CHUNK / 4) if (nt > 1)
    for (long long g = 0; g < groups; g++) {
        uint8_t pre[4][LP_WIN_STACK_SIG + 32], h[4][32];
        uint8_t *outs[4];
        const uint8_t *msgs[4];
        size_t lens[4], idx[4];
        int count = 0;
        for (size_t i = 4 * (size_t)g; i < n && i < 4 * (size_t)g + 4; i++) {
            const uint8_t *sig = sig_offsets ? sigs + sig_offsets[i] : sigs + 65 * i;
            size_t len = sig_offsets ? (size_t)(sig_offsets[i + 1] - sig_offsets[i]) : 65;
            const uint8_t *rand32 = recipient_rand.ptr + recipient_rand.stride * i;
            if (len > LP_WIN_STACK_SIG) { /* unusually long signature bytes: hash in place */
                lp_keccak256_state st;
                lp_keccak256_init(&st);
                lp_keccak256_update(&st, sig, len);
                lp_keccak256_update(&st, rand32, 32);
                lp_keccak256_final(&st, h[0]);
                wins[i] = memcmp(h[0], win_prob.ptr + win_prob.stride * i, 32) < 0;
                continue;
            }
            memcpy(pre[count], sig, len);
            memcpy(pre[count] + len, rand32, 32);
            msgs[count] = pre[count];
            lens[count] = len + 32;
            idx[count] = i;
            count++;
        }
        for (int k = 0; k < count; k++) outs[k] = h[k];
        lp_keccak256_multi(outs, msgs, lens, count);
        /* Both are 32-byte big-endian integers, so byte order comparison is numeric comparison (strict: §3). */
        for (int k = 0; k < count; k++) wins[idx[k]] = memcmp(h[k], win_prob.ptr + win_prob.stride * idx[k], 32) < 0;
    }
    return 1;
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
