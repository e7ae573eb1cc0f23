"""Ticket validation and the win check, off-chain (spec/pm.md §2.3, §3, §6.3; go-livepeer ``pm/validator.go``).

:meth:`Validator.validate_batch` is the one implementation: the three checks that depend only on a payment's
shared fields (recipient, sender, recipientRand) run once, then the signatures of all tickets are verified
with one :func:`lpcore.pm.verify_batch` call over hashes from one :func:`lpcore.pm.ticket_hashes_columns`
call, and the lottery with one :func:`lpcore.pm.is_winning_batch` call; fields shared by the payment are passed
as one row, which the C loops broadcast (stride 0), and ``threads`` reaches every call. :meth:`Validator.validate_ticket`
and :meth:`Validator.is_winning_ticket` are the single-ticket forms and call the batch path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import errors as E
from . import crypto
from .crypto import is_winning_batch, sig_rows, to_u256, verify_batch
from .ticket import ticket_hashes_columns

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
        if crypto.recipient_rand_hash(recipient_rand) != bytes(recipient_rand_hash):
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
        sig_arr, sig_len_ok = sig_rows(sigs)
        hashes = ticket_hashes_columns(
            recipient, sender, face_value, win_prob, np.asarray(sender_nonces, dtype=np.uint32),
            recipient_rand_hash, creation_round, creation_round_block_hash, threads=self.threads,
        )
        # the shared sender, recipientRand and winProb are one row each: the C loops broadcast them (stride 0)
        valid = verify_batch(hashes, sig_arr, bytes(sender), threads=self.threads) & sig_len_ok
        won = is_winning_batch(sig_arr, to_u256(recipient_rand), to_u256(win_prob), threads=self.threads) & valid
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
        any length; so does the batch call, which takes ragged signatures."""
        return bool(is_winning_batch([bytes(sig)], recipient_rand, ticket.win_prob, threads=1)[0])
