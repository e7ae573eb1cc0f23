"""Randomised cross-checks of the batched signature and winner paths against independent implementations:
eth-keys' pure-Python backend (shares no code with libsecp256k1), coincurve, pycryptodome keccak and Python
big-integer arithmetic."""

from __future__ import annotations

import coincurve
import numpy as np
from Crypto.Hash import keccak as cd_keccak
from eth_keys import KeyAPI
from eth_keys.backends import NativeECCBackend
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lpcore import pm

N = pm.SECP256K1_N
HALF_N = pm.SECP256K1_HALF_N
MAX = 2**256 - 1
PY_KEYS = KeyAPI(NativeECCBackend)

secret_keys = st.one_of(st.sampled_from([1, 2, N - 1, N - 2, HALF_N, HALF_N + 1]), st.integers(1, N - 1))
hashes32 = st.binary(min_size=32, max_size=32)


def oracle_keccak(data: bytes) -> bytes:
    return cd_keccak.new(data=data, digest_bits=256).digest()


def eth_keys_recover(ticket_hash: bytes, sig: bytes) -> bytes | None:
    """Recovery under go-livepeer's rules, built from eth-keys' pure-Python recovery plus the rule checks."""
    r, s, v = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"), sig[64]
    if s > HALF_N or v not in (27, 28) or not (0 < r < N) or not (0 < s < N):
        return None
    try:
        signature = PY_KEYS.Signature(vrs=(v - 27, r, s))
        return signature.recover_public_key_from_msg_hash(pm.personal_hash(ticket_hash)).to_canonical_address()
    except Exception:  # eth-keys raises BadSignature when no point recovers
        return None


@settings(max_examples=1000, deadline=None)
@given(secret_keys, hashes32)
@example(1, bytes(32))
@example(N - 1, b"\xff" * 32)
def test_sign_equals_eth_keys_and_coincurve(key_int: int, ticket_hash: bytes) -> None:
    key = key_int.to_bytes(32, "big")
    signer = pm.Signer(key)
    ours = signer.sign(ticket_hash)
    py = PY_KEYS.PrivateKey(key).sign_msg_hash(pm.personal_hash(ticket_hash))
    assert ours == py.to_bytes()[:64] + bytes([py.v + 27])
    cc = coincurve.PrivateKey(key).sign_recoverable(pm.personal_hash(ticket_hash), hasher=None)
    assert ours == cc[:64] + bytes([cc[64] + 27])
    assert signer.address == PY_KEYS.PrivateKey(key).public_key.to_canonical_address()
    assert int.from_bytes(ours[32:64], "big") <= HALF_N and ours[64] in (27, 28)


def test_sign_batch_equals_coincurve_loop() -> None:
    rng = np.random.default_rng(11)
    key = rng.integers(0, 256, 32, dtype=np.uint8).tobytes()
    hashes = rng.integers(0, 256, (2000, 32), dtype=np.uint8)
    sigs = pm.Signer(key).sign_batch(hashes)
    cc = coincurve.PrivateKey(key)
    for row, sig in zip(hashes, sigs):
        expect = cc.sign_recoverable(pm.personal_hash(row.tobytes()), hasher=None)
        assert sig.tobytes() == expect[:64] + bytes([expect[64] + 27])


@settings(max_examples=1000, deadline=None)
@given(hashes32, st.data())
def test_recover_random_signatures_against_eth_keys(ticket_hash: bytes, data: st.DataObject) -> None:
    """Any 65 bytes: our row is zero exactly when the rules or recovery fail, else equals eth-keys' answer."""
    edge_scalars = st.sampled_from([0, 1, HALF_N, HALF_N + 1, N - 1, N, N + 1, MAX])
    r = data.draw(st.one_of(edge_scalars, st.integers(0, MAX)))
    s = data.draw(st.one_of(edge_scalars, st.integers(0, HALF_N), st.integers(0, MAX)))
    v = data.draw(st.one_of(st.sampled_from([0, 1, 26, 27, 28, 29, 255]), st.integers(0, 255)))
    sig = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])
    expect = eth_keys_recover(ticket_hash, sig)
    got = pm.recover_batch([ticket_hash], [sig])[0].tobytes()
    assert got == (expect if expect is not None else bytes(20))
    if expect is not None:
        assert pm.verify_batch([ticket_hash], [sig], expect)[0]


@settings(max_examples=300, deadline=None)
@given(secret_keys, st.lists(hashes32, min_size=1, max_size=20))
def test_recover_own_signatures(key_int: int, hashes: list[bytes]) -> None:
    signer = pm.Signer(key_int.to_bytes(32, "big"))
    sigs = signer.sign_batch(hashes)
    addrs = pm.recover_batch(hashes, sigs)
    assert all(a.tobytes() == signer.address for a in addrs)
    for th, sig in zip(hashes, sigs):
        assert eth_keys_recover(th, sig.tobytes()) == signer.address


def win_oracle(sig: bytes, rand: int, win_prob: int) -> bool:
    return int.from_bytes(oracle_keccak(sig + rand.to_bytes(32, "big")), "big") < win_prob


@settings(max_examples=2000, deadline=None)
@given(
    st.binary(min_size=0, max_size=200),
    st.integers(0, MAX),
    st.one_of(st.sampled_from([0, 1, MAX, MAX - 1, 2**255]), st.integers(0, MAX)),
)
def test_winner_check_against_big_ints(sig: bytes, rand: int, win_prob: int) -> None:
    assert pm.is_winning_batch([sig], [rand], [win_prob])[0] == win_oracle(sig, rand, win_prob)


@settings(max_examples=500, deadline=None)
@given(st.binary(min_size=65, max_size=65), st.integers(0, MAX))
def test_winner_check_boundary_is_strict(sig: bytes, rand: int) -> None:
    win_rand = int.from_bytes(oracle_keccak(sig + rand.to_bytes(32, "big")), "big")
    probs = [win_rand, min(win_rand + 1, MAX), max(win_rand - 1, 0), 0, MAX]
    got = pm.is_winning_batch([sig] * 5, rand, probs)
    assert got.tolist() == [False, win_rand + 1 <= MAX, False, False, win_rand < MAX]


def test_winner_batch_forms_agree() -> None:
    rng = np.random.default_rng(2)
    n = 3000
    sigs = rng.integers(0, 256, (n, 65), dtype=np.uint8)
    rands = [int.from_bytes(rng.bytes(32), "big") for _ in range(n)]
    probs = [int.from_bytes(rng.bytes(32), "big") for _ in range(n)]
    expect = [win_oracle(sigs[i].tobytes(), rands[i], probs[i]) for i in range(n)]
    assert pm.is_winning_batch(sigs, rands, probs).tolist() == expect
    assert pm.is_winning_batch(sigs, pm.to_u256(rands), pm.to_u256(probs)).tolist() == expect
    assert pm.is_winning_batch([s.tobytes() for s in sigs], rands, probs).tolist() == expect
    # one recipient_rand and win_prob shared by the whole batch (a Payment)
    shared = pm.is_winning_batch(sigs, rands[0], probs[0])
    assert shared.tolist() == [win_oracle(sigs[i].tobytes(), rands[0], probs[0]) for i in range(n)]
    assert np.array_equal(shared, pm.is_winning_batch(sigs, rands[0].to_bytes(32, "big"), pm.to_u256(probs[0])))


def test_ragged_signatures_in_winner_batch() -> None:
    sigs = [b"", b"foo", bytes(65), bytes(range(200)), b"\x01" * 64, b"\x02" * 66]
    got = pm.is_winning_batch(sigs, 10, MAX // 2)
    assert got.tolist() == [win_oracle(s, 10, MAX // 2) for s in sigs]


def test_winner_inputs_as_integer_arrays() -> None:
    sigs = np.arange(65 * 6, dtype=np.uint64).astype(np.uint8).reshape(6, 65)
    rands = np.arange(6, dtype=np.int64)
    probs = np.array([0, 1, 2**62, 2**63 - 1, 5, 7], dtype=np.int64)
    expect = [win_oracle(sigs[i].tobytes(), int(rands[i]), int(probs[i])) for i in range(6)]
    assert pm.is_winning_batch(sigs, rands, probs).tolist() == expect
    assert pm.is_winning_batch(sigs, rands, [MAX] * 6).all()
