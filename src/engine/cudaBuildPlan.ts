import { archText, type Arch } from './cudaCapability.js';

/**
 * Which CUDA architectures a CUDA build of the native engine compiles for, and the CMake value that says so. Used by
 * scripts/build-native.sh --cuda (through scripts/cuda-build-plan.ts), whose cache key takes the CMake value; pure,
 * so the arch handling is unit-tested without a GPU or a toolkit.
 */

/** A100; RTX 30 / A10 / A40; L4 / L40S / RTX 40; H100 / H200; B200 / GB200; RTX 50 / RTX PRO 6000. */
export const DEFAULT_CUDA_ARCHITECTURES: Arch[] = [80, 86, 89, 90, 100, 120];

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
}

/** `request`: an explicit list, "default" or "local"/nothing; `localArchs`: this machine's GPUs. */
export function planCudaBuild(request: string | undefined, localArchs: Arch[]): CudaBuildPlan {
  const { archs, source } = resolveArchitectures(request, localArchs);
  const withPtx = source !== 'local' && archs.length > 1;
  return { archs, source, cmakeArchitectures: cmakeArchitectures(archs, withPtx), withPtx };
}

/** "8.0, 9.0". */
export const architectureList = (archs: Arch[]) => archs.map(archText).join(', ');
