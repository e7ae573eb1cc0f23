"""ChainBroker against the real TicketBroker bytecode on py-evm: ticket hash, gateway operations, every revert
string the stand-ins can produce, failed receipts, stuck and replaced transactions, node errors."""

from __future__ import annotations

import threading
import time

import pytest
from eth_account import Account

from lpcore import BrokerRevert, pm
from lpcore.broker import ChainBroker, ChainError
from lpcore.broker.txn import TxFailed

from tests.broker.onchain_helpers import (  # noqa: F401 - env is a fixture
    GATEWAY, GATEWAY_KEY, ORCH, ORCH_KEY, OTHER_KEY, env,
)

ETH = 10**18


def test_ticket_hash_equals_get_ticket_hash(env):
    b = env.broker()
    for st in (env.ticket(), env.ticket(nonce=2**32 - 1, face_value=2**255, win_prob=3, rand=2**256 - 1),
               env.ticket(creation_round=0, block_hash=b"\0" * 32)):
        assert st.ticket.hash() == b.ticket_hash(st.ticket)


def test_gateway_operations_move_money_and_return_final_tx_hashes(env, tmp_path):
    gb = env.broker(GATEWAY_KEY, tmp_path)
    start = gb.balance()
    txs = [gb.fund_deposit_and_reserve(3 * ETH, 2 * ETH), gb.fund_deposit(ETH), gb.fund_reserve(ETH)]
    for h in txs:
        r = env.w3.eth.get_transaction_receipt(h)
        assert r.status == 1 and len(h) == 32
    info = gb.get_sender_info(GATEWAY)
    assert (info.deposit, info.funds_remaining, info.withdraw_round) == (4 * ETH, 3 * ETH, 0)
    gb.unlock()
    assert gb.get_sender_info(GATEWAY).withdraw_round == 10 + 2
    gb.cancel_unlock()
    assert gb.get_sender_info(GATEWAY).withdraw_round == 0
    gb.unlock()
    env.dep.set_round(12)
    before = gb.balance()
    h = gb.withdraw()
    r = env.w3.eth.get_transaction_receipt(h)
    assert gb.balance() == before + 7 * ETH - r.gasUsed * r.effectiveGasPrice
    assert gb.get_sender_info(GATEWAY).deposit == 0
    assert start - gb.balance() > 0  # only gas is gone
    recs = gb.journal.recent(limit=20)
    assert [r.state for r in recs] == ["confirmed"] * 7
    assert {r.kind for r in recs} == {"fundDepositAndReserve", "fundDeposit", "fundReserve", "unlock",
                                      "cancelUnlock", "withdraw"}
    assert [r.nonce for r in reversed(recs)] == list(range(7))  # no nonce gap
    # EIP-1559 fields and the gas margin
    tx = env.w3.eth.get_transaction(recs[0].final_hash)
    assert tx.type == 2 and tx.maxFeePerGas >= tx.maxPriorityFeePerGas
    assert tx.gas > r.gasUsed


FUNDING_REVERTS = [
    ("unlock", "sender deposit and reserve are zero"),
    ("withdraw", "sender deposit and reserve are zero"),
    ("cancel_unlock", "no unlock request in progress"),
]


@pytest.mark.parametrize("op, reason", FUNDING_REVERTS)
def test_funding_reverts_before_sending(env, op, reason):
    gb = env.broker(GATEWAY_KEY)
    with pytest.raises(BrokerRevert) as ei:
        getattr(gb, op)()
    assert reason in str(ei.value) and reason in ei.value.reason
    assert gb.journal.recent() == []  # nothing recorded, nothing sent


def test_funding_reverts_with_state(env):
    gb = env.broker(GATEWAY_KEY)
    gb.fund_deposit(ETH)
    with pytest.raises(BrokerRevert, match="no unlock request in progress"):
        gb.withdraw()
    gb.unlock()
    with pytest.raises(BrokerRevert, match="unlock already initiated"):
        gb.unlock()
    with pytest.raises(BrokerRevert, match="account is locked"):
        gb.withdraw()
    fn = gb.contract.functions.fundDepositAndReserve(1, 2)
    with pytest.raises(BrokerRevert, match="msg.value does not equal sum of deposit amount and reserve amount"):
        gb._transact("fundDepositAndReserve", fn, value=4)
    env.dep.transact(env.dep.controller.functions.pause())
    with pytest.raises(BrokerRevert, match="system is paused"):
        gb.fund_deposit(1)
    with pytest.raises(BrokerRevert, match="system is paused"):
        env.broker(ORCH_KEY).redeem_winning_ticket(*_args(env.ticket()))


def _args(st):
    return st.ticket, st.sig, st.recipient_rand


def _funded(env, deposit=ETH, reserve=ETH):
    gb = env.broker(GATEWAY_KEY)
    gb.fund_deposit_and_reserve(deposit, reserve)
    return gb


def _bad_sig(st, sig):
    return pm.queue.SignedTicket(st.ticket, sig, st.recipient_rand)


def test_every_redemption_revert_string(env):
    """pm.md §7.4 in the contract's order, each reached through ChainBroker.redeem_winning_ticket."""
    ob = env.broker(ORCH_KEY)
    good = env.ticket()
    n = pm.SECP256K1_N
    sig = good.sig
    r_, s_, v_ = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    cases = [
        (env.ticket(recipient=b"\0" * 20), "ticket recipient is null address"),
        (env.ticket(sender=b"\0" * 20), "ticket sender is null address"),
        (env.ticket(creation_round=0, block_hash=b"\0" * 32), "invalid length for ticket auxData: must be 64 bytes"),
        (env.ticket(creation_round=7), "ticket creationRound does not have a block hash"),
        (env.ticket(block_hash=b"\x11" * 32), "ticket creationRoundBlockHash invalid for creationRound"),
        (pm.queue.SignedTicket(good.ticket, good.sig, 6), "recipientRand does not match recipientRandHash"),
        (_bad_sig(good, sig[:64]), "INVALID_SIGNATURE_LENGTH"),
        (_bad_sig(good, r_ + (n - s_).to_bytes(32, "big") + bytes([55 - v_])), "ECDSA: invalid signature 's' value"),
        (_bad_sig(good, sig[:64] + b"\x05"), "ECDSA: invalid signature 'v' value"),
        (_bad_sig(good, b"\0" * 64 + b"\x1b"), "ECDSA: invalid signature"),
        (env.ticket(sign_key=OTHER_KEY), "invalid signature over ticket hash"),
        (env.ticket(win_prob=0), "ticket did not win"),
        (env.ticket(nonce=9), "sender deposit and reserve are zero"),  # wording before protocol#657
    ]
    for st, reason in cases:
        with pytest.raises(BrokerRevert) as ei:
            ob.redeem_winning_ticket(*_args(st))
        assert reason in str(ei.value), (reason, str(ei.value))
    gb = _funded(env)
    ob.redeem_winning_ticket(*_args(good))
    with pytest.raises(BrokerRevert, match="ticket is used"):
        env.broker(OTHER_KEY).redeem_winning_ticket(*_args(good))
    gb.unlock()
    env.dep.set_round(11, block_hash=env.dep.round_hashes[10])
    env.dep.set_round(12)
    env.dep.round_hashes[10] = env.dep.rounds.functions.blockHashForRound(10).call()
    with pytest.raises(BrokerRevert, match="sender is unlocked"):
        ob.redeem_winning_ticket(*_args(env.ticket(nonce=3, creation_round=11)))
    with pytest.raises(BrokerRevert, match="ticket is expired"):
        ob.redeem_winning_ticket(*_args(env.ticket(nonce=4)))
    env.dep.set_round(13, initialized=False)
    with pytest.raises(BrokerRevert, match="current round is not initialized"):
        ob.redeem_winning_ticket(*_args(env.ticket(nonce=5)))


def test_unregistered_recipient_reverts_in_bonding_manager(env):
    _funded(env)
    env.dep.set_transcoder(ORCH, active=False, registered=False)
    with pytest.raises(BrokerRevert, match="transcoder must be registered"):
        env.broker(ORCH_KEY).redeem_winning_ticket(*_args(env.ticket()))


def test_failed_receipt_carries_the_replayed_revert_reason(env, tmp_path):
    """The estimate passes, then a competitor redeems first: the mined tx fails and the reason is replayed."""
    _funded(env)
    ob = env.broker(ORCH_KEY, tmp_path)
    st = env.ticket()
    env.node.faults.hold_sends = 1
    out = {}

    def run():
        try:
            out["tx"] = ob.redeem_winning_ticket(*_args(st))
        except Exception as exc:  # noqa: BLE001
            out["err"] = exc

    th = threading.Thread(target=run)
    th.start()
    deadline = time.monotonic() + 20
    while not env.node.faults.held and time.monotonic() < deadline:
        time.sleep(0.01)
    env.broker(OTHER_KEY).redeem_winning_ticket(*_args(st))
    env.node.release_held()
    th.join(30)
    err = out.get("err")
    assert isinstance(err, TxFailed) and "ticket is used" in str(err) and err.tx_hash
    rec = ob.journal.recent()[0]
    assert rec.state == "failed" and "ticket is used" in rec.reason
    assert env.w3.eth.get_transaction_receipt(err.tx_hash).status == 0


def test_stuck_transaction_is_replaced_and_the_ticket_paid_once(env, tmp_path):
    _funded(env)
    ob = env.broker(ORCH_KEY, tmp_path, tx_timeout_s=0.3, max_replacements=2)
    st = env.ticket(face_value=777)
    env.node.faults.drop_sends = 1  # the node accepts the first tx and loses it
    tx = ob.redeem_winning_ticket(*_args(st))
    rec = ob.journal.recent()[0]
    assert rec.state == "confirmed" and len(rec.hashes) == 2 and rec.final_hash == rec.hashes[1]
    (h0, _, fee0, tip0), (h1, _, fee1, tip1) = ob.journal.attempts(rec.id)
    assert fee1 == -(-fee0 * 111 // 100) and tip1 == -(-tip0 * 111 // 100)
    assert tx.hex() == h1[2:] and env.dep.fees(ORCH) == 777
    assert ob.is_used_ticket(st.ticket.hash())


def test_delayed_original_loses_to_its_replacement(env, tmp_path):
    _funded(env)
    ob = env.broker(ORCH_KEY, tmp_path, tx_timeout_s=0.3)
    st = env.ticket(face_value=555)
    env.node.faults.hold_sends = 1  # the first tx is delayed, then delivered after its replacement
    tx = ob.redeem_winning_ticket(*_args(st))
    late = env.node.release_held()
    assert len(late) == 1 and str(late[0]).startswith("error")  # its nonce is already used
    assert env.dep.fees(ORCH) == 555 and env.w3.eth.get_transaction_receipt(tx).status == 1


@pytest.mark.parametrize("error", ["nonce too low", "replacement transaction underpriced"])
def test_first_send_nonce_errors_resync_and_resign(env, tmp_path, error):
    gb = env.broker(GATEWAY_KEY, tmp_path)
    env.node.faults.errors["eth_sendRawTransaction"] = [error]
    gb.fund_deposit(5)
    rec = gb.journal.recent()[0]
    assert rec.state == "confirmed" and len(rec.hashes) == 1 and rec.nonce == 0


def test_insufficient_funds_fails_without_using_the_nonce(env, tmp_path):
    gb = env.broker(GATEWAY_KEY, tmp_path)
    env.node.faults.errors["eth_sendRawTransaction"] = [
        "insufficient funds for gas * price + value: address 0xf39F have 1 want 2"]
    with pytest.raises(ChainError, match="insufficient funds"):
        gb.fund_deposit(5)
    assert gb.journal.recent()[0].state == "failed"
    gb.fund_deposit(6)  # the same nonce serves the next transaction: no gap
    assert gb.journal.recent()[0].nonce == 0 and gb.get_sender_info(GATEWAY).deposit == 6


def test_send_timeout_is_rebroadcast_and_receipt_timeouts_are_polled_through(env, tmp_path):
    gb = env.broker(GATEWAY_KEY, tmp_path, tx_timeout_s=0.2)
    env.node.faults.timeouts["eth_sendRawTransaction"] = 1
    env.node.faults.timeouts["eth_getTransactionReceipt"] = 3
    gb.fund_deposit(7)
    rec = gb.journal.recent()[0]
    assert rec.state == "confirmed" and gb.get_sender_info(GATEWAY).deposit == 7


def test_max_gas_price_refuses_to_build(env, tmp_path):
    gb = env.broker(GATEWAY_KEY, tmp_path, max_gas_price=1)
    with pytest.raises(ChainError, match="current gas price exceeds maximum gas price"):
        gb.fund_deposit(1)
    assert gb.journal.recent() == []
    capped = env.broker(GATEWAY_KEY, tmp_path, name="j2.db", max_gas_price=10**12)
    capped.fund_deposit(1)
    tx = env.w3.eth.get_transaction(capped.journal.recent()[0].final_hash)
    assert tx.maxFeePerGas <= 10**12


def test_chain_id_and_journal_identity(env, tmp_path):
    with pytest.raises(ChainError, match="expecting chainID of 42161"):
        ChainBroker(env.w3, controller=env.dep.controller.address)  # Arbitrum One by default
    env.broker(GATEWAY_KEY, tmp_path).close()
    env.node.w3.eth  # noqa: B018
    from lpcore.broker.txn import TxJournal

    j = TxJournal(tmp_path / "journal.db")
    j.set_meta("chain_id", "1")
    j.close()
    with pytest.raises(ChainError, match="belongs to chain 1"):
        env.broker(GATEWAY_KEY, tmp_path)


def test_keystore_and_no_key_leaks(env, tmp_path):
    ks = Account.encrypt(GATEWAY_KEY, "pw", kdf="pbkdf2", iterations=2)
    path = tmp_path / "key.json"
    import json

    path.write_text(json.dumps(ks))
    b = ChainBroker(env.w3, controller=env.dep.controller.address, keystore=str(path), password="pw", chain_id=None)
    assert b.address == GATEWAY
    assert GATEWAY_KEY.hex() not in repr(b) and GATEWAY_KEY.hex() not in str(vars(b))
    with pytest.raises(ValueError, match="could not decrypt"):
        ChainBroker(env.w3, controller=env.dep.controller.address, keystore=ks, password="nope", chain_id=None)
    ro = ChainBroker(env.w3, controller=env.dep.controller.address, chain_id=None)
    with pytest.raises(ChainError, match="read-only"):
        ro.fund_deposit(1)


def test_batch_reports_which_tickets_were_paid(env, tmp_path):
    _funded(env, deposit=2500, reserve=0)
    ob = env.broker(ORCH_KEY, tmp_path)
    sts = [env.ticket(nonce=i, face_value=1000) for i in range(1, 5)]
    sts.append(env.ticket(nonce=9, win_prob=0))  # fails its pre-check: never sent
    res = ob.redeem_batch(*zip(*[_args(st) for st in sts]))
    paid = [tx is not None for tx, _ in res]
    # deposit 2500 pays 1000, 1000, then 500 of the third; the fourth finds deposit and reserve zero
    assert paid == [True, True, True, False, False]
    assert "sender deposit and reserve are zero" in str(res[3][1]) and "ticket did not win" in str(res[4][1])
    assert len({tx for tx, _ in res[:3]}) == 1  # one batch transaction
    assert env.dep.fees(ORCH) == 2500
    rec = [r for r in ob.journal.recent() if r.kind == "batchRedeemWinningTickets"][0]
    assert [o for _, _, o in ob.journal.tickets_of(rec.id)] == ["paid", "paid", "paid", "unpaid"]


def test_one_writer_per_account_under_threads(env, tmp_path):
    gb = env.broker(GATEWAY_KEY, tmp_path)
    errors = []

    def fund(v):
        try:
            gb.fund_deposit(v)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=fund, args=(v,)) for v in (1, 2, 3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and gb.get_sender_info(GATEWAY).deposit == 10
    assert sorted(r.nonce for r in gb.journal.recent()) == [0, 1, 2, 3]


def test_bad_arguments_are_lpcore_errors(env):
    from lpcore import LpcoreError

    gb = env.broker(GATEWAY_KEY)
    for call in (lambda: gb.fund_deposit(-1), lambda: gb.fund_deposit(2**256), lambda: gb.fund_deposit(1.5),
                 lambda: gb.get_sender_info(b"\x01" * 19), lambda: ChainBroker("ftp://x"),
                 lambda: ChainBroker(42), lambda: ChainBroker("ws://127.0.0.1:9"),
                 lambda: env.broker(key="zz"), lambda: env.broker(key=b"\x01" * 31),
                 lambda: gb.redeem_batch([env.ticket().ticket], [], [])):
        with pytest.raises(LpcoreError):
            call()


def test_underpriced_replacement_is_bumped_again(env, tmp_path):
    _funded(env)
    ob = env.broker(ORCH_KEY, tmp_path, tx_timeout_s=0.3)
    st = env.ticket(face_value=321)
    env.node.faults.send_script = ["drop", "replacement transaction underpriced", "pass"]
    ob.redeem_winning_ticket(*_args(st))
    rec = ob.journal.recent()[0]
    (_, _, fee0, _), (_, _, fee2, _) = ob.journal.attempts(rec.id)  # the refused attempt is not kept
    assert fee2 == -(-(-(-fee0 * 111 // 100)) * 111 // 100)  # two bumps of 11 %
    assert rec.state == "confirmed" and rec.final_hash == rec.hashes[-1] and env.dep.fees(ORCH) == 321


def test_confirmation_depth(env, tmp_path):
    gb = env.broker(GATEWAY_KEY, tmp_path, confirmations=2)
    out = {}
    th = threading.Thread(target=lambda: out.update(tx=gb.fund_deposit(3)))
    th.start()
    time.sleep(0.5)
    assert "tx" not in out  # mined, but one block deep only
    with env.node.lock:
        env.node.tester.mine_blocks(1)
    th.join(30)
    assert out["tx"] and gb.journal.recent()[0].state == "confirmed"


def test_restart_drops_a_signed_tx_whose_nonce_a_foreign_tx_took(env, tmp_path):
    gb = env.broker(GATEWAY_KEY, tmp_path)
    s = gb.sender
    fn = gb.contract.functions.fundDeposit()
    data = bytes.fromhex(fn._encode_transaction_data()[2:])
    tx_id = s.journal.record(s.address, "fundDeposit", gb.address_hex, 5, data, 100_000)
    fee_cap, tip = s.fees()
    s._sign(tx_id, 0, fee_cap, tip)  # signed and journaled, then the process "died" before sending
    foreign = Account.from_key(GATEWAY_KEY).sign_transaction({  # the same key used elsewhere, nonce 0
        "type": 2, "chainId": gb.chain_id, "nonce": 0, "to": gb.address_hex, "value": 0, "gas": 21_000 * 5,
        "data": b"", "maxFeePerGas": fee_cap, "maxPriorityFeePerGas": tip})
    env.w3.eth.send_raw_transaction(foreign.raw_transaction)
    gb2 = env.broker(GATEWAY_KEY, tmp_path)  # reconciles at start
    assert gb2.journal.get(tx_id).state == "dropped"
    gb2.fund_deposit(6)
    assert gb2.journal.recent()[0].nonce == 1 and gb2.get_sender_info(GATEWAY).deposit == 6


def test_restart_rebroadcasts_a_signed_but_unsent_tx(env, tmp_path):
    gb = env.broker(GATEWAY_KEY, tmp_path)
    s = gb.sender
    data = bytes.fromhex(gb.contract.functions.fundDeposit()._encode_transaction_data()[2:])
    tx_id = s.journal.record(s.address, "fundDeposit", gb.address_hex, 9, data, 100_000)
    s._sign(tx_id, 0, *s.fees())
    gb2 = env.broker(GATEWAY_KEY, tmp_path)
    gb2.sender.wait(tx_id, timeout_s=10)
    assert gb2.journal.get(tx_id).state == "confirmed" and gb2.get_sender_info(GATEWAY).deposit == 9
    gb2.fund_deposit(1)
    assert gb2.journal.recent()[0].nonce == 1


def test_keystore_as_json_text_dict_and_password_file(env, tmp_path):
    import json

    ks = Account.encrypt(GATEWAY_KEY, "secret", kdf="pbkdf2", iterations=2)
    pw = tmp_path / "pw.txt"
    pw.write_text("secret\n")
    for keystore, password in ((json.dumps(ks), "secret"), (ks, str(pw)), (ks, pw)):
        b = ChainBroker(env.w3, controller=env.dep.controller.address, keystore=keystore, password=password,
                        chain_id=None)
        assert b.address == GATEWAY


def test_replay_through_the_same_broker_reverts_and_names_the_paying_tx(env, tmp_path):
    _funded(env)
    ob = env.broker(ORCH_KEY, tmp_path)
    st = env.ticket()
    tx = ob.redeem_winning_ticket(*_args(st))
    with pytest.raises(BrokerRevert, match="ticket is used"):
        ob.redeem_winning_ticket(*_args(st))
    assert ob.redemption_tx(st.ticket.hash()) == tx
    assert env.broker(OTHER_KEY).redemption_tx(st.ticket.hash()) is None  # not paid by that account's journal
