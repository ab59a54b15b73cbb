#!/usr/bin/env bash
# The GPU benchmark in one go, for a lent GPU machine (one H100/H200, 16 cores, no network, a few minutes): builds
# adaptd's native engine with CUDA for this GPU and llama-server from the same cmake build of the llama.cpp source
# node-llama-cpp ships (scripts/build-native.sh --cuda-archs local --tools),
# writes a Llama 3 8B-shaped model (4096 wide, 32 layers, 8 KV heads, 14336 FFN, full vocabulary) as Q4_K_M with
# random weights and 8 rank-16 all-linear LoRAs, starts adaptd through `npm start --gpu auto` with no manual step
# (its start-up check must find the build and load it), and runs `adaptd bench` against llama-server:
# decode, aggregate tok/s at concurrency 1/8/32 with one adapter and 8 mixed, and the redactor workload.
#
# Prepare here:  scripts/gpu-bench-pack.sh        (build/gpu-bench/carry.tar.xz: node_modules + llama.cpp source)
# On the device: bash scripts/gpu-bench.sh         (carry: ["build/gpu-bench"]; results in $OUT)
#
# Options (defaults are the 8B shape):
#   --width N --layers N --heads N --kv-heads N --ffn N   model shape (shrink for a rehearsal)
#   --adapters N (8)  --threads N (nproc)  --requests N (bench requests per workload; default: the bench's)
#   --llama-server PATH   skip the build and use this llama-server (a CPU rehearsal: the reference build)
#   --gpu auto|off (auto) --budget SECONDS (480): steps that would start past it are skipped, and said so
#
# Every step appends to $OUT/progress.md as it ends (time, status, what it made); logs are $OUT/<step>.log, so a run
# cut short still leaves what it did. Exit status: 0 when every step ran, 1 otherwise.
#
# Budget on an H100/H200 with 16 cores (seconds; measured where it says so, estimates otherwise):
#     10  unpack the carry (25 MiB xz)                                  estimate
#    240  cmake build: the engine's addon with CUDA, llama-server,     3 min 48 s measured for ggml-cuda alone on the H200;
#         llama-quantize, llama-batched-bench for one arch             the rest adds little on 16 cores (estimate)
#         (in parallel) the model, 4.6 GiB Q4_K_M, and 8 F32 adapters   estimate 60-90 s, one core and the disk
#     40  npm start --gpu auto: check and load the build, load 4.6 GiB, one chat completion              estimate
#    180  adaptd bench: decode, aggregate 1/8/32 x (1 adapter, 8 mixed), redactor, both servers        estimate
#  = 470 s, under the 8 minutes the device allows a command; what does not fit in --budget is skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

width=4096 layers=32 heads=32 kv_heads=8 ffn=14336 adapters=8 threads=$(nproc) requests="" llama_server="" gpu=auto budget=480
while [ $# -gt 0 ]; do
  case "$1" in
    --width) width=$2; shift ;;
    --layers) layers=$2; shift ;;
    --heads) heads=$2; shift ;;
    --kv-heads) kv_heads=$2; shift ;;
    --ffn) ffn=$2; shift ;;
    --adapters) adapters=$2; shift ;;
    --threads) threads=$2; shift ;;
    --requests) requests=$2; shift ;;
    --llama-server) llama_server=$2; shift ;;
    --gpu) gpu=$2; shift ;;
    --budget) budget=$2; shift ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

OUT=${OUT:-$repo/build/gpu-bench-out}
mkdir -p "$OUT"
work=${GPU_BENCH_WORK:-${TMPDIR:-/tmp}/adaptd-gpu-bench}
mkdir -p "$work"
export ADAPTD_NATIVE_CACHE=$work/native
started=$(date +%s)
failed=0
progress=$OUT/progress.md
elapsed() { echo $(( $(date +%s) - started )); }
note() { printf '%s\n' "$*" | tee -a "$progress"; }
# step NAME COMMAND...: runs it with its output in $OUT/NAME.log unless the budget is spent; records the outcome.
step() {
  local name=$1; shift
  local left=$(( budget - $(elapsed) ))
  if [ "$left" -le 5 ]; then note "- $name: SKIPPED at $(elapsed)s (budget of ${budget}s spent)"; failed=1; return 1; fi
  local t0; t0=$(date +%s)
  timeout "$left" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  note "- $name: $([ $rc = 0 ] && echo ok || echo "FAILED (exit $rc)") in $(( $(date +%s) - t0 ))s, at $(elapsed)s"
  [ $rc = 0 ] || { failed=1; tail -n 15 "$OUT/$name.log" | sed 's/^/    /' >> "$progress"; }
  return $rc
}

note "# adaptd GPU benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
note "- machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; GPU: $(nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv,noheader 2>/dev/null | paste -sd';' || true)"
note "- shape: ${width} wide, ${layers} layers, ${heads} heads, ${kv_heads} KV heads, ${ffn} FFN, full vocabulary, Q4_K_M; ${adapters} rank-16 all-linear adapters; ${threads} threads"

# --- the carry: node_modules (none on the device: the checkout's is a link to nowhere there) and the llama.cpp source
carry=build/gpu-bench/carry.tar.xz
if [ ! -e node_modules/node-llama-cpp/package.json ] && [ -f "$carry" ]; then
  rm -f node_modules 2>/dev/null || true
  step unpack tar -xJf "$carry" -C "$work" && { mv "$work/node_modules" node_modules || failed=1; }
fi
if [ -d "$work/llama-src" ]; then export ADAPTD_LLAMA_CPP_SOURCE=$work/llama-src; fi
[ -e node_modules/node-llama-cpp/package.json ] || { note "- no node_modules and no $carry: run scripts/gpu-bench-pack.sh first"; exit 1; }

step doctor-before node bin/adaptd.js doctor --json --no-load --gpu "$gpu" --gpu-fallback exit
cp "$OUT/doctor-before.log" "$OUT/doctor-before.json" 2>/dev/null

# --- the build (the native engine with CUDA + llama-server, one cmake build) and, beside it, the model and adapters
model_dir=$work/model-${width}x${layers}x${ffn}
( node --import tsx scripts/gpu-bench-model.ts --out "$model_dir" --width "$width" --layers "$layers" --heads "$heads" \
    --kv-heads "$kv_heads" --ffn "$ffn" --adapters "$adapters" > "$OUT/model-files.txt" 2> "$OUT/model.log"; echo $? > "$work/model.rc" ) &
model_pid=$!
if [ -z "$llama_server" ]; then
  # Into the cache npm start reads (ADAPTD_NATIVE_CACHE): finding and checking it is the start-up's job.
  if step build bash scripts/build-native.sh --cuda-archs local --tools; then
    llama_server=$(find "$ADAPTD_NATIVE_CACHE" -path '*/build/bin/llama-server' -type f | head -1)
    note "- built: $(grep -E '^(building|built|already built)' "$OUT/build.log" | tr '\n' ' ')"
  fi
else
  note "- build: skipped, llama-server given: $llama_server"
fi
wait "$model_pid"
note "- model: exit $(cat "$work/model.rc") at $(elapsed)s; $(tail -n 1 "$OUT/model.log"); $(du -h "$model_dir/model.gguf" 2>/dev/null | cut -f1) model"
[ "$(cat "$work/model.rc")" = 0 ] || failed=1
model=$(head -n 1 "$OUT/model-files.txt")
mapfile -t adapter_files < <(tail -n +2 "$OUT/model-files.txt")
[ -f "$model" ] || { note "- no model: nothing to serve or measure"; exit 1; }

# --- npm start with --gpu auto, as a user starts it: the start-up check decides, then one chat completion
serve() {
  local log=$OUT/serve-output.log url=""
  # Its own process group, so stopping it stops npm and the node processes under it.
  setsid npm start -- --model "$model" --model-id adaptd-gpu-bench --gpu "$gpu" --threads "$threads" --port 0 \
    --context-size 4096 > "$log" 2>&1 &
  local group=$!
  for _ in $(seq 1 600); do
    url=$(sed -n 's/.*adaptd ready at \(http[^ ]*\).*/\1/p' "$log" | head -n 1)
    [ -n "$url" ] && break
    kill -0 "$group" 2>/dev/null || break
    sleep 0.5
  done
  local answer=""
  [ -n "$url" ] && answer=$(curl -s -m 60 -H 'content-type: application/json' \
    -d '{"model":"adaptd-gpu-bench","messages":[{"role":"user","content":"hi"}],"max_tokens":8,"temperature":0}' \
    "$url/v1/chat/completions")
  echo "url: ${url:-none}; answer: $answer"
  kill -TERM -- "-$group" 2>/dev/null
  for _ in $(seq 1 60); do kill -0 -- "-$group" 2>/dev/null || break; sleep 0.5; done
  kill -KILL -- "-$group" 2>/dev/null
  grep -E 'GPU|CUDA|probe|native engine|selected the cached|cannot run|per context' "$log" | head -8
  case "$answer" in *'"choices"'*) return 0 ;; *) return 1 ;; esac
}
export model gpu threads OUT
step serve bash -c "$(declare -f serve); serve"
step doctor-after node bin/adaptd.js doctor --json --gpu "$gpu" --model "$model"
cp "$OUT/doctor-after.log" "$OUT/doctor-after.json" 2>/dev/null

# --- the benchmark against llama-server
bench_args=(bench --workloads decode,aggregate,redactor --concurrency 1,8,32 --model "$model" --gpu "$gpu"
  --threads "$threads" --out "$OUT/bench")
for file in "${adapter_files[@]}"; do bench_args+=(--adapter "$file"); done
[ -n "$llama_server" ] && bench_args+=(--llama-server "$llama_server")
[ -n "$requests" ] && bench_args+=(--requests "$requests")
note "- bench command: node bin/adaptd.js ${bench_args[*]}"
step bench node bin/adaptd.js "${bench_args[@]}"
[ -f "$OUT/bench/bench.md" ] && cat "$OUT/bench/bench.md" >> "$progress"

note "- total: $(elapsed)s; $([ $failed = 0 ] && echo 'every step ran' || echo 'some steps failed or were skipped (above)')"
exit $failed
