"""The ``lpcore`` command table: lazy loading, usage instead of internal names, clean messages for what cannot load,
and ``vsig compute``'s output checks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lpcore import cli
from tests._shared import FFMPEG, ffmpeg


def test_every_table_entry_is_one_command():
    names = [name for name, _module, _help in cli._COMMANDS]
    assert len(names) == len(set(names))
    assert {"demo", "vsig", "signer", "bench", "broker", "market", "verify"} <= set(names)
    assert all(help_text and "\n" not in help_text for _n, _m, help_text in cli._COMMANDS)


def test_only_the_chosen_command_module_is_imported():
    code = ("import sys\nfrom lpcore.cli import main\n"
            "try:\n    main(['vsig', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('lpcore.demo', 'lpcore.bench', 'lpcore.signer', 'lpcore.vsig.cli') "
            "if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "['lpcore.vsig.cli']"


@pytest.mark.parametrize("argv, usage", [([], "usage: lpcore "), (["vsig"], "usage: lpcore vsig ")])
def test_a_group_without_its_sub_command_prints_usage(capsys, argv, usage):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(usage) and "_command" not in err and "required" not in err
    assert ("compute" in err) if argv else ("demo" in err and "vsig" in err)


def test_a_command_whose_module_is_absent_is_one_line(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_COMMANDS", [*cli._COMMANDS, ("ghost", "lpcore.ghost_cli_for_tests", "not here")])
    assert cli.main(["ghost", "--flag"]) == 2
    err = capsys.readouterr().err
    assert err == "lpcore ghost: not available in this version of lpcore (lpcore.ghost_cli_for_tests is missing)\n"
    with pytest.raises(SystemExit) as ei:  # --help lists it by its help line without importing it
        cli.main(["--help"])
    assert ei.value.code == 0 and "not here" in capsys.readouterr().out


def test_an_lpcore_error_escaping_a_command_is_one_line(monkeypatch, capsys):
    from lpcore import BrokerRevert

    def boom(args):
        raise BrokerRevert("system is paused")

    import lpcore.bench

    monkeypatch.setattr(lpcore.bench, "run", boom)
    assert cli.main(["bench"]) == 2
    assert capsys.readouterr().err == "lpcore bench: system is paused\n"


# -- vsig compute --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    if FFMPEG is None:
        pytest.skip("needs the ffmpeg binary")
    path = tmp_path_factory.mktemp("clip") / "clip.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25", "-frames:v", "12", "-c:v", "ffv1", str(path))
    return path


def test_compute_into_a_missing_folder_fails_before_decoding(tmp_path, capsys):
    # The input does not exist either: the output check comes first, so no decoding time is wasted.
    assert cli.main(["vsig", "compute", str(tmp_path / "nope.mp4"), "-o", str(tmp_path / "no" / "sig.bin")]) == 2
    err = capsys.readouterr().err
    assert err == f"lpcore vsig compute: output folder {tmp_path / 'no'} does not exist\n"


def test_compute_chooses_the_format_from_the_suffix(tmp_path, clip):
    from lpcore.vsig import VideoSignature

    flagged, by_suffix, upper, binary = (tmp_path / n for n in ("a.sig", "b.xml", "c.XML", "d.bin"))
    assert cli.main(["vsig", "compute", str(clip), "-o", str(flagged), "--xml", "-q"]) == 0
    assert cli.main(["vsig", "compute", str(clip), "-o", str(by_suffix), "-q"]) == 0
    assert cli.main(["vsig", "compute", str(clip), "-o", str(upper), "-q"]) == 0
    assert cli.main(["vsig", "compute", str(clip), "-o", str(binary), "-q"]) == 0
    assert by_suffix.read_bytes() == upper.read_bytes() == flagged.read_bytes()
    assert by_suffix.read_bytes().lstrip().startswith(b"<?xml")
    assert len(VideoSignature.from_binary(binary.read_bytes())) == 12


def test_compute_reports_an_unwritable_output(tmp_path, clip, capsys):
    target = tmp_path / "dir.bin"
    target.mkdir()  # a folder where the file should go
    assert cli.main(["vsig", "compute", str(clip), "-o", str(target), "-q"]) == 2
    assert capsys.readouterr().err.startswith(f"lpcore vsig compute: cannot write {target}: ")
