"""Orchestrator-side ticket intake: ``Recipient.receive_payment`` vs a pure-Python ``ReceiveTicket`` loop.

Workload: 20 payments of 100 tickets each (fresh ticket params per payment, as orchestrators issue them),
received by a fresh recipient every round (empty replay map). Both sides do the whole protocol per ticket
(spec/pm.md §6.1-§6.4): HMAC recipientRand, sender validation against the embedded broker (once per payment
on both sides - go-livepeer does it per ticket, which would only slow the peer down), recipient / sender /
recipientRandHash checks, ticket hash, EIP-191 signature verification (length, low-s, v, recovery, address),
the win check, the 600-nonce replay map under a lock, the expiry check and EV crediting. Win probability is
mainnet-like (~1e-6) so the durable queue (identical for both) is not part of the measurement.

- lpcore: one HMAC, one columnar hash call, one ``verify_batch`` and one ``is_winning_batch`` per payment
  (C, all cores), then the per-ticket protocol logic in Python.
- peer: what a Python port of go-livepeer would do per ticket - ``hmac`` + pycryptodome keccak +
  coincurve ``PublicKey.from_signature_and_message``.

Run: ``python3 -m pytest benchmarks/bench_roles.py --benchmark-only``; the ratio is printed at the end.
"""

from __future__ import annotations

import time

import pytest

from lpcore._bench.roles import make_world  # workload and peer shared with `lpcore bench`

PAYMENTS, TICKETS = 20, 100
RESULTS: dict[str, float] = {}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(PAYMENTS, TICKETS, tmp_path_factory.mktemp("bench-roles"))


def _check(credited, world):
    assert credited == world.ev * PAYMENTS * TICKETS


def test_receive_lpcore(benchmark, world):
    _check(benchmark.pedantic(world.run_lpcore, rounds=7), world)
    RESULTS["lpcore"] = benchmark.stats.stats.min


def test_receive_python_peer(benchmark, world):
    _check(benchmark.pedantic(world.run_peer, rounds=5), world)
    RESULTS["peer"] = benchmark.stats.stats.min


def _interleaved(world, reps=3):
    """Wall and CPU (process) seconds, min over interleaved repetitions: lpcore all cores, lpcore 1 thread, peer.
    CPU time is what one ticket costs regardless of how loaded the (shared) machine is."""
    out = {k: [float("inf"), float("inf")] for k in ("lpcore", "lpcore-1thread", "peer")}
    for _ in range(reps):
        for key, fn in (("lpcore", lambda: world.run_lpcore(None)), ("lpcore-1thread", lambda: world.run_lpcore(1)),
                        ("peer", world.run_peer)):
            w, c = time.perf_counter(), time.process_time()
            fn()
            w, c = time.perf_counter() - w, time.process_time() - c
            out[key] = [min(out[key][0], w), min(out[key][1], c)]
    return out


@pytest.fixture(scope="module", autouse=True)
def ratio_table(request: pytest.FixtureRequest, world):
    """After the benchmarks: the ratio from pytest-benchmark plus an interleaved wall/CPU comparison."""
    yield
    if "lpcore" not in RESULTS:
        return
    n = PAYMENTS * TICKETS
    lines = []
    if len(RESULTS) == 2:
        lines.append(f"pytest-benchmark min: lpcore {n / RESULTS['lpcore']:,.0f} tickets/s, pure-Python peer "
                     f"{n / RESULTS['peer']:,.0f} tickets/s, ratio {RESULTS['peer'] / RESULTS['lpcore']:.2f}x")
    t = _interleaved(world)
    for key in ("lpcore", "lpcore-1thread"):
        lines.append(f"interleaved {key:15} wall {n / t[key][0]:8,.0f} tickets/s ({t['peer'][0] / t[key][0]:.2f}x peer), "
                     f"CPU {n / t[key][1]:8,.0f} tickets/CPU-s ({t['peer'][1] / t[key][1]:.2f}x peer)")
    lines.append(f"interleaved {'peer':15} wall {n / t['peer'][0]:8,.0f} tickets/s, "
                 f"CPU {n / t['peer'][1]:8,.0f} tickets/CPU-s")
    text = "Recipient.receive_payment, payments of 100 tickets:\n  " + "\n  ".join(lines)
    capman = request.config.pluginmanager.getplugin("capturemanager")
    if capman is not None:
        with capman.global_and_fixture_disabled():
            print("\n" + text, flush=True)
    else:
        print(text)
