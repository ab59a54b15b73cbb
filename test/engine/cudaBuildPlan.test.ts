import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import {
  CudaArchitectureError,
  DEFAULT_CUDA_ARCHITECTURES,
  cmakeArchitectures,
  parseArchitecture,
  planCudaBuild,
  resolveArchitectures,
} from '../../src/engine/cudaBuildPlan.js';

t.test('architectures are read in the forms people write them', async (t) => {
  for (const [text, arch] of [['90', 90], ['9.0', 90], ['sm_90', 90], ['compute_80', 80], ['12.0', 120], ['120', 120], ['8.6', 86]] as const) {
    t.equal(parseArchitecture(text), arch, text);
  }
  for (const bad of ['9', '42', 'sm_9x', '', 'hopper', '1000']) t.throws(() => parseArchitecture(bad), CudaArchitectureError, bad);
});

t.test('which architectures a build covers', async (t) => {
  t.same(DEFAULT_CUDA_ARCHITECTURES, [80, 86, 89, 90, 100, 120], 'A100, RTX 30/A10, L4/L40S/RTX 40, H100/H200, B200, RTX 50');
  t.same(resolveArchitectures(undefined, [90]), { archs: [90], source: 'local' }, 'by default: the GPUs here');
  t.same(resolveArchitectures('local', [90, 86, 90]), { archs: [86, 90], source: 'local' });
  t.same(resolveArchitectures('local', []), { archs: DEFAULT_CUDA_ARCHITECTURES, source: 'default' }, 'no GPU here: the default list');
  t.same(resolveArchitectures('default', [90]), { archs: DEFAULT_CUDA_ARCHITECTURES, source: 'default' });
  t.same(resolveArchitectures('90;8.0, sm_86', []), { archs: [80, 86, 90], source: 'explicit' });
  t.throws(() => resolveArchitectures(';', []), CudaArchitectureError);
});

t.test('the CMake value: machine code for each, PTX for the lowest only on multi-GPU builds', async (t) => {
  t.equal(cmakeArchitectures([90], false), '90-real');
  t.equal(cmakeArchitectures([80, 86, 89, 90, 100, 120], true), '80-real;86-real;89-real;90-real;100-real;120-real;80-virtual');
  t.equal(planCudaBuild({ localArchs: [90], sourceId: 's', toolkit: '13.0', cacheRoot: '/c' }).cmakeArchitectures, '90-real');
  t.equal(planCudaBuild({ request: 'default', localArchs: [90], sourceId: 's', toolkit: '13.0', cacheRoot: '/c' }).withPtx, true);
  t.equal(planCudaBuild({ request: '80;90', localArchs: [], sourceId: 's', toolkit: '13.0', cacheRoot: '/c' }).cmakeArchitectures, '80-real;90-real;80-virtual');
  t.equal(planCudaBuild({ localArchs: [86, 90], sourceId: 's', toolkit: '13.0', cacheRoot: '/c' }).cmakeArchitectures, '86-real;90-real', "this machine's GPUs: no PTX");
});

t.test('the cache key changes with source, toolkit and architectures, and nothing else', async (t) => {
  const base = { request: '90', localArchs: [], sourceId: 'abc', toolkit: '13.0', cacheRoot: '/cache/native/' };
  const plan = planCudaBuild(base);
  t.match(plan.cacheDir, /^\/cache\/native\/cuda-[0-9a-f]{16}$/);
  t.equal(planCudaBuild({ ...base, request: 'sm_90' }).key, plan.key, 'the same architectures written differently');
  t.equal(planCudaBuild({ ...base, localArchs: [90], request: undefined }).key, plan.key, 'local 9.0 = explicit 90');
  t.not(planCudaBuild({ ...base, sourceId: 'abd' }).key, plan.key, 'another llama.cpp source');
  t.not(planCudaBuild({ ...base, toolkit: '13.1' }).key, plan.key, 'another toolkit');
  t.not(planCudaBuild({ ...base, request: '80;90' }).key, plan.key, 'more architectures');
});

t.test('build-cuda-backend.sh --print-plan prints the cmake command and the cache path (no toolkit or GPU needed)', async (t) => {
  const cacheRoot = mkdtempSync(path.join(os.tmpdir(), 'adaptd-native-'));
  const printPlan = (...args: string[]) =>
    execFileSync('bash', ['scripts/build-cuda-backend.sh', '--print-plan', ...args], {
      encoding: 'utf8',
      // No nvidia-smi on this PATH: "local" falls back to the default list whatever machine runs the test.
      env: { ...process.env, ADAPTD_NATIVE_CACHE: cacheRoot, PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin` },
    });
  const all = printPlan();
  t.match(all, /^architectures: 80;86;89;90;100;120 \(default\)$/m);
  t.match(all, /-DCMAKE_CUDA_ARCHITECTURES=80-real\\;86-real\\;89-real\\;90-real\\;100-real\\;120-real\\;80-virtual/);
  t.match(all, new RegExp(`^cache: ${cacheRoot}/cuda-[0-9a-f]{16} \\(key [0-9a-f]{16}\\)$`, 'm'));
  t.match(all, /--target ggml-cuda$/m);
  const hopper = printPlan('--archs', '9.0', '--with-tools', '--no-install');
  t.match(hopper, /^architectures: 90 \(explicit\)$/m);
  t.match(hopper, /-DCMAKE_CUDA_ARCHITECTURES=90-real /, 'one architecture: no PTX');
  t.match(hopper, /--target ggml-cuda ggml-cpu llama-server$/m);
  t.match(hopper, /^install: no$/m);
  t.match(printPlan('90'), /^architectures: 90 \(explicit\)$/m, 'a bare list, as the script took before');
  t.throws(() => printPlan('--archs', 'hopper'), /exit|status|Command failed/, 'a bad list exits non-zero');
});
