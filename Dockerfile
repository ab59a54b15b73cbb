# syntax=docker/dockerfile:1.7
#
# adaptd: one GGUF base model, many LoRA adapters, behind an OpenAI-compatible API.
#
# GPU image (default): adaptd's patched native engine built with CUDA (scripts/build-native.sh), in a builder stage
# on a CUDA *devel* image, for a list of GPU architectures, on a slim NVIDIA CUDA *runtime* base; node-llama-cpp's
# prebuilt binaries stay in the image as the fallback.
#   docker build -t adaptd:cuda .
#   docker build -t adaptd:cuda-h100 --build-arg CUDA_ARCHS=90 .        # one architecture: a quicker build
#   docker run --gpus all -p 8080:8080 -v adaptd-models:/app/models adaptd:cuda
#
# CPU image: the same app on Debian, with node-llama-cpp's CPU binaries only (no CUDA stage is built).
#   docker build -t adaptd:cpu --build-arg GPU=off --build-arg BASE_IMAGE=debian:bookworm-slim .
#
# Without a Docker engine or registry access: scripts/container-build.sh builds the CPU image with
# podman from a locally debootstrapped base and smoke-tests it.
#
# Why the build: node-llama-cpp 3.21.1's prebuilt CUDA backend holds machine code for compute capability
# 8.6/8.9/12.0a/12.1a only and PTX made by CUDA 13.1, which a CUDA 13.0 driver (580.x) refuses, so an A100, H100,
# H200 or B200 on such a driver aborted on its first decode (and only the patched engine has per-sequence LoRA,
# so requests on different adapters share a decode). The builder compiles machine code for every
# architecture in CUDA_ARCHS (default: A100 8.0, RTX 30/A10 8.6, L4/L40S/RTX 40 8.9, H100/H200 9.0, B200 10.0,
# RTX 50 12.0) plus PTX for the lowest, with a CUDA 13.0 toolkit so every CUDA 13 driver accepts it. `adaptd serve`
# checks at start that the CUDA code of the build it loads runs on the GPU found (`adaptd doctor` shows the check).
# Estimates, not measured (no GPU build host here): the backend build took 3 min 48 s for one architecture on 16
# cores, and the CUDA kernels dominate, so the default six (plus one PTX) take roughly 25 minutes on 16 cores and
# hours on 4; the engine's addon then holds six machine-code images and one PTX where the prebuilt CUDA library
# (159 MB) holds four and three, so expect it in the same range (about 150-250 MB), next to the prebuilt fallback;
# the image size is dominated by the CUDA runtime base with cuBLAS. The build prints its time (`built ... in ...s`).

# The runtime base: anything Debian/Ubuntu-like with apt (glibc >= 2.34 for the binaries).
ARG BASE_IMAGE=nvidia/cuda:13.1.1-runtime-ubuntu24.04
# Where node and npm come from: the official Node 20 image (node in /usr/local/bin, headers in /usr/local/include).
ARG NODE_IMAGE=node:20.20.2-bookworm-slim
# cuda: keep @node-llama-cpp/linux-<arch>-cuda and run with --gpu cuda; off: keep @node-llama-cpp/linux-<arch>, --gpu off.
ARG GPU=cuda
# The builder of the CUDA backend: a CUDA *devel* image (nvcc, cuBLAS headers). CUDA 13.0, the oldest CUDA 13:
# its PTX is accepted by every CUDA 13 driver, and its machine code runs under any of them.
ARG CUDA_DEVEL_IMAGE=nvidia/cuda:13.0.0-devel-ubuntu24.04
# GPU architectures (compute capability x10) to compile machine code for; see scripts/build-native.sh --help.
ARG CUDA_ARCHS="80;86;89;90;100;120"

# ---------------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS node

# ---------------------------------------------------------------------------------------------------------
# deps: production node_modules from the lock file. better-sqlite3 compiles here when its prebuilt binary
# cannot be downloaded, hence the toolchain; node-gyp uses the image's own headers (no download).
FROM ${NODE_IMAGE} AS deps
ARG GPU
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_LLAMA_CPP_SKIP_DOWNLOAD=true \
    npm_config_nodedir=/usr/local \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
COPY package.json package-lock.json ./
# An optional build secret `npm_ca` (a PEM bundle) for registries behind a TLS-intercepting proxy:
#   --secret id=npm_ca,src=/etc/ssl/certs/ca-certificates.crt
RUN --mount=type=secret,id=npm_ca \
    if [ -s /run/secrets/npm_ca ]; then \
      export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca npm_config_cafile=/run/secrets/npm_ca; \
    fi; \
    npm ci --omit=dev
# Keep only the node-llama-cpp binary package this image runs on; the others are hundreds of MB.
RUN set -eu; \
    case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) echo "unsupported arch $(uname -m)" >&2; exit 1 ;; esac; \
    case "$GPU" in cuda) keep="linux-$arch-cuda" ;; off) keep="linux-$arch" ;; *) echo "GPU must be cuda or off, not $GPU" >&2; exit 1 ;; esac; \
    test -f "node_modules/@node-llama-cpp/$keep/package.json" || { echo "missing @node-llama-cpp/$keep" >&2; exit 1; }; \
    for dir in node_modules/@node-llama-cpp/*; do \
      [ "$(basename "$dir")" = "$keep" ] || rm -rf "$dir"; \
    done; \
    rm -rf node_modules/node-llama-cpp/llama/localBuilds; \
    mkdir -p native-builds; \
    echo "node-llama-cpp binaries kept: $(ls node_modules/@node-llama-cpp)"

# ---------------------------------------------------------------------------------------------------------
# backend-off: the CPU image's node_modules as they are.
FROM deps AS backend-off

# backend-cuda: adaptd's native engine (node-llama-cpp's addon and the llama.cpp source it ships, with
# native/patches) built with CUDA for CUDA_ARCHS by scripts/build-native.sh (no network beyond apt); the runtime
# finds it in /app/native-builds (ADAPTD_NATIVE_CACHE). Only built when GPU=cuda.
FROM ${CUDA_DEVEL_IMAGE} AS backend-cuda
ARG CUDA_ARCHS
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates cmake git g++ make \
 && rm -rf /var/lib/apt/lists/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/include/node /usr/local/include/node
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY scripts/build-native.sh scripts/cuda-build-plan.ts ./scripts/
COPY src/engine/cudaBuildPlan.ts src/engine/cudaCapability.ts ./src/engine/
COPY native/patches ./native/patches
# --portable: the CPU code of the build runs on any x86-64, not only on the build host's CPU. Only the addon and its
# build-info.json are kept (the engine loads a build whose patch hash matches the image's native/patches).
RUN export ADAPTD_NATIVE_CACHE=/tmp/native \
 && bash scripts/build-native.sh --cuda-archs "$CUDA_ARCHS" --portable \
 && build=$(bash scripts/build-native.sh --cuda-archs "$CUDA_ARCHS" --portable --print-dir) \
 && mkdir -p "native-builds/$(basename "$build")" \
 && cp "$build/llama-addon.node" "$build/build-info.json" "native-builds/$(basename "$build")/" \
 && rm -rf /tmp/native

FROM backend-${GPU} AS backend

# ---------------------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime
ARG GPU
# tini is PID 1: it forwards SIGTERM to node (which drains and exits 0) and reaps zombies.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN groupadd --system --gid 10001 adaptd \
 && useradd --system --uid 10001 --gid adaptd --home-dir /app --no-create-home --shell /usr/sbin/nologin adaptd
WORKDIR /app
COPY --from=backend /app/node_modules ./node_modules
# The native engine's builds (none in the CPU image) and the patches they must match.
COPY --from=backend /app/native-builds ./native-builds
COPY native/patches ./native/patches
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
# models/ is the writable volume: generated demo models, converted adapters, the CUDA kernel cache.
RUN mkdir -p models/adapters models/generated models/.nv/ComputeCache \
 && chown -R adaptd:adaptd models
ENV NODE_ENV=production \
    ADAPTD_HOST=0.0.0.0 \
    ADAPTD_PORT=8080 \
    ADAPTD_GPU=${GPU} \
    ADAPTD_DATA_DIR=/app/models/generated \
    ADAPTD_NATIVE_CACHE=/app/native-builds \
    NODE_LLAMA_CPP_SKIP_DOWNLOAD=true \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    CUDA_CACHE_PATH=/app/models/.nv/ComputeCache \
    CUDA_CACHE_MAXSIZE=4294967296
VOLUME ["/app/models"]
USER adaptd:adaptd
EXPOSE 8080
# The first start of a CUDA image on a new GPU compiles kernels: give it a long start period.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10m --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.ADAPTD_PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
# `adaptd <command>`: serve by default; e.g. `docker run IMAGE pull` or `docker run IMAGE serve --help`.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/adaptd.js"]
CMD ["serve"]
