"""The JSON-RPC path over HTTP: the same EVM behind a local JSON-RPC endpoint on 127.0.0.1 drives
ChainBroker("http://127.0.0.1:PORT") and the remote signer's chain view."""

from __future__ import annotations

import pytest

from lpcore.broker import ChainBroker, ChainError, ChainView
from lpcore.signer import ChainSnapshot, JsonRpcChainState

from tests.broker.evm_node import serve
from tests.broker.onchain_helpers import GATEWAY, GATEWAY_KEY, ORCH, ORCH_KEY, env  # noqa: F401


@pytest.fixture
def url(env):
    server = serve(env.node)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_chain_broker_over_http(env, url, tmp_path):
    ctl = env.dep.controller.address
    gb = ChainBroker(url, controller=ctl, key=GATEWAY_KEY, chain_id=None, journal=str(tmp_path / "g.db"), poll_s=0.01)
    ob = ChainBroker(url, controller=ctl, key=ORCH_KEY, chain_id=None, journal=str(tmp_path / "o.db"), poll_s=0.01)
    gb.fund_deposit_and_reserve(10**15, 10**15)
    st = env.ticket(face_value=12345)
    tx = ob.redeem_winning_ticket(st.ticket, st.sig, st.recipient_rand)
    assert env.w3.eth.get_transaction_receipt(tx).status == 1 and env.dep.fees(ORCH) == 12345
    assert ob.is_used_ticket(st.ticket.hash()) and ob.ticket_hash(st.ticket) == st.ticket.hash()
    assert gb.get_sender_info(GATEWAY).deposit == 10**15 - 12345
    assert (gb.last_seen_l1_block(), gb.last_initialized_round(), gb.last_initialized_l1_block_hash()) == (
        1000, 10, env.dep.round_hashes[10])
    with pytest.raises(ChainError, match="expecting chainID of 42161"):
        ChainBroker(url, controller=ctl)


def test_signer_chain_view_over_http(env, url, tmp_path):
    gb = ChainBroker(url, controller=env.dep.controller.address, key=GATEWAY_KEY, chain_id=None, poll_s=0.01)
    gb.fund_deposit_and_reserve(7, 9)
    view = JsonRpcChainState(url, GATEWAY, controller=bytes.fromhex(env.dep.controller.address[2:]))
    assert view.snapshot() == ChainSnapshot(last_seen_l1_block=1000, last_initialized_round=10,
                                            last_initialized_block_hash=env.dep.round_hashes[10], deposit=7,
                                            withdraw_round=0, reserve_funds_remaining=9)
    env.dep.set_l1_block(1040)
    assert view.poll().last_seen_l1_block == 1040
    # the one chain view notifies L1 block subscribers (the redemption queue's trigger); a failing one
    # does not stop the others
    cv = ChainView(url, controller=bytes.fromhex(env.dep.controller.address[2:]))
    seen = []
    cv.subscribe_l1_blocks(lambda b: 1 / 0)
    cv.subscribe_l1_blocks(seen.append)
    cv.poll()
    env.dep.set_l1_block(1041)
    cv.poll()
    cv.poll()
    assert seen == [1040, 1041] and isinstance(cv.last_error, ZeroDivisionError)


def test_l1_block_falls_back_to_the_block_json_without_block_num(env):
    # a RoundsManager without blockNum() (here: the Minter stand-in's address): the block JSON's number is used
    cv = ChainView(env.w3, controller=bytes.fromhex(env.dep.controller.address[2:]),
                   rounds_manager=bytes.fromhex(env.dep.minter.address[2:]))
    assert cv.last_seen_l1_block() == env.w3.eth.block_number
    assert ChainView(env.w3, controller=bytes.fromhex(env.dep.controller.address[2:])).last_seen_l1_block() == 1000
