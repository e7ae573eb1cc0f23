/* Batched ticket signatures and winner checks (spec/pm.md §2-§3).
 *
 * What is signed is the EIP-191 personal-message digest keccak256("\x19Ethereum Signed Message:\n32" | h) of a
 * 32-byte ticket hash h. Signatures are 65 bytes r(32) | s(32) | v(1), v in {27, 28}, RFC 6979 and low-s, as
 * go-livepeer (via go-ethereum) and the TicketBroker contract expect. Every batch call splits its rows over
 * OpenMP threads; each row is computed independently, so results never depend on the thread count. */
#ifndef LP_SIG_H
#define LP_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "pm/secp.h"
#include "pm/ticket.h"

/* The secp256k1 group order N and N/2 (rounded down), big-endian: the one definition (Python reads them as
 * lpcore.pm.SECP256K1_N / SECP256K1_HALF_N). go-livepeer accepts s <= N/2. */
extern const uint8_t LP_SECP256K1_N[32];
extern const uint8_t LP_SECP256K1_HALF_N[32];

/* Per-row outcome of signature recovery, in go-livepeer's check order (crypto/verify.go, spec/pm.md §2.3).
 * The first failing check is reported. */
enum lp_sig_status {
    LP_SIG_OK = 0,
    LP_SIG_BAD_LENGTH = 1,    /* not 65 bytes: "invalid signature length" (only ragged inputs; set by callers) */
    LP_SIG_HIGH_S = 2,        /* s > N/2: "signature s value too high" */
    LP_SIG_BAD_V = 3,         /* v not 27 or 28: "signature v value must be 27 or 28" */
    LP_SIG_BAD_RS = 4,        /* r or s is 0 or >= N (go-ethereum rejects these during recovery) */
    LP_SIG_UNRECOVERABLE = 5, /* r is a valid scalar but no curve point recovers */
    LP_SIG_WRONG_SENDER = 6   /* recovered, but not the expected address (verify only) */
};

/* Writes the EIP-191 digest of a message of any length:
 * keccak256("\x19Ethereum Signed Message:\n" | decimal(len) | msg) (go-ethereum accounts.TextHash).
 * Out: out32  the digest.
 * In:  msg    the message (may be NULL when len == 0); len  its length. */
LP_NONNULL(1) void lp_pm_personal_message_digest(uint8_t out32[32], const uint8_t *msg, size_t len);

/* Writes the personal digest of each 32-byte ticket hash (the 60-byte preimage form of the above).
 * Out: out      n*32 bytes.
 * In:  hashes   n*32 bytes; n  rows; threads  <= 0: all cores. */
void lp_pm_personal_hashes(uint8_t *out, const uint8_t *hashes, size_t n, int threads);

/* Predicate: returns 1 if seckey is a valid secp256k1 secret key (0 < key < N), 0 otherwise.
 * Args: s       an initialised handle.
 * In:   seckey  32 bytes, big-endian. */
LP_WARN_UNUSED_RESULT LP_NONNULL(1, 2) int lp_pm_seckey_valid(const lp_secp *s, const uint8_t seckey[32]);

/* Derives the Ethereum address of a secret key: last 20 bytes of keccak256(X | Y) of its public key.
 * Returns LP_OK, or LP_ERR_ARG if the key is invalid (out is zeroed).
 * Args: s       an initialised handle.
 * Out:  out20   the address.
 * In:   seckey  32 bytes. */
LP_WARN_UNUSED_RESULT LP_NONNULL(1, 2, 3) int lp_pm_address(const lp_secp *s, const uint8_t seckey[32],
                                                            uint8_t out20[20]);

/* Signs n 32-byte messages with one key.
 * Returns the number of rows that could not be signed (0 for a valid key); such rows are all zero.
 * Args: s         an initialised handle.
 * Out:  sigs      n*65 bytes: r | s | v per row, v in {27, 28}, RFC 6979 nonce, low-s.
 * In:   seckey    32-byte secret key.
 *       msgs      n*32 bytes.
 *       n         rows.
 *       personal  1: each row is a ticket hash and its EIP-191 personal digest is signed;
 *                 0: each row is already the digest to sign.
 *       threads   <= 0: all cores. */
LP_WARN_UNUSED_RESULT LP_NONNULL(1, 3) size_t lp_pm_sign_batch(const lp_secp *s, uint8_t *sigs, const uint8_t seckey[32], const uint8_t *msgs, size_t n,
                        int personal, int threads);

/* Recovers the signer address of each row, applying go-livepeer's checks (enum lp_sig_status) in order.
 * A row that fails any check gets the all-zero address and its status; nothing else is affected.
 * Args: s         an initialised handle.
 * Out:  addrs     n*20 bytes.
 *       status    n entries of enum lp_sig_status (never LP_SIG_BAD_LENGTH or LP_SIG_WRONG_SENDER).
 * In:   msgs      n*32 bytes (ticket hashes if personal, else digests), sigs n*65 bytes; n rows.
 *       personal  as for lp_pm_sign_batch; threads  <= 0: all cores. */
LP_NONNULL(1) void lp_pm_recover_batch(const lp_secp *s, uint8_t *addrs, uint8_t *status, const uint8_t *msgs,
                         const uint8_t *sigs, size_t n, int personal, int threads);

/* Verifies that each row's signature recovers to its expected sender.
 * Args: s         an initialised handle.
 * Out:  valid     n entries: 1 iff status is LP_SIG_OK.
 *       status    n entries of enum lp_sig_status (LP_SIG_WRONG_SENDER when recovery worked but differs).
 * In:   msgs, sigs, n, personal, threads  as for lp_pm_recover_batch.
 *       senders   20-byte addresses, one per row or broadcast (stride 0). */
LP_NONNULL(1) void lp_pm_verify_batch(const lp_secp *s, uint8_t *valid, uint8_t *status, const uint8_t *msgs,
                        const uint8_t *sigs, lp_column senders, size_t n, int personal, int threads);

/* Winner check: row i wins iff uint256(keccak256(sig_i | recipientRand_i)) < winProb_i (strict, §3).
 * The signature bytes are hashed as given, whatever their length (go-livepeer's IsWinningTicket does the same;
 * the contract separately requires 65 bytes).
 * Returns LP_OK; LP_ERR_ARG (writing nothing) if sig_offsets is malformed or sigs_len < 65*n without offsets.
 * Out: wins            n entries, 1 = winning.
 * In:  sigs            the signatures back to back; sigs_len its size in bytes.
 *      sig_offsets     NULL: row i is the 65 bytes at sigs + 65*i (sigs_len must be >= 65*n);
 *                      otherwise n+1 offsets, row i = sigs[sig_offsets[i] .. sig_offsets[i+1]).
 *      recipient_rand  32-byte big-endian uint256 per row, or broadcast.
 *      win_prob        32-byte big-endian uint256 per row, or broadcast.
 *      n               rows; threads  <= 0: all cores. */
LP_WARN_UNUSED_RESULT int lp_pm_is_winning_batch(uint8_t *wins, const uint8_t *sigs, size_t sigs_len, const int64_t *sig_offsets,
                           lp_column recipient_rand, lp_column win_prob, size_t n, int threads);

/* Benchmark baselines: the bare libsecp256k1 calls, with none of lpcore's hashing, checks or threads, so the
 * benchmark can report lpcore's single-thread overhead over the library itself.
 * lp_pm_bench_raw_sign: n x (ecdsa_sign_recoverable + serialize_compact) over ready digests; out n*65 bytes
 *   (r | s | recid). lp_pm_bench_raw_recover: n x (parse_compact + ecdsa_recover) over digests and sigs with
 *   recid in byte 64; pubkeys_out n*64 bytes (the library's internal pubkey form).
 * Both return the number of failed rows. */
size_t lp_pm_bench_raw_sign(const lp_secp *s, uint8_t *out, const uint8_t seckey[32], const uint8_t *digests,
                            size_t n);
size_t lp_pm_bench_raw_recover(const lp_secp *s, uint8_t *pubkeys_out, const uint8_t *digests,
                               const uint8_t *sigs, size_t n);

#endif
