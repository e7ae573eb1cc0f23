"""Ethereum keccak-256 (the original Keccak padding, not FIPS-202 SHA3-256), computed in C."""

from __future__ import annotations

from . import _native_pm


def keccak256(data: bytes | bytearray | memoryview) -> bytes:
    """Return the 32-byte Ethereum keccak-256 digest of ``data``.

    Any C-contiguous bytes-like object is accepted; inputs of 4 KiB and more are hashed with the GIL released.
    Raises ``TypeError`` for ``str`` and other non-buffer objects.
    """
    return _native_pm.keccak256(data)
