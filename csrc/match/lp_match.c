/* MPEG-7 signature lookup, written from spec/vsig.md §5 (FFmpeg's behaviour, quirks included). */
#include "match/lp_match.h"

#include "common/lp_common.h"
#include "common/lp_threads.h"

#include <stdlib.h>
#include <string.h>

#define HOUGH_OFFSETS 181 /* offsets -90..+90 */
#define HOUGH_RATES 2     /* only m = 1 (framerate 30) and m = 2 (framerate 60) pass 0 < 30m <= 60 */
#define MAX_CANDS (HOUGH_RATES * HOUGH_OFFSETS)
#define NO_DIST 99999

enum { DIR_PREV = 0, DIR_NEXT = 1, DIR_PREV_END = 2, DIR_NEXT_END = 3 };
enum { STATUS_END_REACHED = 1, STATUS_BEGIN_REACHED = 2 };

static inline int popcount64(uint64_t x) { return __builtin_popcountll(x); }

void lp_match_planes(const uint8_t *framesig, int64_t n, uint64_t *planes) {
    /* per byte value: 5-bit masks of its trits >= 1 (lo) and == 2 (hi), bit m = trit m, where trit 0 is
     * the most significant base-3 digit (§2.4); a 256-entry table costs less than one frame */
    uint8_t lo_mask[256], hi_mask[256];
    for (unsigned v = 0; v < 256; v++) {
        unsigned x = v > 242 ? 242 : v;
        lo_mask[v] = hi_mask[v] = 0;
        for (int m = 4; m >= 0; m--, x /= 3) {
            if (x % 3 >= 1) lo_mask[v] |= (uint8_t)(1u << m);
            if (x % 3 == 2) hi_mask[v] |= (uint8_t)(1u << m);
        }
    }
    for (int64_t f = 0; f < n; f++) {
        const uint8_t *sig = framesig + f * LP_MATCH_FRAMESIG_BYTES;
        uint64_t *lo = planes + f * LP_MATCH_PLANE_WORDS, *hi = lo + LP_MATCH_PLANE_WORDS / 2;
        memset(lo, 0, LP_MATCH_PLANE_WORDS * sizeof(uint64_t));
        for (int k = 0; k < LP_MATCH_FRAMESIG_BYTES; k++) {
            int e = 5 * k, w = e >> 6, sh = e & 63;
            uint64_t l = lo_mask[sig[k]], h = hi_mask[sig[k]];
            lo[w] |= l << sh;
            hi[w] |= h << sh;
            if (sh > 59) { /* the 5 bits straddle two words */
                lo[w + 1] |= l >> (64 - sh);
                hi[w + 1] |= h >> (64 - sh);
            }
        }
    }
}

int lp_match_l1(const uint64_t *pa, const uint64_t *pb) {
    int d = 0;
    for (int k = 0; k < LP_MATCH_PLANE_WORDS; k++) d += popcount64(pa[k] ^ pb[k]);
    return d;
}

/* L1 distances of one frame to n consecutive frames. The popcount dominates the whole lookup, so on
 * x86-64 a copy compiled for the POPCNT instruction is chosen at run time (the baseline x86-64 ABI
 * lacks it and __builtin_popcountll then becomes a slow library call). */
typedef void (*l1_row_fn)(const uint64_t *pf, const uint64_t *ps, int64_t n, int *out);

static void l1_row_generic(const uint64_t *pf, const uint64_t *ps, int64_t n, int *out) {
    for (int64_t j = 0; j < n; j++, ps += LP_MATCH_PLANE_WORDS) out[j] = lp_match_l1(pf, ps);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("popcnt"))) static void l1_row_popcnt(const uint64_t *pf, const uint64_t *ps, int64_t n,
                                                               int *out) {
    for (int64_t j = 0; j < n; j++, ps += LP_MATCH_PLANE_WORDS) {
        int d = 0;
        for (int k = 0; k < LP_MATCH_PLANE_WORDS; k++) d += __builtin_popcountll(pf[k] ^ ps[k]);
        out[j] = d;
    }
}
#endif

static l1_row_fn pick_l1_row(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("popcnt")) return l1_row_popcnt;
#endif
    return l1_row_generic;
}

typedef struct {
    int64_t a, b;       /* frames (a in stream a, b in stream b); -1 = never set */
    int score, offset;
    double frr;
} cand_t;

typedef struct {
    int dist;
    int score;
    int64_t a, b;
} hcell_t;

typedef struct {
    int size;
    int dist;
    uint8_t b_pos[LP_MATCH_COARSE_SIZE];
} pairs_t;


/* Stage 2 of one coarse pair depends only on its frame-pair lists (and the preset): windows with the same lists
 * (static or flat content, where every window looks alike) give the same candidates shifted by the windows'
 * first frames. The last lists and their candidates (relative to the window) are kept, so such windows vote
 * once. */
typedef struct {
    int valid;
    int64_t ni;
    int nc;
    pairs_t pairs[LP_MATCH_COARSE_SIZE];
    cand_t cands[MAX_CANDS]; /* a, b relative to the window's first frames */
} stage2_memo;

/* Distance source of one lookup. Overlapping coarse segments make stage 2 see each frame pair up to
 * four times, so when the full na x nb matrix is small enough each row keeps the interval of columns
 * already computed [lo, hi) and only extends it. */
typedef struct {
    l1_row_fn l1_row;
    const uint64_t *PA, *PB;
    int64_t nb;
    int *cache;       /* na x nb distances, or NULL: compute every time */
    int64_t *lo, *hi; /* per row of a: computed column interval */
    stage2_memo *memo; /* see stage2_memo */
    uint8_t *lines;   /* diagonal walk: alignment lines already evaluated (see line_index), or NULL */
} dist_ctx;

/* Returns n distances of frame f of a to frames s0..s0+n-1 of b (buf is used without a cache). */
static const int *dist_row(dist_ctx *c, int64_t f, int64_t s0, int64_t n, int *buf) {
    const uint64_t *pf = c->PA + f * LP_MATCH_PLANE_WORDS;
    if (!c->cache) {
        c->l1_row(pf, c->PB + s0 * LP_MATCH_PLANE_WORDS, n, buf);
        return buf;
    }
    int *row = c->cache + f * c->nb;
    int64_t lo = c->lo[f], hi = c->hi[f], e = s0 + n;
    if (lo >= hi) { /* empty */
        c->l1_row(pf, c->PB + s0 * LP_MATCH_PLANE_WORDS, n, row + s0);
        c->lo[f] = s0;
        c->hi[f] = e;
    } else {
        if (s0 < lo) {
            c->l1_row(pf, c->PB + s0 * LP_MATCH_PLANE_WORDS, lo - s0, row + s0);
            c->lo[f] = s0;
        }
        if (e > hi) {
            c->l1_row(pf, c->PB + hi * LP_MATCH_PLANE_WORDS, e - hi, row + hi);
            c->hi[f] = e;
        }
    }
    return row + s0;
}

static int dist_one(dist_ctx *c, int64_t a, int64_t b) {
    int d;
    if (c->cache && c->lo[a] <= b && b < c->hi[a]) return c->cache[a * c->nb + b];
    c->l1_row(c->PA + a * LP_MATCH_PLANE_WORDS, c->PB + b * LP_MATCH_PLANE_WORDS, 1, &d);
    return d;
}

/* Stage 1 pair test (§5.2). Returns 1 if the coarse pair is a candidate. */
static int coarse_accept(const lp_match_params *p, const uint8_t *bag_a, const uint8_t *bag_b) {
    int composdist = 0, too_far = 0;
    for (int w = 0; w < LP_MATCH_WORDS; w++) {
        const uint8_t *x = bag_a + w * LP_MATCH_BAG_BYTES, *y = bag_b + w * LP_MATCH_BAG_BYTES;
        int inter = 0, uni = 0, jd;
        for (int k = 0; k < LP_MATCH_BAG_BYTES; k++) {
            inter += popcount64((uint64_t)(x[k] & y[k]));
            uni += popcount64((uint64_t)(x[k] | y[k]));
        }
        if (p->jaccard == LP_JACCARD_Q16) {
            jd = inter == 0 ? 65536 : 65536 - (int)(((int64_t)65536 * inter) / uni);
        } else {
            /* the pre-7.1 "distance": 0, or 1 for identical non-empty bitmaps, so it never rejects
             * with the default thresholds (commit 300df41c30's message says so) */
            jd = inter > 0 ? inter / uni : inter;
        }
        if (jd >= p->th_d && ++too_far > 2) return 0;
        composdist += jd;
        if (composdist > p->th_dc) return 0;
    }
    return 1;
}

/* Stage 2 (§5.4): frame pairs under th_xh and Hough voting over (framerate, offset).
 * Returns the number of candidates written to cands (ordered by ratio, then offset). */
static int stage2(const lp_match_params *p, dist_ctx *dc, const lp_match_stream *A, int64_t first,
                  const lp_match_stream *B, int64_t second, cand_t *cands) {
    pairs_t pairs[LP_MATCH_COARSE_SIZE];
    int row[LP_MATCH_COARSE_SIZE];
    hcell_t hs[HOUGH_RATES][HOUGH_OFFSETS];
    int tail = p->include_last_frame ? 0 : 1; /* B8: upstream stops at the frame without a successor */
    int64_t ni = A->n - tail - first, nj = B->n - tail - second;
    int hmax = 0, nc = 0;

    if (ni > LP_MATCH_COARSE_SIZE) ni = LP_MATCH_COARSE_SIZE;
    if (nj > LP_MATCH_COARSE_SIZE) nj = LP_MATCH_COARSE_SIZE;
    if (ni <= 0 || nj <= 0) return 0;

    for (int64_t i = 0; i < ni; i++) {
        const int *dist = dist_row(dc, first + i, second, nj, row);
        pairs[i].size = 0;
        pairs[i].dist = NO_DIST;
        for (int64_t j = 0; j < nj; j++) {
            int d = dist[j];
            if (d < p->th_xh) { /* strict here, "<=" in stage 3: FFmpeg's own asymmetry */
                if (d < pairs[i].dist) {
                    pairs[i].size = 1;
                    pairs[i].dist = d;
                    pairs[i].b_pos[0] = (uint8_t)j;
                } else if (d == pairs[i].dist) {
                    pairs[i].b_pos[pairs[i].size++] = (uint8_t)j;
                }
            }
        }
    }

    stage2_memo *memo = dc->memo;
    if (memo && memo->valid && memo->ni == ni) {
        int same = 1;
        for (int64_t i = 0; same && i < ni; i++) {
            const pairs_t *x = &pairs[i], *y = &memo->pairs[i];
            same = x->size == y->size && x->dist == y->dist && memcmp(x->b_pos, y->b_pos, (size_t)x->size) == 0;
        }
        if (same) {
            for (int c = 0; c < memo->nc; c++) {
                cands[c] = memo->cands[c];
                cands[c].a += first;
                cands[c].b += second;
            }
            return memo->nc;
        }
    }

    for (int r = 0; r < HOUGH_RATES; r++)
        for (int o = 0; o < HOUGH_OFFSETS; o++) {
            hs[r][o].dist = NO_DIST;
            hs[r][o].score = 0;
            hs[r][o].a = hs[r][o].b = -1;
        }

    /* Hough voting. FFmpeg loops over (i, j, k, l) and lets every pair (pj, pl) vote: O(90^4) per coarse pair
     * when every frame pair ties (static or flat content: 17-34 s for 30 s of video). The same votes are
     * counted here in O(90^3): for fixed (i, k, pj) the cell a vote lands in depends only on the slope
     * m = (pl - pj) div (k - i), so the b positions of frame k (ascending) split into two runs, [pj + d, pj + 2d)
     * for m = 1 and [pj + 2d, pj + 3d) for m = 2 (d = k - i), found with three pointers that only move forward
     * as pj grows. Each run adds its length to the cell's score; the cell's best pair follows FFmpeg's
     * "strictly smaller distance replaces" rule, under which only the run's first pair can take effect. For one
     * cell and one i the position pj is fixed (the offset depends on pj and i only) and k, l still run in
     * FFmpeg's order, so every cell ends with exactly FFmpeg's score and pair. */
    for (int i = 0; i < ni; i++) {
        const pairs_t *pi = &pairs[i];
        for (int k = i + 1; k < ni && pi->size; k++) {
            const pairs_t *pk = &pairs[k];
            int d = k - i, l1 = 0, l2 = 0, l3 = 0;
            if (!pk->size) continue;
            for (int j = 0; j < pi->size; j++) {
                int pj = pi->b_pos[j];
                while (l1 < pk->size && pk->b_pos[l1] < pj + d) l1++;
                if (l2 < l1) l2 = l1;
                while (l2 < pk->size && pk->b_pos[l2] < pj + 2 * d) l2++;
                if (l3 < l2) l3 = l2;
                while (l3 < pk->size && pk->b_pos[l3] < pj + 3 * d) l3++;
                for (int m = 1; m <= 2; m++) {
                    int from = m == 1 ? l1 : l2, to = m == 1 ? l2 : l3, off;
                    if (from == to) continue;
                    if (p->rounding == LP_ROUND_NEARBYINT) {
                        int mi = m * i; /* nearbyint(mi + 0.5) rounds half to even: mi, or mi+1 if odd */
                        off = pj - mi - (mi & 1);
                    } else {
                        off = pj - m * i;
                    }
                    if (off <= -90 || off >= 90) continue;
                    hcell_t *e = &hs[m - 1][off + 90];
                    if (pi->dist < pk->dist) {
                        if (pi->dist < e->dist) {
                            e->dist = pi->dist;
                            e->a = first + i;
                            e->b = second + pj;
                        }
                    } else if (pk->dist < e->dist) {
                        e->dist = pk->dist;
                        e->a = first + k;
                        e->b = second + pk->b_pos[from];
                    }
                    e->score += to - from;
                    if (e->score > hmax) hmax = e->score;
                }
            }
        }
    }
    if (hmax == 0) {
        nc = 0;
        goto remember;
    }
    hmax = (int)(0.7 * hmax);
    /* B1: upstream reads offsets -90..-1 only */
    int last = p->full_offset_scan ? HOUGH_OFFSETS : 90;
    for (int r = 0; r < HOUGH_RATES; r++) {
        for (int o = 0; o < last; o++) {
            if (hs[r][o].score > hmax) {
                cands[nc].a = hs[r][o].a;
                cands[nc].b = hs[r][o].b;
                cands[nc].score = hs[r][o].score;
                cands[nc].offset = o - 90;
                cands[nc].frr = (30.0 * (r + 1)) / 30;
                nc++;
            }
        }
    }
remember:
    if (memo) {
        memo->valid = 1;
        memo->ni = ni;
        memo->nc = nc;
        memcpy(memo->pairs, pairs, (size_t)ni * sizeof(pairs_t));
        for (int c = 0; c < nc; c++) {
            memo->cands[c] = cands[c];
            memo->cands[c].a -= first;
            memo->cands[c].b -= second;
        }
    }
    return nc;
}

/* FFmpeg's iterate_frame for ratios >= 1 (the only ones stage 2 produces). */
static int iterate_frame(double frr, int64_t *a, int64_t *b, int64_t na, int64_t nb, int fcount, int *bcount,
                         int dir) {
    int step = (int)(fcount * frr) - (int)((fcount - 1) * frr);
    if (dir == DIR_NEXT) {
        if (*a + 1 >= na) return DIR_NEXT_END;
        (*a)++;
        if (*b + step >= nb) return DIR_NEXT_END;
        *b += step;
        (*bcount)++;
        return DIR_NEXT;
    }
    if (*a - 1 < 0) return DIR_PREV_END;
    (*a)--;
    if (*b - step < 0) return DIR_PREV_END;
    *b -= step;
    (*bcount)++;
    return DIR_PREV;
}

typedef struct {
    int ever_set; /* bestmatch.first/second hold frames (else uninitialised in upstream) */
    int whole;
    int64_t first_a, first_b;
    int matchframes, offset, score;
    double frr, meandist;
} best_t;

/* Stage 3 (§5.5). State is initialised once per call and leaks across candidates unless
 * reset_walk_state is set. */
static void stage3(const lp_match_params *p, dist_ctx *dc, const lp_match_stream *A, const lp_match_stream *B,
                   const cand_t *cands, int nc, best_t *best) {
    int distsum = 0, bcount = 1, dir = DIR_NEXT, fcount = 0, goodfcount = 0, gooda = 0, goodb = 0;
    int tolerancecount = 0, status = 0;
    double minmeandist = best->meandist;

    for (int c = 0; c < nc; c++) {
        const cand_t *cd = &cands[c];
        if (p->reset_walk_state) {
            distsum = 0; bcount = 1; dir = DIR_NEXT; fcount = goodfcount = gooda = goodb = 0;
            tolerancecount = 0; status = 0;
        }
        /* Livepeer's NULL-candidate skip. Never taken here: every vote sets a/b because an L1 distance
         * (<= 760) is always below the initial cell distance 99999; kept so no path reads frame -1. */
        if (cd->a < 0 || cd->b < 0) continue;
        int64_t a = cd->a, b = cd->b;
        for (;;) {
            int d = dist_one(dc, a, b);
            if (d > p->th_xh) {
                /* a frame without information on both sides is never counted as bad */
                if (A->confidence[a] >= 1 || B->confidence[b] >= 1) tolerancecount++;
                if (tolerancecount > 2) {
                    if (dir == DIR_NEXT) {
                        a = cd->a;
                        b = cd->b;
                        dir = DIR_PREV;
                    } else {
                        break;
                    }
                }
            } else {
                distsum += d;
                goodfcount++;
                tolerancecount = 0;
                if (A->confidence[a] < 1) gooda++;
                if (B->confidence[b] < 1) goodb++;
            }
            fcount++;
            dir = iterate_frame(cd->frr, &a, &b, A->n, B->n, fcount, &bcount, dir);
            if (dir == DIR_NEXT_END) {
                status = STATUS_END_REACHED;
                a = cd->a;
                b = cd->b;
                dir = iterate_frame(cd->frr, &a, &b, A->n, B->n, fcount, &bcount, DIR_PREV);
            }
            if (dir == DIR_PREV_END) {
                status |= STATUS_BEGIN_REACHED;
                break;
            }
            if (p->th_di != 0 && bcount >= p->th_di) break;
        }
        if (bcount < p->th_di) continue;
        if ((double)goodfcount / (double)fcount < p->th_it) continue;
        if ((double)goodfcount * 0.5 <= (double)(gooda > goodb ? gooda : goodb)) continue;
        double meandist = (double)distsum / (double)goodfcount;
        int both = status == (STATUS_END_REACHED | STATUS_BEGIN_REACHED);
        if (meandist < minmeandist || both || p->mode == LP_MODE_FAST) {
            minmeandist = meandist;
            best->ever_set = 1;
            best->meandist = meandist;
            best->matchframes = bcount;
            best->frr = cd->frr;
            best->score = cd->score;
            best->offset = cd->offset;
            best->first_a = cd->a;
            best->first_b = cd->b;
            best->whole = 0;
        }
        if (both) {
            best->whole = 1;
            break;
        }
        if (p->mode == LP_MODE_FAST) break;
    }
}

/* Index of alignment line b = m*a + c among the lines of an na x nb lookup: m = 1 lines come first
 * (c in -(na-1)..nb-1), then m = 2 (c in -2(na-1)..nb-1); LINES_SIZE entries in all. */
#define LINES_SIZE(na, nb) (3 * (size_t)(na) + 2 * (size_t)(nb))
static inline int64_t line_index(int64_t na, int64_t nb, int64_t m, int64_t c) {
    return m == 1 ? c + (na - 1) : (na + nb) + c + 2 * (na - 1);
}

/* Stage 3 of the "exact" preset: the whole alignment line of each candidate is evaluated.
 * A pair is "informative" unless both frames have confidence 0 (no content to compare: flat or static
 * frames have the same signature whatever their level), "good" if informative and L1 <= th_xh. A
 * candidate passes if informative pairs are more than half of the visited ones (FFmpeg's confidence
 * rule, restated) and good / informative >= th_it (FFmpeg's documented meaning of th_it, which its int
 * field never applies). The reported start is the first frame pair of the line. */
static void stage3_diagonal(const lp_match_params *p, dist_ctx *dc, const lp_match_stream *A,
                            const lp_match_stream *B, const cand_t *cands, int nc, best_t *best, int *best_good) {
    for (int c = 0; c < nc; c++) {
        const cand_t *cd = &cands[c];
        if (cd->a < 0 || cd->b < 0) continue;
        int64_t m = cd->frr >= 2.0 ? 2 : 1;
        if (dc->lines) {
            /* the evaluation depends only on the line (m, b - m*a): a line seen before cannot do better (ties
             * keep the earlier candidate), so it is walked once per lookup */
            int64_t idx = line_index(A->n, B->n, m, cd->b - m * cd->a);
            if (dc->lines[idx]) continue;
            dc->lines[idx] = 1;
        }
        /* k runs over the line a = a0 + k, b = b0 + m*k inside both streams */
        int64_t kmin = -cd->a, kmax = A->n - 1 - cd->a;
        if (-(cd->b / m) > kmin) kmin = -(cd->b / m);
        if ((B->n - 1 - cd->b) / m < kmax) kmax = (B->n - 1 - cd->b) / m;
        int visited = 0, good = 0, informative = 0, distsum = 0;
        for (int64_t k = kmin; k <= kmax; k++) {
            int64_t a = cd->a + k, b = cd->b + m * k;
            visited++;
            if (A->confidence[a] < 1 && B->confidence[b] < 1) continue;
            informative++;
            int d = dist_one(dc, a, b);
            if (d <= p->th_xh) {
                good++;
                distsum += d;
            }
        }
        if (visited < p->th_di || 2 * informative <= visited || good == 0) continue;
        if ((double)good < p->th_it * (double)informative) continue;
        int64_t a_start = cd->a + kmin, a_end = cd->a + kmax, b_start = cd->b + m * kmin, b_end = cd->b + m * kmax;
        int whole = (a_start == 0 && a_end == A->n - 1) || (b_start < m && b_end > B->n - 1 - m);
        double meandist = (double)distsum / good;
        int better = !best->ever_set || whole > best->whole ||
                     (whole == best->whole && (good > *best_good || (good == *best_good && meandist < best->meandist)));
        if (!better) continue;
        best->ever_set = 1;
        best->whole = whole;
        best->meandist = meandist;
        best->matchframes = visited;
        best->frr = cd->frr;
        best->score = cd->score;
        best->offset = cd->offset;
        best->first_a = a_start;
        best->first_b = b_start;
        *best_good = good;
    }
}

static void lookup_impl(const lp_match_params *p, const lp_match_stream *A, const lp_match_stream *B, dist_ctx *dc,
                        lp_match_result *out) {
    cand_t cands[MAX_CANDS];
    best_t best;
    int best_good = 0;
    memset(&best, 0, sizeof best);
    best.meandist = NO_DIST;
    best.first_a = best.first_b = -1;
    memset(out, 0, sizeof *out);

    for (int64_t s1 = 0; s1 < A->nseg && !best.whole; s1++) {
        for (int64_t s2 = 0; s2 < B->nseg && !best.whole; s2++) {
            if (!coarse_accept(p, A->bags + s1 * LP_MATCH_WORDS * LP_MATCH_BAG_BYTES,
                               B->bags + s2 * LP_MATCH_WORDS * LP_MATCH_BAG_BYTES))
                continue;
            out->coarse_pairs++;
            int64_t f1 = A->seg_first[s1], f2 = B->seg_first[s2];
            /* a segment without a frame (possible after Livepeer's pts-based import) has no pairs */
            if (f1 < 0 || f1 >= A->n || f2 < 0 || f2 >= B->n) continue;
            int nc = stage2(p, dc, A, f1, B, f2, cands);
            if (nc == 0) continue;
            out->candidates += nc;
            if (p->diagonal_walk)
                stage3_diagonal(p, dc, A, B, cands, nc, &best, &best_good);
            else
                stage3(p, dc, A, B, cands, nc, &best);
            if (p->model_b2_crash && !best.ever_set) {
                /* B2: the stage-3 log dereferences bestmatch.first/second, never assigned yet */
                out->reference_crash = 1;
                goto done;
            }
        }
    }
done:
    out->whole = best.whole;
    out->score = best.score;
    out->code = best.whole ? 2 : (best.score != 0 ? 1 : 0);
    out->meandist = best.meandist;
    if (best.score != 0) {
        out->first_a = best.first_a;
        out->first_b = best.first_b;
        out->matchframes = best.matchframes;
        out->offset = best.offset;
        out->framerateratio = best.frr;
    } else {
        out->first_a = out->first_b = -1;
        out->code = 0;
        out->whole = 0;
    }
}

/* Scratch of lookups, grown as needed and reused across the pairs a thread runs in a batch. */
typedef struct {
    void *buf;
    size_t cap;
} scratch_t;

static int lookup_in(scratch_t *ws, const lp_match_params *p, const lp_match_stream *a, const lp_match_stream *b,
                     lp_match_result *out) {
    size_t na = (size_t)(a->n > 0 ? a->n : 0), nb = (size_t)(b->n > 0 ? b->n : 0);
    int use_cache = (uint64_t)na * nb <= LP_MATCH_CACHE_MAX;
    size_t plane_bytes = (na + nb + 1) * LP_MATCH_PLANE_WORDS * sizeof(uint64_t);
    size_t memo_at = plane_bytes;
    size_t lohi_at = memo_at + ((sizeof(stage2_memo) + 7) & ~(size_t)7);
    size_t cache_at = lohi_at + (use_cache ? 2 * na * sizeof(int64_t) : 0);
    size_t lines_at = cache_at + (use_cache ? na * nb * sizeof(int) : 0);
    size_t bytes = lines_at + (p->diagonal_walk ? LINES_SIZE(na, nb) : 0);
    if (bytes > ws->cap) {
        free(ws->buf);
        ws->buf = malloc(bytes);
        ws->cap = ws->buf ? bytes : 0;
        if (!ws->buf) return LP_ERR_NOMEM;
    }
    uint8_t *base = ws->buf;
    uint64_t *planes = (uint64_t *)base;
    lp_match_planes(a->framesig, (int64_t)na, planes);
    lp_match_planes(b->framesig, (int64_t)nb, planes + na * LP_MATCH_PLANE_WORDS);
    dist_ctx dc = {pick_l1_row(), planes, planes + na * LP_MATCH_PLANE_WORDS, (int64_t)nb, NULL, NULL, NULL,
                   (stage2_memo *)(base + memo_at), NULL};
    dc.memo->valid = 0;
    if (use_cache) {
        dc.lo = (int64_t *)(base + lohi_at);
        dc.hi = dc.lo + na;
        dc.cache = (int *)(base + cache_at);
        memset(dc.lo, 0, 2 * na * sizeof(int64_t)); /* lo = hi = 0: nothing computed */
    }
    if (p->diagonal_walk) {
        dc.lines = base + lines_at;
        memset(dc.lines, 0, LINES_SIZE(na, nb));
    }
    lookup_impl(p, a, b, &dc, out);
    return LP_OK;
}

int lp_match_lookup(const lp_match_params *p, const lp_match_stream *a, const lp_match_stream *b,
                    lp_match_result *out) {
    scratch_t ws = {NULL, 0};
    int rc = lookup_in(&ws, p, a, b, out);
    free(ws.buf);
    return rc;
}

int lp_match_lookup_batch(const lp_match_params *p, const lp_match_stream *a, const lp_match_stream *b, int64_t n,
                          lp_match_result *out, int threads) {
    int failed = 0;
    int nt = lp_resolve_threads(threads, n);
#pragma omp parallel num_threads(nt) reduction(|| : failed) if (nt > 1)
    {
        scratch_t ws = {NULL, 0}; /* one allocation per thread, grown to the largest pair, not one per pair */
#pragma omp for schedule(dynamic, 1)
        for (int64_t i = 0; i < n; i++) {
            if (lookup_in(&ws, p, &a[i], &b[i], &out[i]) != LP_OK) {
                memset(&out[i], 0, sizeof out[i]);
                out[i].code = -1;
                failed = 1;
            }
        }
        free(ws.buf);
    }
    return failed ? LP_ERR_NOMEM : LP_OK;
}
