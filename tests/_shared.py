"""Where the tests find the project's shared specs and vectors, and the one way they run the ffmpeg binary
(:func:`ffmpeg`, :data:`needs_ffmpeg`) to make clips and oracle outputs.

CI and every checkout keep the project's `shared/` directory beside the repository (`<repo>/../shared`); the
published vectors are read from there so that the tests always check the current vectors. `tests/vectors/`
holds copies, used only when no `shared/` directory exists (e.g. an sdist unpacked elsewhere).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[1]
_TESTS = Path(__file__).resolve().parent


def shared_root() -> Path | None:
    for cand in (_REPO.parent / "shared", _REPO / "shared", Path("/work/shared")):
        if (cand / "vectors").is_dir():
            return cand
    return None


def vector_path(*parts: str) -> Path:
    """Path of a file or directory under shared/vectors (falling back to the copy in tests/vectors)."""
    root = shared_root()
    for base in ((root / "vectors") if root else None, _TESTS / "vectors"):
        if base is not None and (base.joinpath(*parts)).exists():
            return base.joinpath(*parts)
    raise FileNotFoundError(f"test vector {'/'.join(parts)} not found in shared/vectors or tests/vectors")


def spec_path(name: str) -> Path:
    root = shared_root()
    if root is None or not (root / "spec" / name).is_file():
        raise FileNotFoundError(f"spec/{name} not found: the tests need the project's shared/ directory")
    return root / "spec" / name


FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="needs the ffmpeg binary (scripts/install.sh installs it)")


def ffmpeg(*args: str, cwd: Path | str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Runs ``ffmpeg -hide_banner -loglevel error -nostdin -y ARGS`` (output captured; a failure raises
    ``CalledProcessError`` with ffmpeg's message in ``stderr``). Callers skip with :data:`needs_ffmpeg`."""
    return subprocess.run([FFMPEG or "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args],
                          check=True, capture_output=True, cwd=cwd, timeout=timeout)


needs_cc = pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")


def run_header_program(src: Path | str, tmp_path: Path, *, std: str = "gnu99", opt: str = "-O2",
                       libs: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Compiles the C program ``src`` against ``kernels/`` (the shared host/device header) and runs it; the
    program checks the header's arithmetic itself and exits non-zero on a mismatch. Returns the run (stdout
    captured, text) for the caller to assert on. Callers skip with :data:`needs_cc`."""
    exe = tmp_path / (Path(src).stem + ".bin")
    subprocess.run(["cc", opt, f"-std={std}", "-I", str(_REPO / "kernels"), str(src), "-o", str(exe), *libs],
                   check=True)
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=300)
