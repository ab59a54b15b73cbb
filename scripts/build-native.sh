#!/usr/bin/env bash
# Builds adaptd's native engine: node-llama-cpp's addon and the llama.cpp source it ships, with the patches in
# native/patches (per-sequence LoRA, one-call sampling of a batch), into a cache outside the repository:
#   ${ADAPTD_NATIVE_CACHE:-~/.cache/adaptd/native}/<key>/llama-addon.node   (+ build-info.json, written last)
# <key> is a hash of the patches, node-llama-cpp's version, the backend and the build flags, so a changed patch or a
# new node-llama-cpp builds afresh and an unchanged one is not rebuilt. adaptd loads the addon from there at start
# (src/engine/nativeBinding.ts) and falls back to node-llama-cpp's prebuilt binary when there is none.
#
# Needs: git, cmake (3.19+), a C++ compiler, Node's headers (shipped with Node in <prefix>/include/node); ccache is
# used when installed. CUDA: the CUDA toolkit (nvcc and cuBLAS). No network.
# Usage: scripts/build-native.sh [--cuda] [--cuda-archs "80;86;89;90"] [--portable] [--tools] [--jobs N] [--print-dir]
#   --cuda         CUDA backend (default: CPU); --cuda-archs defaults to the GPUs nvidia-smi finds
#   --portable     no -march=native for the CPU code (for images that run on other machines)
#   --tools        also build llama-server, llama-quantize and llama-batched-bench from the same patched source
#                  (into <key>/build/bin; the patch only adds API, so they behave like upstream's)
#   --print-dir    print the cache folder for these options and exit (nothing is built)
# Time on 2 cores, CPU: about 20 minutes cold, about 4 minutes when only the patched files changed (ccache).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
nlc=$repo/node_modules/node-llama-cpp
backend=cpu archs="" portable=0 tools=0 print_dir=0 jobs=$(nproc)
while [ $# -gt 0 ]; do
  case $1 in
    --cuda) backend=cuda ;;
    --cuda-archs) archs=${2:?--cuda-archs needs a list such as "80;86;89;90"}; shift ;;
    --portable) portable=1 ;;
    --tools) tools=1 ;;
    --jobs) jobs=${2:?--jobs needs a number}; shift ;;
    --print-dir) print_dir=1 ;;
    *) echo "unknown option $1 (see the comment at the top of $0)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$backend" = cuda ] && [ -z "$archs" ]; then
  archs=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | tr -d . | sort -u | paste -sd';' || true)
  [ -n "$archs" ] || { echo "--cuda: no GPU found by nvidia-smi; pass --cuda-archs, e.g. \"80;86;89;90\"" >&2; exit 2; }
fi
[ "$backend" = cpu ] && [ -n "$archs" ] && { echo "--cuda-archs needs --cuda" >&2; exit 2; }
# Architectures in a canonical order, so "90;80" and "80;90" share a build.
archs=$(echo "$archs" | tr ';, ' '\n\n\n' | sed '/^$/d' | sort -u | paste -sd';')

[ -f "$nlc/package.json" ] || { echo "missing $nlc: run npm ci first" >&2; exit 1; }
nlc_version=$(node -p "require('$nlc/package.json').version")
flags="backend=$backend archs=$archs portable=$portable"
# The engine loads only a build whose patchesHash matches its tree (src/engine/nativeBinding.ts computes it alike).
patches_hash=$(LC_ALL=C; cat "$repo"/native/patches/*.patch | sha256sum | cut -c1-16)
key=$( { echo "node-llama-cpp $nlc_version"; echo "$flags"; echo "$patches_hash"; cat "$nlc"/llama/patches/*.diff; } | sha256sum | cut -c1-16)
cache_root=${ADAPTD_NATIVE_CACHE:-$HOME/.cache/adaptd/native}
dir=$cache_root/$key
if [ "$print_dir" = 1 ]; then echo "$dir"; exit 0; fi
if [ -f "$dir/build-info.json" ] && [ "$tools" = 0 ]; then echo "already built: $dir/llama-addon.node"; exit 0; fi

for tool in git cmake c++; do command -v $tool > /dev/null || { echo "$tool is needed to build the native engine" >&2; exit 1; }; done
node_include=$(node -p "require('path').resolve(process.execPath, '../../include/node')")
[ -f "$node_include/node_api.h" ] || { echo "Node's headers are missing ($node_include/node_api.h): install Node with its headers" >&2; exit 1; }

mkdir -p "$dir"
exec 9> "$dir.lock"
flock 9 # one build per key at a time; a second caller waits and then finds it built
if [ -f "$dir/build-info.json" ] && [ "$tools" = 0 ]; then echo "already built: $dir/llama-addon.node"; exit 0; fi
started=$(date +%s)
log=$dir/build.log
echo "building the native engine ($flags, node-llama-cpp $nlc_version) in $dir; log: $log"

# Source: node-llama-cpp's CMake project and addon, with llama.cpp from its bundle, patched afresh each time.
src=$dir/src
rm -rf "$src"
mkdir -p "$src"
cp -r "$nlc/llama/CMakeLists.txt" "$nlc/llama/cmake" "$nlc/llama/addon" "$src/"
git clone --quiet "$nlc/llama/gitRelease.bundle" "$src/llama.cpp" 2> "$log"
for patch in "$nlc"/llama/patches/*.diff; do # node-llama-cpp's own fixes, as its source build applies them
  git -C "$src/llama.cpp" apply --check "$patch" 2> /dev/null && git -C "$src/llama.cpp" apply "$patch"
done
git -C "$src/llama.cpp" apply "$repo/native/patches/llama.cpp-per-sequence-lora.patch"
git -C "$src" apply "$repo/native/patches/addon-sequence-lora-and-batch-sampling.patch"

cmake_args=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DCMAKE_JS_INC="$node_include"
  -DNLC_CURRENT_PLATFORM=linux-x64 -DNLC_TARGET_PLATFORM=linux-x64 -DGGML_BUILD_NUMBER=1
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_BUILD_MTMD=OFF
  -DLLAMA_BUILD_TOOLS="$([ $tools = 1 ] && echo ON || echo OFF)" -DLLAMA_BUILD_SERVER="$([ $tools = 1 ] && echo ON || echo OFF)"
  -DGGML_NATIVE="$([ $portable = 1 ] && echo OFF || echo ON)")
if [ "$backend" = cuda ]; then cmake_args+=(-DGGML_CUDA=ON -DGGML_CUDA_NCCL=OFF -DCMAKE_CUDA_ARCHITECTURES="$archs"); fi
if command -v ccache > /dev/null; then
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$HOME/.cache/adaptd}
  cmake_args+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
# node-llama-cpp's CMakeLists asks Node for node-addon-api's include folder, resolved from the repository's modules.
NODE_PATH=$repo/node_modules cmake -S "$src" -B "$dir/build" "${cmake_args[@]}" >> "$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }
targets=(llama-addon)
[ "$tools" = 1 ] && targets+=(llama-server llama-quantize llama-batched-bench)
nice -n 10 cmake --build "$dir/build" --config Release --target "${targets[@]}" -j "$jobs" >> "$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }

built=$(find "$dir/build" -name llama-addon.node -type f | head -1)
[ -n "$built" ] || { echo "the build made no llama-addon.node; see $log" >&2; exit 1; }
cp "$built" "$dir/llama-addon.node"
seconds=$(( $(date +%s) - started ))
release=$(node -p "require('$nlc/llama/llama.cpp.info.json').tag")
cat > "$dir/build-info.json.tmp" <<EOF
{"key": "$key", "patchesHash": "$patches_hash", "backend": "$backend", "cudaArchitectures": "$archs", "portable": $([ $portable = 1 ] && echo true || echo false),
 "nodeLlamaCppVersion": "$nlc_version", "llamaCppRelease": "$release", "buildSeconds": $seconds, "builtAt": "$(date -u +%FT%TZ)"}
EOF
mv "$dir/build-info.json.tmp" "$dir/build-info.json"
echo "built $dir/llama-addon.node in ${seconds}s"
