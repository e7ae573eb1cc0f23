"""``lpcore bench`` rows for the remote signer, shared with ``benchmarks/bench_signer.py`` (needs the ``signer``
extra: importing this module without it raises :class:`lpcore.MissingExtra`, and ``lpcore bench`` skips it).

The peer is the same handler with the ticket signer a Python implementation would otherwise use: one
``coincurve.PrivateKey.sign_recoverable`` call per ticket (same libsecp256k1, same RFC 6979 signatures).
"""

from __future__ import annotations

import base64
import json
import time

import numpy as np

from .. import keccak256, pm
from ..signer import proto
from ..broker.rpc import ChainSnapshot, StaticChainState
from ..signer.service import RemoteSigner, SignerConfig
from .case import Case

#: Hardhat test account #0 (a public test key, never funded on mainnet).
KEY = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
ORCH = bytes.fromhex("70997970c51812dc3a010c7d01b50e0d17dc79c8")
TICKETS = 100  # go-livepeer's cap per payment


class CoincurveLoopSigner:
    """The peer: ``pm.Signer``'s interface implemented with one coincurve call per ticket."""

    def __init__(self, private_key: bytes):
        import coincurve

        self._key = coincurve.PrivateKey(private_key)
        self.address = keccak256(self._key.public_key.format(compressed=False)[1:])[12:]

    def _sign_digest(self, digest: bytes) -> bytes:
        sig = self._key.sign_recoverable(digest, hasher=None)
        return sig[:64] + bytes([sig[64] + 27])

    def sign(self, ticket_hash: bytes) -> bytes:
        return self._sign_digest(keccak256(b"\x19Ethereum Signed Message:\n32" + bytes(ticket_hash)))

    def sign_message(self, message: bytes) -> bytes:
        return self._sign_digest(keccak256(b"\x19Ethereum Signed Message:\n%d" % len(message) + bytes(message)))

    def sign_batch(self, hashes, threads=None) -> np.ndarray:
        rows = np.asarray(hashes, dtype=np.uint8).reshape(-1, 32)
        out = np.empty((len(rows), 65), dtype=np.uint8)
        for i, row in enumerate(rows):
            out[i] = np.frombuffer(self.sign(row.tobytes()), dtype=np.uint8)
        return out


def make_signer(impl: str) -> RemoteSigner:
    """A funded signer over a static chain; ``impl`` is ``"lpcore"`` or ``"coincurve"`` (the peer)."""
    chain = StaticChainState(ChainSnapshot(last_seen_l1_block=1000, last_initialized_round=50,
                                           last_initialized_block_hash=keccak256(b"round"), deposit=10**18,
                                           withdraw_round=0, reserve_funds_remaining=10**18))
    factory = pm.Signer if impl == "lpcore" else CoincurveLoopSigner
    return RemoteSigner(KEY, chain, SignerConfig(), signer_factory=factory)


def request_body(tickets: int = TICKETS) -> bytes:
    """A first-call request (no state) for ``fixed`` billing at ``tickets`` x EV: exactly that many tickets."""
    info = proto.OrchestratorInfo(transcoder="https://127.0.0.1:9/", address=ORCH)
    info.price_info.pricePerUnit, info.price_info.pixelsPerUnit = 35 * tickets, 1
    tp = info.ticket_params
    tp.recipient, tp.face_value, tp.win_prob = ORCH, (175).to_bytes(1, "big"), ((2**256 - 1) // 5).to_bytes(32, "big")
    tp.recipient_rand_hash, tp.seed, tp.expiration_block = keccak256(b"rand"), b"\x01" * 32, (1040).to_bytes(2, "big")
    info.auth_token.token, info.auth_token.expiration = b"tok", int(time.time()) + 3600
    return json.dumps({"orchestrator": base64.b64encode(info.SerializeToString()).decode(), "type": "fixed",
                       "ManifestID": "bench"}).encode()


def rows(n: int) -> list[Case]:
    """``lpcore bench`` rows: one ``/generate-live-payment`` of 100 tickets through the handler (``n`` is ignored:
    the protocol caps a payment at 100 tickets)."""
    body = request_body()
    ours, peer = make_signer("lpcore"), make_signer("coincurve")
    return [Case("generate-live-payment", TICKETS, "ticket", lambda: ours.generate_live_payment(body),
                 {"coincurve per-ticket loop": lambda: peer.generate_live_payment(body)},
                 note="remote signer handler, 100 tickets per request, 1 signing thread")]
