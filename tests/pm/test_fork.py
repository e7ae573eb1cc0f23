"""Batch calls in a forked child: GNU OpenMP's pool does not survive fork(), so lpcore must fall back to the
calling thread there instead of hanging (multiprocessing's fork start method, pre-forking servers)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    from lpcore import pm
    signer = pm.Signer(bytes([7]) * 32)
    hashes = np.arange(64 * 32, dtype=np.uint64).astype(np.uint8).reshape(64, 32)
    parent = signer.sign_batch(hashes, threads=2)          # starts the OpenMP pool
    pid = os.fork()
    if pid == 0:
        child = signer.sign_batch(hashes, threads=2)
        ok = np.array_equal(child, parent) and pm.verify_batch(hashes, child, signer.address, threads=2).all()
        os._exit(0 if ok else 3)
    _, status = os.waitpid(pid, 0)
    assert np.array_equal(signer.sign_batch(hashes, threads=2), parent)  # the parent keeps its threads
    sys.exit(os.waitstatus_to_exitcode(status))
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_batch_calls_work_after_fork() -> None:
    # A subprocess, so a regression shows up as a timeout rather than a hung test run.
    result = subprocess.run([sys.executable, "-c", SCRIPT], timeout=60, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
