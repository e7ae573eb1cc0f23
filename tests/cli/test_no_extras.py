"""A plain install (no extras): the CLI, ``python -m lpcore``, the demo and the bench run; a feature whose extra
is missing says which extra in one line and exits 2.

Each case runs in a fresh interpreter where the extras' top-level modules cannot be imported (a meta-path
blocker installed before lpcore loads), which is what ``pip install lpcore`` leaves. CI also installs the package
without extras in a fresh venv and runs the CLI for real.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib import resources

import pytest

from lpcore import MissingExtra

#: Top-level modules of every extra (signer: protobuf's `google`, starlette, uvicorn; chain; ray; gpu).
BLOCKED = ("google", "starlette", "uvicorn", "web3", "ray", "cupy")

_WRAPPER = textwrap.dedent("""
    import importlib.abc, runpy, sys

    BLOCKED = set(sys.argv[1].split(","))

    class NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())
    for loaded in [m for m in sys.modules if m.partition(".")[0] in BLOCKED]:  # e.g. namespace .pth files
        del sys.modules[loaded]
    how, sys.argv = sys.argv[2], ["lpcore", *sys.argv[3:]]
    if how == "module":
        runpy.run_module("lpcore", run_name="__main__", alter_sys=True)
    elif how == "code":
        exec(sys.argv[1])
    else:
        from lpcore.cli import main
        sys.exit(main())
""")


def lpcore_without_extras(*args: str, how: str = "cli", timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _WRAPPER, ",".join(BLOCKED), how, *args], capture_output=True,
                          text=True, timeout=timeout)


def _no_traceback(res: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout, res.stderr


def test_the_blocker_really_hides_the_extras():
    res = lpcore_without_extras("import google.protobuf", how="code")
    assert res.returncode != 0 and "No module named 'google" in res.stderr


def test_importing_the_signer_names_its_extra():
    code = textwrap.dedent("""
        import lpcore
        try:
            import lpcore.signer
        except lpcore.MissingExtra as exc:
            print(type(exc).__name__, isinstance(exc, ImportError), exc.extra, exc.name, str(exc), sep="|")
    """)
    res = lpcore_without_extras(code, how="code")
    assert res.returncode == 0, res.stderr
    assert res.stdout == ("MissingExtra|True|signer|google|"
                          "lpcore.signer needs the 'signer' extra: pip install 'lpcore[signer]'\n")


@pytest.mark.parametrize("how", ["cli", "module"])
def test_help_and_version(how):
    res = lpcore_without_extras("--help", how=how)
    assert res.returncode == 0, res.stderr
    for command in ("demo", "vsig", "signer", "bench"):
        assert command in res.stdout
    res = lpcore_without_extras("--version", how=how)
    assert res.returncode == 0 and res.stdout.startswith("lpcore "), res.stderr


@pytest.mark.parametrize("args", [["vsig", "--help"], ["vsig", "compute", "--help"], ["vsig", "compare", "--help"],
                                  ["bench", "--help"], ["demo", "--help"]])
def test_sub_command_help(args):
    res = lpcore_without_extras(*args)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"usage: lpcore {args[0]}")
    _no_traceback(res)


def test_demo_runs(tmp_path):
    res = lpcore_without_extras("demo", "--segments", "2", "--frames", "32",
                                "--dir", str(tmp_path / "demo"))
    _no_traceback(res)
    assert res.returncode == 0, res.stdout + res.stderr  # the demo exits 1 unless money is conserved


def test_signer_names_its_extra_in_one_line():
    for args in (["signer", "serve"], ["signer", "serve", "--help"], ["signer"]):
        res = lpcore_without_extras(*args)
        assert res.returncode == 2
        assert res.stderr == "lpcore signer needs the 'signer' extra: pip install 'lpcore[signer]'\n"
        assert res.stdout == ""


def test_bench_skips_the_signer_rows_with_a_note():
    res = lpcore_without_extras("bench", "-n", "20", "--repeat", "1", "--only", "keccak256")
    _no_traceback(res)
    assert res.returncode == 0, res.stderr
    assert "keccak256 8 MB" in res.stdout
    assert "skipped signer rows: lpcore.signer needs the 'signer' extra: pip install 'lpcore[signer]'" in res.stdout


def test_missing_extra_is_an_import_error_with_the_install_line():
    from lpcore._extras import require

    with pytest.raises(MissingExtra) as ei:
        require("ray", "lpcore_no_such_module_for_tests", feature="the Ray runner")
    assert isinstance(ei.value, ImportError) and ei.value.extra == "ray"
    assert ei.value.name == "lpcore_no_such_module_for_tests"
    assert str(ei.value) == "the Ray runner needs the 'ray' extra: pip install 'lpcore[ray]'"
    with pytest.raises(ValueError, match="unknown extra"):
        require("nope", "os")


def test_package_ships_py_typed():
    assert resources.files("lpcore").joinpath("py.typed").is_file()


#: What importing the base packages must not load: every extra's top level (and web3's own eth_account), plus
#: numba, which only the tamper detector's evidence pass needs and loads on first use.
HEAVY = (*BLOCKED, "grpc", "eth_account", "numba")


def test_base_packages_import_no_extra():
    """`import lpcore.broker` (ChainBroker is lazy), `lpcore.market` (gRPC loads at the first query) and the
    rest load no extra: measured in a fresh interpreter with nothing blocked, so a stray eager import shows."""
    code = textwrap.dedent(f"""
        import sys
        import lpcore, lpcore.broker, lpcore.pm, lpcore.vsig, lpcore.verify, lpcore.market, lpcore.demo
        heavy = {HEAVY!r}
        print(sorted({{m.partition(".")[0] for m in sys.modules}} & set(heavy)))
        print(lpcore.broker.ChainBroker.__module__)
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "[]\nlpcore.broker.onchain\n"


def test_chain_broker_names_its_extra():
    code = textwrap.dedent("""
        import lpcore.broker
        try:
            lpcore.broker.ChainBroker("http://127.0.0.1:9")
        except lpcore.MissingExtra as exc:
            print(exc.extra, exc.name, sep="|")
    """)
    res = lpcore_without_extras(code, how="code")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "chain|web3\n"
