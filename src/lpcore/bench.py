"""``lpcore bench``: throughput of lpcore's hot paths beside the peer a Python user would otherwise call.

Each *row function* in :data:`ROWS` takes the batch size and returns :class:`Case` objects (one workload, our
callable and one or more peer callables over the same inputs). ``benchmarks/bench_pm.py`` runs the same cases
under pytest-benchmark. Other areas add their rows with ``ROWS.append(my_rows)`` (e.g. video signatures).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Case:
    """One workload: ``ours`` and each peer compute the same result from the same inputs."""

    name: str
    items: float  # work per call, in `unit` (tickets, signatures, megabytes, ...)
    unit: str
    ours: Callable[[], Any]
    peers: dict[str, Callable[[], Any]] = field(default_factory=dict)
    note: str = ""
    # "wall": elapsed time (what a caller waits; multi-threaded calls need it). "thread": CPU time of the calling
    # thread, for single-threaded comparisons: on a busy machine it measures the code, not the scheduler.
    timer: str = "wall"


RowFunction = Callable[[int], list[Case]]

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


def pm_rows(n: int) -> list[Case]:
    """Ticket hot paths (spec/pm.md §1-§3) on n tickets, plus bulk keccak-256 of an 8 MB segment."""
    import coincurve

    from . import keccak256, pm

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
    from . import _native_pm

    digests = _native_pm.personal_hashes(hashes)
    return lambda: _native_pm.bench_raw_sign(key, digests)


def _raw_recover(hashes: np.ndarray, sigs: np.ndarray) -> Callable[[], Any]:
    from . import _native_pm

    digests = _native_pm.personal_hashes(hashes)
    raw = sigs.copy()
    raw[:, 64] -= 27
    return lambda: _native_pm.bench_raw_recover(digests, raw)


def signer_rows(n: int) -> list[Case]:
    """Remote signer handler, 100 tickets per request (owner: signer); skipped without the signer extra."""
    try:
        from .signer._bench import rows
    except ImportError:  # protobuf (the `signer` extra) is not installed
        return []
    return rows(n)


#: Row functions run by ``lpcore bench``, in order. Append yours.
ROWS: list[RowFunction] = [pm_rows, signer_rows]


TIMERS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "thread": time.thread_time}


def best_times(fns: list[Callable[[], Any]], repeat: int, timer: str = "wall") -> list[float]:
    """Best time of `repeat` calls of each function, interleaved round by round so that a burst of load on a
    shared machine hits every contender alike (after one warm-up call each)."""
    clock = TIMERS[timer]
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t0 = clock()
            fn()
            best[i] = min(best[i], clock() - t0)
    return best


def _rate(items: float, seconds: float, unit: str) -> str:
    r = items / seconds
    return f"{r:,.1f} {unit}/s" if r < 1000 else f"{r:,.0f} {unit}/s"


def run(args: argparse.Namespace) -> int:
    if args.n < 1 or args.repeat < 1:
        raise SystemExit("lpcore bench: -n and --repeat must be >= 1")
    print(f"lpcore bench: n={args.n}, best of {args.repeat} (interleaved), {os.cpu_count()} cores; "
          "ratio = peer time / lpcore time; (cpu) = calling-thread CPU time")
    header = f"{'workload':<30} {'lpcore':>18}  {'peer':<28} {'peer rate':>18} {'ratio':>8}"
    print(header)
    print("-" * len(header))
    for row_fn in ROWS:
        for case in row_fn(args.n):
            if args.only and not any(sel in case.name for sel in args.only):
                continue
            ours, *peer_times = best_times([case.ours, *case.peers.values()], args.repeat, case.timer)
            first = True
            for peer_name, theirs in zip(case.peers, peer_times):
                label = case.name + (" (cpu)" if case.timer == "thread" else "") if first else ""
                ours_s = _rate(case.items, ours, case.unit) if first else ""
                print(f"{label:<30} {ours_s:>18}  {peer_name:<28} {_rate(case.items, theirs, case.unit):>18} "
                      f"{theirs / ours:>7.2f}x", flush=True)
                first = False
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("bench", help="throughput of lpcore's hot paths vs the usual Python peers")
    p.add_argument("-n", type=int, default=10_000, help="batch size (default 10000)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per measurement, best kept (default 3)")
    p.add_argument("--only", nargs="*", default=None, help="run only workloads whose name contains one of these")
    p.set_defaults(func=run)

# Protocol roles (owner: roles): Recipient.receive_payment vs a pure-Python ReceiveTicket loop.
from ._bench_roles import roles_rows  # noqa: E402

ROWS.append(roles_rows)

# Video signatures (owner: vsig): vsig.compute vs FFmpeg's signature filter on the same frames.
from .vsig.bench_rows import vsig_rows  # noqa: E402

ROWS.append(vsig_rows)
