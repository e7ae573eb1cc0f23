/* Keccak-f[1600] and Ethereum keccak-256 (see keccak.h).
 *
 * Speed matters here: go-livepeer hashes whole multi-megabyte segments, and every ticket needs two
 * permutations (hash) plus one (personal hash) plus one (win check). The permutation keeps all 25 lanes in
 * local variables and ping-pongs between two lane sets (a -> e -> a), so no lane is copied between rounds; the
 * bulk absorb loop keeps them in registers across blocks. The round body was generated once from the Keccak
 * reference tables (rho offsets, pi lane map, LFSR round constants) and is checked against pycryptodome and
 * safe-pysha3 by the tests. */
#include "pm/keccak.h"

#include <string.h>

#include "pm/batch.h"

#if defined(__BYTE_ORDER__) && (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
#define LP_BIG_ENDIAN 1
#endif

/* Keccak lanes are little-endian 64-bit words. memcpy compiles to a single load on every target we build for. */
static inline uint64_t load64le(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#ifdef LP_BIG_ENDIAN
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline void store64le(uint8_t *p, uint64_t v) {
#ifdef LP_BIG_ENDIAN
    v = __builtin_bswap64(v);
#endif
    memcpy(p, &v, 8);
}

#define ROL64(x, n) (((x) << (n)) | ((x) >> (64 - (n))))

static const uint64_t KECCAK_RC[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* One round from lane set S into lane set T (names S##xy, T##xy for lane (x, y)).
 * theta: c[x] = column parity, d[x] = c[x-1] ^ rot(c[x+1], 1), every lane of column x gets d[x];
 * rho+pi: lane (x, y) is rotated by its offset and moves to (y, 2x + 3y); the b0..b4 below are the five lanes
 *         that land in one output plane, in x order;
 * chi:    T[x] = b[x] ^ (~b[x+1] & b[x+2]) within the plane; iota: the round constant enters lane (0, 0). */
#define LP_KECCAK_ROUND(S, T, rc) do { \
    c0 = S##00 ^ S##01 ^ S##02 ^ S##03 ^ S##04; \
    c1 = S##10 ^ S##11 ^ S##12 ^ S##13 ^ S##14; \
    c2 = S##20 ^ S##21 ^ S##22 ^ S##23 ^ S##24; \
    c3 = S##30 ^ S##31 ^ S##32 ^ S##33 ^ S##34; \
    c4 = S##40 ^ S##41 ^ S##42 ^ S##43 ^ S##44; \
    d0 = c4 ^ ROL64(c1, 1); \
    d1 = c0 ^ ROL64(c2, 1); \
    d2 = c1 ^ ROL64(c3, 1); \
    d3 = c2 ^ ROL64(c4, 1); \
    d4 = c3 ^ ROL64(c0, 1); \
    b0 = S##00 ^ d0; b1 = ROL64(S##11 ^ d1, 44); b2 = ROL64(S##22 ^ d2, 43); b3 = ROL64(S##33 ^ d3, 21); \
    b4 = ROL64(S##44 ^ d4, 14); \
    T##00 = b0 ^ (~b1 & b2) ^ (rc); T##10 = b1 ^ (~b2 & b3); T##20 = b2 ^ (~b3 & b4); T##30 = b3 ^ (~b4 & b0); \
    T##40 = b4 ^ (~b0 & b1); \
    b0 = ROL64(S##30 ^ d3, 28); b1 = ROL64(S##41 ^ d4, 20); b2 = ROL64(S##02 ^ d0, 3); b3 = ROL64(S##13 ^ d1, 45); \
    b4 = ROL64(S##24 ^ d2, 61); \
    T##01 = b0 ^ (~b1 & b2); T##11 = b1 ^ (~b2 & b3); T##21 = b2 ^ (~b3 & b4); T##31 = b3 ^ (~b4 & b0); \
    T##41 = b4 ^ (~b0 & b1); \
    b0 = ROL64(S##10 ^ d1, 1); b1 = ROL64(S##21 ^ d2, 6); b2 = ROL64(S##32 ^ d3, 25); b3 = ROL64(S##43 ^ d4, 8); \
    b4 = ROL64(S##04 ^ d0, 18); \
    T##02 = b0 ^ (~b1 & b2); T##12 = b1 ^ (~b2 & b3); T##22 = b2 ^ (~b3 & b4); T##32 = b3 ^ (~b4 & b0); \
    T##42 = b4 ^ (~b0 & b1); \
    b0 = ROL64(S##40 ^ d4, 27); b1 = ROL64(S##01 ^ d0, 36); b2 = ROL64(S##12 ^ d1, 10); b3 = ROL64(S##23 ^ d2, 15); \
    b4 = ROL64(S##34 ^ d3, 56); \
    T##03 = b0 ^ (~b1 & b2); T##13 = b1 ^ (~b2 & b3); T##23 = b2 ^ (~b3 & b4); T##33 = b3 ^ (~b4 & b0); \
    T##43 = b4 ^ (~b0 & b1); \
    b0 = ROL64(S##20 ^ d2, 62); b1 = ROL64(S##31 ^ d3, 55); b2 = ROL64(S##42 ^ d4, 39); b3 = ROL64(S##03 ^ d0, 41); \
    b4 = ROL64(S##14 ^ d1, 2); \
    T##04 = b0 ^ (~b1 & b2); T##14 = b1 ^ (~b2 & b3); T##24 = b2 ^ (~b3 & b4); T##34 = b3 ^ (~b4 & b0); \
    T##44 = b4 ^ (~b0 & b1); \
} while (0)

#define LP_DECLARE_LANES(P) LP_DECLARE_LANES_T(uint64_t, P)
#define LP_DECLARE_LANES_T(T, P) \
    T P##00, P##10, P##20, P##30, P##40, P##01, P##11, P##21, P##31, P##41, P##02, P##12, P##22, P##32, \
        P##42, P##03, P##13, P##23, P##33, P##43, P##04, P##14, P##24, P##34, P##44

#define LP_LOAD_LANES(P, L) do { \
    P##00 = L[0];  P##10 = L[1];  P##20 = L[2];  P##30 = L[3];  P##40 = L[4];  \
    P##01 = L[5];  P##11 = L[6];  P##21 = L[7];  P##31 = L[8];  P##41 = L[9];  \
    P##02 = L[10]; P##12 = L[11]; P##22 = L[12]; P##32 = L[13]; P##42 = L[14]; \
    P##03 = L[15]; P##13 = L[16]; P##23 = L[17]; P##33 = L[18]; P##43 = L[19]; \
    P##04 = L[20]; P##14 = L[21]; P##24 = L[22]; P##34 = L[23]; P##44 = L[24]; \
} while (0)

#define LP_STORE_LANES(P, L) do { \
    L[0] = P##00;  L[1] = P##10;  L[2] = P##20;  L[3] = P##30;  L[4] = P##40;  \
    L[5] = P##01;  L[6] = P##11;  L[7] = P##21;  L[8] = P##31;  L[9] = P##41;  \
    L[10] = P##02; L[11] = P##12; L[12] = P##22; L[13] = P##32; L[14] = P##42; \
    L[15] = P##03; L[16] = P##13; L[17] = P##23; L[18] = P##33; L[19] = P##43; \
    L[20] = P##04; L[21] = P##14; L[22] = P##24; L[23] = P##34; L[24] = P##44; \
} while (0)

/* The 24 rounds, two per loop iteration (a -> e -> a), so the two lane sets swap roles without copies.
 * Unrolling further measured no faster (8 rounds) or slower (all 24: the body outgrows the instruction cache). */
#define LP_KECCAK_24_ROUNDS() do { \
    for (int r_ = 0; r_ < 24; r_ += 2) { \
        LP_KECCAK_ROUND(a, e, KECCAK_RC[r_]); \
        LP_KECCAK_ROUND(e, a, KECCAK_RC[r_ + 1]); \
    } \
} while (0)

void lp_keccakf1600(uint64_t lanes[25]) {
    LP_DECLARE_LANES(a);
    LP_DECLARE_LANES(e);
    uint64_t b0, b1, b2, b3, b4, c0, c1, c2, c3, c4, d0, d1, d2, d3, d4;
    LP_LOAD_LANES(a, lanes);
    LP_KECCAK_24_ROUNDS();
    LP_STORE_LANES(a, lanes);
}

/* XORs `nblocks` full rate-sized blocks into the state, permuting after each; the lanes stay in registers
 * across blocks, which is what makes multi-megabyte inputs fast. Instantiated twice below. */
#define LP_DEFINE_ABSORB_BLOCKS(fname, attrs) \
    attrs static void fname(uint64_t lanes[25], const uint8_t *data, size_t nblocks) { \
        LP_DECLARE_LANES(a); \
        LP_DECLARE_LANES(e); \
        uint64_t b0, b1, b2, b3, b4, c0, c1, c2, c3, c4, d0, d1, d2, d3, d4; \
        LP_LOAD_LANES(a, lanes); \
        for (; nblocks; nblocks--, data += LP_KECCAK256_RATE) { \
            a00 ^= load64le(data + 0);   a10 ^= load64le(data + 8);   a20 ^= load64le(data + 16); \
            a30 ^= load64le(data + 24);  a40 ^= load64le(data + 32);  a01 ^= load64le(data + 40); \
            a11 ^= load64le(data + 48);  a21 ^= load64le(data + 56);  a31 ^= load64le(data + 64); \
            a41 ^= load64le(data + 72);  a02 ^= load64le(data + 80);  a12 ^= load64le(data + 88); \
            a22 ^= load64le(data + 96);  a32 ^= load64le(data + 104); a42 ^= load64le(data + 112); \
            a03 ^= load64le(data + 120); a13 ^= load64le(data + 128); \
            LP_KECCAK_24_ROUNDS(); \
        } \
        LP_STORE_LANES(a, lanes); \
    }

LP_DEFINE_ABSORB_BLOCKS(absorb_blocks_generic, )

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* chi's (~b & c) is one ANDN and the rotations are RORX with BMI1/BMI2 (every x86-64 CPU since 2013-2015);
 * measured ~15% faster. The wheel targets baseline x86-64, so pick the variant at run time. */
LP_DEFINE_ABSORB_BLOCKS(absorb_blocks_bmi, __attribute__((target("bmi,bmi2"))))

static int force_portable = 0;

void lp_keccak_force_portable(int on) {
    force_portable = on;
}

static void absorb_blocks(uint64_t lanes[25], const uint8_t *data, size_t nblocks) {
    if (!force_portable && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2"))
        absorb_blocks_bmi(lanes, data, nblocks);
    else
        absorb_blocks_generic(lanes, data, nblocks);
}
#else
#define absorb_blocks absorb_blocks_generic

void lp_keccak_force_portable(int on) {
    (void)on;
}
#endif

/* Keccak pad10*1 with Ethereum's domain byte 0x01 over the final tail_len < 136 bytes. When tail_len == 135 the
 * 0x01 and 0x80 land in the same byte, and both bits are set. */
static void pad_final_block(uint8_t block[LP_KECCAK256_RATE], const uint8_t *tail, size_t tail_len) {
    if (tail_len) memcpy(block, tail, tail_len);
    memset(block + tail_len, 0, LP_KECCAK256_RATE - tail_len);
    block[tail_len] ^= 0x01;
    block[LP_KECCAK256_RATE - 1] ^= 0x80;
}

/* ---- Four messages at once --------------------------------------------------------------------------------
 * Batches hash many short rows (65-byte signature + 32-byte rand, 168/232-byte tickets, 60-byte personal
 * messages). With AVX2, four independent states ride in the four 64-bit slots of 256-bit vectors: the round
 * macro above is reused unchanged through GCC/Clang vector extensions (^, &, ~, shifts act per slot). */


#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
typedef uint64_t lp_v4u64 __attribute__((vector_size(32)));

#define LP_GATHER4(q, off) ((lp_v4u64){load64le(q[0] + (off)), load64le(q[1] + (off)), load64le(q[2] + (off)), \
                                       load64le(q[3] + (off))})

/* All four lengths have the same number of full blocks (checked by the caller). */
__attribute__((target("avx2"))) static void keccak256_x4_avx2(uint8_t *const out[4], const uint8_t *const data[4],
                                                              const size_t len[4]) {
    LP_DECLARE_LANES_T(lp_v4u64, a);
    LP_DECLARE_LANES_T(lp_v4u64, e);
    lp_v4u64 b0, b1, b2, b3, b4, c0, c1, c2, c3, c4, d0, d1, d2, d3, d4;
    const lp_v4u64 zero = {0, 0, 0, 0};
    uint8_t tails[4][LP_KECCAK256_RATE];
    const size_t nblocks = len[0] / LP_KECCAK256_RATE;
    const uint8_t *q[4];

    a00 = a10 = a20 = a30 = a40 = a01 = a11 = a21 = a31 = a41 = a02 = a12 = a22 = a32 = a42 = zero;
    a03 = a13 = a23 = a33 = a43 = a04 = a14 = a24 = a34 = a44 = zero;
    for (int k = 0; k < 4; k++)
        pad_final_block(tails[k], data[k] + nblocks * LP_KECCAK256_RATE, len[k] - nblocks * LP_KECCAK256_RATE);
    for (size_t blk = 0; blk <= nblocks; blk++) {
        for (int k = 0; k < 4; k++) q[k] = blk < nblocks ? data[k] + blk * LP_KECCAK256_RATE : tails[k];
        a00 ^= LP_GATHER4(q, 0);   a10 ^= LP_GATHER4(q, 8);   a20 ^= LP_GATHER4(q, 16);  a30 ^= LP_GATHER4(q, 24);
        a40 ^= LP_GATHER4(q, 32);  a01 ^= LP_GATHER4(q, 40);  a11 ^= LP_GATHER4(q, 48);  a21 ^= LP_GATHER4(q, 56);
        a31 ^= LP_GATHER4(q, 64);  a41 ^= LP_GATHER4(q, 72);  a02 ^= LP_GATHER4(q, 80);  a12 ^= LP_GATHER4(q, 88);
        a22 ^= LP_GATHER4(q, 96);  a32 ^= LP_GATHER4(q, 104); a42 ^= LP_GATHER4(q, 112); a03 ^= LP_GATHER4(q, 120);
        a13 ^= LP_GATHER4(q, 128);
        LP_KECCAK_24_ROUNDS();
    }
    for (int k = 0; k < 4; k++) {
        store64le(out[k] + 0, a00[k]);
        store64le(out[k] + 8, a10[k]);
        store64le(out[k] + 16, a20[k]);
        store64le(out[k] + 24, a30[k]);
    }
}

static int use_x4_avx2(void) {
    return !force_portable && __builtin_cpu_supports("avx2");
}
#else
static int use_x4_avx2(void) {
    return 0;
}
#endif

void lp_keccak256_multi(uint8_t *const out[], const uint8_t *const data[], const size_t len[], int count) {
    if (count == 4 && use_x4_avx2()) {
        size_t nb = len[0] / LP_KECCAK256_RATE;
        if (len[1] / LP_KECCAK256_RATE == nb && len[2] / LP_KECCAK256_RATE == nb && len[3] / LP_KECCAK256_RATE == nb) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
            keccak256_x4_avx2(out, data, len);
            return;
#endif
        }
    }
    for (int k = 0; k < count; k++) lp_keccak256(out[k], data[k], len[k]);
}

/* Pads the final partial block (Keccak pad10*1 with Ethereum's domain byte 0x01), absorbs it and squeezes the
 * first 32 bytes. `tail` holds tail_len < 136 bytes. */
static void absorb_final(uint64_t lanes[25], const uint8_t *tail, size_t tail_len, uint8_t out32[32]) {
    uint8_t block[LP_KECCAK256_RATE];
    pad_final_block(block, tail, tail_len);
    absorb_blocks(lanes, block, 1);
    for (int i = 0; i < 4; i++) store64le(out32 + 8 * i, lanes[i]);
}

void lp_keccak256(uint8_t out32[32], const uint8_t *data, size_t len) {
    uint64_t lanes[25] = {0};
    size_t full = len / LP_KECCAK256_RATE;
    if (full) {
        absorb_blocks(lanes, data, full);
        data += full * LP_KECCAK256_RATE;
        len -= full * LP_KECCAK256_RATE;
    }
    absorb_final(lanes, data, len, out32);
}

void lp_keccak256_init(lp_keccak256_state *st) {
    memset(st, 0, sizeof(*st));
}

void lp_keccak256_update(lp_keccak256_state *st, const uint8_t *data, size_t len) {
    if (len == 0) return;
    if (st->buf_len) {
        size_t take = LP_KECCAK256_RATE - st->buf_len;
        if (take > len) take = len;
        memcpy(st->buf + st->buf_len, data, take);
        st->buf_len += take;
        data += take;
        len -= take;
        if (st->buf_len < LP_KECCAK256_RATE) return;
        absorb_blocks(st->lanes, st->buf, 1);
        st->buf_len = 0;
    }
    size_t full = len / LP_KECCAK256_RATE;
    if (full) {
        absorb_blocks(st->lanes, data, full);
        data += full * LP_KECCAK256_RATE;
        len -= full * LP_KECCAK256_RATE;
    }
    if (len) memcpy(st->buf, data, len);
    st->buf_len = len;
}

void lp_keccak256_final(lp_keccak256_state *st, uint8_t out32[32]) {
    absorb_final(st->lanes, st->buf, st->buf_len, out32);
}

void lp_keccak256_batch(size_t n, int nt, lp_keccak_fill_fn fill, lp_keccak_emit_fn emit, const void *ctx) {
    long long groups = (long long)((n + 3) / 4);
#pragma omp parallel for num_threads(nt) schedule(dynamic, LP_HASH_CHUNK / 4) if (nt > 1)
    for (long long g = 0; g < groups; g++) {
        uint8_t scratch[4][LP_KECCAK_BATCH_SCRATCH], digest[4][32];
        uint8_t *outs[4];
        const uint8_t *msgs[4];
        size_t lens[4];
        size_t first = 4 * (size_t)g;
        int count = 0;
        for (size_t i = first; i < n && count < 4; i++, count++) {
            lens[count] = fill(ctx, i, scratch[count], &msgs[count]);
            outs[count] = digest[count];
        }
        lp_keccak256_multi(outs, msgs, lens, count);
        for (int k = 0; k < count; k++) emit(ctx, first + (size_t)k, digest[k]);
    }
}

/* Rows of a fixed width or of an offset table, digests written to out + 32*i. */
typedef struct {
    uint8_t *out;
    const uint8_t *data;
    size_t width, stride;
    const int64_t *offsets; /* NULL: fixed width */
} rows_ctx;

static size_t rows_fill(const void *ctx, size_t i, uint8_t *scratch, const uint8_t **msg) {
    const rows_ctx *c = ctx;
    (void)scratch;
    if (c->offsets) {
        *msg = c->data + c->offsets[i];
        return (size_t)(c->offsets[i + 1] - c->offsets[i]);
    }
    *msg = c->data + i * c->stride;
    return c->width;
}

static void rows_emit(const void *ctx, size_t i, const uint8_t digest[32]) {
    memcpy(((const rows_ctx *)ctx)->out + 32 * i, digest, 32);
}

void lp_keccak256_rows(uint8_t *out, const uint8_t *data, size_t n, size_t width, size_t stride, int threads) {
    rows_ctx c = {out, data, width, stride, NULL};
    lp_keccak256_batch(n, lp_hash_threads(threads, n, width / LP_KECCAK256_RATE + 1), rows_fill, rows_emit, &c);
}

int lp_keccak256_ragged(uint8_t *out, const uint8_t *data, size_t data_len, const int64_t *offsets, size_t n,
                        int threads) {
    /* Validate every offset before hashing anything: a bad table must not read out of bounds. */
    if (lp_check_offsets(offsets, n, data_len) != LP_OK) return LP_ERR_ARG;
    rows_ctx c = {out, data, 0, 0, offsets};
    lp_keccak256_batch(n, lp_hash_threads(threads, n, data_len / (n ? n : 1) / LP_KECCAK256_RATE + 1), rows_fill,
                       rows_emit, &c);
    return LP_OK;
}
