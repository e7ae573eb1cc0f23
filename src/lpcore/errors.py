"""One exception hierarchy for lpcore.

Every error lpcore raises on purpose derives from :class:`LpcoreError`. Errors caused by a bad argument
also derive from ``ValueError``/``TypeError`` so that generic callers can catch them the usual way.
Where the protocol (go-livepeer, the TicketBroker contract) defines a message, the exception carries
that exact string, so callers and tests compare against the protocol's own text.
"""

from __future__ import annotations


class LpcoreError(Exception):
    """Base class of every lpcore error."""


class InvalidTicket(LpcoreError, ValueError):
    """A ticket or ticket field is malformed or fails a protocol check."""


class InvalidSignature(LpcoreError, ValueError):
    """A signature is malformed or does not verify."""


class BrokerRevert(LpcoreError):
    """A TicketBroker call reverted; ``reason`` is the contract's revert string."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class BrokerArgumentError(LpcoreError, ValueError, TypeError):
    """A bad argument to a TicketBroker model or chain view (an address, an amount, a block or round count);
    both a ValueError and a TypeError, as the checks it replaces raised either."""


class SignatureFormatError(LpcoreError, ValueError):
    """A video-signature file (binary or XML) is truncated, corrupt or not a signature."""


class VideoDecodeError(LpcoreError):
    """A video could not be opened or decoded."""


class DeviceUnavailable(LpcoreError):
    """A GPU code path was requested but no CUDA device (or CuPy) is available."""


class MissingExtra(LpcoreError, ImportError):
    """A feature needs an optional dependency group ("extra") that is not installed.

    ``extra`` names the group (``pip install 'lpcore[<extra>]'``), ``feature`` what needed it, and ``name`` (as
    for any ``ImportError``) the module that failed to import. Raised by :func:`lpcore._extras.require`; the
    command line prints ``str(err)`` as one line and exits 2.
    """

    def __init__(self, extra: str, feature: str, missing: str | None = None):
        super().__init__(f"{feature} needs the '{extra}' extra: pip install 'lpcore[{extra}]'", name=missing)
        self.extra = extra
        self.feature = feature


class KeyLoadError(LpcoreError, ValueError):
    """A signing key could not be loaded (bad keystore, wrong password, bad hex); the message never contains
    key material."""


class ChainStateUnavailable(LpcoreError, RuntimeError):
    """The chain view could not be read (the remote signer answers 503)."""


class BatchError(LpcoreError):
    """A verification batch (lpcore.verify.batch) cannot run: bad manifest or output file, a missing optional
    extra (Ray), an unreachable cluster. Per-pair problems are never raised: they become the pair's error row."""


class RemoteSignerError(LpcoreError):
    """A remote-signer request failed; ``status`` is the HTTP status the service answers with.

    ``message`` is go-livepeer's error text (spec/remote_signer.md §4.3); ``headers`` are extra response
    headers (``Livepeer-Orchestrator-URL`` on 480).
    """

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


class VerificationError(LpcoreError):
    """A transcoded result failed verification (lpcore.verify); ``orchestrator`` names who returned it."""

    def __init__(self, message: str, orchestrator: str | None = None):
        super().__init__(message)
        self.orchestrator = orchestrator


class SignatureMismatch(VerificationError):
    """The untrusted rendition's perceptual hash does not match the trusted one (go-livepeer FVType1Error)."""


class PixelMismatch(VerificationError):
    """Decoded pixel count differs from the reported one (go-livepeer ErrPixelMismatch)."""


class MissingHash(VerificationError):
    """A result carries no (or an empty) perceptual hash for the rendition being checked."""


class TamperDetected(VerificationError):
    """The tamper detector (``lpcore.verify.detect``) judged the untrusted rendition tampered with."""


class BadRendition(VerificationError):
    """An untrusted rendition could not be judged at all (undecodable, too small, not a video, missing)."""


class MarketError(LpcoreError):
    """A marketplace input (price, discovery answer, selection setting) is invalid."""


class InvalidPrice(MarketError, ValueError):
    """A price is malformed: zero pixels per unit, a bad price string, an unknown currency."""


class MarketSettingError(MarketError, ValueError):
    """A marketplace setting passed by the caller is out of range (selection weights, a suspension penalty,
    a verification frequency)."""


class DiscoveryError(MarketError):
    """Orchestrator discovery failed (webhook or signer unreachable, bad answer) with no cached result."""


__all__ = [
    "LpcoreError",
    "InvalidTicket",
    "InvalidSignature",
    "BrokerRevert",
    "BrokerArgumentError",
    "SignatureFormatError",
    "VideoDecodeError",
    "DeviceUnavailable",
    "MissingExtra",
    "KeyLoadError",
    "ChainStateUnavailable",
    "BatchError",
    "RemoteSignerError",
    "VerificationError",
    "SignatureMismatch",
    "PixelMismatch",
    "MissingHash",
    "TamperDetected",
    "BadRendition",
    "MarketError",
    "InvalidPrice",
    "MarketSettingError",
    "DiscoveryError",
]
