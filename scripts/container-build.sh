#!/usr/bin/env bash
# Builds the CPU variant of the adaptd image and smoke-tests it, on a machine with no Docker engine and no
# access to any container registry: podman (Debian's package) with runc, a Debian bookworm base made locally
# with debootstrap and `podman import`, and the host's own Node 20 copied into a local stand-in for the
# official node image (Debian bookworm ships Node 18; node-llama-cpp 3.21.1 needs Node >= 20).
#
#   scripts/container-build.sh              build (reusing the cached base images) and smoke-test
#   scripts/container-build.sh --rebuild-base   debootstrap the base again
#   scripts/container-build.sh --keep       leave the smoke-test container for inspection
#   scripts/container-build.sh --gpu        then also build the GPU image (GPU=cuda) on the CUDA runtime base pulled
#                                           from Docker Hub, and check its CUDA libraries resolve (no GPU needed)
#
# Environment: ADAPTD_CONTAINER_CACHE (default ~/.cache/adaptd/container: base rootfs, podman storage, logs),
# DEBIAN_MIRROR (default http://deb.debian.org/debian), CA_BUNDLE (default: the host's bundle, handed to
# `npm ci` as the build secret npm_ca), SMOKE_PORT (default 18080), SMOKE_TIMEOUT (seconds, default 300).
# The cache keeps earlier builds' layers (a warm rebuild takes under a minute); delete the folder to reclaim space.
#
# Each step prints "==> step"; a step that cannot run here ends the script with
# "STEP <name> CANNOT RUN ON THIS MACHINE: <why>" and the tail of that step's log, and exit status 3
# (exit status 1 is a real failure of the image: it built but did not answer as it should).
set -uo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
cache="${ADAPTD_CONTAINER_CACHE:-$HOME/.cache/adaptd/container}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
port="${SMOKE_PORT:-18080}"
smoke_timeout="${SMOKE_TIMEOUT:-300}"
base_image="localhost/adaptd-base:bookworm"
node_image="localhost/adaptd-node:20"
app_image="localhost/adaptd:cpu"
container="adaptd-smoke-$$"
rebuild_base=false
keep=false
gpu=false
cuda_base="${CUDA_BASE_IMAGE:-docker.io/nvidia/cuda:13.1.1-runtime-ubuntu24.04}"
for arg in "$@"; do
  case "$arg" in
    --rebuild-base) rebuild_base=true ;;
    --keep) keep=true ;;
    --gpu) gpu=true ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument $arg" >&2; exit 2 ;;
  esac
done

mkdir -p "$cache/logs"
log_dir="$cache/logs"

say() { printf '==> %s\n' "$*"; }
cannot() { # step, why, [log]
  printf '\nSTEP %s CANNOT RUN ON THIS MACHINE: %s\n' "$1" "$2" >&2
  [ -n "${3:-}" ] && [ -f "$3" ] && { echo "--- last lines of $3:" >&2; tail -n 25 "$3" >&2; }
  exit 3
}
fail() { # step, why, [log]
  printf '\nSTEP %s FAILED: %s\n' "$1" "$2" >&2
  [ -n "${3:-}" ] && [ -f "$3" ] && { echo "--- last lines of $3:" >&2; tail -n 40 "$3" >&2; }
  exit 1
}

# ---------------------------------------------------------------------------------------------------------
say "preflight: tools"
[ "$(id -u)" = 0 ] || cannot preflight "needs root (podman as root with runc; rootless podman needs subuid ranges this script does not set up)"
missing=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing podman runc debootstrap fuse-overlayfs from Debian's packages (missing: ${missing[*]})"
  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends \
      podman runc debootstrap fuse-overlayfs uidmap slirp4netns netavark containernetworking-plugins; } >"$log_dir/apt.log" 2>&1 \
    || cannot preflight "apt-get install of podman/runc/debootstrap failed" "$log_dir/apt.log"
fi
command -v node >/dev/null || cannot preflight "no node on this machine to copy into the image"

# podman configuration for this machine, kept in the cache so the system's own podman setup is untouched:
# runc (crun fails here on hybrid cgroups), cgroupfs, file events (no systemd), and default ulimits below the
# hard limits of this machine (podman as root asks for nofile/nproc limits a VM's init may not grant).
hard_nofile="$(ulimit -Hn)"; [ "$hard_nofile" = unlimited ] && hard_nofile=1048576
nofile=$(( hard_nofile < 65536 ? hard_nofile : 65536 ))
hard_nproc="$(ulimit -Hu)"; [ "$hard_nproc" = unlimited ] && hard_nproc=65536
nproc=$(( hard_nproc < 16384 ? hard_nproc : 16384 ))
cat >"$cache/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_CONF="$cache/containers.conf"
storage_opts=()
# overlay cannot sit on overlayfs; fuse-overlayfs can.
if [ "$(stat -f -c %T "$cache")" = overlayfs ] && command -v fuse-overlayfs >/dev/null; then
  storage_opts=(--storage-opt overlay.mount_program=/usr/bin/fuse-overlayfs)
fi
podman_cmd=(podman --root "$cache/storage" --runroot /run/adaptd-podman --storage-driver overlay "${storage_opts[@]}"
  --runtime runc --cgroup-manager cgroupfs --events-backend file)
pm() { "${podman_cmd[@]}" "$@"; }
pm info >"$log_dir/podman-info.log" 2>&1 || cannot preflight "podman info fails" "$log_dir/podman-info.log"
say "podman $(podman --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1{print $3}'), cgroups $(awk '/cgroupVersion/{print $2}' "$log_dir/podman-info.log"), ulimits nofile=$nofile nproc=$nproc, storage $cache/storage"

# ---------------------------------------------------------------------------------------------------------
if $rebuild_base || ! pm image exists "$base_image"; then
  say "base: debootstrap Debian bookworm (minbase) from $mirror"
  rootfs="$cache/rootfs-bookworm"
  rm -rf "$rootfs"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror" >"$log_dir/debootstrap.log" 2>&1 \
    || cannot base "debootstrap failed (is $mirror reachable?)" "$log_dir/debootstrap.log"
  cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
EOF
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  say "base: podman import -> $base_image"
  tar -C "$rootfs" --numeric-owner -c . | pm import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' - "$base_image" >"$log_dir/import.log" 2>&1 \
    || cannot base "podman import failed" "$log_dir/import.log"
  rm -rf "$rootfs"
  pm rmi "$node_image" >/dev/null 2>&1 || true
else
  say "base: $base_image already built (--rebuild-base to redo)"
fi

# ---------------------------------------------------------------------------------------------------------
# The node image: Debian's nodejs is too old, so the host's Node 20 (binary, npm, headers) is copied into
# the base with the official node image's layout (/usr/local/bin/node, /usr/local/include/node).
debian_node="$(apt-cache madison nodejs 2>/dev/null | awk -F'|' '$3 ~ /debian/ {gsub(/ /, "", $2); print $2; exit}')"
host_node="$(readlink -f "$(command -v node)")"
host_node_version="$(node --version)"
host_node_major="${host_node_version#v}"; host_node_major="${host_node_major%%.*}"
[ "$host_node_major" -ge 20 ] || cannot node-image "the host's node is $host_node_version; node-llama-cpp 3.21.1 needs Node >= 20"
if ! pm image exists "$node_image" || [ "$(pm image inspect --format '{{ index .Labels "adaptd.node-version" }}' "$node_image" 2>/dev/null)" != "$host_node_version" ]; then
  say "node image: Debian's nodejs is ${debian_node:-not available}, node-llama-cpp needs >= 20: copying the host's node $host_node_version ($host_node)"
  prefix="$(dirname "$(dirname "$host_node")")"
  npm_dir="$(npm root -g 2>/dev/null)/npm"
  [ -f "$npm_dir/bin/npm-cli.js" ] || cannot node-image "npm not found at $npm_dir"
  [ -f "$prefix/include/node/node.h" ] || cannot node-image "node headers not found at $prefix/include/node (node-gyp needs them, offline)"
  ctx="$cache/node-context"
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$host_node" "$ctx/node"
  cp -a "$npm_dir" "$ctx/npm"
  cp -a "$prefix/include/node" "$ctx/include-node"
  cat >"$ctx/Containerfile" <<EOF
FROM $base_image
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY include-node /usr/local/include/node
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && node --version && npm --version
LABEL adaptd.node-version="$host_node_version"
CMD ["node"]
EOF
  pm build --pull=never --network host -t "$node_image" -f "$ctx/Containerfile" "$ctx" >"$log_dir/node-image.log" 2>&1 \
    || cannot node-image "building the node image failed" "$log_dir/node-image.log"
  rm -rf "$ctx"
else
  say "node image: $node_image already holds node $host_node_version"
fi

# ---------------------------------------------------------------------------------------------------------
ca_bundle="${CA_BUNDLE:-${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}}"
[ -s "$ca_bundle" ] || cannot app-image "no CA bundle at $ca_bundle for npm ci (set CA_BUNDLE)"
build_args=(--format docker --pull=never --network host
  --build-arg BASE_IMAGE="$base_image" --build-arg NODE_IMAGE="$node_image" --build-arg GPU=off
  --secret id=npm_ca,src="$ca_bundle" -t "$app_image" -f "$here/Dockerfile")
# Reuse the host's npm cache read-only (an overlay: the build's writes stay in the build) to spare downloads.
[ -d "$HOME/.npm/_cacache" ] && build_args+=(--volume "$HOME/.npm:/root/.npm:O")
say "app image: podman build $app_image (GPU=off, CPU binaries only); log: $log_dir/app-image.log"
started=$(date +%s)
nice -n 10 "${podman_cmd[@]}" build "${build_args[@]}" "$here" >"$log_dir/app-image.log" 2>&1 \
  || cannot app-image "podman build of the Dockerfile failed" "$log_dir/app-image.log"
say "app image built in $(( $(date +%s) - started ))s: $(pm image inspect --format '{{.Size}}' "$app_image" | awk '{printf "%.0f MB", $1/1e6}')"
kept="$(pm run --rm --entrypoint ls "$app_image" node_modules/@node-llama-cpp 2>/dev/null | tr '\n' ' ')"
[ "$kept" = "linux-x64 " ] || fail app-image "expected only @node-llama-cpp/linux-x64 in the CPU image, found: $kept"
user="$(pm image inspect --format '{{.Config.User}}' "$app_image")"
case "$user" in ""|root|0|0:*|root:*) fail app-image "the image runs as root (USER '$user')" ;; esac
volumes="$(pm image inspect --format '{{json .Config.Volumes}}' "$app_image")"
case "$volumes" in *'"/app/models"'*) ;; *) fail app-image "/app/models is not a VOLUME (got $volumes)" ;; esac
say "app image: node-llama-cpp binaries: $kept; user $user; volumes $volumes"

# ---------------------------------------------------------------------------------------------------------
cleanup() {
  $keep || pm rm -f -v "$container" >/dev/null 2>&1 || true
}
trap cleanup EXIT
# A read-only root with a /tmp tmpfs, as deploy/kubernetes runs it (readOnlyRootFilesystem).
say "smoke: podman run $app_image on 127.0.0.1:$port, read-only root (demo model, generated at first start)"
pm run -d --name "$container" --read-only --tmpfs /tmp -p "127.0.0.1:$port:8080" "$app_image" >"$log_dir/run.log" 2>&1 \
  || cannot smoke-run "podman run failed" "$log_dir/run.log"
base_url="http://127.0.0.1:$port"
deadline=$(( $(date +%s) + smoke_timeout ))
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$base_url/health")" = 200 ]; do
  if [ "$(pm inspect --format '{{.State.Running}}' "$container")" != true ]; then
    pm logs "$container" >"$log_dir/container.log" 2>&1
    fail smoke-health "the container exited before /health answered 200" "$log_dir/container.log"
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    pm logs "$container" >"$log_dir/container.log" 2>&1
    fail smoke-health "/health did not answer 200 within ${smoke_timeout}s" "$log_dir/container.log"
  fi
  sleep 2
done
say "smoke: GET /health -> 200 $(curl -s "$base_url/health")"

say "smoke: image HEALTHCHECK"
health_test="$(pm image inspect --format '{{json .HealthCheck.Test}}' "$app_image" 2>/dev/null)"
case "$health_test" in *"/health"*) ;; *) fail smoke-healthcheck "the image has no HEALTHCHECK on /health (got: $health_test)" ;; esac
if pm healthcheck run "$container" >"$log_dir/healthcheck.log" 2>&1; then
  say "smoke: podman healthcheck run -> healthy"
else
  fail smoke-healthcheck "the image's HEALTHCHECK command failed in the running container" "$log_dir/healthcheck.log"
fi

say "smoke: POST /v1/chat/completions (demo-a)"
body='{"model":"demo-a","messages":[{"role":"user","content":"hi"}],"max_tokens":4,"temperature":0}'
status="$(curl -s -o "$log_dir/chat.json" -w '%{http_code}' -H 'content-type: application/json' -d "$body" "$base_url/v1/chat/completions")"
[ "$status" = 200 ] || fail smoke-chat "chat completion answered $status" "$log_dir/chat.json"
content="$(node -e 'const b = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); process.stdout.write(JSON.stringify(b.choices[0].message.content))' "$log_dir/chat.json")" \
  || fail smoke-chat "the answer is not a chat completion" "$log_dir/chat.json"
say "smoke: answer $content"
[ "$content" = '" A A A A"' ] || fail smoke-chat "expected \" A A A A\" from demo-a, got $content" "$log_dir/chat.json"

say "smoke: SIGTERM (drain and exit)"
pm kill --signal TERM "$container" >/dev/null
exit_code="$(timeout 60 "${podman_cmd[@]}" wait "$container" 2>/dev/null)" || fail smoke-sigterm "the container did not exit within 60s of SIGTERM"
pm logs "$container" >"$log_dir/container.log" 2>&1
[ "$exit_code" = 0 ] || fail smoke-sigterm "exit status $exit_code after SIGTERM, not 0" "$log_dir/container.log"
grep -q "SIGTERM" "$log_dir/container.log" || fail smoke-sigterm "the exit did not go through adaptd's SIGTERM handler" "$log_dir/container.log"
say "smoke: exited 0 after SIGTERM ($(grep -m1 SIGTERM "$log_dir/container.log"))"

printf '\nOK: %s built and answered /health, HEALTHCHECK, a chat completion (%s), and exited 0 on SIGTERM\n' "$app_image" "$content"

# ---------------------------------------------------------------------------------------------------------
if ! $gpu; then
  say "GPU image not attempted (--gpu): it needs $cuda_base from Docker Hub"
  exit 0
fi
say "gpu: pulling $cuda_base"
timeout 1200 "${podman_cmd[@]}" pull "$cuda_base" >"$log_dir/cuda-pull.log" 2>&1 \
  || cannot gpu-base "the CUDA runtime base cannot be pulled: $(grep -m1 -i error "$log_dir/cuda-pull.log")" "$log_dir/cuda-pull.log"
say "gpu: podman build localhost/adaptd:cuda (GPU=cuda)"
nice -n 10 "${podman_cmd[@]}" build --format docker --pull=never --network host --build-arg BASE_IMAGE="$cuda_base" \
  --build-arg NODE_IMAGE="$node_image" --build-arg GPU=cuda --secret id=npm_ca,src="$ca_bundle" \
  -t localhost/adaptd:cuda -f "$here/Dockerfile" "$here" >"$log_dir/cuda-image.log" 2>&1 \
  || cannot gpu-image "podman build of the GPU image failed" "$log_dir/cuda-image.log"
# Without a GPU the server cannot start here; check what it would load: the CUDA package and its libraries.
pm run --rm --entrypoint sh localhost/adaptd:cuda -c \
  'ls node_modules/@node-llama-cpp; ldd node_modules/@node-llama-cpp/linux-x64-cuda/bins/linux-x64-cuda/libggml-cuda.so' \
  >"$log_dir/cuda-libs.log" 2>&1 || fail gpu-image "could not inspect the GPU image" "$log_dir/cuda-libs.log"
[ "$(head -1 "$log_dir/cuda-libs.log")" = linux-x64-cuda ] || fail gpu-image "expected only @node-llama-cpp/linux-x64-cuda" "$log_dir/cuda-libs.log"
grep -E 'lib(cudart|cublas)\.so\.13 => /' "$log_dir/cuda-libs.log" | grep -c . | grep -qx 2 \
  || fail gpu-image "libcudart.so.13 / libcublas.so.13 do not resolve in the GPU image" "$log_dir/cuda-libs.log"
say "gpu: localhost/adaptd:cuda built; libcudart.so.13 and libcublas.so.13 resolve (libcuda.so.1 comes from the driver at run time)"
