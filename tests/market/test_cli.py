"""`lpcore market simulate`."""

from __future__ import annotations

import pytest

from lpcore.cli import main


def test_simulate_prints_policies_side_by_side(capsys, tmp_path):
    out = tmp_path / "curves.png"
    assert main(["market", "simulate", "--segments", "120", "--orchestrators", "12", "--seed", "4",
                 "--plot", str(out)]) == 0
    text = capsys.readouterr().out
    for p in ("sdk", "go-livepeer", "lpcore"):
        assert f"\n{p} " in text
    assert "gwei per good segment" in text and out.stat().st_size > 1000


def test_simulate_bad_arguments(capsys, tmp_path):
    assert main(["market", "simulate", "--policies", "sdk,nope", "--segments", "10"]) == 2
    assert "unknown policy nope" in capsys.readouterr().err
    assert main(["market", "simulate", "--segments", "10", "--plot", str(tmp_path / "no" / "x.png")]) == 2
    for bad in (["--segments", "-1"], ["--cheater-fraction", "2"], ["--orchestrators", "x"]):
        with pytest.raises(SystemExit) as e:
            main(["market", "simulate", *bad])
        assert e.value.code == 2


def test_simulate_one_policy(capsys):
    assert main(["market", "simulate", "--policies", "lpcore", "--segments", "50", "--orchestrators", "8"]) == 0
    text = capsys.readouterr().out
    assert "lpcore" in text and "\nsdk" not in text
