"""The remote signer as an ASGI application (Starlette), and a helper to serve it with uvicorn.

Routes (spec/remote_signer.md §2–§5): ``POST /sign-orchestrator-info``, ``POST /generate-live-payment``,
``GET /discover-orchestrators`` (only when a discovery list is configured) and ``GET /healthz``. Unknown
paths answer Go's ``404 page not found``, wrong methods ``405`` with ``Allow``. Request bodies above
``SignerConfig.max_body_bytes`` get 413 with a JSON error before they are read in full. Handlers never
leak a traceback: anything unexpected is logged (without the body) and answered with the masked 500.

Without an auth hook (and without ``SignerConfig.allow_no_auth``) the signing routes answer only requests that
arrived on a loopback address (403 otherwise), however the app is served: see ``lpcore.signer.auth``.
"""

from __future__ import annotations

import logging
from typing import Any

from .._extras import require

require("signer", "starlette", "uvicorn", feature="lpcore.signer")

from starlette.applications import Starlette  # noqa: E402
from starlette.concurrency import run_in_threadpool  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

from .auth import NO_AUTH_REFUSAL, check_listener, is_loopback, request_allowed  # noqa: E402
from .service import RemoteSigner, SignerResponse, error_response  # noqa: E402

_LOG = logging.getLogger("lpcore.signer")


class BodyTooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _to_response(result: SignerResponse) -> Response:
    headers = dict(result.headers)
    return Response(result.body, status_code=result.status, headers=headers, media_type="application/json")


def create_app(signer: RemoteSigner) -> Starlette:
    """An ASGI app serving ``signer``."""
    limit = signer.config.max_body_bytes
    refused = error_response(403, "this signer answers only on loopback addresses: " + NO_AUTH_REFUSAL)

    def allowed(request: Request) -> bool:
        return request_allowed(signer.config, request.scope.get("server"))

    async def sign_orchestrator_info(request: Request) -> Response:
        if not allowed(request):
            return _to_response(refused)
        # The body is not read by go-livepeer; drain it within the limit so the connection stays usable.
        try:
            await _read_body(request, limit)
        except BodyTooLarge:
            return _to_response(error_response(413, "request body too large"))
        return _to_response(signer.sign_orchestrator_info())

    async def generate_live_payment(request: Request) -> Response:
        if not allowed(request):
            return _to_response(refused)
        try:
            body = await _read_body(request, limit)
        except BodyTooLarge:
            return _to_response(error_response(413, "request body too large"))
        headers: dict[str, list[str]] = {}
        for key, value in request.headers.items():
            headers.setdefault(key, []).append(value)
        try:
            # Signing runs in C with the GIL released; a worker thread keeps the event loop responsive.
            result = await run_in_threadpool(signer.generate_live_payment, body, headers)
        except Exception:  # pragma: no cover - defensive: the service answers every input itself
            _LOG.exception("generate-live-payment failed")
            result = error_response(500, "")
        return _to_response(result)

    async def discover_orchestrators(request: Request) -> Response:
        if not allowed(request):
            return _to_response(refused)
        return _to_response(signer.discover_orchestrators(request.query_params.getlist("caps")))

    async def healthz(request: Request) -> Response:
        return Response(b"OK", media_type="text/plain; charset=utf-8")

    routes = [
        Route("/sign-orchestrator-info", sign_orchestrator_info, methods=["POST"]),
        Route("/generate-live-payment", generate_live_payment, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    if signer.config.discovery is not None:
        routes.append(Route("/discover-orchestrators", discover_orchestrators, methods=["GET"]))

    async def not_found(request: Request, exc: Any) -> Response:
        return Response(b"404 page not found\n", status_code=404, media_type="text/plain; charset=utf-8")

    async def method_not_allowed(request: Request, exc: Any) -> Response:
        return Response(b"Method Not Allowed\n", status_code=405, media_type="text/plain; charset=utf-8",
                        headers=getattr(exc, "headers", None) or {})

    async def server_error(request: Request, exc: Exception) -> Response:
        _LOG.error("unhandled error in %s: %s", request.url.path, type(exc).__name__)
        return _to_response(error_response(500, ""))

    return Starlette(routes=routes, exception_handlers={404: not_found, 405: method_not_allowed,
                                                         500: server_error, Exception: server_error})


def serve(signer: RemoteSigner, host: str = "127.0.0.1", port: int = 8935, *, log_level: str = "info") -> None:
    """Serve ``signer`` with uvicorn until interrupted.

    Like go-livepeer (#3959), a non-loopback ``host`` is refused (:class:`~lpcore.signer.auth.SignerSetupError`)
    unless an auth hook is configured or ``SignerConfig.allow_no_auth`` is set (``--allow-no-auth``): anyone who
    can reach the signer can spend its deposit.
    """
    check_listener(signer, host)
    import uvicorn

    uvicorn.run(create_app(signer), host=host, port=port, log_level=log_level, access_log=False)


__all__ = ["create_app", "serve", "is_loopback"]
