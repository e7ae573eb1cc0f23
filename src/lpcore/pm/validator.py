"""Ticket validation and the win check, off-chain (spec/pm.md §2.3, §3, §6.3; go-livepeer ``pm/validator.go``).

:meth:`Validator.validate_batch` is the one implementation: the three checks that depend only on a payment's
shared fields (recipient, sender, recipientRand) run once, then the signatures of all tickets are verified
with one :func:`lpcore.pm.verify_batch` call over hashes from one :func:`lpcore.pm.ticket_hashes_columns`
call, and the lottery with one :func:`lpcore.pm.is_winning_batch` call. :meth:`Validator.validate_ticket`
and :meth:`Validator.is_winning_ticket` are the single-ticket forms and call the batch path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import lpcore
from lpcore import pm as _pm

from . import errors as E
from .payment import as_sig_array

_ZERO_ADDR = b"\0" * 20


@dataclass(frozen=True)
class BatchCheck:
    """Per-ticket outcome of :meth:`Validator.validate_batch`: ``sig_valid[i]`` (else the ticket fails with
    :class:`~lpcore.pm.errors.InvalidTicketSignature`) and ``won[i]`` (meaningful only where valid)."""

    hashes: np.ndarray
    sigs: np.ndarray
    sig_valid: np.ndarray
    won: np.ndarray


class Validator:
    """Checks tickets for one recipient address. ``threads`` is passed to the C batch calls."""

    def __init__(self, threads: int | None = None):
        self.threads = threads

    @staticmethod
    def check_shared(recipient: bytes, ticket_recipient: bytes, sender: bytes, recipient_rand: int,
                     recipient_rand_hash: bytes) -> None:
        """``ValidateTicket`` checks 1-3 (spec/pm.md §6.3), which every ticket of a payment shares."""
        if bytes(ticket_recipient) != bytes(recipient):
            raise E.InvalidTicketRecipient()
        if bytes(sender) == _ZERO_ADDR:
            raise E.InvalidTicketSender()
        if _pm.recipient_rand_hash(recipient_rand) != bytes(recipient_rand_hash):
            raise E.InvalidTicketRecipientRand()

    def validate_batch(
        self,
        *,
        recipient: bytes,
        sender: bytes,
        face_value: int,
        win_prob: int,
        sender_nonces,
        recipient_rand_hash: bytes,
        creation_round: int,
        creation_round_block_hash: bytes,
        sigs,
        recipient_rand: int,
    ) -> BatchCheck:
        """Signature (check 4) and win status of each ticket sharing these fields; call
        :meth:`check_shared` first."""
        sig_arr, sig_len_ok = as_sig_array(sigs)
        n = len(sig_arr)
        hashes = _pm.ticket_hashes_columns(
            recipient, sender, face_value, win_prob, np.asarray(sender_nonces, dtype=np.uint32),
            recipient_rand_hash, creation_round, creation_round_block_hash,
        )
        senders = np.broadcast_to(np.frombuffer(bytes(sender), dtype=np.uint8), (n, 20))
        valid = np.asarray(_pm.verify_batch(hashes, sig_arr, np.ascontiguousarray(senders), threads=self.threads),
                           dtype=bool) & sig_len_ok
        rand = np.ascontiguousarray(np.broadcast_to(_pm.to_u256([recipient_rand])[0], (n, 32)))
        wp = np.ascontiguousarray(np.broadcast_to(_pm.to_u256([win_prob])[0], (n, 32)))
        won = np.asarray(_pm.is_winning_batch(sig_arr, rand, wp), dtype=bool) & valid
        return BatchCheck(hashes, sig_arr, valid, won)

    def validate_ticket(self, recipient: bytes, ticket, sig: bytes, recipient_rand: int) -> None:
        """``ValidateTicket``: raise the first failing check of spec/pm.md §6.3 for one ticket."""
        self.check_shared(recipient, ticket.recipient, ticket.sender, recipient_rand, ticket.recipient_rand_hash)
        res = self.validate_batch(
            recipient=ticket.recipient, sender=ticket.sender, face_value=ticket.face_value, win_prob=ticket.win_prob,
            sender_nonces=[ticket.sender_nonce], recipient_rand_hash=ticket.recipient_rand_hash,
            creation_round=ticket.creation_round, creation_round_block_hash=ticket.creation_round_block_hash,
            sigs=[bytes(sig)], recipient_rand=recipient_rand,
        )
        if not res.sig_valid[0]:
            raise E.InvalidTicketSignature()

    @staticmethod
    def is_winning_ticket(ticket, sig: bytes, recipient_rand: int) -> bool:
        """``IsWinningTicket``: ``keccak256(sig ‖ u256(recipientRand)) < winProb``. Go hashes a signature of
        any length, so a non-65-byte ``sig`` is hashed directly; 65-byte ones use the batch call."""
        sig = bytes(sig)
        if len(sig) == 65:
            arr = np.frombuffer(sig, dtype=np.uint8).reshape(1, 65)
            return bool(_pm.is_winning_batch(arr, _pm.to_u256([recipient_rand]), _pm.to_u256([ticket.win_prob]))[0])
        win_rand = int.from_bytes(lpcore.keccak256(sig + recipient_rand.to_bytes(32, "big")), "big")
        return win_rand < ticket.win_prob
