#!/usr/bin/env bash
# Installs a built wheel into a fresh virtual environment (no system site-packages; numpy, coincurve,
# pycryptodome and av come from PyPI as the wheel's dependencies) and runs scripts/smoke.py against it: import,
# sign a ticket, the MPEG-7 signature of a generated clip vs FFmpeg, `lpcore --help/--version/demo`.
# It also checks that the installed native modules use the libgomp bundled in the wheel, not the system's.
#
#   bash scripts/smoke-wheel.sh dist/lpcore-*-manylinux*.whl
#   SMOKE_EXTRAS=signer bash scripts/smoke-wheel.sh WHEEL     # the same with extras installed too
set -euo pipefail
cd "$(dirname "$0")/.."
wheel=${1:?usage: smoke-wheel.sh WHEEL}
[ -f "$wheel" ] || { echo "[smoke-wheel] no such wheel: $wheel" >&2; exit 2; }
wheel=$(realpath "$wheel")
say() { echo "[smoke-wheel] $*"; }
. scripts/_venv.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say "fresh venv (no system site-packages) in $tmp/venv"
fresh_venv "$tmp/venv"
spec=$wheel${SMOKE_EXTRAS:+[$SMOKE_EXTRAS]}
say "pip install $(basename "$spec") (dependencies from PyPI)"
"$VPY" -m pip install --quiet --disable-pip-version-check "$spec"

say "checking that the native modules load the bundled libgomp"
site=$("$VPY" -c 'import sysconfig; print(sysconfig.get_path("platlib"))')
for so in "$site"/lpcore/_native_*.so; do
  gomp=$(ldd "$so" | awk '/libgomp/ {print $3}')
  [ -n "$gomp" ] && gomp=$(realpath "$gomp")
  case "$gomp" in
    "$site"/lpcore.libs/*) ;;
    *) echo "[smoke-wheel] $(basename "$so") links libgomp from '${gomp:-nowhere}', not from lpcore.libs/" >&2; exit 1 ;;
  esac
done

say "running scripts/smoke.py in the venv"
"$VPY" "$PWD/scripts/smoke.py"
say "ok: $(basename "$wheel")"
