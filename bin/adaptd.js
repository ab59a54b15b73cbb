#!/usr/bin/env node
import { spawn } from 'node:child_process';

// Settings that native code reads once, at process start, so the CLI restarts itself once with them (a value the
// user set is kept):
// - MALLOC_ARENA_MAX=1: glibc gives threads their own malloc arenas; llama.cpp's per-context buffers, allocated and
//   freed on different threads as adapter contexts come and go, then fragment memory that is never returned to the
//   system (measured: RSS grew about 1.5 MB per context created with the default arenas, and stayed flat with one).
// - MALLOC_MMAP_THRESHOLD_=4194304: blocks of 4 MiB and more get pages of their own, returned when freed; glibc's
//   default threshold rises to 32 MiB after the first such free, and compute buffers llama.cpp re-reserves when
//   adapters load then stayed in the heap (measured: 8 mixed adapter sets added 60 MiB over their weights and
//   stacked copy by default, 1 MiB with this).
// - UV_THREADPOOL_SIZE=1: node-llama-cpp runs every decode and sampling step as a job on libuv's thread pool; with
//   the default four pool threads consecutive steps hop between OS threads and contend with llama.cpp's own workers
//   (measured on 2 cores: 11-16 ms per token with four, 5.1-5.6 with one; llama-server 4.7-5.2).
const defaults = { MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '4194304', UV_THREADPOOL_SIZE: '1' };
const missing = process.platform === 'linux' ? Object.entries(defaults).filter(([name]) => process.env[name] === undefined) : [];
// ADAPTD_LAUNCHER_SET names what was added, so a benchmark can start other servers without it.
const env = missing.length === 0 ? process.env : { ...process.env, ...Object.fromEntries(missing), ADAPTD_LAUNCHER_SET: missing.map(([name]) => name).join(',') };
const [command, ...rest] = process.argv.slice(2);

// Runs the TypeScript sources directly through tsx, so the installed package needs no build step.
const loadTypeScript = async () => (await import('tsx/esm/api')).register();

if (command === 'serve' && process.env.ADAPTD_SUPERVISED !== '1') {
  // The server runs in a child process that this one restarts after a crash (src/cli/ServeSupervisor.ts).
  await loadTypeScript();
  const { superviseServe } = await import('../src/cli/ServeSupervisor.ts');
  process.exitCode = await superviseServe({ command: [process.execPath, ...process.execArgv, process.argv[1], 'serve', ...rest], env, argv: rest });
} else if (missing.length > 0) {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  await loadTypeScript();
  await import('../src/cli/main.ts');
}
