"""Signing, recovery, verification and winner checks (spec/pm.md §2-§3, §8.3, §8.5, §8.6) against the
published vectors, eth-keys, eth-account and coincurve."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lpcore import InvalidSignature, keccak256, pm

from tests._shared import vector_path

VECTORS = json.loads(vector_path("pm_vectors.json").read_text())
SV = VECTORS["signature_verification"]
RECIPE = VECTORS["protocol_recipe"]
HARDHAT0 = bytes.fromhex(RECIPE["sender_private_key"])
MAX = 2**256 - 1


def h(x: str) -> bytes:
    return bytes.fromhex(x)


# --- published vectors ------------------------------------------------------------------------------------------

def test_constants() -> None:
    c = VECTORS["constants"]
    assert pm.MAX_WIN_PROB == int(c["max_win_prob"])
    assert pm.SECP256K1_N == int(c["secp256k1_n"])
    assert pm.SECP256K1_HALF_N == int(c["secp256k1_half_n"]) == int(c["secp256k1_half_n_hex"], 16)


def test_personal_hash_vector() -> None:
    assert pm.personal_hash(h(SV["msg"])).hex() == SV["personal_hash"]
    prefix = h(VECTORS["constants"]["eth_signed_message_prefix_hex"])
    assert pm.personal_hash(h(SV["msg"])) == keccak256(prefix + h(SV["msg"]))


@pytest.mark.parametrize("case", SV["cases"], ids=lambda c: c["name"])
def test_signature_verification_vectors(case: dict) -> None:
    msg, addr, sig = h(SV["msg"]), h(SV["address"]), h(case["sig"])
    assert pm.verify_batch([msg], [sig], [addr])[0] == case["expect_valid"]
    recovered = pm.recover_batch([msg], [sig])[0].tobytes()
    if case["expect_valid"]:
        assert recovered.hex() == case["recovered_address"]
        pm.verify_signature(msg, sig, addr)
    else:
        assert recovered == bytes(20)
        with pytest.raises(InvalidSignature) as err:
            pm.verify_signature(msg, sig, addr)
        assert str(err.value) == case["expect_error"]


def test_high_s_vector_recovers_without_low_s_rule() -> None:
    """The high-s vector is rejected by rule, not because it is garbage: eth-keys (no low-s rule) recovers it."""
    from eth_keys import keys

    case = next(c for c in SV["cases"] if c["name"] == "high_s")
    sig = h(case["sig"])
    vrs = keys.Signature(vrs=(sig[64] - 27, int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big")))
    raw = vrs.recover_public_key_from_msg_hash(h(SV["personal_hash"])).to_canonical_address()
    assert raw.hex() == case["raw_ecrecover_address"]


def test_different_message_does_not_verify() -> None:
    valid = next(c for c in SV["cases"] if c["name"] == "valid")
    other = keccak256(b"another ticket")
    assert not pm.verify_batch([other], [h(valid["sig"])], h(SV["address"]))[0]
    assert pm.recover_batch([other], [h(valid["sig"])])[0].tobytes() not in (h(SV["address"]), bytes(20))


def test_validator_win_vectors() -> None:
    v = VECTORS["validator"]
    rand = int(v["recipient_rand"])
    assert pm.recipient_rand_hash(rand).hex() == v["recipient_rand_hash"]
    assert keccak256(h(v["sig"]) + rand.to_bytes(32, "big")).hex() == v["win_rand"]
    for check in v["win_checks"]:
        assert pm.is_winning_batch([h(v["sig"])], [rand], [int(check["win_prob"])])[0] == check["wins"]


def test_protocol_recipe_signatures() -> None:
    signer = pm.Signer(HARDHAT0)
    assert signer.address.hex() == RECIPE["sender"]
    hashes = [h(v["ticket_hash"]) for v in RECIPE["vectors"]]
    sigs = signer.sign_batch(hashes)
    rand = int(RECIPE["recipient_rand"])
    for v, sig in zip(RECIPE["vectors"], sigs):
        assert pm.personal_hash(h(v["ticket_hash"])).hex() == v["personal_hash"]
        assert sig.tobytes().hex() == v["sig"]
        assert signer.sign(h(v["ticket_hash"])).hex() == v["sig"]
        assert keccak256(sig.tobytes() + rand.to_bytes(32, "big")).hex() == v["win_rand"]
    wins = pm.is_winning_batch(sigs, rand, int(RECIPE["win_prob"]))
    assert wins.tolist() == [v["wins"] for v in RECIPE["vectors"]]
    assert pm.verify_batch(hashes, sigs, signer.address).all()


# --- oracles ----------------------------------------------------------------------------------------------------

def test_sign_matches_eth_account_and_coincurve() -> None:
    import coincurve
    from eth_account import Account
    from eth_account.messages import encode_defunct

    rng = np.random.default_rng(7)
    for _ in range(20):
        key = rng.integers(0, 256, 32, dtype=np.uint8).tobytes()
        th = rng.integers(0, 256, 32, dtype=np.uint8).tobytes()
        ours = pm.Signer(key).sign(th)
        acct = Account.sign_message(encode_defunct(primitive=th), key)
        assert ours == bytes(acct.signature)
        cc = coincurve.PrivateKey(key).sign_recoverable(pm.personal_hash(th), hasher=None)
        assert ours == cc[:64] + bytes([cc[64] + 27])


def test_sign_message_matches_eth_account() -> None:
    from eth_account import Account
    from eth_account.messages import encode_defunct

    signer = pm.Signer(HARDHAT0)
    for msg in (b"", b"x", b"orchestrator info " * 20, bytes(range(256)) * 5):
        sig = signer.sign_message(msg)
        assert sig == bytes(Account.sign_message(encode_defunct(primitive=msg), HARDHAT0).signature)
        assert pm.recover_message(msg, sig) == signer.address
        assert Account.recover_message(encode_defunct(primitive=msg), signature=sig).lower() == \
            "0x" + signer.address.hex()
    assert pm.recover_message(b"other", signer.sign_message(b"msg")) != signer.address
    assert pm.recover_message(b"msg", signer.sign_message(b"msg")[:64]) is None


def test_thread_count_invariance() -> None:
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 256, (257, 32), dtype=np.uint8)
    signer = pm.Signer(HARDHAT0)
    sigs = [signer.sign_batch(hashes, threads=t) for t in (None, 1, 2, 3, 8)]
    assert all(np.array_equal(sigs[0], s) for s in sigs)
    addrs = [pm.recover_batch(hashes, sigs[0], threads=t) for t in (None, 1, 2, 3, 8)]
    assert all(np.array_equal(addrs[0], a) for a in addrs)
    assert (addrs[0] == np.frombuffer(signer.address, np.uint8)).all()
    rands = rng.integers(0, 256, (257, 32), dtype=np.uint8)
    probs = rng.integers(0, 256, (257, 32), dtype=np.uint8)
    wins = [pm.is_winning_batch(sigs[0], rands, probs, threads=t) for t in (None, 1, 2, 3)]
    assert all(np.array_equal(wins[0], w) for w in wins)


def test_empty_batches() -> None:
    signer = pm.Signer(HARDHAT0)
    e32 = np.empty((0, 32), np.uint8)
    assert signer.sign_batch(e32).shape == (0, 65)
    assert signer.sign_batch([]).shape == (0, 65)
    assert pm.recover_batch([], []).shape == (0, 20)
    assert pm.verify_batch([], [], []).shape == (0,)
    assert pm.is_winning_batch([], [], []).shape == (0,)


@pytest.mark.parametrize("key", [bytes(32), pm.SECP256K1_N.to_bytes(32, "big"), b"\xff" * 32, bytes(31)])
def test_invalid_private_key(key: bytes) -> None:
    with pytest.raises(ValueError, match="private_key"):
        pm.Signer(key)
