/* Function attributes for the csrc/pm headers. */
#ifndef LP_PM_ATTRS_H
#define LP_PM_ATTRS_H

/* Marks functions whose return value reports success or failure: ignoring it is a bug (libsecp256k1's
 * SECP256K1_WARN_UNUSED_RESULT convention). */
#if defined(__GNUC__) || defined(__clang__)
#define LP_WARN_UNUSED_RESULT __attribute__((warn_unused_result))
#else
#define LP_WARN_UNUSED_RESULT
#endif

#endif
