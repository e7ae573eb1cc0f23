"""JSON decoding and encoding with the rules of Go's ``encoding/json``, as go-livepeer's signer applies them.

Peers (the official SDK, go-livepeer gateways, other signer replicas) were written against Go's behaviour,
so the service mirrors it (spec/remote_signer.md §2.2): only the first JSON value is read, unknown keys are
ignored, keys match struct fields exactly or else case-insensitively (the last matching key wins), byte
fields are padded standard base64, integers must be integer literals in range, and ``json.Number`` accepts a
number or a string holding a number literal. Output is compact with Go's HTML-safe escaping.

Sizes an attacker controls are bounded before work proportional to them: nesting depth
(:data:`MAX_JSON_DEPTH`) and the number of values (:data:`MAX_JSON_VALUES`), both checked by one vectorised
scan before the decoder runs, and integer literals (never longer than the widest Go integer before ``int()``
sees them). A lone UTF-16 surrogate escape decodes
to U+FFFD, as in Go, so every decoded string can be encoded as UTF-8.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import LpcoreError

#: Deepest nesting of arrays/objects accepted in a request or state (the root object is level 1). The deepest
#: legitimate request is 3 levels; Python's recursive decoder would fail near 1000 (RecursionError).
MAX_JSON_DEPTH = 100
#: Most values (numbers, strings, arrays, objects, literals) accepted in one document. A request has about 15;
#: each value costs the decoder a Python call, so 1 MiB of ``[0,0,...]`` took 0.8 s of GIL time unbounded.
MAX_JSON_VALUES = 10_000
#: Digits of the widest Go integer (uint64 has 20): a longer literal is out of range whatever it says.
_MAX_INT_DIGITS = 20

_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_B64_RE = re.compile(r"[A-Za-z0-9+/=]*")
_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?\Z")


class GoJSONError(LpcoreError, ValueError):
    """The body does not decode under Go's rules; ``str()`` is the message Go would report."""


@dataclass(frozen=True)
class Number:
    """A JSON number kept as its literal text (Go decodes numbers lazily, per target type)."""

    literal: str


def _fold(name: str) -> str:
    # bytes.EqualFold uses Unicode simple folding: besides ASCII case, U+017F (long s) folds to "s" and
    # U+212A (Kelvin sign) to "k". Field names here are ASCII, so those are the only extra matches.
    return name.replace("\u017f", "s").replace("\u212a", "k").lower()


def _decode_error_message(exc: json.JSONDecodeError, text: str) -> str:
    if exc.pos >= len(text.rstrip()) or not text.strip():
        return "unexpected EOF" if text.strip() else "EOF"
    ch = text[exc.pos]
    return f"invalid character {ch!r} looking for beginning of value" if exc.msg.startswith("Expecting value") \
        else f"invalid character {ch!r} {exc.msg[0].lower() + exc.msg[1:]}"


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN/Infinity; Go does not.
    raise GoJSONError(f"invalid character {name[0]!r} looking for beginning of value")


def structure(data: bytes) -> tuple[int, int]:
    """``(nesting depth, number of values)`` of the first JSON value in ``data``, ignoring string contents.

    Depth is 0 for a scalar; the value count is an upper bound (separators + 1). Linear and vectorised, so it
    can run on any body before the decoder, whose per-value Python hooks cost ~1.5 µs each. Exact for valid
    JSON; invalid JSON is reported by the decoder anyway. Structural characters are ASCII and never occur inside
    a multi-byte UTF-8 sequence, so the raw bytes can be scanned.
    """
    arr = np.frombuffer(data, dtype=np.uint8)
    start = len(data) - len(data.lstrip(b" \t\r\n"))
    if start == len(data) or arr[start] not in (0x5B, 0x7B):
        return 0, 1
    delim = arr == 0x22
    backslash = arr == 0x5C
    if backslash.any():
        # A quote is escaped iff an odd run of backslashes precedes it.
        idx = np.arange(len(arr))
        last_other = np.maximum.accumulate(np.where(backslash, -1, idx))
        run = np.zeros(len(arr), dtype=np.int64)
        run[1:] = idx[:-1] - last_other[:-1]
        delim &= run % 2 == 0
    outside = np.cumsum(delim, dtype=np.int64) % 2 == 0
    step = ((arr == 0x5B) | (arr == 0x7B)).astype(np.int32) - ((arr == 0x5D) | (arr == 0x7D))
    step[~outside] = 0
    depth = np.cumsum(step[start:], dtype=np.int64)
    closed = np.flatnonzero(depth <= 0)
    end = int(closed[0]) + 1 if len(closed) else len(depth)  # only the first value counts: the rest is ignored
    first = slice(start, start + end)
    separators = int(np.count_nonzero(((arr[first] == 0x2C) | (arr[first] == 0x3A)) & outside[first]))
    return int(depth[:end].max()), separators + 1


def nesting_depth(data: bytes) -> int:
    """Nesting depth of the first JSON value in ``data`` (0 for a scalar), brackets inside strings ignored."""
    return structure(data)[0]


def check_size(data: bytes) -> None:
    if data.count(b"[") + data.count(b"{") <= MAX_JSON_DEPTH and data.count(b",") + data.count(b":") < MAX_JSON_VALUES:
        return  # too few brackets and separators to exceed either limit: the common case, no scan needed
    depth, values = structure(data)
    if depth > MAX_JSON_DEPTH:
        raise GoJSONError(f"JSON nesting depth exceeds {MAX_JSON_DEPTH}")
    if values > MAX_JSON_VALUES:
        raise GoJSONError(f"JSON has more than {MAX_JSON_VALUES} values")


def loads_first(data: bytes) -> Any:
    """Decode the first JSON value of ``data`` like ``json.NewDecoder(body).Decode``; trailing bytes are ignored.

    Numbers come back as :class:`Number`; objects as lists of (key, value) pairs, keeping duplicates in order.
    Nesting deeper than :data:`MAX_JSON_DEPTH` or more than :data:`MAX_JSON_VALUES` values is refused before
    decoding.
    """
    check_size(data)
    # Go replaces invalid UTF-8 with U+FFFD rather than failing.
    text = data.decode("utf-8", errors="replace")
    idx = len(text) - len(text.lstrip(" \t\r\n"))
    if idx == len(text):
        raise GoJSONError("EOF")
    decoder = json.JSONDecoder(
        object_pairs_hook=_Object,
        parse_float=Number,
        parse_int=Number,
        parse_constant=_reject_constant,
        strict=True,
    )
    try:
        value, _ = decoder.raw_decode(text, idx)
    except json.JSONDecodeError as exc:
        raise GoJSONError(_decode_error_message(exc, text)) from None
    return value


def loads_whole(data: bytes) -> Any:
    """Decode exactly one JSON value like ``json.Unmarshal`` (trailing non-space bytes are an error)."""
    check_size(data)
    text = data.decode("utf-8", errors="replace")
    decoder = json.JSONDecoder(
        object_pairs_hook=_Object, parse_float=Number, parse_int=Number,
        parse_constant=_reject_constant, strict=True,
    )
    idx = len(text) - len(text.lstrip(" \t\r\n"))
    try:
        value, end = decoder.raw_decode(text, idx)
    except json.JSONDecodeError as exc:
        raise GoJSONError(_decode_error_message(exc, text)) from None
    rest = text[end:].lstrip(" \t\r\n")
    if rest:
        raise GoJSONError(f"invalid character {rest[0]!r} after top-level value")
    return value


class _Object(list):
    """A decoded JSON object: its (key, value) pairs in document order, duplicates kept."""


def _kind(value: Any) -> str:
    if isinstance(value, _Object):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Number):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    return "null"


def match_fields(pairs: Any, fields: dict[str, str], go_type: str) -> dict[str, Any]:
    """Map a decoded object onto struct ``fields`` (JSON name -> attribute) with Go's key matching.

    Raises :class:`GoJSONError` if ``pairs`` is not an object. ``null`` yields an empty mapping (Go leaves the
    struct untouched).
    """
    if pairs is None:
        return {}
    if not isinstance(pairs, _Object):
        raise GoJSONError(f"json: cannot unmarshal {_kind(pairs)} into Go value of type {go_type}")
    exact = fields
    folded = {_fold(name): attr for name, attr in fields.items()}
    out: dict[str, Any] = {}
    for key, value in pairs:
        attr = exact.get(key) or folded.get(_fold(key))
        if attr is not None:
            out[attr] = value
    return out


def _type_error(value: Any, go_type: str, struct: str, field: str) -> GoJSONError:
    what = f"number {value.literal}" if isinstance(value, Number) else _kind(value)
    return GoJSONError(f"json: cannot unmarshal {what} into Go struct field {struct}.{field} of type {go_type}")


def as_string(value: Any, struct: str, field: str) -> str:
    """A Go ``string`` field: a JSON string, or ``null`` for empty. A lone surrogate escape (``"\\ud800"``)
    becomes U+FFFD, as Go decodes it (Python keeps it, and it then cannot be encoded as UTF-8)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _type_error(value, "string", struct, field)
    return _SURROGATE_RE.sub("\ufffd", value)


def as_bytes(value: Any, struct: str, field: str) -> bytes:
    """A Go ``[]byte`` field: padded standard base64 (CR/LF ignored, as Go's decoder does), ``null`` for empty."""
    if value is None:
        return b""
    if not isinstance(value, str):
        raise _type_error(value, "[]uint8", struct, field)
    cleaned = value.replace("\r", "").replace("\n", "")
    if not _B64_RE.fullmatch(cleaned):
        bad = next(i for i, ch in enumerate(cleaned) if not _B64_RE.fullmatch(ch))
        raise GoJSONError(f"illegal base64 data at input byte {bad}")
    if len(cleaned) % 4:
        raise GoJSONError(f"illegal base64 data at input byte {len(cleaned) - len(cleaned) % 4}")
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        pad = cleaned.find("=")
        raise GoJSONError(f"illegal base64 data at input byte {max(pad, 0)}") from None


def as_int(value: Any, struct: str, field: str, bits: int = 64, signed: bool = True) -> int:
    """A Go integer field: an integer literal within range (no fraction, exponent or quotes), ``null`` for 0."""
    go_type = f"{'' if signed else 'u'}int{bits}"
    if value is None:
        return 0
    if not isinstance(value, Number) or not re.fullmatch(r"-?[0-9]+", value.literal):
        raise _type_error(value, go_type, struct, field)
    if len(value.literal.lstrip("-")) > _MAX_INT_DIGITS:  # out of range; and int() of it is O(digits**2)
        raise _type_error(value, go_type, struct, field)
    n = int(value.literal)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if not lo <= n <= hi:
        raise _type_error(value, go_type, struct, field)
    return n


def as_number(value: Any, struct: str, field: str) -> str:
    """A Go ``json.Number`` field: a JSON number, or a string holding a valid number literal."""
    if value is None:
        return ""
    if isinstance(value, Number):
        return value.literal
    if isinstance(value, str):
        if not _NUMBER_RE.match(value):
            raise GoJSONError(f"json: invalid number literal, trying to unmarshal {json.dumps(json.dumps(value))} "
                              "into Number")
        return value
    raise _type_error(value, "json.Number", struct, field)


_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_HTML_RE = re.compile("[<>&\u2028\u2029]")


def dumps(value: Any) -> bytes:
    """Encode like Go's ``json.Marshal``: compact, UTF-8, ``<``, ``>``, ``&``, U+2028 and U+2029 escaped.

    ``value`` uses plain dicts (key order is kept as given: callers pass Go's struct or sorted-map order).
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _HTML_RE.sub(lambda m: _HTML_ESCAPES[m.group(0)], text).encode("utf-8", errors="replace")


__all__ = ["GoJSONError", "Number", "MAX_JSON_DEPTH", "MAX_JSON_VALUES", "structure", "nesting_depth",
           "loads_first", "loads_whole", "match_fields", "as_string", "as_bytes",
           "as_int", "as_number", "dumps"]
