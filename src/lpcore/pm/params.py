"""Ticket params and the pure math both roles share (spec/pm.md §4, §5.3).

- :class:`TicketParams` / :class:`TicketExpirationParams`: what an orchestrator advertises and a gateway
  pays against (go-livepeer ``pm.TicketParams``, ``pm.TicketExpirationParams``).
- :func:`recipient_rand`: the orchestrator's HMAC-SHA256 commitment value (§4.5).
- :func:`face_value_for` / :func:`win_prob_for`: face value and win probability (§4.3, §4.4).
- :func:`validate_ticket_params`: the sender's checks, in go-livepeer's order and with its messages (§5.3).
- :func:`float_string`: Go's ``big.Rat.FloatString`` (used in those messages).

Integers are Python ints (wei, or win-probability numerators over ``2**256 - 1``); prices are
:class:`fractions.Fraction` (wei per pixel).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Callable

from . import errors as E
from .crypto import MAX_WIN_PROB, bytes_arg, uint_arg
from .ticket import ZERO_HASH, aux_data

if TYPE_CHECKING:  # broker imports pm: only named here
    from ..broker.base import SenderInfo
_U64 = 2**64 - 1

# go-livepeer constants (pm/recipient.go, cmd/livepeer/starter/starter.go); spec/pm.md §4.1.
MAX_SENDER_NONCES = 600
PARAMS_EXPIRATION_BLOCK = 40
PARAMS_EXPIRY_BUFFER = 1
EV_MULTIPLIER = 100
AVG_GAS_PRICE = 3 * 10**9
TX_COST_MULTIPLIER = 100
REDEEM_GAS_L1 = 350_000
REDEEM_GAS_L2 = 1_200_000
DEFAULT_TICKET_EV = 8_000_000_000
DEFAULT_MAX_TICKET_EV = Fraction(3_000_000_000_000)
DEFAULT_MAX_TOTAL_EV = Fraction(20_000_000_000_000)
DEFAULT_DEPOSIT_MULTIPLIER = 1


def _check_uint(name: str, value: int, bits: int = 256) -> int:
    return uint_arg(value, name, 1 << bits)


def _check_bytes(name: str, value: bytes, length: int) -> bytes:
    return bytes_arg(value, name, length)


def _fraction(name: str, value) -> Fraction:
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Fraction(value)
    raise TypeError(f"{name} must be a Fraction or int, got {type(value).__name__}")


def minimal_be(value: int) -> bytes:
    """Go ``big.Int.Bytes()``: the minimal big-endian magnitude; 0 gives ``b""`` and the sign is dropped."""
    value = abs(value)
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def _low_int64(value: int) -> int:
    """Go ``big.Int.Int64()``: low 64 bits of the magnitude as int64, negated for negative values."""
    v = abs(value) & _U64
    if v >= 2**63:
        v -= 2**64
    if value < 0:
        v = -v
        if v == 2**63:  # -(-2**63) wraps in two's complement
            v = -(2**63)
    return v


def float_string(x: Fraction, prec: int) -> str:
    """Go ``big.Rat.FloatString(prec)``: ``prec`` decimals, rounded half away from zero."""
    x = Fraction(x)
    q, r = divmod(abs(x.numerator), x.denominator)
    p = 10**prec
    r, r2 = divmod(r * p, x.denominator)
    if x.denominator <= 2 * r2:
        r += 1
        if r >= p:
            q += 1
            r -= p
    s = str(q)
    if prec > 0:
        s += "." + str(r).rjust(prec, "0")
    return ("-" + s) if x.numerator < 0 else s


def ticket_ev(face_value: int, win_prob: int) -> Fraction:
    """``faceValue * winProb / (2**256 - 1)`` as an exact rational (go-livepeer ``ticketEV``)."""
    return Fraction(face_value * win_prob, MAX_WIN_PROB)


@dataclass(frozen=True)
class TicketExpirationParams:
    """Creation round and its L1 block hash; bound into every ticket through auxData (spec/pm.md §1.4)."""

    creation_round: int = 0
    creation_round_block_hash: bytes = ZERO_HASH

    def __post_init__(self) -> None:
        if isinstance(self.creation_round, bool) or not isinstance(self.creation_round, int):
            raise TypeError("creation_round must be an int")
        if not 0 <= self.creation_round < 2**63:
            raise ValueError(f"creation_round must be in [0, 2**63), got {self.creation_round}")
        object.__setattr__(
            self, "creation_round_block_hash", _check_bytes("creation_round_block_hash", self.creation_round_block_hash, 32)
        )

    def aux_data(self) -> bytes:
        return aux_data(self.creation_round, self.creation_round_block_hash)

    def is_set(self) -> bool:
        """True when both round and hash are non-zero (else a sender substitutes its own, spec §5.2)."""
        return self.creation_round != 0 and self.creation_round_block_hash != ZERO_HASH


@dataclass(frozen=True)
class TicketParams:
    """An orchestrator's ticket params (go-livepeer ``pm.TicketParams``).

    ``expiration_block`` is an L1 block number; ``price_per_pixel`` is the price the HMAC was bound to;
    ``expiration_params`` may be ``None`` (a sender then uses its own round, spec/pm.md §5.2).
    """

    recipient: bytes
    face_value: int
    win_prob: int
    recipient_rand_hash: bytes
    seed: int
    expiration_block: int
    price_per_pixel: Fraction = Fraction(0)
    expiration_params: TicketExpirationParams | None = field(default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "recipient", _check_bytes("recipient", self.recipient, 20))
        object.__setattr__(self, "recipient_rand_hash", _check_bytes("recipient_rand_hash", self.recipient_rand_hash, 32))
        _check_uint("face_value", self.face_value)
        _check_uint("win_prob", self.win_prob)
        _check_uint("seed", self.seed)
        _check_uint("expiration_block", self.expiration_block)
        object.__setattr__(self, "price_per_pixel", _fraction("price_per_pixel", self.price_per_pixel))
        if self.expiration_params is not None and not isinstance(self.expiration_params, TicketExpirationParams):
            raise TypeError("expiration_params must be a TicketExpirationParams or None")

    @property
    def session_id(self) -> str:
        """``RecipientRandHash.Hex()``: the gateway's session key, ``"0x"`` + 64 lowercase hex digits."""
        return "0x" + self.recipient_rand_hash.hex()

    def ev(self) -> Fraction:
        return ticket_ev(self.face_value, self.win_prob)

    def win_prob_rat(self) -> Fraction:
        return Fraction(self.win_prob, MAX_WIN_PROB)


def recipient_rand(
    secret: bytes,
    seed: int,
    sender: bytes,
    face_value: int,
    win_prob: int,
    expiration_block: int,
    price_per_pixel: Fraction,
    creation_round: int,
    creation_round_block_hash: bytes,
) -> int:
    """The recipient's secret random value for one set of params (spec/pm.md §4.5).

    ``uint256(HMAC-SHA256(secret, B(seed) ‖ sender ‖ B(faceValue) ‖ B(winProb) ‖ B(expirationBlock) ‖
    B(price.num) ‖ B(price.den) ‖ auxData))`` where ``B`` is the minimal big-endian magnitude and the price is
    in lowest terms (``Fraction`` normalises it). The recipient address and the nonce are not included.
    """
    if not isinstance(secret, (bytes, bytearray, memoryview)):
        raise TypeError("secret must be bytes")
    sender = _check_bytes("sender", sender, 20)
    price = _fraction("price_per_pixel", price_per_pixel)
    creation_round_block_hash = _check_bytes("creation_round_block_hash", creation_round_block_hash, 32)
    if not 0 <= creation_round < 2**63:
        raise ValueError(f"creation_round must be in [0, 2**63), got {creation_round}")
    msg = b"".join(
        (
            minimal_be(_check_uint("seed", seed)),
            sender,
            minimal_be(_check_uint("face_value", face_value)),
            minimal_be(_check_uint("win_prob", win_prob)),
            minimal_be(_check_uint("expiration_block", expiration_block)),
            minimal_be(price.numerator),
            minimal_be(price.denominator),
            aux_data(creation_round, creation_round_block_hash),
        )
    )
    return int.from_bytes(hmac.new(bytes(secret), msg, hashlib.sha256).digest(), "big")


def win_prob_for(face_value: int, ev: int) -> int:
    """Win probability numerator for ``face_value`` at the required ``ev`` (spec/pm.md §4.4).

    0 for a zero face value; ``2**256 - 1`` when ``face_value == ev``; otherwise ``ev * ceil((2**256-1)/fv)``
    by go-livepeer's remainder rule. Go tests the remainder with ``m.Int64() != 0``, i.e. on its low 64 bits
    only; this is reproduced on purpose (decision: bit parity with go-livepeer nodes, whose params a gateway
    must accept and whose vectors we test against). It only differs from a true ceiling when
    ``face_value > 2**64`` and the remainder is a non-zero multiple of ``2**64``.
    """
    _check_uint("face_value", face_value)
    _check_uint("ev", ev)
    if face_value == 0:
        return 0
    if face_value == ev:
        return MAX_WIN_PROB
    q, m = divmod(MAX_WIN_PROB, face_value)
    if m & _U64:
        return ev * (q + 1)
    return ev * q


def face_value_for(
    *,
    ev: int,
    max_float: int | Callable[[], int],
    gas_price: int | None = None,
    redeem_gas: int = REDEEM_GAS_L2,
    tx_cost_multiplier: int = TX_COST_MULTIPLIER,
    max_face_value: int = 0,
    ev_multiplier: int = EV_MULTIPLIER,
    avg_gas_price: int = AVG_GAS_PRICE,
) -> int:
    """Face value an orchestrator advertises to one sender (spec/pm.md §4.3, go-livepeer ``faceValue``).

    ``gas_price`` is the gas-price monitor's value (``None`` = no monitor = 0). ``max_float`` is the
    sender's max float, or a callable returning it; an exception it raises propagates unchanged (step 3).
    Raises :class:`~lpcore.pm.errors.InsufficientSenderReserve` per steps 6-7.
    """
    tx_cost = redeem_gas * (gas_price or 0)
    fv = tx_cost * tx_cost_multiplier
    if fv < ev:
        fv = ev * ev_multiplier
    mf = max_float() if callable(max_float) else max_float
    if fv > mf:
        fv = mf
    if max_face_value > 0 and max_face_value < fv:
        fv = max_face_value
    if fv < ev:
        raise E.InsufficientSenderReserve()
    # Either the current gas price or the (hard-coded) average one must make redemption worthwhile.
    if fv < tx_cost and fv < redeem_gas * avg_gas_price:
        raise E.InsufficientSenderReserve()
    return fv


def validate_ticket_params(
    params: TicketParams | None,
    num_tickets: int = 1,
    *,
    last_seen_l1_block: int,
    last_initialized_round: int,
    sender_info: SenderInfo | Callable[[], SenderInfo],
    max_ev: Fraction | int = DEFAULT_MAX_TICKET_EV,
    max_total_ev: Fraction | int = DEFAULT_MAX_TOTAL_EV,
    deposit_multiplier: int = DEFAULT_DEPOSIT_MULTIPLIER,
) -> None:
    """Raise if a sender must not pay with ``params`` for ``num_tickets`` tickets (spec/pm.md §5.3).

    Checks run in go-livepeer's order and raise the first failure: nil params, expiration block 0 (low 64
    bits, as Go's ``Int64()``), expired (``expiration - last_seen <= 1``), free tickets accepted, face value
    too low, EV above ``max_ev``, the sender info lookup (``sender_info`` is a
    :class:`~lpcore.broker.SenderInfo` or a callable returning one; its exceptions propagate), sender
    unlocking / no reserve / no deposit, total EV above ``max_total_ev``, face value above
    ``deposit // deposit_multiplier``.
    """
    if params is None:
        raise E.TicketParamsNil()
    if params.expiration_block & _U64 == 0:
        raise E.TicketParamsExpirationBlockZero()
    if _low_int64(params.expiration_block - last_seen_l1_block) <= PARAMS_EXPIRY_BUFFER:
        raise E.TicketParamsExpired()
    ev = params.ev()
    if ev <= 0:
        return
    if ev >= params.face_value:
        raise E.TicketFaceValueTooLow(params.face_value)
    max_ev = Fraction(max_ev)
    if ev > max_ev:
        raise E.TicketEVTooHigh(float_string(ev, 5), float_string(max_ev, 5))
    info = sender_info() if callable(sender_info) else sender_info
    # Go's `WithdrawRound.Int64() != 0 && WithdrawRound <= LastInitializedRound + 1`
    if _low_int64(info.withdraw_round) != 0 and info.withdraw_round <= last_initialized_round + 1:
        raise E.SenderUnlockingSoon()
    if info.funds_remaining == 0:
        raise E.NoSenderReserve()
    if info.deposit == 0:
        raise E.NoSenderDeposit()
    total_ev = ev * num_tickets
    max_total_ev = Fraction(max_total_ev)
    if total_ev > max_total_ev:
        raise E.TotalTicketEVTooHigh(float_string(total_ev, 5), num_tickets, float_string(max_total_ev, 5))
    max_face_value = info.deposit // deposit_multiplier
    if params.face_value > max_face_value:
        raise E.TicketFaceValueAboveMax(params.face_value, max_face_value)
