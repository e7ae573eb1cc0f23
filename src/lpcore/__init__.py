"""lpcore: the native engine for Livepeer payments (PM tickets) and verification (MPEG-7 video signatures)."""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import (  # noqa: E402
    BrokerRevert,
    DeviceUnavailable,
    InvalidSignature,
    InvalidTicket,
    LpcoreError,
    SignatureFormatError,
    VideoDecodeError,
)
from .keccak import keccak256  # noqa: E402

__all__ = [
    "__version__",
    "keccak256",
    "LpcoreError",
    "InvalidTicket",
    "InvalidSignature",
    "BrokerRevert",
    "SignatureFormatError",
    "VideoDecodeError",
    "DeviceUnavailable",
]
