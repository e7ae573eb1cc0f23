"""The one way tests run a local server: HTTP (fake JSON-RPC nodes, webhooks, discovery endpoints) and gRPC
(fake orchestrators), always on 127.0.0.1, in daemon threads, stopped by the caller or on context exit.

- :func:`start_http_server` / :func:`http_server`: ``respond(method, path, headers, body) -> (status, body,
  headers)`` answers every GET and POST; the server has ``.url``; :func:`stop_http_server` stops it.
- :func:`grpc_orchestrator`: ``net.Orchestrator/GetOrchestrator`` answered by ``respond(request, context)``.
"""

from __future__ import annotations

import threading
from concurrent import futures
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator

Respond = Callable[[str, str, dict, bytes], "tuple[int, bytes, dict[str, str]]"]


def start_http_server(respond: Respond, port: int = 0, *, name: str = "test-http") -> ThreadingHTTPServer:
    """Serve ``respond`` on 127.0.0.1 (``port`` 0 = any free port) from a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, data, headers = respond(self.command, self.path, dict(self.headers.items()), body)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    server.thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)  # type: ignore[attr-defined]
    server.thread.start()  # type: ignore[attr-defined]
    return server


def stop_http_server(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()
    server.thread.join(timeout=5)  # type: ignore[attr-defined]


@contextmanager
def http_server(respond: Respond, port: int = 0) -> Iterator[ThreadingHTTPServer]:
    server = start_http_server(respond, port)
    try:
        yield server
    finally:
        stop_http_server(server)


@contextmanager
def grpc_orchestrator(respond, *, credentials=None, request_type=None) -> Iterator[str]:
    """A gRPC server on 127.0.0.1 serving ``net.Orchestrator/GetOrchestrator`` with ``respond(request,
    context) -> OrchestratorInfo`` (any protobuf message: lpcore's or the SDK's); yields its URL (https:// with
    ``credentials``, a ``grpc.ServerCredentials``). Requests parse as ``request_type`` (default lpcore's
    ``OrchestratorRequest``). Stopped on exit."""
    import grpc

    if request_type is None:
        from lpcore.signer import proto

        def parse(b: bytes):
            return proto.parse(proto.OrchestratorRequest, b)
    else:
        parse = request_type.FromString
    handler = grpc.method_handlers_generic_handler("net.Orchestrator", {
        "GetOrchestrator": grpc.unary_unary_rpc_method_handler(
            respond, request_deserializer=parse, response_serializer=lambda m: m.SerializeToString())})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    if credentials is None:
        port, scheme = server.add_insecure_port("127.0.0.1:0"), "http"
    else:
        port, scheme = server.add_secure_port("127.0.0.1:0", credentials), "https"
    server.start()
    try:
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        server.stop(grace=None).wait(5)
