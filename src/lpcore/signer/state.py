"""The signed, round-tripped session state of the remote signer (spec/remote_signer.md §4.7).

The signer keeps no per-session storage: everything a session needs is returned to the caller as the JSON
bytes of :class:`PaymentState` plus an EIP-191 signature over those raw bytes, and comes back verbatim on the
next call. Any signer holding the same key (lpcore or go-livepeer) accepts the blob, so the keys and value
types follow go-livepeer's ``RemotePaymentState`` exactly.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import secrets
from dataclasses import dataclass, replace

from .._units import MAX_RATIONAL_EXPONENT, MAX_RATIONAL_LENGTH, format_rat, parse_rat  # re-exported
from . import gojson

#: Go's zero ``time.Time`` as it marshals; "no previous update".
ZERO_TIME = "0001-01-01T00:00:00Z"

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_RFC3339_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})\Z"
)

# JSON key -> (attribute, Go type) in Go struct order; every key is always present (no omitempty).
_FIELDS = (
    ("StateID", "state_id", "string"),
    ("PMSessionID", "pm_session_id", "string"),
    ("LastUpdate", "last_update", "time"),
    ("OrchestratorAddress", "orchestrator_address", "address"),
    ("App", "app", "string"),
    ("AuthExpiry", "auth_expiry", "int64"),
    ("SenderNonce", "sender_nonce", "uint32"),
    ("Balance", "balance", "string"),
    ("InitialPricePerUnit", "initial_price_per_unit", "int64"),
    ("InitialPixelsPerUnit", "initial_pixels_per_unit", "int64"),
    ("Type", "type", "string"),
    ("SequenceNumber", "sequence_number", "uint64"),
    ("AuthID", "auth_id", "string"),
)


def format_time_ns(unix_ns: int | None) -> str:
    """Go's ``time.Time`` JSON form (RFC 3339, up to 9 fractional digits, trailing zeros dropped) in UTC.

    ``None`` is Go's zero time.
    """
    if unix_ns is None:
        return ZERO_TIME
    seconds, nanos = divmod(unix_ns, 1_000_000_000)
    when = _EPOCH + _dt.timedelta(seconds=seconds)
    frac = f".{nanos:09d}".rstrip("0") if nanos else ""
    return when.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


def parse_time_ns(text: str) -> int | None:
    """Parse an RFC 3339 time as Go's ``time.Time`` JSON decoder accepts it; ``None`` for the zero time.

    Raises ``ValueError`` when malformed.
    """
    m = _RFC3339_RE.match(text)
    if not m:
        raise ValueError(f"parsing time {text!r} as RFC 3339")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    nanos = int((m.group(7) or "").ljust(9, "0"))
    zone = m.group(8)
    offset = 0 if zone == "Z" else (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    if int(zone[1:3] if zone != "Z" else 0) > 23 or int(zone[4:6] if zone != "Z" else 0) > 59:
        raise ValueError(f"parsing time {text!r}: time zone offset out of range")
    when = _dt.datetime(year, month, day, hour, minute, second, tzinfo=_dt.timezone.utc)
    unix_ns = (int((when - _EPOCH).total_seconds()) - offset) * 1_000_000_000 + nanos
    if (year, month, day, hour, minute, second, nanos, offset) == (1, 1, 1, 0, 0, 0, 0, 0):
        return None
    return unix_ns


@dataclass(frozen=True)
class PaymentState:
    """go-livepeer's ``RemotePaymentState``: one remote payment session between calls."""

    state_id: str
    pm_session_id: str = ""
    last_update: int | None = None  # Unix nanoseconds; None is Go's zero time
    orchestrator_address: bytes = b"\0" * 20
    app: str = ""
    auth_expiry: int = 0
    sender_nonce: int = 0
    balance: str = ""
    initial_price_per_unit: int = 0
    initial_pixels_per_unit: int = 0
    type: str = ""
    sequence_number: int = 0
    auth_id: str = ""

    @staticmethod
    def new_state_id() -> str:
        """8 random lowercase hex characters, as go-livepeer draws them."""
        return secrets.token_hex(4)

    def to_json(self) -> bytes:
        """The state as Go marshals it: every key, in struct order."""
        out: dict[str, object] = {}
        for key, attr, kind in _FIELDS:
            value = getattr(self, attr)
            if kind == "time":
                value = format_time_ns(value)
            elif kind == "address":
                value = "0x" + value.hex()
            out[key] = value
        return gojson.dumps(out)

    def to_object(self) -> dict[str, object]:
        """The state as a JSON-ready mapping (for the auth webhook body)."""
        return json.loads(self.to_json())

    @classmethod
    def from_json(cls, data: bytes) -> PaymentState:
        """Decode state bytes with Go's rules (case-insensitive keys, unknown keys ignored, typed values).

        Raises ``ValueError`` if the bytes are not a valid state.
        """
        fields = {key: attr for key, attr, _ in _FIELDS}
        kinds = {attr: kind for _, attr, kind in _FIELDS}
        raw = gojson.match_fields(gojson.loads_whole(data), fields, "server.RemotePaymentState")
        values: dict[str, object] = {}
        for attr, value in raw.items():
            kind = kinds[attr]
            if kind == "string":
                values[attr] = gojson.as_string(value, "RemotePaymentState", attr)
            elif kind == "time":
                if value is not None:
                    values[attr] = parse_time_ns(gojson.as_string(value, "RemotePaymentState", attr))
            elif kind == "address":
                if value is not None:
                    text = gojson.as_string(value, "RemotePaymentState", attr)
                    # go-ethereum's Address.UnmarshalJSON: "0x" prefix and exactly 40 hex digits.
                    if not re.fullmatch(r"0[xX][0-9a-fA-F]{40}", text):
                        raise ValueError(f"invalid orchestrator address {text!r}")
                    values[attr] = bytes.fromhex(text[2:])
            else:
                bits = int(kind.lstrip("uint"))
                values[attr] = gojson.as_int(value, "RemotePaymentState", attr, bits, kind.startswith("int"))
        values.setdefault("state_id", "")
        return cls(**values)  # type: ignore[arg-type]

    def replace(self, **changes: object) -> PaymentState:
        return replace(self, **changes)  # type: ignore[arg-type]


__all__ = ["PaymentState", "ZERO_TIME", "format_time_ns", "parse_time_ns", "format_rat", "parse_rat",
           "MAX_RATIONAL_LENGTH", "MAX_RATIONAL_EXPONENT"]
