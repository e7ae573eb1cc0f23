"""The one chain view: rounds, L1 blocks, round block hashes, sender info and claims read over JSON-RPC with web3.

:class:`ChainView` implements :class:`~lpcore.broker.base.TimeSource` and
:class:`~lpcore.broker.base.SenderInfoSource` against the Livepeer contracts (resolved through the Controller,
spec/chain.md §6), so the recipient roles, the remote signer and :class:`~lpcore.broker.ChainBroker` read the
chain one way. web3.py (the ``chain`` extra) is the client: it does the ABI encoding and the JSON-RPC.

The L1 block number is ``RoundsManager.blockNum()`` - on Arbitrum Solidity's ``block.number`` *is* the L1 block,
and it is the number the contracts compare rounds against. A RoundsManager that lacks ``blockNum`` (older
deployments, minimal test nodes) falls back to the block JSON's ``l1BlockNumber`` (Arbitrum) or ``number`` (L1),
as go-livepeer reads it (spec/chain.md §2.5).

The signer's chain-state sources (:class:`ChainSnapshot`, :class:`StaticChainState`, :class:`BrokerChainState`,
:class:`JsonRpcChainState`) live here too: the JSON-RPC one is a poller over a :class:`ChainView`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any, Callable, Protocol

from ..errors import BrokerArgumentError, ChainStateUnavailable, LpcoreError
from .base import ZERO_HASH, BlockSubscribers, SenderInfo, SenderInfoSource, TimeSource

#: Arbitrum One (spec/chain.md §6).
ARBITRUM_ONE_CHAIN_ID = 42161
ARBITRUM_ONE_CONTROLLER = bytes.fromhex("d8e8328501e9645d16cf49539efc04f734606ee4")
ARBITRUM_ONE_TICKET_BROKER = bytes.fromhex("a8bb618b1520e284046f3dfc448851a1ff26e41b")


class ChainError(LpcoreError):
    """The chain could not be read or a transaction could not be sent (RPC, nonce, funds, timeouts)."""


class ChainArgumentError(ChainError, BrokerArgumentError):
    """A bad argument to the on-chain broker (URL, address, amount, key)."""


# -- ABI fragments (written from the contracts' public interfaces, spec/pm.md §7.8) ------------------------

def _p(t: str, name: str = "", components=None) -> dict:
    d = {"type": t, "name": name}
    if components is not None:
        d["components"] = components
    return d


def _fn(name: str, inputs=(), outputs=(), mut: str = "view") -> dict:
    return {"type": "function", "name": name, "inputs": list(inputs), "outputs": list(outputs),
            "stateMutability": mut}


def _ev(name: str, *fields: tuple[str, str, bool]) -> dict:
    return {"type": "event", "name": name, "anonymous": False,
            "inputs": [{"type": t, "name": n, "indexed": i} for t, n, i in fields]}


TICKET_TUPLE = [_p("address", "recipient"), _p("address", "sender"), _p("uint256", "faceValue"),
                _p("uint256", "winProb"), _p("uint256", "senderNonce"), _p("bytes32", "recipientRandHash"),
                _p("bytes", "auxData")]

CONTROLLER_ABI = [
    _fn("getContract", [_p("bytes32", "_id")], [_p("address")]),
    _fn("paused", [], [_p("bool")]),
]
ROUNDS_MANAGER_ABI = [
    _fn("currentRound", [], [_p("uint256")]),
    _fn("currentRoundInitialized", [], [_p("bool")]),
    _fn("lastInitializedRound", [], [_p("uint256")]),
    _fn("blockHashForRound", [_p("uint256", "_round")], [_p("bytes32")]),
    _fn("blockNum", [], [_p("uint256")]),
]
BONDING_MANAGER_ABI = [
    _fn("isActiveTranscoder", [_p("address", "_transcoder")], [_p("bool")]),
    _fn("getTranscoderPoolSize", [], [_p("uint256")]),
    _fn("getFirstTranscoderInPool", [], [_p("address")]),
    _fn("getNextTranscoderInPool", [_p("address", "_transcoder")], [_p("address")]),
    _fn("transcoderTotalStake", [_p("address", "_transcoder")], [_p("uint256")]),
]
SERVICE_REGISTRY_ABI = [
    _fn("getServiceURI", [_p("address", "_addr")], [_p("string")]),
]
#: Most transcoders a pool walk reads (the active set is capped on-chain at 100).
MAX_POOL_WALK = 1000
TICKET_BROKER_ABI = [
    _fn("fundDeposit", mut="payable"),
    _fn("fundReserve", mut="payable"),
    _fn("fundDepositAndReserve", [_p("uint256", "_depositAmount"), _p("uint256", "_reserveAmount")], mut="payable"),
    _fn("unlock", mut="nonpayable"),
    _fn("cancelUnlock", mut="nonpayable"),
    _fn("withdraw", mut="nonpayable"),
    _fn("redeemWinningTicket", [_p("tuple", "_ticket", TICKET_TUPLE), _p("bytes", "_sig"),
                                _p("uint256", "_recipientRand")], mut="nonpayable"),
    _fn("batchRedeemWinningTickets", [_p("tuple[]", "_tickets", TICKET_TUPLE), _p("bytes[]", "_sigs"),
                                      _p("uint256[]", "_recipientRands")], mut="nonpayable"),
    _fn("getTicketHash", [_p("tuple", "_ticket", TICKET_TUPLE)], [_p("bytes32")], mut="pure"),
    _fn("usedTickets", [_p("bytes32")], [_p("bool")]),
    _fn("getSenderInfo", [_p("address", "_sender")], [
        _p("tuple", "sender", [_p("uint256", "deposit"), _p("uint256", "withdrawRound")]),
        _p("tuple", "reserve", [_p("uint256", "fundsRemaining"), _p("uint256", "claimedInCurrentRound")])]),
    _fn("claimedReserve", [_p("address", "_reserveHolder"), _p("address", "_claimant")], [_p("uint256")]),
    _fn("claimableReserve", [_p("address", "_reserveHolder"), _p("address", "_claimant")], [_p("uint256")]),
    _fn("isUnlockInProgress", [_p("address", "_sender")], [_p("bool")]),
    _fn("unlockPeriod", [], [_p("uint256")]),
    _fn("ticketValidityPeriod", [], [_p("uint256")]),
    _ev("WinningTicketRedeemed", ("address", "sender", True), ("address", "recipient", True),
        ("uint256", "faceValue", False), ("uint256", "winProb", False), ("uint256", "senderNonce", False),
        ("uint256", "recipientRand", False), ("bytes", "auxData", False)),
    _ev("WinningTicketTransfer", ("address", "sender", True), ("address", "recipient", True),
        ("uint256", "amount", False)),
]


def make_web3(rpc: Any, *, timeout_s: float = 20.0):
    """``rpc`` as a ``web3.Web3``: an instance is used as is; ``http(s)://`` and ``ws(s)://`` URLs get the
    matching provider (``timeout_s`` per request)."""
    from .._extras import require

    (web3,) = require("chain", "web3", feature="lpcore's chain view (on-chain broker, --eth-url)")
    Web3 = web3.Web3
    if isinstance(rpc, Web3):
        return rpc
    if not isinstance(rpc, str):
        raise ChainArgumentError(f"rpc must be a JSON-RPC URL or a web3.Web3, got {type(rpc).__name__}")
    if rpc.startswith(("http://", "https://")):
        return Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": timeout_s}))
    if rpc.startswith(("ws://", "wss://")):
        try:  # web3 7 has a synchronous WebSocket provider; web3 8 only an asyncio one
            from web3 import LegacyWebSocketProvider
        except ImportError:
            import web3 as _web3

            raise ChainError(f"web3 {_web3.__version__} has no synchronous WebSocket provider: use an http(s):// "
                             "URL, or pass a web3.Web3 built on the provider you want") from None
        return Web3(LegacyWebSocketProvider(rpc, websocket_timeout=timeout_s))
    raise ChainArgumentError(f"rpc URL must start with http(s):// or ws(s)://, got {rpc[:100]!r}")


def checksum_address(addr: bytes | str) -> str:
    """The EIP-55 form of a 20-byte (or hex) address; a malformed one is a :class:`ChainArgumentError`."""
    from web3 import Web3

    try:
        if isinstance(addr, str):
            return Web3.to_checksum_address(addr)
        if not isinstance(addr, (bytes, bytearray, memoryview)) or len(addr) != 20:
            raise ChainArgumentError("address must be 20 bytes")
    except ValueError as exc:
        raise ChainArgumentError(f"invalid address: {exc}") from None
    return Web3.to_checksum_address("0x" + bytes(addr).hex())


def transcoder_pool(rpc: Any, bonding_manager: bytes | str, service_registry: bytes | str, *,
                    limit: int = MAX_POOL_WALK) -> list[tuple[str, str, int]]:
    """The active transcoder pool as ``(checksum address, service URI, total stake)``: BondingManager's
    ``getFirstTranscoderInPool`` / ``getNextTranscoderInPool`` walk to the zero address (at most ``limit``,
    stopping at a repeat), each with ServiceRegistry ``getServiceURI``. ``rpc`` is what :func:`make_web3` takes."""
    w3 = make_web3(rpc)
    bm = w3.eth.contract(address=checksum_address(bonding_manager), abi=BONDING_MANAGER_ABI)
    sr = w3.eth.contract(address=checksum_address(service_registry), abi=SERVICE_REGISTRY_ABI)
    out: list[tuple[str, str, int]] = []
    seen: set[str] = set()
    addr = bm.functions.getFirstTranscoderInPool().call()
    while addr and int(addr, 16) != 0 and addr not in seen and len(out) < limit:
        seen.add(addr)
        stake = int(bm.functions.transcoderTotalStake(addr).call())
        out.append((addr, sr.functions.getServiceURI(addr).call(), stake))
        addr = bm.functions.getNextTranscoderInPool(addr).call()
    return out


def _addr_bytes(a) -> bytes:
    if isinstance(a, str):
        return bytes.fromhex(a[2:] if a.startswith("0x") else a)
    return bytes(a)


class ChainView(TimeSource, SenderInfoSource):
    """Reads the Livepeer contracts over JSON-RPC (see module docstring).

    ``controller`` (default Arbitrum One's) resolves RoundsManager, BondingManager and (unless given)
    TicketBroker at construction; a zero address is fatal (spec/chain.md §8.1). Reads are direct calls at
    ``latest`` (the money-moving decisions re-read the chain, never a cache). :meth:`poll` reads the L1 block
    and notifies :meth:`subscribe_l1_blocks` subscribers when it moved; :meth:`start` polls in a thread.
    """

    def __init__(self, rpc: Any, *, controller: bytes = ARBITRUM_ONE_CONTROLLER, ticket_broker: bytes | None = None,
                 rounds_manager: bytes | None = None, bonding_manager: bytes | None = None,
                 timeout_s: float = 20.0, interval_s: float = 5.0):
        self.w3 = make_web3(rpc, timeout_s=timeout_s)
        self._interval = interval_s
        try:
            self.controller = self.w3.eth.contract(address=checksum_address(controller), abi=CONTROLLER_ABI)
            self.rounds = self._contract(rounds_manager, "RoundsManager", ROUNDS_MANAGER_ABI)
            self.ticket_broker = self._contract(ticket_broker, "TicketBroker", TICKET_BROKER_ABI)
            self._bonding_addr = bonding_manager
            self._bonding = None
        except ChainError:
            raise
        except Exception as exc:  # transport, decoding
            raise ChainError(f"could not resolve the Livepeer contracts: {exc}") from exc
        self._subscribers = BlockSubscribers()
        self._last_block: int | None = None
        self._block_num_ok: bool | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: Exception | None = None

    def _resolve(self, name: str) -> bytes:
        from web3 import Web3

        addr = self.controller.functions.getContract(Web3.keccak(text=name)).call()
        if int(addr, 16) == 0:
            raise ChainError(f"Controller.getContract({name}): not registered (zero address)")
        return _addr_bytes(addr)

    def _contract(self, addr, name, abi):
        addr = addr if addr is not None else self._resolve(name)
        return self.w3.eth.contract(address=checksum_address(addr), abi=abi)

    @property
    def bonding(self):
        if self._bonding is None:  # resolved lazily: the signer's view never needs it
            self._bonding = self._contract(self._bonding_addr, "BondingManager", BONDING_MANAGER_ABI)
        return self._bonding

    # -- TimeSource --------------------------------------------------------------------------------------
    def last_seen_l1_block(self) -> int:
        if self._block_num_ok is not False:
            try:
                b = int(self.rounds.functions.blockNum().call())
                self._block_num_ok = True
                return b
            except Exception as exc:
                from web3.exceptions import BadFunctionCallOutput, ContractLogicError

                # only a RoundsManager without blockNum() switches to the block JSON; transport errors propagate
                if self._block_num_ok or not isinstance(exc, (ContractLogicError, BadFunctionCallOutput)):
                    raise
                self._block_num_ok = False
        blk = self.w3.eth.get_block("latest")
        n = blk.get("l1BlockNumber") or blk.get("number")
        return int(n, 16) if isinstance(n, str) else int(n)

    def current_round(self) -> int:
        return int(self.rounds.functions.currentRound().call())

    def current_round_initialized(self) -> bool:
        return bool(self.rounds.functions.currentRoundInitialized().call())

    def last_initialized_round(self) -> int:
        return int(self.rounds.functions.lastInitializedRound().call())

    def block_hash_for_round(self, round_: int) -> bytes:
        if round_ < 0:
            return ZERO_HASH
        return bytes(self.rounds.functions.blockHashForRound(round_).call())

    def last_initialized_l1_block_hash(self) -> bytes:
        return self.block_hash_for_round(self.last_initialized_round())

    def pre_last_initialized_l1_block_hash(self) -> bytes:
        return self.block_hash_for_round(self.last_initialized_round() - 1)

    def subscribe_l1_blocks(self, callback: Callable[[int], None]) -> Callable[[], None]:
        return self._subscribers.subscribe(callback)

    def poll(self) -> int:
        """Read the L1 block; if it moved since the last poll, call every subscriber (one's error never
        stops the others; it is kept in ``last_error``). Returns the block."""
        block = self.last_seen_l1_block()
        if block != self._last_block:
            self._last_block = block
            error = self._subscribers.notify(block)
            if error is not None:
                self.last_error = error
        return block

    def start(self) -> "ChainView":
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="lpcore-chain-view", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.poll()
            except Exception as exc:  # noqa: BLE001 - keep polling; the node may come back
                self.last_error = exc

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._interval + 1)
            self._thread = None

    # -- SenderInfoSource and other TicketBroker reads ------------------------------------------------------
    def get_sender_info(self, sender: bytes) -> SenderInfo:
        (deposit, withdraw_round), (funds, claimed) = self.ticket_broker.functions.getSenderInfo(
            checksum_address(sender)).call()
        return SenderInfo(int(deposit), int(withdraw_round), int(funds), int(claimed))

    def claimed_reserve(self, reserve_holder: bytes, claimant: bytes) -> int:
        return int(self.ticket_broker.functions.claimedReserve(checksum_address(reserve_holder),
                                                               checksum_address(claimant)).call())

    def claimable_reserve(self, reserve_holder: bytes, claimant: bytes) -> int:
        return int(self.ticket_broker.functions.claimableReserve(checksum_address(reserve_holder),
                                                                 checksum_address(claimant)).call())

    def is_used_ticket(self, ticket_hash: bytes) -> bool:
        return bool(self.ticket_broker.functions.usedTickets(bytes(ticket_hash)).call())

    def unlock_period(self) -> int:
        return int(self.ticket_broker.functions.unlockPeriod().call())

    def ticket_validity_period(self) -> int:
        return int(self.ticket_broker.functions.ticketValidityPeriod().call())

    def transcoder_pool_size(self) -> int:
        return int(self.bonding.functions.getTranscoderPoolSize().call())

    def transcoder_pool(self, limit: int = MAX_POOL_WALK) -> list[tuple[str, str, int]]:
        """:func:`transcoder_pool` on this view's BondingManager and the Controller's ServiceRegistry."""
        return transcoder_pool(self.w3, self.bonding.address, self._resolve("ServiceRegistry"), limit=limit)

    def is_active_transcoder(self, address: bytes) -> bool:
        return bool(self.bonding.functions.isActiveTranscoder(checksum_address(address)).call())

    def paused(self) -> bool:
        return bool(self.controller.functions.paused().call())

    def gas_price(self) -> int:
        return int(self.w3.eth.gas_price)


# -- the remote signer's chain state (spec/remote_signer.md §9) ----------------------------------------------

@dataclass(frozen=True)
class ChainSnapshot:
    """Everything the signer reads from the chain, at one moment."""

    last_seen_l1_block: int
    last_initialized_round: int
    last_initialized_block_hash: bytes  # 32 bytes
    deposit: int
    withdraw_round: int
    reserve_funds_remaining: int
    reserve_claimed_in_current_round: int = 0

    def __post_init__(self) -> None:
        if len(self.last_initialized_block_hash) != 32:
            raise ChainArgumentError("last_initialized_block_hash must be 32 bytes")
        for name in ("last_seen_l1_block", "last_initialized_round", "deposit", "withdraw_round",
                     "reserve_funds_remaining", "reserve_claimed_in_current_round"):
            if getattr(self, name) < 0:
                raise ChainArgumentError(f"{name} must be >= 0")


class ChainStateSource(Protocol):
    """Where the signer gets its :class:`ChainSnapshot`; ``snapshot()`` is called once per request."""

    def snapshot(self) -> ChainSnapshot: ...


class StaticChainState:
    """Fixed chain values (tests, demos, a signer pinned to a known state). ``update()`` swaps them atomically."""

    def __init__(self, snapshot: ChainSnapshot):
        self._snapshot = snapshot

    def snapshot(self) -> ChainSnapshot:
        return self._snapshot

    def update(self, **changes: Any) -> None:
        """Replace some fields (e.g. advance ``last_seen_l1_block`` in a test)."""
        self._snapshot = replace(self._snapshot, **changes)


class BrokerChainState:
    """A snapshot for one sender from any :class:`TimeSource` and :class:`SenderInfoSource` (the embedded
    ``Chain``/``LocalBroker``, or a :class:`ChainView`)."""

    def __init__(self, time_source: Any, sender_info_source: Any, sender: bytes):
        if len(sender) != 20:
            raise ChainArgumentError("sender must be a 20-byte address")
        self._time = time_source
        self._info = sender_info_source
        self._sender = bytes(sender)

    def snapshot(self) -> ChainSnapshot:
        info = self._info.get_sender_info(self._sender)
        return ChainSnapshot(
            last_seen_l1_block=int(self._time.last_seen_l1_block()),
            last_initialized_round=int(self._time.last_initialized_round()),
            last_initialized_block_hash=bytes(self._time.last_initialized_l1_block_hash()),
            deposit=int(info.deposit),
            withdraw_round=int(info.withdraw_round),
            reserve_funds_remaining=int(info.funds_remaining),
            reserve_claimed_in_current_round=int(info.claimed_in_current_round),
        )


class JsonRpcChainState:
    """The signer's chain view polled from a JSON-RPC node (go-livepeer's TimeWatcher/SenderWatcher): a
    :class:`BrokerChainState` over a :class:`ChainView`, refreshed every ``interval_s`` seconds.

    The first read happens in the constructor and raises :class:`ChainStateUnavailable` on failure
    (go-livepeer refuses to start too); later failures keep the last good snapshot (``last_error`` says why).
    :meth:`start` polls in a daemon thread, :meth:`close` stops it.
    """

    def __init__(self, url: Any, sender: bytes, *, controller: bytes = ARBITRUM_ONE_CONTROLLER,
                 rounds_manager: bytes | None = None, ticket_broker: bytes | None = None,
                 interval_s: float = 5.0, timeout_s: float = 5.0):
        if not isinstance(sender, (bytes, bytearray, memoryview)) or len(sender) != 20:
            raise ChainArgumentError("sender must be a 20-byte address")
        if interval_s <= 0:
            raise ChainArgumentError("interval_s must be > 0")
        self._interval = interval_s
        self._timeout = timeout_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: Exception | None = None
        try:
            self.view = ChainView(url, controller=controller, rounds_manager=rounds_manager,
                                  ticket_broker=ticket_broker, timeout_s=timeout_s)
            self._source = BrokerChainState(self.view, self.view, sender)
            self._snapshot = self.poll()
        except Exception as exc:
            raise ChainStateUnavailable(f"could not read chain state from JSON-RPC: {exc}") from exc

    def poll(self) -> ChainSnapshot:
        """Read a fresh snapshot (and keep it). Raises on any transport or decoding error."""
        snapshot = self._source.snapshot()
        self._snapshot = snapshot
        return snapshot

    def snapshot(self) -> ChainSnapshot:
        return self._snapshot

    def start(self) -> "JsonRpcChainState":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="lpcore-signer-chain", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.poll()
                self.last_error = None
            except Exception as exc:  # keep the last good view; the next poll may succeed
                self.last_error = exc

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._timeout + self._interval)
            self._thread = None

