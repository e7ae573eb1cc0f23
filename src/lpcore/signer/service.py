"""The remote signer's request handling, independent of any HTTP framework.

:class:`RemoteSigner` turns a request body into ``(status, body, headers)`` as go-livepeer's ``-remoteSigner``
mode does (spec/remote_signer.md §3–§5): the same JSON decoding rules, status codes and error strings, the same
protobuf encodings, signatures and billing. ``_generate_live_payment`` reads as the spec's processing steps
(§4.3) over small modules: ``request`` (decoding, ManifestID), ``wire`` (protobuf in and out), ``billing``
(units, fee, tickets), ``auth`` (webhook, auth id) and ``pricing`` (ceilings).

One deliberate difference from go-livepeer's order: the caller's ``maxPrice`` is parsed, the price ceilings
(481) and the 100-ticket cap checked, and every signature made only **after** authorisation (steps 13, 13b,
15's cap and 16–17 run after 19–20), so a caller the auth webhook refuses can neither reach the price parser
nor make the signer sign. The webhook still receives the complete new state, which follows from the ticket
count alone; a 482 (nothing to pay) is still answered before the webhook is asked, as in go-livepeer.
``lpcore.signer.app`` wraps this in an ASGI application; the benchmark calls it directly.
"""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Mapping, Sequence

from .. import _args, keccak256, pm
from ..broker.base import SenderInfo, StaticChainView
from ..errors import RemoteSignerError
from . import auth, billing, gojson, pricing, request, wire
from .auth import AuthHook
from .billing import HTTP_NO_TICKETS, MAX_TICKETS_PER_PAYMENT
from ..broker.rpc import ChainSnapshot, ChainStateSource
from .pricing import HTTP_PRICE_EXCEEDED
from .state import PaymentState

_LOG = logging.getLogger("lpcore.signer")

#: Refresh the session when the orchestrator's auth token expires within this many seconds (10 % of 30 min).
AUTH_TOKEN_REFRESH_MARGIN_S = 180
HTTP_REFRESH_SESSION = 480
HTTP_BODY_TOO_LARGE = 413
#: Default largest request body: a request is an OrchestratorInfo, a state and a few fields (a few KiB).
DEFAULT_MAX_BODY_BYTES = 1 << 20

_REFRESH_MESSAGE = "refresh session for remote signer"
_VALIDATION_PREFIX = "remote signer could not check whether to refresh session: "


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
    #: Optional auth hook (the webhook of spec §4.10 as a callable, e.g. :func:`lpcore.signer.webhook`).
    auth_hook: AuthHook | None = None
    #: Serve non-loopback callers without an auth hook (``--allow-no-auth``): only behind an authenticating proxy.
    allow_no_auth: bool = False
    #: Largest request body accepted (go-livepeer has none; an unbounded body is a memory hazard): 413 above.
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    #: Threads per ``sign_batch`` call (None = all cores, else >= 1). Measured on 2 idle cores: a 100-ticket
    #: request takes 2.5 ms with all cores vs 4.0 ms with one, and under 4 concurrent connections throughput is
    #: the same either way (lpcore's OpenMP workers wait passively, so they don't spin against other requests).
    threads: int | None = None

    def __post_init__(self) -> None:
        self.max_ticket_ev = Fraction(self.max_ticket_ev)
        self.max_total_ev = Fraction(self.max_total_ev)
        if self.max_ticket_ev < 0 or self.max_total_ev < 0:
            raise auth.SignerSetupError("max_ticket_ev and max_total_ev must be >= 0")
        if self.deposit_multiplier <= 0:
            raise auth.SignerSetupError("deposit_multiplier must be > 0")
        if self.max_price is not None and Fraction(self.max_price) <= 0:
            raise auth.SignerSetupError("max_price must be > 0 (or None for no limit)")
        if self.max_body_bytes <= 0:
            raise auth.SignerSetupError("max_body_bytes must be > 0")
        _args.threads(self.threads)  # the project's one rule: None = all cores, an int >= 1 otherwise


@dataclass(frozen=True)
class SignerResponse:
    """An HTTP answer: status, exact body bytes and extra headers (Content-Type is JSON unless given)."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


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
            if len(body) > self.config.max_body_bytes:
                raise RemoteSignerError(HTTP_BODY_TOO_LARGE, "request body too large")
            return self._generate_live_payment(body, headers or {})
        except RemoteSignerError as exc:
            return error_response(exc.status, exc.message, exc.headers)
        except Exception as exc:  # a bug must not leak a traceback to the caller; the body is never logged
            _LOG.error("generate-live-payment: unexpected %s: %s", type(exc).__name__, exc)
            return error_response(500, "")

    def _generate_live_payment(self, body: bytes, headers: Mapping[str, Sequence[str]]) -> SignerResponse:
        # The steps of spec/remote_signer.md §4.3; the first failing step decides the answer.
        req = request.parse_request(body)                                         # 1
        info = wire.parse_orchestrator_info(req.orchestrator)                     # 2-5
        orch_addr = wire.bytes_to_address(info.address)                           # 6
        now = self._clock()
        state = self._session_state(req, info, orch_addr)                         # 7, 7'
        manifest_id = request.manifest_id(req)                                    # 8
        caps = wire.parse_capabilities(req.capabilities)                          # 9
        session_id = wire.pm_session_id(info)                                     # 10
        first_nonce = state.sender_nonce if state.pm_session_id == session_id else 0
        sender, params, seed = self._check_refresh(info, now)                     # 11
        units = billing.billable_units(req.type, req.in_pixels, state, now, req.has_state)   # 12
        initial_price = billing.initial_price(state, req.has_state)               # 13a
        bill = billing.charge(units, initial_price, params.ev(), state)           # 14-15 (482)
        state = billing.settle(state, bill, now, session_id, first_nonce)         # 18
        orch_price = wire.orchestrator_price(info)
        state = auth.authorize(self.config.auth_hook, state, headers, orch_price, now)  # 19-20
        session_price = initial_price if req.has_state else None                  # 13, 13b: after auth
        self._check_price(req, orch_price, caps, session_price)
        billing.check_ticket_cap(bill)                                            # 15: the 100-ticket cap
        payment = self._sign_payment(sender, params, seed, first_nonce, bill.num_tickets, info)  # 16
        seg_creds = self._seg_creds(manifest_id, caps, info)                      # 17
        return self._respond(payment, seg_creds, state)                           # 21

    # -- the steps -----------------------------------------------------------------------------------------
    def _session_state(self, req: request.PaymentRequest, info: Any, orch_addr: bytes) -> PaymentState:
        """Step 7: the caller's verified state, advanced for this call; 7': a new one on a first call."""
        if not req.has_state:
            price = info.price_info
            return PaymentState(state_id=PaymentState.new_state_id(), orchestrator_address=orch_addr, app=req.app,
                                type=req.type, initial_price_per_unit=price.pricePerUnit,
                                initial_pixels_per_unit=price.pixelsPerUnit)
        state = self._verify_state(req.state, req.sig)
        if state.orchestrator_address != orch_addr:
            raise RemoteSignerError(400, "orchestratorAddress mismatch")
        if state.app != req.app:
            raise RemoteSignerError(400, "app mismatch")
        if state.type not in ("", req.type):
            raise RemoteSignerError(400, "job type mismatch")
        return state.replace(type=req.type, sequence_number=(state.sequence_number + 1) % (1 << 64))

    def _check_refresh(self, info: Any, now: int) -> tuple[pm.Sender, pm.TicketParams, bytes]:
        """Step 11: 480 when the auth token or the ticket params expire; then sender validation for one
        ticket (400). Returns the request's ``pm.Sender`` (one per request over one chain snapshot: no session
        outlives the request, §4.11) and the ticket params."""
        if not info.HasField("auth_token"):
            raise RemoteSignerError(400, _VALIDATION_PREFIX + "missing auth token")
        if now > (info.auth_token.expiration - AUTH_TOKEN_REFRESH_MARGIN_S) * 1_000_000_000:
            raise RemoteSignerError(HTTP_REFRESH_SESSION, _REFRESH_MESSAGE, wire.refresh_headers(info.transcoder))
        view = _chain_view(self._snapshot(), self.address)
        sender = pm.Sender(_BatchSigner(self._signer, self.config.threads), view, view,
                           max_ev=self.config.max_ticket_ev, max_total_ev=self.config.max_total_ev,
                           deposit_multiplier=self.config.deposit_multiplier)
        try:
            params, seed = wire.ticket_params(info)
            sender.validate_ticket_params(params)
        except pm.errors.TicketParamsExpired:
            raise RemoteSignerError(HTTP_REFRESH_SESSION, _REFRESH_MESSAGE,
                                    wire.refresh_headers(info.transcoder)) from None
        except (pm.errors.PMError, ValueError, TypeError) as exc:
            raise RemoteSignerError(400, _VALIDATION_PREFIX + str(exc)) from None
        return sender, params, seed

    def _check_price(self, req: request.PaymentRequest, orch_price: Fraction, caps: Any,
                     session_price: Fraction | None) -> None:
        """Steps 13/13b (and 16's legacy guard): the caller's ``maxPrice`` (400 when malformed) and 481 above
        the smallest ceiling."""
        requested = None if req.max_price is None else pricing.parse_max_price(req.max_price, req.type)
        configured = pricing.configured_ceiling(self.config.max_price, self.config.max_price_per_capability, caps)
        pricing.check_ceilings(orch_price, configured, requested, session_price)
        pricing.check_not_doubled(orch_price, session_price)

    def _sign_payment(self, sender: pm.Sender, params: pm.TicketParams, seed: bytes, first_nonce: int,
                      num_tickets: int, info: Any) -> bytes:
        """Step 16: validation for ``num_tickets`` (now with maxTotalEV) and signing; errors here are 500."""
        try:
            sender.start_session_with_nonce(params, first_nonce)
            batch = sender.create_ticket_batch(wire.pm_session_id(info), num_tickets)
        except (pm.errors.PMError, ValueError, TypeError) as exc:
            raise RemoteSignerError(500, str(exc)) from None
        return wire.payment_message(batch, seed, info.price_info)

    def _seg_creds(self, manifest_id: str, caps: Any, info: Any) -> bytes:
        """Step 17: the signed ``net.SegData`` of an empty segment (§4.9)."""
        return wire.seg_creds(manifest_id, caps, info, self._signer.sign)

    def _respond(self, payment: bytes, seg_creds: bytes, state: PaymentState) -> SignerResponse:
        """Step 21: sign the state (EIP-191 over its raw bytes) and answer 200."""
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


__all__ = ["RemoteSigner", "SignerConfig", "SignerResponse", "error_response", "HTTP_REFRESH_SESSION",
           "HTTP_PRICE_EXCEEDED", "HTTP_NO_TICKETS",
           "HTTP_BODY_TOO_LARGE", "MAX_TICKETS_PER_PAYMENT", "DEFAULT_MAX_BODY_BYTES"]
