"""The recipient's view of its senders: max float, reserve allocation, pending redemptions, and redemption
(spec/pm.md §7.1, §7.3; go-livepeer ``pm/sendermonitor.go``).

``SenderMonitor(claimant, broker, time_source, queue, *, redeem_gas=1_200_000, gas_price=0)``:

- :meth:`reserve_alloc` = ``(fundsRemaining + claimedInCurrentRound) // poolSize - claimedReserve`` (0 with an
  empty pool); :meth:`max_float` = ``reserve_alloc`` when ``deposit / pending >= 3``, else ``reserve_alloc -
  pending`` (the ratio is compared exactly, where Go uses a big.Float quotient);
- :meth:`validate_sender` raises go-livepeer's fatal sender errors;
- :meth:`redeem_winning_ticket` runs the client-side checks of §7.3, holds the face value as pending while the
  broker call runs, and returns the transaction id;
- :meth:`on_new_l1_block` processes the durable :class:`~lpcore.pm.queue.RedemptionQueue`.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import TYPE_CHECKING, Callable, Iterable

from . import errors as E
from .crypto import to_checksum_address
from .params import REDEEM_GAS_L2
from .queue import QueueRun, RedemptionQueue, SignedTicket

if TYPE_CHECKING:  # broker imports pm: the interfaces are only named here, never imported at run time
    from ..broker.base import Broker, TimeSource

MIN_DEPOSIT_PENDING_RATIO = 3


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
                 redeem_gas: int = REDEEM_GAS_L2, gas_price: int | Callable[[], int] = 0) -> None:
        self.claimant = bytes(claimant)
        self.broker = broker
        self.time_source = time_source
        self.queue = queue
        self.redeem_gas = redeem_gas
        self._gas_price = gas_price
        self._pending: dict[bytes, int] = defaultdict(int)
        self._lock = threading.Lock()

    def gas_price(self) -> int:
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

    def on_new_l1_block(self, block: int) -> QueueRun:
        ts = self.time_source
        return self.queue.process(block, ts.last_initialized_round(), self.redeem_winning_ticket,
                                  self.broker.is_active_transcoder)
