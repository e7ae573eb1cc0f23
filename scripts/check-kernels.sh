#!/usr/bin/env bash
# Compile-checks every CUDA kernel to PTX for sm_80 and sm_90, failing on any error or warning.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for cu in kernels/*.cu; do
  for arch in 80 90; do
    echo "nvcc $cu sm_$arch"
    nvcc -ptx -arch=compute_$arch -Werror all-warnings -Ikernels -o "$out/$(basename "$cu" .cu).sm$arch.ptx" "$cu"
  done
done
