# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Private bridge to csrc/vsig (CPU video signatures). Public API: lpcore.vsig.

Arguments are checked by lpcore.vsig before they get here; this layer only checks what C relies on
(dtypes, shapes, strides) and releases the GIL around the C loops.
"""
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc

import numpy as np

from lpcore._c.vsig_common cimport (VSIG_BAG_BYTES, VSIG_FRAMESIG_BYTES, VSIG_NELEM, VSIG_NWORDS, vsig_trit_at,
                                    vsig_words)

from lpcore._args import threads as _threads_arg


cdef extern from "vsig/vsig.h" nogil:
    ctypedef struct vsig_params:
        uint32_t width, height
        int divide
        uint64_t D
    int vsig_params_init(vsig_params *p, uint32_t width, uint32_t height)
    const char *vsig_strerror(int code)
    int VSIG_OK
    int VSIG_ENOMEM
    int VSIG_MIN_DIM
    int VSIG_MAX_DIM
    int vsig_compute_batch(const vsig_params *p, const uint8_t *frames, int64_t frame_stride, int64_t row_stride,
                           int64_t n, int threads, uint8_t *framesig, uint8_t *words, uint8_t *confidence)
    void vsig_block_sums(const vsig_params *p, const uint8_t *plane, int64_t row_stride, uint16_t *colsum,
                         uint32_t *blocks)
    int64_t vsig_segment_count(int64_t n)
    void vsig_coarse(const uint8_t *words, int64_t n, int64_t *seg_first, int64_t *seg_last, uint8_t *bags)
    ctypedef struct vsig_signature:
        uint32_t width, height
        uint64_t media_time_unit
        int64_t n
        uint64_t *pts
        uint8_t *confidence
        uint8_t *words
        uint8_t *framesig
        int64_t s
        int64_t *seg_first
        int64_t *seg_last
        uint64_t *seg_start_pts
        uint64_t *seg_end_pts
        uint8_t *bags
    ctypedef struct vsig_binary_info:
        uint32_t width, height, media_time_unit
        int64_t n, s
    uint64_t vsig_binary_size(int64_t n, int64_t s)
    int vsig_write_binary(const vsig_signature *sig, uint8_t *out, size_t cap)
    int vsig_binary_probe(const uint8_t *data, size_t len, int livepeer, vsig_binary_info *info)
    int vsig_binary_read(const uint8_t *data, size_t len, int livepeer, const vsig_binary_info *info,
                         vsig_signature *sig)
    uint64_t vsig_xml_max_size(int64_t n, int64_t s)

    int64_t vsig_write_xml(const vsig_signature *sig, char *out, size_t cap)
    ctypedef struct vsig_profile_params:
        uint32_t cwidth, cheight
    int vsig_profile_params_init(vsig_profile_params *pp, uint32_t height, uint32_t cwidth, uint32_t cheight)
    int VSIG_PROFILE_BYTES
    int VSIG_PMIN_DIM
    ctypedef struct vsig_planes:
        const uint8_t *y
        const uint8_t *u
        const uint8_t *v
        int64_t y_frame_stride, y_row_stride, u_frame_stride, u_row_stride, v_frame_stride, v_row_stride
    int vsig_profile_batch(const vsig_params *p, const vsig_profile_params *pp, const vsig_planes *inp, int64_t n,
                           int threads, uint8_t *framesig, uint8_t *words, uint8_t *confidence, uint8_t *profile)
    int vsig_profile_simd()
    void vsig_profile_set_simd(int on)


MIN_DIM = VSIG_MIN_DIM
MAX_DIM = VSIG_MAX_DIM
# The signature layout (kernels/vsig_common.h), for the Python side's shapes.
FRAMESIG_BYTES = VSIG_FRAMESIG_BYTES  # 380 trits, 5 per byte
NWORDS = VSIG_NWORDS
BAG_BYTES = VSIG_BAG_BYTES            # one 243-bit bag of words


class NativeFormatError(ValueError):
    """A binary signature failed to parse; the message is csrc's."""


def stream_params(uint32_t width, uint32_t height):
    """Returns (divide, D) of a width x height stream (for tests and diagnostics)."""
    cdef vsig_params p
    if not vsig_params_init(&p, width, height):
        raise ValueError(f"frame size {width}x{height} is outside {VSIG_MIN_DIM}..{VSIG_MAX_DIM}")
    return bool(p.divide), int(p.D)


def compute_frames(frames, threads=None):
    """Fine signatures of a (N,H,W) uint8 array whose last axis is contiguous (any other strides).

    Returns (framesig (N,76), words (N,5), confidence (N,)) uint8 arrays."""
    cdef vsig_params p
    cdef const uint8_t[:, :, :] view = frames
    cdef int64_t n = view.shape[0]
    if view.strides[2] != 1:
        raise ValueError("frames: pixels within a row must be contiguous (stride 1)")
    cdef uint32_t h = <uint32_t>view.shape[1], w = <uint32_t>view.shape[2]
    if not vsig_params_init(&p, w, h):
        raise ValueError(f"frame size {w}x{h} is outside {VSIG_MIN_DIM}..{VSIG_MAX_DIM}")
    framesig = np.empty((n, 76), np.uint8)
    words = np.empty((n, 5), np.uint8)
    conf = np.empty(n, np.uint8)
    if n == 0:
        return framesig, words, conf
    cdef uint8_t[:, ::1] fs = framesig
    cdef uint8_t[:, ::1] wd = words
    cdef uint8_t[::1] cf = conf
    cdef const uint8_t *base = &view[0, 0, 0]
    cdef int64_t fstride = view.strides[0], rstride = view.strides[1]
    cdef int rc, nthreads = _threads_arg(threads)
    with nogil:
        rc = vsig_compute_batch(&p, base, fstride, rstride, n, nthreads, &fs[0, 0], &wd[0, 0], &cf[0])
    if rc != VSIG_OK:
        raise MemoryError(vsig_strerror(rc).decode())
    return framesig, words, conf


def block_sums(plane):
    """32x32 luma block sums (uint32) of one (H,W) uint8 plane with a contiguous last axis (tests, GPU checks)."""
    cdef vsig_params p
    cdef const uint8_t[:, :] view = plane
    cdef uint32_t h = <uint32_t>view.shape[0], w = <uint32_t>view.shape[1]
    if view.strides[1] != 1:
        raise ValueError("plane: pixels within a row must be contiguous (stride 1)")
    if not vsig_params_init(&p, w, h):
        raise ValueError(f"frame size {w}x{h} is outside {VSIG_MIN_DIM}..{VSIG_MAX_DIM}")
    out = np.empty((32, 32), np.uint32)
    cdef uint32_t[:, ::1] o = out
    cdef uint16_t *colsum = <uint16_t *>malloc(w * sizeof(uint16_t))
    if colsum == NULL:
        raise MemoryError()
    with nogil:
        vsig_block_sums(&p, &view[0, 0], view.strides[0], colsum, &o[0, 0])
    free(colsum)
    return out


def coarse(words):
    """Coarse segments of (N,5) uint8 words: (seg_first, seg_last) int64 and bags (S,5,31) uint8."""
    cdef const uint8_t[:, ::1] wd = words
    cdef int64_t n = wd.shape[0]
    cdef int64_t s = vsig_segment_count(n)
    first = np.empty(s, np.int64)
    last = np.empty(s, np.int64)
    bags = np.zeros((s, VSIG_NWORDS, VSIG_BAG_BYTES), np.uint8)
    if n == 0:
        return first, last, bags
    cdef int64_t[::1] f = first
    cdef int64_t[::1] l = last
    cdef uint8_t[:, :, ::1] b = bags
    with nogil:
        vsig_coarse(&wd[0, 0], n, &f[0], &l[0], &b[0, 0, 0])
    return first, last, bags


cdef int _fill(vsig_signature *sig, uint32_t width, uint32_t height, uint64_t mtu,
               const uint64_t[::1] pts, const uint8_t[::1] conf, const uint8_t[:, ::1] words,
               const uint8_t[:, ::1] framesig, const int64_t[::1] seg_first, const int64_t[::1] seg_last,
               const uint64_t[::1] seg_start, const uint64_t[::1] seg_end, const uint8_t[:, :, ::1] bags) except -1:
    cdef int64_t n = pts.shape[0], s = seg_first.shape[0]
    if (conf.shape[0] != n or words.shape[0] != n or framesig.shape[0] != n or words.shape[1] != VSIG_NWORDS
            or framesig.shape[1] != VSIG_FRAMESIG_BYTES):
        raise ValueError("per-frame arrays disagree in length or width")
    if seg_last.shape[0] != s or seg_start.shape[0] != s or seg_end.shape[0] != s or bags.shape[0] != s \
            or bags.shape[1] != VSIG_NWORDS or bags.shape[2] != VSIG_BAG_BYTES:
        raise ValueError("per-segment arrays disagree in length or shape")
    if n == 0 or s == 0:
        raise ValueError("a signature needs at least one frame and one segment")
    sig.width = width
    sig.height = height
    sig.media_time_unit = mtu
    sig.n = n
    sig.s = s
    sig.pts = <uint64_t *>&pts[0]
    sig.confidence = <uint8_t *>&conf[0]
    sig.words = <uint8_t *>&words[0, 0]
    sig.framesig = <uint8_t *>&framesig[0, 0]
    sig.seg_first = <int64_t *>&seg_first[0]
    sig.seg_last = <int64_t *>&seg_last[0]
    sig.seg_start_pts = <uint64_t *>&seg_start[0]
    sig.seg_end_pts = <uint64_t *>&seg_end[0]
    sig.bags = <uint8_t *>&bags[0, 0, 0]
    return 0


def to_binary(uint32_t width, uint32_t height, uint64_t mtu, pts, conf, words, framesig, seg_first, seg_last,
              seg_start, seg_end, bags):
    """FFmpeg's binary export of the given signature arrays (bytes)."""
    cdef vsig_signature sig
    _fill(&sig, width, height, mtu, pts, conf, words, framesig, seg_first, seg_last, seg_start, seg_end, bags)
    cdef uint64_t size = vsig_binary_size(sig.n, sig.s)
    out = bytearray(size)
    cdef uint8_t[::1] o = out
    cdef int rc
    with nogil:
        rc = vsig_write_binary(&sig, &o[0], size)
    if rc != VSIG_OK:
        raise ValueError(vsig_strerror(rc).decode())
    return bytes(out)


def to_xml(uint32_t width, uint32_t height, uint64_t mtu, pts, conf, words, framesig, seg_first, seg_last,
           seg_start, seg_end, bags):
    """FFmpeg's XML export of the given signature arrays (str)."""
    cdef vsig_signature sig
    _fill(&sig, width, height, mtu, pts, conf, words, framesig, seg_first, seg_last, seg_start, seg_end, bags)
    cdef uint64_t cap = vsig_xml_max_size(sig.n, sig.s)
    out = bytearray(cap)
    cdef uint8_t[::1] o = out
    cdef int64_t rc
    with nogil:
        rc = vsig_write_xml(&sig, <char *>&o[0], cap)
    if rc < 0:
        raise ValueError(vsig_strerror(<int>rc).decode())
    return bytes(out[:rc]).decode("ascii")


def words_of(framesig):
    """The five words FFmpeg derives from each (N,76) frame signature: (N,5) uint8 (kernels/vsig_common.h)."""
    cdef const uint8_t[:, ::1] fs = np.ascontiguousarray(framesig, dtype=np.uint8)
    if fs.shape[1] != VSIG_FRAMESIG_BYTES:
        raise ValueError(f"framesig must have shape (N, {VSIG_FRAMESIG_BYTES}), got (N, {fs.shape[1]})")
    cdef int64_t n = fs.shape[0], f
    cdef int e
    cdef uint8_t trits[VSIG_NELEM]
    out = np.empty((n, VSIG_NWORDS), np.uint8)
    cdef uint8_t[:, ::1] o = out
    with nogil:
        for f in range(n):
            for e in range(VSIG_NELEM):
                trits[e] = vsig_trit_at(&fs[f, 0], e)
            vsig_words(trits, &o[f, 0])
    return out


def from_binary(data, bint livepeer=False):
    """Parses a binary signature; returns a dict of VideoSignature fields or raises NativeFormatError."""
    cdef const uint8_t[::1] buf = memoryview(data).cast("B")
    cdef size_t length = buf.shape[0]
    cdef const uint8_t *ptr = &buf[0] if length else <const uint8_t *>b""
    cdef vsig_binary_info info
    cdef vsig_signature sig
    cdef int rc
    with nogil:
        rc = vsig_binary_probe(ptr, length, livepeer, &info)
    if rc != VSIG_OK:
        raise NativeFormatError(vsig_strerror(rc).decode())
    n, s = info.n, info.s
    f = dict(
        width=int(info.width), height=int(info.height), media_time_unit=int(info.media_time_unit),
        pts=np.empty(n, np.uint64), confidence=np.empty(n, np.uint8), words=np.empty((n, VSIG_NWORDS), np.uint8),
        framesig=np.empty((n, VSIG_FRAMESIG_BYTES), np.uint8), seg_first=np.empty(s, np.int64),
        seg_last=np.empty(s, np.int64), seg_start_pts=np.empty(s, np.uint64), seg_end_pts=np.empty(s, np.uint64),
        bags=np.zeros((s, VSIG_NWORDS, VSIG_BAG_BYTES), np.uint8),
    )
    cdef uint64_t[::1] pts = f["pts"]
    cdef uint8_t[::1] conf = f["confidence"]
    cdef uint8_t[:, ::1] words = f["words"]
    cdef uint8_t[:, ::1] fsig = f["framesig"]
    cdef int64_t[::1] sf = f["seg_first"]
    cdef int64_t[::1] sl = f["seg_last"]
    cdef uint64_t[::1] ss = f["seg_start_pts"]
    cdef uint64_t[::1] se = f["seg_end_pts"]
    cdef uint8_t[:, :, ::1] bags = f["bags"]
    sig.pts = &pts[0]
    sig.confidence = &conf[0]
    sig.words = &words[0, 0]
    sig.framesig = &fsig[0, 0]
    sig.seg_first = &sf[0]
    sig.seg_last = &sl[0]
    sig.seg_start_pts = &ss[0]
    sig.seg_end_pts = &se[0]
    sig.bags = &bags[0, 0, 0]
    with nogil:
        rc = vsig_binary_read(ptr, length, livepeer, &info, &sig)
    if rc == VSIG_ENOMEM:
        raise MemoryError(vsig_strerror(rc).decode())
    if rc != VSIG_OK:
        raise NativeFormatError(vsig_strerror(rc).decode())
    return f


PROFILE_BYTES = VSIG_PROFILE_BYTES
PROFILE_MIN_CHROMA = VSIG_PMIN_DIM


vsig_profile_simd()   # resolved once at import, before any thread computes a profile (nogil)


def profile_simd(on=None):
    """Whether the CPU profile pass sums its sampled rows with AVX2 (True) or the portable loops (False), after
    selecting them when ``on`` is given: False, the portable loops; True, AVX2 where the CPU has it. Both give
    the same bytes; the tests run both. Not thread-safe: select only while no profile is being computed."""
    if on is not None:
        vsig_profile_set_simd(1 if on else 0)
    return bool(vsig_profile_simd())


def compute_profile_frames(y, u, v, int threads=0):
    """Fine signatures and verification profiles of (N,H,W) luma and (N,Hc,Wc) chroma uint8 arrays whose last
    axis is contiguous, in one pass per frame.

    Returns (framesig (N,76), words (N,5), confidence (N,), profile (N,PROFILE_BYTES)) uint8 arrays."""
    cdef vsig_params p
    cdef vsig_profile_params pp
    cdef vsig_planes planes
    cdef const uint8_t[:, :, :] yv = y
    cdef const uint8_t[:, :, :] uv = u
    cdef const uint8_t[:, :, :] vv = v
    cdef int64_t n = yv.shape[0]
    if uv.shape[0] != n or vv.shape[0] != n:
        raise ValueError("y, u and v must hold the same number of frames")
    if uv.shape[1] != vv.shape[1] or uv.shape[2] != vv.shape[2]:
        raise ValueError("u and v planes must have the same size")
    if yv.strides[2] != 1 or uv.strides[2] != 1 or vv.strides[2] != 1:
        raise ValueError("planes: pixels within a row must be contiguous (stride 1)")
    cdef uint32_t h = <uint32_t>yv.shape[1], w = <uint32_t>yv.shape[2]
    if not vsig_params_init(&p, w, h):
        raise ValueError(f"frame size {w}x{h} is outside {VSIG_MIN_DIM}..{VSIG_MAX_DIM}")
    if not vsig_profile_params_init(&pp, h, <uint32_t>uv.shape[2], <uint32_t>uv.shape[1]):
        raise ValueError(f"chroma size {uv.shape[2]}x{uv.shape[1]} is outside {VSIG_PMIN_DIM}..{VSIG_MAX_DIM}")
    framesig = np.empty((n, 76), np.uint8)
    words = np.empty((n, 5), np.uint8)
    conf = np.empty(n, np.uint8)
    prof = np.empty((n, VSIG_PROFILE_BYTES), np.uint8)
    if n == 0:
        return framesig, words, conf, prof
    cdef uint8_t[:, ::1] fs = framesig
    cdef uint8_t[:, ::1] wd = words
    cdef uint8_t[::1] cf = conf
    cdef uint8_t[:, ::1] pr = prof
    planes.y = &yv[0, 0, 0]
    planes.u = &uv[0, 0, 0]
    planes.v = &vv[0, 0, 0]
    planes.y_frame_stride = yv.strides[0]
    planes.y_row_stride = yv.strides[1]
    planes.u_frame_stride = uv.strides[0]
    planes.u_row_stride = uv.strides[1]
    planes.v_frame_stride = vv.strides[0]
    planes.v_row_stride = vv.strides[1]
    cdef int rc
    with nogil:
        rc = vsig_profile_batch(&p, &pp, &planes, n, threads, &fs[0, 0], &wd[0, 0], &cf[0], &pr[0, 0])
    if rc != VSIG_OK:
        raise MemoryError(vsig_strerror(rc).decode())
    return framesig, words, conf, prof

