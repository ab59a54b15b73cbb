import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { findCudaToolkit, inspectCudaLibrary, installedCudaLibraryPath } from '../../src/engine/cudaBackendCheck.js';
import {
  bufferReader,
  CudaLibraryFormatError,
  decideCudaBackend,
  describeImages,
  libraryRunsOn,
  maxPtxIsa,
  parseDriverCudaVersion,
  parseNvccVersion,
  parseNvidiaSmiQuery,
  readCudaLibrary,
  type CudaBackend,
  type CudaDevice,
  type CudaDriver,
  type CudaSituation,
} from '../../src/engine/cudaCapability.js';
import { cudaLibraryElf, type FixtureImage } from '../helpers/cudaLibraryFixture.js';

// What node-llama-cpp 3.21.1's prebuilt libggml-cuda.so holds (its fatbinary, read by the test below).
const PREBUILT_IMAGES: FixtureImage[] = [
  { kind: 'sass', arch: 86 },
  { kind: 'sass', arch: 89 },
  { kind: 'sass', arch: 120, variant: 'a' },
  { kind: 'sass', arch: 121, variant: 'a' },
  { kind: 'ptx', arch: 75, isa: '9.1' },
  { kind: 'ptx', arch: 80, isa: '9.1' },
  { kind: 'ptx', arch: 90, isa: '9.1' },
];

const library = (containers: FixtureImage[][], needed?: string[]) => readCudaLibrary(bufferReader(cudaLibraryElf({ containers, needed })));
const gpu = (cc: number, index = 0, name = `GPU cc ${cc}`): CudaDevice => ({ index, name, computeCapability: cc });
const driver = (cuda: string, version = '580.159.04'): CudaDriver => {
  const [major, minor] = cuda.split('.').map(Number);
  return { version, cuda: { major, minor } };
};

t.test('the fatbinary reader lists each kind of image once, with PTX ISA, variant and CUDA runtime', async (t) => {
  // Every kernel file of a library is its own container with the same images: they are listed once.
  const info = library([PREBUILT_IMAGES, PREBUILT_IMAGES.slice(0, 3), [{ kind: 'sass', arch: 100, variant: 'f' }]]);
  t.equal(info.runtimeMajor, 13);
  t.same(
    info.images.map((i) => `${i.kind}:${i.arch}${i.variant}${i.ptxIsa ? `@${i.ptxIsa.major}.${i.ptxIsa.minor}` : ''}`),
    ['ptx:75@9.1', 'ptx:80@9.1', 'sass:86', 'sass:89', 'ptx:90@9.1', 'sass:100f', 'sass:120a', 'sass:121a'],
  );
  t.equal(describeImages(info.images), 'machine code for 8.6, 8.9, 10.0f, 12.0a, 12.1a and PTX 7.5, 8.0, 9.0 (PTX ISA 9.1)');
  t.equal(library([[{ kind: 'sass', arch: 90 }]], ['libc.so.6']).runtimeMajor, undefined, 'a statically linked runtime is not named');
  t.same(library([]).images, [], 'no .nv_fatbin: no kernels');
  t.throws(() => readCudaLibrary(bufferReader(Buffer.from('#!/bin/sh\n'.padEnd(80)))), CudaLibraryFormatError);
});

t.test("node-llama-cpp's installed CUDA backend holds what the README says", { skip: !installedCudaLibraryPath() && 'no CUDA package installed' }, async (t) => {
  const info = inspectCudaLibrary(installedCudaLibraryPath()!);
  t.equal(describeImages(info.images), 'machine code for 8.6, 8.9, 12.0a, 12.1a and PTX 7.5, 8.0, 9.0 (PTX ISA 9.1)');
  t.equal(info.runtimeMajor, 13);
});

t.test('a library nvcc builds here reads as built', { skip: !findCudaToolkit() && 'no CUDA toolkit (nvcc)' }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'adaptd-nvcc-'));
  writeFileSync(path.join(dir, 'k.cu'), '__global__ void add(float *x) { x[threadIdx.x] += 1.0f; }\n');
  const nvcc = findCudaToolkit()!;
  execFileSync('nvcc', ['-shared', '-Xcompiler', '-fPIC', '-cudart', 'shared',
    '-gencode', 'arch=compute_86,code=sm_86', '-gencode', 'arch=compute_90a,code=sm_90a', '-gencode', 'arch=compute_80,code=compute_80',
    'k.cu', '-o', 'k.so'], { cwd: dir, stdio: 'ignore' });
  const info = inspectCudaLibrary(path.join(dir, 'k.so'));
  // nvcc 13.0 writes PTX ISA 9.0; the table maps each toolkit to the ISA its driver accepts, so they agree.
  const isa = maxPtxIsa(nvcc);
  t.equal(describeImages(info.images), `machine code for 8.6, 9.0a and PTX 8.0 (PTX ISA ${isa.major}.${isa.minor})`);
  t.equal(info.runtimeMajor, nvcc.major);
});

t.test('which image a GPU runs, and why not', async (t) => {
  const prebuilt = library([PREBUILT_IMAGES]);
  const verdict = (cc: number, cuda: string) => {
    const v = libraryRunsOn(prebuilt, gpu(cc), driver(cuda));
    return v.runs ? `${v.via} ${v.image.arch}${v.image.variant}` : 'no';
  };
  // The H200 seen aborting on its first decode: 9.0 has only PTX 9.0, ISA 9.1, and a CUDA 13.0 driver takes 9.0.
  t.equal(verdict(90, '13.0'), 'no', 'H100/H200, driver 580 (CUDA 13.0)');
  t.equal(verdict(90, '13.1'), 'ptx 90', 'the same GPU with a CUDA 13.1 driver compiles the PTX');
  t.equal(verdict(80, '13.0'), 'no', 'A100, CUDA 13.0 driver');
  t.equal(verdict(86, '13.0'), 'sass 86', 'RTX 30 / A10');
  t.equal(verdict(87, '13.0'), 'sass 86', 'Orin 8.7 runs 8.6 machine code (same major, newer minor)');
  t.equal(verdict(89, '13.0'), 'sass 89', 'L4 / L40S / RTX 40');
  t.equal(verdict(120, '13.0'), 'sass 120a', 'RTX 50');
  t.equal(verdict(121, '13.0'), 'sass 121a');
  t.equal(verdict(100, '13.1'), 'ptx 90', 'B200 without machine code compiles the newest PTX below it');
  t.equal(verdict(75, '13.1'), 'ptx 75');
  t.equal(verdict(70, '13.1'), 'no', 'nothing at or below 7.0');
  t.equal(verdict(86, '12.8'), 'no', 'a CUDA 13 runtime needs a CUDA 13 driver');

  const mine = library([[{ kind: 'sass', arch: 90, variant: 'a' }, { kind: 'sass', arch: 100, variant: 'f' }, { kind: 'ptx', arch: 80, isa: '9.0' }]]);
  const runs = (cc: number) => { const v = libraryRunsOn(mine, gpu(cc), driver('13.0')); return v.runs ? `${v.via} ${v.image.arch}${v.image.variant}` : 'no'; };
  t.equal(runs(90), 'sass 90a');
  t.equal(runs(100), 'sass 100f');
  t.equal(runs(103), 'sass 100f', 'family code runs on the family');
  t.equal(runs(120), 'ptx 80', 'not 10.0f on 12.0: PTX instead');
  t.equal(runs(89), 'ptx 80');
  const blackwell = library([[{ kind: 'sass', arch: 120, variant: 'a' }, { kind: 'ptx', arch: 80, isa: '9.0' }]]);
  const on121 = libraryRunsOn(blackwell, gpu(121), driver('13.0'));
  t.match(on121, { runs: true, via: 'ptx' }, 'arch-specific 12.0a machine code does not run on 12.1');

  const problem = libraryRunsOn(prebuilt, gpu(90), driver('13.0'));
  t.match(problem, { runs: false, problem: /PTX 9\.0 is PTX ISA 9\.1 \(made by CUDA 13\.1\), newer than driver 580\.159\.04 \(CUDA 13\.0\) accepts \(PTX ISA 9\.0\)/ });
});

t.test('the PTX ISA a driver accepts follows its CUDA version', async (t) => {
  const isa = (cuda: string) => { const v = maxPtxIsa(driver(cuda).cuda); return `${v.major}.${v.minor}`; };
  t.equal(isa('12.4'), '8.4');
  t.equal(isa('12.6'), '8.5');
  t.equal(isa('12.8'), '8.7');
  t.equal(isa('13.0'), '9.0');
  t.equal(isa('13.2'), '9.2', 'past the table: 13.x → 9.x');
});

t.test('nvidia-smi and nvcc output are read', async (t) => {
  t.same(parseNvidiaSmiQuery('0, NVIDIA H200, 9.0, 580.159.04, 143771\n1, NVIDIA A100-SXM4-80GB, 8.0, 580.159.04, 81920\n'), [
    { index: 0, name: 'NVIDIA H200', computeCapability: 90, driverVersion: '580.159.04', memoryMiB: 143771 },
    { index: 1, name: 'NVIDIA A100-SXM4-80GB', computeCapability: 80, driverVersion: '580.159.04', memoryMiB: 81920 },
  ]);
  t.same(parseNvidiaSmiQuery('0, NVIDIA GeForce RTX 5090, 12.0, 575.51, [N/A]\n'), [{ index: 0, name: 'NVIDIA GeForce RTX 5090', computeCapability: 120, driverVersion: '575.51', memoryMiB: undefined }]);
  t.same(parseNvidiaSmiQuery('NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.\n'), []);
  t.same(parseDriverCudaVersion('| NVIDIA-SMI 580.159.04   Driver Version: 580.159.04   CUDA Version: 13.0     |'), { major: 13, minor: 0 });
  t.equal(parseDriverCudaVersion('no banner'), undefined);
  t.same(parseNvccVersion('Cuda compilation tools, release 13.0, V13.0.88\nBuild cuda_13.0.r13.0/compiler.36424714_0'), { major: 13, minor: 0 });
});

t.test('the start-up decision table', async (t) => {
  const backend = (origin: CudaBackend['origin'], images: FixtureImage[], file = `/lib/${origin}/libggml-cuda.so`): CudaBackend =>
    ({ path: file, origin, ...library([images]) });
  const installed = backend('installed', PREBUILT_IMAGES);
  const forHopper = backend('cached', [{ kind: 'sass', arch: 90 }], '/cache/cuda-90/libggml-cuda.so');
  const forAmpere = backend('cached', [{ kind: 'sass', arch: 80 }], '/cache/cuda-80/libggml-cuda.so');
  const base: CudaSituation = {
    gpu: 'auto',
    fallback: 'build',
    devices: [gpu(90, 0, 'NVIDIA H200')],
    driver: driver('13.0'),
    installed,
    cached: [],
    toolkit: { major: 13, minor: 0 },
    buildCommand: (archs) => `scripts/build-native.sh --cuda --cuda-archs "${archs.join(';')}"`,
  };
  const decide = (change: Partial<CudaSituation>) => decideCudaBackend({ ...base, ...change });

  t.match(decide({ gpu: 'off' }), { action: 'none' });
  t.match(decide({ gpu: 'vulkan' }), { action: 'none' });
  t.match(decide({ devices: [], driver: undefined }), { action: 'none', reason: /no NVIDIA GPU/ });
  t.match(decide({ installed: undefined }), { action: 'none' }, 'auto without the CUDA package: node-llama-cpp picks another backend');
  t.match(decide({ gpu: 'cuda', installed: undefined }), { action: 'exit', message: /CUDA package/ });
  t.match(decide({ devices: [gpu(89, 0, 'NVIDIA L4')] }), { action: 'use', backend: { origin: 'installed' } }, 'machine code for the GPU: keep it');
  t.match(decide({ driver: driver('13.1') }), { action: 'use', verdicts: [{ runs: true, via: 'ptx' }] }, 'PTX the driver accepts: keep it');

  // The installed backend cannot run on the H200 with driver 580:
  t.match(decide({ cached: [forAmpere, forHopper] }), { action: 'select', backend: { path: forHopper.path } }, 'a cached build for this GPU is used');
  t.match(decide({}), { action: 'build', archs: [90], command: 'scripts/build-native.sh --cuda --cuda-archs "90"' }, 'toolkit present: build');
  t.match(decide({ cached: [forAmpere] }), { action: 'build' }, 'a cached build for another GPU does not count');
  t.match(decide({ toolkit: undefined }), {
    action: 'exit',
    message: /cannot run here: GPU 0 \(NVIDIA H200, compute capability 9\.0\): .*\nTo fix it, build the backend for this GPU \(it needs a CUDA toolkit.*\n {2}scripts\/build-native\.sh --cuda --cuda-archs "90"\nor update the NVIDIA driver, or serve on the CPU: --gpu-fallback cpu/s,
  });
  t.match(decide({ fallback: 'exit' }), { action: 'exit', message: /a CUDA 13\.0 toolkit is installed here/ }, '--gpu-fallback exit never builds');
  t.match(decide({ fallback: 'cpu' }), { action: 'cpu', problem: /cannot run here/ }, 'CPU only when asked');
  t.match(decide({ fallback: 'cpu', cached: [forHopper] }), { action: 'select' }, 'even then, a cached GPU build wins');
  const pruned: CudaBackend = { path: installed.path, origin: 'installed', images: [], missing: true };
  t.match(decide({ installed: pruned, cached: [forHopper] }), { action: 'select' }, 'a package without its library takes the cached build');
  t.match(decide({ installed: pruned, toolkit: undefined }), { action: 'exit', message: /libggml-cuda\.so cannot run here: the library is missing/ });

  // Two GPUs: every one must run it; the build covers both architectures.
  const mixed = { devices: [gpu(86, 0, 'NVIDIA A10'), gpu(90, 1, 'NVIDIA H100')] };
  t.match(decide(mixed), { action: 'build', archs: [86, 90], problem: /GPU 1 \(NVIDIA H100/ });
  t.match(decide({ ...mixed, cached: [forHopper] }), { action: 'build' }, 'a build for one of them is not enough');
});
