"""Shared fixtures of the roles tests: keys, addresses, a funded node, the vectors path."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from lpcore import pm
from lpcore.broker import LocalBroker

from tests._shared import vector_path

SENDER_KEY = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")  # Hardhat #0
OTHER_KEY = bytes.fromhex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")  # Hardhat #1
ORCH_ADDR = bytes.fromhex("70997970c51812dc3a010c7d01b50e0d17dc79c8")
ORCH2_ADDR = bytes.fromhex("3c44cdddb6a900fa2b585dd299e03d12fa4293bc")
SECRET = b"\x03" + b"\0" * 31


class Node:
    """A funded sender, a broker, and one orchestrator (recipient + monitor + queue) in a temp dir."""

    def __init__(self, tmp_path: Path, *, deposit=10**18, reserve=10**18, ev=10**6, gas_price=0, pool=(ORCH_ADDR,)):
        self.broker = LocalBroker(tmp_path / "broker.db")
        self.chain = self.broker.chain
        for a in pool:
            self.broker.register_transcoder(a)
        self.signer = pm.Signer(SENDER_KEY)
        if deposit or reserve:
            self.broker.fund_deposit_and_reserve(self.signer.address, deposit, reserve)
        self.sender = pm.Sender(self.signer, self.chain, self.broker, max_ev=Fraction(10**18), max_total_ev=Fraction(10**21))
        self.queue = pm.RedemptionQueue(tmp_path / "queue.db")
        self.monitor = pm.SenderMonitor(ORCH_ADDR, self.broker, self.chain, self.queue, gas_price=gas_price)
        self.recipient = pm.Recipient(ORCH_ADDR, self.monitor, self.chain, secret=SECRET, ev=ev, gas_price=gas_price)

    def params(self, price=Fraction(1)):
        return self.recipient.ticket_params(self.signer.address, price)

    def pay(self, params, n):
        sid = self.sender.start_session(params) if params.session_id not in self.sender._sessions else params.session_id
        return self.sender.create_ticket_batch(sid, n)

VECTORS_PATH = vector_path("pm_vectors.json")
