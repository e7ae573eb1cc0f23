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

__all__ = [
    "__version__",
    "LpcoreError",
    "InvalidTicket",
    "InvalidSignature",
    "BrokerRevert",
    "SignatureFormatError",
    "VideoDecodeError",
    "DeviceUnavailable",
]
