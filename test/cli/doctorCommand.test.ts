import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ensureTestModels } from '../../scripts/generate-test-models.js';
import { installCudaLibrary, installedCudaLibraryPath } from '../../src/engine/cudaBackendCheck.js';
import type { EngineReport } from '../../src/engine/engineReport.js';
import { startChildServer } from '../helpers/childServer.js';

const models = ensureTestModels();
const small = ['--model', models.behaviourModel, '--context-size', '256'];
const emptyCache = mkdtempSync(path.join(os.tmpdir(), 'adaptd-native-'));

/**
 * This machine has no GPU, so the GPU cases put an `nvidia-smi` first on PATH that answers as the H200 (driver
 * 580.159.04, CUDA 13.0) on which the prebuilt backend aborted its first decode. Everything else is real: the CLI,
 * the installed backend's fatbinary, the decision and, with --gpu-fallback cpu, the server.
 */
function gpuPath(gpu = '0, NVIDIA H200, 9.0, 580.159.04, 143771'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'adaptd-gpu-'));
  writeFileSync(
    path.join(dir, 'nvidia-smi'),
    `#!/bin/sh\ncase "$*" in\n  *--query-gpu*) echo "${gpu}" ;;\n` +
      `  *) echo "| NVIDIA-SMI 580.159.04    Driver Version: 580.159.04    CUDA Version: 13.0 |" ;;\nesac\n`,
  );
  chmodSync(path.join(dir, 'nvidia-smi'), 0o755);
  return `${dir}:${process.env.PATH}`;
}
const h200Path = () => gpuPath();
/** A GPU the prebuilt backend has machine code for: the static check passes, and only the probe can tell. */
const rtx4090Path = () => gpuPath('0, NVIDIA GeForce RTX 4090, 8.9, 580.159.04, 24564');

function adaptd(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/adaptd.js', ...argv], { env: { ...process.env, ADAPTD_NATIVE_CACHE: emptyCache, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    // A command that should have exited but serves instead is stopped, so the test fails instead of hanging.
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const cudaInstalled = Boolean(installedCudaLibraryPath());

/** The server's log lines are written asynchronously: the line may follow "ready" by a moment. */
async function logged(output: () => string, pattern: RegExp): Promise<string> {
  for (let waited = 0; waited < 5000 && !pattern.test(output()); waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  return output();
}

t.test('adaptd doctor --json on this machine loads the model and reports the engine', async (t) => {
  const { code, stdout, stderr } = await adaptd(['doctor', '--json', ...small]);
  const report = JSON.parse(stdout) as EngineReport;
  t.equal(code, report.problems.length > 0 ? 1 : 0, stderr);
  t.type(report.backendInUse, 'string');
  t.ok(report.threads! >= 1);
  t.ok(report.contextMemory!.ramBytes > 0, 'memory per context');
  t.ok(['unknown', true, false].includes(report.perSequenceLora));
  if (report.gpus.length === 0) {
    t.equal(report.canRun, null, 'no GPU: nothing to check');
    t.equal(report.startup, 'none');
  }
  if (cudaInstalled) t.ok(report.cudaBackend!.architectures.length > 0, 'the installed backend and its architectures');
});

t.test('doctor on an H200 with a CUDA 13.0 driver says the backend cannot run and what to run', { skip: !cudaInstalled && "node-llama-cpp's CUDA package is not installed" }, async (t) => {
  const { code, stdout } = await adaptd(['doctor', '--json', '--no-load', '--gpu-fallback', 'exit'], { PATH: h200Path() });
  t.equal(code, 1, 'a problem was found');
  const report = JSON.parse(stdout) as EngineReport;
  t.same(report.gpus, [{ index: 0, name: 'NVIDIA H200', computeCapability: '9.0', memoryMiB: 143771 }]);
  t.same(report.driver, { version: '580.159.04', cuda: '13.0' });
  t.equal(report.cudaRuntime, '13');
  t.same(report.cudaBackend!.architectures, ['compute_75', 'compute_80', 'sm_86', 'sm_89', 'compute_90', 'sm_120a', 'sm_121a']);
  t.equal(report.canRun, false);
  t.equal(report.startup, 'exit');
  t.match(report.problems[0].problem, /PTX ISA 9\.1 \(made by CUDA 13\.1\), newer than driver 580\.159\.04 \(CUDA 13\.0\) accepts/);
  t.match(report.problems[0].fix, /build-cuda-backend\.sh --archs "90"/);
  t.equal(report.backendInUse, null, 'no model loaded');
});

t.test('npm start on that H200 exits before loading anything, saying what to run', { skip: !cudaInstalled && 'no CUDA package' }, async (t) => {
  const started = Date.now();
  const { code, stderr } = await adaptd(['serve', '--gpu-fallback', 'exit', ...small], { PATH: h200Path() });
  t.equal(code, 3);
  t.match(stderr, /adaptd: the CUDA backend .*libggml-cuda\.so cannot run here: GPU 0 \(NVIDIA H200, compute capability 9\.0\)/);
  t.match(stderr, /To fix it, build the backend for this GPU .*\n {2}scripts\/build-cuda-backend\.sh --archs "90"\nor update the NVIDIA driver, or serve on the CPU: --gpu-fallback cpu/);
  t.notMatch(stderr, /llama\.cpp|ready/, 'nothing was loaded');
  t.ok(Date.now() - started < 30_000);
});

t.test('with --gpu-fallback cpu it serves on the CPU and logs why, in the one-line summary', { skip: !cudaInstalled && 'no CUDA package' }, async (t) => {
  const server = await startChildServer({ model: models.behaviourModel, 'context-size': 256, 'gpu-fallback': 'cpu' }, { PATH: h200Path(), ADAPTD_NATIVE_CACHE: emptyCache });
  try {
    const health = await fetch(`${server.url}/health`);
    t.equal(health.status, 200);
    t.match(server.output(), /serving on the CPU as --gpu-fallback cpu asks/);
    t.match(await logged(server.output, /GPU 0 NVIDIA H200/), /GPU 0 NVIDIA H200 \(9\.0\), driver 580\.159\.04 \(CUDA 13\.0\); CUDA backend installed \[[^\]]*sm_86[^\]]*\] cannot run here; engine cpu; per-sequence LoRA (unknown|yes|no); \d+ threads; \d+ MiB RAM \+ 0 MiB VRAM per context/);
  } finally {
    server.process.kill('SIGTERM');
    await server.exited;
  }
});

t.test('npm start on this machine logs the summary line', async (t) => {
  const server = await startChildServer({ model: models.behaviourModel, 'context-size': 256 }, { ADAPTD_NATIVE_CACHE: emptyCache });
  try {
    t.match(await logged(server.output, /per context/), /; engine \w+; per-sequence LoRA \w+; \d+ threads; \d+ MiB RAM \+ \d+ MiB VRAM per context/);
  } finally {
    server.process.kill('SIGTERM');
    await server.exited;
  }
});

t.test('when the check passes but the GPU cannot decode, the probe stops start-up instead of the first request', { skip: !cudaInstalled && 'no CUDA package' }, async (t) => {
  // This machine has no CUDA driver: the probe's decode fails, as a backend that loads but cannot run would.
  const { code, stderr } = await adaptd(['serve', ...small], { PATH: rtx4090Path() });
  t.equal(code, 3);
  t.match(stderr, /passed the architecture check but a one-token decode on the GPU failed in a child process \(exit status 1: /);
  t.match(stderr, /To fix it, build the backend for this GPU: .*build-cuda-backend\.sh --archs "89"/);
  t.notMatch(stderr, /ready at/);

  const server = await startChildServer({ model: models.behaviourModel, 'context-size': 256, 'gpu-fallback': 'cpu' }, { PATH: rtx4090Path(), ADAPTD_NATIVE_CACHE: emptyCache });
  try {
    t.equal((await fetch(`${server.url}/health`)).status, 200, 'with --gpu-fallback cpu it serves on the CPU');
    t.match(await logged(server.output, /engine cpu/), /serving on the CPU as --gpu-fallback cpu asks: .*one-token decode on the GPU failed/);
  } finally {
    server.process.kill('SIGTERM');
    await server.exited;
  }
});

t.test('a cached build is put in place atomically and the shipped library kept once', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'adaptd-install-'));
  const target = path.join(dir, 'libggml-cuda.so');
  writeFileSync(target, 'shipped');
  writeFileSync(path.join(dir, 'first.so'), 'first build');
  writeFileSync(path.join(dir, 'second.so'), 'second build');
  installCudaLibrary(path.join(dir, 'first.so'), target);
  installCudaLibrary(path.join(dir, 'second.so'), target);
  t.equal(readFileSync(target, 'utf8'), 'second build');
  t.equal(readFileSync(`${target}.prebuilt`, 'utf8'), 'shipped', 'the shipped library, not the first build');
  copyFileSync(`${target}.prebuilt`, target);
});
