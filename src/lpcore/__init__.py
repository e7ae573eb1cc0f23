"""lpcore: the native engine for Livepeer payments (PM tickets) and verification (MPEG-7 video signatures)."""

from __future__ import annotations

import os as _os

__version__ = "0.1.0"

# lpcore's batch loops are short OpenMP regions inside node software that has other work to do. libgomp's
# default wait policy spins idle workers after each region, which on a busy machine burns the CPU the other
# threads need (measured: Recipient throughput 1.2x -> 2.2x over the pure-Python peer on a loaded 2-core box).
# Passive waiting costs a futex wake per region, negligible for batches. libgomp reads this once, when the first
# native module loads it, so it must be set before those imports; an explicit setting by the user wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .errors import (  # noqa: E402
    BrokerRevert,
    DeviceUnavailable,
    InvalidSignature,
    InvalidTicket,
    LpcoreError,
    MissingExtra,
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
    "MissingExtra",
]
