#!/usr/bin/env bash
# Installs everything lpcore, its tests and its benchmarks need on a fresh Debian machine (run as root):
# FFmpeg (the oracle for video signatures), then lpcore itself with its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
if ! command -v ffmpeg >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq ffmpeg >/dev/null
fi
python3 -m pip install --quiet --upgrade pip
python3 -m pip install --quiet ".[test,signer,market]"
# The official gateway SDK is the real client of lpcore's remote signer in the tests; it declares
# Python >= 3.12 but runs on 3.11 (see spec/remote_signer.md §8.5).
python3 -m pip install --quiet --ignore-requires-python "livepeer-gateway==1.0.0" "av<19"
