import { createHash } from 'node:crypto';
import { archText, type Arch } from './cudaCapability.js';

/**
 * Which CUDA architectures a backend build compiles for, the CMake value that says so, and the cache key of the
 * result. Used by scripts/build-cuda-backend.sh (through scripts/cuda-build-plan.ts) and by the start-up check that
 * asks for a build; pure, so the arch handling is unit-tested without a GPU or a toolkit.
 */

/** A100; RTX 30 / A10 / A40; L4 / L40S / RTX 40; H100 / H200; B200 / GB200; RTX 50 / RTX PRO 6000. */
export const DEFAULT_CUDA_ARCHITECTURES: Arch[] = [80, 86, 89, 90, 100, 120];

/** Bumped when the build recipe (CMake options, what is cached) changes, so older cached builds are not reused. */
export const CUDA_BUILD_RECIPE = 'ggml-cuda-v1';

export class CudaArchitectureError extends Error {
  override name = 'CudaArchitectureError';
}

/** "90", "9.0", "sm_90", "compute_90" → 90. */
export function parseArchitecture(text: string): Arch {
  const match = /^(?:sm_|compute_)?(\d+)(?:\.(\d))?$/.exec(text.trim());
  const arch = !match ? NaN : match[2] !== undefined ? Number(match[1]) * 10 + Number(match[2]) : Number(match[1]);
  // Below 5.0 no supported CUDA builds; 3-digit codes stop at 12.x today, leave room for the next few.
  if (!Number.isInteger(arch) || arch < 50 || arch > 199) {
    throw new CudaArchitectureError(`"${text}" is not a CUDA architecture (compute capability such as 90, 9.0 or sm_90)`);
  }
  return arch;
}

/**
 * The architectures to build: an explicit list ("80;90", "8.0,9.0"), "default" (the list above), or "local" / nothing:
 * the GPUs of this machine, or the default list when it has none (a build for an image or another machine).
 */
export function resolveArchitectures(request: string | undefined, localArchs: Arch[]): { archs: Arch[]; source: 'explicit' | 'local' | 'default' } {
  const wanted = request?.trim() ?? '';
  if (wanted === '' || wanted === 'local') {
    return localArchs.length > 0 ? { archs: unique(localArchs), source: 'local' } : { archs: [...DEFAULT_CUDA_ARCHITECTURES], source: 'default' };
  }
  if (wanted === 'default' || wanted === 'all') return { archs: [...DEFAULT_CUDA_ARCHITECTURES], source: 'default' };
  const archs = unique(wanted.split(/[;,\s]+/).filter(Boolean).map(parseArchitecture));
  if (archs.length === 0) throw new CudaArchitectureError('no CUDA architectures given');
  return { archs, source: 'explicit' };
}

const unique = (archs: Arch[]) => [...new Set(archs)].sort((a, b) => a - b);

/**
 * CMAKE_CUDA_ARCHITECTURES: machine code ("-real") for each architecture. A list of several architectures asked for
 * (an image, a fleet) also carries PTX for the lowest one ("-virtual"), so a GPU newer than every listed one still
 * runs by compiling it; a build for this machine's GPUs or for one architecture skips it (build time and size).
 * ggml's CMake turns plain 12.x into the arch-specific 12.xa itself (Blackwell FP4 paths).
 */
export function cmakeArchitectures(archs: Arch[], withPtx: boolean): string {
  const real = archs.map((arch) => `${arch}-real`);
  return (withPtx ? [...real, `${Math.min(...archs)}-virtual`] : real).join(';');
}

export interface CudaBuildPlan {
  archs: Arch[];
  source: 'explicit' | 'local' | 'default';
  cmakeArchitectures: string;
  withPtx: boolean;
  /** Names the build: the same source, toolkit, recipe and architectures give the same key. */
  key: string;
  /** Where the built libggml-cuda.so is kept: <cacheRoot>/cuda-<key>/. */
  cacheDir: string;
}

export interface CudaBuildInputs {
  request?: string;
  localArchs: Arch[];
  /** The llama.cpp source's commit (node-llama-cpp's bundled release). */
  sourceId: string;
  /** nvcc's release, e.g. "13.0": a build made by another toolkit is a different build. */
  toolkit: string;
  cacheRoot: string;
}

export function planCudaBuild(inputs: CudaBuildInputs): CudaBuildPlan {
  const { archs, source } = resolveArchitectures(inputs.request, inputs.localArchs);
  const withPtx = source !== 'local' && archs.length > 1;
  const cmake = cmakeArchitectures(archs, withPtx);
  const key = createHash('sha256')
    .update([CUDA_BUILD_RECIPE, inputs.sourceId, inputs.toolkit, cmake].join('\n'))
    .digest('hex')
    .slice(0, 16);
  return { archs, source, cmakeArchitectures: cmake, withPtx, key, cacheDir: `${inputs.cacheRoot.replace(/\/+$/, '')}/cuda-${key}` };
}

/** "8.0, 9.0". */
export const architectureList = (archs: Arch[]) => archs.map(archText).join(', ');
