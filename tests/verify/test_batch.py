"""lpcore.verify.batch without Ray: the in-process executor, rows, sinks, resume, the CLI and its exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import types
from pathlib import Path

import pytest

from lpcore.errors import BatchError, DeviceUnavailable
from lpcore.verify import batch, run_batch, verify_segment
from lpcore.verify.batch import Plan, iter_batch, plan_ray, verify_pair
from lpcore.verify.batch_cli import main, read_manifest
from lpcore.verify.sinks import FIELDS, JsonlSink, SqliteSink, open_sink
from lpcore.vsig import compute_file
from lpcore.vsig.profile import VideoProfile, compute_profile_file

from tests.verify.batch_helpers import make_clips, needs_ffmpeg, without_seconds, write_manifest

pytestmark = needs_ffmpeg


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return make_clips(tmp_path_factory.mktemp("clips"))


def _keys(tamper: bool) -> list[str]:
    return [f for f in FIELDS if tamper or f not in ("tampered", "score")]


def _read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


# -------------------------------------------------------------------------------------------- rows

def test_rows_match_the_verifier_pair_for_pair(clips):
    rows = run_batch(clips.pairs(), workers=2)
    tamper = batch.tamper_detector() is not None
    assert [(r["reference"], r["candidate"]) for r in rows] == clips.pairs()
    for row, (ref, cand) in zip(rows, clips.pairs()):
        assert list(row) == _keys(tamper)
        assert isinstance(row["seconds"], float) and row["seconds"] >= 0
        if cand in (clips.corrupt, clips.truncated, clips.missing):
            assert row["match_code"] is None and row["frames"] is None
            assert row["error"].startswith("candidate: ") and cand in row["error"]
            continue
        assert row["error"] is None
        # the oracle: the Verifier's own path on the same files, and the signature's frame count
        assert row["match_code"] == verify_segment(ref, cand).code
        assert row["frames"] == len(compute_file(cand))
    codes = {r["candidate"]: r["match_code"] for r in rows}
    assert codes[clips.same] == 2 and codes[clips.same2] == 2 and codes[clips.other] == 0
    assert "no such file" in rows[4]["error"]


def test_missing_reference_names_its_side(clips):
    (row,) = run_batch([(clips.missing, clips.ref)])
    assert row["error"] == f"reference: no such file {clips.missing!r}" and row["match_code"] is None
    (row,) = run_batch([(str(clips.dir), clips.ref)])
    assert row["error"].startswith("reference: ") and "directory" in row["error"]


def test_bytes_inputs_equal_paths(clips):
    ref_bytes = Path(clips.ref).read_bytes()
    rows = run_batch([(ref_bytes, clips.same), (clips.ref, Path(clips.other).read_bytes()),
                      (ref_bytes, Path(clips.corrupt).read_bytes())])
    by_path = run_batch([(clips.ref, clips.same), (clips.ref, clips.other)])
    assert rows[0]["reference"].startswith("sha256:") and len(rows[0]["reference"]) == 7 + 64
    assert [r["match_code"] for r in rows[:2]] == [r["match_code"] for r in by_path] == [2, 0]
    assert rows[2]["error"].startswith("candidate: cannot open")


def test_one_thread_and_a_pool_agree_and_duplicates_are_one_pair(clips):
    pairs = clips.pairs()
    one = run_batch(pairs, workers=1)
    pooled = run_batch(pairs + pairs[:3], workers=2, window=3)
    assert without_seconds(one) == without_seconds(pooled)


def test_the_preset_is_the_verifiers_and_can_be_chosen(clips):
    assert batch.DEFAULT_PRESET == "exact"
    (row,) = run_batch([(clips.ref, clips.same)], preset="livepeer")
    assert row["match_code"] == verify_segment(clips.ref, clips.same, preset="livepeer").code


def test_bad_arguments_raise_before_work(clips):
    with pytest.raises(ValueError, match="executor"):
        run_batch([], executor="dask")
    with pytest.raises(ValueError, match="workers"):
        run_batch([], workers=0)
    with pytest.raises(ValueError, match="preset"):
        run_batch([], preset="nope")
    with pytest.raises(TypeError, match="pair"):
        run_batch([clips.ref])
    with pytest.raises(TypeError, match="paths, URLs or bytes"):
        run_batch([(clips.ref, 3)])
    with pytest.raises(DeviceUnavailable):  # no CuPy or GPU here: said once, not as every pair's error
        run_batch([(clips.ref, clips.same)], device="cuda")


def test_local_pool_bounds_the_pairs_in_flight(clips):
    lock, state = threading.Lock(), {"now": 0, "max": 0}
    consumed, yielded = [], []

    def task(reference, candidate, **kw):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        try:
            return verify_pair(reference, candidate, **kw)
        finally:
            with lock:
                state["now"] -= 1

    pairs = ((clips.ref, f"{clips.missing}{i}") for i in range(8))
    for row in iter_batch(_counting(pairs, consumed), workers=2, window=3, _task=task):
        yielded.append(row)
        assert len(consumed) - len(yielded) <= 3          # never more than `window` pairs read ahead
    assert len(yielded) == 8 and state["max"] <= 2


def _counting(pairs, consumed):
    for p in pairs:
        consumed.append(p)
        yield p


def test_progress_bar_shows_pairs_per_second(clips, capsys):
    run_batch([(clips.ref, clips.same), (clips.ref, clips.other)], progress=True)
    err = capsys.readouterr().err
    assert "2/2" in err and "pair/s" in err
    run_batch([(clips.ref, clips.same)], progress=None)      # stderr is not a terminal under pytest: quiet
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------------------------- tamper detection

class _Report:
    def __init__(self, tampered, score):
        self.tampered, self.score = tampered, score


@pytest.fixture
def fake_detect(monkeypatch, clips):
    """A stand-in detector at the batch's injection point (the ``lpcore.verify.detect`` module): it records the
    profiles it is given and answers by which input they are (recognised by the real profile of each clip), so
    the rows show that the detector's verdict, and nothing else, fills ``tampered``/``score``."""
    calls = []
    known = {name: compute_profile_file(getattr(clips, name), "cpu") for name in ("ref", "same", "other", "same2")}

    def detect_tampering(reference, candidate):
        assert isinstance(reference, VideoProfile) and isinstance(candidate, VideoProfile)  # decoded once, by batch
        names = tuple(next(k for k, v in known.items() if v == p) for p in (reference, candidate))
        calls.append(names)
        if names[1] == "other":
            return _Report(True, 7.5)
        if names[1] == "same2":
            raise ValueError("profile mismatch")
        return _Report(False, 0.25)

    module = types.ModuleType("lpcore.verify.detect")
    module.detect_tampering = detect_tampering
    monkeypatch.setitem(sys.modules, "lpcore.verify.detect", module)
    return calls


def test_tamper_fields_come_from_detect_tampering(clips, fake_detect):
    rows = run_batch([(clips.ref, clips.same), (clips.ref, clips.other), (clips.ref, clips.same2),
                      (clips.ref, clips.missing), (Path(clips.ref).read_bytes(), clips.same)])
    assert all(list(r) == list(FIELDS) for r in rows)
    assert (rows[0]["tampered"], rows[0]["score"], rows[0]["match_code"]) == (False, 0.25, 2)
    assert (rows[1]["tampered"], rows[1]["score"], rows[1]["match_code"]) == (True, 7.5, 0)
    assert rows[2]["error"] == "profile mismatch" and rows[2]["tampered"] is None and rows[2]["match_code"] is None
    assert rows[3]["tampered"] is None and "no such file" in rows[3]["error"]
    assert rows[4]["tampered"] is False and rows[4]["match_code"] == 2
    # not called for the missing input; bytes give the same profile as the path (calls in completion order)
    assert sorted(fake_detect) == sorted([("ref", "same"), ("ref", "other"), ("ref", "same2"), ("ref", "same")])
    assert not any(batch.clean(r) for r in rows[1:4]) and batch.clean(rows[0])


def test_each_input_is_decoded_once_for_match_and_detector(clips, fake_detect, monkeypatch):
    import lpcore.vsig as vsig

    decoded = []
    real = vsig.compute_profile_file
    monkeypatch.setattr(vsig, "compute_profile_file", lambda p, **kw: decoded.append(p) or real(p, **kw))
    monkeypatch.setattr(vsig, "compute_file", lambda *a, **kw: pytest.fail("a second decode (signature alone)"))
    monkeypatch.setattr(batch, "_DECODED", batch._DecodeCache())
    (row,) = run_batch([(clips.ref, clips.other)])
    assert (row["match_code"], row["tampered"]) == (0, True) and sorted(decoded) == sorted([clips.ref, clips.other])


def test_the_real_detector_flags_a_box_and_passes_honest_re_encodes(clips):
    """No fake: lpcore.verify.detect on the profiles the batch decoded. A filled box over 12 % of the frame is
    tampered while its MPEG-7 signature still matches (the reason the detector exists); honest re-encodes
    (another CRF, another codec) are clean. The rows equal detect_tampering's own verdicts on the files."""
    from lpcore.verify import detect_tampering

    assert batch.tamper_detector() is detect_tampering
    pairs = [(clips.ref, clips.same), (clips.ref, clips.same2), (clips.ref, clips.boxed),
             (Path(clips.ref).read_bytes(), Path(clips.boxed).read_bytes())]
    rows = run_batch(pairs, workers=2)
    assert [r["tampered"] for r in rows] == [False, False, True, True]
    assert [batch.clean(r) for r in rows] == [True, True, False, False]
    assert rows[2]["match_code"] == verify_segment(clips.ref, clips.boxed).code > 0   # MPEG-7 alone accepts it
    for row, (ref, cand) in zip(rows[:3], pairs):
        report = detect_tampering(ref, cand)
        assert row["error"] is None and row["tampered"] == report.tampered
        assert row["score"] == pytest.approx(report.score)
    assert rows[2]["score"] >= 1.0 > rows[0]["score"] and rows[3]["score"] == pytest.approx(rows[2]["score"])


def test_without_detect_the_tamper_keys_are_absent(clips, monkeypatch):
    monkeypatch.setitem(sys.modules, "lpcore.verify.detect", None)   # import fails as if not installed
    with pytest.raises(ImportError):
        import lpcore.verify.detect  # noqa: F401
    (row,) = run_batch([(clips.ref, clips.same)])
    assert list(row) == _keys(False)


# ------------------------------------------------------------------------------------------ sinks

@pytest.mark.parametrize("suffix", [".jsonl", ".sqlite"])
def test_sink_round_trip_and_refuses_to_overwrite(tmp_path, suffix):
    path = tmp_path / f"out{suffix}"
    a = dict(reference="r", candidate="c1", match_code=2, frames=25, seconds=0.5, error=None)
    b = dict(reference="r", candidate="c2", match_code=None, tampered=None, score=None, frames=None, seconds=0.1,
             error="candidate: no such file 'c2'")
    c = dict(reference="r", candidate="c3", match_code=0, tampered=True, score=3.5, frames=25, seconds=0.2,
             error=None)
    with open_sink(path) as sink:
        assert sink.write(a) and sink.write(b) and sink.write(c)
        assert not sink.write(dict(a, match_code=0))                 # a pair is never stored twice
    with pytest.raises(BatchError, match="--resume"):
        open_sink(path)
    with open_sink(path, resume=True) as sink:
        assert sink.previous == {("r", "c1"): a, ("r", "c2"): b, ("r", "c3"): c}


def test_sink_suffix_and_bad_files(tmp_path):
    with pytest.raises(BatchError, match="suffix"):
        open_sink(tmp_path / "out.csv")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"reference": "r", "candidate": "c"}\nnot json\n{"reference": "r", "candidate": "d"}\n')
    with pytest.raises(BatchError, match="line 2"):
        open_sink(bad, resume=True)
    bad.write_text('{"ref": "r"}\n')
    with pytest.raises(BatchError, match="not a verification result row"):
        open_sink(bad, resume=True)
    notdb = tmp_path / "x.sqlite"
    notdb.write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(BatchError, match="SQLite"):
        open_sink(notdb, resume=True)


def test_jsonl_cut_last_line_is_recomputed_and_the_file_repaired(tmp_path):
    path = tmp_path / "out.jsonl"
    whole = '{"reference":"r","candidate":"c1","match_code":2,"frames":1,"seconds":0.1,"error":null}\n'
    path.write_text(whole + '{"reference":"r","candidate":"c2","match_c')        # killed mid-write
    with open_sink(path, resume=True) as sink:
        assert list(sink.previous) == [("r", "c1")]
        sink.write(dict(reference="r", candidate="c2", match_code=0, frames=1, seconds=0.1, error=None))
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and [json.loads(x)["candidate"] for x in lines] == ["c1", "c2"]


def test_jsonl_one_writer_at_a_time(tmp_path):
    with JsonlSink(tmp_path / "out.jsonl"):
        with pytest.raises(BatchError, match="another batch"):
            JsonlSink(tmp_path / "out.jsonl", resume=True)


def test_sqlite_sink_keeps_the_tamper_key_presence(tmp_path):
    with SqliteSink(tmp_path / "o.db") as sink:
        sink.write(dict(reference="r", candidate="c", match_code=2, frames=3, seconds=0.1, error=None))
    with SqliteSink(tmp_path / "o.db", resume=True) as sink:
        assert list(sink.previous[("r", "c")]) == _keys(False)


# ------------------------------------------------------------------------------------------ resume

def test_resume_after_an_interrupted_run_computes_only_the_rest(clips, tmp_path, monkeypatch):
    out = tmp_path / "results.jsonl"
    pairs = clips.pairs()
    manifest = write_manifest(tmp_path / "m.csv", pairs)
    first = []
    gen = iter_batch(pairs, workers=1, out=out)
    for row in gen:                          # interrupted after two pairs
        first.append(row)
        if len(first) == 2:
            break
    gen.close()
    assert len(_read_jsonl(out)) == 2
    computed = []

    def counting(reference, candidate, **kw):
        computed.append((reference, candidate))
        return verify_pair(reference, candidate, **kw)

    monkeypatch.setattr(batch, "verify_pair", counting)
    assert main([str(manifest), "--out", str(out), "--resume", "-q"]) == 1          # a mismatch and errors
    done = {(r["reference"], r["candidate"]) for r in first}
    assert len(computed) == len(pairs) - 2 and not done & set(computed)
    rows = _read_jsonl(out)
    assert sorted((r["reference"], r["candidate"]) for r in rows) == sorted(pairs)   # each pair exactly once
    computed.clear()
    assert main([str(manifest), "--out", str(out), "--resume", "-q"]) == 1
    assert computed == [] and len(_read_jsonl(out)) == len(pairs)


def test_resume_into_sqlite(clips, tmp_path):
    out = tmp_path / "results.sqlite"
    pairs = clips.clean_pairs()
    run_batch(pairs[:2], out=out)
    rows = run_batch(pairs, out=out, resume=True, _task=lambda r, c, **kw: pytest.fail("recomputed")
                     if (r, c) in pairs[:2] else verify_pair(r, c, **kw))
    assert [(r["reference"], r["candidate"]) for r in rows] == pairs and all(map(batch.clean, rows))


# --------------------------------------------------------------------------------------------- CLI

def test_cli_exit_codes(clips, tmp_path, capsys):
    clean = write_manifest(tmp_path / "clean.csv", clips.clean_pairs())
    assert main([str(clean), "--out", str(tmp_path / "a.jsonl")]) == 0
    assert "4 pairs: 4 clean" in capsys.readouterr().err
    rows = _read_jsonl(tmp_path / "a.jsonl")
    assert len(rows) == 4 and all(r["match_code"] == 2 for r in rows)
    mismatch = write_manifest(tmp_path / "mismatch.csv", [(clips.ref, clips.same), (clips.ref, clips.other)])
    assert main([str(mismatch), "--out", str(tmp_path / "b.sqlite"), "--workers", "1"]) == 1
    # other content: no signature match, and (with the detector) tampered as well
    tampered = int(batch.tamper_detector() is not None)
    assert f"2 pairs: 1 clean, 1 mismatched, {tampered} tampered, 0 errors" in capsys.readouterr().err
    error = write_manifest(tmp_path / "error.csv", [(clips.ref, clips.same), (clips.ref, clips.missing)])
    assert main([str(error), "--out", str(tmp_path / "c.jsonl"), "-q"]) == 1
    assert capsys.readouterr().err == ""


def test_cli_manifest_columns_and_relative_paths(clips, tmp_path):
    m = tmp_path / "m.csv"
    m.write_text(f"id,Candidate,reference\n1,{Path(clips.same).name},{clips.ref}\n\n2,{clips.same2},{clips.ref}\n")
    # relative paths are taken from the manifest's folder
    rel = clips.dir / "rel.csv"
    rel.write_text("reference,candidate\nref.mp4,same.mp4\n")
    assert read_manifest(rel) == [(clips.ref, clips.same)]
    assert read_manifest(m)[1] == (clips.ref, clips.same2)
    url = tmp_path / "url.csv"
    url.write_text("reference,candidate\nhttps://example.invalid/a.mp4,/abs/b.mp4\n")
    assert read_manifest(url) == [("https://example.invalid/a.mp4", "/abs/b.mp4")]


@pytest.mark.parametrize("content, message", [
    ("ref,cand\na,b\n", "header"),
    ("", "header"),
    ("reference,candidate\na\n", "line 2: 1 column"),
    ("reference,candidate\na, \n", "line 2: empty candidate"),
    (b"reference,candidate\n\xff\xfe,b\n", "UTF-8"),
])
def test_cli_bad_manifest_is_a_run_error(tmp_path, capsys, content, message):
    m = tmp_path / "m.csv"
    m.write_bytes(content if isinstance(content, bytes) else content.encode())
    out = tmp_path / "o.jsonl"
    assert main([str(m), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lpcore verify batch: ") and message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_cli_run_errors(clips, tmp_path, capsys):
    m = write_manifest(tmp_path / "m.csv", clips.clean_pairs()[:1])
    assert main([str(tmp_path / "absent.csv"), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert "cannot read manifest" in capsys.readouterr().err
    assert main([str(m), "--out", str(tmp_path / "o.txt")]) == 2
    assert "suffix" in capsys.readouterr().err
    assert main([str(m), "--out", str(tmp_path / "o.jsonl"), "-q"]) == 0
    assert main([str(m), "--out", str(tmp_path / "o.jsonl")]) == 2          # exists, no --resume
    assert "--resume" in capsys.readouterr().err
    assert main([str(m), "--out", str(tmp_path / "p.jsonl"), "--workers", "0"]) == 2   # argparse usage error
    assert main([str(m)]) == 2                                                  # --out is required
    capsys.readouterr()
    assert main([str(m), "--out", str(tmp_path / "q.jsonl"), "--device", "cuda"]) == 2   # no GPU here
    assert "CuPy" in capsys.readouterr().err


def test_python_dash_m_runs_the_cli(clips, tmp_path):
    m = write_manifest(tmp_path / "m.csv", [(clips.ref, clips.same)])
    r = subprocess.run([sys.executable, "-m", "lpcore.verify.batch_cli", str(m), "--out", str(tmp_path / "o.jsonl")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert _read_jsonl(tmp_path / "o.jsonl")[0]["match_code"] == 2


_NO_RAY = """
import sys
sys.modules["ray"] = None            # `import ray` now raises ImportError, as when the extra is not installed
from lpcore.verify.batch_cli import main
code = main(sys.argv[2:])
assert "ray" not in sys.modules or sys.modules["ray"] is None
sys.exit(code)
"""


def test_without_ray_local_works_and_ray_names_the_extra(clips, tmp_path):
    m = write_manifest(tmp_path / "m.csv", [(clips.ref, clips.same)])

    def run(*args):
        return subprocess.run([sys.executable, "-c", _NO_RAY, "-", str(m), *args], capture_output=True, text=True,
                              timeout=120)

    r = run("--out", str(tmp_path / "local.jsonl"), "-q")
    assert r.returncode == 0, r.stderr
    assert _read_jsonl(tmp_path / "local.jsonl")[0]["match_code"] == 2
    r = run("--out", str(tmp_path / "ray.jsonl"), "--ray", "local")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [
        "lpcore verify batch: the Ray executor needs the 'ray' extra: pip install 'lpcore[ray]'"]
    assert not (tmp_path / "ray.jsonl").exists()


# --------------------------------------------------------------------------------- Ray's plan (no Ray)

@pytest.mark.parametrize("resources, device, workers, plan", [
    ({"CPU": 2.0}, "auto", None, Plan("tasks", 2, "cpu")),
    ({"CPU": 16.0}, "auto", 3, Plan("tasks", 3, "cpu")),
    ({"CPU": 8.0, "GPU": 2.0}, "auto", None, Plan("actors", 2, "cuda", 1.0)),
    ({"CPU": 8.0, "GPU": 4.0}, "cuda", 1, Plan("actors", 1, "cuda", 1.0)),
    ({"CPU": 8.0, "GPU": 2.0}, "cpu", None, Plan("tasks", 8, "cpu")),
    ({"CPU": 8.0, "GPU": 0.5}, "auto", None, Plan("tasks", 8, "cpu")),      # no whole GPU for an actor
    ({}, "auto", None, Plan("tasks", 1, "cpu")),
])
def test_plan_ray_chooses_gpu_actors_only_where_there_are_gpus(resources, device, workers, plan):
    assert plan_ray(resources, device, workers) == plan


def test_plan_ray_cuda_without_gpus():
    with pytest.raises(DeviceUnavailable, match="no GPU"):
        plan_ray({"CPU": 4.0}, "cuda")
    with pytest.raises(ValueError):
        plan_ray({"CPU": 4.0}, "tpu")


def test_urls_are_opened_by_the_decoder(clips):
    rows = run_batch([(f"file://{clips.ref}", f"file://{clips.same}"), (clips.ref, f"file://{clips.missing}")])
    assert rows[0]["match_code"] == 2 and rows[0]["reference"] == f"file://{clips.ref}"
    assert rows[1]["match_code"] is None and rows[1]["error"].startswith("candidate: cannot open")


_SLOW_CLI = """
import sys, time
from lpcore.verify import batch
real = batch.verify_pair
def slow(reference, candidate, **kw):
    time.sleep(0.3)
    return real(reference, candidate, **kw)
batch.verify_pair = slow
from lpcore.verify.batch_cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("suffix", [".jsonl", ".sqlite"])
def test_sigkill_mid_batch_then_resume(clips, tmp_path, suffix):
    """The CLI killed with SIGKILL while it works: what it wrote survives and --resume completes the batch, each
    pair once."""
    import signal
    import time

    pairs = [(clips.ref, clips.same)] + [(clips.ref, f"{clips.missing}.{i}") for i in range(30)]
    manifest = write_manifest(tmp_path / "m.csv", pairs)
    out = tmp_path / f"out{suffix}"
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_CLI, str(manifest), "--out", str(out), "--workers", "1",
                             "-q"])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_stored(out)) < 3:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    before = _stored(out)
    assert 3 <= len(before) < len(pairs)
    assert main([str(manifest), "--out", str(out), "--resume", "-q"]) == 1           # missing inputs: not clean
    after = _stored(out)
    assert sorted(after) == sorted(pairs) and set(before) <= set(after)


def _stored(out: Path) -> list[tuple[str, str]]:
    """The pairs stored in an output so far: whole JSON lines (a cut last line does not count), or the SQLite
    rows (read through the sink, as resume reads them; SQLite lets a reader in beside the writer)."""
    if not out.exists():
        return []
    if out.suffix == ".jsonl":
        data = out.read_bytes()
        return [tuple(json.loads(x)[k] for k in ("reference", "candidate"))
                for x in data[:data.rfind(b"\n") + 1].splitlines()]
    with open_sink(out, resume=True) as sink:
        return list(sink.previous)


def test_a_reused_reference_is_signed_once_and_a_changed_file_again(clips, tmp_path, monkeypatch):
    import shutil

    import lpcore.vsig as vsig

    signed = []
    name = "compute_profile_file" if batch.tamper_detector() is not None else "compute_file"  # the one decode
    real = getattr(vsig, name)
    monkeypatch.setattr(vsig, name, lambda path, **kw: signed.append(path) or real(path, **kw))
    ref = tmp_path / "ref.mp4"
    shutil.copy(clips.ref, ref)
    rows = run_batch([(str(ref), clips.same), (str(ref), clips.same2), (str(ref), clips.other)], workers=1)
    assert [r["match_code"] for r in rows] == [2, 2, 0] and signed.count(str(ref)) == 1
    shutil.copy(clips.other, ref)                    # same path, new content: signed again
    (row,) = run_batch([(str(ref), clips.other)])
    assert row["match_code"] == 2 and signed.count(str(ref)) == 2


def test_an_unreachable_ray_cluster_is_a_run_error(clips, tmp_path, monkeypatch, capsys):
    class RayError(Exception):
        pass

    calls = []

    def init(**kw):
        calls.append(kw)
        raise ConnectionError("Could not find any running Ray instance")

    fake = types.ModuleType("ray")
    fake.is_initialized = lambda: False
    fake.init = init
    fake.exceptions = types.SimpleNamespace(RayError=RayError, GetTimeoutError=RayError, RayTaskError=RayError)
    monkeypatch.setitem(sys.modules, "ray", fake)
    m = write_manifest(tmp_path / "m.csv", [(clips.ref, clips.same)])
    assert main([str(m), "--out", str(tmp_path / "o.jsonl"), "--ray", "auto"]) == 2
    err = capsys.readouterr().err
    assert err == ("lpcore verify batch: cannot join the Ray cluster at 'auto': Could not find any running Ray "
                   "instance\n")
    assert calls[0]["address"] == "auto" and "num_cpus" not in calls[0]
    calls.clear()
    with pytest.raises(BatchError, match="start a local Ray"):
        run_batch([(clips.ref, clips.same)], executor="ray", workers=3)
    assert calls[0]["address"] == "local" and calls[0]["num_cpus"] == 3 and calls[0]["include_dashboard"] is False


def test_ray_ships_each_distinct_bytes_input_once(monkeypatch):
    puts = []
    fake = types.SimpleNamespace(put=lambda x: puts.append(x) or f"ref{len(puts)}")
    monkeypatch.setattr(batch, "SHIP_CACHE", 2)
    ship = batch._Shipper(fake)
    assert ship("a.mp4", "a.mp4") == "a.mp4"                         # paths travel as they are
    assert [ship("sha256:1", b"one"), ship("sha256:1", b"one"), ship("sha256:2", b"two")] == ["ref1", "ref1", "ref2"]
    ship("sha256:3", b"three")                                       # evicts the least recently used (1)
    assert ship("sha256:2", b"two") == "ref2" and ship("sha256:1", b"one") == "ref4" and len(puts) == 4


def test_cuda_rows_equal_cpu_rows_with_the_emulated_kernels(clips, monkeypatch):
    """device="cuda" through the profile kernels (host emulation of the CUDA code, tests/vsig/cuda_emu): the same
    profiles, so the same match codes, verdicts and scores as the CPU."""
    from lpcore.vsig import cuda as vsig_cuda

    from tests.vsig.cuda_emu import emu, fake_cupy

    if emu.CXX is None:
        pytest.skip("needs a C++ compiler for the host emulation of the kernels")
    pairs = [(clips.ref, clips.same), (clips.ref, clips.boxed)]
    cpu = run_batch(pairs, device="cpu")
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy)
    monkeypatch.setattr(fake_cupy._Runtime, "device_count", 1)
    caches = (vsig_cuda._device_count, vsig_cuda.available, vsig_cuda._profile_kernels)
    for c in caches:
        c.cache_clear()
    monkeypatch.setattr(batch, "_DECODED", batch._DecodeCache())   # decode again, on the "device"
    fake_cupy.copies.update(h2d=0, d2h=0)
    try:
        gpu = run_batch(pairs, device="cuda", workers=1)
    finally:
        for c in caches:
            c.cache_clear()
    assert fake_cupy.copies["h2d"] > 0                               # the frames went to the "device"
    assert without_seconds(gpu) == without_seconds(cpu) and [r["tampered"] for r in gpu] == [False, True]


def test_an_interrupted_ray_task_gets_a_new_worker_not_an_interrupt():
    """Stopping early cancels in-flight tasks with force (the worker process is replaced): an interrupt landing in
    a cold worker's numba import left that worker failing every later task. Actor tasks fall back to a plain
    cancel (their actors are killed at the end of the batch)."""
    calls = []

    class FakeRay:
        def cancel(self, obj, force=False):
            calls.append((obj, force))
            if force and obj == "actor-task":
                raise ValueError("Force cancel is not supported for actor tasks")

    batch._cancel(FakeRay(), "task")
    batch._cancel(FakeRay(), "actor-task")
    assert calls == [("task", True), ("actor-task", True), ("actor-task", False)]
