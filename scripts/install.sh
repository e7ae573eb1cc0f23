#!/usr/bin/env bash
# Installs everything lpcore, its tests and its benchmarks need on a fresh Debian machine (run as root):
# the system packages (FFmpeg, the oracle for video signatures; a C compiler and Python's headers and pip when
# they are missing), then lpcore itself with its extras and the test tools. One line per step; pip stays quiet
# unless it fails (`VERBOSE=1 bash scripts/install.sh` shows pip's own output).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
# Debian's own python3 refuses pip installs outside a venv (PEP 668); this script is the machine's installer.
export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
py=${PYTHON:-python3}
q=--quiet
[ "${VERBOSE:-0}" = 1 ] && q=
n=0
step() { n=$((n + 1)); echo "[install] $n. $*"; }
t0=$SECONDS

apt_pkgs=()
command -v ffmpeg >/dev/null 2>&1 || apt_pkgs+=(ffmpeg)
command -v cc >/dev/null 2>&1 || apt_pkgs+=(build-essential)
"$py" -m pip --version >/dev/null 2>&1 || apt_pkgs+=(python3-pip)
"$py" -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
  || apt_pkgs+=(python3-dev)
"$py" -c 'import ensurepip' >/dev/null 2>&1 || apt_pkgs+=(python3-venv)  # the smoke tests make fresh venvs
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  step "apt: ${apt_pkgs[*]} (ffmpeg: the oracle the video-signature tests compare with)"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
else
  step "apt: nothing to install (ffmpeg $(ffmpeg -version | awk 'NR==1 {print $3}'), a C compiler and Python headers present)"
fi

step "pip: upgrading pip"
"$py" -m pip install $q --upgrade pip

# Every extra this checkout's pyproject.toml defines, except gpu (CuPy needs a CUDA driver), and at least the
# ones the tests use. An extra this version does not define yet only draws a pip warning; the next step installs
# its packages anyway.
extras=$("$py" - <<'PY'
import re
text = open("pyproject.toml", encoding="utf-8").read()
section = re.search(r"^\[project\.optional-dependencies\]\n(.*?)(?=^\[|\Z)", text, re.S | re.M)
names = re.findall(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)\s*=", section.group(1), re.M) if section else []
wanted = ["test", "signer", "chain", "ray"] + [n for n in names if n != "gpu"]
print(",".join(dict.fromkeys(wanted)))
PY
)
step "pip: lpcore from this checkout with extras $extras (compiles the C/Cython core, ~1 min)"
"$py" -m pip install $q ".[$extras]"

step "pip: on-chain, distributed and plotting tools: web3, eth-tester[py-evm], py-evm, vyper, ray, tqdm, grpcio, pillow, matplotlib"
# Also declared by the `chain`/`ray`/`test` extras; listed here too so that a checkout whose pyproject.toml
# predates those extras still gets every package the tests use. eth-tester and py-evm are pinned to the
# (pre-release) versions that run the TicketBroker bytecode for web3 7/8; vyper to the tests' compiler.
"$py" -m pip install $q "web3>=7" "eth-tester[py-evm]==0.14.0b1" "py-evm==0.12.1b1" "vyper==0.4.3" \
  "ray>=2.9" "tqdm>=4.60" "grpcio>=1.60" "pillow>=10" "matplotlib>=3.7"

step "pip: livepeer-gateway 1.0.0, the official gateway SDK (the real client of lpcore's remote signer in the tests)"
# It declares Python >= 3.12 but runs on 3.11 (checked by tests/signer/test_signer_sdk.py).
"$py" -m pip install $q --ignore-requires-python "livepeer-gateway==1.0.0" "av<19"

echo "[install] done in $((SECONDS - t0)) s: lpcore $("$py" -c 'import lpcore; print(lpcore.__version__)'), $("$py" --version)"
