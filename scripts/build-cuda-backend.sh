#!/usr/bin/env bash
# Builds node-llama-cpp's CUDA backend (libggml-cuda.so) from the exact llama.cpp source node-llama-cpp ships, for the
# CUDA architectures asked for, caches it under ~/.cache/adaptd/native/cuda-<key>/ and puts it in place of the
# installed one (the shipped library is kept once as libggml-cuda.so.prebuilt; `npm ci` restores it).
#
# Why: node-llama-cpp 3.21.1's prebuilt library has machine code for 8.6/8.9/12.0a/12.1a only; other GPUs (A100 8.0,
# H100/H200 9.0, B200 10.0) run its PTX, which is PTX ISA 9.1 (CUDA 13.1) and which a CUDA 13.0 driver (580.x)
# refuses: on an H200 with driver 580.159 the first decode aborted the process with "CUDA error: the provided PTX was
# compiled with an unsupported toolchain". `adaptd serve --gpu auto` runs this script itself when a toolkit is
# present and the installed backend cannot run on the GPU (see `adaptd doctor`).
#
# Usage: scripts/build-cuda-backend.sh [--archs LIST|local|default] [--with-tools] [--no-install] [--print-plan]
#   --archs       "90", "80;90", "8.0,9.0", "local" (this machine's GPUs, the default; the default list without GPUs)
#                 or "default" (80;86;89;90;100;120: A100, RTX 30/A10, L4/L40S/RTX 40, H100/H200, B200, RTX 50).
#                 A multi-architecture list also gets PTX for its lowest architecture, for GPUs newer than all.
#   --with-tools  also build llama-server from the same cmake build (the benchmark's reference), into the cache dir.
#   --no-install  only build and cache; do not touch node_modules.
#   --print-plan  print the architectures, the cmake command and the cache path, and stop (needs no toolkit).
# Environment: ADAPTD_NATIVE_CACHE (default ~/.cache/adaptd/native), ADAPTD_LLAMA_CPP_SOURCE (default
# ~/.cache/adaptd/llama.cpp-src, the checkout `adaptd bench` builds llama-server from), JOBS (default nproc).
# Needs git, cmake (3.18+), a C++ compiler and a CUDA toolkit with cuBLAS, no newer than the driver's CUDA; no network.
# Measured: 3 min 48 s on 16 cores for one architecture (the H200). Estimate: each further architecture adds most of
# that again (the CUDA kernels dominate), so the six-architecture default list takes roughly 20-25 minutes there.
set -euo pipefail

cd "$(dirname "$0")/.."
archs_request=local
with_tools=false
install=true
print_plan=false
# A bare first argument is the architecture list, as earlier versions of this script took it.
while [ $# -gt 0 ]; do
  case "$1" in
    --archs) archs_request=${2:?--archs needs a value}; shift ;;
    --archs=*) archs_request=${1#--archs=} ;;
    --with-tools) with_tools=true ;;
    --no-install) install=false ;;
    --print-plan) print_plan=true ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    -*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    *) archs_request=$1 ;;
  esac
  shift
done

bundle=node_modules/node-llama-cpp/llama/gitRelease.bundle
source_dir=${ADAPTD_LLAMA_CPP_SOURCE:-$HOME/.cache/adaptd/llama.cpp-src}
# The source's commit names the build; a source unpacked without git (scripts/gpu-bench-pack.sh) says it in a file.
if [ -f "$bundle" ]; then
  source_id=$(git bundle list-heads "$bundle" 2>/dev/null | awk 'NR==1{print $1}')
elif [ -f "$source_dir/.adaptd-source-id" ]; then
  source_id=$(cat "$source_dir/.adaptd-source-id")
else
  echo "missing $bundle (run npm ci first) and no llama.cpp source at $source_dir" >&2; exit 1
fi
local_ccs=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | sort -u | paste -sd';' || true)
nvcc_bin=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
toolkit=$("$nvcc_bin" --version 2>/dev/null | sed -n 's/.*release \([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' || true)
cache_root=${ADAPTD_NATIVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/adaptd/native}
plan=$(node --import tsx scripts/cuda-build-plan.ts --archs "$archs_request" --local "$local_ccs" \
  --source-id "${source_id:-unknown}" --toolkit "${toolkit:-none}" --cache-root "$cache_root") || exit 2
eval "$plan"

build_dir=$plan_cache_dir/build
targets=(ggml-cuda)
# Like node-llama-cpp's own build, the library names its dependency libggml-base.so (no version suffix) and finds it
# next to itself ($ORIGIN), so it loads with node-llama-cpp's libggml-base.so from the same source.
cmake_args=(-S "$source_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DGGML_BACKEND_DL=ON
  -DCMAKE_PLATFORM_NO_VERSIONED_SONAME=ON -DCMAKE_BUILD_RPATH_USE_ORIGIN=ON "-DCMAKE_BUILD_RPATH=\$ORIGIN"
  -DGGML_NATIVE=OFF -DGGML_CUDA=ON -DGGML_CUDA_NCCL=OFF "-DCMAKE_CUDA_ARCHITECTURES=$plan_cmake_archs"
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF)
if $with_tools; then
  # llama-server loads its backends (this CUDA one and the CPU one) from its own folder.
  cmake_args+=(-DLLAMA_BUILD_COMMON=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON -DLLAMA_OPENSSL=OFF)
  targets+=(ggml-cpu llama-server)
else
  cmake_args+=(-DLLAMA_BUILD_COMMON=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF)
fi
jobs=${JOBS:-$(nproc)}

if $print_plan; then
  echo "architectures: $plan_archs ($plan_arch_source)"
  echo "cmake architectures: $plan_cmake_archs"
  echo "source: $source_dir (llama.cpp ${source_id:-unknown})"
  echo "toolkit: nvcc ${toolkit:-not found}"
  echo "cache: $plan_cache_dir (key $plan_key)"
  printf 'configure: cmake'; printf " %q" "${cmake_args[@]}"; echo
  echo "build: cmake --build $build_dir --config Release -j $jobs --target ${targets[*]}"
  echo "install: $($install && echo "yes, into node-llama-cpp's CUDA package" || echo no)"
  exit 0
fi

[ -n "$toolkit" ] || { echo "no CUDA toolkit (nvcc) found: install one no newer than the driver's CUDA version" >&2; exit 1; }
[ -f "$source_dir/CMakeLists.txt" ] || git clone --quiet "$bundle" "$source_dir"
mkdir -p "$plan_cache_dir"
log=$plan_cache_dir/build.log
if [ -f "$plan_cache_dir/libggml-cuda.so" ] && { ! $with_tools || [ -x "$plan_cache_dir/bin/llama-server" ]; }; then
  echo "cached: $plan_cache_dir/libggml-cuda.so (architectures $plan_archs)"
else
  echo "building libggml-cuda.so for CUDA architectures $plan_archs ($plan_cmake_archs) with nvcc $toolkit, $jobs jobs; log: $log"
  started=$(date +%s)
  cmake "${cmake_args[@]}" > "$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }
  cmake --build "$build_dir" --config Release -j "$jobs" --target "${targets[@]}" >> "$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }
  built=$(find "$build_dir" -name libggml-cuda.so -type f | head -1)
  [ -n "$built" ] || { echo "the build made no libggml-cuda.so; see $log" >&2; exit 1; }
  if $with_tools; then
    mkdir -p "$plan_cache_dir/bin"
    cp "$(dirname "$built")"/*.so "$build_dir/bin/llama-server" "$plan_cache_dir/bin/"
  fi
  cp "$built" "$plan_cache_dir/libggml-cuda.so.partial" && mv "$plan_cache_dir/libggml-cuda.so.partial" "$plan_cache_dir/libggml-cuda.so"
  echo "built in $(( $(date +%s) - started ))s: $plan_cache_dir/libggml-cuda.so ($(du -m "$plan_cache_dir/libggml-cuda.so" | cut -f1) MiB)"
fi

$install || exit 0
platform=linux-$(uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')-cuda
# The package exports only its entry (dist/index.js); the libraries are in bins/ beside dist/.
package_entry=$(node -e "console.log(require.resolve('@node-llama-cpp/$platform'))" 2>/dev/null || echo /nonexistent/dist/x)
backend_dir=$(dirname "$(dirname "$package_entry")")/bins/$platform
[ -d "$backend_dir" ] || { echo "node-llama-cpp's CUDA package is not installed ($backend_dir): nothing to install into" >&2; exit 1; }
[ -f "$backend_dir/libggml-cuda.so.prebuilt" ] || cp "$backend_dir/libggml-cuda.so" "$backend_dir/libggml-cuda.so.prebuilt"
cp "$plan_cache_dir/libggml-cuda.so" "$backend_dir/libggml-cuda.so.partial" && mv "$backend_dir/libggml-cuda.so.partial" "$backend_dir/libggml-cuda.so"
echo "installed $plan_cache_dir/libggml-cuda.so as $backend_dir/libggml-cuda.so (the shipped one is libggml-cuda.so.prebuilt)"
