# cython: language_level=3, boundscheck=False, wraparound=False
"""Private bridge to csrc/match (MPEG-7 signature lookup). Shapes are checked here; the C code trusts them."""

from libc.stdint cimport int64_t, uint8_t, uint64_t
from libc.stdlib cimport free, malloc

import numpy as np

from lpcore._args import threads as _threads_arg


from lpcore._c.lp_common cimport LP_OK
from lpcore._c.lp_match cimport *


cdef int _stream(lp_match_stream *s, const uint8_t[:, ::1] framesig, const uint8_t[::1] confidence,
                 const uint8_t[:, :, ::1] bags, const int64_t[::1] seg_first, str name) except -1:
    if framesig.shape[1] != LP_MATCH_FRAMESIG_BYTES:
        raise ValueError(f"{name}.framesig must have shape (N, {LP_MATCH_FRAMESIG_BYTES}), got (N, {framesig.shape[1]})")
    if confidence.shape[0] != framesig.shape[0]:
        raise ValueError(f"{name}.confidence must have {framesig.shape[0]} entries, got {confidence.shape[0]}")
    if bags.shape[1] != LP_MATCH_WORDS or bags.shape[2] != LP_MATCH_BAG_BYTES:
        raise ValueError(f"{name}.bags must have shape (S, {LP_MATCH_WORDS}, {LP_MATCH_BAG_BYTES}), "
                         f"got (S, {bags.shape[1]}, {bags.shape[2]})")
    if seg_first.shape[0] != bags.shape[0]:
        raise ValueError(f"{name}.seg_first must have {bags.shape[0]} entries, got {seg_first.shape[0]}")
    s.n = framesig.shape[0]
    s.nseg = bags.shape[0]
    s.framesig = &framesig[0, 0] if s.n > 0 else NULL
    s.confidence = &confidence[0] if s.n > 0 else NULL
    s.bags = &bags[0, 0, 0] if s.nseg > 0 else NULL
    s.seg_first = &seg_first[0] if s.nseg > 0 else NULL
    return 0


def lookup_batch(list a_streams, list b_streams, *, int th_d, int th_dc, int th_xh, int th_di, double th_it,
                 int mode, int jaccard, int rounding, bint full_offset_scan, bint include_last_frame,
                 bint reset_walk_state, bint model_b2_crash, bint diagonal_walk=False, threads=None):
    """Runs lookups a_streams[i] against b_streams[i] (each a (framesig, confidence, bags, seg_first) tuple)
    in C on OpenMP threads (threads=None: all cores), GIL released. Returns one tuple of the
    lp_match_result fields per pair."""
    cdef Py_ssize_t n = len(a_streams), i
    if len(b_streams) != n:
        raise ValueError(f"a_streams and b_streams must have the same length, got {n} and {len(b_streams)}")
    cdef int nthreads = _threads_arg(threads)
    keep = []  # the contiguous arrays the C structs point into
    cdef lp_match_stream *sa = <lp_match_stream *>malloc((n + 1) * sizeof(lp_match_stream))
    cdef lp_match_stream *sb = <lp_match_stream *>malloc((n + 1) * sizeof(lp_match_stream))
    cdef lp_match_result *res = <lp_match_result *>malloc((n + 1) * sizeof(lp_match_result))
    cdef lp_match_params p
    cdef int rc
    if sa == NULL or sb == NULL or res == NULL:
        free(sa); free(sb); free(res)
        raise MemoryError("lookup_batch: out of memory")
    try:
        for i in range(n):
            _fill(&sa[i], a_streams[i], keep, "a")
            _fill(&sb[i], b_streams[i], keep, "b")
        p.th_d = th_d
        p.th_dc = th_dc
        p.th_xh = th_xh
        p.th_di = th_di
        p.th_it = th_it
        p.mode = mode
        p.jaccard = jaccard
        p.rounding = rounding
        p.full_offset_scan = full_offset_scan
        p.include_last_frame = include_last_frame
        p.reset_walk_state = reset_walk_state
        p.model_b2_crash = model_b2_crash
        p.diagonal_walk = diagonal_walk
        with nogil:
            rc = lp_match_lookup_batch(&p, sa, sb, n, res, nthreads)
        if rc != LP_OK:
            raise MemoryError("lp_match_lookup_batch: out of memory")
        return [(res[i].code, res[i].whole, res[i].first_a, res[i].first_b, res[i].matchframes, res[i].offset,
                 res[i].score, res[i].framerateratio, res[i].meandist, res[i].reference_crash,
                 res[i].coarse_pairs, res[i].candidates) for i in range(n)]
    finally:
        free(sa)
        free(sb)
        free(res)


cdef int _fill(lp_match_stream *s, stream, list keep, str name) except -1:
    framesig, confidence, bags, seg_first = stream
    cdef const uint8_t[:, ::1] f = np.ascontiguousarray(framesig, dtype=np.uint8)
    cdef const uint8_t[::1] c = np.ascontiguousarray(confidence, dtype=np.uint8)
    cdef const uint8_t[:, :, ::1] b = np.ascontiguousarray(bags, dtype=np.uint8)
    cdef const int64_t[::1] sf = np.ascontiguousarray(seg_first, dtype=np.int64)
    keep.append((f, c, b, sf))
    return _stream(s, f, c, b, sf, name)


def l1_matrix(framesig_a, framesig_b):
    """Trit L1 distance of every frame of a to every frame of b: (Na, Nb) uint16."""
    cdef const uint8_t[:, ::1] fa = np.ascontiguousarray(framesig_a, dtype=np.uint8)
    cdef const uint8_t[:, ::1] fb = np.ascontiguousarray(framesig_b, dtype=np.uint8)
    if fa.shape[1] != LP_MATCH_FRAMESIG_BYTES or fb.shape[1] != LP_MATCH_FRAMESIG_BYTES:
        raise ValueError(f"framesig arrays must have shape (N, {LP_MATCH_FRAMESIG_BYTES})")
    cdef Py_ssize_t na = fa.shape[0], nb = fb.shape[0], i, j
    out = np.zeros((na, nb), dtype=np.uint16)
    cdef unsigned short[:, ::1] o = out
    cdef uint64_t *pa = <uint64_t *>malloc((na + nb + 1) * LP_MATCH_PLANE_WORDS * sizeof(uint64_t))
    if pa == NULL:
        raise MemoryError("l1_matrix: out of memory")
    cdef uint64_t *pb = pa + na * LP_MATCH_PLANE_WORDS
    with nogil:
        if na > 0:
            lp_match_planes(&fa[0, 0], na, pa)
        if nb > 0:
            lp_match_planes(&fb[0, 0], nb, pb)
        for i in range(na):
            for j in range(nb):
                o[i, j] = <unsigned short>lp_match_l1(pa + i * LP_MATCH_PLANE_WORDS, pb + j * LP_MATCH_PLANE_WORDS)
    free(pa)
    return out
