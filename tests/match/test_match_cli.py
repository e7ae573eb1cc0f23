"""``lpcore vsig compare`` and compare()'s input handling."""

from __future__ import annotations


import numpy as np
import pytest

import lpcore.cli
from lpcore import SignatureFormatError
from lpcore.vsig import Match, VideoSignature, compare
from lpcore.vsig.match import effective_th_it

from tests._shared import vector_path

VEC = vector_path("lpms")


@pytest.fixture
def cli(monkeypatch):
    return lpcore.cli.main


def test_cli_compare_exit_codes(cli, capsys):
    sw1, nv1, sw2 = (str(VEC / f"sign_{n}.bin") for n in ("sw1", "nv1", "sw2"))
    assert cli(["vsig", "compare", sw1, nv1]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 ") and "whole video matching" in out
    assert cli(["vsig", "compare", sw1, sw2, "--preset", "exact"]) == 1
    assert capsys.readouterr().out.startswith("0 no matching")
    assert cli(["vsig", "compare", sw1, nv1, "--preset", "ffmpeg"]) == 1  # B1: upstream misses 37-frame clips
    assert cli(["vsig", "compare", sw1, nv1, "--preset", "livepeer", "--th_xh", "0", "--mode", "fast"]) == 1
    assert cli(["vsig", "compare", sw1, "/nonexistent.bin"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_cli_compare_videos(cli, capsys, clips):
    assert cli(["vsig", "compare", str(clips / "ref.mp4"), str(clips / "lowq.mp4"), "--preset", "exact"]) == 0
    assert cli(["vsig", "compare", str(clips / "ref.mp4"), str(clips / "different.mp4")]) == 1


def test_inputs_frames_and_signatures_agree(clips):
    av = pytest.importorskip("av")
    with av.open(str(clips / "ref.mp4")) as c:
        frames = np.stack([f.to_ndarray(format="gray") for f in c.decode(video=0)])
    from_frames = compare(frames, frames[10:], preset="exact")
    from_sigs = compare(VideoSignature.from_binary((VEC / "sign_sw1.bin").read_bytes()),
                        (VEC / "sign_nv1.bin").read_bytes(), preset="exact")
    assert from_frames.code == 2 and (from_frames.start_a - from_frames.start_b) == 10
    assert from_sigs.code == 2


def test_match_object():
    m = compare((VEC / "sign_sw2.bin").read_bytes(), (VEC / "sign_nv2.bin").read_bytes())
    assert isinstance(m, Match) and m and m.whole and m.code == 2 and m.framerate_ratio == 1.0
    assert m.time_a == pytest.approx(m.start_a and VideoSignature.from_binary(
        (VEC / "sign_sw2.bin").read_bytes()).pts[m.start_a] / 24464)
    none = compare((VEC / "sign_sw2.bin").read_bytes(), (VEC / "sign_sw1.bin").read_bytes())
    assert not none and none.code == 0 and none.start_a is None and "no matching" in none.describe()


def test_bad_arguments(tmp_path):
    sw1 = (VEC / "sign_sw1.bin").read_bytes()
    with pytest.raises(ValueError, match="preset"):
        compare(sw1, sw1, preset="ffmpeg70")
    with pytest.raises(TypeError, match="unknown threshold"):
        compare(sw1, sw1, th_x=3)
    with pytest.raises(ValueError, match="th_xh"):
        compare(sw1, sw1, th_xh=1.5)
    with pytest.raises(ValueError, match="mode"):
        compare(sw1, sw1, mode="slow")
    with pytest.raises(TypeError, match="b must be"):
        compare(sw1, 42)
    with pytest.raises(SignatureFormatError):
        compare(b"\x00" * 10, sw1)
    with pytest.raises(SignatureFormatError, match="XML"):
        compare(sw1, _xml_path(tmp_path), preset="exact")


def _xml_path(tmp_path):
    path = tmp_path / "sw1.xml"
    path.write_text(VideoSignature.from_binary((VEC / "sign_sw1.bin").read_bytes()).to_xml())
    return str(path)


def test_effective_th_it_matches_spec():
    # spec §5.1: 0.5, 0.25, 1.0 and 0 give 0; 0.1 and 0.9 negative; 0.3 and 0.7 huge positive
    assert [effective_th_it(x) for x in (0.5, 0.25, 1.0, 0.0)] == [0, 0, 0, 0]
    assert effective_th_it(0.1) < 0 and effective_th_it(0.9) < 0
    assert effective_th_it(0.3) > 10**8 and effective_th_it(0.7) > 10**8


@pytest.mark.parametrize("preset", ["livepeer", "exact", "ffmpeg"])
def test_compare_many_equals_compare(preset):
    from lpcore.vsig import compare_many

    data = {n: (VEC / f"sign_{n}.bin").read_bytes() for n in ("sw1", "nv1", "sw2", "nv2")}
    pairs = [(data[x], data[y]) for x in data for y in data]
    many = compare_many(pairs, preset=preset, threads=2)
    assert many == [compare(a, b, preset=preset) for a, b in pairs]
    assert compare_many([], preset=preset) == []
    with pytest.raises(ValueError, match="threads"):
        compare_many(pairs, threads=0)
