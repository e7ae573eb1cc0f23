"""Independent pure-Python reference of the ticket primitives (coincurve + pycryptodome, one call per ticket).

Used as an oracle by the roles tests and as the peer in ``benchmarks/bench_roles.py`` ("what a Python user
would otherwise write"). It follows spec/pm.md §1-§3 directly and shares no code with lpcore.
"""

from __future__ import annotations

from Crypto.Hash import keccak as _keccak
from coincurve import PrivateKey, PublicKey

HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def keccak(data: bytes) -> bytes:
    return _keccak.new(digest_bits=256, data=data).digest()


def u256(x: int) -> bytes:
    return x.to_bytes(32, "big")


def aux(creation_round: int, block_hash: bytes) -> bytes:
    if creation_round == 0 and block_hash == b"\0" * 32:
        return b""
    return u256(creation_round) + block_hash


def ticket_hash(recipient, sender, face_value, win_prob, nonce, rrh, creation_round, block_hash) -> bytes:
    return keccak(recipient + sender + u256(face_value) + u256(win_prob) + u256(nonce) + rrh + aux(creation_round, block_hash))


def personal(h: bytes) -> bytes:
    return keccak(b"\x19Ethereum Signed Message:\n32" + h)


def address_of(pub: PublicKey) -> bytes:
    return keccak(pub.format(compressed=False)[1:])[12:]


def sign(key: bytes, h: bytes) -> bytes:
    sig = PrivateKey(key).sign_recoverable(personal(h), hasher=None)
    return sig[:64] + bytes([sig[64] + 27])


def recover(h: bytes, sig: bytes) -> bytes | None:
    """go-livepeer VerifySig rules: length, low s, v in {27,28}, then recovery."""
    if len(sig) != 65:
        return None
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big")
    if s > HALF_N or sig[64] not in (27, 28):
        return None
    if not (0 < r < N and 0 < s < N):
        return None
    try:
        pub = PublicKey.from_signature_and_message(sig[:64] + bytes([sig[64] - 27]), personal(h), hasher=None)
    except Exception:  # noqa: BLE001
        return None
    return address_of(pub)


def is_winning(sig: bytes, recipient_rand: int, win_prob: int) -> bool:
    return int.from_bytes(keccak(sig + u256(recipient_rand)), "big") < win_prob


def rand_hash(recipient_rand: int) -> bytes:
    return keccak(u256(recipient_rand))


def checksum(addr: bytes) -> str:
    h = addr.hex()
    d = keccak(h.encode()).hex()
    return "0x" + "".join(c.upper() if int(d[i], 16) >= 8 else c for i, c in enumerate(h))
