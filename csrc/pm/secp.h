/* The slice of libsecp256k1 that lpcore uses, reached through a function table.
 *
 * libsecp256k1 is not vendored: coincurve's wheel carries it (with the recovery module) as a cffi extension.
 * At import the Python side resolves each function named by lp_secp_function_name() to its raw address and
 * hands the addresses to lp_secp_init(), which also creates lpcore's own context. The types below mirror the
 * library's public ABI (secp256k1.h, secp256k1_recovery.h of libsecp256k1 v0.6): opaque context, 64-byte
 * pubkey and 65-byte recoverable-signature structs, which callers must only pass back to the library. */
#ifndef LP_SECP_H
#define LP_SECP_H

#include <stddef.h>
#include <stdint.h>

#include "common/lp_common.h"

typedef struct lp_secp256k1_context_s lp_secp256k1_context; /* secp256k1_context */
typedef struct { unsigned char data[64]; } lp_secp256k1_pubkey;    /* secp256k1_pubkey */
typedef struct { unsigned char data[65]; } lp_secp256k1_recsig;    /* secp256k1_ecdsa_recoverable_signature */

/* Indices into the address array given to lp_secp_init(). */
enum lp_secp_fn {
    LP_SECP_CONTEXT_CREATE,
    LP_SECP_CONTEXT_DESTROY,
    LP_SECP_CONTEXT_RANDOMIZE,
    LP_SECP_CONTEXT_SET_ILLEGAL_CALLBACK,
    LP_SECP_EC_SECKEY_VERIFY,
    LP_SECP_EC_PUBKEY_CREATE,
    LP_SECP_EC_PUBKEY_SERIALIZE,
    LP_SECP_ECDSA_SIGN_RECOVERABLE,
    LP_SECP_ECDSA_RECSIG_SERIALIZE_COMPACT,
    LP_SECP_ECDSA_RECSIG_PARSE_COMPACT,
    LP_SECP_ECDSA_RECOVER,
    LP_SECP_FN_COUNT
};

/* The library's functions, with its own signatures (the nonce function is passed as NULL: RFC 6979). */
typedef struct {
    lp_secp256k1_context *(*context_create)(unsigned int flags);
    void (*context_destroy)(lp_secp256k1_context *ctx);
    int (*context_randomize)(lp_secp256k1_context *ctx, const unsigned char *seed32);
    void (*context_set_illegal_callback)(lp_secp256k1_context *ctx, void (*fun)(const char *message, void *data),
                                         const void *data);
    int (*ec_seckey_verify)(const lp_secp256k1_context *ctx, const unsigned char *seckey);
    int (*ec_pubkey_create)(const lp_secp256k1_context *ctx, lp_secp256k1_pubkey *pubkey,
                            const unsigned char *seckey);
    int (*ec_pubkey_serialize)(const lp_secp256k1_context *ctx, unsigned char *output, size_t *outputlen,
                               const lp_secp256k1_pubkey *pubkey, unsigned int flags);
    int (*ecdsa_sign_recoverable)(const lp_secp256k1_context *ctx, lp_secp256k1_recsig *sig,
                                  const unsigned char *msghash32, const unsigned char *seckey,
                                  const void *noncefp, const void *ndata);
    int (*ecdsa_recsig_serialize_compact)(const lp_secp256k1_context *ctx, unsigned char *output64, int *recid,
                                          const lp_secp256k1_recsig *sig);
    int (*ecdsa_recsig_parse_compact)(const lp_secp256k1_context *ctx, lp_secp256k1_recsig *sig,
                                      const unsigned char *input64, int recid);
    int (*ecdsa_recover)(const lp_secp256k1_context *ctx, lp_secp256k1_pubkey *pubkey,
                         const lp_secp256k1_recsig *sig, const unsigned char *msghash32);
} lp_secp_api;

/* A ready-to-use library handle: the function table plus lpcore's own randomized context. After lp_secp_init
 * the context is only read, so one lp_secp may be used from any number of threads at once. */
typedef struct {
    lp_secp_api fn;
    lp_secp256k1_context *ctx;
    unsigned int ec_uncompressed; /* SECP256K1_EC_UNCOMPRESSED, as the loaded library defines it */
} lp_secp;

/* Returns the library symbol name for table index `index` ("secp256k1_context_create", ...), or NULL when
 * index is out of range [0, LP_SECP_FN_COUNT). */
const char *lp_secp_function_name(int index);

/* Fills the table, creates a context and randomizes it (side-channel blinding).
 * Returns LP_OK; LP_ERR_ARG if an address is 0 or n_fns != LP_SECP_FN_COUNT, LP_ERR_INIT if context
 *         creation/randomization failed (then nothing needs destroying).
 * Out: s               the handle.
 * In:  fns             n_fns raw function addresses, in enum lp_secp_fn order.
 *      context_flags   flags for secp256k1_context_create (SECP256K1_CONTEXT_NONE).
 *      ec_uncompressed the library's SECP256K1_EC_UNCOMPRESSED flag.
 *      seed32          32 bytes of fresh randomness for secp256k1_context_randomize. */
LP_WARN_UNUSED_RESULT LP_NONNULL(1, 2, 6) int lp_secp_init(lp_secp *s, const uintptr_t *fns, size_t n_fns,
                                                         unsigned int context_flags, unsigned int ec_uncompressed,
                                                         const unsigned char seed32[32]);

/* Destroys the context created by lp_secp_init (the handle must not be used afterwards). */
LP_NONNULL(1) void lp_secp_destroy(lp_secp *s);

#endif
