import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import {
  decideCudaBackend,
  parseDriverCudaVersion,
  parseNvccVersion,
  parseNvidiaSmiQuery,
  readCudaLibrary,
  type Arch,
  type CudaBackend,
  type CudaDecision,
  type CudaDevice,
  type CudaDriver,
  type CudaLibraryInfo,
  type CudaSituation,
  type CudaVersion,
  type GpuFallback,
} from './cudaCapability.js';
import type { ProbeResult } from './cudaProbe.js';
import { nativeBuilds, selectNativeBuild } from './nativeBinding.js';

/**
 * The I/O around cudaCapability.ts: what nvidia-smi and nvcc say, which CUDA code the engine would load (the patched
 * engine's CUDA builds in the native cache, else node-llama-cpp's prebuilt libggml-cuda.so), and acting on the
 * start-up decision (selecting a cached build, running scripts/build-native.sh --cuda). Nothing here loads CUDA.
 */

const projectRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const NATIVE_BUILD_SCRIPT = path.join(projectRoot, 'scripts/build-native.sh');
const TOOL_TIMEOUT_MS = 15_000;

function run(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', timeout: TOOL_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

export interface NvidiaGpus {
  devices: CudaDevice[];
  driver?: CudaDriver;
  /** Why none were listed, when none were. */
  note?: string;
}

/** The NVIDIA GPUs nvidia-smi lists, with the driver and the CUDA version it supports. */
export function probeNvidiaGpus(): NvidiaGpus {
  const query = run('nvidia-smi', ['--query-gpu=index,name,compute_cap,driver_version,memory.total', '--format=csv,noheader,nounits']);
  if (query === undefined) return { devices: [], note: 'nvidia-smi is not installed or failed (no NVIDIA driver)' };
  const rows = parseNvidiaSmiQuery(query);
  if (rows.length === 0) return { devices: [], note: 'nvidia-smi lists no GPU' };
  const cuda = parseDriverCudaVersion(run('nvidia-smi', []) ?? '');
  const devices = rows.map(({ driverVersion: _, ...device }) => device);
  if (!cuda) return { devices, note: "nvidia-smi does not say which CUDA version the driver supports" };
  return { devices, driver: { version: rows[0].driverVersion, cuda } };
}

/** nvcc's release, from PATH or the usual install folder; undefined without a CUDA toolkit. */
export function findCudaToolkit(): CudaVersion | undefined {
  for (const nvcc of ['nvcc', '/usr/local/cuda/bin/nvcc']) {
    const version = parseNvccVersion(run(nvcc, ['--version']) ?? '');
    if (version) return version;
  }
  return undefined;
}

/** node-llama-cpp's prebuilt CUDA backend: libggml-cuda.so in its CUDA binary package, if installed. */
export function installedCudaLibraryPath(): string | undefined {
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  const packageName = `@node-llama-cpp/${process.platform}-${arch}-cuda`;
  try {
    // The package exports only its entry (dist/index.js), not package.json.
    const packageDir = path.dirname(path.dirname(createRequire(import.meta.url).resolve(packageName)));
    const bins = path.join(packageDir, 'bins', `${process.platform}-${arch}-cuda`);
    // The package without its library (a pruned install) still counts: a build put there makes it whole.
    return existsSync(bins) ? path.join(bins, 'libggml-cuda.so') : undefined;
  } catch {
    return undefined;
  }
}

export function inspectCudaLibrary(file: string): CudaLibraryInfo {
  const fd = openSync(file, 'r');
  try {
    return readCudaLibrary((offset, length) => {
      const bytes = Buffer.alloc(length);
      return bytes.subarray(0, readSync(fd, bytes, 0, length, offset));
    });
  } finally {
    closeSync(fd);
  }
}

/**
 * The patched engine's CUDA builds (scripts/build-native.sh --cuda), the one loadLlama loads first; each is one
 * statically linked llama-addon.node that holds its CUDA kernels. Unreadable ones are skipped.
 */
export function cachedCudaBuilds(): CudaBackend[] {
  return nativeBuilds('cuda').flatMap(({ addonPath }) => {
    try {
      return [{ path: addonPath, origin: 'cached' as const, ...inspectCudaLibrary(addonPath) }];
    } catch {
      return [];
    }
  });
}

export const buildCommandFor = (archs: Arch[]) =>
  `${path.relative(process.cwd(), NATIVE_BUILD_SCRIPT) || NATIVE_BUILD_SCRIPT} --cuda --cuda-archs "${archs.join(';')}"`;

/**
 * Everything the decision needs, read from this machine. The backend checked is the CUDA code the engine will load:
 * the newest patched CUDA build when --native-engine auto finds one (older ones are the alternatives), else
 * node-llama-cpp's prebuilt library. With --native-engine off only the prebuilt library can load, so a build would
 * not help: start-up stops with the command instead of building.
 */
export function readCudaSituation(gpu: CudaSituation['gpu'], fallback: GpuFallback, native: 'auto' | 'off'): CudaSituation & { note?: string } {
  const cudaWanted = gpu === 'auto' || gpu === 'cuda';
  const nvidia: NvidiaGpus = cudaWanted ? probeNvidiaGpus() : { devices: [], note: `--gpu ${gpu}` };
  // Patched builds only matter, and are only read, when there is a GPU to run them on.
  const [loaded, ...alternatives] = nvidia.devices.length > 0 && native === 'auto' ? cachedCudaBuilds() : [];
  const prebuiltPath = cudaWanted && !loaded ? installedCudaLibraryPath() : undefined;
  const prebuilt: CudaBackend | undefined = prebuiltPath
    ? { path: prebuiltPath, origin: 'installed', ...(existsSync(prebuiltPath) ? inspectCudaLibrary(prebuiltPath) : { images: [], missing: true }) }
    : undefined;
  return {
    gpu,
    fallback: native === 'off' && fallback === 'build' ? 'exit' : fallback,
    devices: nvidia.devices,
    driver: nvidia.driver,
    installed: loaded ?? prebuilt,
    cached: alternatives,
    toolkit: cudaWanted ? findCudaToolkit() : undefined,
    buildCommand: native === 'off' ? (archs) => `${buildCommandFor(archs)}   (and start with --native-engine auto)` : buildCommandFor,
    note: nvidia.note,
  };
}

export class GpuBackendError extends Error {
  override name = 'GpuBackendError';
}

export interface CudaStartup {
  /** The GPU mode the engine should load with ('off' after a CPU fallback the user asked for). */
  gpu: CudaSituation['gpu'];
  decision: CudaDecision;
  /** What was done, for the log. */
  steps: string[];
}

/**
 * Makes sure the CUDA backend node-llama-cpp will load can run on this machine's GPUs before any model is loaded:
 * keeps it when it can, installs a cached build that can, builds one (when a toolkit is here and --gpu-fallback is
 * build), or serves on the CPU when --gpu-fallback cpu; otherwise throws GpuBackendError with what to run.
 */
export function prepareCudaBackend(initial: CudaSituation, log: (line: string) => void, probe?: () => ProbeResult): CudaStartup {
  const steps: string[] = [];
  const step = (text: string) => {
    steps.push(text);
    log(text);
  };
  const { gpu } = initial;
  let situation = initial;
  let decision = decideCudaBackend(situation);
  if (decision.action === 'build') {
    log(`${decision.problem}\nbuilding a CUDA backend for this GPU (${decision.command}); this takes minutes`);
    const built = spawnSync('bash', [NATIVE_BUILD_SCRIPT, '--cuda-archs', decision.archs.join(';')], { stdio: ['ignore', 2, 2] });
    step(`built the native engine for this GPU: ${decision.command} (exit status ${built.status})`);
    // Decide again on what is there now; a second failure stops with instructions instead of building again.
    situation = readCudaSituation(gpu, 'exit', 'auto');
    decision = decideCudaBackend(situation);
    if (decision.action === 'exit') throw new GpuBackendError(`the CUDA backend build did not produce one that runs here (exit status ${built.status}).\n${decision.message}`);
  }
  const checked = useDecision(situation, decision, step);
  // The static check passed: a one-token decode in a child process confirms it before the server loads anything.
  if (checked.decision.action === 'use' && probe) {
    const result = probe();
    if (result.ok) {
      step(`probe: one token decoded on the GPU in a child process (${result.detail})`);
    } else {
      const problem = `the CUDA backend ${checked.decision.backend.path} passed the architecture check but a one-token decode on the GPU failed in a child process (${result.detail})`;
      if (initial.fallback === 'cpu') {
        step(`serving on the CPU as --gpu-fallback cpu asks: ${problem}`);
        return { gpu: 'off', decision: { action: 'cpu', problem }, steps };
      }
      throw new GpuBackendError(
        `${problem}.\nTo fix it, build the backend for this GPU: ${situation.buildCommand(situation.devices.map((d) => d.computeCapability))}\n` +
          'or serve on the CPU: --gpu-fallback cpu (or --gpu off); `adaptd doctor` shows what the check saw.',
      );
    }
  }
  return { ...checked, steps };
}

/** Acts on a decision that needs no more building: selects a cached build, falls back to the CPU, or stops. */
function useDecision(situation: CudaSituation, decision: CudaDecision, step: (text: string) => void): Omit<CudaStartup, 'steps'> {
  const { gpu } = situation;
  switch (decision.action) {
    case 'select': {
      try {
        selectNativeBuild(decision.backend.path);
      } catch (error) {
        throw new GpuBackendError(
          `${decision.problem}.\nA build that runs here is cached at ${decision.backend.path}, but it cannot be selected ` +
            `(${(error as Error).message}): start as a user who may write to ${path.dirname(decision.backend.path)}.`,
        );
      }
      step(`selected the cached native engine build ${path.dirname(decision.backend.path)} (its CUDA code runs on this GPU)`);
      return { gpu, decision: { action: 'use', backend: decision.backend, verdicts: decision.verdicts } };
    }
    case 'cpu':
      step(`serving on the CPU as --gpu-fallback cpu asks: ${decision.problem}`);
      return { gpu: 'off', decision };
    case 'exit':
      throw new GpuBackendError(decision.message);
    default:
      return { gpu, decision };
  }
}
