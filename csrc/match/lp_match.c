/* MPEG-7 signature lookup, written from spec/vsig.md §5 (FFmpeg's behaviour, quirks included). */
#include "match/lp_match.h"

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

/* Distance source of one lookup. Overlapping coarse segments make stage 2 see each frame pair up to
 * four times, so when the full na x nb matrix is small enough each row keeps the interval of columns
 * already computed [lo, hi) and only extends it. */
typedef struct {
    l1_row_fn l1_row;
    const uint64_t *PA, *PB;
    int64_t nb;
    int *cache;       /* na x nb distances, or NULL: compute every time */
    int64_t *lo, *hi; /* per row of a: computed column interval */
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

    for (int r = 0; r < HOUGH_RATES; r++)
        for (int o = 0; o < HOUGH_OFFSETS; o++) {
            hs[r][o].dist = NO_DIST;
            hs[r][o].score = 0;
            hs[r][o].a = hs[r][o].b = -1;
        }

    for (int i = 0; i < ni; i++) {
        for (int j = 0; j < pairs[i].size; j++) {
            int pj = pairs[i].b_pos[j];
            for (int k = i + 1; k < ni; k++) {
                for (int l = 0; l < pairs[k].size; l++) {
                    int pl = pairs[k].b_pos[l], m, off;
                    /* same frame of b: no vote. pl < pj: FFmpeg divides the negative difference as
                     * size_t, the huge slope fails the framerate range test, the vote is dropped. */
                    if (pl <= pj) continue;
                    m = (pl - pj) / (k - i);
                    if (m < 1 || m > 2) continue; /* framerate = 30m must be in 1..60 */
                    if (p->rounding == LP_ROUND_NEARBYINT) {
                        int mi = m * i; /* nearbyint(mi + 0.5) rounds half to even: mi, or mi+1 if odd */
                        off = pj - mi - (mi & 1);
                    } else {
                        off = pj - m * i;
                    }
                    if (off <= -90 || off >= 90) continue;
                    hcell_t *e = &hs[m - 1][off + 90];
                    if (pairs[i].dist < pairs[k].dist) {
                        if (pairs[i].dist < e->dist) {
                            e->dist = pairs[i].dist;
                            e->a = first + i;
                            e->b = second + pj;
                        }
                    } else if (pairs[k].dist < e->dist) {
                        e->dist = pairs[k].dist;
                        e->a = first + k;
                        e->b = second + pl;
                    }
                    if (++e->score > hmax) hmax = e->score;
                }
            }
        }
    }
    if (hmax == 0) return 0;
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

static void lookup_impl(const lp_match_params *p, const lp_match_stream *A, const lp_match_stream *B, dist_ctx *dc,
                        lp_match_result *out) {
    cand_t cands[MAX_CANDS];
    best_t best;
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

void lp_match_lookup_planes(const lp_match_params *p, const lp_match_stream *a, const uint64_t *planes_a,
                            const lp_match_stream *b, const uint64_t *planes_b, lp_match_result *out) {
    dist_ctx dc = {pick_l1_row(), planes_a, planes_b, b->n, NULL, NULL, NULL};
    lookup_impl(p, a, b, &dc, out);
}

int lp_match_lookup(const lp_match_params *p, const lp_match_stream *a, const lp_match_stream *b,
                    lp_match_result *out) {
    size_t na = (size_t)(a->n > 0 ? a->n : 0), nb = (size_t)(b->n > 0 ? b->n : 0);
    int use_cache = (uint64_t)na * nb <= LP_MATCH_CACHE_MAX;
    size_t words = (na + nb + 1) * LP_MATCH_PLANE_WORDS;
    size_t bytes = words * sizeof(uint64_t) + (use_cache ? 2 * na * sizeof(int64_t) + na * nb * sizeof(int) : 0);
    uint64_t *planes = malloc(bytes);
    if (!planes) return -1;
    lp_match_planes(a->framesig, (int64_t)na, planes);
    lp_match_planes(b->framesig, (int64_t)nb, planes + na * LP_MATCH_PLANE_WORDS);
    dist_ctx dc = {pick_l1_row(), planes, planes + na * LP_MATCH_PLANE_WORDS, (int64_t)nb, NULL, NULL, NULL};
    if (use_cache) {
        dc.lo = (int64_t *)(planes + words);
        dc.hi = dc.lo + na;
        dc.cache = (int *)(dc.hi + na);
        memset(dc.lo, 0, 2 * na * sizeof(int64_t)); /* lo = hi = 0: nothing computed */
    }
    lookup_impl(p, a, b, &dc, out);
    free(planes);
    return 0;
}
