"""Livepeer PM tickets and their keccak-256 hash (spec/pm.md §1), hashed in C one at a time or in batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Union

import numpy as np

from .. import _native_pm as _native
from .._args import threads as _threads
from ..errors import InvalidTicket
from .crypto import MAX_WIN_PROB, BytesLike, byte_row, byte_rows, bytes_arg, check_int_array, to_u256, uint_arg

ZERO_HASH = bytes(32)
_NONCE_LIMIT = 2**32  # go-livepeer's SenderNonce is a uint32 (wire field uint32 sender_nonce)
_ROUND_LIMIT = 2**63  # go-livepeer's CreationRound is an int64; Go's encoding would drop a sign

BytesColumn = Union[BytesLike, np.ndarray, Sequence[BytesLike]]
IntColumn = Union[int, np.ndarray, Sequence[int]]


def _int_field(value: Any, name: str, limit: int) -> int:
    return uint_arg(value, name, limit, InvalidTicket)


def _bytes_field(value: Any, name: str, width: int) -> bytes:
    return bytes_arg(value, name, width, InvalidTicket)


@dataclass(frozen=True)
class Ticket:
    """One probabilistic micropayment ticket (go-livepeer ``pm.Ticket``).

    Field widths are validated: addresses 20 bytes, hashes 32 bytes, 0 <= face_value, win_prob < 2**256,
    0 <= sender_nonce < 2**32, 0 <= creation_round < 2**63. ``params_expiration_block`` and ``price_per_pixel``
    are not hashed (the recipient uses them in its HMAC and expiry checks).
    """

    recipient: bytes
    sender: bytes
    face_value: int
    win_prob: int
    sender_nonce: int
    recipient_rand_hash: bytes
    creation_round: int = 0
    creation_round_block_hash: bytes = ZERO_HASH
    params_expiration_block: int = 0
    price_per_pixel: Fraction = Fraction(0)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "recipient", _bytes_field(self.recipient, "recipient", 20))
        set_(self, "sender", _bytes_field(self.sender, "sender", 20))
        set_(self, "face_value", _int_field(self.face_value, "face_value", 2**256))
        set_(self, "win_prob", _int_field(self.win_prob, "win_prob", 2**256))
        set_(self, "sender_nonce", _int_field(self.sender_nonce, "sender_nonce", _NONCE_LIMIT))
        set_(self, "recipient_rand_hash", _bytes_field(self.recipient_rand_hash, "recipient_rand_hash", 32))
        set_(self, "creation_round", _int_field(self.creation_round, "creation_round", _ROUND_LIMIT))
        set_(self, "creation_round_block_hash",
             _bytes_field(self.creation_round_block_hash, "creation_round_block_hash", 32))
        if isinstance(self.params_expiration_block, bool) or not isinstance(self.params_expiration_block, int):
            raise TypeError("params_expiration_block must be an int")
        if self.params_expiration_block < 0:
            raise InvalidTicket(f"params_expiration_block must be >= 0, got {self.params_expiration_block}")
        if not isinstance(self.price_per_pixel, (Fraction, int)) or isinstance(self.price_per_pixel, bool):
            raise TypeError("price_per_pixel must be a Fraction or an int")
        set_(self, "price_per_pixel", Fraction(self.price_per_pixel))

    def _packed_fields(self) -> tuple[bytes, ...]:
        return (self.recipient, self.sender, self.face_value.to_bytes(32, "big"), self.win_prob.to_bytes(32, "big"),
                self.sender_nonce.to_bytes(4, "big"), self.recipient_rand_hash, self.creation_round.to_bytes(8, "big"),
                self.creation_round_block_hash)

    def hash(self) -> bytes:
        """keccak256 of the packed ticket (168- or 232-byte preimage, spec/pm.md §1.3): 32 bytes."""
        cached = self.__dict__.get("_hash")
        if cached is None:  # fields are immutable, so the hash is computed once (not a dataclass field)
            cached = _native.ticket_one(*self._packed_fields())
            object.__setattr__(self, "_hash", cached)
        return cached

    def aux_data(self) -> bytes:
        """uint256(creation_round) + creation_round_block_hash, or b"" when both are zero (go-livepeer rule)."""
        return aux_data(self.creation_round, self.creation_round_block_hash)

    def expected_value(self) -> Fraction:
        """face_value * win_prob / (2**256 - 1), exactly."""
        return Fraction(self.face_value * self.win_prob, MAX_WIN_PROB)


def aux_data(creation_round: int, creation_round_block_hash: bytes) -> bytes:
    """go-livepeer's ``AuxData()`` (spec/pm.md §1.4): uint256(creation_round) + creation_round_block_hash, or b""
    when the round is 0 and the hash all zero. Built by the C ticket packer (csrc/pm/ticket.c), so the bytes the
    ticket hash covers and the bytes sent on the wire / bound into the HMAC come from one rule."""
    round_ = _int_field(creation_round, "creation_round", _ROUND_LIMIT).to_bytes(8, "big")
    block_hash = _bytes_field(creation_round_block_hash, "creation_round_block_hash", 32)
    preimage = _native.ticket_one(bytes(20), bytes(20), ZERO_HASH, ZERO_HASH, bytes(4), ZERO_HASH, round_, block_hash,
                                  preimage=True)
    return preimage[_native.TICKET_PREIMAGE_MIN:]


# ---------------------------------------------------------------------------------------------------------------
# Columnar batch hashing


def _bytes_column(value: BytesColumn, name: str, width: int) -> np.ndarray:
    if isinstance(value, (bytes, bytearray, memoryview)):
        if len(value) != width:
            raise InvalidTicket(f"{name} must be {width} bytes, got {len(value)}")
        return byte_row(value, name, width)
    return byte_rows(value, name, width)


def _u256_column(value: IntColumn, name: str) -> np.ndarray:
    if isinstance(value, np.ndarray):
        check_int_array(value, name, 32)
        return value  # (N, 32) big-endian words; checked natively
    if isinstance(value, int):
        return to_u256([_int_field(value, name, 2**256)])
    try:
        return to_u256(value, name=name)
    except ValueError as exc:
        raise InvalidTicket(str(exc)) from None


def _uint_column(value: IntColumn, name: str, nbytes: int, limit: int) -> np.ndarray:
    """Big-endian (N or 1, nbytes) rows from an int, a 1-D integer array or a sequence of ints."""
    be = np.dtype(f">u{nbytes}")
    if isinstance(value, np.ndarray) and value.dtype == np.uint8 and value.ndim == 2:
        return value  # already big-endian bytes; checked natively
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return np.array([_int_field(value, name, limit)], dtype=be).view(np.uint8).reshape(1, nbytes)
    if isinstance(value, np.ndarray):
        check_int_array(value, name, nbytes)
        if value.ndim != 1 or value.dtype.kind not in "iu":
            raise TypeError(f"{name} must be a 1-D integer array, got {value.dtype} with shape {value.shape}")
        if value.size and (int(value.min()) < 0 or int(value.max()) >= limit):
            raise InvalidTicket(f"{name} values must be in [0, 2**{limit.bit_length() - 1})")
        return value.astype(be).view(np.uint8).reshape(value.shape[0], nbytes)
    if isinstance(value, (bytes, bytearray, memoryview, str)):
        raise TypeError(f"{name} must be an int or a sequence of ints, got {type(value).__name__}")
    try:
        items = list(value)
    except TypeError:
        raise TypeError(f"{name} must be an int or a sequence of ints, got {type(value).__name__}") from None
    checked = [_int_field(v, f"{name}[{i}]", limit) for i, v in enumerate(items)]
    return np.array(checked, dtype=be).view(np.uint8).reshape(len(checked), nbytes)


def _columns(recipient: BytesColumn, sender: BytesColumn, face_value: IntColumn, win_prob: IntColumn,
             sender_nonce: IntColumn, recipient_rand_hash: BytesColumn, creation_round: IntColumn,
             creation_round_block_hash: BytesColumn) -> tuple[np.ndarray, ...]:
    return (
        _bytes_column(recipient, "recipient", 20),
        _bytes_column(sender, "sender", 20),
        _u256_column(face_value, "face_value"),
        _u256_column(win_prob, "win_prob"),
        _uint_column(sender_nonce, "sender_nonce", 4, _NONCE_LIMIT),
        _bytes_column(recipient_rand_hash, "recipient_rand_hash", 32),
        _uint_column(creation_round, "creation_round", 8, _ROUND_LIMIT),
        _bytes_column(creation_round_block_hash, "creation_round_block_hash", 32),
    )


def ticket_hashes_columns(
    recipient: BytesColumn,
    sender: BytesColumn,
    face_value: IntColumn,
    win_prob: IntColumn,
    sender_nonce: IntColumn,
    recipient_rand_hash: BytesColumn,
    creation_round: IntColumn = 0,
    creation_round_block_hash: BytesColumn = ZERO_HASH,
    *,
    threads: int | None = None,
) -> np.ndarray:
    """Hash N tickets given field by field; return (N, 32) uint8.

    Each argument is either one value shared by every ticket (``bytes`` / ``int``) or one value per ticket: an
    (N, width) uint8 array or a sequence of ``bytes`` for byte fields; a sequence of ints, a 1-D integer array
    (nonce, round) or an (N, 32) big-endian uint8 array (face value, win prob) for integer fields. All per-ticket
    arguments must have the same N; if every argument is a single value, N = 1. So a Payment (shared ticket
    params, N sender nonces) is ``ticket_hashes_columns(recipient, sender, fv, wp, nonces, rrh, round, hash)``.
    """
    cols = _columns(recipient, sender, face_value, win_prob, sender_nonce, recipient_rand_hash, creation_round,
                    creation_round_block_hash)
    return _native.ticket_hashes(*cols, threads=_threads(threads))


def ticket_hashes(tickets: Sequence[Ticket], threads: int | None = None) -> np.ndarray:
    """Hash a sequence of Tickets in one native call; return (N, 32) uint8."""
    tickets = list(tickets)
    for i, t in enumerate(tickets):
        if not isinstance(t, Ticket):
            raise TypeError(f"tickets[{i}] must be a Ticket, got {type(t).__name__}")
    if not tickets:
        return np.empty((0, 32), dtype=np.uint8)
    return ticket_hashes_columns(
        [t.recipient for t in tickets],
        [t.sender for t in tickets],
        [t.face_value for t in tickets],
        [t.win_prob for t in tickets],
        [t.sender_nonce for t in tickets],
        [t.recipient_rand_hash for t in tickets],
        [t.creation_round for t in tickets],
        [t.creation_round_block_hash for t in tickets],
        threads=threads,
    )


__all__ = ["Ticket", "aux_data", "ticket_hashes", "ticket_hashes_columns", "ZERO_HASH"]
