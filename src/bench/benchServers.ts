import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type BenchTargetName = 'adaptd' | 'llama-server';

/** A server under test, running in its own process so its memory and CPU are its own. */
export interface BenchTarget {
  name: BenchTargetName;
  url: string;
  pid: number;
  /** The command line it was started with, for the report. */
  command: string;
  /** Request fields that pick adapter `index` (the benchmark's adapter order), or the base model when undefined. */
  select(index: number | undefined): Record<string, unknown>;
  stop(): Promise<void>;
}

export interface ServerSettings {
  modelPath: string;
  adaptersDir: string;
  adapterNames: string[];
  adapterPaths: string[];
  threads: number;
  /** Sequences (adaptd, per adapter set) or slots (llama-server) served at once. */
  parallel: number;
  /** Tokens of context per sequence / slot. */
  contextPerSequence: number;
  /** 'auto': both servers offload every layer to a GPU they find (adaptd --gpu auto, llama-server -ngl 999); 'off': CPU only; unset: each server's default. */
  gpu?: 'auto' | 'off';
  logFile: string;
}

const STARTUP_TIMEOUT_MS = 180_000;
const ADAPTD_BIN = fileURLToPath(new URL('../../bin/adaptd.js', import.meta.url));
export const ADAPTD_BASE_ID = 'base';

/** adaptd through its own CLI (`adaptd serve`), as a user runs it. */
export async function startAdaptd(settings: ServerSettings, maxResidentAdapters: number, promptCacheSlots?: number): Promise<BenchTarget> {
  const args = [
    ADAPTD_BIN, 'serve',
    '--model', settings.modelPath,
    '--adapters', settings.adaptersDir,
    '--model-id', ADAPTD_BASE_ID,
    '--threads', String(settings.threads),
    ...(settings.gpu ? ['--gpu', settings.gpu] : []),
    '--parallel', String(settings.parallel),
    '--context-size', String(settings.contextPerSequence),
    '--max-resident-adapters', String(maxResidentAdapters),
    ...(promptCacheSlots === undefined ? [] : ['--prompt-cache-slots', String(promptCacheSlots)]),
    '--host', '127.0.0.1',
    '--port', '0',
    '--log-level', 'warn',
  ];
  const child = spawnLogged(process.execPath, args, settings.logFile);
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`adaptd did not start within ${STARTUP_TIMEOUT_MS / 1000}s; see ${settings.logFile}`)), STARTUP_TIMEOUT_MS);
    child.stdout!.on('data', (bytes: Buffer) => {
      seen += bytes.toString();
      const ready = /adaptd ready at (\S+)/.exec(seen);
      if (ready) {
        clearTimeout(timer);
        resolve(ready[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`adaptd exited with code ${code} before it was ready; see ${settings.logFile}`));
    });
  });
  await waitForHealth(url, child, settings.logFile);
  return {
    name: 'adaptd',
    url,
    pid: serverProcess(child.pid!),
    command: ['adaptd', ...args.slice(1)].join(' '),
    select: (index) => ({ model: index === undefined ? ADAPTD_BASE_ID : settings.adapterNames[index] }),
    stop: () => stopChild(child),
  };
}

/**
 * llama-server with every adapter loaded and none applied (`--lora-init-without-apply`); a request applies its
 * adapter with `"lora": [{"id", "scale"}]`, listing the others at scale 0 so nothing is left to the global setting.
 */
export async function startLlamaServer(binary: string, settings: ServerSettings): Promise<BenchTarget> {
  const port = await freePort();
  const args = [
    '-m', settings.modelPath,
    '--lora', settings.adapterPaths.join(','),
    '--lora-init-without-apply',
    '-t', String(settings.threads),
    '-tb', String(settings.threads),
    ...(settings.gpu ? ['-ngl', settings.gpu === 'off' ? '0' : '999'] : []),
    '-np', String(settings.parallel),
    '-c', String(settings.parallel * settings.contextPerSequence),
    '--host', '127.0.0.1',
    '--port', String(port),
    '--no-ui',
  ];
  const child = spawnLogged(binary, args, settings.logFile);
  const url = `http://127.0.0.1:${port}`;
  await waitForHealth(url, child, settings.logFile);
  return {
    name: 'llama-server',
    url,
    pid: child.pid!,
    command: [binary, ...args].join(' '),
    select: (index) => ({ lora: settings.adapterPaths.map((_, id) => ({ id, scale: id === index ? 1 : 0 })) }),
    stop: () => stopChild(child),
  };
}

/**
 * The process that serves: the CLI may restart itself once in a child (to set the allocator's environment before
 * the process starts), and the memory that counts is that child's.
 */
export function serverProcess(pid: number): number {
  try {
    const [child] = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return child ? serverProcess(Number(child)) : pid;
  } catch {
    return pid;
  }
}

/**
 * Variables that change how a server uses threads and memory, and adaptd settings given through the environment
 * (`ADAPTD_GRAMMAR_FAST_FORWARD=false` for a run without it), as its process really has them (Linux).
 */
export function performanceEnvironment(pid: number): string {
  try {
    const variables = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const relevant = variables.filter((v) => /^(UV_THREADPOOL_SIZE|MALLOC_\w+|OMP_\w+|GOMP_\w+|GGML_\w+|ADAPTD_\w+)=/.test(v) && !v.startsWith('ADAPTD_LAUNCHER_SET='));
    return relevant.length > 0 ? relevant.sort().join(' ') : 'none of UV_THREADPOOL_SIZE, MALLOC_*, OMP_*, GGML_*, ADAPTD_* set';
  } catch {
    return 'unknown';
  }
}

export interface ProcessMemory {
  /** Resident memory now, in MiB. */
  rssMiB: number;
  /** The most resident memory the process has had, in MiB. */
  peakRssMiB: number;
}

/**
 * Starts the process's VmHWM afresh from its current RSS (Linux 4.0+), so a peak measured after it is the workload's
 * and not model loading's (on a GPU the weights pass through host memory on their way to the card). False where the
 * kernel does not allow it; the peak then covers the process's whole life.
 */
export function resetPeakMemory(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Resident memory of a process from /proc (Linux), as the kernel accounts it: VmRSS and its high-water mark VmHWM. */
export function processMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024 };
}

/**
 * The environment the bench was started with, less what adaptd's launcher added for its own process
 * (MALLOC_ARENA_MAX, UV_THREADPOOL_SIZE): both servers start from what the user had, and adaptd's launcher adds its
 * settings again for adaptd alone.
 */
export function userEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const added = (env.ADAPTD_LAUNCHER_SET ?? '').split(',').filter(Boolean);
  return Object.fromEntries(Object.entries(env).filter(([name]) => name !== 'ADAPTD_LAUNCHER_SET' && !added.includes(name)));
}

function spawnLogged(command: string, args: string[], logFile: string): ChildProcess {
  const log = createWriteStream(logFile, { flags: 'a' });
  log.write(`$ ${command} ${args.join(' ')}\n`);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: path.dirname(path.dirname(ADAPTD_BIN)), env: userEnvironment() });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  child.on('close', () => log.end());
  return child;
}

async function waitForHealth(url: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${path.basename(child.spawnfile)} exited with code ${child.exitCode}; see ${logFile}`);
    try {
      // llama-server answers 503 while it loads the model.
      if ((await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) })).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url}/health was not ready within ${STARTUP_TIMEOUT_MS / 1000}s; see ${logFile}`);
}

/** SIGTERM, then SIGKILL if it has not exited after 10 s (adaptd drains requests in flight first). */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A port no one listens on now; llama-server needs a number up front (adaptd takes --port 0 and reports its own). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
