"""Ticket signatures, winner checks and 256-bit helpers (spec/pm.md §2-§3), thin over ``lpcore._native_pm``.

Batch functions take numpy arrays of the documented shapes (uint8, C-contiguous; checked strictly, never copied)
or sequences of ``bytes``/``int`` (packed into such arrays). Hashes, addresses and signatures are raw bytes.
``threads=None`` uses every core; results never depend on the thread count.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from typing import Any, Union

import numpy as np

from .. import _native_pm as _native
from .._args import threads as _threads
from ..errors import InvalidSignature
from ..keccak import keccak256

MAX_WIN_PROB = 2**256 - 1
SECP256K1_N = _native.SECP256K1_N  # defined once, in csrc/pm/sig.c
SECP256K1_HALF_N = _native.SECP256K1_HALF_N

_U256_LIMIT = 2**256
_ZERO_ADDRESS = bytes(20)

BytesLike = Union[bytes, bytearray, memoryview]
Rows = Union[np.ndarray, Sequence[BytesLike]]
U256s = Union[np.ndarray, int, Sequence[int], Sequence[BytesLike]]

# go-livepeer's crypto.VerifySig reasons, indexed by the native status codes (csrc/pm/sig.h enum lp_sig_status).
SIGNATURE_ERRORS: dict[int, str] = {
    _native.SIG_BAD_LENGTH: "invalid signature length",
    _native.SIG_HIGH_S: "signature s value too high",
    _native.SIG_BAD_V: "signature v value must be 27 or 28",
    _native.SIG_BAD_RS: "recovery failed",  # go-ethereum secp256k1.ErrRecoverFailed
    _native.SIG_UNRECOVERABLE: "recovery failed",
    _native.SIG_WRONG_SENDER: "signature does not recover to the sender",
}


# ---------------------------------------------------------------------------------------------------------------
# Argument conversion: the one bytes / uint / row check of lpcore.pm (params.py, signer.py, ticket.py use it)


def bytes_arg(value: Any, name: str, width: int | None = None, error: type[Exception] = ValueError) -> bytes:
    """The one bytes-argument check of lpcore.pm; ``error`` lets ticket fields raise InvalidTicket."""
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"{name} must be bytes, got {type(value).__name__}")
    value = bytes(value)
    if width is not None and len(value) != width:
        raise error(f"{name} must be {width} bytes, got {len(value)}")
    return value


def _sequence(value: Any, name: str, what: str) -> list:
    if isinstance(value, (bytes, bytearray, memoryview, str)):
        raise TypeError(f"{name} must be {what}, not a single {type(value).__name__}")
    try:
        return list(value)
    except TypeError:
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}") from None


def byte_rows(value: Rows, name: str, width: int) -> np.ndarray:
    """An (N, width) uint8 array from an array (passed through; the native layer checks it) or byte strings."""
    if isinstance(value, np.ndarray):
        return value
    items = _sequence(value, name, f"an (N, {width}) uint8 array or a sequence of {width}-byte values")
    for i, item in enumerate(items):
        if not isinstance(item, (bytes, bytearray, memoryview)):
            raise TypeError(f"{name}[{i}] must be bytes, got {type(item).__name__}")
        if len(item) != width:
            raise ValueError(f"{name}[{i}] must be {width} bytes, got {len(item)}")
    return np.frombuffer(b"".join(items), dtype=np.uint8).reshape(len(items), width)


def byte_row(value: BytesLike, name: str, width: int) -> np.ndarray:
    return np.frombuffer(bytes_arg(value, name, width), dtype=np.uint8).reshape(1, width)


def sig_rows(sigs: Rows, name: str = "sigs") -> tuple[np.ndarray, np.ndarray]:
    """The one conversion of a signature list: ``(sigs (N, 65) uint8, ok (N,) bool)``.

    An (N, 65) uint8 array is passed through (the native layer checks it strictly; every row ``ok``). From a
    sequence of byte strings, a row whose length is not 65 is an invalid row, not an error (go-livepeer's first
    check, "invalid signature length"; the contract's INVALID_SIGNATURE_LENGTH): it is replaced by 65 zero bytes,
    which can never verify (v = 0 fails the v check), and flagged ``ok = False``."""
    if isinstance(sigs, np.ndarray):
        return sigs, np.ones(len(sigs) if sigs.ndim else 0, dtype=bool)
    items = _sequence(sigs, name, "an (N, 65) uint8 array or a sequence of signatures")
    ok = np.ones(len(items), dtype=bool)
    fixed = []
    for i, item in enumerate(items):
        if not isinstance(item, (bytes, bytearray, memoryview)):
            raise TypeError(f"{name}[{i}] must be bytes, got {type(item).__name__}")
        if len(item) == 65:
            fixed.append(item)
        else:
            ok[i] = False
            fixed.append(bytes(65))
    arr = np.frombuffer(b"".join(fixed), dtype=np.uint8).reshape(len(items), 65)
    return arr, ok


def uint_arg(value: Any, name: str, limit: int = _U256_LIMIT, error: type[Exception] = ValueError) -> int:
    """The one unsigned-integer-argument check of lpcore.pm (value in [0, limit))."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got bool")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int, got {type(value).__name__}") from None
    if not 0 <= value < limit:
        raise error(f"{name} must be in [0, 2**{limit.bit_length() - 1}), got {value}")
    return value


def to_u256(ints: Iterable[int] | int, *, name: str = "ints") -> np.ndarray:
    """Pack non-negative integers below 2**256 into an (N, 32) uint8 array of big-endian words."""
    values = [ints] if isinstance(ints, int) and not isinstance(ints, bool) else _sequence(ints, name, "ints")
    out = bytearray(32 * len(values))
    for i, v in enumerate(values):
        out[32 * i : 32 * i + 32] = uint_arg(v, f"{name}[{i}]").to_bytes(32, "big")
    return np.frombuffer(bytes(out), dtype=np.uint8).reshape(len(values), 32)


def from_u256(arr: np.ndarray) -> list[int]:
    """Unpack an (N, 32) uint8 array of big-endian words into Python ints."""
    if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.ndim != 2 or arr.shape[1] != 32:
        raise ValueError("arr must be an (N, 32) uint8 numpy array")
    data = arr.tobytes()
    return [int.from_bytes(data[i : i + 32], "big") for i in range(0, len(data), 32)]


def check_int_array(value: np.ndarray, name: str, width: int) -> None:
    """The "one value or one per row" rule for integer arguments given as numpy arrays: 1-D arrays hold one
    integer per row, (N, width) / (1, width) uint8 arrays hold big-endian words. A 1-D uint8 array is refused:
    it could be the bytes of one word (a (32,) array for one recipientRand) or N small integers, and reading it
    the wrong way gives wrong answers without an error."""
    if value.ndim == 1 and value.dtype == np.uint8:
        raise ValueError(f"{name}: a 1-D uint8 array is ambiguous (the {width} bytes of one value, or one small "
                         f"int per row?); pass an (N, {width}) or (1, {width}) uint8 array of big-endian words, "
                         f"bytes for one value, or a wider integer dtype for one int per row")


def _u256_rows(value: U256s, name: str) -> np.ndarray:
    """(N, 32) or broadcastable (1, 32) words from an array, an int, ints, or 32-byte strings."""
    if isinstance(value, np.ndarray):
        check_int_array(value, name, 32)
        if value.ndim == 1 and value.dtype.kind in "iu":  # plain integers, e.g. np.arange
            return to_u256(value.tolist(), name=name)
        return value  # (N, 32) uint8 big-endian words; checked natively
    if isinstance(value, (bytes, bytearray, memoryview)):
        return byte_row(value, name, 32)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return to_u256([int(value)], name=name)
    items = _sequence(value, name, "an (N, 32) uint8 array, an int or a sequence of ints")
    if items and isinstance(items[0], (bytes, bytearray, memoryview)):
        return byte_rows(items, name, 32)
    return to_u256(items, name=name)


# ---------------------------------------------------------------------------------------------------------------
# Public helpers


def personal_hash(ticket_hash: BytesLike) -> bytes:
    """Return keccak256("\\x19Ethereum Signed Message:\\n32" + ticket_hash): the digest a sender signs (EIP-191)."""
    return _native.personal_hashes(byte_row(ticket_hash, "ticket_hash", 32))[0].tobytes()


def recipient_rand_hash(recipient_rand: int) -> bytes:
    """Return keccak256(uint256(recipient_rand)), the recipient's commitment (spec/pm.md §3)."""
    return keccak256(uint_arg(recipient_rand, "recipient_rand").to_bytes(32, "big"))


def to_checksum_address(addr20: BytesLike) -> str:
    """Return the EIP-55 mixed-case hex form ("0x...") of a 20-byte address."""
    hex_addr = bytes_arg(addr20, "addr20", 20).hex()
    digest = keccak256(hex_addr.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(hex_addr))


def recover_batch(hashes: Rows, sigs: Rows, threads: int | None = None) -> np.ndarray:
    """Recover the signer of each ticket hash: (N, 20) uint8 addresses, an all-zero row where the signature is
    invalid under go-livepeer's rules (length 65, s <= N/2, v in {27, 28}, r and s in range, recoverable)."""
    hashes = byte_rows(hashes, "hashes", 32)
    sig_arr, ok = sig_rows(sigs)
    addrs, _status = _native.recover_batch(hashes, sig_arr, True, _threads(threads))
    addrs[~ok] = 0
    return addrs


def verify_batch(hashes: Rows, sigs: Rows, senders: Rows | BytesLike, threads: int | None = None) -> np.ndarray:
    """Return an (N,) bool array: True where the signature is valid (go-livepeer's rules) and recovers to the
    row's sender. ``senders`` is (N, 20), a sequence of addresses, or one 20-byte address for every row."""
    hashes = byte_rows(hashes, "hashes", 32)
    sig_arr, ok = sig_rows(sigs)
    if isinstance(senders, (bytes, bytearray, memoryview)):
        sender_arr = byte_row(senders, "senders", 20)
    else:
        sender_arr = byte_rows(senders, "senders", 20)
    valid, _status = _native.verify_batch(hashes, sig_arr, sender_arr, True, _threads(threads))
    return valid & ok


def verify_signature(ticket_hash: BytesLike, sig: BytesLike, sender: BytesLike) -> None:
    """Check one ticket signature; raise ``InvalidSignature`` carrying go-livepeer's reason if it fails."""
    ticket_hash = bytes_arg(ticket_hash, "ticket_hash", 32)
    sig = bytes_arg(sig, "sig")
    sender = bytes_arg(sender, "sender", 20)
    if len(sig) != 65:
        raise InvalidSignature(SIGNATURE_ERRORS[_native.SIG_BAD_LENGTH])
    _valid, status = _native.verify_batch(
        byte_row(ticket_hash, "ticket_hash", 32), byte_row(sig, "sig", 65), byte_row(sender, "sender", 20), True, 1
    )
    if status[0] != _native.SIG_OK:
        raise InvalidSignature(SIGNATURE_ERRORS[int(status[0])])


def recover_message(message: BytesLike, sig: BytesLike) -> bytes | None:
    """Recover the signer of an EIP-191 personal_sign signature over an arbitrary-length message
    ("\\x19Ethereum Signed Message:\\n" + decimal length + message). None if the signature is invalid."""
    digest = _native.personal_message_digest(message)
    sig = bytes_arg(sig, "sig")
    if len(sig) != 65:
        return None
    addrs, status = _native.recover_batch(byte_row(digest, "digest", 32), byte_row(sig, "sig", 65), False, 1)
    return addrs[0].tobytes() if status[0] == _native.SIG_OK else None


def is_winning_batch(
    sigs: Rows, recipient_rands: U256s, win_probs: U256s, threads: int | None = None
) -> np.ndarray:
    """Return an (N,) bool array: ticket i wins iff uint256(keccak256(sig_i + uint256(recipient_rand_i))) <
    win_prob_i (spec/pm.md §3).

    ``sigs`` is (N, 65) uint8 or a sequence of signatures; like go-livepeer, the bytes are hashed whatever their
    length (validity is verify_batch's job). ``recipient_rands`` and ``win_probs`` are (N, 32) uint8 big-endian
    words, sequences of ints, or one int (or 32-byte value) shared by every row."""
    t = _threads(threads)
    rands = _u256_rows(recipient_rands, "recipient_rands")
    probs = _u256_rows(win_probs, "win_probs")
    if isinstance(sigs, np.ndarray):
        return _native.is_winning_batch(sigs, None, rands, probs, t)
    items = _sequence(sigs, "sigs", "an (N, 65) uint8 array or a sequence of signatures")
    for i, item in enumerate(items):
        if not isinstance(item, (bytes, bytearray, memoryview)):
            raise TypeError(f"sigs[{i}] must be bytes, got {type(item).__name__}")
    if all(len(item) == 65 for item in items):
        arr = np.frombuffer(b"".join(items), dtype=np.uint8).reshape(len(items), 65)
        return _native.is_winning_batch(arr, None, rands, probs, t)
    offsets = np.zeros(len(items) + 1, dtype=np.int64)
    np.cumsum([len(item) for item in items], out=offsets[1:])
    flat = np.frombuffer(b"".join(items), dtype=np.uint8)
    return _native.is_winning_batch(flat, offsets, rands, probs, t)


__all__ = [
    "MAX_WIN_PROB",
    "SECP256K1_N",
    "SECP256K1_HALF_N",
    "SIGNATURE_ERRORS",
    "keccak256",
    "personal_hash",
    "recipient_rand_hash",
    "to_checksum_address",
    "to_u256",
    "from_u256",
    "recover_batch",
    "verify_batch",
    "verify_signature",
    "recover_message",
    "is_winning_batch",
    "sig_rows",
    "check_int_array",
    # argument checks shared by pm/params.py, pm/signer.py and pm/ticket.py
    "bytes_arg",
    "uint_arg",
    "byte_row",
    "byte_rows",
]
