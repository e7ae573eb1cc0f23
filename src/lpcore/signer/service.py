"""The remote signer's request handling, independent of any HTTP framework.

:class:`RemoteSigner` turns a request body into ``(status, body, headers)`` exactly as go-livepeer's
``-remoteSigner`` mode does (spec/remote_signer.md §3–§5): the same JSON decoding rules, processing order,
status codes and error strings, the same protobuf encodings, signatures and billing. ``lpcore.signer.app``
wraps it in an ASGI application; the benchmark calls it directly as well.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import secrets
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .. import keccak256, pm
from ..broker.base import SenderInfo, StaticChainView
from ..errors import RemoteSignerError
from ..pm.params import float_string, minimal_be
from . import gojson, proto
from ..broker.rpc import ChainSnapshot, ChainStateSource
from .state import PaymentState, format_rat, parse_rat

_LOG = logging.getLogger("lpcore.signer")

#: go-livepeer caps one payment at 100 tickets (``server/remote_signer.go``).
MAX_TICKETS_PER_PAYMENT = 100
#: Refresh the session when the orchestrator's auth token expires within this many seconds (10 % of 30 min).
AUTH_TOKEN_REFRESH_MARGIN_S = 180
#: 1280×720 pixels at 30 fps: the billing unit of "lv2v" (``defaultSegInfo``).
LV2V_PIXELS_PER_SECOND = 1280 * 720 * 30
LV2V_OPENING_SECONDS = 60
LIVE_OPENING_SECONDS = 10
#: keccak256 of no bytes: the segment hash of the empty segment behind segCreds.
EMPTY_HASH = bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")

HTTP_REFRESH_SESSION = 480
HTTP_PRICE_EXCEEDED = 481
HTTP_NO_TICKETS = 482

_REFRESH_MESSAGE = "refresh session for remote signer"
_VALIDATION_PREFIX = "remote signer could not check whether to refresh session: "
_MAX_PRICE_UNITS = {"live": "seconds", "lv2v": "720p-pixel-seconds", "fixed": "fixed"}


@dataclass
class SignerConfig:
    """Limits and optional features of a remote signer (go-livepeer's flag defaults)."""

    max_ticket_ev: Fraction = Fraction(3_000_000_000_000)  # -maxTicketEV, wei
    max_total_ev: Fraction = Fraction(20_000_000_000_000)  # -maxTotalEV, wei
    deposit_multiplier: int = 1  # -depositMultiplier
    #: Global price ceiling in wei per unit (-maxPricePerUnit / -pixelsPerUnit); None = no limit.
    max_price: Fraction | None = None
    #: Per-(capability id, model id) ceilings (-maxPricePerCapability).
    max_price_per_capability: Mapping[tuple[int, str], Fraction] = field(default_factory=dict)
    #: Static orchestrator list for GET /discover-orchestrators; None disables the route.
    discovery: Sequence[Mapping[str, Any]] | None = None
    #: Optional auth hook (the webhook of spec §4.10 as a callable): ``hook(headers, state_object)`` returns the
    #: webhook's reply mapping ``{"status", "reason"?, "expiry"?, "auth_id"?, "maxPrice"?}``.
    auth_hook: Callable[[dict[str, list[str]], dict[str, Any]], Mapping[str, Any]] | None = None
    #: Largest request body accepted (go-livepeer has none; an unbounded body is a memory hazard).
    max_body_bytes: int = 1 << 20
    #: Threads per ``sign_batch`` call (None = all cores). Measured on 2 idle cores: a 100-ticket request takes
    #: 2.5 ms with all cores vs 4.0 ms with one, and under 4 concurrent connections throughput is the same either
    #: way (lpcore's OpenMP workers wait passively, so they don't spin against the other requests).
    threads: int | None = None

    def __post_init__(self) -> None:
        self.max_ticket_ev = Fraction(self.max_ticket_ev)
        self.max_total_ev = Fraction(self.max_total_ev)
        if self.max_ticket_ev < 0 or self.max_total_ev < 0:
            raise ValueError("max_ticket_ev and max_total_ev must be >= 0")
        if self.deposit_multiplier <= 0:
            raise ValueError("deposit_multiplier must be > 0")
        if self.max_price is not None and Fraction(self.max_price) <= 0:
            raise ValueError("max_price must be > 0 (or None for no limit)")
        if self.max_body_bytes <= 0:
            raise ValueError("max_body_bytes must be > 0")


@dataclass(frozen=True)
class SignerResponse:
    """An HTTP answer: status, exact body bytes and extra headers (Content-Type is JSON unless given)."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Request:
    orchestrator: bytes = b""
    state: bytes = b""
    sig: bytes = b""
    manifest_id: str = ""
    type: str = ""
    in_pixels: int = 0
    app: str = ""
    max_price: dict[str, str] | None = None
    capabilities: bytes = b""


_REQUEST_FIELDS = {"orchestrator": "orchestrator", "state": "state", "ManifestID": "manifest_id", "type": "type",
                   "inPixels": "in_pixels", "app": "app", "maxPrice": "max_price", "capabilities": "capabilities"}
_STATE_FIELDS = {"State": "state", "Sig": "sig"}
_MAX_PRICE_FIELDS = {"price": "price", "currency": "currency", "unit": "unit"}
_REQ = "RemotePaymentRequest"


def _parse_request(body: bytes) -> _Request:
    """Decode a ``/generate-live-payment`` body with Go's rules (§2.2)."""
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
    return _Request(**out)


def _json_body(value: Any) -> bytes:
    # json.NewEncoder(w).Encode: one value plus a newline.
    return gojson.dumps(value) + b"\n"


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> SignerResponse:
    """go-livepeer's ``respondJsonError``: ``{"error":{"message":...}}``; 500/503 bodies are masked."""
    if status == 500:
        message = "Internal Server Error"
    elif status == 503:
        message = "Service Unavailable Error"
    return SignerResponse(status, _json_body({"error": {"message": message}}), dict(headers or {}))


def _canonical_header(name: str) -> str:
    """Go's ``http.CanonicalHeaderKey`` (``x-tenant`` -> ``X-Tenant``), as go-livepeer forwards header names."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def _bytes_to_address(data: bytes) -> bytes:
    """go-ethereum ``BytesToAddress``: the last 20 bytes, left-padded with zeros."""
    return data[-20:].rjust(20, b"\0")


def _bytes_to_hash(data: bytes) -> bytes:
    """go-ethereum ``BytesToHash``: the last 32 bytes, left-padded with zeros."""
    return data[-32:].rjust(32, b"\0")


def _ticket_params(tp: Any, price: Any) -> tuple[pm.TicketParams, bytes]:
    """``pm.TicketParams`` from the wire message the way go-livepeer reads it (``BytesToAddress``,
    ``BytesToHash``, ``big.Int.SetBytes``), plus the raw seed bytes to copy back (the seed is not hashed)."""
    expiration = None
    if tp.HasField("expiration_params"):
        expiration = pm.TicketExpirationParams(tp.expiration_params.creation_round,
                                               _bytes_to_hash(tp.expiration_params.creation_round_block_hash))
    seed = int.from_bytes(tp.seed, "big")
    params = pm.TicketParams(
        recipient=_bytes_to_address(tp.recipient),
        face_value=int.from_bytes(tp.face_value, "big"),
        win_prob=int.from_bytes(tp.win_prob, "big"),
        recipient_rand_hash=_bytes_to_hash(tp.recipient_rand_hash),
        seed=seed if seed >> 256 == 0 else 0,
        expiration_block=int.from_bytes(tp.expiration_block, "big"),
        price_per_pixel=Fraction(price.pricePerUnit, price.pixelsPerUnit),
        expiration_params=expiration,
    )
    return params, minimal_be(seed)


class _BatchSigner:
    """``pm.Signer`` as ``pm.Sender`` sees it, with the configured thread count applied to ``sign_batch``."""

    def __init__(self, signer: Any, threads: int | None):
        self.address = signer.address
        self._signer = signer
        self._threads = threads

    def sign_batch(self, hashes: Any) -> Any:
        return self._signer.sign_batch(hashes, threads=self._threads)


def _chain_view(snapshot: ChainSnapshot, sender: bytes) -> StaticChainView:
    """The request's consistent chain view in the interfaces ``pm.Sender`` reads."""
    info = SenderInfo(deposit=snapshot.deposit, withdraw_round=snapshot.withdraw_round,
                      funds_remaining=snapshot.reserve_funds_remaining,
                      claimed_in_current_round=snapshot.reserve_claimed_in_current_round)
    return StaticChainView(last_seen_l1_block=snapshot.last_seen_l1_block,
                           last_initialized_round=snapshot.last_initialized_round,
                           last_initialized_l1_block_hash=snapshot.last_initialized_block_hash,
                           sender_info={sender: info})


class RemoteSigner:
    """A stateless remote signer for one Ethereum key (go-livepeer ``-remoteSigner``).

    ``chain`` supplies the chain view, ``clock`` returns Unix time in nanoseconds (injected for tests).
    The private key is held by :class:`lpcore.pm.Signer` only and never logged or repr'd.
    """

    def __init__(self, private_key: bytes, chain: ChainStateSource, config: SignerConfig | None = None,
                 *, clock: Callable[[], int] = time.time_ns, signer_factory: Callable[[bytes], Any] = pm.Signer):
        # signer_factory exists for benchmarks (a per-ticket coincurve peer); it must behave like pm.Signer.
        self._signer = signer_factory(private_key)
        self.address: bytes = bytes(self._signer.address)
        self.checksum_address: str = pm.to_checksum_address(self.address)
        self.chain = chain
        self.config = config or SignerConfig()
        self._clock = clock
        # Deterministic (RFC 6979), so computing it once is what go-livepeer does as well.
        self.orchestrator_info_sig = self._signer.sign(keccak256(self.checksum_address.encode("ascii")))
        self._orch_info_body = _json_body(
            {"address": self.checksum_address, "signature": "0x" + self.orchestrator_info_sig.hex()})

    def __repr__(self) -> str:
        return f"RemoteSigner(address={self.checksum_address})"

    # -- /sign-orchestrator-info ----------------------------------------------------------------------------
    def sign_orchestrator_info(self) -> SignerResponse:
        """``POST /sign-orchestrator-info``: the EIP-191 signature over the checksummed address string."""
        return SignerResponse(200, self._orch_info_body)

    # -- /discover-orchestrators ----------------------------------------------------------------------------
    def discover_orchestrators(self, caps: Sequence[str]) -> SignerResponse:
        """``GET /discover-orchestrators``: the configured list filtered by ``caps`` (OR, exact match)."""
        pool = self.config.discovery
        if not pool:
            return error_response(503, "")
        wanted = [c for c in caps if c]
        out = []
        for entry in pool:
            entry_caps = list(entry.get("capabilities") or [])
            if wanted and not any(c in entry_caps for c in wanted):
                continue
            item: dict[str, Any] = {"address": entry["address"]}
            score = entry.get("score", 1)
            if score:
                item["score"] = score
            if entry_caps:
                item["capabilities"] = entry_caps
            if entry.get("runners"):
                item["runners"] = list(entry["runners"])
            out.append(item)
        return SignerResponse(200, _json_body(out))

    # -- /generate-live-payment -----------------------------------------------------------------------------
    def generate_live_payment(self, body: bytes, headers: Mapping[str, Sequence[str]] | None = None) -> SignerResponse:
        """``POST /generate-live-payment``; never raises for bad input, answers the spec's status instead."""
        try:
            return self._generate_live_payment(body, headers or {})
        except RemoteSignerError as exc:
            return error_response(exc.status, exc.message, exc.headers)
        except Exception as exc:  # a bug must not leak a traceback to the caller; the body is never logged
            _LOG.error("generate-live-payment: unexpected %s: %s", type(exc).__name__, exc)
            return error_response(500, "")

    def _generate_live_payment(self, body: bytes, headers: Mapping[str, Sequence[str]]) -> SignerResponse:
        # Steps follow spec/remote_signer.md §4.3; the first failing step decides the answer.
        try:
            req = _parse_request(body)
        except gojson.GoJSONError as exc:
            raise RemoteSignerError(400, str(exc)) from None
        if not req.orchestrator:
            raise RemoteSignerError(400, "missing orchestrator")
        try:
            info = proto.parse(proto.OrchestratorInfo, req.orchestrator)
        except ValueError as exc:
            raise RemoteSignerError(400, str(exc)) from None
        price = info.price_info
        if not info.HasField("price_info") or price.pricePerUnit == 0 or price.pixelsPerUnit == 0:
            raise RemoteSignerError(400, "missing or zero priceInfo")
        if not info.HasField("ticket_params"):
            raise RemoteSignerError(400, "missing ticketParams in OrchestratorInfo")
        orch_addr = _bytes_to_address(info.address)
        now = self._clock()

        has_state = bool(req.state or req.sig)
        if has_state:
            state = self._verify_state(req.state, req.sig)
            if state.orchestrator_address != orch_addr:
                raise RemoteSignerError(400, "orchestratorAddress mismatch")
            if state.app != req.app:
                raise RemoteSignerError(400, "app mismatch")
            if state.type not in ("", req.type):
                raise RemoteSignerError(400, "job type mismatch")
            state = state.replace(type=req.type, sequence_number=(state.sequence_number + 1) % (1 << 64))
        else:
            state = PaymentState(state_id=PaymentState.new_state_id(), orchestrator_address=orch_addr, app=req.app,
                                 type=req.type, initial_price_per_unit=price.pricePerUnit,
                                 initial_pixels_per_unit=price.pixelsPerUnit)

        manifest_id = req.manifest_id
        if not manifest_id:
            if has_state:
                raise RemoteSignerError(400, "missing manifestID")
            manifest_id = secrets.token_hex(4)
        caps = None
        if req.capabilities:
            try:
                caps = proto.parse(proto.Capabilities, req.capabilities)
            except ValueError as exc:
                raise RemoteSignerError(400, str(exc)) from None

        session_id = "0x" + _bytes_to_hash(info.ticket_params.recipient_rand_hash).hex()
        first_nonce = state.sender_nonce if state.pm_session_id == session_id else 0

        # Refresh check: an expiring auth token or expired ticket params ask the caller for fresh info (480).
        refresh = {"Livepeer-Orchestrator-URL": info.transcoder}
        if not info.HasField("auth_token"):
            raise RemoteSignerError(400, _VALIDATION_PREFIX + "missing auth token")
        if now > (info.auth_token.expiration - AUTH_TOKEN_REFRESH_MARGIN_S) * 1_000_000_000:
            raise RemoteSignerError(HTTP_REFRESH_SESSION, _REFRESH_MESSAGE, refresh)
        # One pm.Sender per request over one chain snapshot: no session outlives the request (§4.11) and
        # concurrent requests for the same recipient_rand_hash cannot disturb each other's nonces.
        view = _chain_view(self._snapshot(), self.address)
        sender = pm.Sender(_BatchSigner(self._signer, self.config.threads), view, view,
                           max_ev=self.config.max_ticket_ev, max_total_ev=self.config.max_total_ev,
                           deposit_multiplier=self.config.deposit_multiplier)
        try:
            params, seed = _ticket_params(info.ticket_params, price)
            sender.validate_ticket_params(params)
        except pm.errors.TicketParamsExpired:
            raise RemoteSignerError(HTTP_REFRESH_SESSION, _REFRESH_MESSAGE, refresh) from None
        except (pm.errors.PMError, ValueError, TypeError) as exc:
            raise RemoteSignerError(400, _VALIDATION_PREFIX + str(exc)) from None

        units = self._billable_units(req, state, now, has_state)
        request_ceiling = self._parse_max_price(req)
        if has_state and (state.initial_price_per_unit <= 0 or state.initial_pixels_per_unit <= 0):
            raise RemoteSignerError(400, "invalid initial price in state")
        orch_price = Fraction(price.pricePerUnit, price.pixelsPerUnit)
        initial_price = Fraction(state.initial_price_per_unit, state.initial_pixels_per_unit) \
            if state.initial_pixels_per_unit else None
        self._check_price(orch_price, caps, request_ceiling, initial_price if has_state else None)

        fee = units * Fraction(state.initial_price_per_unit, state.initial_pixels_per_unit)
        existing = Fraction(0)
        if state.balance:
            parsed = parse_rat(state.balance)
            if parsed is None:
                raise RemoteSignerError(400, "invalid state")
            existing = parsed
        ev = params.ev()
        num_tickets = pm.tickets_for_fee(fee, ev, existing) if ev > 0 else 0
        if num_tickets == 0:
            raise RemoteSignerError(HTTP_NO_TICKETS, "no tickets")
        if num_tickets > MAX_TICKETS_PER_PAYMENT:
            raise RemoteSignerError(400, f"numTickets {num_tickets} exceeds maximum of {MAX_TICKETS_PER_PAYMENT}")

        # Legacy guard of genPayment (unreachable after the initial-price ceiling, kept for parity).
        if initial_price is not None and initial_price > 0 and orch_price > 2 * initial_price:
            raise RemoteSignerError(HTTP_PRICE_EXCEEDED, "Orchestrator price has more than doubled, "
                                    f"Orchestrator price: {format_rat(orch_price)}, "
                                    f"Orchestrator initial price: {format_rat(initial_price)}")
        # Validation for n tickets (now with maxTotalEV) and signing: errors here are 500 (§4.3 step 16).
        try:
            sender.start_session_with_nonce(params, first_nonce)
            batch = sender.create_ticket_batch(session_id, num_tickets)
        except (pm.errors.PMError, ValueError, TypeError) as exc:
            raise RemoteSignerError(500, str(exc)) from None
        payment = _payment_message(batch, seed, info.price_info)
        last_nonce = int(batch.nonce_array()[-1])
        seg_creds = self._seg_creds(manifest_id, caps, info)

        balance = existing + num_tickets * ev - fee
        state = state.replace(balance=format_rat(balance), last_update=now, pm_session_id=session_id,
                              sender_nonce=last_nonce)
        state = self._authorize(state, headers, orch_price, now)

        state_json = state.to_json()
        state_sig = self._signer.sign_message(state_json)
        return SignerResponse(200, _json_body({
            "payment": base64.b64encode(payment).decode("ascii"),
            "segCreds": base64.b64encode(seg_creds).decode("ascii"),
            "state": {"State": base64.b64encode(state_json).decode("ascii"),
                      "Sig": base64.b64encode(state_sig).decode("ascii")},
        }))

    # -- pieces -----------------------------------------------------------------------------------------------
    def _snapshot(self) -> ChainSnapshot:
        try:
            return self.chain.snapshot()
        except Exception as exc:
            raise RemoteSignerError(503, f"chain state unavailable: {exc}") from None

    def verify_state(self, state: bytes, sig: bytes) -> bool:
        """True iff ``sig`` is this signer's EIP-191 signature over the raw ``state`` bytes (go rules)."""
        if len(sig) != 65:
            return False
        try:
            signer = pm.recover_message(bytes(state), bytes(sig))
        except (ValueError, TypeError):
            return False
        return signer is not None and bytes(signer) == self.address

    def _verify_state(self, state: bytes, sig: bytes) -> PaymentState:
        if not self.verify_state(state, sig):
            raise RemoteSignerError(400, "invalid sig")
        try:
            return PaymentState.from_json(state)
        except (ValueError, TypeError, OverflowError):
            raise RemoteSignerError(400, "invalid state") from None

    def _billable_units(self, req: _Request, state: PaymentState, now: int, has_state: bool) -> int:
        elapsed = 0.0
        if has_state and state.last_update is not None:
            elapsed = (now - state.last_update) / 1e9
        job = req.type
        if job == "":
            units = req.in_pixels
        elif job == "lv2v":
            units = int(LV2V_PIXELS_PER_SECOND * (elapsed if elapsed > 0 else LV2V_OPENING_SECONDS))
        elif job == "live":
            units = math.ceil(elapsed) if elapsed > 0 else LIVE_OPENING_SECONDS
        elif job == "fixed":
            units = 1
        else:
            raise RemoteSignerError(400, "invalid job type")
        if units <= 0:
            raise RemoteSignerError(400, "missing billable unit or job type")
        return units

    def _parse_max_price(self, req: _Request) -> Fraction | None:
        if req.max_price is None:
            return None
        return parse_max_price(req.max_price, req.type)

    def _configured_ceiling(self, caps: Any) -> Fraction | None:
        cfg = self.config
        if caps is not None and cfg.max_price_per_capability:
            total = Fraction(0)
            for cap_id, constraints in caps.constraints.PerCapability.items():
                for model_id in constraints.models:
                    total += Fraction(cfg.max_price_per_capability.get((cap_id, model_id), 0))
            if total > 0:
                return total
        return Fraction(cfg.max_price) if cfg.max_price is not None else None

    def _check_price(self, orch_price: Fraction, caps: Any, request_ceiling: Fraction | None,
                     initial_price: Fraction | None) -> None:
        best: tuple[str, Fraction] | None = None
        for source, ceiling in (("configured maximum price", self._configured_ceiling(caps)),
                                ("request maxPrice", request_ceiling),
                                ("initial session price", initial_price)):
            if ceiling is not None and (best is None or ceiling < best[1]):
                best = (source, ceiling)
        if best is not None and orch_price > best[1]:
            raise RemoteSignerError(HTTP_PRICE_EXCEEDED, f"orchestrator price {float_string(orch_price, 3)} exceeds "
                                                         f"{best[0]} ceiling {float_string(best[1], 3)}")

    def _seg_creds(self, manifest_id: str, caps: Any, info: Any) -> bytes:
        """The signed ``net.SegData`` of an empty segment (§4.9)."""
        manifest = manifest_id.encode("utf-8")
        flat = manifest + b"\0" * 32 + EMPTY_HASH
        seg = proto.SegData(manifestId=manifest, hash=EMPTY_HASH, profiles=b"invalid",
                            sig=self._signer.sign(keccak256(flat)))
        if caps is not None:
            seg.capabilities.CopyFrom(normalize_capabilities(caps))
        if info.HasField("auth_token"):
            seg.auth_token.CopyFrom(info.auth_token)
        return seg.SerializeToString()

    def _authorize(self, state: PaymentState, headers: Mapping[str, Sequence[str]], orch_price: Fraction,
                   now: int) -> PaymentState:
        """The auth hook (step 19, when configured) and auth-id bookkeeping (step 20) of §4.10."""
        now_s = now // 1_000_000_000
        auth_id = ""
        if self.config.auth_hook is not None and not (state.auth_expiry != 0 and now_s <= state.auth_expiry):
            try:
                reply = self.config.auth_hook({_canonical_header(k): list(v) for k, v in headers.items()},
                                              state.to_object())
                status = reply["status"]
                if not isinstance(status, int) or isinstance(status, bool) or status <= 0:
                    raise ValueError("status")
            except Exception:
                raise RemoteSignerError(500, "signer auth webhook failed") from None
            if status != 200:
                reason = reply.get("reason") or f"signer auth rejected request with status {status}"
                raise RemoteSignerError(status, str(reason))
            state = state.replace(auth_expiry=int(reply.get("expiry") or 0))
            if reply.get("maxPrice") is not None:
                try:
                    mp = reply["maxPrice"]
                    ceiling = parse_max_price({"price": str(mp.get("price", "")), "currency": mp.get("currency", ""),
                                               "unit": mp.get("unit", "")}, state.type)
                except (RemoteSignerError, AttributeError) as exc:
                    raise RemoteSignerError(502, f"signer auth invalid maxPrice: {getattr(exc, 'message', exc)}") \
                        from None
                if orch_price > ceiling:
                    raise RemoteSignerError(HTTP_PRICE_EXCEEDED, f"orchestrator price {float_string(orch_price, 3)} "
                                                                 f"exceeds auth webhook maxPrice ceiling "
                                                                 f"{float_string(ceiling, 3)}")
            auth_id = str(reply.get("auth_id") or "")
        if not auth_id:
            auth_id = next((v[0] for k, v in headers.items() if k.lower() == "signer-auth-id" and v), "")
        if auth_id and auth_id != state.auth_id:
            if state.auth_id:
                raise RemoteSignerError(500, "remote signer auth ID changed")
            state = state.replace(auth_id=auth_id)
        return state


def _payment_message(batch: Any, seed: bytes, price_info: Any) -> bytes:
    """Serialize a ``pm.Payment`` as ``net.Payment`` (§4.8): minimal big-endian integers, no expiration
    params inside ``ticket_params``, the request's price info copied whole as ``expected_price``."""
    params = batch.ticket_params
    payment = proto.Payment()
    tp = payment.ticket_params
    tp.recipient = params.recipient
    tp.face_value = minimal_be(params.face_value)
    tp.win_prob = minimal_be(params.win_prob)
    tp.recipient_rand_hash = params.recipient_rand_hash
    tp.seed = seed
    tp.expiration_block = minimal_be(params.expiration_block)
    payment.sender = batch.sender
    payment.expiration_params.creation_round = batch.expiration_params.creation_round
    payment.expiration_params.creation_round_block_hash = batch.expiration_params.creation_round_block_hash
    sigs = np.ascontiguousarray(batch.sigs, dtype=np.uint8).tobytes()
    for i, nonce in enumerate(batch.nonce_array().tolist()):
        payment.ticket_sender_params.add(sender_nonce=nonce, sig=sigs[65 * i: 65 * i + 65])
    payment.expected_price.CopyFrom(price_info)
    return payment.SerializeToString()


def webhook(url: str, headers: Mapping[str, str] | None = None, timeout_s: float = 5.0
            ) -> Callable[[dict[str, list[str]], dict[str, Any]], Mapping[str, Any]]:
    """An ``auth_hook`` that POSTs to go-livepeer's auth webhook protocol (§4.10).

    Body ``{"headers": {name: [values]}, "state": {...}}`` with ``Content-Type: application/json`` and the
    configured ``headers``; a transport error, a non-200 answer or a non-object body raises (→ 500).
    """
    import urllib.request

    extra = dict(headers or {})

    def hook(request_headers: dict[str, list[str]], state: dict[str, Any]) -> Mapping[str, Any]:
        body = json.dumps({"headers": request_headers, "state": state}).encode()
        req = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **extra})
        with urllib.request.urlopen(req, timeout=timeout_s) as reply:  # noqa: S310 (operator-configured URL)
            if reply.status != 200:
                raise ValueError(f"auth webhook answered {reply.status}")
            data = json.loads(reply.read())
        if not isinstance(data, dict):
            raise ValueError("auth webhook reply is not an object")
        return data

    return hook


def parse_max_price(max_price: Mapping[str, str], job_type: str) -> Fraction:
    """Validate a ``maxPrice`` object for ``job_type`` (§4.6); raises ``RemoteSignerError(400)``."""
    price = parse_rat(max_price.get("price", ""))
    if price is None or price <= 0:
        raise RemoteSignerError(400, "maxPrice.price must be a positive decimal")
    if max_price.get("currency", "").strip().lower() != "wei":
        raise RemoteSignerError(400, "maxPrice.currency must be wei")
    unit = _MAX_PRICE_UNITS.get(job_type)
    if unit is None:
        raise RemoteSignerError(400, "maxPrice requires payment type live, lv2v, or fixed")
    if max_price.get("unit", "").strip().lower() != unit:
        raise RemoteSignerError(400, f"maxPrice.unit must be {unit} for payment type {job_type}")
    return price


def normalize_capabilities(caps: Any) -> Any:
    """The capabilities go-livepeer copies into segCreds (§4.9): capacities derived from the bitstring when
    empty, model constraints without ``capacityInUse``, ``constraints`` always present."""
    out = proto.Capabilities()
    out.bitstring.extend(caps.bitstring)
    out.mandatories.extend(caps.mandatories)
    out.version = caps.version
    if caps.capacities:
        for key, value in caps.capacities.items():
            out.capacities[key] = value
    else:
        for word_index, word in enumerate(caps.bitstring):
            for bit in range(64):
                if word >> bit & 1:
                    out.capacities[word_index * 64 + bit] = 1
    out.constraints.minVersion = caps.constraints.minVersion
    for cap_id, constraints in caps.constraints.PerCapability.items():
        target = out.constraints.PerCapability[cap_id]
        for model_id, model in constraints.models.items():
            m = target.models[model_id]
            m.warm = model.warm
            m.capacity = model.capacity
            m.runnerVersion = model.runnerVersion
    out.constraints.SetInParent()
    return out


__all__ = ["RemoteSigner", "SignerConfig", "webhook", "SignerResponse", "error_response", "parse_max_price",
           "normalize_capabilities", "HTTP_REFRESH_SESSION", "HTTP_PRICE_EXCEEDED", "HTTP_NO_TICKETS",
           "MAX_TICKETS_PER_PAYMENT"]
