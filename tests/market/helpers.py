"""Fake orchestrator answers and JSON HTTP endpoints on 127.0.0.1 for the discovery tests (the servers
themselves are tests/_servers.py's)."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager

from tests._servers import http_server


def orch_info(address: bytes, *, transcoder: str = "https://o.example:8935", caps_version: str | None = "0.8.1",
              bitstring=(0b111,), price=(1200, 1)):
    from lpcore.signer import proto

    info = proto.OrchestratorInfo(transcoder=transcoder, address=address)
    info.price_info.pricePerUnit, info.price_info.pixelsPerUnit = price
    if caps_version is not None:
        info.capabilities.version = caps_version
        info.capabilities.bitstring.extend(bitstring)
    return info


@contextmanager
def json_server(routes):
    """HTTP server on 127.0.0.1: ``routes[path](query) -> (status, body bytes | JSON-able)``; yields base URL
    and the list of requests seen ``(path, query, headers)``."""
    from urllib.parse import urlsplit

    seen = []

    def respond(method, path, headers, body):
        u = urlsplit(path)
        seen.append((u.path, u.query, headers))
        fn = routes.get(u.path)
        status, out = fn(u.query) if fn else (404, b"not found")
        return status, out if isinstance(out, bytes) else json.dumps(out).encode(), {}

    with http_server(respond) as server:
        yield server.url, seen


def sleeper(delay: float, info):
    def respond(request, context):
        time.sleep(delay)
        return info
    return respond
