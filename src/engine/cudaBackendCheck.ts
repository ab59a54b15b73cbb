import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, openSync, readdirSync, readSync, renameSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {
  checkBackend,
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

/**
 * The I/O around cudaCapability.ts: what nvidia-smi and nvcc say, which CUDA libraries exist, and acting on the
 * start-up decision (installing a cached build, running the build script). Nothing here loads CUDA.
 */

const projectRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const CUDA_BUILD_SCRIPT = path.join(projectRoot, 'scripts/build-cuda-backend.sh');
const TOOL_TIMEOUT_MS = 15_000;

/** Where the build script caches backends (the native engine's cache): one folder per build key. */
export function nativeCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.ADAPTD_NATIVE_CACHE ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'adaptd', 'native');
}

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

/** The CUDA backend node-llama-cpp loads: libggml-cuda.so in its CUDA binary package, if installed. */
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

/** Backends the build script cached (<cache>/<build>/libggml-cuda.so), newest first; unreadable ones are skipped. */
export function cachedCudaBackends(cacheRoot = nativeCacheRoot()): CudaBackend[] {
  if (!existsSync(cacheRoot)) return [];
  const found: Array<{ file: string; mtime: number }> = [];
  for (const entry of readdirSync(cacheRoot, { withFileTypes: true })) {
    const file = path.join(cacheRoot, entry.name, 'libggml-cuda.so');
    if (entry.isDirectory() && existsSync(file)) found.push({ file, mtime: statSync(file).mtimeMs });
  }
  return found
    .sort((a, b) => b.mtime - a.mtime)
    .flatMap(({ file }) => {
      try {
        return [{ path: file, origin: 'cached' as const, ...inspectCudaLibrary(file) }];
      } catch {
        return [];
      }
    });
}

export const buildCommandFor = (archs: Arch[]) => `${path.relative(process.cwd(), CUDA_BUILD_SCRIPT) || CUDA_BUILD_SCRIPT} --archs "${archs.join(';')}"`;

/** Everything the decision needs, read from this machine. */
export function readCudaSituation(gpu: CudaSituation['gpu'], fallback: GpuFallback): CudaSituation & { note?: string } {
  const cudaWanted = gpu === 'auto' || gpu === 'cuda';
  const nvidia: NvidiaGpus = cudaWanted ? probeNvidiaGpus() : { devices: [], note: `--gpu ${gpu}` };
  const installedPath = cudaWanted ? installedCudaLibraryPath() : undefined;
  return {
    gpu,
    fallback,
    devices: nvidia.devices,
    driver: nvidia.driver,
    installed: installedPath
      ? { path: installedPath, origin: 'installed', ...(existsSync(installedPath) ? inspectCudaLibrary(installedPath) : { images: [], missing: true }) }
      : undefined,
    // Cached builds only matter, and are only read, when there is a GPU to run them on.
    cached: nvidia.devices.length > 0 ? cachedCudaBackends() : [],
    toolkit: cudaWanted ? findCudaToolkit() : undefined,
    buildCommand: buildCommandFor,
    note: nvidia.note,
  };
}

export class GpuBackendError extends Error {
  override name = 'GpuBackendError';
}

/**
 * Puts `library` where node-llama-cpp loads its CUDA backend from; the library shipped there is kept once as
 * libggml-cuda.so.prebuilt (`npm ci` restores it anyway). Written beside and renamed, so a reader never sees half.
 */
export function installCudaLibrary(library: string, target: string): void {
  const prebuilt = `${target}.prebuilt`;
  if (!existsSync(prebuilt) && existsSync(target)) copyFileSync(target, prebuilt);
  const partial = `${target}.partial-${process.pid}`;
  copyFileSync(library, partial);
  renameSync(partial, target);
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
    const built = spawnSync('bash', [CUDA_BUILD_SCRIPT, '--archs', decision.archs.join(';')], { stdio: ['ignore', 2, 2] });
    step(`built a CUDA backend: ${decision.command} (exit status ${built.status})`);
    // Decide again on what is there now; a second failure stops with instructions instead of building again.
    situation = readCudaSituation(gpu, 'exit');
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

/** Acts on a decision that needs no more building: installs a cached build, falls back to the CPU, or stops. */
function useDecision(situation: CudaSituation, decision: CudaDecision, step: (text: string) => void): Omit<CudaStartup, 'steps'> {
  const { gpu } = situation;
  switch (decision.action) {
    case 'install': {
      const target = situation.installed!.path;
      try {
        installCudaLibrary(decision.backend.path, target);
      } catch (error) {
        throw new GpuBackendError(
          `${decision.problem}.\nA build that runs here is cached at ${decision.backend.path}, but it cannot be put in place ` +
            `(${(error as Error).message}): copy it over ${target} as a user who may write there.`,
        );
      }
      const check = checkBackend(inspectCudaLibrary(target), situation.devices, situation.driver!);
      if (check.problem) throw new GpuBackendError(`installing ${decision.backend.path} as ${target} did not help: ${check.problem}`);
      step(`installed the cached CUDA backend ${decision.backend.path} (built for this GPU) as ${target}`);
      return { gpu, decision: { action: 'use', backend: { ...decision.backend, path: target, origin: 'installed' }, verdicts: check.verdicts } };
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
