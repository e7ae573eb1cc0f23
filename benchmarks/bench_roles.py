"""Orchestrator-side ticket intake: ``Recipient.receive_payment`` vs a pure-Python ``ReceiveTicket`` loop.

Workload: 20 payments of 100 tickets each (fresh ticket params per payment, as orchestrators issue them),
received by a fresh recipient every round (empty replay map). Both sides do the whole protocol per ticket
(spec/pm.md §6.1-§6.4): HMAC recipientRand, sender validation against the embedded broker (once per payment
on both sides - go-livepeer does it per ticket, which would only slow the peer down), recipient / sender /
recipientRandHash checks, ticket hash, EIP-191 signature verification (length, low-s, v, recovery, address),
the win check, the 600-nonce replay map under a lock, the expiry check and EV crediting. Win probability is
mainnet-like (~1e-6) so the durable queue (identical for both) is not part of the measurement.

- lpcore: one HMAC, one columnar hash call, one ``verify_batch`` and one ``is_winning_batch`` per payment
  (C, all cores), then the per-ticket protocol logic in Python.
- peer: what a Python port of go-livepeer would do per ticket - ``hmac`` + pycryptodome keccak +
  coincurve ``PublicKey.from_signature_and_message``.

Run: ``python3 -m pytest benchmarks/bench_roles.py --benchmark-only``; the ratio is printed at the end.
"""

from __future__ import annotations

import hashlib
import hmac
import tempfile
import threading
from fractions import Fraction
from pathlib import Path

import pytest
from Crypto.Hash import keccak as _keccak
from coincurve import PublicKey

from lpcore import pm
from lpcore.broker import LocalBroker

PAYMENTS, TICKETS = 20, 100
GATEWAY_KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
ORCH = bytes.fromhex("70997970c51812dc3a010c7d01b50e0d17dc79c8")
SECRET = b"\x09" * 32
HALF_N = pm.SECP256K1_HALF_N
RESULTS: dict[str, float] = {}


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
                if err is None and tp.expiration_block <= self.chain.last_seen_l1_block():
                    err = "TicketParams expired"
            if err is not None and sticky is None:
                sticky = err
            if sticky is None:
                credited += ev
            assert not won  # mainnet-like odds: the queue is not part of this benchmark
        return credited


@pytest.fixture(scope="module")
def world():
    tmp = Path(tempfile.mkdtemp(prefix="bench-roles-"))
    broker = LocalBroker(tmp / "broker.db")
    broker.register_transcoder(ORCH)
    gw = pm.Signer(GATEWAY_KEY)
    broker.fund_deposit_and_reserve(gw.address, 10**18, 10**18)
    queue = pm.RedemptionQueue(tmp / "queue.db")
    monitor = pm.SenderMonitor(ORCH, broker, broker.chain, queue)
    issuer = pm.Recipient(ORCH, monitor, broker.chain, secret=SECRET, ev=8 * 10**9, gas_price=10**8)
    sender = pm.Sender(gw, broker.chain, broker)
    payments = []
    for _ in range(PAYMENTS):
        params = issuer.ticket_params(gw.address, Fraction(1200))
        payments.append(sender.create_ticket_batch(sender.start_session(params), TICKETS))
    return dict(broker=broker, monitor=monitor, payments=payments, ev=payments[0].ticket_params.ev())


def _check(credited, world):
    assert credited == world["ev"] * PAYMENTS * TICKETS


def test_receive_lpcore(benchmark, world):
    def setup():
        r = pm.Recipient(ORCH, world["monitor"], world["broker"].chain, secret=SECRET, ev=8 * 10**9, gas_price=10**8)
        return (r,), {}

    def run(r):
        total = Fraction(0)
        for p in world["payments"]:
            res = r.receive_payment(p)
            assert res.error is None and not res.winners
            total += res.credited_ev
        r.close()
        return total

    _check(benchmark.pedantic(run, setup=setup, rounds=7), world)
    RESULTS["lpcore"] = benchmark.stats.stats.min


def test_receive_python_peer(benchmark, world):
    def setup():
        return (PyRecipient(ORCH, world["broker"], world["broker"].chain, SECRET),), {}

    def run(r):
        return sum((r.receive_payment(p) for p in world["payments"]), Fraction(0))

    _check(benchmark.pedantic(run, setup=setup, rounds=5), world)
    RESULTS["peer"] = benchmark.stats.stats.min


def _interleaved(world, reps=3):
    """Wall and CPU (process) seconds, min over interleaved repetitions: lpcore all cores, lpcore 1 thread, peer.
    CPU time is what one ticket costs regardless of how loaded the (shared) machine is."""
    import time

    def lp(threads):
        r = pm.Recipient(ORCH, world["monitor"], world["broker"].chain, secret=SECRET, ev=8 * 10**9,
                         gas_price=10**8, validator=pm.Validator(threads=threads))
        for p in world["payments"]:
            r.receive_payment(p)
        r.close()

    def peer():
        r = PyRecipient(ORCH, world["broker"], world["broker"].chain, SECRET)
        for p in world["payments"]:
            r.receive_payment(p)

    out = {k: [float("inf"), float("inf")] for k in ("lpcore", "lpcore-1thread", "peer")}
    for _ in range(reps):
        for key, fn in (("lpcore", lambda: lp(None)), ("lpcore-1thread", lambda: lp(1)), ("peer", peer)):
            w, c = time.perf_counter(), time.process_time()
            fn()
            w, c = time.perf_counter() - w, time.process_time() - c
            out[key] = [min(out[key][0], w), min(out[key][1], c)]
    return out


def test_ratio(world, capsys):
    n = PAYMENTS * TICKETS
    lines = []
    if len(RESULTS) == 2:
        lines.append(f"pytest-benchmark min: lpcore {n / RESULTS['lpcore']:,.0f} tickets/s, pure-Python peer "
                     f"{n / RESULTS['peer']:,.0f} tickets/s, ratio {RESULTS['peer'] / RESULTS['lpcore']:.2f}x")
    t = _interleaved(world)
    for key in ("lpcore", "lpcore-1thread"):
        lines.append(f"interleaved {key:15} wall {n / t[key][0]:8,.0f} tickets/s ({t['peer'][0] / t[key][0]:.2f}x peer), "
                     f"CPU {n / t[key][1]:8,.0f} tickets/CPU-s ({t['peer'][1] / t[key][1]:.2f}x peer)")
    lines.append(f"interleaved {'peer':15} wall {n / t['peer'][0]:8,.0f} tickets/s, CPU {n / t['peer'][1]:8,.0f} tickets/CPU-s")
    with capsys.disabled():
        print("\nRecipient.receive_payment, payments of 100 tickets:\n  " + "\n  ".join(lines))
