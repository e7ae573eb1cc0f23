"""Fixtures for the matcher tests: small FFmpeg-generated clips and FFmpeg's own two-input verdicts."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.match.oracle import _MATCH, CLIPS, FFMPEG, PAIRS
from tests._shared import ffmpeg


@dataclass
class Verdict:
    """FFmpeg's two-input verdict parsed from its INFO log."""

    code: int                 # 0 none, 1 partial, 2 whole; -1 FFmpeg crashed
    time_a: str | None
    time_b: str | None
    matchframes: int | None
    sig_a: Path
    sig_b: Path
    options: dict


def _options(extra: str) -> dict:
    out = {}
    for kv in filter(None, extra.split(":")):
        k, v = kv.split("=")
        out[k if k != "detectmode" else "mode"] = float(v) if k == "th_it" else (v if k == "detectmode" else int(v))
    return out


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> Path:
    if FFMPEG is None:
        pytest.skip("ffmpeg not installed")
    d = tmp_path_factory.mktemp("match_clips")
    for name, args in CLIPS.items():
        ffmpeg(*args, f"{name}.mp4", cwd=d)
    return d


@pytest.fixture(scope="session")
def verdicts(clips: Path) -> dict[tuple[str, str, str], Verdict]:
    out = {}
    for i, (a, b, extra) in enumerate(PAIRS):
        sub = clips / f"pair{i}"
        sub.mkdir()
        graph = f"[0:v][1:v]signature=nb_inputs=2:detectmode=full{extra}:filename={sub}/sig%d.bin"
        r = subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-i", f"{a}.mp4", "-i", f"{b}.mp4",
                            "-filter_complex", graph, "-f", "null", "-"], cwd=clips, capture_output=True, text=True)
        log = r.stderr
        m = _MATCH.search(log)
        if r.returncode < 0 or r.returncode > 128:
            code, ta, tb, mf = -1, None, None, None
        elif m:
            code = 2 if "whole video matching" in log else 1
            ta, tb, mf = m.group(1), m.group(2), int(m.group(3))
        else:
            assert r.returncode == 0 and "no matching of video 0 and 1" in log, log[-2000:]
            code, ta, tb, mf = 0, None, None, None
        out[(a, b, extra)] = Verdict(code, ta, tb, mf, sub / "sig0.bin", sub / "sig1.bin", _options(extra))
    return out
