#!/usr/bin/env bash
# Development build: compiles every Cython module in place (into src/lpcore/), so tests run with
# PYTHONPATH=src against the working tree. Each git worktree keeps its own build/dev directory.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
if [ ! -f build/dev/build.ninja ]; then
  cmake -S . -B build/dev -G Ninja -DLPCORE_INPLACE=ON -DPython_EXECUTABLE="$(command -v "$py")" >/dev/null
fi
cmake --build build/dev "$@"
