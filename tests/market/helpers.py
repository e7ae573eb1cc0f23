"""Fake orchestrators over gRPC and JSON HTTP endpoints on 127.0.0.1 for the discovery tests."""

from __future__ import annotations

import json
import threading
import time
from concurrent import futures
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
def grpc_orchestrator(respond):
    """A gRPC server on 127.0.0.1 serving ``net.Orchestrator/GetOrchestrator`` with ``respond(request,
    context) -> OrchestratorInfo``; yields its http:// URL. Stopped on exit."""
    import grpc

    from lpcore.signer import proto

    handler = grpc.method_handlers_generic_handler("net.Orchestrator", {
        "GetOrchestrator": grpc.unary_unary_rpc_method_handler(
            respond, request_deserializer=lambda b: proto.parse(proto.OrchestratorRequest, b),
            response_serializer=lambda m: m.SerializeToString())})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop(grace=None).wait(5)


@contextmanager
def json_server(routes):
    """HTTP server on 127.0.0.1: ``routes[path](query) -> (status, body bytes | JSON-able)``; yields base URL
    and the list of requests seen ``(path, query, headers)``."""
    from urllib.parse import urlsplit

    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            u = urlsplit(self.path)
            seen.append((u.path, u.query, dict(self.headers)))
            fn = routes.get(u.path)
            status, body = fn(u.query) if fn else (404, b"not found")
            if not isinstance(body, bytes):
                body = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        t.join(5)


def sleeper(delay: float, info):
    def respond(request, context):
        time.sleep(delay)
        return info
    return respond
