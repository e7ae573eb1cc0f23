"""The small interfaces the PM roles need from the chain (spec/pm.md §7, §9).

- :class:`TimeSource`: rounds, L1 blocks and round block hashes (go-livepeer ``TimeManager``).
- :class:`SenderInfoSource`: a sender's deposit/reserve and per-claimant claims (``SenderManager``).
- :class:`Broker`: the TicketBroker calls a recipient makes (``pm.Broker``), plus what its sender monitor
  reads. :class:`lpcore.broker.LocalBroker` implements all three over SQLite; an on-chain implementation
  (web3 against Arbitrum's TicketBroker) implements the same methods.
- :class:`StaticChainView`: fixed values, for a remote signer or tests that need no broker at all.
"""

from __future__ import annotations

import abc
import logging
import threading
from dataclasses import dataclass
from typing import Callable, Sequence

from ..errors import BrokerArgumentError
from ..pm.ticket import ZERO_HASH  # the one definition, re-exported for chain views

_LOG = logging.getLogger("lpcore.broker")


@dataclass(frozen=True)
class SenderInfo:
    """``TicketBroker.getSenderInfo(sender)``: deposit, withdraw round and reserve info (wei, rounds)."""

    deposit: int = 0
    withdraw_round: int = 0
    funds_remaining: int = 0
    claimed_in_current_round: int = 0


class TimeSource(abc.ABC):
    """Rounds and L1 blocks as a node sees them (``eth/watchers/timewatcher.go``).

    Senders stamp tickets with the last initialized round and its block hash (the ticket's creation round,
    which the broker checks on redemption), recipients expire ticket params by L1 block, and redemption queues
    run on each new block. Implementations: :class:`lpcore.broker.Chain` (simulated, SQLite),
    :class:`StaticChainView` (fixed values), an on-chain watcher. Reads must be cheap: the roles call them per
    payment."""

    @abc.abstractmethod
    def last_seen_l1_block(self) -> int: ...

    @abc.abstractmethod
    def last_initialized_round(self) -> int: ...

    @abc.abstractmethod
    def last_initialized_l1_block_hash(self) -> bytes:
        """``blockHashForRound(last_initialized_round())``, 32 bytes."""

    @abc.abstractmethod
    def pre_last_initialized_l1_block_hash(self) -> bytes:
        """``blockHashForRound(last_initialized_round() - 1)``, 32 bytes."""

    def subscribe_l1_blocks(self, callback: Callable[[int], None]) -> Callable[[], None]:
        """Call ``callback(block)`` on each new L1 block; returns an unsubscribe function.
        Sources that never advance may keep the default (no notifications)."""
        return lambda: None


class SenderInfoSource(abc.ABC):
    """Where a sender's TicketBroker balances are read (go-livepeer ``SenderManager``).

    A sender checks its own deposit and reserve before signing tickets (a face value above the deposit is
    refused, spec/pm.md §5.3); a recipient checks them, and what it already claimed from the reserve this
    round, to decide how much credit it extends (spec/pm.md §7.1). Both calls read the current round's view;
    amounts are wei, addresses 20-byte ``bytes``; an unknown sender reads as zero, as on chain."""

    @abc.abstractmethod
    def get_sender_info(self, sender: bytes) -> SenderInfo:
        """``TicketBroker.getSenderInfo(sender)``: deposit, withdraw round, reserve remaining and claimed in the
        current round."""

    @abc.abstractmethod
    def claimed_reserve(self, reserve_holder: bytes, claimant: bytes) -> int:
        """``TicketBroker.claimedReserve(reserve_holder, claimant)``: what ``claimant`` already claimed from
        ``reserve_holder``'s reserve in the current round (wei)."""


class Broker(SenderInfoSource):
    """The TicketBroker as the roles use it: sender info (as :class:`SenderInfoSource`), the used-ticket set,
    redemption and the active transcoder pool (which splits each reserve). A recipient's
    :class:`~lpcore.pm.SenderMonitor` is its only caller. Reverts raise :class:`lpcore.BrokerRevert` with the
    contract's revert string (spec/pm.md §7.4), so a backend (embedded SQLite, or web3 against the deployed
    contract) is interchangeable: the same inputs give the same results and the same reasons."""

    @abc.abstractmethod
    def is_used_ticket(self, ticket_hash: bytes) -> bool: ...

    @abc.abstractmethod
    def redeem_winning_ticket(self, ticket, sig: bytes, recipient_rand: int) -> bytes:
        """Redeem one winning ticket; returns a transaction id (32 bytes)."""

    @abc.abstractmethod
    def batch_redeem_winning_tickets(self, tickets: Sequence, sigs: Sequence[bytes], recipient_rands: Sequence[int]) -> bytes:
        """Redeem many; individual failures are ignored as on-chain (spec/pm.md §7.6)."""

    @abc.abstractmethod
    def transcoder_pool_size(self) -> int: ...

    @abc.abstractmethod
    def is_active_transcoder(self, address: bytes) -> bool: ...


def wei_amount(name: str, value: object, error: type[BrokerArgumentError] = BrokerArgumentError) -> int:
    """The one amount check of the brokers (``LocalBroker``, ``ChainBroker``): an int in [0, 2**256) wei, as
    the contract's ``uint256`` arguments and ``msg.value``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(f"{name} must be an int (wei)")
    if value < 0 or value >> 256:
        raise error(f"{name} must be a uint256, got {value}")
    return value


class BlockSubscribers:
    """The one L1-block subscriber list of the chain views (:class:`~lpcore.broker.Chain`,
    :class:`~lpcore.broker.ChainView`): thread-safe, and one subscriber's error never stops the others."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[int], None]] = []

    def subscribe(self, callback: Callable[[int], None]) -> Callable[[], None]:
        """:meth:`TimeSource.subscribe_l1_blocks`: adds ``callback``, returns its unsubscribe function."""
        with self._lock:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return unsubscribe

    def notify(self, block: int) -> Exception | None:
        """Calls every subscriber with ``block`` (outside the lock, so a subscriber may unsubscribe); each
        failure is logged. Returns the last failure, or None."""
        with self._lock:
            callbacks = list(self._callbacks)
        error = None
        for fn in callbacks:
            try:
                fn(block)
            except Exception as exc:  # noqa: BLE001 - one subscriber's failure must not starve the others
                _LOG.exception("L1 block %d subscriber %r failed", block, fn)
                error = exc
        return error


class StaticChainView(TimeSource, SenderInfoSource):
    """Fixed chain state (spec/remote_signer.md §9.2 "static"): every value is a plain attribute.

    ``sender_info`` maps a 20-byte address to its :class:`SenderInfo`; unknown senders read as zero
    (as the contract does)."""

    def __init__(
        self,
        *,
        last_seen_l1_block: int = 0,
        last_initialized_round: int = 0,
        last_initialized_l1_block_hash: bytes = ZERO_HASH,
        pre_last_initialized_l1_block_hash: bytes = ZERO_HASH,
        sender_info: dict[bytes, SenderInfo] | None = None,
        claimed: dict[tuple[bytes, bytes], int] | None = None,
    ):
        self.l1_block = last_seen_l1_block
        self.round = last_initialized_round
        self.round_hash = last_initialized_l1_block_hash
        self.pre_round_hash = pre_last_initialized_l1_block_hash
        self.sender_info = dict(sender_info or {})
        self.claimed = dict(claimed or {})

    def last_seen_l1_block(self) -> int:
        return self.l1_block

    def last_initialized_round(self) -> int:
        return self.round

    def last_initialized_l1_block_hash(self) -> bytes:
        return self.round_hash

    def pre_last_initialized_l1_block_hash(self) -> bytes:
        return self.pre_round_hash

    def get_sender_info(self, sender: bytes) -> SenderInfo:
        return self.sender_info.get(bytes(sender), SenderInfo())

    def claimed_reserve(self, reserve_holder: bytes, claimant: bytes) -> int:
        return self.claimed.get((bytes(reserve_holder), bytes(claimant)), 0)
