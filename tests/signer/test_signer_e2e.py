"""End to end with no chain: the signer reads lpcore's embedded broker (``BrokerChainState`` over
``LocalBroker``/``Chain``), and lpcore's orchestrator side (``pm.Recipient``) accepts what it signs.

The recipient recomputes the HMAC recipientRand from the payment's params and expected price, verifies every
signature against the sender and tracks nonces, so this checks that the signer copies ticket params exactly,
uses the right price and creation round, and never reuses a nonce while the state round-trips.
"""

from __future__ import annotations

import base64
import json
from fractions import Fraction

import pytest

pytest.importorskip("google.protobuf")  # the signer extra

from tests.signer.helpers import SIGNER_KEY, Clock, b64
from lpcore import pm
from lpcore.broker import LocalBroker
from lpcore.signer import BrokerChainState, RemoteSigner, SignerConfig, proto

ORCH = bytes.fromhex("70997970c51812dc3a010c7d01b50e0d17dc79c8")


def info_from_params(params: pm.TicketParams, price: Fraction, now_s: int) -> bytes:
    info = proto.OrchestratorInfo(transcoder="https://127.0.0.1:9/", address=ORCH)
    info.price_info.pricePerUnit, info.price_info.pixelsPerUnit = price.numerator, price.denominator
    tp = info.ticket_params
    tp.recipient = params.recipient
    tp.face_value = pm.params.minimal_be(params.face_value)
    tp.win_prob = pm.params.minimal_be(params.win_prob)
    tp.recipient_rand_hash = params.recipient_rand_hash
    tp.seed = pm.params.minimal_be(params.seed)
    tp.expiration_block = pm.params.minimal_be(params.expiration_block)
    if params.expiration_params is not None:
        tp.expiration_params.creation_round = params.expiration_params.creation_round
        tp.expiration_params.creation_round_block_hash = params.expiration_params.creation_round_block_hash
    info.auth_token.token, info.auth_token.expiration = b"t", now_s + 1800
    return info.SerializeToString()


def payment_from_wire(payment_b64: str) -> pm.Payment:
    p = proto.Payment.FromString(base64.b64decode(payment_b64))
    tp, ep, price = p.ticket_params, p.expiration_params, p.expected_price
    expected = Fraction(price.pricePerUnit, price.pixelsPerUnit)
    params = pm.TicketParams(recipient=tp.recipient, face_value=int.from_bytes(tp.face_value, "big"),
                             win_prob=int.from_bytes(tp.win_prob, "big"), recipient_rand_hash=tp.recipient_rand_hash,
                             seed=int.from_bytes(tp.seed, "big"),
                             expiration_block=int.from_bytes(tp.expiration_block, "big"), price_per_pixel=expected)
    return pm.Payment(ticket_params=params, sender=p.sender,
                      expiration_params=pm.TicketExpirationParams(ep.creation_round, ep.creation_round_block_hash),
                      sender_nonces=[t.sender_nonce for t in p.ticket_sender_params],
                      sigs=[t.sig for t in p.ticket_sender_params], expected_price=expected)


@pytest.fixture
def node(tmp_path):
    broker = LocalBroker(tmp_path / "broker.db")
    broker.register_transcoder(ORCH)
    signer_address = pm.Signer(SIGNER_KEY).address
    broker.fund_deposit_and_reserve(signer_address, 10**18, 10**18)
    queue = pm.RedemptionQueue(tmp_path / "queue.db")
    monitor = pm.SenderMonitor(ORCH, broker, broker.chain, queue, gas_price=0)
    recipient = pm.Recipient(ORCH, monitor, broker.chain, secret=b"\x05" * 32, ev=10**6, gas_price=0)
    clock = Clock()
    signer = RemoteSigner(SIGNER_KEY, BrokerChainState(broker.chain, broker, signer_address),
                          SignerConfig(max_ticket_ev=Fraction(10**12), max_total_ev=Fraction(10**14)), clock=clock)
    yield broker, recipient, signer, clock
    queue.close() if hasattr(queue, "close") else None
    broker.close()


def test_recipient_accepts_signer_payments_across_calls(node):
    broker, recipient, signer, clock = node
    price = Fraction(1, 1000)  # wei per pixel
    params = recipient.ticket_params(signer.address, price)
    info = b64(info_from_params(params, price, clock.now_ns // 10**9))
    state = None
    seen: list[int] = []
    credited = Fraction(0)
    for call in range(3):
        body = {"orchestrator": info, "type": "lv2v", "ManifestID": "m"}
        if state is not None:
            body["state"] = state
        out = signer.generate_live_payment(json.dumps(body).encode())
        assert out.status == 200, out.body
        reply = json.loads(out.body)
        state = reply["state"]
        payment = payment_from_wire(reply["payment"])
        result = recipient.receive_payment(payment)
        assert result.error is None, result.errors
        assert result.credited_tickets == len(payment)
        credited += result.credited_ev
        seen += [int(n) for n in payment.nonce_array()]
        clock.advance(40)
    assert seen == list(range(1, len(seen) + 1))
    # 60 s opening charge + 2 x 40 s of 720p30 at 1/1000 wei per pixel, all covered by credited EV.
    assert credited >= Fraction(1280 * 720 * 30 * 140, 1000)

    # Replaying an old state re-issues nonces the recipient has seen: it reports them (spec §4.7).
    first_state = None
    body = {"orchestrator": info, "type": "lv2v", "ManifestID": "m"}
    out = json.loads(signer.generate_live_payment(json.dumps(body).encode()).body)
    first_state = out["state"]
    replay = json.loads(signer.generate_live_payment(json.dumps({**body, "state": first_state}).encode()).body)
    again = json.loads(signer.generate_live_payment(json.dumps({**body, "state": first_state}).encode()).body)
    assert replay["payment"] == again["payment"]  # deterministic signatures, same nonces
    recipient.receive_payment(payment_from_wire(replay["payment"]))
    result = recipient.receive_payment(payment_from_wire(again["payment"]))
    assert result.error is not None and "already seen" in str(result.error)


def test_broker_chain_state_tracks_the_broker(node):
    broker, recipient, signer, clock = node
    snap = signer.chain.snapshot()
    assert snap.deposit == 10**18 and snap.reserve_funds_remaining == 10**18
    assert snap.last_initialized_round == broker.chain.last_initialized_round()
    assert snap.last_initialized_block_hash == broker.chain.last_initialized_l1_block_hash()
    # Unlocking the deposit makes the signer refuse to pay once the withdraw round is near.
    broker.unlock(signer.address)  # withdraw round = current + 2: still fine
    price = Fraction(1)
    ok = json.dumps({"orchestrator": b64(info_from_params(recipient.ticket_params(signer.address, price), price,
                                                          clock.now_ns // 10**9)), "type": "fixed"}).encode()
    assert signer.generate_live_payment(ok).status == 200
    broker.chain.advance_rounds(1)  # now withdraw round == last initialized round + 1
    params = recipient.ticket_params(signer.address, price)
    body = json.dumps({"orchestrator": b64(info_from_params(params, price, clock.now_ns // 10**9)),
                       "type": "fixed"}).encode()
    out = signer.generate_live_payment(body)
    assert out.status == 400 and b"unlock soon" in out.body
