#!/usr/bin/env node
import { spawn } from 'node:child_process';

// glibc gives threads their own malloc arenas; llama.cpp's per-context buffers, allocated and freed on different
// threads as adapter contexts come and go, then fragment memory that is never returned to the system (measured:
// RSS grew about 1.5 MB per context created with the default arenas, and stayed flat with one). The variable must
// be set before the process starts, so the CLI restarts itself once with it.
if (process.platform === 'linux' && !process.env.MALLOC_ARENA_MAX) {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, MALLOC_ARENA_MAX: '1' },
  });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  // Runs the TypeScript sources directly through tsx, so the installed package needs no build step.
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
