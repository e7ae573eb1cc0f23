"""LocalBroker: redeemWinningTicket checks in order (§7.4), accounting (§7.5), batch (§7.6), funding (§7.7)."""

from __future__ import annotations

import pytest
from coincurve import PrivateKey

from tests.pm import pyref
from tests.pm.helpers import ORCH2_ADDR, ORCH_ADDR, OTHER_KEY, SENDER_KEY
from lpcore import BrokerRevert, pm
from lpcore.broker import Chain, LocalBroker
from lpcore.pm.params import MAX_WIN_PROB

SENDER = pyref.address_of(PrivateKey(SENDER_KEY).public_key)
OTHER = pyref.address_of(PrivateKey(OTHER_KEY).public_key)
RAND = 5


@pytest.fixture
def broker(tmp_path):
    b = LocalBroker(tmp_path / "b.db")
    b.register_transcoder(ORCH_ADDR)
    b.fund_deposit_and_reserve(SENDER, 1000, 1000)
    return b


def ticket(b: LocalBroker, **kw):
    cr = kw.pop("creation_round", b.chain.last_initialized_round())
    fields = dict(recipient=ORCH_ADDR, sender=SENDER, face_value=100, win_prob=MAX_WIN_PROB, sender_nonce=1,
                  recipient_rand_hash=pyref.rand_hash(RAND), creation_round=cr,
                  creation_round_block_hash=b.chain.block_hash_for_round(cr))
    fields.update(kw)
    return pm.Ticket(**fields)


def sign(t, key=SENDER_KEY):
    return pyref.sign(key, t.hash())


def revert(b, t, sig, rand=RAND):
    with pytest.raises(BrokerRevert) as ei:
        b.redeem_winning_ticket(t, sig, rand)
    return ei.value.reason


def test_redeem_pays_from_deposit_and_records(broker):
    t = ticket(broker)
    tx = broker.redeem_winning_ticket(t, sign(t), RAND)
    assert len(tx) == 32
    info = broker.get_sender_info(SENDER)
    assert (info.deposit, info.funds_remaining) == (900, 1000)
    assert broker.is_used_ticket(t.hash()) and broker.transcoder_fees(ORCH_ADDR) == 100
    names = [e.name for e in broker.events()]
    assert names[-2:] == ["WinningTicketTransfer", "WinningTicketRedeemed"]
    ev = broker.events("WinningTicketRedeemed")[0].args
    assert ev["recipientRand"] == "5" and ev["auxData"] == "0x" + t.aux_data().hex()
    assert revert(broker, t, sign(t)) == "ticket is used"


def test_every_revert_in_order(tmp_path, broker):
    b = broker
    t = ticket(b)
    s = sign(t)
    b.set_paused(True)
    assert revert(b, t, s) == "system is paused"
    b.set_paused(False)
    assert revert(b, ticket(b, recipient=b"\0" * 20, sender=b"\0" * 20), s) == "ticket recipient is null address"
    assert revert(b, ticket(b, sender=b"\0" * 20, creation_round=0, creation_round_block_hash=b"\0" * 32), s) == \
        "ticket sender is null address"
    assert revert(b, ticket(b, creation_round=0, creation_round_block_hash=b"\0" * 32), s) == \
        "invalid length for ticket auxData: must be 64 bytes"
    assert revert(b, ticket(b, creation_round=3, creation_round_block_hash=b"\x01" * 32), s) == \
        "ticket creationRound does not have a block hash"
    assert revert(b, ticket(b, creation_round_block_hash=b"\x01" * 32), s) == \
        "ticket creationRoundBlockHash invalid for creationRound"
    assert revert(b, t, s, rand=6) == "recipientRand does not match recipientRandHash"
    assert revert(b, t, s[:64]) == "INVALID_SIGNATURE_LENGTH"
    assert revert(b, t, s + b"\0") == "INVALID_SIGNATURE_LENGTH"
    hs = s[:32] + (pyref.N - int.from_bytes(s[32:64], "big")).to_bytes(32, "big") + bytes([55 - s[64]])
    assert revert(b, t, hs) == "ECDSA: invalid signature 's' value"
    assert revert(b, t, s[:64] + bytes([s[64] - 27])) == "ECDSA: invalid signature 'v' value"
    assert revert(b, t, b"\0" * 64 + b"\x1b") == "ECDSA: invalid signature"
    flip_v = s[:64] + bytes([55 - s[64]])  # recovers some other address
    assert revert(b, t, flip_v) == "invalid signature over ticket hash"
    assert revert(b, t, sign(t, OTHER_KEY)) == "invalid signature over ticket hash"
    lose = ticket(b, win_prob=0)
    assert revert(b, lose, sign(lose)) == "ticket did not win"
    # used is checked before the signature
    b.redeem_winning_ticket(t, s, RAND)
    assert revert(b, t, s[:64]) == "ticket is used"
    # expired: creationRound + ticketValidityPeriod (2) must exceed the current round
    t2 = ticket(b, sender_nonce=2)
    b.chain.advance_rounds(1)
    b.redeem_winning_ticket(t2, sign(t2), RAND)  # creation round + 1: still valid
    t3 = ticket(b, sender_nonce=3, creation_round=t2.creation_round)
    b.chain.advance_rounds(1)
    assert revert(b, t3, sign(t3)) == "ticket is expired"
    assert revert(b, t3, s[:10], rand=99) == "ticket is expired"  # expiry precedes rand and signature checks


def test_unlocked_zero_funds_and_unregistered(tmp_path):
    b = LocalBroker(tmp_path / "b.db", unlock_period=2)
    b.register_transcoder(ORCH_ADDR)
    t = ticket(b)
    assert revert(b, t, sign(t)) == "sender deposit and reserve are zero"
    b.fund_deposit(SENDER, 500)
    b.unlock(SENDER)
    b.redeem_winning_ticket(t, sign(t), RAND)  # unlocking but still locked: pays
    b.chain.advance_rounds(2)
    t2 = ticket(b, sender_nonce=2)
    assert revert(b, t2, sign(t2)) == "sender is unlocked"
    # unregistered recipient: the transfer reverts
    b2 = LocalBroker(tmp_path / "b2.db")
    b2.fund_deposit(SENDER, 500)
    t = ticket(b2, recipient=ORCH2_ADDR)
    assert revert(b2, t, sign(t)) == "transcoder must be registered"
    assert not b2.is_used_ticket(t.hash())  # the whole call rolled back
    # zero face value: nothing transferred, still redeemed and used
    t0 = ticket(b2, face_value=0, recipient=ORCH2_ADDR, sender_nonce=9)
    b2.redeem_winning_ticket(t0, sign(t0), RAND)
    assert [e.name for e in b2.events()][-1] == "WinningTicketRedeemed" and b2.is_used_ticket(t0.hash())


def test_round_not_initialized(tmp_path):
    chain = Chain(tmp_path / "c.db", auto_initialize=False)
    b = LocalBroker(tmp_path / "b.db", chain=chain)
    t = ticket(b)
    chain.advance_rounds(1)
    assert revert(b, t, sign(t)) == "current round is not initialized"
    chain.initialize_round()
    with pytest.raises(BrokerRevert, match="round already initialized"):
        chain.initialize_round()


def test_deposit_then_reserve_partial_claim(tmp_path):
    """spec/pm.md §7.5 'partial claim': reserve 1000, 10 recipients -> 100 each; 90 then only 10."""
    b = LocalBroker(tmp_path / "b.db")
    pool = [bytes([i]) * 20 for i in range(1, 11)]
    for a in pool:
        b.register_transcoder(a)
    b.fund_reserve(SENDER, 1000)
    r = pool[0]
    t1 = ticket(b, recipient=r, face_value=90)
    b.redeem_winning_ticket(t1, sign(t1), RAND)
    assert b.claimed_reserve(SENDER, r) == 90 and b.claimable_reserve(SENDER, r) == 10
    t2 = ticket(b, recipient=r, face_value=90, sender_nonce=2)
    b.redeem_winning_ticket(t2, sign(t2), RAND)
    assert b.transcoder_fees(r) == 100 and b.get_sender_info(SENDER).funds_remaining == 900
    assert [e.args["amount"] for e in b.events("ReserveClaimed")] == ["90", "10"]
    t3 = ticket(b, recipient=r, face_value=90, sender_nonce=3)
    b.redeem_winning_ticket(t3, sign(t3), RAND)  # shortfall: nothing paid, ticket still used
    assert b.is_used_ticket(t3.hash()) and b.transcoder_fees(r) == 100
    assert len(b.events("WinningTicketTransfer")) == 2
    info = b.get_sender_info(SENDER)
    assert info.claimed_in_current_round == 100
    # a claimant that is not active can claim nothing
    b.register_transcoder(pool[1], active=False)
    assert b.claimable_reserve(SENDER, pool[1]) == 0
    # new round: claims reset per round
    b.register_transcoder(pool[1], active=True)
    b.chain.advance_rounds(1)
    assert b.claimed_reserve(SENDER, r) == 0 and b.claimable_reserve(SENDER, r) == 90


def test_deposit_first_then_reserve(broker):
    t = ticket(broker, face_value=1300)
    broker.redeem_winning_ticket(t, sign(t), RAND)
    info = broker.get_sender_info(SENDER)
    assert (info.deposit, info.funds_remaining) == (0, 700)
    assert broker.transcoder_fees(ORCH_ADDR) == 1300


def test_batch_ignores_failures(broker):
    t1, t2 = ticket(broker, sender_nonce=1), ticket(broker, sender_nonce=2)
    lose = ticket(broker, sender_nonce=3, win_prob=0)
    tx = broker.batch_redeem_winning_tickets([t1, t1, lose, t2], [sign(t1), sign(t1), sign(lose), sign(t2)], [RAND] * 4)
    assert len(tx) == 32
    assert broker.last_batch_results == [None, "ticket is used", "ticket did not win", None]
    assert broker.get_sender_info(SENDER).deposit == 800
    assert len(broker.events("WinningTicketRedeemed")) == 2
    broker.set_paused(True)
    with pytest.raises(BrokerRevert, match="system is paused"):
        broker.batch_redeem_winning_tickets([t1], [sign(t1)], [RAND])


# --- funding, unlock, withdraw (§7.7) --------------------------------------------------------------------


def test_funding_rules_and_events(tmp_path):
    b = LocalBroker(tmp_path / "b.db")
    with pytest.raises(BrokerRevert) as ei:
        b.fund_deposit_and_reserve(SENDER, 10, 20, value=29)
    assert ei.value.reason == "msg.value does not equal sum of deposit amount and reserve amount"
    b.fund_deposit_and_reserve(SENDER, 10, 20, value=30)
    assert [e.name for e in b.events()] == ["ReserveFunded", "DepositFunded"]
    b.fund_deposit(SENDER, 5)
    b.fund_reserve(SENDER, 7)
    info = b.get_sender_info(SENDER)
    assert (info.deposit, info.funds_remaining) == (15, 27)
    b.set_paused(True)
    for call in (lambda: b.fund_deposit(SENDER, 1), lambda: b.fund_reserve(SENDER, 1), lambda: b.unlock(SENDER),
                 lambda: b.cancel_unlock(SENDER), lambda: b.withdraw(SENDER)):
        with pytest.raises(BrokerRevert, match="^system is paused$"):
            call()
    b.set_paused(False)
    with pytest.raises(ValueError, match="amount"):
        b.fund_deposit(SENDER, -1)


def test_unlock_cancel_withdraw(tmp_path):
    b = LocalBroker(tmp_path / "b.db", unlock_period=2)
    for call, msg in ((b.unlock, "sender deposit and reserve are zero"),
                      (b.withdraw, "sender deposit and reserve are zero"),
                      (b.cancel_unlock, "no unlock request in progress")):
        with pytest.raises(BrokerRevert) as ei:
            call(SENDER)
        assert ei.value.reason == msg
    b.fund_deposit_and_reserve(SENDER, 100, 50)
    with pytest.raises(BrokerRevert, match="^no unlock request in progress$"):
        b.withdraw(SENDER)
    cur = b.chain.current_round()
    assert b.unlock(SENDER) == cur + 2 and b.is_unlock_in_progress(SENDER)
    assert b.events("Unlock")[-1].args == {"sender": "0x" + SENDER.hex(), "startRound": str(cur), "endRound": str(cur + 2)}
    with pytest.raises(BrokerRevert, match="^unlock already initiated$"):
        b.unlock(SENDER)
    b.cancel_unlock(SENDER)
    assert not b.is_unlock_in_progress(SENDER) and b.events()[-1].name == "UnlockCancelled"
    b.unlock(SENDER)
    # funding by someone else for the sender does not cancel; the sender's own funding does
    b.fund_deposit_and_reserve_for(OTHER, SENDER, 1, 0)
    assert b.is_unlock_in_progress(SENDER)
    b.fund_deposit(SENDER, 1)
    assert not b.is_unlock_in_progress(SENDER)
    assert [e.name for e in b.events()][-2:] == ["UnlockCancelled", "DepositFunded"]
    b.unlock(SENDER)
    b.chain.advance_rounds(1)
    with pytest.raises(BrokerRevert, match="^account is locked$"):
        b.withdraw(SENDER)
    b.chain.advance_rounds(1)
    assert b.withdraw(SENDER) == (102, 50)
    info = b.get_sender_info(SENDER)
    assert (info.deposit, info.funds_remaining) == (0, 0)
    tot = b.totals()
    assert tot["funded"] == 152 and tot["withdrawn"] == 152 and tot["deposits"] == tot["reserves"] == 0


def test_state_survives_reopen(tmp_path):
    b = LocalBroker(tmp_path / "b.db")
    b.register_transcoder(ORCH_ADDR)
    b.fund_deposit_and_reserve(SENDER, 1000, 10)
    b.chain.advance(123)
    t = ticket(b)
    b.redeem_winning_ticket(t, sign(t), RAND)
    block, rnd = b.chain.last_seen_l1_block(), b.chain.last_initialized_round()
    b.close()
    b.chain.close()
    b2 = LocalBroker(tmp_path / "b.db")
    assert b2.chain.last_seen_l1_block() == block and b2.chain.last_initialized_round() == rnd
    assert b2.get_sender_info(SENDER).deposit == 900 and b2.is_used_ticket(t.hash())
    assert b2.transcoder_pool_size() == 1


def test_protocol_recipe_vectors_redeem_on_local_broker(tmp_path):
    """spec/pm.md §8.6: the protocol-test recipe's signed tickets redeem on the embedded broker."""
    import json

    from tests.pm.helpers import VECTORS_PATH

    rec = json.loads(VECTORS_PATH.read_text())["protocol_recipe"]
    foo = bytes.fromhex(rec["creation_round_block_hash"])

    class RecipeChain(Chain):
        def block_hash_for_round(self, round_):
            return foo if round_ == 10 else super().block_hash_for_round(round_)

    chain = RecipeChain(tmp_path / "c.db", round_length=50, start_block=10 * 50 + 3)
    b = LocalBroker(tmp_path / "b.db", chain=chain)
    sender, recipient = bytes.fromhex(rec["sender"]), bytes.fromhex(rec["recipient"])
    b.register_transcoder(recipient)
    b.fund_deposit_and_reserve(sender, 10**6, 10**6)
    for v in rec["vectors"]:
        t = pm.Ticket(recipient=recipient, sender=sender, face_value=int(v["face_value"]), win_prob=int(rec["win_prob"]),
                      sender_nonce=int(rec["sender_nonce"]), recipient_rand_hash=bytes.fromhex(rec["recipient_rand_hash"]),
                      creation_round=int(rec["creation_round"]), creation_round_block_hash=foo)
        assert t.hash().hex() == v["ticket_hash"] and t.aux_data().hex() == rec["aux_data"]
        b.redeem_winning_ticket(t, bytes.fromhex(v["sig"]), int(rec["recipient_rand"]))
    assert b.transcoder_fees(recipient) == 1000
    assert [e.name for e in b.events()][-3:] == ["WinningTicketRedeemed", "WinningTicketTransfer", "WinningTicketRedeemed"]


def test_ticket_validity_period_must_be_positive(tmp_path):
    with pytest.raises(BrokerRevert) as ei:
        LocalBroker(tmp_path / "b.db", ticket_validity_period=0)
    assert ei.value.reason == "ticketValidityPeriod must be greater than 0"


def test_concurrent_redemptions_pay_each_ticket_once(broker):
    import threading

    tickets = [ticket(broker, sender_nonce=i) for i in range(1, 9)]
    sigs = [sign(t) for t in tickets]
    outcomes = []
    lock = threading.Lock()

    def work():
        for t, s in zip(tickets, sigs):
            try:
                broker.redeem_winning_ticket(t, s, RAND)
                r = "ok"
            except BrokerRevert as err:
                r = err.reason
            with lock:
                outcomes.append(r)

    threads = [threading.Thread(target=work) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert outcomes.count("ok") == 8 and outcomes.count("ticket is used") == 24
    assert broker.transcoder_fees(ORCH_ADDR) == 800 and broker.get_sender_info(SENDER).deposit == 200


def test_bad_arguments(broker):
    t = ticket(broker)
    with pytest.raises(TypeError, match="sigs"):
        broker.redeem_winning_ticket(t, "00" * 65, RAND)
    with pytest.raises(ValueError, match="recipient_rands"):
        broker.redeem_winning_ticket(t, sign(t), -1)
    with pytest.raises(TypeError, match="tickets"):
        broker.redeem_winning_ticket({"face_value": 1}, sign(t), RAND)
    with pytest.raises(ValueError, match="same length"):
        broker.batch_redeem_winning_tickets([t], [], [RAND])
    with pytest.raises(ValueError, match="sender"):
        broker.fund_deposit(b"\0" * 19, 1)
    with pytest.raises(TypeError, match="amount"):
        broker.fund_reserve(SENDER, 1.5)
    assert broker.get_sender_info(SENDER).deposit == 1000  # nothing changed


def test_pool_growth_mid_round_underflows_like_the_contract(tmp_path):
    b = LocalBroker(tmp_path / "b.db")
    b.register_transcoder(ORCH_ADDR)
    b.fund_reserve(SENDER, 1000)
    t = ticket(b, face_value=600)
    b.redeem_winning_ticket(t, sign(t), RAND)  # pool 1: claims 600 of 1000
    for i in range(1, 4):
        b.register_transcoder(bytes([i]) * 20)  # pool 4: share (400 + 600) / 4 = 250 < 600 already claimed
    with pytest.raises(BrokerRevert, match="0x11"):
        b.claimable_reserve(SENDER, ORCH_ADDR)
