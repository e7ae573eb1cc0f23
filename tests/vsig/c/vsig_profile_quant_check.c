/* Checks the profile's quantisers against plain integer arithmetic (run by tests/vsig/test_profile.py):
 * vsig_div_by_magic() against the division for every divisor the profile can use (2 <= d <= 2^23, two sizes'
 * worth of block counts) at the dividends where a wrong multiplier shows first (0, d - 1, d, multiples, the
 * largest 32-bit values) and at random ones; vsig_profile_mean() against (2*sum + cnt) / (2*cnt); and
 * vsig_profile_spread() against an integer square root, with the exact reciprocal and with a deliberately bad
 * one (the integer comparisons must settle any guess). */
#include "vsig_common.h"
#include <stdio.h>

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static uint32_t isqrt_spread(uint64_t sum, uint64_t sumsq, uint64_t cnt)
{
    uint64_t v4 = 4 * (cnt * sumsq - sum * sum), c2 = cnt * cnt, q = v4 / c2, s = 0;
    while (s < 255 && (s + 1) * (s + 1) <= q)   /* floor(sqrt(v4 / c2)) = floor(sqrt(floor(v4 / c2))) */
        s++;
    return (uint32_t)s;
}

int main(void)
{
    long bad = 0;
    uint32_t d;
    for (d = 2; d <= (1u << 23); d++) {
        uint64_t m = vsig_div_magic(d);
        uint32_t n[8] = {0, d - 1, d, 2 * d - 1, 2 * d, UINT32_MAX, UINT32_MAX - d, (uint32_t)next()};
        int k;
        for (k = 0; k < 8; k++)
            if (vsig_div_by_magic(n[k], m) != n[k] / d) {
                if (bad < 5)
                    printf("div %u / %u\n", n[k], d);
                bad++;
            }
    }
    for (long i = 0; i < 4000000; i++) {
        uint32_t cnt = (uint32_t)(next() % (i % 2 ? 64 : (1u << 22))) + 1, sum = (uint32_t)(next() % (255ull * cnt + 1));
        if (i % 5 == 0)
            sum = 255 * cnt;
        if (vsig_profile_mean(sum, cnt, vsig_div_magic(2 * cnt)) != (uint8_t)((2 * sum + cnt) / (2 * cnt)))
            bad++;
    }
    for (long i = 0; i < 2000000; i++) {
        uint64_t cnt = next() % (i % 2 ? 200 : (1u << 22)) + 1, hi = next() % 256, lo = next() % (hi + 1);
        uint64_t a = next() % (cnt + 1), sum = a * hi + (cnt - a) * lo, sumsq = a * hi * hi + (cnt - a) * lo * lo;
        double inv = 1.0 / (double)(cnt * cnt), wrong = inv * (double)(next() % 4) * 0.7;
        uint32_t want = isqrt_spread(sum, sumsq, cnt);
        if (vsig_profile_spread(sum, sumsq, cnt, inv) != want || vsig_profile_spread(sum, sumsq, cnt, wrong) != want) {
            if (bad < 10)
                printf("spread cnt=%llu sum=%llu sumsq=%llu\n", (unsigned long long)cnt, (unsigned long long)sum,
                       (unsigned long long)sumsq);
            bad++;
        }
    }
    printf("bad=%ld\n", bad);
    return bad != 0;
}
