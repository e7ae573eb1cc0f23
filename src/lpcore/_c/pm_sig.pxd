# csrc/pm/sig.h
from libc.stdint cimport int64_t, uint8_t

from lpcore._c.pm_secp cimport lp_secp
from lpcore._c.pm_ticket cimport lp_column

cdef extern from "pm/sig.h" nogil:
    const uint8_t LP_SECP256K1_N[32]
    const uint8_t LP_SECP256K1_HALF_N[32]
    enum:
        LP_SIG_OK
        LP_SIG_BAD_LENGTH
        LP_SIG_HIGH_S
        LP_SIG_BAD_V
        LP_SIG_BAD_RS
        LP_SIG_UNRECOVERABLE
        LP_SIG_WRONG_SENDER
    void lp_pm_personal_message_digest(uint8_t *out32, const uint8_t *msg, size_t length)
    void lp_pm_personal_hashes(uint8_t *out, const uint8_t *hashes, size_t n, int threads)
    int lp_pm_seckey_valid(const lp_secp *s, const uint8_t *seckey)
    int lp_pm_address(const lp_secp *s, const uint8_t *seckey, uint8_t *out20)
    size_t lp_pm_sign_batch(const lp_secp *s, uint8_t *sigs, const uint8_t *seckey, const uint8_t *msgs, size_t n,
                            int personal, int threads)
    void lp_pm_recover_batch(const lp_secp *s, uint8_t *addrs, uint8_t *status, const uint8_t *msgs,
                             const uint8_t *sigs, size_t n, int personal, int threads)
    void lp_pm_verify_batch(const lp_secp *s, uint8_t *valid, uint8_t *status, const uint8_t *msgs,
                            const uint8_t *sigs, lp_column senders, size_t n, int personal, int threads)
    int lp_pm_is_winning_batch(uint8_t *wins, const uint8_t *sigs, size_t sigs_len, const int64_t *sig_offsets,
                               lp_column recipient_rand, lp_column win_prob, size_t n, int threads)
    size_t lp_pm_bench_raw_sign(const lp_secp *s, uint8_t *out, const uint8_t *seckey, const uint8_t *digests,
                                size_t n)
    size_t lp_pm_bench_raw_recover(const lp_secp *s, uint8_t *pubkeys_out, const uint8_t *digests,
                                   const uint8_t *sigs, size_t n)
