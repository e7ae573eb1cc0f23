"""``vsig.compare`` throughput vs FFmpeg's own lookup (``signature=detectmode=full``) on the same signatures.

Workload: 2-second 60 fps segments (120 frames, 320x180): a reference, a low-quality re-encode of it and a
different clip, each fed 4 times to one FFmpeg ``signature=nb_inputs=12`` graph, so FFmpeg runs its lookup
on all 66 input pairs (identical, re-encoded and different-content pairs mixed; FFmpeg 5.1 compares every
pair i < j).

FFmpeg's lookup cost is isolated by an honest subtraction inside one command line: the same graph is run
with ``detectmode=full`` and with ``detectmode=off`` (identical decoding and signature computation; only
the lookup differs), interleaved, and the difference of the median child CPU times (user + sys, one
decoder thread per input, one filter thread) is divided by the 66 lookups. lpcore then compares the very
``.bin`` signatures that FFmpeg wrote, for the same 66 pairs, with the "ffmpeg" preset (identical
outcomes, checked below) and with "livepeer" and "exact".

Run: ``python3 -m pytest benchmarks/bench_match.py --benchmark-only`` (ffmpeg must be installed).
"""

from __future__ import annotations

import itertools
import resource
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import pytest

from lpcore.vsig import VideoSignature, compare

FFMPEG = shutil.which("ffmpeg")
pytestmark = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg not installed")

INPUTS = 12
REPEATS = 9
_X264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast"]


def _ffmpeg(args, cwd):
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], cwd=cwd, check=True)


def _graph_cmd(files, mode, out):
    cmd = [FFMPEG, "-hide_banner", "-nostdin"]
    for f in files:
        cmd += ["-threads", "1", "-i", f]
    labels = "".join(f"[{i}:v]" for i in range(len(files)))
    graph = f"{labels}signature=nb_inputs={len(files)}:detectmode={mode}:filename={out}/sig%d.bin"
    return cmd + ["-filter_threads", "1", "-filter_complex", graph, "-f", "null", "-"]


def _child_cpu(cmd, cwd) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, r.stderr


@pytest.fixture(scope="module")
def workload(tmp_path_factory):
    d = tmp_path_factory.mktemp("bench_match")
    _ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=320x180:r=60:d=2", *_X264, "-crf", "18", "a.mp4"], d)
    _ffmpeg(["-i", "a.mp4", *_X264, "-crf", "40", "b.mp4"], d)
    _ffmpeg(["-f", "lavfi", "-i", "mandelbrot=s=320x180:r=60", "-t", "2", *_X264, "-crf", "18", "c.mp4"], d)
    files = [("a.mp4", "b.mp4", "c.mp4")[i % 3] for i in range(INPUTS)]
    (d / "full").mkdir()
    (d / "off").mkdir()
    full, off, log = [], [], ""
    for _ in range(REPEATS):
        cpu, _, log = _child_cpu(_graph_cmd(files, "full", "full"), d)
        full.append(cpu)
        cpu, _, _ = _child_cpu(_graph_cmd(files, "off", "off"), d)
        off.append(cpu)
    sigs = [VideoSignature.from_binary((d / "full" / f"sig{i}.bin").read_bytes()) for i in range(INPUTS)]
    pairs = list(itertools.combinations(range(INPUTS), 2))
    ffmpeg_per_pair = (statistics.median(full) - statistics.median(off)) / len(pairs)
    return {"sigs": sigs, "pairs": pairs, "ffmpeg_per_pair": ffmpeg_per_pair, "log": log,
            "full": statistics.median(full), "off": statistics.median(off)}


def test_ffmpeg_preset_reproduces_the_timed_ffmpeg_run(workload):
    """The work being compared is the same: FFmpeg's 66 verdicts equal the "ffmpeg" preset's."""
    log = workload["log"]
    sigs = workload["sigs"]
    matched = sum(1 for i, j in workload["pairs"] if compare(sigs[i], sigs[j], preset="ffmpeg"))
    assert matched == log.count("frames matching")
    assert len(workload["pairs"]) - matched == log.count("no matching of video")


@pytest.mark.parametrize("preset", ["ffmpeg", "livepeer", "exact"])
def test_bench_compare_vs_ffmpeg_lookup(benchmark, workload, preset):
    sigs, pairs = workload["sigs"], workload["pairs"]

    def run_all():
        for i, j in pairs:
            compare(sigs[i], sigs[j], preset=preset)

    benchmark.pedantic(run_all, rounds=15, iterations=1, warmup_rounds=1)
    ours = benchmark.stats.stats.median / len(pairs)
    theirs = workload["ffmpeg_per_pair"]
    benchmark.extra_info.update(
        per_pair_us=round(ours * 1e6, 1), ffmpeg_per_pair_us=round(theirs * 1e6, 1), ratio=round(theirs / ours, 1),
        ffmpeg_full_cpu_s=round(workload["full"], 3), ffmpeg_off_cpu_s=round(workload["off"], 3))
    print(f"\n[{preset}] lpcore compare {ours * 1e6:.0f} us/pair; FFmpeg lookup {theirs * 1e6:.0f} us/pair "
          f"(median CPU full {workload['full']:.3f} s - off {workload['off']:.3f} s over {len(pairs)} pairs); "
          f"ratio {theirs / ours:.1f}x")
