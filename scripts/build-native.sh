#!/usr/bin/env bash
# Builds adaptd's native engine for the machine's backend: node-llama-cpp's addon and the llama.cpp source it ships,
# with the patches in native/patches (per-sequence LoRA, one-call sampling of a batch), into a cache outside the
# repository:
#   ${ADAPTD_NATIVE_CACHE:-~/.cache/adaptd/native}/<key>/llama-addon.node   (+ build-info.json, written last)
# <key> is a hash of the patches, node-llama-cpp's version, the backend and the build flags (for CUDA: the
# architectures and nvcc's release), so a changed patch or a new node-llama-cpp builds afresh and an unchanged one is
# not rebuilt. adaptd loads the addon from there at start (src/engine/nativeBinding.ts) and falls back to
# node-llama-cpp's prebuilt binary when there is none. The addon is linked statically: a CUDA build carries its CUDA
# kernels itself, and `adaptd serve --gpu auto` checks them against the GPU (src/engine/cudaBackendCheck.ts) and runs
# this script when none of the cached builds can run there and a toolkit is present.
#
# Needs: git, cmake (3.19+), a C++ compiler, Node's headers (shipped with Node in <prefix>/include/node); ccache is
# used when installed. CUDA: a CUDA toolkit with cuBLAS, no newer than the driver's CUDA version. No network.
# Usage: scripts/build-native.sh [--cuda] [--cuda-archs LIST|local|default] [--portable] [--tools] [--jobs N]
#                                [--print-dir] [--print-plan]
#   --cuda         CUDA backend (default: CPU)
#   --cuda-archs   implies --cuda. "90", "80;90", "8.0,9.0", "local" (this machine's GPUs, the default; the default
#                  list when nvidia-smi finds none) or "default" (80;86;89;90;100;120: A100, RTX 30/A10,
#                  L4/L40S/RTX 40, H100/H200, B200, RTX 50). A list of several (not "local") also gets PTX for its
#                  lowest architecture, for GPUs newer than all. Rules: src/engine/cudaBuildPlan.ts.
#   --portable     no -march=native for the CPU code (for images that run on other machines)
#   --tools        also build llama-server, llama-quantize and llama-batched-bench from the same patched source
#                  (into <key>/build/bin; the patch only adds API, so they behave like upstream's)
#   --print-dir    print the cache folder for these options and exit (nothing is built)
#   --print-plan   print the backend, architectures, cache folder and cmake command, and exit (needs no toolkit)
# Source: node-llama-cpp's bundle (node_modules/node-llama-cpp/llama/gitRelease.bundle), or, where a pruned install
# has none, a plain copy of it at $ADAPTD_LLAMA_CPP_SOURCE (scripts/gpu-bench-pack.sh makes one).
# Time on 2 cores, CPU: about 20 minutes cold, about 4 minutes when only the patched files changed (ccache). CUDA:
# 3 min 48 s on 16 cores for one architecture (the backend alone, measured on an H200); each further architecture
# adds most of that again, so the six-architecture default list takes roughly 20-25 minutes there (estimate).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
nlc=$repo/node_modules/node-llama-cpp
backend=cpu archs_request=local portable=0 tools=0 print_dir=0 print_plan=0 jobs=$(nproc)
while [ $# -gt 0 ]; do
  case $1 in
    --cuda) backend=cuda ;;
    --cuda-archs) backend=cuda archs_request=${2:?--cuda-archs needs a list such as "80;90", local or default}; shift ;;
    --portable) portable=1 ;;
    --tools) tools=1 ;;
    --jobs) jobs=${2:?--jobs needs a number}; shift ;;
    --print-dir) print_dir=1 ;;
    --print-plan) print_plan=1 ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

[ -f "$nlc/package.json" ] || { echo "missing $nlc: run npm ci first" >&2; exit 1; }
nlc_version=$(node -p "require('$nlc/package.json').version")
archs="" cmake_archs="" toolkit="" nvcc_bin=""
if [ "$backend" = cuda ]; then
  local_ccs=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | sort -u | paste -sd';' || true)
  plan=$(cd "$repo" && node --import tsx scripts/cuda-build-plan.ts --archs "$archs_request" --local "$local_ccs") || exit 2
  eval "$plan"
  archs=$plan_archs cmake_archs=$plan_cmake_archs
  for candidate in nvcc /usr/local/cuda/bin/nvcc; do
    toolkit=$("$candidate" --version 2>/dev/null | sed -n 's/.*release \([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' || true)
    [ -n "$toolkit" ] && { nvcc_bin=$(command -v "$candidate"); break; }
  done
fi
flags="backend=$backend archs=$cmake_archs portable=$portable"
# A CUDA build made by another toolkit is another build.
[ "$backend" = cuda ] && flags="$flags nvcc=${toolkit:-none}"
# The engine loads only a build whose patchesHash matches its tree (src/engine/nativeBinding.ts computes it alike).
patches_hash=$(LC_ALL=C; cat "$repo"/native/patches/*.patch | sha256sum | cut -c1-16)
key=$( { echo "node-llama-cpp $nlc_version"; echo "$flags"; echo "$patches_hash"; cat "$nlc"/llama/patches/*.diff; } | sha256sum | cut -c1-16)
cache_root=${ADAPTD_NATIVE_CACHE:-$HOME/.cache/adaptd/native}
dir=$cache_root/$key
if [ "$print_dir" = 1 ]; then echo "$dir"; exit 0; fi

node_include=$(node -p "require('path').resolve(process.execPath, '../../include/node')")
cmake_args=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DCMAKE_JS_INC="$node_include"
  -DNLC_CURRENT_PLATFORM=linux-x64 -DNLC_TARGET_PLATFORM=linux-x64 -DGGML_BUILD_NUMBER=1
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_BUILD_MTMD=OFF
  -DLLAMA_BUILD_TOOLS="$([ $tools = 1 ] && echo ON || echo OFF)" -DLLAMA_BUILD_SERVER="$([ $tools = 1 ] && echo ON || echo OFF)"
  -DGGML_NATIVE="$([ $portable = 1 ] && echo OFF || echo ON)")
if [ "$backend" = cuda ]; then
  cmake_args+=(-DGGML_CUDA=ON -DGGML_CUDA_NCCL=OFF "-DCMAKE_CUDA_ARCHITECTURES=$cmake_archs")
  [ -n "$nvcc_bin" ] && cmake_args+=("-DCMAKE_CUDA_COMPILER=$nvcc_bin")
fi
if command -v ccache > /dev/null; then
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$HOME/.cache/adaptd}
  cmake_args+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
targets=(llama-addon)
[ "$tools" = 1 ] && targets+=(llama-server llama-quantize llama-batched-bench)

if [ "$print_plan" = 1 ]; then
  echo "backend: $backend (node-llama-cpp $nlc_version, patches $patches_hash)"
  if [ "$backend" = cuda ]; then
    echo "architectures: $archs ($plan_arch_source)"
    echo "cmake architectures: $cmake_archs"
    echo "toolkit: nvcc ${toolkit:-not found}"
  fi
  echo "cache: $dir (key $key)"
  printf 'configure: cmake -S %q -B %q' "$dir/src" "$dir/build"; printf ' %q' "${cmake_args[@]}"; echo
  echo "build: cmake --build $dir/build --config Release -j $jobs --target ${targets[*]}"
  exit 0
fi
# Built before, with the tools when they are asked for.
is_built() { [ -f "$dir/build-info.json" ] && { [ "$tools" = 0 ] || [ -x "$dir/build/bin/llama-server" ]; }; }
if is_built; then echo "already built: $dir/llama-addon.node"; exit 0; fi

for tool in git cmake c++; do command -v $tool > /dev/null || { echo "$tool is needed to build the native engine" >&2; exit 1; }; done
[ "$backend" = cpu ] || [ -n "$toolkit" ] || { echo "no CUDA toolkit (nvcc) found: install one no newer than the driver's CUDA version" >&2; exit 1; }
[ -f "$node_include/node_api.h" ] || { echo "Node's headers are missing ($node_include/node_api.h): install Node with its headers" >&2; exit 1; }

mkdir -p "$dir"
exec 9> "$dir.lock"
flock 9 # one build per key at a time; a second caller waits and then finds it built
if is_built; then echo "already built: $dir/llama-addon.node"; exit 0; fi
started=$(date +%s)
log=$dir/build.log
echo "building the native engine ($flags, node-llama-cpp $nlc_version) in $dir; log: $log"

# Source: node-llama-cpp's CMake project and addon, with llama.cpp from its bundle, patched afresh each time.
src=$dir/src
rm -rf "$src"
mkdir -p "$src"
cp -r "$nlc/llama/CMakeLists.txt" "$nlc/llama/cmake" "$nlc/llama/addon" "$src/"
if [ -f "$nlc/llama/gitRelease.bundle" ]; then
  git clone --quiet "$nlc/llama/gitRelease.bundle" "$src/llama.cpp" 2> "$log"
elif [ -f "${ADAPTD_LLAMA_CPP_SOURCE:-/nonexistent}/CMakeLists.txt" ]; then
  cp -r "$ADAPTD_LLAMA_CPP_SOURCE" "$src/llama.cpp" # git apply patches a folder outside git as well
else
  echo "no llama.cpp source: $nlc/llama/gitRelease.bundle is missing (run npm ci) and ADAPTD_LLAMA_CPP_SOURCE is not set" >&2; exit 1
fi
for patch in "$nlc"/llama/patches/*.diff; do # node-llama-cpp's own fixes, as its source build applies them
  git -C "$src/llama.cpp" apply --check "$patch" 2> /dev/null && git -C "$src/llama.cpp" apply "$patch"
done
git -C "$src/llama.cpp" apply "$repo/native/patches/llama.cpp-per-sequence-lora.patch"
git -C "$src" apply "$repo/native/patches/addon-sequence-lora-and-batch-sampling.patch"

# node-llama-cpp's CMakeLists asks Node for node-addon-api's include folder, resolved from the repository's modules.
NODE_PATH=$repo/node_modules cmake -S "$src" -B "$dir/build" "${cmake_args[@]}" >> "$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }
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
