"""Verification batches: pairs/s of ``lpcore.verify.run_batch`` in-process and on Ray (1 and 2 workers) against a
plain ``multiprocessing.Pool`` running the same per-pair function over the same pairs, and the per-pair cost of
each executor's task machinery (a no-op task).

Workload: 16 (reference, candidate) pairs of H.264 clips: 4 references (testsrc2, testsrc, smptebars,
mandelbrot), each against 4 candidates of its own (re-encodes of itself or of another source, one file per
pair), in two sizes: 160x90 1 s (25 frames, the tests' clips) and 640x360 2 s (60 frames). Every executor computes the same rows (checked).

- in-process: ``run_batch(pairs, workers=k)`` (threads; decode and signature loops release the GIL).
- multiprocessing: ``Pool(k).map(verify_pair, pairs, chunksize=1)``, the pool started before the clock (its
  start-up is reported apart), so it is the peer's steady state.
- Ray: a local instance with ``num_cpus=k`` started (and its workers warmed by one batch) before the clock;
  its start-up is reported apart.
- overhead: the same no-op task (a fixed row) through each executor, and through Ray with the 640x360 clips'
  bytes instead of paths: what moving each pair's media through the object store costs on one node.
Each timed run gets fresh copies of the clip files (every process keeps the signatures of files it has already
signed, so repeated runs over the same files would time that cache); bytes inputs are only timed with the no-op
task for the same reason (their signatures are kept by content).

Figures: best of ROUNDS wall-clock runs (the least disturbed on a shared machine). Run:
``python3 -m pytest benchmarks/bench_batch.py --benchmark-only -s`` (needs ffmpeg; Ray rows need Ray).
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from lpcore.verify import run_batch
from lpcore.verify.batch import make_row, verify_pair

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")

ROUNDS = 3
PAIRS = 16
SIZES = {"160x90 1s": ("160x90", 25, 1), "640x360 2s": ("640x360", 30, 2)}
SOURCES = ("testsrc2", "testsrc", "smptebars", "mandelbrot")


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], check=True,
                   capture_output=True)


def _pairs(d: Path, size: str, rate: int, seconds: int) -> list[tuple[str, str]]:
    refs = []
    for s in SOURCES:
        ref = d / f"{s}_{size}.mp4"
        _ffmpeg("-f", "lavfi", "-i", f"{s}=size={size}:rate={rate}", "-t", str(seconds), "-pix_fmt", "yuv420p",
                "-c:v", "libx264", "-crf", "18", str(ref))
        refs.append(str(ref))
    # reference i % 4 against its own candidate file: a re-encode (CRF 26..41) of source (i + i // 4) % 4, so a
    # quarter of the pairs match and each reference is shared by 4 candidates, as one trusted rendition is
    # checked against several orchestrators' renditions
    pairs = []
    for i in range(PAIRS):
        cand = d / f"cand{i}_{size}.mp4"
        _ffmpeg("-i", refs[(i + i // 4) % 4], "-c:v", "libx264", "-crf", str(26 + i), str(cand))
        pairs.append((refs[i % 4], str(cand)))
    return pairs


@pytest.fixture(scope="module")
def workload(tmp_path_factory):
    d = tmp_path_factory.mktemp("bench_batch")
    return {name: _pairs(d, *spec) for name, spec in SIZES.items()}


def _mp_verify(pair):
    return verify_pair(pair[0], pair[1], device="cpu", threads=1)


def _make_noop():
    """A no-op per-pair task (a fixed row; the batch names it). Built in a function so that Ray ships it by
    value: the workers cannot import this benchmark file."""
    def noop(reference, candidate, **kw):
        return make_row("", "", tamper=False, match_code=2, frames=1, seconds=0.0)
    return noop


_noop = _make_noop()


def _mp_noop(pair):
    return _noop(*pair)


_COPIES = itertools.count()


def _fresh(pairs):
    """The pairs on new copies of their files: each process keeps the signatures of files it has signed (a
    reference shared by several candidates is signed once), so every timed run gets files no process has seen;
    the sharing within one run (4 references, 16 pairs) stays, as in a real manifest."""
    if not pairs or not isinstance(pairs[0][0], str) or not Path(pairs[0][0]).is_file():
        return pairs                     # bytes, or the no-op task's made-up names
    d = Path(pairs[0][0]).parent / f"copy{next(_COPIES)}"
    d.mkdir()
    names = {p for pair in pairs for p in pair}
    moved = {p: shutil.copy(p, d / Path(p).name) for p in names}
    return [(moved[a], moved[b]) for a, b in pairs]


def _best(fn, pairs) -> float:
    times = []
    for _ in range(ROUNDS):
        fresh = _fresh(pairs)
        t = time.perf_counter()
        fn(fresh)
        times.append(time.perf_counter() - t)
    return min(times)


def _strip(rows):
    return sorted((Path(r["reference"]).name, Path(r["candidate"]).name, r["match_code"], r["frames"], r["error"])
                  for r in rows)


def test_batch_pairs_per_second(benchmark, workload):
    results: dict[tuple[str, str], float] = {}
    startup: dict[str, float] = {}
    expected = {name: _strip(run_batch(pairs, workers=1)) for name, pairs in workload.items()}
    for name, pairs in workload.items():
        for k in (1, 2):
            results[(f"in-process, {k} thread(s)", name)] = _best(lambda p: run_batch(p, workers=k), pairs)
        assert _strip(run_batch(_fresh(pairs), workers=2)) == expected[name]
    benchmark.pedantic(run_batch, args=(_fresh(workload["640x360 2s"]),), kwargs={"workers": 2}, rounds=1,
                       iterations=1)
    for k in (1, 2):
        t = time.perf_counter()
        with multiprocessing.get_context("fork").Pool(k) as pool:
            pool.map(_mp_noop, [("a", "b")] * k)
            startup[f"multiprocessing, {k}"] = time.perf_counter() - t
            for name, pairs in workload.items():
                results[(f"multiprocessing Pool({k})", name)] = _best(
                    lambda p: pool.map(_mp_verify, p, chunksize=1), pairs)
                assert _strip(pool.map(_mp_verify, _fresh(pairs), chunksize=1)) == expected[name]
    try:
        import ray
    except ImportError:
        ray = None
    if ray is not None:
        for k in (1, 2):
            t = time.perf_counter()
            ray.init(address="local", num_cpus=k, include_dashboard=False, logging_level=logging.WARNING,
                     log_to_driver=False)
            try:
                run_batch(workload["160x90 1s"][: 2 * k], executor="ray")   # workers started and warm
                startup[f"ray, {k}"] = time.perf_counter() - t
                for name, pairs in workload.items():
                    results[(f"ray, {k} worker(s)", name)] = _best(lambda p: run_batch(p, executor="ray"), pairs)
                    assert _strip(run_batch(_fresh(pairs), executor="ray")) == expected[name]
            finally:
                ray.shutdown()
    print("\n| executor | " + " | ".join(f"{n} pairs/s" for n in workload) + " |")
    print("|---|" + "---:|" * len(workload))
    base = {n: PAIRS / results[("in-process, 1 thread(s)", n)] for n in workload}
    for label in dict.fromkeys(lbl for lbl, _ in results):
        cells = []
        for n in workload:
            rate = PAIRS / results[(label, n)]
            cells.append(f"{rate:.1f} ({rate / base[n]:.2f}x)")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("start-up (s): " + ", ".join(f"{k} {v:.2f}" for k, v in startup.items()))


def test_task_overhead_per_pair(benchmark, workload):
    """Per-pair cost of the executor itself: the same no-op task (returns a fixed row) through each."""
    pairs = [(f"/r{i}", f"/c{i}") for i in range(400)]
    out = {"in-process, 2 threads": _best(lambda p: run_batch(p, workers=2, _task=_noop), pairs)}
    benchmark.pedantic(run_batch, args=(pairs,), kwargs={"workers": 2, "_task": _noop}, rounds=1, iterations=1)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pool.map(_mp_noop, pairs[:4])
        out["multiprocessing Pool(2)"] = _best(lambda p: pool.map(_mp_noop, p, chunksize=1), pairs)
    try:
        import ray
    except ImportError:
        ray = None
    if ray is not None:
        ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.WARNING,
                 log_to_driver=False)
        try:
            run_batch(pairs[:8], executor="ray", _task=_noop)
            out["ray, 2 workers"] = _best(lambda p: run_batch(p, executor="ray", _task=_noop), pairs)
            one = min(_best(lambda p: run_batch(p, executor="ray", _task=_noop), pairs[:1]) for _ in range(3))
            print(f"\nray: a batch of one no-op pair takes {one * 1e3:.1f} ms (probe task + the pair)")
            small = workload["640x360 2s"]
            size = sum(Path(a).stat().st_size + Path(b).stat().st_size for a, b in small) / len(small)
            data = [(Path(a).read_bytes(), Path(b).read_bytes()) for a, b in small] * 4
            names = [(f"/r{i}", f"/c{i}") for i in range(len(data))]
            paths_s = _best(lambda p: run_batch(p, executor="ray", _task=_noop), names)
            bytes_s = _best(lambda p: run_batch(p, executor="ray", _task=_noop), data)
            print(f"ray no-op with {size / 1024:.0f} KiB of media bytes per pair: "
                  f"{(bytes_s - paths_s) / len(data) * 1e3:.2f} ms more per pair than with paths")
        finally:
            ray.shutdown()
    for label, s in out.items():
        print(f"{label}: {s / len(pairs) * 1e6:.0f} us per pair ({len(pairs) / s:.0f} pairs/s)")
