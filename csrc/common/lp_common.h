/* Conventions shared by every csrc/ module (pm, vsig, match), after libsecp256k1's.
 *
 * Status: a function that can fail returns an int status, LP_OK (0) on success or a negative LP_ERR_* code
 * (modules extend the list with their own negative codes, e.g. VSIG_E* in vsig/vsig.h, and map each code to a
 * message). Such functions are declared LP_WARN_UNUSED_RESULT: ignoring a status is a bug. Predicates
 * ("is this key valid?") return 1 or 0 and are named as questions (*_valid, *_is_*); counts are size_t.
 * Pointer arguments that must never be NULL are declared with LP_NONNULL(argument positions).
 * Lengths: every function that reads a caller-sized buffer takes its length and checks it; layouts that come
 * from untrusted input (offset tables, file fields) are validated before any byte is read. */
#ifndef LP_COMMON_H
#define LP_COMMON_H

#include <stddef.h>
#include <stdint.h>

enum lp_status {
    LP_OK = 0,
    LP_ERR_NOMEM = -1, /* allocation failed */
    LP_ERR_ARG = -2,   /* an argument is outside its documented domain (bad key, malformed offset table) */
    LP_ERR_INIT = -3   /* a library could not be initialised */
};

#if defined(__GNUC__) || defined(__clang__)
#define LP_WARN_UNUSED_RESULT __attribute__((warn_unused_result))
#define LP_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#else
#define LP_WARN_UNUSED_RESULT
#define LP_NONNULL(...)
#endif

/* Returns 1 if the n bytes at p are all zero (constant time in n). */
static inline int lp_all_zero(const uint8_t *p, size_t n) {
    uint8_t acc = 0;
    for (size_t k = 0; k < n; k++) acc |= p[k];
    return acc == 0;
}

/* Checks an offset table of n rows over a data_len-byte buffer: n+1 entries, offsets[0] >= 0, never decreasing,
 * offsets[n] <= data_len, so row i = data[offsets[i] .. offsets[i+1]) is always in bounds.
 * Returns LP_OK or LP_ERR_ARG. */
LP_WARN_UNUSED_RESULT static inline int lp_check_offsets(const int64_t *offsets, size_t n, size_t data_len) {
    if (offsets[0] < 0) return LP_ERR_ARG;
    for (size_t i = 0; i < n; i++)
        if (offsets[i + 1] < offsets[i]) return LP_ERR_ARG;
    return (uint64_t)offsets[n] <= (uint64_t)data_len ? LP_OK : LP_ERR_ARG;
}

#endif
