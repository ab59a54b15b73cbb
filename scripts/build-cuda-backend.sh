#!/usr/bin/env bash
# Rebuilds node-llama-cpp's CUDA backend (libggml-cuda.so) for this machine's GPUs, from the exact llama.cpp source
# node-llama-cpp ships, and puts it in place of the prebuilt one (kept as libggml-cuda.so.prebuilt).
#
# Why: node-llama-cpp 3.21.1's prebuilt library has machine code for sm_86/89/120/121 only; other GPUs (A100 sm_80,
# H100/H200 sm_90) run its PTX, which the driver must compile at start-up, and that PTX is newer than what a
# CUDA 13.0 driver (580.x) accepts: on an H200 with driver 580.159 the first decode aborted the process with
# "CUDA error: the provided PTX was compiled with an unsupported toolchain". Rebuilt for sm_90 with the machine's own
# CUDA 13.0 toolkit, adaptd served every benchmark workload on that H200 (see the README's "GPUs" section).
#
# Needs: git, cmake (3.18+), a C++ compiler and the CUDA toolkit (nvcc) matching the driver; no network.
# Usage: scripts/build-cuda-backend.sh [CUDA architectures, default: the GPUs in this machine, e.g. "90" or "80;90"]
# Takes about 4 minutes on 16 cores for one architecture. Run it again after `npm ci` (which restores the prebuilt).
set -euo pipefail

cd "$(dirname "$0")/.."
architectures=${1:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | tr -d . | sort -u | paste -sd';')}
[ -n "$architectures" ] || { echo "no GPU found by nvidia-smi; pass the CUDA architectures, e.g. 90" >&2; exit 1; }
bundle=node_modules/node-llama-cpp/llama/gitRelease.bundle
backend_dir=node_modules/@node-llama-cpp/linux-x64-cuda/bins/linux-x64-cuda
[ -f "$bundle" ] || { echo "missing $bundle: run npm ci first" >&2; exit 1; }
[ -d "$backend_dir" ] || { echo "missing $backend_dir: node-llama-cpp's CUDA package is not installed" >&2; exit 1; }

# The same source checkout `adaptd bench` builds llama-server from.
source_dir=${ADAPTD_LLAMA_CPP_SOURCE:-$HOME/.cache/adaptd/llama.cpp-src}
[ -f "$source_dir/CMakeLists.txt" ] || git clone --quiet "$bundle" "$source_dir"
build_dir=$source_dir/build-cuda-${architectures//;/-}

echo "building libggml-cuda.so for CUDA architectures $architectures in $build_dir"
# Only the ggml CUDA module is built. Like node-llama-cpp's own build, it names its dependency libggml-base.so
# (no version suffix) and finds it next to itself ($ORIGIN), so it loads with node-llama-cpp's libggml-base.so from
# the same source, not with this build's.
cmake -S "$source_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DGGML_BACKEND_DL=ON \
  -DCMAKE_PLATFORM_NO_VERSIONED_SONAME=ON -DCMAKE_BUILD_RPATH_USE_ORIGIN=ON -DCMAKE_BUILD_RPATH='$ORIGIN' \
  -DGGML_NATIVE=OFF -DGGML_CUDA=ON -DGGML_CUDA_NCCL=OFF -DCMAKE_CUDA_ARCHITECTURES="$architectures" \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_COMMON=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF > "$build_dir.log" 2>&1 || { tail -30 "$build_dir.log" >&2; exit 1; }
cmake --build "$build_dir" --config Release --target ggml-cuda -j "$(nproc)" >> "$build_dir.log" 2>&1 || { tail -30 "$build_dir.log" >&2; exit 1; }
built=$(find "$build_dir" -name libggml-cuda.so -type f | head -1)
[ -n "$built" ] || { echo "the build made no libggml-cuda.so; see $build_dir.log" >&2; exit 1; }

[ -f "$backend_dir/libggml-cuda.so.prebuilt" ] || cp "$backend_dir/libggml-cuda.so" "$backend_dir/libggml-cuda.so.prebuilt"
cp "$built" "$backend_dir/libggml-cuda.so"
echo "installed $built as $backend_dir/libggml-cuda.so (the prebuilt one is libggml-cuda.so.prebuilt)"
