"""The GIL is released around the C loops: another Python thread keeps running while a long call is in C."""

from __future__ import annotations

import threading
import time

import numpy as np

import lpcore
from lpcore import pm


def python_runs_during(call) -> bool:
    """Run `call` in a thread while this thread records timestamps; True if any fall in the middle 60% of the
    call (a switch just before or after the C call cannot explain those if the GIL were held)."""
    span: list[float] = []
    done = threading.Event()

    def worker() -> None:
        span.append(time.perf_counter())
        call()
        span.append(time.perf_counter())
        done.set()

    stamps: list[float] = []
    t = threading.Thread(target=worker)
    t.start()
    while not done.is_set():
        stamps.append(time.perf_counter())
        time.sleep(0)
    t.join()
    t0, t1 = span
    lo, hi = t0 + 0.2 * (t1 - t0), t1 - 0.2 * (t1 - t0)
    return any(lo < s < hi for s in stamps)


def test_bulk_keccak_releases_the_gil() -> None:
    data = bytes(64 << 20)
    assert python_runs_during(lambda: lpcore.keccak256(data))


def test_sign_batch_releases_the_gil() -> None:
    hashes = np.zeros((3000, 32), np.uint8)
    signer = pm.Signer(bytes([9]) * 32)
    assert python_runs_during(lambda: signer.sign_batch(hashes, threads=1))
