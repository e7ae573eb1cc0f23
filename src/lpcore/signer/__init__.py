"""Remote signer: an HTTP service wire-compatible with go-livepeer's ``-remoteSigner`` mode.

A gateway with no Ethereum key (e.g. the official ``livepeer-gateway`` SDK) asks it to sign orchestrator-info
requests and to produce signed PM ticket batches plus segment credentials for live jobs
(spec/remote_signer.md). The service is stateless: session state round-trips through the caller as a signed
blob. Typical use::

    from lpcore.signer import RemoteSigner, SignerConfig, StaticChainState, ChainSnapshot, serve
    signer = RemoteSigner(private_key, StaticChainState(ChainSnapshot(...)), SignerConfig())
    serve(signer, "127.0.0.1", 8935)            # or create_app(signer) under any ASGI server

or ``lpcore signer serve --key keystore.json --port 8935``.
"""

from __future__ import annotations

from ..broker.rpc import (
    BrokerChainState,
    ChainSnapshot,
    ChainStateSource,
    ChainStateUnavailable,
    JsonRpcChainState,
    StaticChainState,
)
from .keys import KeyLoadError, decrypt_keystore, key_from_env, load_keystore
from .service import (
    HTTP_NO_TICKETS,
    HTTP_PRICE_EXCEEDED,
    HTTP_REFRESH_SESSION,
    RemoteSigner,
    SignerConfig,
    SignerResponse,
    webhook,
)
from .state import PaymentState


def create_app(signer: RemoteSigner):
    """The ASGI application for ``signer`` (needs the ``signer`` extra: Starlette)."""
    from .app import create_app as _create_app

    return _create_app(signer)


def serve(signer: RemoteSigner, host: str = "127.0.0.1", port: int = 8935, **kwargs) -> None:
    """Serve ``signer`` with uvicorn (needs the ``signer`` extra); see :func:`lpcore.signer.app.serve`."""
    from .app import serve as _serve

    _serve(signer, host, port, **kwargs)


__all__ = [
    "RemoteSigner", "SignerConfig", "SignerResponse", "PaymentState", "ChainSnapshot", "ChainStateSource",
    "ChainStateUnavailable", "StaticChainState", "BrokerChainState", "JsonRpcChainState", "create_app", "serve",
    "decrypt_keystore", "load_keystore", "key_from_env", "KeyLoadError", "HTTP_REFRESH_SESSION",
    "HTTP_PRICE_EXCEEDED", "HTTP_NO_TICKETS", "webhook",
]
