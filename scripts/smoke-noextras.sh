#!/usr/bin/env bash
# `pip install .` with NO extras into a fresh virtual environment (no system site-packages), then the command
# line and the demo (scripts/smoke.py --no-extras): the main job must need no optional dependency, and a
# command whose extra is missing must say which extra to install instead of printing a traceback.
#
#   bash scripts/smoke-noextras.sh
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "[smoke-noextras] $*"; }
. scripts/_venv.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say "fresh venv (no system site-packages) in $tmp/venv"
fresh_venv "$tmp/venv"
say "pip install . with no extras (build requirements and base dependencies from PyPI; C/Cython compile)"
"$VPY" -m pip install --quiet --disable-pip-version-check --config-settings="build-dir=$tmp/cmake" . \
  >"$tmp/install.log" 2>&1 || { tail -n 60 "$tmp/install.log" >&2; exit 1; }

say "running scripts/smoke.py --no-extras in the venv"
"$VPY" "$PWD/scripts/smoke.py" --no-extras

say "lpcore signer serve (needs the signer extra) names the extra in one line and exits 2, no traceback"
set +e
# A valid test key, so the only thing missing is the extra; timeout guards against a server that would start.
out=$(cd "$tmp" && LPCORE_SIGNER_KEY=ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 \
      timeout 60 "$tmp/venv/bin/lpcore" signer serve --port 0 2>&1 </dev/null)
rc=$?
set -e
if [ "$rc" -ne 2 ] || ! grep -qF "lpcore[signer]" <<<"$out" || grep -q "Traceback" <<<"$out"; then
  echo "[smoke-noextras] \`lpcore signer serve\` without the signer extra: exit $rc, output:" >&2
  echo "$out" >&2
  exit 1
fi
say "ok"
