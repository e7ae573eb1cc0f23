"""The ticket sender's key: EIP-191 signatures over ticket hashes, one at a time or batched in C."""

from __future__ import annotations

import numpy as np

from .. import _native_pm as _native
from .._args import threads as _threads
from .crypto import BytesLike, Rows, byte_row, byte_rows, bytes_arg


class Signer:
    """A secp256k1 private key that signs Livepeer tickets the way go-livepeer's account manager does.

    Signatures are 65 bytes r | s | v over keccak256("\\x19Ethereum Signed Message:\\n32" + ticket_hash), with an
    RFC 6979 nonce (byte-identical to coincurve and eth-keys), low s and v in {27, 28}.
    """

    __slots__ = ("_key", "_address")

    def __init__(self, private_key: BytesLike) -> None:
        key = bytes_arg(private_key, "private_key", 32)
        if not _native.seckey_valid(key):
            raise ValueError("private_key is not a valid secp256k1 secret key (must be 0 < key < N)")
        self._key = key
        self._address = _native.address(key)

    @property
    def address(self) -> bytes:
        """The 20-byte Ethereum address of this key."""
        return self._address

    def sign(self, ticket_hash: BytesLike) -> bytes:
        """Sign one 32-byte ticket hash; return the 65-byte signature."""
        return _native.sign_batch(self._key, byte_row(ticket_hash, "ticket_hash", 32), True, 1)[0].tobytes()

    def sign_batch(self, hashes: Rows, threads: int | None = None) -> np.ndarray:
        """Sign N ticket hashes ((N, 32) uint8 or a sequence of 32-byte values) across threads; return (N, 65)."""
        return _native.sign_batch(self._key, byte_rows(hashes, "hashes", 32), True, _threads(threads))

    def sign_message(self, message: BytesLike) -> bytes:
        """EIP-191 personal_sign of an arbitrary-length message: signs keccak256("\\x19Ethereum Signed Message:\\n"
        + decimal length + message). Return the 65-byte signature (v in {27, 28})."""
        digest = _native.personal_message_digest(message)
        return _native.sign_batch(self._key, byte_row(digest, "digest", 32), False, 1)[0].tobytes()

    def __repr__(self) -> str:  # never show the key
        return f"Signer(address=0x{self._address.hex()})"


__all__ = ["Signer"]
