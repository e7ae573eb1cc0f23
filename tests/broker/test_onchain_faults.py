"""SIGKILL between record and send, between send and receipt, and during a batch (20 kills each, random steps).

The EVM lives in its own process (forked from the test with the deployed contracts, served over HTTP on
127.0.0.1), so its state survives every kill; only the broker process dies. Each trial forks a broker worker that
reconciles the journal and runs one redemption pass, and is killed by ``SIGKILL`` at a random step of the
transaction path (``lpcore.broker.txn.FAULT_HOOK``: after the record, after signing, after the send, after the
receipt is seen, after the bookkeeping) or at a random moment. Afterwards every winning ticket is redeemed exactly
once (or still queued), the queue says ``redeemed`` with the paying transaction, balances reconcile, and the
account has no nonce gap.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
import urllib.request

import pytest

from lpcore import pm
from lpcore.broker import ChainBroker

from tests.broker.evm_node import serve
from tests.broker.onchain_helpers import GATEWAY_KEY, ORCH, ORCH_KEY, env  # noqa: F401

RECORD_SEND = ("recorded", "signed")
SEND_RECEIPT = ("sent", "mined", "finalized")
KILLS = 20        # SIGKILLs per scenario
MAX_TRIALS = 45   # a trial whose worker finished before its kill does not count


def _control(url: str, *params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "test_control", "params": list(params)}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310 - 127.0.0.1 test node
        return json.loads(r.read())["result"]


def _fork_server(node):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the EVM process: serve the deployed node until killed (bounded)
        try:
            os.close(r)
            server = serve(node)
            os.write(w, f"{server.server_address[1]}\n".encode())
            os.close(w)
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline:
                time.sleep(1)
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        port = int(f.readline())
    return pid, f"http://127.0.0.1:{port}"


def _worker(url, ctl, tmp, step, count, batch_size) -> None:
    """Runs in the forked broker process; never returns."""
    code = 1
    try:
        from lpcore.broker import txn

        left = [count]

        def hook(s):
            if s == step:
                left[0] -= 1
                if left[0] <= 0:
                    os.kill(os.getpid(), signal.SIGKILL)

        txn.FAULT_HOOK = hook if step else None
        ob = ChainBroker(url, controller=ctl, key=ORCH_KEY, chain_id=None, journal=str(tmp / "journal.db"),
                         poll_s=0.02, tx_timeout_s=2.0, batch_size=batch_size)
        ob.reconcile(wait_s=5.0)
        queue = pm.RedemptionQueue(tmp / "queue.db")
        monitor = pm.SenderMonitor(ORCH, ob, ob, queue, gas_price=0)  # tx-cost checks: tests/pm
        run = monitor.on_new_l1_block(ob.last_seen_l1_block())
        code = 0 if run.error is None else 3
    finally:
        os._exit(code)


def _run_worker(url, ctl, tmp, step, count, batch_size, kill_after=None) -> int | None:
    """Fork a broker worker; returns its wait status, or ``None`` if this process killed it."""
    pid = os.fork()
    if pid == 0:
        _worker(url, ctl, tmp, step, count, batch_size)
    deadline = time.monotonic() + 60
    killed_at = None if kill_after is None else time.monotonic() + kill_after
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        now = time.monotonic()
        if (killed_at is not None and now >= killed_at) or now >= deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.005)


@pytest.mark.slow
def test_sigkill_at_every_step_loses_nothing_and_pays_nothing_twice(env, tmp_path):
    rng = random.Random(20261201)
    gb = env.broker(GATEWAY_KEY)
    deposit = 10**18
    gb.fund_deposit_and_reserve(deposit, 0)
    ctl = env.dep.controller.address
    server, url = _fork_server(env.node)
    try:
        queue = pm.RedemptionQueue(tmp_path / "queue.db")
        nonce = 0
        l1 = 1000
        kills = {"record-send": 0, "send-receipt": 0, "batch": 0}
        for scenario in ("record-send", "send-receipt", "batch"):
            for _ in range(MAX_TRIALS):  # until 20 trials of the scenario were really killed (bounded)
                if kills[scenario] >= KILLS:
                    break
                n = rng.randint(3, 5) if scenario == "batch" else 1
                for _ in range(n):
                    nonce += 1
                    queue.add(env.ticket(nonce=nonce, face_value=rng.randint(1, 10**6)))
                l1 += 1
                _control(url, "set_l1", l1)
                if scenario == "batch" and rng.random() < 0.5:
                    status = _run_worker(url, ctl, tmp_path, None, 1, 20, kill_after=rng.uniform(0.01, 0.6))
                else:
                    steps = RECORD_SEND if scenario == "record-send" else (
                        SEND_RECEIPT if scenario == "send-receipt" else RECORD_SEND + SEND_RECEIPT)
                    status = _run_worker(url, ctl, tmp_path, rng.choice(steps), rng.choice((1, 1, 2)), 20)
                if status is None or (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
                    kills[scenario] += 1
        # a clean run settles everything the kills left behind (back-off over: later L1 blocks)
        for _ in range(6):
            l1 += 70
            _control(url, "set_l1", l1)
            assert _run_worker(url, ctl, tmp_path, None, 1, 20) == 0
            if queue.counts() == {"redeemed": nonce}:
                break
        assert all(k >= KILLS for k in kills.values()), kills  # the kills really happened

        from web3 import Web3

        ob = ChainBroker(Web3(Web3.HTTPProvider(url)), controller=ctl, chain_id=None,
                         journal=str(tmp_path / "journal.db"), key=ORCH_KEY)
        tickets = queue.all_tickets()
        assert len(tickets) == nonce and queue.counts() == {"redeemed": nonce}
        # 1. every ticket redeemed, with the transaction that paid it
        for st, status, tx, err in tickets:
            h = st.ticket.hash()
            assert ob.is_used_ticket(h)
            receipt = ob.w3.eth.get_transaction_receipt(tx)
            assert receipt.status == 1 and h in ob._paid_hashes(receipt.logs), err
            mined = [t for t in ob.journal.ticket_txs(h) if t[1] in ("confirmed", "failed") and t[3] == "paid"]
            assert len(mined) == 1
        # 2. paid exactly once: one WinningTicketRedeemed per ticket over the whole chain
        logs = ob.w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "address": ob.address_hex})
        paid = [h for log in logs for h in ob._paid_hashes([log])]
        assert sorted(paid) == sorted(st.ticket.hash() for st, *_ in tickets)
        # 3. balances reconcile
        total = sum(st.ticket.face_value for st, *_ in tickets)
        assert env.dep.fees(ORCH) == 0  # the test's own copy of the EVM never moved
        fees = ob.w3.eth.contract(address=env.dep.bonding.address, abi=env.dep.bonding.abi).functions.fees(
            Web3.to_checksum_address(ORCH)).call()
        assert fees == total and ob.get_sender_info(gb.address).deposit == deposit - total
        # 4. no nonce gap: nothing pending, every nonce mined once, and the next transaction goes through
        acct = ob.account.address
        assert ob.w3.eth.get_transaction_count(acct, "pending") == ob.w3.eth.get_transaction_count(acct, "latest")
        assert not ob.journal.in_flight(acct)
        ob.fund_deposit(1)
    finally:
        os.kill(server, signal.SIGKILL)
        os.waitpid(server, 0)
