"""The ``/generate-live-payment`` request: decoding with Go's JSON rules and validating what the caller chose
(spec/remote_signer.md §2.2, §4.1, §4.3 steps 1 and 8).

Every size here is bounded before work proportional to it: the body (``SignerConfig.max_body_bytes``, checked
by the service), JSON nesting (``gojson.MAX_JSON_DEPTH``), integer literals (``gojson``) and the ManifestID
(:data:`MAX_MANIFEST_ID_LENGTH`). Prices are kept as text here and parsed later, after authorisation
(``lpcore.signer.pricing``).

**The ManifestID rule.** segCreds is a ``personal_sign`` over ``ManifestID ‖ 32 zero bytes ‖ keccak256("")``,
in the same EIP-191 domain as ticket signatures, whose preimages are 168 bytes (no aux data) or 232 bytes.
A caller-chosen 104- or 168-byte ID could therefore make the signer sign a ticket hash. go-livepeer's IDs
are 8 hex characters (``RandomManifestID``: 4 random bytes), stream names or ``<capability>_<model>``
labels, all short URL-safe text, so the signer accepts 1 to :data:`MAX_MANIFEST_ID_LENGTH` characters of
:data:`MANIFEST_ID_CHARACTERS` and nothing else: every segCreds input is then shorter than any ticket
preimage (and longer than the 42-byte address string of ``/sign-orchestrator-info``).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from ..errors import RemoteSignerError
from . import gojson

#: Longest ManifestID accepted. Must stay below 104 (= 168 - 64), see the module docstring.
MAX_MANIFEST_ID_LENGTH = 96
#: The characters a ManifestID may use: URL-unreserved ASCII (RFC 3986) plus "/" for model ids.
MANIFEST_ID_CHARACTERS = "A-Z a-z 0-9 . _ ~ - /"
_MANIFEST_ID_RE = re.compile(r"[A-Za-z0-9._~/-]{1,%d}\Z" % MAX_MANIFEST_ID_LENGTH)

_REQ = "RemotePaymentRequest"
_REQUEST_FIELDS = {"orchestrator": "orchestrator", "state": "state", "ManifestID": "manifest_id", "type": "type",
                   "inPixels": "in_pixels", "app": "app", "maxPrice": "max_price", "capabilities": "capabilities"}
_STATE_FIELDS = {"State": "state", "Sig": "sig"}
_MAX_PRICE_FIELDS = {"price": "price", "currency": "currency", "unit": "unit"}


@dataclass(frozen=True)
class PaymentRequest:
    """A decoded ``RemotePaymentRequest`` (§4.1); byte fields decoded, ``max_price`` still text."""

    orchestrator: bytes = b""
    state: bytes = b""
    sig: bytes = b""
    manifest_id: str = ""
    type: str = ""
    in_pixels: int = 0
    app: str = ""
    max_price: dict[str, str] | None = None
    capabilities: bytes = b""

    @property
    def has_state(self) -> bool:
        """A state was sent: either member non-empty (both empty means a first call, §10 item 2)."""
        return bool(self.state or self.sig)


def parse_request(body: bytes) -> PaymentRequest:
    """Step 1: decode a ``/generate-live-payment`` body with Go's rules (400 with the decoder's message)."""
    try:
        return _decode(body)
    except gojson.GoJSONError as exc:
        raise RemoteSignerError(400, str(exc)) from None


def _decode(body: bytes) -> PaymentRequest:
    raw = gojson.match_fields(gojson.loads_first(body), _REQUEST_FIELDS, "server." + _REQ)
    out: dict[str, Any] = {}
    for attr, value in raw.items():
        if attr in ("orchestrator", "capabilities"):
            out[attr] = gojson.as_bytes(value, _REQ, attr)
        elif attr == "in_pixels":
            out[attr] = gojson.as_int(value, _REQ, "inPixels")
        elif attr == "state":
            sub = gojson.match_fields(value, _STATE_FIELDS, "server.RemotePaymentStateSig")
            out["state"] = gojson.as_bytes(sub.get("state"), "RemotePaymentStateSig", "State")
            out["sig"] = gojson.as_bytes(sub.get("sig"), "RemotePaymentStateSig", "Sig")
        elif attr == "max_price":
            if value is None:
                out[attr] = None
                continue
            sub = gojson.match_fields(value, _MAX_PRICE_FIELDS, "server.RemotePaymentMaxPrice")
            out[attr] = {
                "price": gojson.as_number(sub.get("price"), "RemotePaymentMaxPrice", "price"),
                "currency": gojson.as_string(sub.get("currency"), "RemotePaymentMaxPrice", "currency"),
                "unit": gojson.as_string(sub.get("unit"), "RemotePaymentMaxPrice", "unit"),
            }
        else:
            out[attr] = gojson.as_string(value, _REQ, attr)
    return PaymentRequest(**out)


def manifest_id(req: PaymentRequest) -> str:
    """Step 8: the id the orchestrator accounts the payment under; 8 random hex characters on a first call
    without one (as go-livepeer draws them), required with state, and always within the ManifestID rule."""
    mid = req.manifest_id
    if not mid:
        if req.has_state:
            raise RemoteSignerError(400, "missing manifestID")
        return secrets.token_hex(4)
    if not _MANIFEST_ID_RE.match(mid):
        raise RemoteSignerError(400, f"invalid ManifestID: must be 1 to {MAX_MANIFEST_ID_LENGTH} characters of "
                                     f"{MANIFEST_ID_CHARACTERS}")
    return mid


__all__ = ["PaymentRequest", "parse_request", "manifest_id", "MAX_MANIFEST_ID_LENGTH", "MANIFEST_ID_CHARACTERS"]
