import { archText, describeImages, imageName, versionText, type CudaDecision, type CudaSituation } from './cudaCapability.js';
import type { CudaStartup } from './cudaBackendCheck.js';

/**
 * What `adaptd doctor` prints and returns as JSON, and what `npm start` logs in one line: the GPUs, the CUDA backend
 * and whether it runs here, what the loaded engine can do, and what to do about each problem found.
 */
export interface EngineReport {
  gpus: Array<{ index: number; name: string; computeCapability: string; memoryMiB?: number }>;
  driver: { version: string; cuda: string } | null;
  /** nvcc's release when a CUDA toolkit is installed (needed to build a backend for this GPU). */
  cudaToolkit: string | null;
  /** The CUDA runtime the backend links (its libcudart major version). */
  cudaRuntime: string | null;
  cudaBackend: {
    path: string;
    origin: 'installed' | 'cached';
    /** e.g. ["sm_86", "sm_89", "sm_120a", "sm_121a", "compute_75", "compute_80", "compute_90"]. */
    architectures: string[];
    holds: string;
    ptxIsa: string[];
    /** The CUDA package is installed without its library (a pruned install waiting for a build). */
    missing: boolean;
  } | null;
  /** Whether that backend runs on every GPU found; null when there is nothing to check (no NVIDIA GPU, --gpu off). */
  canRun: boolean | null;
  /** 'sass': machine code for the GPU; 'ptx': the driver compiles PTX at first start (minutes, then cached). */
  runsVia: 'sass' | 'ptx' | null;
  /** What start-up does or did about the backend: use, select, build, cpu, exit, none. */
  startup: CudaDecision['action'];
  startupSteps: string[];
  /** The backend the engine loaded ('cuda', 'vulkan', 'metal', 'cpu'); null when no engine was loaded. */
  backendInUse: string | null;
  /** true/false as the engine reports it; 'unknown' for an engine that does not say. */
  perSequenceLora: boolean | 'unknown';
  threads: number | null;
  contextMemory: { ramBytes: number; vramBytes: number } | null;
  problems: Array<{ problem: string; fix: string }>;
}

/** The parts of a loaded engine the report reads; `capabilities` is optional: older engines do not report it. */
export interface EngineFacts {
  info: { gpu: string | false; threads: number };
  contextMemory: { ramBytes: number; vramBytes: number };
  capabilities?: { perSequenceLora?: boolean; backend?: string };
}

export function buildEngineReport(situation: CudaSituation & { note?: string }, startup: CudaStartup | { decision: CudaDecision; steps: string[] }, engine?: EngineFacts): EngineReport {
  const { decision } = startup;
  const backend = decision.action === 'use' || decision.action === 'select' ? decision.backend : situation.installed;
  const problems: EngineReport['problems'] = [];
  const verdicts = decision.action === 'use' || decision.action === 'select' ? decision.verdicts : [];
  const runsVia = verdicts.some((v) => v.runs && v.via === 'ptx') ? 'ptx' : verdicts.length > 0 ? 'sass' : null;
  const archs = situation.devices.map((d) => d.computeCapability);
  const buildCommand = situation.buildCommand(archs);
  if (decision.action === 'exit') problems.push({ problem: decision.message.split('\n')[0], fix: decision.message.split('\n').slice(1).join(' ').trim() });
  if (decision.action === 'build') problems.push({ problem: decision.problem, fix: `start-up builds one (CUDA toolkit ${situation.toolkit ? versionText(situation.toolkit) : ''} found): ${decision.command}` });
  if (decision.action === 'select') problems.push({ problem: decision.problem, fix: `start-up selects the cached build ${decision.backend.path}` });
  if (decision.action === 'cpu') problems.push({ problem: decision.problem, fix: `serving on the CPU (--gpu-fallback cpu); for the GPU: ${buildCommand}` });
  if (runsVia === 'ptx') {
    problems.push({
      problem: 'the CUDA backend has no machine code for this GPU: the driver compiles its PTX at first start (minutes; cached in CUDA_CACHE_PATH) and kernels may run slower',
      fix: buildCommand,
    });
  }
  const capabilities = engine?.capabilities;
  const perSequenceLora = capabilities?.perSequenceLora ?? 'unknown';
  // An engine that does not report its capabilities is not a problem in itself: the report says "unknown".
  if (perSequenceLora === false) {
    problems.push({
      problem: 'this engine applies LoRA per context: requests on different adapter sets cannot share a decode, and each resident adapter set reserves its own context memory',
      fix: 'build the patched native engine for this machine (see the README, "Performance") and restart',
    });
  }
  return {
    gpus: situation.devices.map((d) => ({ index: d.index, name: d.name, computeCapability: archText(d.computeCapability), memoryMiB: d.memoryMiB })),
    driver: situation.driver ? { version: situation.driver.version, cuda: versionText(situation.driver.cuda) } : null,
    cudaToolkit: situation.toolkit ? versionText(situation.toolkit) : null,
    cudaRuntime: backend?.runtimeMajor !== undefined ? String(backend.runtimeMajor) : null,
    cudaBackend: backend
      ? {
          path: backend.path,
          origin: backend.origin,
          architectures: backend.images.map(imageName).filter((name, i, all) => all.indexOf(name) === i),
          holds: describeImages(backend.images),
          ptxIsa: [...new Set(backend.images.filter((i) => i.ptxIsa).map((i) => versionText(i.ptxIsa!)))],
          missing: backend.missing ?? false,
        }
      : null,
    canRun: decision.action === 'none' ? null : decision.action === 'use' || decision.action === 'select',
    runsVia,
    startup: decision.action,
    startupSteps: startup.steps,
    backendInUse: engine ? capabilities?.backend ?? (engine.info.gpu || 'cpu') : null,
    perSequenceLora,
    threads: engine?.info.threads ?? null,
    contextMemory: engine ? { ...engine.contextMemory } : null,
    problems,
  };
}

const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;

/** The report in one line, for the start-up log. */
export function summaryLine(report: EngineReport): string {
  const gpus = report.gpus.length
    ? report.gpus.map((g) => `GPU ${g.index} ${g.name} (${g.computeCapability})`).join(', ') +
      (report.driver ? `, driver ${report.driver.version} (CUDA ${report.driver.cuda})` : '')
    : 'no NVIDIA GPU';
  const backend = report.cudaBackend?.missing
    ? 'CUDA package installed without its library'
    : report.cudaBackend
    ? `CUDA backend ${report.cudaBackend.origin} [${report.cudaBackend.architectures.join(' ')}] ` +
      (report.canRun === null ? 'not checked' : report.canRun ? `runs here via ${report.runsVia === 'ptx' ? 'PTX compiled at start' : 'machine code'}` : 'cannot run here')
    : 'no CUDA backend';
  const parts = [gpus, backend, `engine ${report.backendInUse ?? 'not loaded'}`, `per-sequence LoRA ${report.perSequenceLora === 'unknown' ? 'unknown' : report.perSequenceLora ? 'yes' : 'no'}`];
  if (report.threads !== null) parts.push(`${report.threads} threads`);
  if (report.contextMemory) parts.push(`${mib(report.contextMemory.ramBytes)} RAM + ${mib(report.contextMemory.vramBytes)} VRAM per context`);
  if (report.problems.length) parts.push(`${report.problems.length} problem(s): adaptd doctor`);
  return parts.join('; ');
}

/** The report as text for a terminal. */
export function renderEngineReport(report: EngineReport): string {
  const lines = ['GPUs:'];
  if (report.gpus.length === 0) lines.push('  none found (nvidia-smi lists no NVIDIA GPU)');
  for (const g of report.gpus) lines.push(`  ${g.index}: ${g.name}, compute capability ${g.computeCapability}${g.memoryMiB ? `, ${g.memoryMiB} MiB` : ''}`);
  lines.push(`driver: ${report.driver ? `${report.driver.version} (supports CUDA ${report.driver.cuda})` : 'none'}`);
  lines.push(`CUDA toolkit (nvcc): ${report.cudaToolkit ?? 'not installed'}`);
  if (report.cudaBackend) {
    lines.push(`CUDA backend: ${report.cudaBackend.path} (${report.cudaBackend.origin})`);
    lines.push(report.cudaBackend.missing ? '  the library is missing (a build for this GPU puts it there)' : `  holds ${report.cudaBackend.holds}; CUDA runtime ${report.cudaRuntime ?? 'unknown'}`);
  } else {
    lines.push('CUDA backend: not installed');
  }
  lines.push(`runs here: ${report.canRun === null ? 'not checked (no NVIDIA GPU or --gpu off/vulkan)' : report.canRun ? `yes, via ${report.runsVia === 'ptx' ? 'PTX compiled by the driver' : 'machine code'}` : 'no'}`);
  lines.push(`at start: ${report.startup}${report.startupSteps.length ? ` (${report.startupSteps.join('; ')})` : ''}`);
  lines.push(`engine backend: ${report.backendInUse ?? 'not loaded'}`);
  lines.push(`per-sequence LoRA: ${report.perSequenceLora === 'unknown' ? 'unknown (the engine does not report it)' : report.perSequenceLora ? 'yes' : 'no'}`);
  lines.push(`threads: ${report.threads ?? 'n/a'}`);
  lines.push(`memory per context: ${report.contextMemory ? `${mib(report.contextMemory.ramBytes)} RAM, ${mib(report.contextMemory.vramBytes)} VRAM` : 'n/a'}`);
  lines.push(report.problems.length ? 'problems:' : 'problems: none');
  for (const p of report.problems) lines.push(`  - ${p.problem}\n    fix: ${p.fix}`);
  return lines.join('\n');
}
