"""lpcore.verify.batch on a real local Ray cluster (2 CPUs, started once for the module and always shut down).

Worker deaths are real: a task kills its own worker process with ``os._exit``. The tasks substituted here are
closures, so Ray ships them by value and the workers need nothing but lpcore.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from lpcore.errors import DeviceUnavailable  # noqa: E402
from lpcore.verify import batch, run_batch  # noqa: E402
from lpcore.verify.batch import Plan, iter_batch, verify_pair  # noqa: E402
from lpcore.verify.batch_cli import main  # noqa: E402

from tests.verify.batch_helpers import make_clips, needs_ffmpeg, without_seconds, write_manifest  # noqa: E402

pytestmark = needs_ffmpeg


@pytest.fixture(scope="module")
def cluster():
    ray.init(address="local", num_cpus=2, include_dashboard=False, object_store_memory=128 << 20,
             logging_level=logging.WARNING, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return make_clips(tmp_path_factory.mktemp("clips"))


def _read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def _pairs_of(rows) -> list[tuple[str, str]]:
    return sorted((r["reference"], r["candidate"]) for r in rows)


def test_ray_rows_equal_the_in_process_path(cluster, clips):
    pairs = clips.pairs() + [(Path(clips.ref).read_bytes(), clips.same)]
    local = run_batch(pairs)
    on_ray = run_batch(pairs, executor="ray", workers=2)
    assert without_seconds(on_ray) == without_seconds(local)
    errors = {r["candidate"]: r["error"] for r in on_ray if r["error"]}
    assert set(errors) == {clips.corrupt, clips.truncated, clips.missing}        # the rest completed
    assert sum(r["match_code"] == 2 for r in on_ray) == 4


def test_ray_rows_carry_the_real_detectors_verdicts(cluster, clips):
    """The real detector on the workers (profiles decoded there): the box is tampered, the re-encodes are not,
    exactly as in-process."""
    pairs = [(clips.ref, clips.same), (clips.ref, clips.boxed), (clips.ref, clips.same2)]
    rows = run_batch(pairs, executor="ray", workers=2)
    assert [r["tampered"] for r in rows] == [False, True, False]
    assert without_seconds(rows) == without_seconds(run_batch(pairs))


def test_actor_pool_gives_the_same_rows(cluster, clips):
    """The per-GPU actor path, run here with CPU actors (no GPU on this machine): same dispatch and rows."""
    pairs = clips.pairs()
    rows = run_batch(pairs, executor="ray", _plan=Plan("actors", 2, "cpu"))
    assert without_seconds(rows) == without_seconds(run_batch(pairs))


def test_a_worker_killed_mid_batch_is_retried_and_every_pair_is_in_the_output_once(cluster, clips, tmp_path):
    marker = str(tmp_path / "killed-once")
    victim = clips.same2

    def dies_once(reference, candidate, **kw):
        if candidate == victim and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)                              # the worker process dies mid-task
        return verify_pair(reference, candidate, **kw)

    out = tmp_path / "out.jsonl"
    pairs = clips.pairs()
    rows = run_batch(pairs, executor="ray", out=out, _task=dies_once)
    assert os.path.exists(marker)                    # the kill did happen
    written = _read_jsonl(out)
    assert _pairs_of(written) == sorted(pairs) and len(written) == len(pairs)
    assert without_seconds(rows) == without_seconds(run_batch(pairs))
    assert next(r for r in written if r["candidate"] == victim)["match_code"] == 2


def test_a_pair_that_always_kills_its_worker_becomes_an_error_row(cluster, clips, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "RAY_MAX_RETRIES", 0)     # Ray gives up at once; the driver resubmits once
    count, bad = tmp_path / "attempts", clips.other      # plain values: the closure travels by value

    def poison(reference, candidate, **kw):
        if candidate == bad:
            with open(count, "a") as f:
                f.write("x")
            os._exit(1)
        return verify_pair(reference, candidate, **kw)

    pairs = [(clips.ref, clips.same), (clips.ref, clips.other), (clips.ref, clips.same2)]
    rows = run_batch(pairs, executor="ray", _task=poison)
    assert count.read_text() == "x" * (1 + batch.RESUBMITS)
    assert rows[1]["match_code"] is None and "worker died" in rows[1]["error"]
    assert [r["match_code"] for r in (rows[0], rows[2])] == [2, 2]


def test_backpressure_reads_pairs_only_as_slots_free(cluster, clips):
    consumed, yielded = [], 0

    def lazy():
        for i in range(6):
            consumed.append(i)
            yield (clips.ref, clips.same) if i == 0 else (clips.ref, f"{clips.missing}.{i}")

    for _ in iter_batch(lazy(), executor="ray", window=2):
        yielded += 1
        assert len(consumed) - yielded <= 2
    assert yielded == 6


def test_resume_on_ray_after_an_interrupted_run(cluster, clips, tmp_path, monkeypatch):
    out = tmp_path / "results.jsonl"
    pairs = clips.pairs()
    manifest = write_manifest(tmp_path / "m.csv", pairs)
    gen = iter_batch(pairs, executor="ray", out=out)
    done = [next(gen), next(gen)]                    # interrupted after two rows
    gen.close()
    assert len(_read_jsonl(out)) == 2
    log = str(tmp_path / "computed")

    def counting(reference, candidate, **kw):         # runs in the Ray workers: counts in a file
        with open(log, "a") as f:
            f.write(json.dumps([reference, candidate]) + "\n")
        return verify_pair(reference, candidate, **kw)

    monkeypatch.setattr(batch, "verify_pair", counting)
    assert main([str(manifest), "--out", str(out), "--ray", "local", "--resume", "-q"]) == 1
    computed = [tuple(json.loads(x)) for x in Path(log).read_text().splitlines()]
    assert len(computed) == len(pairs) - 2
    assert not {(r["reference"], r["candidate"]) for r in done} & set(computed)
    assert _pairs_of(_read_jsonl(out)) == sorted(pairs)


def test_gpu_actors_that_cannot_start_fall_back_to_cpu_tasks_under_auto(cluster, clips):
    """A cluster that advertises GPUs whose nodes lack CuPy (as here: the actors' warm-up raises
    DeviceUnavailable): "auto" verifies on CPU tasks with a warning, "cuda" is a run error."""
    pairs = clips.clean_pairs()[:2]
    gpu_plan = Plan("actors", 1, "cuda", 0.0)
    with pytest.warns(RuntimeWarning, match="CPU tasks"):
        rows = run_batch(pairs, executor="ray", device="auto", _plan=gpu_plan)
    assert without_seconds(rows) == without_seconds(run_batch(pairs))
    with pytest.raises(DeviceUnavailable, match="actors could not start"):
        run_batch(pairs, executor="ray", device="cuda", _plan=gpu_plan)
