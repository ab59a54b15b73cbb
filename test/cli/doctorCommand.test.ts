import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ensureTestModels } from '../../scripts/generate-test-models.js';
import { installedCudaLibraryPath } from '../../src/engine/cudaBackendCheck.js';
import { findNativeBuild, patchesHash } from '../../src/engine/nativeBinding.js';
import type { EngineReport } from '../../src/engine/engineReport.js';
import { startChildServer } from '../helpers/childServer.js';
import { cudaLibraryElf, type FixtureImage } from '../helpers/cudaLibraryFixture.js';
import { waitFor } from '../helpers/waitFor.js';

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
  await waitFor(() => pattern.test(output()), { what: `a log line matching ${pattern}`, timeoutMs: 30_000 }).catch(() => undefined);
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
  t.match(report.problems[0].fix, /build-native\.sh --cuda --cuda-archs "90"/);
  t.equal(report.backendInUse, null, 'no model loaded');
});

t.test('npm start on that H200 exits before loading anything, saying what to run', { skip: !cudaInstalled && 'no CUDA package' }, async (t) => {
  const started = Date.now();
  const { code, stderr } = await adaptd(['serve', '--gpu-fallback', 'exit', ...small], { PATH: h200Path() });
  t.equal(code, 3);
  t.match(stderr, /adaptd: the CUDA backend .*libggml-cuda\.so cannot run here: GPU 0 \(NVIDIA H200, compute capability 9\.0\)/);
  t.match(stderr, /To fix it, build the backend for this GPU .*\n {2}scripts\/build-native\.sh --cuda --cuda-archs "90"\nor update the NVIDIA driver, or serve on the CPU: --gpu-fallback cpu/);
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
    const summary = /; engine \w+; per-sequence LoRA \w+; \d+ threads; \d+ MiB RAM \+ \d+ MiB VRAM per context/;
    t.match(await logged(server.output, summary), summary);
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
  t.match(stderr, /To fix it, build the backend for this GPU: .*build-native\.sh --cuda --cuda-archs "89"/);
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

/**
 * A native cache holding CUDA builds of the patched engine for this tree, as scripts/build-native.sh --cuda leaves
 * them, the first listed the newest. Their llama-addon.node is an ELF with the given kernel images: enough for the
 * check, which reads the fatbinary; not loadable.
 */
function cudaBuildsCache(...builds: Array<{ name: string; images: FixtureImage[] }>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'adaptd-native-cuda-'));
  builds.forEach(({ name, images }, age) => {
    const dir = path.join(root, name);
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'llama-addon.node'), cudaLibraryElf({ containers: [images] }));
    const info = path.join(dir, 'build-info.json');
    writeFileSync(info, JSON.stringify({ key: name, patchesHash: patchesHash(), backend: 'cuda', cudaArchitectures: '', nodeLlamaCppVersion: '3.21.1', llamaCppRelease: 'v0', buildSeconds: 1 }));
    const time = new Date(Date.now() - (age + 1) * 60_000);
    utimesSync(info, time, time);
  });
  return root;
}

t.test('with a CUDA build of the patched engine cached, the check inspects that build, not the prebuilt library', async (t) => {
  const cache = cudaBuildsCache({ name: 'ampere', images: [{ kind: 'sass', arch: 86 }] });
  const { code, stdout } = await adaptd(['doctor', '--json', '--no-load', '--gpu-fallback', 'exit'], { PATH: h200Path(), ADAPTD_NATIVE_CACHE: cache });
  t.equal(code, 1);
  const report = JSON.parse(stdout) as EngineReport;
  t.equal(report.cudaBackend!.path, path.join(cache, 'ampere', 'llama-addon.node'));
  t.equal(report.cudaBackend!.origin, 'cached');
  t.same(report.cudaBackend!.architectures, ['sm_86']);
  t.equal(report.canRun, false);
  t.match(report.problems[0].fix, /build-native\.sh --cuda --cuda-archs "90"/);

  const off = JSON.parse((await adaptd(['doctor', '--json', '--no-load', '--native-engine', 'off'], { PATH: h200Path(), ADAPTD_NATIVE_CACHE: cache })).stdout) as EngineReport;
  t.not(off.cudaBackend?.path, report.cudaBackend!.path, '--native-engine off: the patched build is not what loads');
  t.not(off.startup, 'build', 'and start-up does not build one it would not load');
});

t.test('an older cached build that runs on this GPU is selected at start, for this and every later start', async (t) => {
  const cache = cudaBuildsCache({ name: 'ampere', images: [{ kind: 'sass', arch: 86 }] }, { name: 'hopper', images: [{ kind: 'sass', arch: 90 }] });
  const hopper = path.join(cache, 'hopper', 'llama-addon.node');
  const doctor = JSON.parse((await adaptd(['doctor', '--json', '--no-load'], { PATH: h200Path(), ADAPTD_NATIVE_CACHE: cache })).stdout) as EngineReport;
  t.equal(doctor.startup, 'select');
  t.equal(doctor.canRun, true);
  t.equal(doctor.cudaBackend!.path, hopper);
  t.equal(findNativeBuild('cuda', cache)?.addonPath, path.join(cache, 'ampere', 'llama-addon.node'), 'doctor changes nothing');

  // The fixture cannot decode, so the probe stops start-up after the selection; the selection stays.
  const { code, stderr } = await adaptd(['serve', '--gpu-fallback', 'exit', ...small], { PATH: h200Path(), ADAPTD_NATIVE_CACHE: cache });
  t.equal(code, 3);
  t.match(stderr, `selected the cached native engine build ${path.join(cache, 'hopper')} (its CUDA code runs on this GPU)`);
  t.equal(findNativeBuild('cuda', cache)?.addonPath, hopper, 'the engine now loads the build for this GPU');
});
