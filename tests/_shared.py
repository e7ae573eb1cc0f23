"""Where the tests find the project's shared specs and vectors.

CI and every checkout keep the project's `shared/` directory beside the repository (`<repo>/../shared`); the
published vectors are read from there so that the tests always check the current vectors. `tests/vectors/`
holds copies, used only when no `shared/` directory exists (e.g. an sdist unpacked elsewhere).
"""

from __future__ import annotations

from pathlib import Path

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
