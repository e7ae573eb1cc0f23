"""The one way lpcore reaches an optional dependency group ("extra").

A plain ``pip install lpcore`` brings only numpy, PyAV, coincurve and pycryptodome: enough for tickets, the
local broker, video signatures, ``lpcore demo`` and ``lpcore bench``. Everything else is an extra, declared in
``pyproject.toml`` and listed in :data:`EXTRAS`. A module that needs one calls :func:`require` before importing
it, so a missing extra is one clear line (:class:`lpcore.MissingExtra`, which is also an ``ImportError``)
instead of ``No module named 'google'`` from deep inside a traceback::

    from .._extras import require
    require("signer", "google.protobuf", feature="lpcore.signer")
    from google.protobuf import message_factory
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingExtra

__all__ = ["EXTRAS", "require"]

#: Extras (``pyproject.toml`` ``[project.optional-dependencies]``) and what each brings.
EXTRAS = {
    "gpu": "CuPy, for video signatures on a CUDA device",
    "signer": "Starlette, uvicorn, protobuf and web3, for the remote signer service and its chain view",
    "market": "grpcio and protobuf, for discovering orchestrators over gRPC",
    "chain": "web3, for the on-chain TicketBroker and chain views",
    "ray": "Ray, for distributed verification",
    "test": "the test suite's oracles and tools",
}


def require(extra: str, *modules: str, feature: str | None = None) -> list[ModuleType]:
    """Import ``modules`` (the extra's entry points this caller needs) and return them, or raise
    :class:`~lpcore.MissingExtra` naming ``extra`` when one is not installed.

    ``feature`` is the subject of the message (default ``lpcore.<extra>``). Only a failure to find one of the
    named modules (or its own dependencies) becomes ``MissingExtra``; any other error while importing an installed
    module propagates unchanged, since it is a broken install, not a missing one.
    """
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; known: {', '.join(EXTRAS)}")
    loaded = []
    for name in modules:
        try:
            loaded.append(importlib.import_module(name))
        except ModuleNotFoundError as err:
            raise MissingExtra(extra, feature or f"lpcore.{extra}", err.name or name) from err
    return loaded
