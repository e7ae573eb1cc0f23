"""`lpcore demo` end to end on a short clip: the marketplace picks, pays, verifies, suspends and swaps; money is
conserved, every winner is redeemed, the cheater's tampering is caught and never used."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from lpcore import demo


def test_demo_small_run(tmp_path):
    out = io.StringIO()
    res = demo.run(segments=8, frames_per_segment=32, seed=3, workdir=tmp_path / "run", out=out)
    text = out.getvalue()
    assert res["conserved"] and res["unredeemed"] == 0
    assert res["paid"] == res["totals"]["transferred"] == res["totals"]["fees"]
    fv = {s.face_value for s in res["stats"].values() if s.tickets}
    assert len(fv) == 1 and res["paid"] == res["winners"] * fv.pop()
    st = res["stats"]
    assert sum(s.segments for s in st.values()) == 8
    assert st["pricey"].segments == 0 and st["pricey"].tickets == 0           # over the max price
    cheater = st["cheater"]
    assert cheater.tampered >= 1 and cheater.detected == cheater.tampered and cheater.tampered_used == 0
    assert cheater.suspensions >= 1 and res["swaps"] >= 1 and res["tampered_used"] == 0
    assert all(s.false_alarms == 0 for s in st.values())
    assert st["honest"].segments > st["slow"].segments
    assert "money conserved: yes" in text and " ETH" in text and "paid/EV:" in text and "z: " in text
    assert "winners redeemed so far" in text
    # every segment's output is accounted for: a used rendition, or the gateway's reference after a failed check
    failed = sum(s.mismatched for s in st.values())
    assert res["from_reference"] == failed >= 1 and sum(s.used for s in st.values()) + failed == 8
    assert f"segments: 8 = {8 - failed} orchestrator renditions used + {failed} from the gateway's own reference" \
        in text


@pytest.mark.parametrize("detector, caught", [("profile", True), ("mpeg7", False)])
def test_a_burned_in_logo_is_caught_by_the_profile_detector_only(detector, caught):
    """The cheater's logo (about 5 % of the frame) passes MPEG-7 signatures; the tamper-profile detector catches
    it, with no false alarm on the honest orchestrators' renditions."""
    out = io.StringIO()
    res = demo.run(segments=6, frames_per_segment=24, seed=3, detector=detector, cheat="logo", out=out)
    cheater = res["stats"]["cheater"]
    assert cheater.tampered >= 1 and all(s.false_alarms == 0 for s in res["stats"].values())
    if caught:
        assert cheater.detected == cheater.tampered and res["tampered_used"] == 0
        assert "tamper-profile detector" in out.getvalue()
    else:
        assert cheater.detected == 0 and res["tampered_used"] == cheater.tampered
    assert res["from_reference"] == cheater.detected


def test_demo_shows_wei_on_request(tmp_path):
    out = io.StringIO()
    demo.run(segments=2, frames_per_segment=16, seed=1, show_wei=True, out=out)
    text = out.getvalue()
    assert " wei" in text and " ETH" not in text


def test_demo_refuses_a_reused_directory(tmp_path):
    (tmp_path / "old.db").write_bytes(b"x")
    with pytest.raises(ValueError, match="not an empty directory"):
        demo.run(segments=1, workdir=tmp_path, out=io.StringIO())
    from lpcore.cli import main

    assert main(["demo", "--segments", "1", "--dir", str(tmp_path)]) == 2


def test_demo_cli_arguments(capsys):
    import argparse

    parser = argparse.ArgumentParser()
    demo.register(parser.add_subparsers(dest="command"))
    ns = parser.parse_args(["demo", "--segments", "2", "--wei"])
    assert ns.segments == 2 and ns.wei and ns.func is demo._main
    ns = parser.parse_args(["demo", "--detector", "profile", "--cheat", "logo"])
    assert (ns.detector, ns.cheat) == ("profile", "logo")
    assert parser.parse_args(["demo"]).detector == "mpeg7"
    for bad in (["--segments", "x"], ["--segments", "-1"], ["--segments", "0"], ["--frames", "2"],
                ["--detector", "eye"], ["--cheat", "nice"]):
        with pytest.raises(SystemExit) as e:
            parser.parse_args(["demo", *bad])
        assert e.value.code == 2
    assert "must be >= 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["demo", "--help"])
    assert "``" not in capsys.readouterr().out


def test_demo_needs_only_base_dependencies(tmp_path):
    """The demo's import path never loads protobuf, grpc or web3 (a plain `pip install lpcore` runs it)."""
    code = ("import sys, io\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in ('google', 'grpc', 'web3'):\n"
            "            raise ImportError('blocked ' + name)\n"
            "sys.meta_path.insert(0, Block())\n"
            "from lpcore import demo\n"
            "res = demo.run(segments=2, frames_per_segment=16, seed=2, out=io.StringIO())\n"
            "assert res['conserved']\n"
            "print('ok', sorted(m for m in sys.modules if m.split('.')[0] in ('google', 'grpc', 'web3')))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok []"


def test_bench_rows_agree_with_their_peer():
    """`lpcore bench`'s Recipient rows: lpcore and the pure-Python peer credit exactly the same EV."""
    from lpcore import bench
    from lpcore._bench import roles

    assert roles.rows in bench.row_functions()
    world = roles.make_world(2, 30)
    assert world.run_lpcore() == world.run_peer() == world.ev * 60
    assert world.run_lpcore(1) == world.ev * 60


def test_demo_bad_detector_or_cheat():
    with pytest.raises(ValueError, match="detector"):
        demo.run(segments=1, detector="eye", out=io.StringIO())
    with pytest.raises(ValueError, match="cheat"):
        demo.run(segments=1, cheat="nice", out=io.StringIO())
