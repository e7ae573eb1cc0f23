"""A real TicketBroker on an in-process EVM, served as a JSON-RPC node (spec/chain.md §9).

``EvmNode`` runs eth-tester over py-evm and answers JSON-RPC requests the way a real node does: quantities as
hex, ``execution reverted: <reason>`` errors carrying the revert data, ``eth_sendRawTransaction`` for signed
EIP-1559 transactions. The same object backs two transports, so every test drives the broker's production
path (web3 over JSON-RPC, sign locally, send raw, poll receipts):

- ``NodeProvider(node)``: a web3 provider that hands the JSON request to the node in-process;
- ``serve(node)``: a ThreadingHTTPServer on 127.0.0.1 (for the HTTP path and for the SIGKILL tests, where
  the EVM lives in a separate process that outlives the killed broker).

Faults the tests inject (``node.faults``): drop the next N raw transactions (accepted, never mined - a stuck
tx), hold them back and deliver them later, fail the next call of a method with a node error text, or time out.

The deployment (``deploy(node)``) uses the real Controller and TicketBrokerTarget bytecode from
``shared/contracts/arbitrum-one`` and small Vyper stand-ins for RoundsManager, BondingManager and Minter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
import threading
import time
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path

from eth_abi import encode as abi_encode
from web3 import Web3
from web3.providers import EthereumTesterProvider, JSONBaseProvider

from tests._servers import start_http_server
from tests._shared import shared_root

ROUNDS_SRC = """
# pragma version ~=0.4.0
rnd: public(uint256)
inited: public(bool)
hashes: HashMap[uint256, bytes32]
l1: public(uint256)

@external
@view
def currentRound() -> uint256:
    return self.rnd

@external
@view
def lastInitializedRound() -> uint256:
    if self.inited:
        return self.rnd
    return self.rnd - 1

@external
@view
def currentRoundInitialized() -> bool:
    return self.inited

@external
@view
def blockHashForRound(r: uint256) -> bytes32:
    return self.hashes[r]

@external
@view
def blockNum() -> uint256:
    return self.l1

@external
def setRound(r: uint256, h: bytes32, ini: bool):
    self.rnd = r
    self.hashes[r] = h
    self.inited = ini

@external
def setL1(b: uint256):
    self.l1 = b
"""

BONDING_SRC = """
# pragma version ~=0.4.0
active: public(HashMap[address, bool])
registered: public(HashMap[address, bool])
fees: public(HashMap[address, uint256])
poolSize: public(uint256)

@external
@view
def isActiveTranscoder(a: address) -> bool:
    return self.active[a]

@external
@view
def getTranscoderPoolSize() -> uint256:
    return self.poolSize

@external
def updateTranscoderWithFees(t: address, f: uint256, r: uint256):
    assert self.registered[t], "transcoder must be registered"
    self.fees[t] += f

@external
def setTranscoder(a: address, act: bool, reg: bool):
    if act and not self.active[a]:
        self.poolSize += 1
    if self.active[a] and not act:
        self.poolSize -= 1
    self.active[a] = act
    self.registered[a] = reg
"""

MINTER_SRC = """
# pragma version ~=0.4.0
@external
@payable
def depositETH() -> bool:
    return True

@external
def trustedWithdrawETH(to: address, amount: uint256):
    send(to, amount)
"""


def contracts_dir() -> Path | None:
    root = shared_root()
    d = root / "contracts" / "arbitrum-one" if root else Path("/nonexistent")
    return d if (d / "TicketBrokerTarget.json").is_file() else None


_compiled: dict[str, dict] = {}


def compile_vyper(name: str, src: str) -> dict:
    if name not in _compiled:
        import vyper

        _compiled[name] = vyper.compile_code(src, output_formats=["abi", "bytecode"])
    return _compiled[name]


def _wire(v):
    """Python result of eth-tester -> JSON-RPC wire form (quantities as hex, bytes as hex)."""
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, int):
        return hex(v)
    if isinstance(v, (bytes, bytearray)):
        return "0x" + bytes(v).hex()
    if isinstance(v, Mapping):
        return {k: _wire(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_wire(x) for x in v]
    return v


def _revert_error(exc) -> dict:
    arg = exc.args[0] if exc.args else b""
    if isinstance(arg, (bytes, bytearray)):
        data = bytes(arg)
        reason = ""
        if data[:4] == bytes.fromhex("08c379a0"):
            from eth_abi import decode

            reason = decode(["string"], data[4:])[0]
        return {"code": 3, "message": f"execution reverted: {reason}".rstrip(": ") if reason else "execution reverted",
                "data": "0x" + data.hex()}
    text = str(arg)
    if text.startswith("execution reverted: "):
        text = text[len("execution reverted: "):]
    if text.startswith("b'") or text.startswith('b"'):
        return {"code": 3, "message": "execution reverted", "data": "0x"}
    data = bytes.fromhex("08c379a0") + abi_encode(["string"], [text])
    return {"code": 3, "message": f"execution reverted: {text}", "data": "0x" + data.hex()}


@dataclass
class Faults:
    drop_sends: int = 0               # accept (return the hash) but never deliver the next N raw txs
    hold_sends: int = 0               # accept and keep the next N raw txs in ``held`` until release_held()
    errors: dict = field(default_factory=dict)   # method -> [error message, ...] answered instead of the call
    timeouts: dict = field(default_factory=dict)  # method -> count of calls that hang then fail (HTTP: sleep)
    held: list = field(default_factory=list)
    dropped: list = field(default_factory=list)
    send_script: list = field(default_factory=list)  # per raw tx, in order: "drop", "pass" or an error text


def _fast_estimate(state, transaction):
    """eth_estimateGas in two executions instead of py-evm's ~13-step binary search (the tests run on a
    shared 2-core box): run at the block gas limit, then confirm 1.5 x the gas used (the 63/64 rule needs the
    headroom); fall back to the binary search if that is not enough."""
    from eth.estimators.gas import binary_gas_search_intrinsic_tolerance
    from eth.vm.spoof import SpoofTransaction

    def run(gas):
        snap = state.snapshot()
        try:
            c = state.apply_transaction(SpoofTransaction(transaction, gas=gas, gas_price=0))
            return c, gas - c.get_gas_remaining()
        finally:
            state.revert(snap)

    c, used = run(state.gas_limit)
    if c.is_error:
        raise c.error
    guess = min(state.gas_limit, used + used // 2)
    c2, _ = run(guess)
    return guess if not c2.is_error else binary_gas_search_intrinsic_tolerance(state, transaction)


class EvmNode:
    """eth-tester + py-evm behind a JSON-RPC request handler (see module docstring). Thread-safe."""

    def __init__(self):
        self.provider = EthereumTesterProvider()
        self.w3 = Web3(self.provider)
        self.tester = self.provider.ethereum_tester
        self.tester.backend.chain.gas_estimator = _fast_estimate
        self.faults = Faults()
        self.lock = threading.RLock()
        self.calls: list[str] = []
        self.deployment: Deployment | None = None

    # -- JSON-RPC ----------------------------------------------------------------------------------------
    def handle(self, req: dict) -> dict:
        method, params, rid = req.get("method"), req.get("params") or [], req.get("id")
        with self.lock:
            self.calls.append(method)
            if method == "test_control":  # fault injection over the wire (SIGKILL tests)
                return {"jsonrpc": "2.0", "id": rid, "result": self.control(*params)}
            errs = self.faults.errors.get(method)
            if errs:
                msg = errs.pop(0)
                return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32000, "message": msg}}
            if self.faults.timeouts.get(method):
                self.faults.timeouts[method] -= 1
                return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32000, "message": "__timeout__"}}
            if method == "eth_sendRawTransaction" and self.faults.send_script:
                action = self.faults.send_script.pop(0)
                if action == "drop":
                    self.faults.drop_sends += 1
                elif action != "pass":
                    return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32000, "message": action}}
            if method == "eth_sendRawTransaction":
                raw = params[0]
                h = Web3.keccak(hexstr=raw).hex()
                h = h if h.startswith("0x") else "0x" + h
                if self.faults.drop_sends > 0:
                    self.faults.drop_sends -= 1
                    self.faults.dropped.append(raw)
                    return {"jsonrpc": "2.0", "id": rid, "result": h}
                if self.faults.hold_sends > 0:
                    self.faults.hold_sends -= 1
                    self.faults.held.append(raw)
                    return {"jsonrpc": "2.0", "id": rid, "result": h}
            try:
                resp = self.w3.manager._make_request(method, params)
            except Exception as exc:  # eth-tester raises where a node answers an error
                name = type(exc).__name__
                if name == "TransactionFailed":
                    return {"jsonrpc": "2.0", "id": rid, "error": _revert_error(exc)}
                msg = str(exc)
                if name == "ValidationError" and "nonce" in msg.lower():
                    msg = "nonce too low"
                return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32000, "message": msg}}
            if "error" in resp:
                err = resp["error"]
                if isinstance(err, str):
                    err = {"code": -32000, "message": err}
                return {"jsonrpc": "2.0", "id": rid, "error": err}
            result = resp.get("result")
            if method == "eth_getTransactionReceipt" and isinstance(result, Mapping):
                result = {k: v for k, v in dict(result).items() if k != "state_root"}
                if result.get("to") == "":
                    result["to"] = None
            return {"jsonrpc": "2.0", "id": rid, "result": _wire(result)}

    def control(self, op: str, *args):
        if op == "drop_sends":
            self.faults.drop_sends = int(args[0])
        elif op == "hold_sends":
            self.faults.hold_sends = int(args[0])
        elif op == "release_held":
            return self.release_held()
        elif op == "error":
            self.faults.errors.setdefault(args[0], []).append(args[1])
        elif op == "automine":
            (self.tester.enable_auto_mine_transactions if args[0] else self.tester.disable_auto_mine_transactions)()
        elif op == "mine":
            self.tester.mine_blocks(int(args[0]) if args else 1)
        elif op == "set_l1":
            self.deployment.set_l1_block(int(args[0]))
        elif op == "set_round":
            self.deployment.set_round(int(args[0]), bool(args[1]), bytes.fromhex(args[2]) if len(args) > 2 else None)
        elif op == "deployment":
            d = self.deployment
            return {"controller": d.controller.address, "broker": d.broker.address, "rounds": d.rounds.address,
                    "bonding": d.bonding.address, "hashes": {str(k): v.hex() for k, v in d.round_hashes.items()}}
        return True

    def release_held(self) -> list:
        """Deliver held raw txs now; returns each one's node answer (a hash, or an error text)."""
        out = []
        with self.lock:
            held, self.faults.held = self.faults.held, []
            for raw in held:
                try:
                    out.append(self.w3.manager._make_request("eth_sendRawTransaction", [raw]).get("result"))
                except Exception as exc:  # e.g. nonce already used by the replacement
                    out.append(f"error: {exc}")
        return out


class NodeProvider(JSONBaseProvider):
    """web3 provider calling an :class:`EvmNode` in-process (JSON in, JSON out, as over HTTP)."""

    def __init__(self, node: EvmNode):
        super().__init__()
        self.node = node
        self._id = 0

    def make_request(self, method, params):
        self._id += 1
        req = json.loads(json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params},
                                    default=_json_default))
        resp = json.loads(json.dumps(self.node.handle(req)))
        err = resp.get("error")
        if isinstance(err, dict) and err.get("message") == "__timeout__":
            raise TimeoutError(f"{method}: request timed out")
        return resp

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True


def _json_default(o):
    if isinstance(o, (bytes, bytearray)):
        return "0x" + bytes(o).hex()
    raise TypeError(type(o))


def serve(node: EvmNode, port: int = 0) -> ThreadingHTTPServer:
    """Serve ``node`` on 127.0.0.1 (``port`` 0 = any free port) from a daemon thread; ``server.shutdown()``
    and ``server.server_close()`` stop it."""

    def respond(method, path, headers, body):
        req = json.loads(body)
        resp = [node.handle(r) for r in req] if isinstance(req, list) else node.handle(req)
        err = resp.get("error") if isinstance(resp, dict) else None
        if isinstance(err, dict) and err.get("message") == "__timeout__":
            time.sleep(0.5)  # longer than the client's request timeout in the tests
        return 200, json.dumps(resp).encode(), {"Content-Type": "application/json"}

    return start_http_server(respond, port, name="evm-node")


# -- deployment (spec/chain.md §9) -------------------------------------------------------------------------

@dataclass
class Deployment:
    node: EvmNode
    w3: Web3
    owner: str
    controller: object
    broker: object          # TicketBroker (proxy) with the target's ABI
    rounds: object
    bonding: object
    minter: object
    round_hashes: dict

    def set_round(self, r: int, initialized: bool = True, block_hash: bytes | None = None) -> bytes:
        h = block_hash if block_hash is not None else Web3.keccak(text=f"round-{r}")
        self.transact(self.rounds.functions.setRound(r, h, initialized))
        self.round_hashes[r] = bytes(h)
        return bytes(h)

    def set_l1_block(self, b: int) -> None:
        self.transact(self.rounds.functions.setL1(b))

    def set_transcoder(self, addr: bytes, active: bool = True, registered: bool = True) -> None:
        self.transact(self.bonding.functions.setTranscoder(Web3.to_checksum_address(addr), active, registered))

    def fees(self, addr: bytes) -> int:
        return self.bonding.functions.fees(Web3.to_checksum_address(addr)).call()

    def transact(self, fn, value: int = 0, sender: str | None = None):
        with self.node.lock:
            h = fn.transact({"from": sender or self.owner, "value": value})
            return self.w3.eth.wait_for_transaction_receipt(h)

    def fund_eth(self, addr: bytes, amount: int = 10**21) -> None:
        with self.node.lock:
            h = self.w3.eth.send_transaction({"from": self.owner, "to": Web3.to_checksum_address(addr),
                                              "value": amount})
            self.w3.eth.wait_for_transaction_receipt(h)

    def sender_info(self, addr: bytes):
        return self.broker.functions.getSenderInfo(Web3.to_checksum_address(addr)).call()


def deploy(node: EvmNode, *, unlock_period: int = 2, round_: int = 10, l1_block: int = 1000,
           proxy: bool = True) -> Deployment:
    """Controller + TicketBroker (target behind its proxy) + stand-ins, registered and unpaused."""
    cdir = contracts_dir()
    if cdir is None:
        raise RuntimeError("shared/contracts/arbitrum-one is missing")
    w3 = node.w3
    owner = w3.eth.accounts[0]
    art = {n: json.loads((cdir / f"{n}.json").read_text()) for n in ("Controller", "TicketBrokerTarget",
                                                                       "TicketBrokerProxy")}

    def make(abi, bytecode, *args):
        with node.lock:
            h = w3.eth.contract(abi=abi, bytecode=bytecode).constructor(*args).transact({"from": owner})
            addr = w3.eth.wait_for_transaction_receipt(h).contractAddress
        return w3.eth.contract(address=addr, abi=abi)

    controller = make(art["Controller"]["abi"], art["Controller"]["bytecode"])
    stand = {}
    for name, src in (("RoundsManager", ROUNDS_SRC), ("BondingManager", BONDING_SRC), ("Minter", MINTER_SRC)):
        out = compile_vyper(name, src)
        stand[name] = make(out["abi"], out["bytecode"])
    target = make(art["TicketBrokerTarget"]["abi"], art["TicketBrokerTarget"]["bytecode"], controller.address)
    zero20 = b"\0" * 20
    dep = Deployment(node, w3, owner, controller, None, stand["RoundsManager"], stand["BondingManager"],
                     stand["Minter"], {})
    for name, c in stand.items():
        dep.transact(controller.functions.setContractInfo(Web3.keccak(text=name), c.address, zero20))
    if proxy:
        dep.transact(controller.functions.setContractInfo(Web3.keccak(text="TicketBrokerTarget"), target.address,
                                                          zero20))
        p = make(art["TicketBrokerProxy"]["abi"], art["TicketBrokerProxy"]["bytecode"], controller.address,
                 Web3.keccak(text="TicketBrokerTarget"))
        broker_addr = p.address
    else:
        broker_addr = target.address
    dep.transact(controller.functions.setContractInfo(Web3.keccak(text="TicketBroker"), broker_addr, zero20))
    dep.broker = w3.eth.contract(address=broker_addr, abi=art["TicketBrokerTarget"]["abi"])
    dep.transact(controller.functions.unpause())
    dep.transact(dep.broker.functions.setUnlockPeriod(unlock_period))
    dep.transact(dep.broker.functions.setTicketValidityPeriod(2))
    dep.set_round(round_)
    dep.set_l1_block(l1_block)
    node.deployment = dep
    return dep
