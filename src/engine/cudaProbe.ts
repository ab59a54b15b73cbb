import { spawnSync } from 'node:child_process';
import path from 'node:path';

const PROBE_CHILD = path.join(path.dirname(new URL(import.meta.url).pathname), 'cudaProbeChild.ts');

export interface ProbeResult {
  ok: boolean;
  /** What the child said: "decoded on cuda", or the end of its output and how it ended. */
  detail: string;
}

/**
 * The last line of defence behind the static check: one decode of a small model, every layer on the GPU, in a child
 * process, so a backend that loads but cannot run (a driver refusing its PTX, a kernel missing for this GPU) ends
 * that child and not the server. Costs the child's start-up and CUDA initialisation (seconds; the first time on a
 * GPU that runs PTX, the driver's compilation, which it caches for the server).
 */
export function probeGpuDecode(modelPath: string, gpu: 'cuda' | 'auto' | 'off', native: 'auto' | 'off', timeoutMs = 10 * 60_000): ProbeResult {
  const child = spawnSync(process.execPath, ['--import', 'tsx', PROBE_CHILD, modelPath, gpu, native], { encoding: 'utf8', timeout: timeoutMs });
  const output = `${child.stdout ?? ''}${child.stderr ?? ''}`.trim();
  // Asked for CUDA, a decode on the CPU proves nothing about the GPU.
  const decoded = gpu === 'cuda' ? /^decoded on cuda/m : /^decoded on /m;
  if (child.status === 0 && decoded.test(child.stdout ?? '')) return { ok: true, detail: (child.stdout ?? '').trim() };
  const ending = child.error ? child.error.message : child.signal ? `killed by ${child.signal}` : `exit status ${child.status}`;
  // The error lines, not the stack: "CUDA error: the provided PTX was compiled with an unsupported toolchain".
  const said = output.split('\n').filter((line) => line.trim() && !/^\s+at |^Node\.js v/.test(line)).slice(0, 4);
  return { ok: false, detail: `${ending}: ${said.join(' | ') || 'no output'}` };
}
