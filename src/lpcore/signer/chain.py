"""Chain state for the remote signer (spec/remote_signer.md §9), behind one small interface.

The payment path never sends transactions; it reads the last seen L1 block (ticket-params expiry), the last
initialized round and its block hash (fallback expiration params), and the signer's own TicketBroker
deposit/reserve/withdraw round (sender validation). A :class:`ChainStateSource` returns those as one
immutable :class:`ChainSnapshot` per request, so a request sees a consistent view while a poller updates.

Sources: :class:`StaticChainState` (fixed values: tests, demos), :class:`BrokerChainState` (lpcore's embedded
``LocalBroker``, when available) and :class:`JsonRpcChainState` (polls an Ethereum JSON-RPC endpoint, e.g.
Arbitrum One, the way go-livepeer's watchers do).
"""

from __future__ import annotations

import json
import threading
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from ..errors import ChainStateUnavailable

#: Arbitrum One Controller (spec/remote_signer.md §9.1).
ARBITRUM_ONE_CONTROLLER = bytes.fromhex("d8e8328501e9645d16cf49539efc04f734606ee4")

SELECTOR_GET_CONTRACT = bytes.fromhex("e16c7d98")  # Controller.getContract(bytes32)
SELECTOR_LAST_INITIALIZED_ROUND = bytes.fromhex("8807f36e")  # RoundsManager.lastInitializedRound()
SELECTOR_BLOCK_HASH_FOR_ROUND = bytes.fromhex("3aa4add4")  # RoundsManager.blockHashForRound(uint256)
SELECTOR_GET_SENDER_INFO = bytes.fromhex("e1a589da")  # TicketBroker.getSenderInfo(address)


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
            raise ValueError("last_initialized_block_hash must be 32 bytes")
        for name in ("last_seen_l1_block", "last_initialized_round", "deposit", "withdraw_round",
                     "reserve_funds_remaining", "reserve_claimed_in_current_round"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")


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
        from dataclasses import replace

        self._snapshot = replace(self._snapshot, **changes)


class BrokerChainState:
    """Chain view read from lpcore's embedded chain model for one sender address.

    ``time_source`` is a :class:`lpcore.broker.TimeSource` (e.g. ``lpcore.broker.Chain``) and
    ``sender_info_source`` a :class:`lpcore.broker.SenderInfoSource` (e.g. ``lpcore.broker.LocalBroker``), so a
    signer can run end to end against the embedded broker with no chain at all.
    """

    def __init__(self, time_source: Any, sender_info_source: Any, sender: bytes):
        if len(sender) != 20:
            raise ValueError("sender must be a 20-byte address")
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


def _word(data: bytes, index: int) -> int:
    return int.from_bytes(data[32 * index: 32 * index + 32], "big")


class JsonRpcChainState:
    """Polls an Ethereum JSON-RPC endpoint for the signer's chain view (go-livepeer's TimeWatcher/SenderWatcher).

    Reads, per poll: ``eth_getBlockByNumber("latest")`` (``l1BlockNumber`` on Arbitrum, else ``number``),
    ``RoundsManager.lastInitializedRound()``, ``blockHashForRound(round)`` and
    ``TicketBroker.getSenderInfo(sender)``. Contract addresses are resolved once through the Controller
    unless given. The first poll happens in the constructor and raises :class:`ChainStateUnavailable` on
    failure (go-livepeer refuses to start too); later failures keep the last good snapshot. Call
    :meth:`start` to poll every ``interval_s`` seconds in a daemon thread and :meth:`close` to stop.
    """

    def __init__(self, url: str, sender: bytes, *, controller: bytes = ARBITRUM_ONE_CONTROLLER,
                 rounds_manager: bytes | None = None, ticket_broker: bytes | None = None,
                 interval_s: float = 5.0, timeout_s: float = 5.0,
                 post: Callable[[str, bytes, float], bytes] | None = None):
        if len(sender) != 20:
            raise ValueError("sender must be a 20-byte address")
        if interval_s <= 0:
            raise ValueError("interval_s must be > 0")
        self._url = url
        self._sender = bytes(sender)
        self._interval = interval_s
        self._timeout = timeout_s
        self._post = post or _http_post
        self._ids = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: Exception | None = None
        try:
            self._rounds_manager = rounds_manager or self._get_contract(controller, b"RoundsManager")
            self._ticket_broker = ticket_broker or self._get_contract(controller, b"TicketBroker")
            self._snapshot = self.poll()
        except Exception as exc:
            raise ChainStateUnavailable(f"could not read chain state from JSON-RPC: {exc}") from exc

    # -- JSON-RPC plumbing ------------------------------------------------------------------------------
    def _call(self, method: str, params: list[Any]) -> Any:
        with self._lock:
            self._ids += 1
            request_id = self._ids
        body = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}).encode()
        reply = json.loads(self._post(self._url, body, self._timeout))
        if not isinstance(reply, dict):
            raise ValueError(f"{method}: reply is not a JSON object")
        if reply.get("error"):
            raise ValueError(f"{method}: {reply['error']}")
        if "result" not in reply:
            raise ValueError(f"{method}: reply has no result")
        return reply["result"]

    def _eth_call(self, to: bytes, data: bytes) -> bytes:
        result = self._call("eth_call", [{"to": "0x" + to.hex(), "data": "0x" + data.hex()}, "latest"])
        if not isinstance(result, str) or not result.startswith("0x"):
            raise ValueError("eth_call: result is not hex")
        return bytes.fromhex(result[2:])

    def _get_contract(self, controller: bytes, name: bytes) -> bytes:
        from .. import keccak256

        out = self._eth_call(controller, SELECTOR_GET_CONTRACT + keccak256(name))
        if len(out) < 32:
            raise ValueError(f"Controller.getContract({name.decode()}): short reply")
        address = out[12:32]
        if address == b"\0" * 20:
            raise ValueError(f"Controller.getContract({name.decode()}): not registered")
        return address

    # -- polling ----------------------------------------------------------------------------------------
    def poll(self) -> ChainSnapshot:
        """Read a fresh snapshot (and keep it). Raises on any transport or decoding error."""
        block = self._call("eth_getBlockByNumber", ["latest", False])
        if not isinstance(block, dict):
            raise ValueError("eth_getBlockByNumber: no block")
        l1 = block.get("l1BlockNumber") or block.get("number")
        if not isinstance(l1, str):
            raise ValueError("eth_getBlockByNumber: block has no number")
        round_out = self._eth_call(self._rounds_manager, SELECTOR_LAST_INITIALIZED_ROUND)
        round_ = _word(round_out, 0)
        hash_out = self._eth_call(self._rounds_manager, SELECTOR_BLOCK_HASH_FOR_ROUND + round_.to_bytes(32, "big"))
        info = self._eth_call(self._ticket_broker, SELECTOR_GET_SENDER_INFO + self._sender.rjust(32, b"\0"))
        if len(round_out) < 32 or len(hash_out) < 32 or len(info) < 128:
            raise ValueError("eth_call: short reply")
        snapshot = ChainSnapshot(
            last_seen_l1_block=int(l1, 16),
            last_initialized_round=round_,
            last_initialized_block_hash=hash_out[:32],
            deposit=_word(info, 0),
            withdraw_round=_word(info, 1),
            reserve_funds_remaining=_word(info, 2),
            reserve_claimed_in_current_round=_word(info, 3),
        )
        self._snapshot = snapshot
        return snapshot

    def snapshot(self) -> ChainSnapshot:
        return self._snapshot

    def start(self) -> JsonRpcChainState:
        """Poll in a daemon thread every ``interval_s`` seconds until :meth:`close`."""
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


def _http_post(url: str, body: bytes, timeout: float) -> bytes:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310 (operator-configured URL)
        return reply.read()


__all__ = ["ChainSnapshot", "ChainStateSource", "ChainStateUnavailable", "StaticChainState", "BrokerChainState",
           "JsonRpcChainState", "ARBITRUM_ONE_CONTROLLER"]
