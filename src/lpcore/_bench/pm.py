"""``lpcore bench`` rows for the ticket hot paths (spec/pm.md §1-§3), also timed by ``benchmarks/bench_pm.py``.

Peers are what a Python user would otherwise call per ticket: coincurve with the EIP-191 prefix hashed by the
fastest Python keccak (safe-pysha3 when installed, pycryptodome always), and per-ticket keccak loops.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from .case import Case

_ETH_PREFIX_32 = b"\x19Ethereum Signed Message:\n32"


def _keccak_peers() -> dict[str, Callable[[bytes], bytes]]:
    """The per-call keccak functions a Python user would reach for (pycryptodome always, safe-pysha3 if present)."""
    from Crypto.Hash import keccak as cd_keccak

    peers: dict[str, Callable[[bytes], bytes]] = {
        "pycryptodome": lambda data: cd_keccak.new(data=data, digest_bits=256).digest()
    }
    try:
        import sha3  # safe-pysha3

        peers["safe-pysha3"] = lambda data: sha3.keccak_256(data).digest()
    except ImportError:
        pass
    return peers


def _fastest_keccak() -> tuple[str, Callable[[bytes], bytes]]:
    peers = _keccak_peers()
    name = "safe-pysha3" if "safe-pysha3" in peers else "pycryptodome"
    return name, peers[name]


def rows(n: int) -> list[Case]:
    """Ticket hot paths (spec/pm.md §1-§3) on n tickets, plus bulk keccak-256 of an 8 MB segment."""
    import coincurve

    from .. import keccak256, pm

    rng = np.random.default_rng(2024)
    key = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
    signer = pm.Signer(key)
    cc_key = coincurve.PrivateKey(key)
    kname, kfast = _fastest_keccak()
    keccaks = _keccak_peers()

    # A Payment: shared ticket params, n consecutive sender nonces.
    recipient, rrh, block = rng.bytes(20), keccak256(b"rand"), keccak256(b"block")
    face_value, win_prob, creation_round = 10**15, pm.MAX_WIN_PROB // 1000, 4321
    nonces = np.arange(1, n + 1, dtype=np.uint32)
    hashes = pm.ticket_hashes_columns(recipient, signer.address, face_value, win_prob, nonces, rrh,
                                      creation_round, block)
    hash_list = [row.tobytes() for row in hashes]
    sigs = signer.sign_batch(hashes)
    sig_list = [row.tobytes() for row in sigs]
    rands = [int.from_bytes(rng.bytes(32), "big") for _ in range(n)]
    rands32 = [r.to_bytes(32, "big") for r in rands]
    rand_arr = pm.to_u256(rands)
    win_probs = [win_prob] * n
    win_prob_arr = pm.to_u256(win_probs)
    segment = rng.integers(0, 256, 8 << 20, dtype=np.uint8).tobytes()

    def peer_sign(kfn: Callable[[bytes], bytes]) -> Callable[[], list[bytes]]:
        def run() -> list[bytes]:
            out = []
            for h in hash_list:
                sig = cc_key.sign_recoverable(_ETH_PREFIX_32 + h, hasher=kfn)
                out.append(sig[:64] + bytes([sig[64] + 27]))
            return out
        return run

    def peer_recover(kfn: Callable[[bytes], bytes]) -> Callable[[], list[bytes]]:
        def run() -> list[bytes]:
            out = []
            for h, sig in zip(hash_list, sig_list):
                pub = coincurve.PublicKey.from_signature_and_message(
                    sig[:64] + bytes([sig[64] - 27]), _ETH_PREFIX_32 + h, hasher=kfn)
                out.append(kfn(pub.format(compressed=False)[1:])[12:])
            return out
        return run

    def peer_verify(kfn: Callable[[bytes], bytes]) -> Callable[[], list[bool]]:
        recover = peer_recover(kfn)
        sender = signer.address

        def run() -> list[bool]:
            return [addr == sender for addr in recover()]
        return run

    def peer_win(kfn: Callable[[bytes], bytes]) -> Callable[[], list[bool]]:
        def run() -> list[bool]:
            return [int.from_bytes(kfn(s + r), "big") < wp for s, r, wp in zip(sig_list, rands32, win_probs)]
        return run

    def peer_ticket_hashes(kfn: Callable[[bytes], bytes]) -> Callable[[], list[bytes]]:
        fixed = recipient + signer.address + face_value.to_bytes(32, "big") + win_prob.to_bytes(32, "big")
        aux = creation_round.to_bytes(32, "big") + block

        def run() -> list[bytes]:
            return [kfn(fixed + int(nonce).to_bytes(32, "big") + rrh + aux) for nonce in range(1, n + 1)]
        return run

    threads = os.cpu_count() or 1
    cases = [
        Case("sign_batch", n, "sig", lambda: signer.sign_batch(hashes),
             {f"coincurve+{kname}": peer_sign(kfast)},
             f"EIP-191 over ticket hashes, {threads} threads vs a per-ticket loop"),
        Case("recover_batch", n, "sig", lambda: pm.recover_batch(hashes, sigs),
             {f"coincurve+{kname}": peer_recover(kfast)}, "signer address per ticket"),
        Case("verify_batch", n, "sig", lambda: pm.verify_batch(hashes, sigs, signer.address),
             {f"coincurve+{kname}": peer_verify(kfast)}, "recover + compare with the sender"),
        Case("is_winning_batch", n, "ticket", lambda: pm.is_winning_batch(sigs, rand_arr, win_prob_arr),
             {name: peer_win(fn) for name, fn in keccaks.items()}, "keccak(sig|rand) < winProb"),
        Case("ticket_hashes_columns", n, "ticket",
             lambda: pm.ticket_hashes_columns(recipient, signer.address, face_value, win_prob, nonces, rrh,
                                              creation_round, block),
             {name: peer_ticket_hashes(fn) for name, fn in keccaks.items()}, "a Payment: shared params, n nonces"),
        Case("keccak256 8 MB", len(segment) / 1e6, "MB", lambda: keccak256(segment),
             {name: (lambda fn=fn: fn(segment)) for name, fn in keccaks.items()}, "bulk, one call"),
        Case("sign_batch 1 thread", n, "sig", lambda: signer.sign_batch(hashes, threads=1),
             {"bare libsecp256k1 (C loop)": _raw_sign(key, hashes), f"coincurve+{kname}": peer_sign(kfast)},
             "lpcore overhead over the library; per-core gain over the Python loop", timer="thread"),
        Case("recover_batch 1 thread", n, "sig", lambda: pm.recover_batch(hashes, sigs, threads=1),
             {"bare libsecp256k1 (C loop)": _raw_recover(hashes, sigs),
              f"coincurve+{kname}": peer_recover(kfast)},
             "lpcore overhead over the library; per-core gain over the Python loop", timer="thread"),
    ]
    return cases


def _raw_sign(key: bytes, hashes: np.ndarray) -> Callable[[], Any]:
    from .. import _native_pm

    digests = _native_pm.personal_hashes(hashes)
    return lambda: _native_pm.bench_raw_sign(key, digests)


def _raw_recover(hashes: np.ndarray, sigs: np.ndarray) -> Callable[[], Any]:
    from .. import _native_pm

    digests = _native_pm.personal_hashes(hashes)
    raw = sigs.copy()
    raw[:, 64] -= 27
    return lambda: _native_pm.bench_raw_recover(digests, raw)
