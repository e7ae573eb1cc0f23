"""The recipient's view of its senders: max float, reserve allocation, pending redemptions, and redemption
(spec/pm.md §7.1, §7.3; go-livepeer ``pm/sendermonitor.go``).

``SenderMonitor(claimant, broker, time_source, queue, *, redeem_gas=1_200_000, gas_price=None)``
(``gas_price``: wei, or a callable; ``None`` = the broker's ``gas_price()`` where it has one - the on-chain broker
asks the node, as go-livepeer's ``SuggestGasPrice`` - else 0):

- :meth:`reserve_alloc` = ``(fundsRemaining + claimedInCurrentRound) // poolSize - claimedReserve`` (0 with an
  empty pool); :meth:`max_float` = ``reserve_alloc`` when ``deposit / pending >= 3``, else ``reserve_alloc -
  pending`` (the ratio is compared exactly, where Go uses a big.Float quotient);
- :meth:`validate_sender` raises go-livepeer's fatal sender errors;
- :meth:`redeem_winning_ticket` runs the client-side checks of §7.3, holds the face value as pending while the
  broker call runs, and returns the transaction id;
- :meth:`on_new_l1_block` runs the redemption policy over the durable :class:`~lpcore.pm.queue.RedemptionQueue`
  (below); :meth:`start` subscribes to new L1 blocks and runs one pass at once - the start-up scan of every
  queued ticket of every sender (go-livepeer only looks at senders that pay again after a restart, #632).

Redemption policy (spec/chain.md §4.4, §8.10), per due ticket (params expired, in the validity window, back-off
over, recipient active), checks in this order - a failing check defers the ticket with back-off, never drops it,
unless the check is terminal:

1. ``creationRound + ticketValidityPeriod > currentRound`` (terminal: ``ticket is expired``);
2. the current round is initialized;
3. ``usedTickets(hash)``: a ticket the broker already paid is marked ``redeemed`` with the paying transaction
   (:meth:`Broker.redemption_tx`, e.g. after a crash between the receipt and the bookkeeping); one paid by
   somebody else is ``failed`` with ``ticket already used``;
4. the sender is locked (``withdrawRound == 0 or currentRound < withdrawRound``);
5. ``deposit + claimableReserve(sender, recipient)`` covers the face value (less what this pass already takes
   from that sender; protocol #657/#663);
6. tx cost ``redeem_gas * gas_price`` below the available funds and below the face value (go-livepeer's checks).

The passing tickets are redeemed together: in ``batchRedeemWinningTickets`` chunks when the broker offers
``redeem_batch`` (the on-chain broker), else one by one. The pass never raises: a locked database or a node
error is kept in ``QueueRun.error`` and the next block tries again.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from typing import TYPE_CHECKING, Callable, Iterable

from . import errors as E
from .crypto import to_checksum_address
from .params import REDEEM_GAS_L2
from ..errors import BrokerRevert
from .queue import QueueRun, RedemptionQueue, SignedTicket, is_non_retryable

if TYPE_CHECKING:  # broker imports pm: the interfaces are only named here, never imported at run time
    from ..broker.base import Broker, TimeSource

MIN_DEPOSIT_PENDING_RATIO = 3
log = logging.getLogger("lpcore.pm.monitor")


class SenderMonitor:
    """An orchestrator's (``claimant``'s) bookkeeping of the senders paying it, and its redemptions.

    Two things decide how much a gateway may owe it before a winning ticket is redeemed: the share of each
    sender's reserve this orchestrator may claim (:meth:`reserve_alloc`, split over the active transcoder pool
    as the TicketBroker does), minus the face value of its own redemptions still in flight (:meth:`pending`).
    :class:`~lpcore.pm.Recipient` asks it for that :meth:`max_float` to size face values, and for
    :meth:`validate_sender` before crediting a payment; winning tickets go to the durable ``queue`` and are
    redeemed on each new L1 block (:meth:`on_new_l1_block`, subscribe it to ``time_source``) once their params
    have expired, each through the client-side checks of :meth:`redeem_winning_ticket`.

    ``broker`` is read for sender info, claims and the pool, and called to redeem; ``gas_price`` (wei, or a
    callable returning the current price) with ``redeem_gas`` prices a redemption, which is refused when it
    would cost more than the ticket pays. Thread-safe: pending amounts are kept under a lock.
    """

    def __init__(self, claimant: bytes, broker: Broker, time_source: TimeSource, queue: RedemptionQueue, *,
                 redeem_gas: int = REDEEM_GAS_L2, gas_price: int | Callable[[], int] | None = None) -> None:
        self.claimant = bytes(claimant)
        self.broker = broker
        self.time_source = time_source
        self.queue = queue
        self.redeem_gas = redeem_gas
        self._gas_price = gas_price
        self._pending: dict[bytes, int] = defaultdict(int)
        self._lock = threading.Lock()

    def gas_price(self) -> int:
        if self._gas_price is None:
            fn = getattr(self.broker, "gas_price", None)
            return int(fn()) if callable(fn) else 0
        return self._gas_price() if callable(self._gas_price) else self._gas_price

    def pending(self, sender: bytes) -> int:
        with self._lock:
            return self._pending[bytes(sender)]

    def reserve_alloc(self, sender: bytes) -> int:
        info = self.broker.get_sender_info(sender)
        claimed = self.broker.claimed_reserve(sender, self.claimant)
        pool = self.broker.transcoder_pool_size()
        if pool == 0:
            return 0
        return (info.funds_remaining + info.claimed_in_current_round) // pool - claimed

    def max_float(self, sender: bytes) -> int:
        sender = bytes(sender)
        alloc = self.reserve_alloc(sender)
        info = self.broker.get_sender_info(sender)
        pending = self.pending(sender)
        if pending > 0 and info.deposit >= MIN_DEPOSIT_PENDING_RATIO * pending:
            return alloc
        return alloc - pending

    def available_funds(self, sender: bytes) -> int:
        info = self.broker.get_sender_info(sender)
        return self.reserve_alloc(sender) + info.deposit - self.pending(sender)

    def validate_sender(self, sender: bytes) -> None:
        """``ValidateSender``: sender info must load and the sender must not unlock within a round."""
        sender_hex = to_checksum_address(bytes(sender))
        try:
            info = self.broker.get_sender_info(sender)
        except Exception as err:  # noqa: BLE001 - any lookup failure is reported with Go's wrapper message
            raise E.SenderInfoUnavailable(sender_hex, err) from err
        wr = info.withdraw_round
        if (wr & (2**64 - 1)) != 0 and wr <= self.time_source.last_initialized_round() + 1:
            raise E.SenderUnlockingSoonForRecipient(sender_hex)

    def queue_ticket(self, ticket: SignedTicket) -> None:
        self.queue.add(ticket)

    def queue_tickets(self, tickets: Iterable[SignedTicket]) -> int:
        return self.queue.add_many(tickets)

    def redeem_winning_ticket(self, st: SignedTicket) -> bytes:
        """Client-side redemption (spec/pm.md §7.3); raises the protocol's errors or the broker's revert."""
        t = st.ticket
        available = self.available_funds(t.sender)
        if self.broker.is_used_ticket(t.hash()):
            tx = self._paid_by_us(t.hash())
            if tx is not None:  # we paid it (a crash came between the receipt and the bookkeeping)
                return tx
            raise E.TicketUsed()
        tx_cost = self.redeem_gas * self.gas_price()
        if available <= tx_cost:
            raise E.InsufficientFundsForTxCost()
        if t.face_value <= tx_cost:
            raise E.InsufficientFaceValueForTxCost()
        with self._lock:
            self._pending[t.sender] += t.face_value
        try:
            return self.broker.redeem_winning_ticket(t, st.sig, st.recipient_rand)
        finally:
            with self._lock:
                self._pending[t.sender] -= t.face_value

    def _paid_by_us(self, ticket_hash: bytes) -> bytes | None:
        find = getattr(self.broker, "redemption_tx", None)
        return find(ticket_hash) if find is not None else None

    def start(self) -> QueueRun:
        """Redeem on every new L1 block from now on, and run the start-up scan now."""
        self._unsubscribe = self.time_source.subscribe_l1_blocks(self.on_new_l1_block)
        return self.on_new_l1_block(self.time_source.last_seen_l1_block())

    def on_new_l1_block(self, block: int) -> QueueRun:
        """One redemption pass (see module docstring); never raises."""
        try:
            with self.queue._process_lock:
                return self._redeem_due(block)
        except Exception as err:  # noqa: BLE001 - e.g. "database is locked": the next block retries
            log.warning("redemption pass at L1 block %d failed: %s", block, err)
            return QueueRun(error=err)

    def _current_round(self) -> int:
        for src in (self.time_source, self.broker, getattr(self.broker, "chain", None)):
            fn = getattr(src, "current_round", None)
            if fn is not None:
                return int(fn())
        return int(self.time_source.last_initialized_round())

    def _round_initialized(self) -> bool:
        for src in (self.time_source, self.broker, getattr(self.broker, "chain", None)):
            fn = getattr(src, "current_round_initialized", None)
            if fn is not None:
                return bool(fn())
        return True

    def _cover(self, sender: bytes, recipient: bytes, info) -> int:
        claimable = getattr(self.broker, "claimable_reserve", None)
        reserve = claimable(sender, recipient) if claimable is not None else max(0, self.reserve_alloc(sender))
        return info.deposit + reserve

    def _redeem_due(self, block: int) -> QueueRun:
        ts, broker, q = self.time_source, self.broker, self.queue
        lir = ts.last_initialized_round()
        due, run = q.due(block, lir, broker.is_active_transcoder)
        if not due:
            return run
        cur = self._current_round()
        validity = getattr(broker, "ticket_validity_period", 2)
        validity = int(validity() if callable(validity) else validity)
        initialized = self._round_initialized()
        gas_price = self.gas_price()
        tx_cost = self.redeem_gas * gas_price
        infos: dict[bytes, object] = {}
        taken: dict[bytes, int] = defaultdict(int)
        go: list[SignedTicket] = []

        def defer(st, err):
            q.defer(st.sig, str(err), block)
            run.retry.append((st, err))

        for st in due:
            t = st.ticket
            if not t.creation_round + validity > cur:
                err = BrokerRevert("ticket is expired")
                q.mark_failed(st.sig, str(err))
                run.failed.append((st, err))
                continue
            if not initialized:
                defer(st, BrokerRevert("current round is not initialized"))
                continue
            if broker.is_used_ticket(t.hash()):
                self._settle_used(st, run)
                continue
            info = infos.get(t.sender)
            if info is None:
                info = infos[t.sender] = broker.get_sender_info(t.sender)
            if not (info.withdraw_round == 0 or cur < info.withdraw_round):
                defer(st, BrokerRevert("sender is unlocked"))
                continue
            cover = self._cover(t.sender, t.recipient, info) - taken[t.sender] - self.pending(t.sender)
            if cover < t.face_value:
                defer(st, BrokerRevert("sender deposit and reserve insufficient to cover ticket face value"))
                continue
            if cover <= tx_cost:
                defer(st, E.InsufficientFundsForTxCost())
                continue
            if t.face_value <= tx_cost:
                defer(st, E.InsufficientFaceValueForTxCost())
                continue
            taken[t.sender] += t.face_value
            go.append(st)
        if not go:
            return run
        with self._lock:
            for st in go:
                self._pending[st.sender] += st.ticket.face_value
        try:
            batch = getattr(broker, "redeem_batch", None)
            if batch is not None:
                results = batch([st.ticket for st in go], [st.sig for st in go], [st.recipient_rand for st in go])
            else:
                results = []
                for st in go:
                    try:
                        results.append((broker.redeem_winning_ticket(st.ticket, st.sig, st.recipient_rand), None))
                    except Exception as err:  # noqa: BLE001 - classified below
                        results.append((None, err))
        finally:
            with self._lock:
                for st in go:
                    self._pending[st.sender] -= st.ticket.face_value
        for st, (tx, err) in zip(go, results):
            if err is None:
                q.mark_redeemed(st.sig, tx)
                run.redeemed.append((st, tx))
            elif "ticket is used" in str(err) or isinstance(err, E.TicketUsed):
                self._settle_used(st, run)
            elif is_non_retryable(err):
                q.mark_failed(st.sig, str(err))
                run.failed.append((st, err))
            else:
                defer(st, err)
        return run

    def _settle_used(self, st: SignedTicket, run: QueueRun) -> None:
        tx = self._paid_by_us(st.ticket.hash())
        if tx is not None:
            self.queue.mark_redeemed(st.sig, tx)
            run.redeemed.append((st, tx))
        else:
            err = E.TicketUsed()
            self.queue.mark_failed(st.sig, str(err))
            run.failed.append((st, err))
