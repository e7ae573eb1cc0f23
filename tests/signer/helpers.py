"""Shared helpers for the remote-signer tests: keys, chain view, orchestrator info, a server on 127.0.0.1."""

from __future__ import annotations

import base64
import socket
import json
import threading
import time
from dataclasses import dataclass

import numpy as np

from lpcore import keccak256, pm
from lpcore.signer import ChainSnapshot, PaymentState, RemoteSigner, SignerConfig, StaticChainState, proto
from tests._servers import start_http_server, stop_http_server

# Hardhat test accounts #0 (the signer, spec §7.2) and #1 (the orchestrator/recipient): public test keys.
SIGNER_KEY = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
SIGNER_ADDRESS = bytes.fromhex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266")
ORCH_ADDRESS = bytes.fromhex("70997970c51812dc3a010c7d01b50e0d17dc79c8")
MAX_WIN_PROB = 2**256 - 1
NOW_NS = 1_775_574_245 * 1_000_000_000 - 1_000 * 1_000_000_000  # well before the vector's token expiry
ROUND_HASH = keccak256(b"round 50")


class Clock:
    """A settable Unix-nanosecond clock for the signer (billing and token expiry depend on time)."""

    def __init__(self, now_ns: int = NOW_NS):
        self.now_ns = now_ns

    def __call__(self) -> int:
        return self.now_ns

    def advance(self, seconds: float) -> None:
        self.now_ns += int(seconds * 1_000_000_000)


def chain_state(**changes) -> StaticChainState:
    snap = ChainSnapshot(last_seen_l1_block=1000, last_initialized_round=50, last_initialized_block_hash=ROUND_HASH,
                         deposit=10**18, withdraw_round=0, reserve_funds_remaining=10**18)
    state = StaticChainState(snap)
    if changes:
        state.update(**changes)
    return state


def make_signer(config: SignerConfig | None = None, clock: Clock | None = None, **chain_changes) -> RemoteSigner:
    return RemoteSigner(SIGNER_KEY, chain_state(**chain_changes), config or SignerConfig(), clock=clock or Clock())


def minimal(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def orch_info(cls=None, *, price=(3, 1), face_value=175, win_prob=MAX_WIN_PROB // 5, rand=b"rand",
              expiration_block=1040, auth_expiration=NOW_NS // 1_000_000_000 + 1800, creation_round=None,
              transcoder="https://127.0.0.1:9/", auth=True, address=ORCH_ADDRESS):
    """An ``OrchestratorInfo`` (lpcore's class or ``cls``, e.g. the SDK's) with EV = face_value*win_prob/MAX."""
    cls = cls or proto.OrchestratorInfo
    info = cls()
    info.transcoder = transcoder
    info.address = address
    if price is not None:
        info.price_info.pricePerUnit, info.price_info.pixelsPerUnit = price
    tp = info.ticket_params
    tp.recipient = ORCH_ADDRESS
    tp.face_value = minimal(face_value)
    tp.win_prob = minimal(win_prob)
    tp.recipient_rand_hash = keccak256(rand)
    tp.seed = keccak256(b"seed" + rand)
    tp.expiration_block = minimal(expiration_block)
    if creation_round is not None:
        tp.expiration_params.creation_round = creation_round[0]
        tp.expiration_params.creation_round_block_hash = creation_round[1]
    if auth:
        info.auth_token.token = b"tok"
        info.auth_token.session_id = "sess-1"
        info.auth_token.expiration = auth_expiration
    return info


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass
class CheckedPayment:
    payment: object
    nonces: list[int]
    seg: object


def check_payment(payment_b64: str, seg_b64: str | None, *, manifest_id: str | None = None,
                  signer_address: bytes = SIGNER_ADDRESS) -> CheckedPayment:
    """Decode a payment and segCreds and verify every signature with lpcore's batch recovery."""
    payment = proto.Payment.FromString(base64.b64decode(payment_b64, validate=True))
    assert payment.sender == signer_address
    tp, exp = payment.ticket_params, payment.expiration_params
    nonces = [t.sender_nonce for t in payment.ticket_sender_params]
    assert nonces, "payment without tickets"
    hashes = pm.ticket_hashes_columns(tp.recipient, payment.sender, int.from_bytes(tp.face_value, "big"),
                                      int.from_bytes(tp.win_prob, "big"), np.array(nonces, dtype=np.uint64),
                                      tp.recipient_rand_hash, exp.creation_round, exp.creation_round_block_hash)
    sigs = np.frombuffer(b"".join(t.sig for t in payment.ticket_sender_params), dtype=np.uint8).reshape(-1, 65)
    recovered = pm.recover_batch(hashes, sigs)
    assert (recovered == np.frombuffer(signer_address, dtype=np.uint8)).all(), "ticket not signed by the signer"
    seg = None
    if seg_b64:
        seg = proto.SegData.FromString(base64.b64decode(seg_b64, validate=True))
        flat = seg.manifestId + b"\0" * 32 + seg.hash
        assert seg.hash == keccak256(b"")
        assert seg.profiles == b"invalid"
        got = pm.recover_batch(np.frombuffer(keccak256(flat), dtype=np.uint8).reshape(1, 32),
                               np.frombuffer(seg.sig, dtype=np.uint8).reshape(1, 65))
        assert bytes(got[0]) == signer_address, "segCreds not signed by the signer"
        if manifest_id is not None:
            assert seg.manifestId == manifest_id.encode()
    return CheckedPayment(payment, nonces, seg)


# -- calling the service directly: (status, body, headers) with the spec's envelope checked ------------------

def call(signer, info=None, *, raw: bytes | None = None, headers=None, **fields):
    if raw is None:
        body = dict(fields)
        if info is not None:
            body["orchestrator"] = b64(info.SerializeToString())
        raw = json.dumps(body).encode()
    out = signer.generate_live_payment(raw, headers or {})
    assert out.body.endswith(b"\n")
    return out.status, json.loads(out.body), dict(out.headers)


def err(signer, info=None, **kw):
    status, body, headers = call(signer, info, **kw)
    assert set(body) == {"error"}, body
    return status, body["error"]["message"]


def ok(signer, info=None, **kw):
    status, body, headers = call(signer, info, **kw)
    assert status == 200, body
    assert list(body) == ["payment", "segCreds", "state"] and list(body["state"]) == ["State", "Sig"]
    return body


def state_of(body) -> PaymentState:
    return PaymentState.from_json(base64.b64decode(body["state"]["State"]))


def signed_state(state: PaymentState | bytes, key: bytes = SIGNER_KEY) -> dict:
    data = state if isinstance(state, bytes) else state.to_json()
    return {"State": b64(data), "Sig": b64(pm.Signer(key).sign_message(data))}


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class ServerThread:
    """uvicorn serving an ASGI app on 127.0.0.1 in a daemon thread; ``stop()`` shuts it down."""

    def __init__(self, app):
        import uvicorn

        self.sock = free_socket()
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


class JsonPeer:
    """A fake HTTP peer on 127.0.0.1 (orchestrator, auth webhook, Ethereum node) in a daemon thread.

    ``reply(path, headers, body) -> (status, json_value)`` answers each POST; every request is kept in
    ``requests`` as (path, headers, body bytes). Use as a context manager or call ``close()``.
    """

    def __init__(self, reply):
        self.requests: list[tuple[str, dict, bytes]] = []

        def respond(method, path, headers, body):
            self.requests.append((path, headers, body))
            status, value = reply(path, headers, body)
            return status, json.dumps(value).encode(), {"Content-Type": "application/json"}

        self.httpd = start_http_server(respond)
        self.url = self.httpd.url

    def close(self) -> None:
        stop_http_server(self.httpd)

    def __enter__(self) -> JsonPeer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
