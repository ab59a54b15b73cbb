import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
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
  t.equal(planCudaBuild(undefined, [90]).cmakeArchitectures, '90-real');
  t.equal(planCudaBuild('default', [90]).withPtx, true);
  t.equal(planCudaBuild('80;90', []).cmakeArchitectures, '80-real;90-real;80-virtual');
  t.equal(planCudaBuild(undefined, [86, 90]).cmakeArchitectures, '86-real;90-real', "this machine's GPUs: no PTX");
});

/** scripts/build-native.sh --print-plan with only a stub nvcc of the given release on PATH (none: no toolkit). */
function printPlan(args: string[], nvccRelease?: string): string {
  const cacheRoot = '/cache/native';
  const tools = mkdtempSync(path.join(os.tmpdir(), 'adaptd-nvcc-'));
  if (nvccRelease) {
    writeFileSync(path.join(tools, 'nvcc'), `#!/bin/sh\necho "Cuda compilation tools, release ${nvccRelease}, V${nvccRelease}.0"\n`);
    chmodSync(path.join(tools, 'nvcc'), 0o755);
  }
  return execFileSync('bash', ['scripts/build-native.sh', '--print-plan', ...args], {
    encoding: 'utf8',
    // No nvidia-smi on this PATH: "local" falls back to the default list whatever machine runs the test.
    env: { ...process.env, ADAPTD_NATIVE_CACHE: cacheRoot, PATH: `${tools}:${path.dirname(process.execPath)}:/usr/bin:/bin` },
  });
}
const cacheOf = (plan: string) => /^cache: (\S+) \(key [0-9a-f]{16}\)$/m.exec(plan)?.[1];

t.test('build-native.sh --cuda --print-plan prints the architectures, the cmake command and the cache path (no toolkit or GPU needed)', async (t) => {
  const all = printPlan(['--cuda'], '13.0');
  t.match(all, /^backend: cuda /m);
  t.match(all, /^architectures: 80;86;89;90;100;120 \(default\)$/m);
  t.match(all, /-DGGML_CUDA=ON .*-DCMAKE_CUDA_ARCHITECTURES=80-real\\;86-real\\;89-real\\;90-real\\;100-real\\;120-real\\;80-virtual/);
  t.match(all, /^toolkit: nvcc 13\.0$/m);
  t.match(all, /^cache: \/cache\/native\/[0-9a-f]{16} \(key [0-9a-f]{16}\)$/m, "the native engine's cache, one folder per key");
  t.match(all, /--target llama-addon$/m);
  const hopper = printPlan(['--cuda-archs', '9.0', '--tools'], '13.0');
  t.match(hopper, /^architectures: 90 \(explicit\)$/m, '--cuda-archs implies --cuda');
  t.match(hopper, /-DCMAKE_CUDA_ARCHITECTURES=90-real /, 'one architecture: no PTX');
  t.match(hopper, /--target llama-addon llama-server llama-quantize llama-batched-bench$/m);
  t.match(printPlan(['--cuda-archs', 'default', '--portable'], '13.0'), / -DGGML_NATIVE=OFF /, 'an image build: portable CPU code');
  t.throws(() => printPlan(['--cuda-archs', 'hopper']), /exit|status|Command failed/, 'a bad list exits non-zero');
  const cpu = printPlan([]);
  t.match(cpu, /^backend: cpu /m);
  t.notMatch(cpu, /GGML_CUDA|architectures:/, 'without --cuda: the CPU build as before');
});

t.test('the cache key changes with toolkit, architectures and backend, and not with how the list is written', async (t) => {
  const hopper = cacheOf(printPlan(['--cuda-archs', '90'], '13.0'));
  t.ok(hopper);
  t.equal(cacheOf(printPlan(['--cuda-archs', 'sm_90'], '13.0')), hopper, 'the same architectures written differently');
  t.equal(cacheOf(printPlan(['--cuda-archs', '90;90'], '13.0')), hopper, 'a repeated one');
  t.not(cacheOf(printPlan(['--cuda-archs', '90'], '13.1')), hopper, 'another toolkit');
  t.not(cacheOf(printPlan(['--cuda-archs', '80;90'], '13.0')), hopper, 'more architectures');
  t.not(cacheOf(printPlan(['--cuda-archs', '90', '--portable'], '13.0')), hopper, 'portable CPU code');
  t.equal(cacheOf(printPlan(['--cuda-archs', '9.0,8.0'], '13.0')), cacheOf(printPlan(['--cuda-archs', '80;90'], '13.0')), 'in any order');
  const cpu = printPlan([]);
  t.not(cacheOf(cpu), hopper);
  const printDir = execFileSync('bash', ['scripts/build-native.sh', '--print-dir'], { encoding: 'utf8', env: { ...process.env, ADAPTD_NATIVE_CACHE: '/cache/native' } }).trim();
  t.equal(cacheOf(cpu), printDir, 'the CPU plan names the folder --print-dir does');
});
