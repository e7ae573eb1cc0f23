"""The "ffmpeg71" preset against a real FFmpeg >= 7.1 lookup (the static FFmpeg that imageio-ffmpeg ships).

FFmpeg >= 7.1's multi-input CLI sometimes stops before exporting or looking up (spec §7 B11), so each run is
retried until both signature files and a verdict line exist. Thresholds th_d/th_dc are varied because with
the defaults the Q16 Jaccard rejects every coarse pair of these clips (no matching everywhere, spec §7 B1).
"""

from __future__ import annotations

import re
import subprocess

import pytest
from tests.match.oracle import _MATCH

from lpcore.vsig import VideoSignature, compare

iio = pytest.importorskip("imageio_ffmpeg", reason="imageio-ffmpeg (test extra) ships an FFmpeg >= 7.1")

CASES = [  # (a, b, th_d, th_dc)
    ("ref", "ref", 9000, 60000), ("ref", "lowq", 9000, 60000), ("ref", "shifted", 20000, 100000),
    ("shifted", "ref", 20000, 100000), ("shifted", "ref", 30000, 150000), ("ref", "lowq", 45000, 200000),
    ("partial", "ref", 30000, 150000), ("ref", "different", 65536, 400000), ("ref", "blur", 30000, 150000),
]


@pytest.fixture(scope="module")
def ffmpeg71():
    exe = iio.get_ffmpeg_exe()
    version = re.match(r"n?(\d+)\.(\d+)", iio.get_ffmpeg_version() or "")
    if not version or (int(version.group(1)), int(version.group(2))) < (7, 1):
        pytest.skip(f"imageio-ffmpeg's FFmpeg is older than 7.1: {iio.get_ffmpeg_version()}")
    filters = subprocess.run([exe, "-hide_banner", "-filters"], capture_output=True, text=True).stdout
    if " signature " not in filters:
        pytest.skip("imageio-ffmpeg's FFmpeg lacks the signature filter")
    return exe


def _verdict(exe, clips, a, b, th_d, th_dc, out):
    graph = (f"[0:v][1:v]signature=nb_inputs=2:detectmode=full:th_d={th_d}:th_dc={th_dc}"
             f":filename={out}/sig%d.bin")
    for _ in range(8):
        for f in out.glob("*.bin"):
            f.unlink()
        r = subprocess.run([exe, "-hide_banner", "-nostdin", "-filter_threads", "1", "-i", f"{a}.mp4", "-i",
                            f"{b}.mp4", "-filter_complex", graph, "-f", "null", "-"], cwd=clips,
                           capture_output=True, text=True)
        log = r.stderr
        done = (out / "sig0.bin").exists() and (out / "sig1.bin").exists()
        if r.returncode == 0 and done and ("no matching of video" in log or _MATCH.search(log)):
            return log
    pytest.skip(f"FFmpeg >= 7.1 never completed the two-input run of {a} vs {b} (B11): {log[-300:]}")


def test_ffmpeg71_preset_equals_ffmpeg71(ffmpeg71, clips, tmp_path):
    codes = set()
    for i, (a, b, th_d, th_dc) in enumerate(CASES):
        out = tmp_path / f"c{i}"
        out.mkdir()
        log = _verdict(ffmpeg71, clips, a, b, th_d, th_dc, out)
        sa = VideoSignature.from_binary((out / "sig0.bin").read_bytes())
        sb = VideoSignature.from_binary((out / "sig1.bin").read_bytes())
        m = compare(sa, sb, preset="ffmpeg71", th_d=th_d, th_dc=th_dc)
        hit = _MATCH.search(log)
        want = 0 if not hit else (2 if "whole video matching" in log else 1)
        codes.add(want)
        assert m.code == want, (a, b, th_d, log[-500:])
        if hit:
            assert (f"{m.time_a:f}", f"{m.time_b:f}", m.matchframes) == (hit.group(1), hit.group(2),
                                                                         int(hit.group(3)))
    assert codes == {0, 2}
