"""Malformed signatures and bad arguments: invalid rows come back as zero addresses / False (in go-livepeer's
check order) without affecting other rows; wrong shapes, dtypes, layouts and types raise errors naming the
argument."""

from __future__ import annotations

import numpy as np
import pytest

from lpcore import InvalidSignature, _native_pm, keccak256, pm

N = pm.SECP256K1_N
HALF_N = pm.SECP256K1_HALF_N
KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
SIGNER = pm.Signer(KEY)
TH = keccak256(b"ticket")
GOOD = SIGNER.sign(TH)


def with_rsv(sig: bytes, r: int | None = None, s: int | None = None, v: int | None = None) -> bytes:
    rb = sig[:32] if r is None else r.to_bytes(32, "big")
    sb = sig[32:64] if s is None else s.to_bytes(32, "big")
    return rb + sb + bytes([sig[64] if v is None else v])


def high_s_twin(sig: bytes) -> bytes:
    """The malleated encoding (r, N - s, v ^ 1): the same curve point, accepted by raw ecrecover."""
    s = int.from_bytes(sig[32:64], "big")
    return with_rsv(sig, s=N - s, v=55 - sig[64])


def status_of(sig: bytes, sender: bytes = SIGNER.address) -> int:
    _valid, status = _native_pm.verify_batch(
        np.frombuffer(TH, np.uint8).reshape(1, 32), np.frombuffer(sig, np.uint8).reshape(1, 65),
        np.frombuffer(sender, np.uint8).reshape(1, 20))
    return int(status[0])


BAD_SIGS = {
    "truncated_64": GOOD[:64],
    "truncated_1": GOOD[:1],
    "empty": b"",
    "extended_66": GOOD + b"\x00",
    "extended_130": GOOD + GOOD,
    "high_s_twin": high_s_twin(GOOD),
    "s_half_n_plus_1": with_rsv(GOOD, s=HALF_N + 1),
    "s_max": with_rsv(GOOD, s=2**256 - 1),
    "v_0": with_rsv(GOOD, v=GOOD[64] - 27),
    "v_1": with_rsv(GOOD, v=1),
    "v_26": with_rsv(GOOD, v=26),
    "v_29": with_rsv(GOOD, v=29),
    "v_255": with_rsv(GOOD, v=255),
    "v_flipped": with_rsv(GOOD, v=55 - GOOD[64]),  # recovers a different address
    "r_0": with_rsv(GOOD, r=0),
    "s_0": with_rsv(GOOD, s=0),
    "r_n": with_rsv(GOOD, r=N),
    "r_n_plus_1": with_rsv(GOOD, r=N + 1),
    "r_max": with_rsv(GOOD, r=2**256 - 1),
    "zeros": bytes(65),
    "ones": b"\xff" * 65,
}


def test_good_signature_is_valid() -> None:
    assert pm.verify_batch([TH], [GOOD], SIGNER.address)[0]
    assert status_of(GOOD) == _native_pm.SIG_OK


@pytest.mark.parametrize("name", sorted(BAD_SIGS))
def test_bad_signature_rows_fail_without_poisoning_the_batch(name: str) -> None:
    bad = BAD_SIGS[name]
    hashes = [TH, TH, TH]
    sigs = [GOOD, bad, GOOD]
    valid = pm.verify_batch(hashes, sigs, SIGNER.address)
    assert valid.tolist() == [True, False, True]
    addrs = pm.recover_batch(hashes, sigs)
    assert addrs[0].tobytes() == addrs[2].tobytes() == SIGNER.address
    if name == "v_flipped":
        assert addrs[1].tobytes() not in (SIGNER.address, bytes(20))
    else:
        assert addrs[1].tobytes() == bytes(20)
    with pytest.raises(InvalidSignature):
        pm.verify_signature(TH, bad, SIGNER.address)


def test_go_livepeer_check_order() -> None:
    """First failing check wins: length, then s > N/2, then v, then r/s range, then recovery."""
    with pytest.raises(InvalidSignature, match="^invalid signature length$"):
        pm.verify_signature(TH, high_s_twin(GOOD)[:64], SIGNER.address)
    assert status_of(with_rsv(GOOD, s=HALF_N + 1, v=5)) == _native_pm.SIG_HIGH_S
    assert status_of(with_rsv(GOOD, r=0, v=5)) == _native_pm.SIG_BAD_V
    assert status_of(with_rsv(GOOD, r=0)) == _native_pm.SIG_BAD_RS
    assert status_of(with_rsv(GOOD, r=N)) == _native_pm.SIG_BAD_RS
    assert status_of(with_rsv(GOOD, s=0)) == _native_pm.SIG_BAD_RS
    assert status_of(high_s_twin(GOOD)) == _native_pm.SIG_HIGH_S
    assert status_of(with_rsv(GOOD, v=55 - GOOD[64])) == _native_pm.SIG_WRONG_SENDER
    assert status_of(GOOD, sender=bytes(20)) == _native_pm.SIG_WRONG_SENDER
    # r = 5 has no curve point with an x coordinate of 5 for this parity: not recoverable
    rows = [with_rsv(GOOD, r=r) for r in range(1, 12)]
    statuses = {status_of(sig) for sig in rows}
    assert _native_pm.SIG_UNRECOVERABLE in statuses


def test_s_equal_half_n_passes_the_low_s_rule() -> None:
    sig = with_rsv(GOOD, s=HALF_N)
    assert status_of(sig) in (_native_pm.SIG_WRONG_SENDER, _native_pm.SIG_UNRECOVERABLE)


def test_high_s_twin_is_the_same_key_to_raw_ecrecover() -> None:
    """The twin is a real signature (eth-keys recovers the signer) that the protocol must still reject."""
    from eth_keys import keys

    twin = high_s_twin(GOOD)
    raw = keys.Signature(vrs=(twin[64] - 27, int.from_bytes(twin[:32], "big"), int.from_bytes(twin[32:64], "big")))
    assert raw.recover_public_key_from_msg_hash(pm.personal_hash(TH)).to_canonical_address() == SIGNER.address
    assert not pm.verify_batch([TH], [twin], SIGNER.address)[0]


def test_random_bytes_never_crash() -> None:
    rng = np.random.default_rng(99)
    n = 5000
    hashes = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    sigs = rng.integers(0, 256, (n, 65), dtype=np.uint8)
    sigs[: n // 2, 64] = rng.integers(27, 29, n // 2)  # half with a legal v, so recovery is exercised
    sigs[: n // 4, 32] &= 0x7F  # a quarter also low-s
    addrs = pm.recover_batch(hashes, sigs)
    assert pm.verify_batch(hashes, sigs, addrs).sum() == (addrs.any(axis=1)).sum()
    assert not pm.verify_batch(hashes, sigs, np.zeros((n, 20), np.uint8)).any()


# --- argument errors -------------------------------------------------------------------------------------------

H2 = np.zeros((2, 32), np.uint8)
S2 = np.zeros((2, 65), np.uint8)
A2 = np.zeros((2, 20), np.uint8)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: pm.recover_batch(np.zeros((2, 31), np.uint8), S2), ValueError, "hashes"),
        (lambda: pm.recover_batch(H2, np.zeros((2, 64), np.uint8)), ValueError, "sigs"),
        (lambda: pm.recover_batch(H2, np.zeros((3, 65), np.uint8)), ValueError, "sigs"),
        (lambda: pm.recover_batch(H2.astype(np.int8), S2), TypeError, "hashes"),
        (lambda: pm.recover_batch(H2, S2.astype(np.uint16)), TypeError, "sigs"),
        (lambda: pm.recover_batch(np.zeros((2, 64), np.uint8)[:, ::2], S2), ValueError, "contiguous"),
        (lambda: pm.recover_batch(np.zeros(64, np.uint8), S2), ValueError, "hashes"),
        (lambda: pm.recover_batch(TH, [GOOD]), TypeError, "hashes"),
        (lambda: pm.recover_batch([TH[:31]], [GOOD]), ValueError, r"hashes\[0\]"),
        (lambda: pm.recover_batch([TH], [GOOD], threads=0), ValueError, "threads"),
        (lambda: pm.recover_batch([TH], [GOOD], threads="2"), TypeError, "threads"),
        (lambda: pm.recover_batch([TH], ["ab" * 65]), TypeError, r"sigs\[0\]"),
        (lambda: pm.verify_batch(H2, S2, np.zeros((2, 21), np.uint8)), ValueError, "senders"),
        (lambda: pm.verify_batch(H2, S2, np.zeros((3, 20), np.uint8)), ValueError, "senders"),
        (lambda: pm.verify_batch(H2, S2, bytes(19)), ValueError, "senders"),
        (lambda: pm.verify_batch(H2, S2, A2[:, ::-1]), ValueError, "contiguous"),
        (lambda: SIGNER.sign_batch(np.zeros((2, 33), np.uint8)), ValueError, "hashes"),
        (lambda: SIGNER.sign_batch(np.zeros((2, 32), np.float64)), TypeError, "hashes"),
        (lambda: SIGNER.sign_batch(np.zeros((4, 32), np.uint8)[::2]), ValueError, "contiguous"),
        (lambda: SIGNER.sign_batch(TH), TypeError, "hashes"),
        (lambda: SIGNER.sign(TH[:31]), ValueError, "ticket_hash"),
        (lambda: SIGNER.sign("00" * 32), TypeError, "ticket_hash"),
        (lambda: SIGNER.sign_message("text"), TypeError, "message"),
        (lambda: pm.Signer("00" * 32), TypeError, "private_key"),
        (lambda: pm.is_winning_batch(np.zeros((2, 64), np.uint8), 1, 1), ValueError, "sigs"),
        (lambda: pm.is_winning_batch(S2, np.zeros((3, 32), np.uint8), 1), ValueError, "recipient_rands"),
        (lambda: pm.is_winning_batch(S2, 1, np.zeros((2, 31), np.uint8)), ValueError, "win_probs"),
        (lambda: pm.is_winning_batch(S2, [1, 2, 3], 1), ValueError, "recipient_rands"),
        (lambda: pm.is_winning_batch(S2, -1, 1), ValueError, "recipient_rands"),
        (lambda: pm.is_winning_batch(S2, 1, 2**256), ValueError, "win_probs"),
        (lambda: pm.is_winning_batch(S2, 1, 1.0), TypeError, "win_probs"),
        (lambda: pm.is_winning_batch(S2, 1, 1, threads=-1), ValueError, "threads"),
        (lambda: pm.personal_hash(bytes(33)), ValueError, "ticket_hash"),
        (lambda: pm.recipient_rand_hash(2**256), ValueError, "recipient_rand"),
        (lambda: pm.recipient_rand_hash(-1), ValueError, "recipient_rand"),
        (lambda: pm.to_u256([1, -1]), ValueError, r"ints\[1\]"),
        (lambda: pm.to_u256(["1"]), TypeError, r"ints\[0\]"),
        (lambda: pm.from_u256(np.zeros((2, 31), np.uint8)), ValueError, "arr"),
        (lambda: pm.to_checksum_address(bytes(19)), ValueError, "addr20"),
        (lambda: pm.recover_message(b"m", "sig"), TypeError, "sig"),
    ],
)
def test_argument_errors(call, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        call()


def test_wrong_length_sequence_rows_are_invalid_not_errors() -> None:
    sigs = [GOOD, GOOD[:64], GOOD + b"\x00"]
    assert pm.verify_batch([TH] * 3, sigs, SIGNER.address).tolist() == [True, False, False]
    assert [a.any() for a in pm.recover_batch([TH] * 3, sigs)] == [True, False, False]


def test_u256_roundtrip_and_checksum() -> None:
    from eth_utils import to_checksum_address

    values = [0, 1, 2**255, 2**256 - 1, 123456789]
    arr = pm.to_u256(values)
    assert arr.shape == (5, 32) and pm.from_u256(arr) == values
    assert pm.to_u256([]).shape == (0, 32) and pm.from_u256(np.zeros((0, 32), np.uint8)) == []
    rng = np.random.default_rng(4)
    for _ in range(50):
        addr = rng.bytes(20)
        assert pm.to_checksum_address(addr) == to_checksum_address(addr)
