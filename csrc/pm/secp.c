/* Function-table loading for libsecp256k1 (see secp.h). */
#include "pm/secp.h"

#include <string.h>

static const char *const FN_NAMES[LP_SECP_FN_COUNT] = {
    "secp256k1_context_create",
    "secp256k1_context_destroy",
    "secp256k1_context_randomize",
    "secp256k1_context_set_illegal_callback",
    "secp256k1_ec_seckey_verify",
    "secp256k1_ec_pubkey_create",
    "secp256k1_ec_pubkey_serialize",
    "secp256k1_ecdsa_sign_recoverable",
    "secp256k1_ecdsa_recoverable_signature_serialize_compact",
    "secp256k1_ecdsa_recoverable_signature_parse_compact",
    "secp256k1_ecdsa_recover",
};

const char *lp_secp_function_name(int index) {
    return (index >= 0 && index < LP_SECP_FN_COUNT) ? FN_NAMES[index] : NULL;
}

/* libsecp256k1's default "illegal argument" callback aborts the process. lpcore checks every argument before
 * calling, so this should never fire; if it does, the library call returns 0 and the row is reported invalid,
 * which is better than killing the host (a gateway or orchestrator) over one bad ticket. */
static void ignore_illegal_argument(const char *message, void *data) {
    (void)message;
    (void)data;
}

/* Converting an object address (as resolved by cffi) to a function pointer is implementation-defined in
 * ISO C but exact on every platform CPython supports (POSIX requires it for dlsym). */
#define LP_FN(type, addr) ((type)(uintptr_t)(addr))

int lp_secp_init(lp_secp *s, const uintptr_t *fns, size_t n_fns, unsigned int context_flags,
                 unsigned int ec_uncompressed, const unsigned char seed32[32]) {
    memset(s, 0, sizeof(*s));
    if (n_fns != LP_SECP_FN_COUNT) return LP_ERR_ARG;
    for (size_t i = 0; i < n_fns; i++)
        if (fns[i] == 0) return LP_ERR_ARG;
    lp_secp_api *f = &s->fn;
    f->context_create = LP_FN(lp_secp256k1_context * (*)(unsigned int), fns[LP_SECP_CONTEXT_CREATE]);
    f->context_destroy = LP_FN(void (*)(lp_secp256k1_context *), fns[LP_SECP_CONTEXT_DESTROY]);
    f->context_randomize =
        LP_FN(int (*)(lp_secp256k1_context *, const unsigned char *), fns[LP_SECP_CONTEXT_RANDOMIZE]);
    f->context_set_illegal_callback =
        LP_FN(void (*)(lp_secp256k1_context *, void (*)(const char *, void *), const void *),
              fns[LP_SECP_CONTEXT_SET_ILLEGAL_CALLBACK]);
    f->ec_seckey_verify =
        LP_FN(int (*)(const lp_secp256k1_context *, const unsigned char *), fns[LP_SECP_EC_SECKEY_VERIFY]);
    f->ec_pubkey_create = LP_FN(int (*)(const lp_secp256k1_context *, lp_secp256k1_pubkey *, const unsigned char *),
                                fns[LP_SECP_EC_PUBKEY_CREATE]);
    f->ec_pubkey_serialize = LP_FN(int (*)(const lp_secp256k1_context *, unsigned char *, size_t *,
                                           const lp_secp256k1_pubkey *, unsigned int),
                                   fns[LP_SECP_EC_PUBKEY_SERIALIZE]);
    f->ecdsa_sign_recoverable = LP_FN(int (*)(const lp_secp256k1_context *, lp_secp256k1_recsig *,
                                              const unsigned char *, const unsigned char *, const void *,
                                              const void *),
                                      fns[LP_SECP_ECDSA_SIGN_RECOVERABLE]);
    f->ecdsa_recsig_serialize_compact =
        LP_FN(int (*)(const lp_secp256k1_context *, unsigned char *, int *, const lp_secp256k1_recsig *),
              fns[LP_SECP_ECDSA_RECSIG_SERIALIZE_COMPACT]);
    f->ecdsa_recsig_parse_compact =
        LP_FN(int (*)(const lp_secp256k1_context *, lp_secp256k1_recsig *, const unsigned char *, int),
              fns[LP_SECP_ECDSA_RECSIG_PARSE_COMPACT]);
    f->ecdsa_recover = LP_FN(int (*)(const lp_secp256k1_context *, lp_secp256k1_pubkey *,
                                     const lp_secp256k1_recsig *, const unsigned char *),
                             fns[LP_SECP_ECDSA_RECOVER]);
    s->ec_uncompressed = ec_uncompressed;

    s->ctx = f->context_create(context_flags);
    if (!s->ctx) return LP_ERR_INIT;
    f->context_set_illegal_callback(s->ctx, ignore_illegal_argument, NULL);
    if (!f->context_randomize(s->ctx, seed32)) {
        f->context_destroy(s->ctx);
        memset(s, 0, sizeof(*s));
        return LP_ERR_INIT;
    }
    return LP_OK;
}

void lp_secp_destroy(lp_secp *s) {
    if (s->ctx) s->fn.context_destroy(s->ctx);
    s->ctx = NULL;
}
