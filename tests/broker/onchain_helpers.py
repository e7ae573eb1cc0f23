"""Fixtures of the on-chain broker tests: one deployed TicketBroker on an in-process EVM per session, reset to a
snapshot before each test, plus keys, ticket factories and ChainBroker constructors."""

from __future__ import annotations

import pytest

from lpcore import pm
from lpcore.broker import ChainBroker
from lpcore.pm.queue import SignedTicket

from tests.broker.evm_node import EvmNode, NodeProvider, contracts_dir, deploy

GATEWAY_KEY = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")  # Hardhat #0
ORCH_KEY = bytes.fromhex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")     # Hardhat #1
OTHER_KEY = bytes.fromhex("5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a")    # Hardhat #2
GATEWAY = pm.Signer(GATEWAY_KEY).address
ORCH = pm.Signer(ORCH_KEY).address
OTHER = pm.Signer(OTHER_KEY).address
ORCH2 = bytes.fromhex("3c44cdddb6a900fa2b585dd299e03d12fa4293bc")

SKIP_REASON = ("the Arbitrum One contract artifacts (shared/contracts/arbitrum-one) are not available: "
               "the on-chain broker tests deploy the real TicketBroker bytecode from there")


def require_contracts() -> None:
    if contracts_dir() is None:
        pytest.skip(SKIP_REASON)


class Env:
    """The session's EVM, deployment and snapshot."""

    def __init__(self):
        self.node = EvmNode()
        self.dep = deploy(self.node)
        for a in (GATEWAY, ORCH, OTHER):
            self.dep.fund_eth(a, 10**22)
        self.dep.set_transcoder(ORCH)
        self.dep.set_transcoder(ORCH2)
        self.snapshot = self.node.tester.take_snapshot()
        self.hashes = dict(self.dep.round_hashes)
        from web3 import Web3

        self.w3 = Web3(NodeProvider(self.node))

    def reset(self) -> None:
        from tests.broker.evm_node import Faults

        self.node.tester.revert_to_snapshot(self.snapshot)
        self.node.tester.enable_auto_mine_transactions()
        self.node.faults = Faults()
        self.dep.round_hashes = dict(self.hashes)

    def broker(self, key=None, tmp_path=None, name="journal.db", **kw) -> ChainBroker:
        kw.setdefault("chain_id", None)
        kw.setdefault("poll_s", 0.002)
        kw.setdefault("tx_timeout_s", 5.0)
        journal = str(tmp_path / name) if tmp_path is not None else ":memory:"
        return ChainBroker(self.w3, controller=self.dep.controller.address, key=key, journal=journal, **kw)

    def ticket(self, *, nonce=1, face_value=1000, win_prob=pm.MAX_WIN_PROB, rand=5, creation_round=10,
               block_hash=None, sender=GATEWAY, recipient=ORCH, sign_key=GATEWAY_KEY, params_expiration_block=0):
        h = self.dep.round_hashes.get(creation_round, b"\0" * 32) if block_hash is None else block_hash
        t = pm.Ticket(recipient=recipient, sender=sender, face_value=face_value, win_prob=win_prob,
                      sender_nonce=nonce, recipient_rand_hash=pm.recipient_rand_hash(rand),
                      creation_round=creation_round, creation_round_block_hash=h,
                      params_expiration_block=params_expiration_block)
        return SignedTicket(t, pm.Signer(sign_key).sign(t.hash()), rand)


_ENV: Env | None = None


@pytest.fixture
def env():
    """The shared deployment, reset to its snapshot (funded accounts, round 10, L1 block 1000)."""
    global _ENV
    require_contracts()
    if _ENV is None:
        _ENV = Env()
    _ENV.reset()
    return _ENV
