"""``lpcore bench`` rows for ``Recipient.receive_payment`` and its pure-Python peer (also ``benchmarks/bench_roles.py``).

The peer is what a Python port of go-livepeer's ``ReceiveTicket`` + ``ProcessPayment`` crediting does ticket by
ticket with ``hmac``, pycryptodome keccak and coincurve recovery; lpcore validates each payment with one
columnar hash, one ``verify_batch`` and one ``is_winning_batch`` call. Win probability is mainnet-like
(~1e-6), so the durable redemption queue (identical for both) stays out of the measurement.
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import shutil
import tempfile
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from coincurve import PublicKey
from Crypto.Hash import keccak as _keccak

from .. import pm
from ..broker import LocalBroker
from .case import Case

GATEWAY_KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
ORCH = bytes.fromhex("70997970c51812dc3a010c7d01b50e0d17dc79c8")
SECRET = b"\x09" * 32
HALF_N = pm.SECP256K1_HALF_N
EV = 8 * 10**9
GAS_PRICE = 10**8


def keccak(data: bytes) -> bytes:
    return _keccak.new(digest_bits=256, data=data).digest()


def minimal(x: int) -> bytes:
    return x.to_bytes((x.bit_length() + 7) // 8, "big")


class PyRecipient:
    """go-livepeer ``ReceiveTicket`` + ``ProcessPayment`` crediting, ticket by ticket, in plain Python."""

    def __init__(self, address: bytes, broker, chain, secret: bytes):
        self.address, self.broker, self.chain, self.secret = address, broker, chain, secret
        self.nonces: dict[str, tuple[set, int]] = {}
        self.lock = threading.Lock()

    def receive_payment(self, payment) -> Fraction:
        tp, ep, sender = payment.ticket_params, payment.expiration_params, payment.sender
        price = payment.price
        info = self.broker.get_sender_info(sender)
        if info.withdraw_round and info.withdraw_round <= self.chain.last_initialized_round() + 1:
            raise RuntimeError("unlock soon")
        aux = ep.creation_round.to_bytes(32, "big") + ep.creation_round_block_hash
        credited, sticky = Fraction(0), None
        ev = Fraction(tp.face_value * tp.win_prob, pm.MAX_WIN_PROB)
        # go-livepeer reads the last seen block per ticket from memory; the chain here is SQLite, so the peer
        # reads it once per payment, as lpcore does, and the comparison stays about the ticket work.
        last_seen = self.chain.last_seen_l1_block()
        for nonce, sig in zip(payment.sender_nonces, payment.sigs):
            nonce, sig = int(nonce), bytes(sig)
            msg = (minimal(tp.seed) + sender + minimal(tp.face_value) + minimal(tp.win_prob) + minimal(tp.expiration_block)
                   + minimal(price.numerator) + minimal(price.denominator) + aux)
            rand = int.from_bytes(hmac.new(self.secret, msg, hashlib.sha256).digest(), "big")
            if tp.recipient != self.address or sender == b"\0" * 20:
                raise RuntimeError("fatal")
            if keccak(rand.to_bytes(32, "big")) != tp.recipient_rand_hash:
                raise RuntimeError("fatal rand")
            h = keccak(tp.recipient + sender + tp.face_value.to_bytes(32, "big") + tp.win_prob.to_bytes(32, "big")
                       + nonce.to_bytes(32, "big") + tp.recipient_rand_hash + aux)
            err = None
            ok = len(sig) == 65 and int.from_bytes(sig[32:64], "big") <= HALF_N and sig[64] in (27, 28)
            if ok:
                try:
                    pub = PublicKey.from_signature_and_message(
                        sig[:64] + bytes([sig[64] - 27]), keccak(b"\x19Ethereum Signed Message:\n32" + h), hasher=None)
                    ok = keccak(pub.format(compressed=False)[1:])[12:] == sender
                except ValueError:
                    ok = False
            won = False
            if not ok:
                err = "invalid ticket signature"
            else:
                won = int.from_bytes(keccak(sig + rand.to_bytes(32, "big")), "big") < tp.win_prob
                with self.lock:
                    entry = self.nonces.setdefault(str(rand), (set(), tp.expiration_block))
                    if nonce in entry[0]:
                        err = "already seen"
                    elif len(entry[0]) >= 600:
                        err = "too many values"
                    else:
                        entry[0].add(nonce)
                if err is None and tp.expiration_block <= last_seen:
                    err = "TicketParams expired"
            if err is not None and sticky is None:
                sticky = err
            if sticky is None:
                credited += ev
            assert not won  # mainnet-like odds: the queue is not part of this benchmark
        return credited



@dataclass
class World:
    broker: LocalBroker
    monitor: pm.SenderMonitor
    payments: list
    ev: Fraction

    def recipient(self, threads: int | None = None) -> pm.Recipient:
        return pm.Recipient(ORCH, self.monitor, self.broker.chain, secret=SECRET, ev=EV, gas_price=GAS_PRICE,
                            validator=pm.Validator(threads=threads))

    def run_lpcore(self, threads: int | None = None) -> Fraction:
        r = self.recipient(threads)
        total = Fraction(0)
        for p in self.payments:
            res = r.receive_payment(p)
            assert res.error is None and not res.winners
            total += res.credited_ev
        r.close()
        return total

    def run_peer(self) -> Fraction:
        r = PyRecipient(ORCH, self.broker, self.broker.chain, SECRET)
        return sum((r.receive_payment(p) for p in self.payments), Fraction(0))


def make_world(payments: int, tickets: int, directory: Path | None = None) -> World:
    """A funded gateway, an orchestrator on a fresh LocalBroker, and ``payments`` signed payments."""
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="lpcore-bench-roles-"))
        atexit.register(shutil.rmtree, directory, True)
    broker = LocalBroker(directory / "broker.db")
    broker.register_transcoder(ORCH)
    gw = pm.Signer(GATEWAY_KEY)
    broker.fund_deposit_and_reserve(gw.address, 10**18, 10**18)
    queue = pm.RedemptionQueue(directory / "queue.db")
    monitor = pm.SenderMonitor(ORCH, broker, broker.chain, queue)
    issuer = pm.Recipient(ORCH, monitor, broker.chain, secret=SECRET, ev=EV, gas_price=GAS_PRICE)
    sender = pm.Sender(gw, broker.chain, broker)
    batch = []
    for _ in range(payments):
        params = issuer.ticket_params(gw.address, Fraction(1200))
        batch.append(sender.create_ticket_batch(sender.start_session(params), tickets))
    return World(broker, monitor, batch, batch[0].ticket_params.ev())


def rows(n: int) -> list[Case]:
    """``lpcore bench`` rows: receiving ``n`` tickets in payments of 100 (wall, all cores; and CPU, one thread)."""
    world = make_world(max(1, n // 100), 100)
    items = len(world.payments) * 100
    return [
        Case("Recipient.receive_payment", items, "tickets", lambda: world.run_lpcore(None),
             {"python ReceiveTicket loop": world.run_peer},
             note="payments of 100 tickets, whole protocol per ticket"),
        Case("Recipient.receive_payment", items, "tickets", lambda: world.run_lpcore(1),
             {"python ReceiveTicket loop": world.run_peer}, timer="thread"),
    ]
