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
from typing import Callable, Iterable

from . import errors as E
from .crypto import to_checksum_address
from .params import REDEEM_GAS_L2
from .queue import QueueRun, RedemptionQueue, SignedTicket

MIN_DEPOSIT_PENDING_RATIO = 3


class SenderMonitor:
    def __init__(self, claimant: bytes, broker, time_source, queue: RedemptionQueue, *,
                 redeem_gas: int = REDEEM_GAS_L2, gas_price: int | Callable[[], int] = 0):
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
