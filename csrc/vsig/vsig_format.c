/* FFmpeg's signature files: binary export/import (spec §4.1, §6.1) and XML export (§4.2). See vsig.h. */
#include "vsig/vsig.h"

#include <stdlib.h>
#include <string.h>

#define HEADER_BITS 274u
#define SEGMENT_BITS 1344u
#define FRAME_BITS 689u
#define BAG_BITS 243u

const char *vsig_strerror(int code)
{
    switch (code) {
    case VSIG_OK: return "ok";
    case VSIG_ENOMEM: return "out of memory";
    case VSIG_ETRUNC: return "truncated signature: the data ends before the structure it announces";
    case VSIG_ESIZE: return "signature size mismatch: the data is longer than NumOfFrames/NumOfSegments announce";
    case VSIG_EHEADER: return "bad header: a fixed field has a value FFmpeg never writes";
    case VSIG_ECOUNT: return "bad counts: zero frames/segments, or NumOfSegments != ceil(NumOfFrames/45)";
    case VSIG_ESEGMENT: return "bad segment: frame range differs from FFmpeg's 90-frame/45-step layout";
    case VSIG_EFLAG: return "bad flag: a MediaTimeFlag or the CompressionFlag differs from FFmpeg's";
    case VSIG_ERANGE: return "bad value: a word or frame-signature byte is above 242";
    case VSIG_EPADDING: return "non-zero padding bits after the last frame";
    case VSIG_ENDTIME: return "EndMediaTimeOfSpatialRegion differs from the last segment's end time";
    case VSIG_EBUFFER: return "output buffer too small";
    case VSIG_EEMPTY: return "a signature needs at least one frame and one segment";
    case VSIG_EDERIVED: return "inconsistent signature: a word, bag-of-words or segment time differs from what "
                               "its frames give (FFmpeg derives them, so it never writes this)";
    default: return "unknown error";
    }
}

/* ---- MSB-first bit I/O ---------------------------------------------------------------------------------------- */

typedef struct {
    uint8_t *buf;       /* zeroed by the caller */
    uint64_t pos;       /* bit position */
} bit_writer;

static void put_bits(bit_writer *w, uint64_t v, unsigned nbits)
{
    while (nbits) {
        unsigned room = 8 - (unsigned)(w->pos & 7);
        unsigned take = nbits < room ? nbits : room;
        uint32_t chunk = (uint32_t)((v >> (nbits - take)) & ((1u << take) - 1));
        w->buf[w->pos >> 3] |= (uint8_t)(chunk << (room - take));
        w->pos += take;
        nbits -= take;
    }
}

typedef struct {
    const uint8_t *buf;
    uint64_t pos, nbits;
    int overrun;        /* set when a read went past nbits; reads then return 0 */
} bit_reader;

static uint64_t get_bits(bit_reader *r, unsigned nbits)
{
    uint64_t v = 0;
    if (r->overrun || r->nbits - r->pos < nbits) {
        r->overrun = 1;
        return 0;
    }
    while (nbits) {
        unsigned room = 8 - (unsigned)(r->pos & 7);
        unsigned take = nbits < room ? nbits : room;
        uint32_t byte = r->buf[r->pos >> 3];
        v = (v << take) | ((byte >> (room - take)) & ((1u << take) - 1));
        r->pos += take;
        nbits -= take;
    }
    return v;
}

/* ---- binary writer ------------------------------------------------------------------------------------------- */

uint64_t vsig_binary_size(int64_t n, int64_t s)
{
    uint64_t bits = HEADER_BITS + SEGMENT_BITS * (uint64_t)s + 1 + FRAME_BITS * (uint64_t)n;
    return (bits + 7) / 8;
}

int vsig_write_binary(const vsig_signature *sig, uint8_t *out, size_t cap)
{
    bit_writer w;
    int64_t s, f;
    int i, k;
    uint64_t size;
    if (sig->n <= 0 || sig->s <= 0)
        return VSIG_EEMPTY;
    size = vsig_binary_size(sig->n, sig->s);
    if (cap < size)
        return VSIG_EBUFFER;
    memset(out, 0, (size_t)size);
    w.buf = out;
    w.pos = 0;
    put_bits(&w, 1, 32);                                    /* NumOfSpatialRegions */
    put_bits(&w, 1, 1);                                     /* SpatialLocationFlag */
    put_bits(&w, 0, 16);                                    /* PixelX_1 */
    put_bits(&w, 0, 16);                                    /* PixelY_1 */
    put_bits(&w, (sig->width - 1) & 0xFFFFu, 16);           /* PixelX_2 */
    put_bits(&w, (sig->height - 1) & 0xFFFFu, 16);          /* PixelY_2 */
    put_bits(&w, 0, 32);                                    /* StartFrameOfSpatialRegion */
    put_bits(&w, (uint64_t)sig->n & 0xFFFFFFFFu, 32);       /* NumOfFrames */
    put_bits(&w, sig->media_time_unit & 0xFFFFu, 16);       /* MediaTimeUnit: FFmpeg truncates to 16 bits (B6) */
    put_bits(&w, 1, 1);                                     /* MediaTimeFlagOfSpatialRegion */
    put_bits(&w, 0, 32);                                    /* StartMediaTimeOfSpatialRegion */
    put_bits(&w, sig->seg_end_pts[sig->s - 1] & 0xFFFFFFFFu, 32); /* EndMediaTimeOfSpatialRegion */
    put_bits(&w, (uint64_t)sig->s & 0xFFFFFFFFu, 32);       /* NumOfSegments */
    for (s = 0; s < sig->s; s++) {
        const uint8_t *bag = sig->bags + s * VSIG_NWORDS * VSIG_BAG_BYTES;
        put_bits(&w, (uint64_t)sig->seg_first[s] & 0xFFFFFFFFu, 32);
        put_bits(&w, (uint64_t)sig->seg_last[s] & 0xFFFFFFFFu, 32);
        put_bits(&w, 1, 1);
        put_bits(&w, sig->seg_start_pts[s] & 0xFFFFFFFFu, 32);
        put_bits(&w, sig->seg_end_pts[s] & 0xFFFFFFFFu, 32);
        for (i = 0; i < VSIG_NWORDS; i++) {
            for (k = 0; k < VSIG_BAG_BYTES - 1; k++)
                put_bits(&w, bag[i * VSIG_BAG_BYTES + k], 8);
            put_bits(&w, bag[i * VSIG_BAG_BYTES + VSIG_BAG_BYTES - 1] >> 5, 3);
        }
    }
    put_bits(&w, 0, 1);                                     /* CompressionFlag */
    for (f = 0; f < sig->n; f++) {
        put_bits(&w, 1, 1);
        put_bits(&w, sig->pts[f] & 0xFFFFFFFFu, 32);
        put_bits(&w, sig->confidence[f], 8);
        for (i = 0; i < VSIG_NWORDS; i++)
            put_bits(&w, sig->words[f * VSIG_NWORDS + i], 8);
        for (k = 0; k < VSIG_FRAMESIG_BYTES; k++)
            put_bits(&w, sig->framesig[f * VSIG_FRAMESIG_BYTES + k], 8);
    }
    return VSIG_OK;
}

/* ---- binary parser ------------------------------------------------------------------------------------------- */

static int bytes_are_trits(const uint8_t *b, int count)
{
    int k;
    for (k = 0; k < count; k++)
        if (b[k] > 242)
            return 0;
    return 1;
}

/* FFmpeg derives a frame's five words from its frame signature (kernels/vsig_common.h vsig_words), so a word that
 * differs from them is a corruption FFmpeg never writes. */
static int words_match_framesig(const uint8_t words[VSIG_NWORDS], const uint8_t framesig[VSIG_FRAMESIG_BYTES])
{
    uint8_t trits[VSIG_NELEM], want[VSIG_NWORDS];
    int e;
    for (e = 0; e < VSIG_NELEM; e++)
        trits[e] = vsig_trit_at(framesig, e);
    vsig_words(trits, want);
    return memcmp(want, words, VSIG_NWORDS) == 0;
}

/* Strict mode, after a full read: every segment's bag-of-words and start/end times are derived from its frames
 * (vsig_coarse and the frames' pts, as FFmpeg writes them); a file whose stored values differ is corrupt. */
static int check_segments_derived(const vsig_signature *sig)
{
    size_t bag_bytes = (size_t)sig->s * VSIG_NWORDS * VSIG_BAG_BYTES;
    uint8_t *bags = malloc(bag_bytes);
    int64_t *first = malloc(2 * (size_t)sig->s * sizeof(int64_t)), *last, v;
    int rc = VSIG_OK;
    if (!bags || !first) {
        free(bags);
        free(first);
        return VSIG_ENOMEM;
    }
    last = first + sig->s;
    vsig_coarse(sig->words, sig->n, first, last, bags);
    if (memcmp(bags, sig->bags, bag_bytes) != 0)
        rc = VSIG_EDERIVED;
    for (v = 0; rc == VSIG_OK && v < sig->s; v++)
        if (sig->seg_start_pts[v] != sig->pts[first[v]] || sig->seg_end_pts[v] != sig->pts[last[v]])
            rc = VSIG_EDERIVED;
    free(first);
    free(bags);
    return rc;
}

/* Livepeer mode: the fork re-derives each segment's frames from pts (spec §6.1), ignoring the stored frame
 * numbers: seg_first = the first frame (array order) with pts >= lo, seg_last = the last frame with pts <= hi,
 * lo/hi = min/max of the segment's start and end time. The fork scans every frame per segment; here the prefix
 * maximum of pts (non-decreasing: its first entry >= lo is the first frame >= lo) and the suffix minimum
 * (non-decreasing: its last entry <= hi is the last frame <= hi) are binary-searched, O((n + s) log n) instead
 * of O(n s), which a file of many segments over many frames turned into minutes. */
static int livepeer_segment_frames(vsig_signature *sig)
{
    int64_t n = sig->n, v, f;
    uint64_t *pmax = malloc(2 * (size_t)n * sizeof(uint64_t)), *smin;
    if (!pmax)
        return VSIG_ENOMEM;
    smin = pmax + n;
    for (f = 0; f < n; f++)
        pmax[f] = f && pmax[f - 1] > sig->pts[f] ? pmax[f - 1] : sig->pts[f];
    for (f = n - 1; f >= 0; f--)
        smin[f] = f + 1 < n && smin[f + 1] < sig->pts[f] ? smin[f + 1] : sig->pts[f];
    for (v = 0; v < sig->s; v++) {
        uint64_t t0 = sig->seg_start_pts[v], t1 = sig->seg_end_pts[v];
        uint64_t lo = t0 < t1 ? t0 : t1, hi = t0 < t1 ? t1 : t0;
        int64_t a = 0, b = n; /* first index with pmax >= lo, n if none */
        while (a < b) {
            int64_t mid = a + (b - a) / 2;
            if (pmax[mid] >= lo)
                b = mid;
            else
                a = mid + 1;
        }
        sig->seg_first[v] = a < n ? a : -1;
        a = 0;
        b = n; /* first index with smin > hi; the last frame <= hi is the one before it */
        while (a < b) {
            int64_t mid = a + (b - a) / 2;
            if (smin[mid] > hi)
                b = mid;
            else
                a = mid + 1;
        }
        sig->seg_last[v] = a - 1;
    }
    free(pmax);
    return VSIG_OK;
}

/* Reads (or, with sig == NULL, only validates) the whole file. One routine for both passes, so the probe and the
 * read can never disagree about the layout. */
static int parse_binary(const uint8_t *data, size_t len, int livepeer, vsig_binary_info *info, vsig_signature *sig)
{
    bit_reader r;
    uint64_t v, n_field, s_field, end_time, n, s, f, remaining;
    int i, k;
    r.buf = data;
    r.pos = 0;
    r.nbits = (uint64_t)len * 8;
    r.overrun = 0;
    if (r.nbits < HEADER_BITS)
        return VSIG_ETRUNC;
    {
        uint64_t regions = get_bits(&r, 32), loc_flag = get_bits(&r, 1);
        uint64_t x1 = get_bits(&r, 16), y1 = get_bits(&r, 16);
        info->width = (uint32_t)get_bits(&r, 16) + 1;
        info->height = (uint32_t)get_bits(&r, 16) + 1;
        v = get_bits(&r, 32);                               /* StartFrameOfSpatialRegion */
        n_field = get_bits(&r, 32);
        info->media_time_unit = (uint32_t)get_bits(&r, 16);
        {
            uint64_t mt_flag = get_bits(&r, 1), start_time = get_bits(&r, 32);
            end_time = get_bits(&r, 32);
            s_field = get_bits(&r, 32);
            if (!livepeer && (regions != 1 || loc_flag != 1 || x1 || y1 || v || mt_flag != 1 || start_time ||
                              info->width < VSIG_MIN_DIM || info->height < VSIG_MIN_DIM))
                return VSIG_EHEADER;
        }
    }
    s = s_field;
    if (s == 0)
        return VSIG_ECOUNT;
    if (!livepeer) {
        n = n_field;
        if (n == 0 || s != (n + VSIG_COARSE_STEP - 1) / VSIG_COARSE_STEP)
            return VSIG_ECOUNT;
        if ((uint64_t)len < vsig_binary_size((int64_t)n, (int64_t)s))
            return VSIG_ETRUNC;
        if ((uint64_t)len > vsig_binary_size((int64_t)n, (int64_t)s))
            return VSIG_ESIZE;
    } else {
        /* The fork reads NumOfSegments segments, then counts whole 689-bit frames in whatever follows. */
        if ((r.nbits - r.pos) / SEGMENT_BITS < s || r.nbits - r.pos - s * SEGMENT_BITS < 1)
            return VSIG_ETRUNC;
        remaining = r.nbits - r.pos - s * SEGMENT_BITS - 1;
        n = remaining / FRAME_BITS;
        if (n == 0)
            return VSIG_ECOUNT;
    }
    info->n = (int64_t)n;
    info->s = (int64_t)s;
    if (sig) {
        sig->width = info->width;
        sig->height = info->height;
        sig->media_time_unit = info->media_time_unit;
        sig->n = (int64_t)n;
        sig->s = (int64_t)s;
    }
    for (v = 0; v < s; v++) {
        uint64_t first = get_bits(&r, 32), last = get_bits(&r, 32), flag = get_bits(&r, 1);
        uint64_t t0 = get_bits(&r, 32), t1 = get_bits(&r, 32);
        if (!livepeer) {
            uint64_t want_first = v * VSIG_COARSE_STEP;
            uint64_t want_last = want_first + VSIG_COARSE_SIZE - 1 < n - 1 ? want_first + VSIG_COARSE_SIZE - 1 : n - 1;
            if (first != want_first || last != want_last)
                return VSIG_ESEGMENT;
            if (flag != 1)
                return VSIG_EFLAG;
            if (v == s - 1 && end_time != t1)
                return VSIG_ENDTIME;
        }
        if (sig) {
            sig->seg_first[v] = (int64_t)first;
            sig->seg_last[v] = (int64_t)last;
            sig->seg_start_pts[v] = t0;
            sig->seg_end_pts[v] = t1;
        }
        for (i = 0; i < VSIG_NWORDS; i++) {
            uint8_t *bag = sig ? sig->bags + (v * VSIG_NWORDS + i) * VSIG_BAG_BYTES : NULL;
            for (k = 0; k < VSIG_BAG_BYTES - 1; k++) {
                uint8_t b = (uint8_t)get_bits(&r, 8);
                if (bag)
                    bag[k] = b;
            }
            {
                uint8_t b = (uint8_t)(get_bits(&r, 3) << 5);
                if (bag)
                    bag[VSIG_BAG_BYTES - 1] = b;
            }
        }
    }
    if (get_bits(&r, 1) != 0 && !livepeer)
        return VSIG_EFLAG;
    for (f = 0; f < n; f++) {
        uint64_t flag = get_bits(&r, 1), pts = get_bits(&r, 32), conf = get_bits(&r, 8);
        uint8_t wbuf[VSIG_NWORDS], fbuf[VSIG_FRAMESIG_BYTES];
        if (flag != 1 && !livepeer)
            return VSIG_EFLAG;
        for (i = 0; i < VSIG_NWORDS; i++)
            wbuf[i] = (uint8_t)get_bits(&r, 8);
        for (k = 0; k < VSIG_FRAMESIG_BYTES; k++)
            fbuf[k] = (uint8_t)get_bits(&r, 8);
        if (!bytes_are_trits(wbuf, VSIG_NWORDS) || !bytes_are_trits(fbuf, VSIG_FRAMESIG_BYTES))
            return VSIG_ERANGE;
        if (!livepeer && !words_match_framesig(wbuf, fbuf))
            return VSIG_EDERIVED;
        if (sig) {
            sig->pts[f] = pts;
            sig->confidence[f] = (uint8_t)conf;
            memcpy(sig->words + f * VSIG_NWORDS, wbuf, VSIG_NWORDS);
            memcpy(sig->framesig + f * VSIG_FRAMESIG_BYTES, fbuf, VSIG_FRAMESIG_BYTES);
        }
    }
    if (r.overrun)
        return VSIG_ETRUNC;
    if (!livepeer && r.pos < r.nbits && get_bits(&r, (unsigned)(r.nbits - r.pos)) != 0)
        return VSIG_EPADDING;
    if (sig && livepeer)
        return livepeer_segment_frames(sig);
    if (sig)
        return check_segments_derived(sig);
    return VSIG_OK;
}

int vsig_binary_probe(const uint8_t *data, size_t len, int livepeer, vsig_binary_info *info)
{
    return parse_binary(data, len, livepeer, info, NULL);
}

int vsig_binary_read(const uint8_t *data, size_t len, int livepeer, const vsig_binary_info *info,
                     vsig_signature *sig)
{
    vsig_binary_info again;
    int rc = parse_binary(data, len, livepeer, &again, sig);
    if (rc == VSIG_OK && (again.n != info->n || again.s != info->s))
        return VSIG_ECOUNT;
    return rc;
}

/* ---- XML writer ---------------------------------------------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t pos, cap;
    int overflow;
} text_writer;

static void put_str(text_writer *t, const char *s)
{
    size_t n = strlen(s);
    if (t->cap - t->pos < n) {
        t->overflow = 1;
        return;
    }
    memcpy(t->buf + t->pos, s, n);
    t->pos += n;
}

static void put_u64(text_writer *t, uint64_t v)
{
    char tmp[24];
    int i = 23;
    tmp[i] = 0;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put_str(t, tmp + i);
}

/* Prints digits separated by two spaces with one trailing space ("1  0  2 "): FFmpeg's layout for both the
 * BagOfWords bits and the FrameSignature trits. */
static void put_digit(text_writer *t, unsigned d, int last)
{
    char tmp[4] = {(char)('0' + d), ' ', ' ', 0};
    if (last)
        tmp[2] = 0;
    put_str(t, tmp);
}

uint64_t vsig_xml_max_size(int64_t n, int64_t s)
{
    return 2048 + (uint64_t)s * (VSIG_NWORDS * (BAG_BITS * 3 + 40) + 512) +
           (uint64_t)n * (VSIG_NELEM * 3 + 512);
}

int64_t vsig_write_xml(const vsig_signature *sig, char *out, size_t cap)
{
    text_writer t;
    int64_t s, f;
    int i, e;
    if (sig->n <= 0 || sig->s <= 0)
        return VSIG_EEMPTY;
    t.buf = out;
    t.pos = 0;
    t.cap = cap;
    t.overflow = 0;
    put_str(&t, "<?xml version='1.0' encoding='ASCII' ?>\n"
                "<Mpeg7 xmlns=\"urn:mpeg:mpeg7:schema:2001\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                "xsi:schemaLocation=\"urn:mpeg:mpeg7:schema:2001 schema/Mpeg7-2001.xsd\">\n"
                "  <DescriptionUnit xsi:type=\"DescriptorCollectionType\">\n"
                "    <Descriptor xsi:type=\"VideoSignatureType\">\n"
                "      <VideoSignatureRegion>\n"
                "        <VideoSignatureSpatialRegion>\n"
                "          <Pixel>0 0 </Pixel>\n"
                "          <Pixel>");
    put_u64(&t, sig->width - 1);
    put_str(&t, " ");
    put_u64(&t, sig->height - 1);
    put_str(&t, " </Pixel>\n"
                "        </VideoSignatureSpatialRegion>\n"
                "        <StartFrameOfSpatialRegion>0</StartFrameOfSpatialRegion>\n"
                "        <MediaTimeUnit>");
    put_u64(&t, sig->media_time_unit);
    put_str(&t, "</MediaTimeUnit>\n"
                "        <MediaTimeOfSpatialRegion>\n"
                "          <StartMediaTimeOfSpatialRegion>0</StartMediaTimeOfSpatialRegion>\n"
                "          <EndMediaTimeOfSpatialRegion>");
    put_u64(&t, sig->seg_end_pts[sig->s - 1]);
    put_str(&t, "</EndMediaTimeOfSpatialRegion>\n"
                "        </MediaTimeOfSpatialRegion>\n");
    for (s = 0; s < sig->s; s++) {
        const uint8_t *bag = sig->bags + s * VSIG_NWORDS * VSIG_BAG_BYTES;
        put_str(&t, "        <VSVideoSegment>\n          <StartFrameOfSegment>");
        put_u64(&t, (uint64_t)sig->seg_first[s]);
        put_str(&t, "</StartFrameOfSegment>\n          <EndFrameOfSegment>");
        put_u64(&t, (uint64_t)sig->seg_last[s]);
        put_str(&t, "</EndFrameOfSegment>\n          <MediaTimeOfSegment>\n            <StartMediaTimeOfSegment>");
        put_u64(&t, sig->seg_start_pts[s]);
        put_str(&t, "</StartMediaTimeOfSegment>\n            <EndMediaTimeOfSegment>");
        put_u64(&t, sig->seg_end_pts[s]);
        put_str(&t, "</EndMediaTimeOfSegment>\n          </MediaTimeOfSegment>\n");
        for (i = 0; i < VSIG_NWORDS; i++) {
            put_str(&t, "          <BagOfWords>");
            for (e = 0; e < (int)BAG_BITS; e++)
                put_digit(&t, (bag[i * VSIG_BAG_BYTES + e / 8] >> (7 - e % 8)) & 1u, e == (int)BAG_BITS - 1);
            put_str(&t, "</BagOfWords>\n");
        }
        put_str(&t, "        </VSVideoSegment>\n");
    }
    for (f = 0; f < sig->n; f++) {
        const uint8_t *fs = sig->framesig + f * VSIG_FRAMESIG_BYTES;
        put_str(&t, "        <VideoFrame>\n          <MediaTimeOfFrame>");
        put_u64(&t, sig->pts[f]);
        put_str(&t, "</MediaTimeOfFrame>\n          <FrameConfidence>");
        put_u64(&t, sig->confidence[f]);
        put_str(&t, "</FrameConfidence>\n          <Word>");
        for (i = 0; i < VSIG_NWORDS; i++) {
            put_u64(&t, sig->words[f * VSIG_NWORDS + i]);
            put_str(&t, i < VSIG_NWORDS - 1 ? "  " : " ");
        }
        put_str(&t, "</Word>\n          <FrameSignature>");
        for (e = 0; e < VSIG_NELEM; e++)
            put_digit(&t, vsig_trit_at(fs, e), e == VSIG_NELEM - 1);
        put_str(&t, "</FrameSignature>\n        </VideoFrame>\n");
    }
    put_str(&t, "      </VideoSignatureRegion>\n    </Descriptor>\n  </DescriptionUnit>\n</Mpeg7>\n");
    if (t.overflow)
        return VSIG_EBUFFER;
    return (int64_t)t.pos;
}
