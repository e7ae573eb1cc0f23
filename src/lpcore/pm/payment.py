"""A payment: one set of ticket params, one sender, N (nonce, signature) pairs (spec/pm.md §4.2, §5.4).

This is go-livepeer's ``TicketBatch`` and the wire ``net.Payment`` in one object: the sender creates it with
:meth:`lpcore.pm.Sender.create_ticket_batch`, the recipient validates it with
:meth:`lpcore.pm.Recipient.receive_payment`. Nonces and signatures are numpy columns so that a payment is
hashed, verified and lottery-checked with one batch call each.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np

from .params import TicketExpirationParams, TicketParams


@dataclass(frozen=True, eq=False)
class Payment:
    """Tickets sharing params: ``sender_nonces`` (N,) and ``sigs`` (N,65 uint8, or N byte strings).

    ``expected_price`` is the price the gateway claims to pay (wire ``expected_price``); the recipient binds
    it into the HMAC (spec/pm.md §4.5) and rejects a payment without one, as go-livepeer does.
    :meth:`lpcore.pm.Sender.create_ticket_batch` sets it to the params' price.
    """

    ticket_params: TicketParams
    sender: bytes
    expiration_params: TicketExpirationParams
    sender_nonces: Sequence[int] | np.ndarray
    sigs: Sequence[bytes] | np.ndarray
    expected_price: Fraction | None = None

    def __post_init__(self) -> None:
        if len(self.sender_nonces) != len(self.sigs):
            raise ValueError(f"sender_nonces ({len(self.sender_nonces)}) and sigs ({len(self.sigs)}) differ in length")
        if not isinstance(self.ticket_params, TicketParams):
            raise TypeError("ticket_params must be a TicketParams")
        if not isinstance(self.expiration_params, TicketExpirationParams):
            raise TypeError("expiration_params must be a TicketExpirationParams")

    def __len__(self) -> int:
        return len(self.sender_nonces)

    @property
    def price(self) -> Fraction:
        return self.ticket_params.price_per_pixel if self.expected_price is None else Fraction(self.expected_price)

    def nonce_array(self) -> np.ndarray:
        nonces = np.asarray(self.sender_nonces, dtype=np.int64)
        if nonces.ndim != 1 or (len(nonces) and (nonces.min() < 0 or nonces.max() >= 2**32)):
            raise ValueError("sender_nonces must be uint32 values")
        return nonces.astype(np.uint32)

    def sig_bytes(self, i: int) -> bytes:
        s = self.sigs[i]
        return s.tobytes() if isinstance(s, np.ndarray) else bytes(s)

    def tickets(self) -> list:
        """The tickets, built as ``core/orchestrator.go`` does (with expiration block and expected price)."""
        from lpcore.pm import Ticket

        tp, ep = self.ticket_params, self.expiration_params
        return [
            Ticket(
                recipient=tp.recipient,
                sender=self.sender,
                face_value=tp.face_value,
                win_prob=tp.win_prob,
                sender_nonce=int(n),
                recipient_rand_hash=tp.recipient_rand_hash,
                creation_round=ep.creation_round,
                creation_round_block_hash=ep.creation_round_block_hash,
                params_expiration_block=tp.expiration_block,
                price_per_pixel=self.price,
            )
            for n in self.sender_nonces
        ]

