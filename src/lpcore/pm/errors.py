"""Protocol errors of the PM roles, one class per go-livepeer error value.

go-livepeer declares its errors as package-level values (``errInvalidTicketRecipient``,
``ErrTicketParamsExpired``) and compares identities. Here each value is an exception *class* carrying the
protocol's exact message, so callers compare with ``isinstance``/``except`` and tests compare ``str(err)``
with the protocol's text. Errors whose Go message is formatted (``%v``) take the formatted values as
constructor arguments and render them the way Go does.

Hierarchy (all derive from :class:`lpcore.LpcoreError`):

- :class:`PMError` - every error of the sender/recipient/queue logic.
  - :class:`TicketParamsError` - sender-side validation of ticket params (spec/pm.md §5.3).
  - :class:`SenderValidationError` - Go's ``ErrSenderValidation`` (§5.3 rows 8a-8c).
  - :class:`TicketValidationError` (also :class:`lpcore.InvalidTicket`) - the validator's errors (§6.3).
  - :class:`SenderNonceError` - replay protection (§6.4).
  - :class:`FatalReceiveError` - wraps any error that aborts a whole payment (§6.2).
"""

from __future__ import annotations

from ..errors import InvalidSignature, InvalidTicket, LpcoreError


class PMError(LpcoreError):
    """Base class of the PM protocol-role errors."""


class _Fixed(PMError):
    """An error whose message is fixed by the protocol (``message``)."""

    message = ""

    def __init__(self, message: str | None = None):
        super().__init__(self.message if message is None else message)


# --- sender side (spec/pm.md §4.3, §5.1-§5.3) ------------------------------------------------------------


class TicketParamsError(PMError, ValueError):
    """Ticket params rejected by the sender (spec/pm.md §5.3); the message is go-livepeer's."""


class TicketParamsNil(_Fixed, TicketParamsError):
    message = "ticketParams is nil"


class TicketParamsExpirationBlockZero(_Fixed, TicketParamsError):
    message = "ticketParams expiration block is 0"


class TicketParamsExpired(_Fixed, TicketParamsError):
    """Go's ``ErrTicketParamsExpired``: raised by the sender (§5.3 row 3) and returned, non-fatal, by the
    recipient (§6.2 step 6). A gateway refreshes the orchestrator's params when it sees it."""

    message = "TicketParams expired"


class TicketFaceValueTooLow(TicketParamsError):
    def __init__(self, face_value: int):
        super().__init__(f"ticket faceValue too low faceValue={face_value}")


class TicketEVTooHigh(TicketParamsError):
    def __init__(self, ev: str, max_ev: str):
        super().__init__(f"ticket EV {ev} > max ticket EV {max_ev}")


class TotalTicketEVTooHigh(TicketParamsError):
    def __init__(self, total_ev: str, num_tickets: int, max_total_ev: str):
        super().__init__(f"total ticket EV {total_ev} for {num_tickets} tickets > max total ticket EV {max_total_ev}")


class TicketFaceValueAboveMax(TicketParamsError):
    def __init__(self, face_value: int, max_face_value: int):
        super().__init__(f"ticket faceValue {face_value} > max faceValue {max_face_value}")


class SenderValidationError(PMError):
    """Go's ``ErrSenderValidation``: the sender's own deposit/reserve cannot back tickets."""


class SenderUnlockingSoon(_Fixed, SenderValidationError):
    message = "unable to validate sender: deposit and reserve is set to unlock soon"


class NoSenderReserve(_Fixed, SenderValidationError):
    message = "no sender reserve"


class NoSenderDeposit(_Fixed, SenderValidationError):
    message = "no sender deposit"


class SessionNotFound(PMError, KeyError):
    """``"error loading session: %x"``: Go formats the session-id *string* with %x, i.e. the hex of its
    ASCII bytes, which is reproduced here."""

    def __init__(self, session_id: str):
        PMError.__init__(self, f"error loading session: {session_id.encode().hex()}")
        self.session_id = session_id

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0])


class TicketSigningError(PMError):
    def __init__(self, session_id: str, cause: BaseException):
        super().__init__(f"error signing ticket for session: {session_id}: {cause}")
        self.__cause__ = cause


class InsufficientSenderReserve(_Fixed, PMError):
    """Go's ``errInsufficientSenderReserve`` (spec/pm.md §4.3 steps 6-7)."""

    message = "insufficient sender reserve"


# --- recipient side (spec/pm.md §6) ------------------------------------------------------------------------


class TicketValidationError(PMError, InvalidTicket):
    """An error of the ticket validator (spec/pm.md §6.3)."""


class InvalidTicketRecipient(_Fixed, TicketValidationError):
    message = "invalid ticket recipient"


class InvalidTicketSender(_Fixed, TicketValidationError):
    message = "invalid ticket sender"


class InvalidTicketRecipientRand(_Fixed, TicketValidationError):
    message = "invalid recipientRand for ticket recipientRandHash"


class InvalidTicketSignature(_Fixed, TicketValidationError, InvalidSignature):
    """The only validator error that is *not* fatal to a payment (spec/pm.md §6.2 step 3)."""

    message = "invalid ticket signature"


class InvalidCreationRound(_Fixed, TicketValidationError):
    """Declared by go-livepeer but never returned by its validator (kept for parity)."""

    message = "invalid ticket creation round"


class InvalidCreationRoundBlockHash(_Fixed, TicketValidationError):
    """Declared by go-livepeer but never returned by its validator (kept for parity)."""

    message = "invalid ticket creation round block hash"


class TicketUsed(_Fixed, TicketValidationError):
    """Go's ``errIsUsedTicket``: the broker already marked the ticket hash used (redemption only)."""

    message = "ticket already used"


class SenderNonceError(PMError):
    """Replay protection (spec/pm.md §6.4); non-fatal."""


class NonceAlreadySeen(SenderNonceError):
    def __init__(self, sender_hex: str, nonce: int):
        super().__init__(f"invalid ticket senderNonce: already seen sender={sender_hex} nonce={nonce}")


class TooManyNonces(SenderNonceError):
    def __init__(self, sender_hex: str, nonce: int):
        super().__init__(f"invalid ticket senderNonce: too many values sender={sender_hex} nonce={nonce}")


class SenderInfoUnavailable(PMError):
    def __init__(self, sender_hex: str, cause: BaseException):
        super().__init__(f"could not get sender info for {sender_hex}: {cause}")
        self.__cause__ = cause


class SenderUnlockingSoonForRecipient(PMError):
    """The recipient-side twin of :class:`SenderUnlockingSoon` (``pm/sendermonitor.go``)."""

    def __init__(self, sender_hex: str):
        super().__init__(f"deposit and reserve for sender {sender_hex} is set to unlock soon")


class FatalReceiveError(PMError):
    """Go's ``*FatalReceiveErr``: aborts the whole payment. ``err`` is the wrapped error; the message is its."""

    def __init__(self, err: BaseException):
        super().__init__(str(err))
        self.err = err
        self.__cause__ = err


class PaymentError(PMError, ValueError):
    """A payment rejected before any ticket is looked at (``core/orchestrator.go`` ``ProcessPayment``)."""


# --- redemption (spec/pm.md §7.3) -------------------------------------------------------------------------


class InsufficientFundsForTxCost(_Fixed, PMError):
    message = "insufficient sender funds for redeem tx cost"


class InsufficientFaceValueForTxCost(_Fixed, PMError):
    message = "insufficient ticket face value for redeem tx cost"


__all__ = [name for name, obj in list(globals().items()) if isinstance(obj, type) and issubclass(obj, PMError)]
__all__ = [n for n in __all__ if not n.startswith("_")]
