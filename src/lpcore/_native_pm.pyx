# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, embedsignature=True
"""Private binding over csrc/pm (keccak-256, ticket hashing, batched secp256k1 signatures, winner checks).

Every function checks its arguments strictly (numpy arrays only, dtype uint8, C-contiguous, exact shapes; the
message names the argument) and releases the GIL around each C loop. The public, friendlier API that also takes
sequences of bytes and ints is lpcore.pm; nothing outside lpcore should import this module.
"""

from libc.stdint cimport int64_t, uint8_t, uint16_t, uintptr_t
from libc.string cimport memset
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_FromStringAndSize

cimport numpy as cnp
import os

import numpy as np

from lpcore._args import threads as _threads_arg

cnp.import_array()


from lpcore._c.lp_common cimport LP_OK
from lpcore._c.pm_keccak cimport *
from lpcore._c.pm_secp cimport *
from lpcore._c.pm_sig cimport *
from lpcore._c.pm_ticket cimport *


TICKET_PREIMAGE_MIN = LP_TICKET_PREIMAGE_MIN  # auxData empty
TICKET_PREIMAGE_MAX = LP_TICKET_PREIMAGE_MAX  # with a 64-byte auxData

SECP256K1_N = int.from_bytes(PyBytes_FromStringAndSize(<const char *>LP_SECP256K1_N, 32), "big")
SECP256K1_HALF_N = int.from_bytes(PyBytes_FromStringAndSize(<const char *>LP_SECP256K1_HALF_N, 32), "big")

SIG_OK = LP_SIG_OK
SIG_BAD_LENGTH = LP_SIG_BAD_LENGTH
SIG_HIGH_S = LP_SIG_HIGH_S
SIG_BAD_V = LP_SIG_BAD_V
SIG_BAD_RS = LP_SIG_BAD_RS
SIG_UNRECOVERABLE = LP_SIG_UNRECOVERABLE
SIG_WRONG_SENDER = LP_SIG_WRONG_SENDER

# Hashing a short input takes less time than releasing and re-taking the GIL.
cdef Py_ssize_t _NOGIL_MIN_BYTES = 4096


# ---------------------------------------------------------------------------------------------------------------
# Argument checks

cdef inline const uint8_t *_ptr(cnp.ndarray arr):
    return <const uint8_t *>cnp.PyArray_DATA(arr)


cdef Py_ssize_t _check_rows(object arr, str name, Py_ssize_t width, Py_ssize_t n=-1,
                            bint broadcast=False) except -1:
    """Checks an (N, width) uint8 C-contiguous array (any width if width < 0; N == n unless n < 0; N == 1 also
    accepted when broadcast). Returns N."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of dtype uint8, got {type(arr).__name__}")
    if arr.dtype != np.uint8:
        raise TypeError(f"{name} must have dtype uint8, got {arr.dtype}")
    if arr.ndim != 2 or (width >= 0 and arr.shape[1] != width):
        raise ValueError(f"{name} must have shape (N, {width if width >= 0 else 'W'}), got {arr.shape}")
    cdef Py_ssize_t rows = arr.shape[0]
    if n >= 0 and rows != n and not (broadcast and rows == 1):
        expect = f"{n} or 1" if broadcast else f"{n}"
        raise ValueError(f"{name} has {rows} rows, expected {expect}")
    if not arr.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (use numpy.ascontiguousarray)")
    return rows


cdef int check_threads(object threads) except -1:
    """lpcore's one ``threads`` rule (None = all cores, int >= 1, clamped): lpcore._args.threads."""
    return _threads_arg(threads)


cdef lp_column _column(cnp.ndarray arr, Py_ssize_t n):
    cdef lp_column c
    c.ptr = _ptr(arr)
    c.stride = 0 if (arr.shape[0] == 1 and n != 1) else <size_t>arr.shape[1]
    return c


cdef bytes _key32(object key, str name):
    if not isinstance(key, (bytes, bytearray, memoryview)):
        raise TypeError(f"{name} must be 32 bytes, got {type(key).__name__}")
    key = bytes(key)
    if len(key) != 32:
        raise ValueError(f"{name} must be 32 bytes, got {len(key)}")
    return key


# ---------------------------------------------------------------------------------------------------------------
# libsecp256k1 from coincurve's wheel

cdef lp_secp _secp


cdef _load_secp():
    """Resolves the libsecp256k1 functions that coincurve's cffi module exports and creates lpcore's own,
    randomized context (never coincurve's global one)."""
    try:
        from coincurve._libsecp256k1 import ffi, lib
    except ImportError as exc:  # pragma: no cover - coincurve is a hard dependency
        raise ImportError("lpcore needs coincurve>=21,<22 (its wheel provides libsecp256k1)") from exc
    cdef uintptr_t addrs[LP_SECP_FN_COUNT]
    cdef int i
    for i in range(LP_SECP_FN_COUNT):
        name = lp_secp_function_name(i).decode()
        try:
            addrs[i] = int(ffi.cast("uintptr_t", ffi.addressof(lib, name)))
        except AttributeError as exc:  # pragma: no cover - depends on the installed coincurve
            raise ImportError(f"coincurve's libsecp256k1 lacks {name}; lpcore needs coincurve>=21,<22") from exc
    cdef bytes seed = os.urandom(32)
    if lp_secp_init(&_secp, addrs, LP_SECP_FN_COUNT, lib.SECP256K1_CONTEXT_NONE,
                    lib.SECP256K1_EC_UNCOMPRESSED, <const unsigned char *>seed) != LP_OK:
        raise ImportError("could not create a libsecp256k1 context")


_load_secp()


# ---------------------------------------------------------------------------------------------------------------
# keccak-256

cdef int _get_bytes_buffer(obj, str name, Py_buffer *view) except -1:
    """Acquire a simple (C-contiguous, byte) buffer of ``obj``; the caller releases it. Errors name ``name``."""
    if isinstance(obj, str):
        raise TypeError(f"{name} must be bytes-like, not str (encode it first)")
    try:
        PyObject_GetBuffer(obj, view, PyBUF_SIMPLE)
    except BufferError:
        raise ValueError(f"{name} must be a C-contiguous bytes-like object") from None
    except TypeError:
        raise TypeError(f"{name} must be bytes, bytearray or memoryview, not {type(obj).__name__}") from None
    return 0


def keccak256(data):
    """keccak256(data) -> 32 bytes: Ethereum keccak-256 of a C-contiguous bytes-like object."""
    cdef Py_buffer view
    cdef uint8_t out[32]
    _get_bytes_buffer(data, "data", &view)
    try:
        if view.len >= _NOGIL_MIN_BYTES:
            with nogil:
                lp_keccak256(out, <const uint8_t *>view.buf, <size_t>view.len)
        else:
            lp_keccak256(out, <const uint8_t *>view.buf, <size_t>view.len)
    finally:
        PyBuffer_Release(&view)
    return PyBytes_FromStringAndSize(<char *>out, 32)


def _keccak_force_portable(bint on):
    """Testing hook: use the portable keccak permutation even where BMI1/BMI2 are available."""
    lp_keccak_force_portable(on)


def keccak256_rows(rows, threads=None):
    """keccak256_rows(rows (N, W) uint8) -> (N, 32) uint8: one digest per row."""
    cdef Py_ssize_t n = _check_rows(rows, "rows", -1)
    cdef Py_ssize_t width = rows.shape[1]
    threads = check_threads(threads)
    cdef cnp.ndarray out = np.empty((n, 32), dtype=np.uint8)
    cdef uint8_t *o = <uint8_t *>cnp.PyArray_DATA(out)
    cdef const uint8_t *d = _ptr(rows)
    cdef int t = threads
    with nogil:
        lp_keccak256_rows(o, d, <size_t>n, <size_t>width, <size_t>width, t)
    return out


def keccak256_ragged(data, offsets, threads=None):
    """keccak256_ragged(data (M,) uint8, offsets (N+1,) int64) -> (N, 32): digest of data[offsets[i]:offsets[i+1]]."""
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 1 or not data.flags.c_contiguous:
        raise TypeError("data must be a 1-D C-contiguous uint8 numpy array")
    if (not isinstance(offsets, np.ndarray) or offsets.dtype != np.int64 or offsets.ndim != 1
            or not offsets.flags.c_contiguous or offsets.shape[0] < 1):
        raise TypeError("offsets must be a 1-D C-contiguous int64 numpy array of N+1 entries")
    threads = check_threads(threads)
    cdef Py_ssize_t n = offsets.shape[0] - 1
    cdef cnp.ndarray out = np.empty((n, 32), dtype=np.uint8)
    cdef uint8_t *o = <uint8_t *>cnp.PyArray_DATA(out)
    cdef const uint8_t *d = _ptr(data)
    cdef const int64_t *off = <const int64_t *>cnp.PyArray_DATA(offsets)
    cdef size_t dlen = <size_t>data.shape[0]
    cdef int t = threads, ok
    with nogil:
        ok = lp_keccak256_ragged(o, d, dlen, off, <size_t>n, t)
    if ok != LP_OK:
        raise ValueError("offsets must start >= 0, never decrease and end <= len(data)")
    return out


# ---------------------------------------------------------------------------------------------------------------
# Tickets

_TICKET_COLUMNS = (("recipient", 20), ("sender", 20), ("face_value", 32), ("win_prob", 32), ("sender_nonce", 4),
                   ("recipient_rand_hash", 32), ("creation_round", 8), ("creation_round_block_hash", 32))


cdef Py_ssize_t _ticket_columns(lp_ticket_columns *cols, tuple arrays) except -1:
    """Checks the eight column arrays ((N or 1, width) uint8, integers big-endian) and fills cols. Returns N."""
    cdef Py_ssize_t n = 1, i, rows
    if len(arrays) != 8:
        raise TypeError("expected 8 ticket columns")
    for i in range(8):
        name, width = _TICKET_COLUMNS[i]
        rows = _check_rows(arrays[i], name, width)
        if rows != 1:
            if n != 1 and rows != n:
                raise ValueError(f"{name} has {rows} rows but another column has {n}")
            n = rows
    if n == 1:
        for i in range(8):
            if arrays[i].shape[0] == 0:  # a (0, w) column makes the batch empty
                n = 0
    cols.recipient = _column(arrays[0], n)
    cols.sender = _column(arrays[1], n)
    cols.face_value = _column(arrays[2], n)
    cols.win_prob = _column(arrays[3], n)
    cols.sender_nonce = _column(arrays[4], n)
    cols.recipient_rand_hash = _column(arrays[5], n)
    cols.creation_round = _column(arrays[6], n)
    cols.creation_round_block_hash = _column(arrays[7], n)
    return n


def ticket_hashes(recipient, sender, face_value, win_prob, sender_nonce, recipient_rand_hash, creation_round,
                  creation_round_block_hash, threads=None):
    """ticket_hashes(8 columns) -> (N, 32) uint8.

    Each column is an (N, width) or (1, width) uint8 array (a single row is broadcast): recipient, sender 20;
    face_value, win_prob 32 (big-endian); sender_nonce 4 (big-endian uint32); recipient_rand_hash 32;
    creation_round 8 (big-endian, < 2**63); creation_round_block_hash 32."""
    cdef lp_ticket_columns cols
    cdef Py_ssize_t n = _ticket_columns(&cols, (recipient, sender, face_value, win_prob, sender_nonce,
                                               recipient_rand_hash, creation_round, creation_round_block_hash))
    threads = check_threads(threads)
    cdef cnp.ndarray out = np.empty((n, 32), dtype=np.uint8)
    cdef uint8_t *o = <uint8_t *>cnp.PyArray_DATA(out)
    cdef int t = threads
    with nogil:
        lp_ticket_hashes(o, &cols, <size_t>n, t)
    return out


cdef const uint8_t *_field(object value, str name, Py_ssize_t width) except NULL:
    if type(value) is not bytes:
        raise TypeError(f"{name} must be bytes, got {type(value).__name__}")
    if len(<bytes>value) != width:
        raise ValueError(f"{name} must be {width} bytes, got {len(<bytes>value)}")
    return <const uint8_t *>(<bytes>value)


def ticket_one(recipient, sender, face_value, win_prob, sender_nonce, recipient_rand_hash, creation_round,
               creation_round_block_hash, bint preimage=False):
    """ticket_one(8 fields as bytes, widths as for ticket_hashes) -> 32-byte hash, or the preimage if preimage.

    The single-ticket form of ticket_hashes (same C packing), without building arrays: for Ticket.hash()."""
    cdef lp_ticket_columns cols
    cdef uint8_t pre[LP_TICKET_PREIMAGE_MAX]
    cdef uint8_t out[32]
    cols.recipient.ptr = _field(recipient, "recipient", 20)
    cols.sender.ptr = _field(sender, "sender", 20)
    cols.face_value.ptr = _field(face_value, "face_value", 32)
    cols.win_prob.ptr = _field(win_prob, "win_prob", 32)
    cols.sender_nonce.ptr = _field(sender_nonce, "sender_nonce", 4)
    cols.recipient_rand_hash.ptr = _field(recipient_rand_hash, "recipient_rand_hash", 32)
    cols.creation_round.ptr = _field(creation_round, "creation_round", 8)
    cols.creation_round_block_hash.ptr = _field(creation_round_block_hash, "creation_round_block_hash", 32)
    cols.recipient.stride = cols.sender.stride = cols.face_value.stride = cols.win_prob.stride = 0
    cols.sender_nonce.stride = cols.recipient_rand_hash.stride = 0
    cols.creation_round.stride = cols.creation_round_block_hash.stride = 0
    cdef size_t length
    if preimage:
        length = lp_ticket_preimage(pre, &cols, 0)
        return PyBytes_FromStringAndSize(<char *>pre, length)
    lp_ticket_hashes(out, &cols, 1, 1)
    return PyBytes_FromStringAndSize(<char *>out, 32)


# ---------------------------------------------------------------------------------------------------------------
# Signatures

def personal_hashes(hashes, threads=None):
    """personal_hashes(hashes (N, 32)) -> (N, 32): keccak256("\\x19Ethereum Signed Message:\\n32" + h) per row."""
    cdef Py_ssize_t n = _check_rows(hashes, "hashes", 32)
    threads = check_threads(threads)
    cdef cnp.ndarray out = np.empty((n, 32), dtype=np.uint8)
    cdef uint8_t *o = <uint8_t *>cnp.PyArray_DATA(out)
    cdef const uint8_t *h = _ptr(hashes)
    cdef int t = threads
    with nogil:
        lp_pm_personal_hashes(o, h, <size_t>n, t)
    return out


def personal_message_digest(message):
    """personal_message_digest(message) -> 32 bytes: EIP-191 digest of an arbitrary-length message."""
    cdef Py_buffer view
    cdef uint8_t out[32]
    _get_bytes_buffer(message, "message", &view)
    try:
        with nogil:
            lp_pm_personal_message_digest(out, <const uint8_t *>view.buf, <size_t>view.len)
    finally:
        PyBuffer_Release(&view)
    return PyBytes_FromStringAndSize(<char *>out, 32)


def seckey_valid(private_key):
    """seckey_valid(private_key: 32 bytes) -> bool: 0 < key < N."""
    cdef bytes key = _key32(private_key, "private_key")
    return lp_pm_seckey_valid(&_secp, <const uint8_t *>key) == 1


def address(private_key):
    """address(private_key: 32 bytes) -> 20 bytes; ValueError for an invalid key."""
    cdef bytes key = _key32(private_key, "private_key")
    cdef uint8_t out[20]
    if lp_pm_address(&_secp, <const uint8_t *>key, out) != LP_OK:
        raise ValueError("private_key is not a valid secp256k1 secret key (must be 0 < key < N)")
    return PyBytes_FromStringAndSize(<char *>out, 20)


def sign_batch(private_key, msgs, bint personal=True, threads=None):
    """sign_batch(private_key, msgs (N, 32), personal=True) -> (N, 65) uint8 r|s|v, v in {27, 28}.

    personal=True signs the EIP-191 digest of each 32-byte ticket hash; False signs each row as a digest."""
    cdef bytes key = _key32(private_key, "private_key")
    cdef Py_ssize_t n = _check_rows(msgs, "hashes", 32)
    threads = check_threads(threads)
    if not lp_pm_seckey_valid(&_secp, <const uint8_t *>key):
        raise ValueError("private_key is not a valid secp256k1 secret key (must be 0 < key < N)")
    cdef cnp.ndarray out = np.empty((n, 65), dtype=np.uint8)
    cdef uint8_t *o = <uint8_t *>cnp.PyArray_DATA(out)
    cdef const uint8_t *m = _ptr(msgs)
    cdef const uint8_t *k = <const uint8_t *>key
    cdef int t = threads, p = personal
    cdef size_t failed
    with nogil:
        failed = lp_pm_sign_batch(&_secp, o, k, m, <size_t>n, p, t)
    if failed:  # pragma: no cover - only an invalid key fails, and that was checked above
        raise RuntimeError(f"libsecp256k1 failed to sign {failed} of {n} rows")
    return out


def recover_batch(msgs, sigs, bint personal=True, threads=None):
    """recover_batch(msgs (N, 32), sigs (N, 65)) -> ((N, 20) uint8 addresses, (N,) uint8 status)."""
    cdef Py_ssize_t n = _check_rows(msgs, "hashes", 32)
    _check_rows(sigs, "sigs", 65, n)
    threads = check_threads(threads)
    cdef cnp.ndarray addrs = np.empty((n, 20), dtype=np.uint8)
    cdef cnp.ndarray status = np.empty(n, dtype=np.uint8)
    cdef uint8_t *a = <uint8_t *>cnp.PyArray_DATA(addrs)
    cdef uint8_t *st = <uint8_t *>cnp.PyArray_DATA(status)
    cdef const uint8_t *m = _ptr(msgs)
    cdef const uint8_t *s = _ptr(sigs)
    cdef int t = threads, p = personal
    with nogil:
        lp_pm_recover_batch(&_secp, a, st, m, s, <size_t>n, p, t)
    return addrs, status


def verify_batch(msgs, sigs, senders, bint personal=True, threads=None):
    """verify_batch(msgs (N, 32), sigs (N, 65), senders (N or 1, 20)) -> ((N,) bool, (N,) uint8 status)."""
    cdef Py_ssize_t n = _check_rows(msgs, "hashes", 32)
    _check_rows(sigs, "sigs", 65, n)
    _check_rows(senders, "senders", 20, n, True)
    threads = check_threads(threads)
    cdef cnp.ndarray valid = np.empty(n, dtype=np.bool_)
    cdef cnp.ndarray status = np.empty(n, dtype=np.uint8)
    cdef uint8_t *v = <uint8_t *>cnp.PyArray_DATA(valid)
    cdef uint8_t *st = <uint8_t *>cnp.PyArray_DATA(status)
    cdef const uint8_t *m = _ptr(msgs)
    cdef const uint8_t *s = _ptr(sigs)
    cdef lp_column snd = _column(senders, n)
    cdef int t = threads, p = personal
    with nogil:
        lp_pm_verify_batch(&_secp, v, st, m, s, snd, <size_t>n, p, t)
    return valid, status


def is_winning_batch(sigs, sig_offsets, recipient_rands, win_probs, threads=None):
    """is_winning_batch(sigs, sig_offsets, recipient_rands (N or 1, 32), win_probs (N or 1, 32)) -> (N,) bool.

    sig_offsets None: sigs is (N, 65) uint8. Otherwise sigs is the (M,) uint8 concatenation of N signatures of
    any length and sig_offsets the (N+1,) int64 boundaries."""
    cdef Py_ssize_t n
    cdef const int64_t *off = NULL
    if sig_offsets is None:
        n = _check_rows(sigs, "sigs", 65)
    else:
        if (not isinstance(sigs, np.ndarray) or sigs.dtype != np.uint8 or sigs.ndim != 1
                or not sigs.flags.c_contiguous):
            raise TypeError("sigs must be a 1-D C-contiguous uint8 numpy array when sig_offsets is given")
        if (not isinstance(sig_offsets, np.ndarray) or sig_offsets.dtype != np.int64 or sig_offsets.ndim != 1
                or not sig_offsets.flags.c_contiguous or sig_offsets.shape[0] < 1):
            raise TypeError("sig_offsets must be a 1-D C-contiguous int64 numpy array of N+1 entries")
        n = sig_offsets.shape[0] - 1
        off = <const int64_t *>cnp.PyArray_DATA(sig_offsets)
    _check_rows(recipient_rands, "recipient_rands", 32, n, True)
    _check_rows(win_probs, "win_probs", 32, n, True)
    threads = check_threads(threads)
    cdef cnp.ndarray wins = np.empty(n, dtype=np.bool_)
    cdef uint8_t *w = <uint8_t *>cnp.PyArray_DATA(wins)
    cdef const uint8_t *s = _ptr(sigs)
    cdef size_t slen = <size_t>sigs.nbytes
    cdef lp_column rr = _column(recipient_rands, n)
    cdef lp_column wp = _column(win_probs, n)
    cdef int t = threads, ok
    with nogil:
        ok = lp_pm_is_winning_batch(w, s, slen, off, rr, wp, <size_t>n, t)
    if ok != LP_OK:
        raise ValueError("sig_offsets must start >= 0, never decrease and end <= len(sigs)")
    return wins


# ---------------------------------------------------------------------------------------------------------------
# Benchmark baselines (bare libsecp256k1 loops, single thread)

def bench_raw_sign(private_key, digests):
    """bench_raw_sign(private_key, digests (N, 32)) -> (N, 65) r|s|recid: bare library signing loop."""
    cdef bytes key = _key32(private_key, "private_key")
    cdef Py_ssize_t n = _check_rows(digests, "digests", 32)
    cdef cnp.ndarray out = np.zeros((n, 65), dtype=np.uint8)
    cdef uint8_t *o = <uint8_t *>cnp.PyArray_DATA(out)
    cdef const uint8_t *d = _ptr(digests)
    cdef const uint8_t *k = <const uint8_t *>key
    cdef size_t failed
    with nogil:
        failed = lp_pm_bench_raw_sign(&_secp, o, k, d, <size_t>n)
    if failed:
        raise ValueError(f"{failed} rows failed to sign")
    return out


def bench_raw_recover(digests, sigs):
    """bench_raw_recover(digests (N, 32), sigs (N, 65) with recid in byte 64) -> number of failed rows."""
    cdef Py_ssize_t n = _check_rows(digests, "digests", 32)
    _check_rows(sigs, "sigs", 65, n)
    cdef cnp.ndarray pubkeys = np.empty((n, 64), dtype=np.uint8)
    cdef uint8_t *o = <uint8_t *>cnp.PyArray_DATA(pubkeys)
    cdef const uint8_t *d = _ptr(digests)
    cdef const uint8_t *s = _ptr(sigs)
    cdef size_t failed
    with nogil:
        failed = lp_pm_bench_raw_recover(&_secp, o, d, s, <size_t>n)
    return failed
