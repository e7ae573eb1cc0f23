#!/usr/bin/env bash
# Builds a wheel that PyPI accepts and users can install anywhere with a compatible glibc: an ordinary wheel
# build (tag linux_x86_64, linked against the build machine's libgomp), then `auditwheel repair`, which copies
# libgomp into the wheel (lpcore.libs/), rewrites the RPATHs with patchelf and gives the wheel its manylinux tag.
#
#   bash scripts/build-wheel.sh [OUTDIR]      # default OUTDIR: dist/
#
# The build runs in an isolated environment (the build requirements of pyproject.toml come from PyPI) and in
# its own CMake build folder, so it neither reuses nor disturbs a development build in build/.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
out=${1:-dist}
say() { echo "[build-wheel] $*"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say "installing the wheel tools from PyPI: build, auditwheel, patchelf"
"$py" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore build auditwheel patchelf

say "building the wheel (isolated: scikit-build-core, cython and numpy from PyPI; C/Cython compile, ~1 min)"
"$py" -m build --wheel --outdir "$tmp/raw" -C "build-dir=$tmp/cmake" . >"$tmp/build.log" 2>&1 || {
  tail -n 60 "$tmp/build.log" >&2
  say "wheel build failed (log above)" >&2
  exit 1
}
raw=$(ls "$tmp"/raw/lpcore-*.whl)
say "built $(basename "$raw")"

say "auditwheel repair: bundling libgomp, setting the manylinux tag"
mkdir -p "$out"
# patchelf from PyPI puts its binary in the scripts folder of that interpreter; make sure auditwheel finds it.
PATH="$("$py" -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH" \
  "$py" -m auditwheel repair --wheel-dir "$out" "$raw" >"$tmp/repair.log" 2>&1 || {
  cat "$tmp/repair.log" >&2
  say "auditwheel repair failed (log above)" >&2
  exit 1
}
wheel=$(ls -t "$out"/lpcore-*manylinux*.whl | head -n 1)
say "repaired wheel: $wheel"
"$py" -m auditwheel show "$wheel" | sed 's/^/[build-wheel]   /'
