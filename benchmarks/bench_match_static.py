"""``vsig.compare`` on static content (one frame held), where every frame pair ties, vs FFmpeg's own lookup.

This is the matcher's worst case (issue 15 item 7): FFmpeg's Hough voting is O(90^4) per coarse pair there.
Workload: one 160x96 frame held for 10 s at 30 fps (300 frames), fed twice to one FFmpeg 5.1
``signature=nb_inputs=2`` graph; FFmpeg's lookup time is the median child CPU time of ``detectmode=full`` minus
that of ``detectmode=off`` (same decoding and signatures), as in ``bench_match.py``. lpcore compares the very
``.bin`` files FFmpeg wrote; the "ffmpeg" preset's verdict equals FFmpeg's (checked).

Run: ``python3 -m pytest benchmarks/bench_match_static.py --benchmark-only -s`` (ffmpeg must be installed).
"""

from __future__ import annotations

import statistics

import pytest

from lpcore.vsig import VideoSignature, compare

from benchmarks.bench_match import FFMPEG, _X264, _child_cpu, _ffmpeg, _graph_cmd

pytestmark = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg not installed")
REPEATS = 3


@pytest.fixture(scope="module")
def still(tmp_path_factory):
    d = tmp_path_factory.mktemp("bench_static")
    _ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=160x96:r=30:d=1", "-vf",
             "trim=end_frame=1,loop=loop=299:size=1:start=0,setpts=N/(30*TB)", *_X264, "-crf", "18", "s.mp4"], d)
    (d / "full").mkdir()
    (d / "off").mkdir()
    full, off, log = [], [], ""
    for _ in range(REPEATS):
        cpu, _, log = _child_cpu(_graph_cmd(["s.mp4", "s.mp4"], "full", "full"), d)
        full.append(cpu)
        cpu, _, _ = _child_cpu(_graph_cmd(["s.mp4", "s.mp4"], "off", "off"), d)
        off.append(cpu)
    sigs = [VideoSignature.from_binary((d / "full" / f"sig{i}.bin").read_bytes()) for i in range(2)]
    return {"sigs": sigs, "log": log, "ffmpeg": statistics.median(full) - statistics.median(off)}


@pytest.mark.parametrize("preset", ["ffmpeg", "livepeer", "exact"])
def test_bench_static_compare_vs_ffmpeg_lookup(benchmark, still, preset):
    a, b = still["sigs"]
    if preset == "ffmpeg":
        assert bool(compare(a, b, preset="ffmpeg")) == ("frames matching" in still["log"])
    benchmark.pedantic(lambda: compare(a, b, preset=preset), rounds=5, iterations=1, warmup_rounds=1)
    ours, theirs = benchmark.stats.stats.median, still["ffmpeg"]
    benchmark.extra_info.update(lpcore_s=round(ours, 4), ffmpeg_lookup_s=round(theirs, 3), ratio=round(theirs / ours, 1))
    print(f"\n[{preset}] static 300 frames: lpcore {ours * 1e3:.1f} ms, FFmpeg lookup {theirs:.2f} s, "
          f"ratio {theirs / ours:.0f}x")


@pytest.mark.parametrize("content", ["flat", "gradient"])
@pytest.mark.parametrize("preset", ["livepeer", "exact"])
def test_bench_low_information_900_frames(benchmark, content, preset):
    """30 s at 30 fps of flat gray or a static gradient (confidence 0 everywhere) against itself: no match is
    ever accepted, so every coarse pair is searched. FFmpeg itself crashes here (bug B2), so the peer is the
    previous lpcore matcher, timed on the same machine (benchmarks/README.md)."""
    import numpy as np

    from lpcore import vsig

    if content == "flat":
        sig = vsig.compute(np.full((900, 32, 32), 128, np.uint8))
    else:
        sig = vsig.compute(np.broadcast_to(np.tile(np.arange(64, dtype=np.uint8) * 4, (64, 1)), (900, 64, 64)))
    m = benchmark.pedantic(lambda: compare(sig, sig, preset=preset), rounds=3, iterations=1, warmup_rounds=1)
    assert m.code == 0 and m.low_information
    print(f"\n[{preset}] {content} 900 frames: {benchmark.stats.stats.median * 1e3:.0f} ms")
