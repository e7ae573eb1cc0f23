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

from .._extras import require

# The wire is protobuf: without the `signer` extra, importing this package is one clear MissingExtra (an
# ImportError) naming it, not "No module named 'google'" from proto.py. The HTTP side (Starlette, uvicorn, same
# extra) is checked where it loads, in app.py, so that building requests and payments does not import a server.
require("signer", "google.protobuf", feature="lpcore.signer")

from ..broker.rpc import (  # noqa: E402
    BrokerChainState,
    ChainSnapshot,
    ChainStateSource,
    ChainStateUnavailable,
    JsonRpcChainState,
    StaticChainState,
)
from .auth import AuthWebhookUnreachable, SignerSetupError, webhook  # noqa: E402
from .keys import KeyLoadError, decrypt_keystore, key_from_env, load_keystore  # noqa: E402
from .service import (  # noqa: E402
    HTTP_NO_TICKETS,
    HTTP_PRICE_EXCEEDED,
    HTTP_REFRESH_SESSION,
    RemoteSigner,
    SignerConfig,
    SignerResponse,
)
from .state import PaymentState  # noqa: E402


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
    "HTTP_PRICE_EXCEEDED", "HTTP_NO_TICKETS", "webhook", "AuthWebhookUnreachable", "SignerSetupError",
]
