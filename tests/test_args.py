"""lpcore._args.threads: the one `threads` rule of every batch API, its clamp, and libgomp's thread-creation
failure turned into a fallback (issue 15 item 9)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lpcore import _args, _native_match, _native_pm, _native_vsig, pm, vsig
from lpcore.errors import LpcoreError
from lpcore.vsig import match


def test_rule() -> None:
    assert _args.threads(None) >= 1
    assert _args.threads(1) == 1 and _args.threads(np.int64(2)) == min(2, _args.max_threads())
    assert _args.threads(10**9) == _args.max_threads() == _args.MAX_THREADS_PER_CPU * _args._cpus()
    for bad in (0, -1, True, False, 1.5, "2", object()):
        with pytest.raises(_args.InvalidThreads, match=r"threads must be None \(all cores\) or an int >= 1"):
            _args.threads(bad)
    assert issubclass(_args.InvalidThreads, (LpcoreError, ValueError, TypeError))


@pytest.mark.parametrize("call", [
    lambda t: _native_pm.keccak256_rows(np.zeros((2, 3), np.uint8), t),
    lambda t: pm.recover_batch(np.zeros((1, 32), np.uint8), np.zeros((1, 65), np.uint8), threads=t),
    lambda t: pm.is_winning_batch(np.zeros((1, 65), np.uint8), 1, 1, threads=t),
    lambda t: pm.ticket_hashes_columns(bytes(20), bytes(20), 1, 1, 0, bytes(32), threads=t),
    lambda t: _native_vsig.compute_frames(np.zeros((1, 32, 32), np.uint8), t),
    lambda t: vsig.compute(np.zeros((1, 32, 32), np.uint8), threads=t),
    lambda t: match.compare_many([], threads=t),
    lambda t: _native_match.lookup_batch([], [], th_d=1, th_dc=1, th_xh=1, th_di=0, th_it=0.5, mode=0, jaccard=0,
                                         rounding=0, full_offset_scan=0, include_last_frame=0, reset_walk_state=0,
                                         model_b2_crash=0, threads=t),
])
def test_every_layer_uses_the_rule(call) -> None:
    call(None)
    call(1)
    call(10_000)  # clamped, never an error
    for bad in (0, -3, True, 2.0):
        with pytest.raises(_args.InvalidThreads, match="threads must be None"):
            call(bad)


_WORKLOAD = textwrap.dedent("""
    import numpy as np
    from lpcore import pm, vsig
    from lpcore._args import max_threads
    h = np.zeros((4000, 32), np.uint8); s = np.zeros((4000, 65), np.uint8)
    try:
        pm.recover_batch(h, s, threads={threads})
        vsig.compute(np.zeros((64, 64, 64), np.uint8), threads={threads})
        print("survived")
    except Exception as exc:
        print("raised", type(exc).__name__, exc)
""")


def _run_limited(limits: str, threads: str) -> subprocess.CompletedProcess:
    script = _WORKLOAD.format(threads=threads)
    return subprocess.run(["bash", "-c", f'{limits}; exec "$0" -c "$1"', sys.executable, script],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "", "GOMP_STACKSIZE": ""})


def test_thousand_threads_under_a_memory_limit() -> None:
    # Before the clamp, libgomp printed "Thread creation failed" and ended the interpreter with exit code 1.
    r = _run_limited("ulimit -v 3000000", "1000")
    assert r.returncode == 0 and "survived" in r.stdout, (r.stdout, r.stderr)
    assert "Thread creation failed" not in r.stderr


def test_thread_creation_failure_falls_back() -> None:
    # 1 GB thread stacks under a 3 GB address-space limit: even the clamped count cannot be created, so the
    # native layer falls back to the threads it could create instead of letting libgomp exit.
    r = _run_limited("ulimit -s 1000000; ulimit -v 3000000", "max_threads()")
    assert r.returncode == 0 and "survived" in r.stdout, (r.stdout, r.stderr)
