"""detect_tampering from many threads at once, starting cold: numba compiles or loads each evidence kernel on its
first call, and concurrent first calls used to trip numba's lazy imports. Run in a fresh interpreter so the
kernels really are cold."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_concurrent_first_calls_from_threads():
    code = textwrap.dedent("""
        import numpy as np
        from concurrent.futures import ThreadPoolExecutor
        from lpcore import verify

        rng = np.random.default_rng(3)
        ref = rng.integers(0, 256, size=(24, 96, 128), dtype=np.uint8)
        cand = ref.copy()
        cand[:, 20:50, 30:70] = 255                                 # a box over ~10 % of the frame
        with ThreadPoolExecutor(8) as pool:
            reports = list(pool.map(lambda k: verify.detect_tampering(ref, cand if k % 2 else ref), range(16)))
        assert [r.tampered for r in reports] == [bool(k % 2) for k in range(16)], [r.score for r in reports]
        print("ok")
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stdout + res.stderr
