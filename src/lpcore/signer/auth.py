"""Who may make the remote signer sign: the auth webhook, the auth id, and the loopback rule
(spec/remote_signer.md §2.4, §4.10).

Anyone who can reach ``/generate-live-payment`` can spend the signer's TicketBroker deposit. go-livepeer leaves
spending control to an operator **auth webhook** (``-remoteSignerWebhookUrl``) or to an authenticating proxy in
front, and refuses a non-loopback listener with neither unless told otherwise (#3959). lpcore applies that rule
twice: :func:`check_listener` when ``lpcore.signer.serve`` starts, and per request in the ASGI app
(:func:`request_allowed`), so serving ``create_app(signer)`` by hand on a public address is refused as well.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import urllib.error
import urllib.request
from fractions import Fraction
from typing import Any, Callable, Mapping, Sequence

from ..errors import LpcoreError, RemoteSignerError
from .pricing import exceeded, parse_max_price
from .state import PaymentState

#: An auth hook: ``hook(headers, state_object)`` returns the webhook's reply mapping
#: ``{"status", "reason"?, "expiry"?, "auth_id"?, "maxPrice"?}``.
AuthHook = Callable[[dict[str, list[str]], dict[str, Any]], Mapping[str, Any]]

#: Largest webhook reply read (the reply is a handful of fields).
MAX_WEBHOOK_REPLY_BYTES = 1 << 20
NO_AUTH_REFUSAL = ("without an auth webhook anyone who can reach the signer can spend its deposit: configure "
                   "--auth-webhook-url, or pass --allow-no-auth when an authenticating proxy is in front")
_INT64 = (-(1 << 63), (1 << 63) - 1)


class AuthWebhookUnreachable(LpcoreError, OSError):
    """The auth webhook could not be reached (connection refused, DNS failure, timeout): answered 502."""


class AuthWebhookFailed(LpcoreError, ValueError):
    """The auth webhook answered, but not with a usable reply (a non-200 status, too large, not a JSON object,
    a malformed ``status``/``expiry``): answered 500, as go-livepeer does."""


class SignerSetupError(LpcoreError, ValueError):
    """The signer cannot be served as configured (e.g. a public listener without auth)."""


def canonical_header(name: str) -> str:
    """Go's ``http.CanonicalHeaderKey`` (``x-tenant`` -> ``X-Tenant``), as go-livepeer forwards header names."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (the only listeners allowed without auth, #3959)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def needs_loopback(config: Any) -> bool:
    """True when ``config`` has no auth webhook and was not told ``allow_no_auth``."""
    return config.auth_hook is None and not config.allow_no_auth


def check_listener(signer: Any, host: str) -> None:
    """Refuse to listen on a non-loopback ``host`` without auth (raises :class:`SignerSetupError`)."""
    if needs_loopback(signer.config) and not is_loopback(host):
        raise SignerSetupError(f"refusing to listen on non-loopback host {host!r}: {NO_AUTH_REFUSAL}")


def request_allowed(config: Any, server: tuple[str, int | None] | None) -> bool:
    """Whether a request that arrived on local address ``server`` (the ASGI ``scope["server"]``) may be served:
    always with auth; without, only on loopback addresses or a Unix socket (no port)."""
    if not needs_loopback(config):
        return True
    if server is None:
        return False
    host, port = server
    return port is None or is_loopback(host)


def webhook(url: str, headers: Mapping[str, str] | None = None, timeout_s: float = 5.0) -> AuthHook:
    """An auth hook that POSTs to go-livepeer's auth webhook protocol (§4.10).

    Body ``{"headers": {name: [values]}, "state": {...}}`` with ``Content-Type: application/json`` and the
    configured ``headers``. A webhook that cannot be reached raises :class:`AuthWebhookUnreachable` (→ 502); a
    non-200 answer or a reply that is not a JSON object raises :class:`AuthWebhookFailed` (→ 500, as go-livepeer).
    """
    extra = dict(headers or {})

    def hook(request_headers: dict[str, list[str]], state: dict[str, Any]) -> Mapping[str, Any]:
        body = json.dumps({"headers": request_headers, "state": state}).encode()
        req = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **extra})
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as reply:  # noqa: S310 (operator-configured URL)
                status = reply.status
                data = reply.read(MAX_WEBHOOK_REPLY_BYTES + 1)
        except urllib.error.HTTPError as exc:  # the webhook answered, with a status other than 2xx
            raise AuthWebhookFailed(f"auth webhook answered {exc.code}") from None
        except urllib.error.URLError as exc:
            raise AuthWebhookUnreachable(_reason(exc.reason)) from None
        except (TimeoutError, socket.timeout, OSError) as exc:
            raise AuthWebhookUnreachable(_reason(exc)) from None
        if status != 200:
            raise AuthWebhookFailed(f"auth webhook answered {status}")
        if len(data) > MAX_WEBHOOK_REPLY_BYTES:
            raise AuthWebhookFailed("auth webhook reply too large")
        try:
            value = json.loads(data)
        except ValueError:  # also UnicodeDecodeError
            raise AuthWebhookFailed("auth webhook reply is not JSON") from None
        if not isinstance(value, dict):
            raise AuthWebhookFailed("auth webhook reply is not an object")
        return value

    return hook


def _reason(exc: Any) -> str:
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validated_reply(reply: Any) -> tuple[int, str, int, str, Any]:
    """(status, reason, expiry, auth_id, maxPrice) of a webhook reply; :class:`AuthWebhookFailed` when malformed."""
    status = reply["status"]
    if not _is_int(status) or not 200 <= status <= 599:  # ≤ 0 is go-livepeer's rule; 1xx or ≥ 600 cannot be sent
        raise AuthWebhookFailed("status")
    expiry = reply.get("expiry") or 0
    if not _is_int(expiry) or not _INT64[0] <= expiry <= _INT64[1]:
        raise AuthWebhookFailed("expiry")
    return status, str(reply.get("reason") or ""), expiry, str(reply.get("auth_id") or ""), reply.get("maxPrice")


def authorize(hook: AuthHook | None, state: PaymentState, headers: Mapping[str, Sequence[str]],
              orch_price: Fraction, now_ns: int) -> PaymentState:
    """Steps 19–20 (§4.10): the auth webhook, unless one is cached in the state, then auth-id bookkeeping.

    Returns the state with ``AuthExpiry``/``AuthID`` updated; raises ``RemoteSignerError`` with the webhook's
    status, 481 (webhook ``maxPrice``), 502 (webhook unreachable, or a malformed ``maxPrice``) or 500.
    """
    now_s = now_ns // 1_000_000_000
    auth_id = ""
    if hook is not None and not (state.auth_expiry != 0 and now_s <= state.auth_expiry):
        try:
            reply = hook({canonical_header(k): list(v) for k, v in headers.items()}, state.to_object())
            status, reason, expiry, auth_id, max_price = _validated_reply(reply)
        except AuthWebhookUnreachable as exc:
            raise RemoteSignerError(502, f"signer auth webhook unreachable: {exc}") from None
        except Exception:
            raise RemoteSignerError(500, "signer auth webhook failed") from None
        if status != 200:
            raise RemoteSignerError(status, reason or f"signer auth rejected request with status {status}")
        state = state.replace(auth_expiry=expiry)
        if max_price is not None:
            try:
                ceiling = parse_max_price({"price": str(max_price.get("price", "")),
                                           "currency": max_price.get("currency", ""),
                                           "unit": max_price.get("unit", "")}, state.type)
            except (RemoteSignerError, AttributeError) as exc:
                raise RemoteSignerError(502, f"signer auth invalid maxPrice: {getattr(exc, 'message', exc)}") \
                    from None
            if orch_price > ceiling:
                raise exceeded(orch_price, "auth webhook maxPrice", ceiling)
    if not auth_id:
        auth_id = next((v[0] for k, v in headers.items() if k.lower() == "signer-auth-id" and v), "")
    if auth_id and auth_id != state.auth_id:
        if state.auth_id:
            raise RemoteSignerError(500, "remote signer auth ID changed")
        state = state.replace(auth_id=auth_id)
    return state


__all__ = ["AuthWebhookFailed", "AuthHook", "AuthWebhookUnreachable", "SignerSetupError", "webhook", "authorize",
           "canonical_header", "is_loopback", "check_listener", "request_allowed", "needs_loopback",
           "MAX_WEBHOOK_REPLY_BYTES"]
