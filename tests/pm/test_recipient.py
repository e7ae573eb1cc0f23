"""Recipient: ticket params (§4), ReceiveTicket order of checks (§6.2-§6.4), ProcessPayment semantics (§6.1)."""

from __future__ import annotations

import threading
from fractions import Fraction

import numpy as np
import pytest

from tests.pm import pyref
from tests.pm.helpers import ORCH2_ADDR, ORCH_ADDR, OTHER_KEY, SECRET, SENDER_KEY, Node
from lpcore import pm
from lpcore.broker import StaticChainView
from lpcore.pm import errors as E
from lpcore.pm.params import MAX_WIN_PROB


def custom_params(node: Node, *, fv=10**8, wp=MAX_WIN_PROB - 1, exp_delta=40, price=Fraction(1), seed=1234):
    """Params signed off by the node's recipient secret, with a chosen win probability."""
    ep = node.recipient.expiration_params()
    exp = node.chain.last_seen_l1_block() + exp_delta
    rand = pm.recipient_rand(SECRET, seed, node.signer.address, fv, wp, exp, price, ep.creation_round,
                             ep.creation_round_block_hash)
    return pm.TicketParams(recipient=ORCH_ADDR, face_value=fv, win_prob=wp, recipient_rand_hash=pyref.rand_hash(rand),
                           seed=seed, expiration_block=exp, price_per_pixel=price, expiration_params=ep), rand


def one_ticket(node, params, nonce=None):
    b = node.pay(params, 1)
    t = b.tickets()[0]
    return t, b.sigs[0].tobytes()


# --- ticket params ---------------------------------------------------------------------------------------


def test_ticket_params_commitment_and_fields(node):
    p = node.params(Fraction(6, 4))
    assert p.recipient == ORCH_ADDR
    assert p.face_value == 10**6 * 100  # gas price 0 -> EV * evMultiplier
    assert p.win_prob == pm.win_prob_for(p.face_value, 10**6)
    assert p.expiration_block == node.chain.last_seen_l1_block() + 40
    ep = p.expiration_params
    assert ep.creation_round == node.chain.last_initialized_round()
    assert ep.creation_round_block_hash == node.chain.last_initialized_l1_block_hash()
    rand = pm.recipient_rand(SECRET, p.seed, node.signer.address, p.face_value, p.win_prob, p.expiration_block,
                             Fraction(3, 2), ep.creation_round, ep.creation_round_block_hash)
    assert p.recipient_rand_hash == pyref.rand_hash(rand)
    assert node.params(Fraction(1)).seed != p.seed  # fresh seed each time


def test_ticket_params_zero_price_and_insufficient_reserve(tmp_path):
    node = Node(tmp_path, reserve=0)
    p = node.params(Fraction(0))
    assert p.face_value == 0 and p.win_prob == 0
    p = node.params(Fraction(-1))
    assert p.face_value == 0 and p.win_prob == 0
    with pytest.raises(E.InsufficientSenderReserve, match="^insufficient sender reserve$"):
        node.params(Fraction(1))  # max float 0 < EV


def test_ticket_params_arbitrum_zero_hash_fallback():
    view = StaticChainView(last_seen_l1_block=500, last_initialized_round=9, last_initialized_l1_block_hash=b"\0" * 32,
                           pre_last_initialized_l1_block_hash=b"\x05" * 32)
    r = pm.Recipient(ORCH_ADDR, None, view, secret=SECRET)
    assert r.expiration_params() == pm.TicketExpirationParams(8, b"\x05" * 32)
    p = r.ticket_params(b"\x01" * 20, Fraction(0))
    assert p.expiration_params == pm.TicketExpirationParams(8, b"\x05" * 32)
    assert p.expiration_block == 540


def test_tx_cost_multiplier(tmp_path):
    node = Node(tmp_path, gas_price=10)
    fv = node.recipient._face_value(node.signer.address)
    assert node.recipient.tx_cost_multiplier(node.signer.address) == Fraction(fv, 1_200_000 * 10)
    node.recipient._gas_price = 0
    assert node.recipient.tx_cost_multiplier(node.signer.address) == 0


# --- receive_ticket: order of checks ---------------------------------------------------------------------


def test_valid_losing_and_winning_tickets(node):
    p, _ = custom_params(node, wp=0)
    t, sig = one_ticket(node, p)
    assert node.recipient.receive_ticket(t, sig, p.seed) == ("", False, None)
    p, _ = custom_params(node, wp=MAX_WIN_PROB - 1, seed=5)
    t, sig = one_ticket(node, p)
    assert node.recipient.receive_ticket(t, sig, p.seed) == (p.session_id, True, None)


def test_sender_validation_is_fatal(tmp_path):
    node = Node(tmp_path)
    p, _ = custom_params(node)
    t, sig = one_ticket(node, p)
    node.broker.unlock(node.signer.address)  # withdraw round = current + 2 <= LIR + 1? no: current+2 > LIR+1
    assert node.recipient.receive_ticket(t, sig, p.seed).error is None
    node.chain.advance_rounds(1)  # now withdrawRound == LIR + 1
    with pytest.raises(E.FatalReceiveError) as ei:
        node.recipient.receive_ticket(t, sig, p.seed)
    want = f"deposit and reserve for sender {pyref.checksum(node.signer.address)} is set to unlock soon"
    assert str(ei.value) == want and isinstance(ei.value.err, E.SenderUnlockingSoonForRecipient)

    class Broken:
        broker = None

        def validate_sender(self, s):
            return pm.SenderMonitor.validate_sender(self, s)

        def get_sender_info(self, s):
            raise RuntimeError("rpc down")

    broken = Broken()
    broken.broker = broken
    broken.time_source = node.chain
    r = pm.Recipient(ORCH_ADDR, broken, node.chain, secret=SECRET)
    with pytest.raises(E.FatalReceiveError) as ei:
        r.receive_ticket(t, sig, p.seed)
    assert str(ei.value) == f"could not get sender info for {pyref.checksum(node.signer.address)}: rpc down"


@pytest.mark.parametrize("case,msg", [
    ("recipient", "invalid ticket recipient"),
    ("sender", "invalid ticket sender"),
    ("rand", "invalid recipientRand for ticket recipientRandHash"),
])
def test_validator_errors_are_fatal_in_order(node, case, msg):
    p, _ = custom_params(node)
    t, sig = one_ticket(node, p)
    fields = dict(recipient=t.recipient, sender=t.sender, face_value=t.face_value, win_prob=t.win_prob,
                  sender_nonce=t.sender_nonce, recipient_rand_hash=t.recipient_rand_hash,
                  creation_round=t.creation_round, creation_round_block_hash=t.creation_round_block_hash,
                  params_expiration_block=t.params_expiration_block, price_per_pixel=t.price_per_pixel)
    if case == "recipient":
        fields["recipient"] = ORCH2_ADDR
        fields["face_value"] += 1  # also a wrong rand: the recipient check must come first
    elif case == "sender":
        fields["sender"] = b"\0" * 20
    else:
        fields["price_per_pixel"] = Fraction(2)  # any advertised field changed -> HMAC differs
    with pytest.raises(E.FatalReceiveError) as ei:
        node.recipient.receive_ticket(pm.Ticket(**fields), sig, p.seed)
    assert str(ei.value) == msg
    assert type(ei.value.err).__name__ == {"recipient": "InvalidTicketRecipient", "sender": "InvalidTicketSender",
                                           "rand": "InvalidTicketRecipientRand"}[case]
    # a wrong seed is also a recipientRand mismatch
    if case == "rand":
        with pytest.raises(E.FatalReceiveError, match="invalid recipientRand"):
            node.recipient.receive_ticket(t, sig, p.seed + 1)


def test_invalid_signature_is_not_fatal(node):
    p, _ = custom_params(node)
    t, sig = one_ticket(node, p)
    other = pyref.sign(OTHER_KEY, t.hash())
    for bad in (other, sig[:64], sig[:64] + bytes([sig[64] - 27]), b"\0" * 65):
        res = node.recipient.receive_ticket(t, bad, p.seed)
        assert res.session_id == "" and res.won is False
        assert isinstance(res.error, E.InvalidTicketSignature) and str(res.error) == "invalid ticket signature"
    # high-s twin of a valid signature is rejected too (malleability)
    r, s = sig[:32], int.from_bytes(sig[32:64], "big")
    twin = r + (pyref.N - s).to_bytes(32, "big") + bytes([55 - sig[64]])
    assert isinstance(node.recipient.receive_ticket(t, twin, p.seed).error, E.InvalidTicketSignature)
    assert node.recipient.receive_ticket(t, sig, p.seed).error is None  # nonce not consumed by the bad ones


def test_replay_and_nonce_map_fill(node):
    p, _ = custom_params(node, wp=MAX_WIN_PROB - 1)
    b = node.pay(p, 601)
    tickets = b.tickets()
    for i in range(600):
        assert node.recipient.receive_ticket(tickets[i], b.sigs[i].tobytes(), p.seed).error is None
    res = node.recipient.receive_ticket(tickets[600], b.sigs[600].tobytes(), p.seed)
    sender_hex = pyref.checksum(node.signer.address)
    assert str(res.error) == f"invalid ticket senderNonce: too many values sender={sender_hex} nonce=601"
    assert res.won and res.session_id == p.session_id  # still reported as a winner (queued by ProcessPayment)
    res = node.recipient.receive_ticket(tickets[5], b.sigs[5].tobytes(), p.seed)
    assert str(res.error) == f"invalid ticket senderNonce: already seen sender={sender_hex} nonce=6"
    assert isinstance(res.error, E.NonceAlreadySeen) and res.won


def test_nonces_need_not_be_monotonic(node):
    p, _ = custom_params(node)
    sid = node.sender.start_session_with_nonce(p, 10)
    b1 = node.sender.create_ticket_batch(sid, 1)  # nonce 11
    node.sender.start_session_with_nonce(p, 2)
    b2 = node.sender.create_ticket_batch(sid, 1)  # nonce 3
    for b in (b1, b2):
        assert node.recipient.receive_ticket(b.tickets()[0], b.sigs[0].tobytes(), p.seed).error is None


def test_expired_params_non_fatal_and_nonce_still_recorded(node):
    p, _ = custom_params(node, exp_delta=2)
    t, sig = one_ticket(node, p)
    node.chain.advance(2)  # expiration block == last seen block
    res = node.recipient.receive_ticket(t, sig, p.seed)
    assert isinstance(res.error, E.TicketParamsExpired) and str(res.error) == "TicketParams expired"
    assert node.recipient.nonce_map_size() == (1, 1)  # nonce update (step 5) precedes the expiry check (step 6)
    assert isinstance(node.recipient.receive_ticket(t, sig, p.seed).error, E.NonceAlreadySeen)


def test_replay_map_cleanup_on_new_block(node):
    p, _ = custom_params(node, exp_delta=3)
    t, sig = one_ticket(node, p)
    assert node.recipient.receive_ticket(t, sig, p.seed).error is None
    assert node.recipient.nonce_map_size() == (1, 1)
    node.chain.advance(2)
    assert node.recipient.nonce_map_size() == (1, 1)
    node.chain.advance(1)  # expiration_block <= latest -> dropped
    assert node.recipient.nonce_map_size() == (0, 0)
    # after cleanup a replay is no longer caught by the map, but the params are expired (non-fatal) and the
    # queue/broker used-ticket checks stop double redemption.
    assert isinstance(node.recipient.receive_ticket(t, sig, p.seed).error, E.TicketParamsExpired)


# --- receive_payment (ProcessPayment) ---------------------------------------------------------------------


def test_payment_credits_and_queues_winners(node):
    p, _ = custom_params(node, wp=MAX_WIN_PROB // 4, seed=77)
    b = node.pay(p, 200)
    res = node.recipient.receive_payment(b)
    assert res.tickets == 200 and res.credited_tickets == 200 and res.error is None
    assert res.credited_ev == p.ev() * 200
    # winners are exactly the reference lottery's
    rand = pm.recipient_rand(SECRET, p.seed, node.signer.address, p.face_value, p.win_prob, p.expiration_block,
                             p.price_per_pixel, b.expiration_params.creation_round,
                             b.expiration_params.creation_round_block_hash)
    want = [i for i in range(200) if pyref.is_winning(b.sigs[i].tobytes(), rand, p.win_prob)]
    assert [w.ticket.sender_nonce - 1 for w in res.winners] == want and 20 < len(want) < 80
    assert [st.sig for st in node.queue.queued()] == [b.sigs[i].tobytes() for i in want]
    assert all(w.recipient_rand == rand for w in res.winners)


def test_payment_sticky_error_stops_credit_but_queues_winners(node):
    p, _ = custom_params(node, wp=MAX_WIN_PROB - 1)
    b = node.pay(p, 6)
    sigs = b.sigs.copy()
    sigs[2] = np.frombuffer(pyref.sign(OTHER_KEY, b.tickets()[2].hash()), np.uint8)  # invalid sig at index 2
    nonces = np.array(b.sender_nonces)
    nonces[4] = nonces[1]  # replay at index 4 (re-signed so the signature is valid)
    t4 = pm.Ticket(recipient=ORCH_ADDR, sender=b.sender, face_value=p.face_value, win_prob=p.win_prob,
                   sender_nonce=int(nonces[4]), recipient_rand_hash=p.recipient_rand_hash,
                   creation_round=b.expiration_params.creation_round,
                   creation_round_block_hash=b.expiration_params.creation_round_block_hash)
    sigs[4] = np.frombuffer(pyref.sign(SENDER_KEY, t4.hash()), np.uint8)
    pay = pm.Payment(p, b.sender, b.expiration_params, nonces, sigs, b.expected_price)
    res = node.recipient.receive_payment(pay)
    assert res.credited_tickets == 2  # tickets 0,1 credited; sticky from 2 on
    assert res.credited_ev == 2 * p.ev()
    assert isinstance(res.error, E.InvalidTicketSignature)
    assert [(i, type(e).__name__) for i, e in res.errors] == [(2, "InvalidTicketSignature"), (4, "NonceAlreadySeen")]
    # every valid-signature winner is queued, including the replayed nonce after the error
    assert [w.ticket.sender_nonce for w in res.winners] == [1, 2, 4, 2, 6]
    # the replay carries the same (deterministic) signature as nonce 2, and the queue is keyed by signature
    assert sigs[4].tobytes() == sigs[1].tobytes()
    assert [st.ticket.sender_nonce for st in node.queue.queued()] == [1, 2, 4, 6]


def test_payment_fatal_aborts_and_other_errors(node):
    p, _ = custom_params(node)
    b = node.pay(p, 3)
    bad = pm.Payment(p, b.sender, b.expiration_params, b.sender_nonces, b.sigs, Fraction(5))  # wrong price
    with pytest.raises(E.FatalReceiveError, match="invalid recipientRand"):
        node.recipient.receive_payment(bad)
    assert node.queue.queued() == [] and node.recipient.nonce_map_size() == (0, 0)
    with pytest.raises(E.PaymentError, match="^Could not find Sender for payment"):
        node.recipient.receive_payment(pm.Payment(p, b"", b.expiration_params, b.sender_nonces, b.sigs))
    with pytest.raises(E.PaymentError) as ei:
        node.recipient.receive_payment(pm.Payment(p, b.sender, b.expiration_params, b.sender_nonces, b.sigs))
    assert str(ei.value) == 'invalid expected price sent with payment err="expected price is nil"'
    node.broker.register_transcoder(ORCH_ADDR, active=False)
    with pytest.raises(E.PaymentError) as ei:
        node.recipient.receive_payment(b)
    assert str(ei.value) == (f"orchestrator {pyref.checksum(ORCH_ADDR)} is inactive in round "
                             f"{node.chain.last_initialized_round()}, cannot process payments")


def test_concurrent_receivers_keep_replay_map_consistent(node):
    """8 threads submit overlapping payments (each nonce sent 3 times): every nonce is accepted exactly once."""
    p, _ = custom_params(node, wp=MAX_WIN_PROB // 3, seed=4242)
    b = node.pay(p, 400)
    chunks = [slice(i, i + 50) for i in range(0, 400, 50)]
    jobs = [(s, k) for s in chunks for k in range(3)]
    results, credited = [], []
    lock = threading.Lock()

    def work(my_jobs):
        for s, _ in my_jobs:
            pay = pm.Payment(p, b.sender, b.expiration_params, b.sender_nonces[s], b.sigs[s], b.expected_price)
            r = node.recipient.receive_payment(pay)
            with lock:
                results.append(r)
                credited.extend(int(n) for n in b.sender_nonces[s][: r.credited_tickets])

    threads = [threading.Thread(target=work, args=(jobs[i::8],)) for i in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    accepted = sum(r.credited_tickets for r in results)
    seen_errors = sum(len(r.errors) for r in results)
    assert seen_errors == 800 and sum(r.tickets for r in results) == 1200
    assert node.recipient.nonce_map_size() == (1, 400)
    assert accepted == len(credited) and len(set(credited)) == len(credited)  # no nonce credited twice
    # each winner's signature is queued once despite 3 receipts
    winners = {w.sig for r in results for w in r.winners}
    assert len(node.queue.queued()) == len(winners)
    assert sum(len(r.winners) for r in results) == 3 * len(winners)


def test_validator_vectors():
    """pm/validator_test.go fixed inputs (spec/pm.md §8.5), including Go's hashing of a 3-byte signature."""
    import json

    from tests.pm.helpers import VECTORS_PATH

    v = json.loads(VECTORS_PATH.read_text())["validator"]
    rand = int(v["recipient_rand"])
    assert pm.recipient_rand_hash(rand).hex() == v["recipient_rand_hash"]
    t = pm.Ticket(recipient=bytes.fromhex(v["recipient"]), sender=bytes.fromhex(v["sender"]), face_value=1,
                  win_prob=0, sender_nonce=1, recipient_rand_hash=bytes.fromhex(v["recipient_rand_hash"]))
    sig = bytes.fromhex(v["sig"])
    for case in v["win_checks"]:
        tt = pm.Ticket(**{**t.__dict__, "win_prob": int(case["win_prob"])})
        assert pm.Validator.is_winning_ticket(tt, sig, rand) is case["wins"]
    val = pm.Validator()
    val.check_shared(t.recipient, t.recipient, t.sender, rand, t.recipient_rand_hash)
    with pytest.raises(E.InvalidTicketSignature):
        val.validate_ticket(t.recipient, t, sig, rand)  # 3-byte "signature": invalid length -> invalid signature
    with pytest.raises(E.InvalidTicketRecipientRand):
        val.validate_ticket(t.recipient, t, sig, rand + 1)
