/**
 * Whether a CUDA backend library can run on the GPUs of this machine, decided from facts read before anything is
 * loaded: each device's compute capability, the driver's CUDA version, and the kernel images the library carries in
 * its fatbinary (machine code "SASS" for given architectures, PTX the driver compiles itself). A library without a
 * usable image for a device, or whose PTX is newer than the driver accepts, loads a model fine and then aborts the
 * process on the first decode, so this is decided at start, never discovered on a request.
 *
 * Pure: the byte readers take an accessor, the decisions take plain values; cudaBackendCheck.ts does the I/O.
 */

/** Compute capability as one number: 9.0 → 90, 12.1 → 121. */
export type Arch = number;

export interface CudaVersion {
  major: number;
  minor: number;
}

export interface CudaDevice {
  index: number;
  name: string;
  computeCapability: Arch;
  memoryMiB?: number;
}

export interface CudaDriver {
  /** The driver's own version, e.g. "580.159.04". */
  version: string;
  /** The newest CUDA version the driver supports ("CUDA Version" in nvidia-smi). */
  cuda: CudaVersion;
}

/**
 * One kind of kernel image. `variant` "a" (sm_90a) runs only on exactly that architecture, "f" (sm_100f) on its
 * family (same major, same or newer minor), "" like "f" for machine code and on any newer device for PTX.
 */
export interface CudaImage {
  kind: 'sass' | 'ptx';
  arch: Arch;
  variant: '' | 'a' | 'f';
  /** PTX ISA version, for PTX images (it names the toolchain that made them). */
  ptxIsa?: CudaVersion;
}

export interface CudaLibraryInfo {
  images: CudaImage[];
  /** Major version of the CUDA runtime the library links (libcudart.so.13 → 13); undefined if not linked. */
  runtimeMajor?: number;
}

export interface CudaBackend extends CudaLibraryInfo {
  path: string;
  /** Where it came from: node-llama-cpp's prebuilt library (installed with it), or a native engine build cached by scripts/build-native.sh --cuda. */
  origin: 'installed' | 'cached';
  /** The CUDA package is installed without this library (a pruned install): nothing runs on the GPU until a native build is cached. */
  missing?: boolean;
}

/** Reads `length` bytes at `offset` (fewer at the end of the file). */
export type ByteReader = (offset: number, length: number) => Buffer;

export class CudaLibraryFormatError extends Error {
  override name = 'CudaLibraryFormatError';
}

const FATBIN_MAGIC = 0xba55ed50;
const FATBIN_KIND_PTX = 1;
const FATBIN_KIND_SASS = 2;
// Entry flags as nvcc writes them (read from fatbinaries nvcc 13.0 made for sm_90a, sm_100f, sm_120a).
const FATBIN_FLAG_ARCH_SPECIFIC = 0x100000;
const FATBIN_FLAG_FAMILY_SPECIFIC = 0x200000;
const DT_NEEDED = 1;
const SHT_DYNAMIC = 6;

interface ElfSection {
  name: string;
  type: number;
  offset: number;
  size: number;
  link: number;
}

function readSections(read: ByteReader): ElfSection[] {
  const header = read(0, 64);
  if (header.length < 64 || header.readUInt32BE(0) !== 0x7f454c46) throw new CudaLibraryFormatError('not an ELF file');
  if (header[4] !== 2 || header[5] !== 1) throw new CudaLibraryFormatError('not a 64-bit little-endian ELF file');
  const tableOffset = Number(header.readBigUInt64LE(0x28));
  const entrySize = header.readUInt16LE(0x3a);
  const count = header.readUInt16LE(0x3c);
  const namesIndex = header.readUInt16LE(0x3e);
  const table = read(tableOffset, entrySize * count);
  if (table.length < entrySize * count) throw new CudaLibraryFormatError('truncated ELF section table');
  const raw = Array.from({ length: count }, (_, i) => {
    const at = i * entrySize;
    return {
      nameOffset: table.readUInt32LE(at),
      type: table.readUInt32LE(at + 4),
      offset: Number(table.readBigUInt64LE(at + 24)),
      size: Number(table.readBigUInt64LE(at + 32)),
      link: table.readUInt32LE(at + 40),
    };
  });
  const names = raw[namesIndex] ? read(raw[namesIndex].offset, raw[namesIndex].size) : Buffer.alloc(0);
  return raw.map((s) => ({ name: cString(names, s.nameOffset), type: s.type, offset: s.offset, size: s.size, link: s.link }));
}

function cString(bytes: Buffer, offset: number): string {
  const end = bytes.indexOf(0, offset);
  return bytes.toString('latin1', offset, end < 0 ? bytes.length : end);
}

/** The libraries an ELF shared object names as DT_NEEDED. */
function neededLibraries(read: ByteReader, sections: ElfSection[]): string[] {
  const dynamic = sections.find((s) => s.type === SHT_DYNAMIC);
  if (!dynamic || !sections[dynamic.link]) return [];
  const strings = read(sections[dynamic.link].offset, sections[dynamic.link].size);
  const entries = read(dynamic.offset, dynamic.size);
  const needed: string[] = [];
  for (let at = 0; at + 16 <= entries.length; at += 16) {
    const tag = entries.readBigInt64LE(at);
    if (tag === 0n) break;
    if (tag === BigInt(DT_NEEDED)) needed.push(cString(strings, Number(entries.readBigUInt64LE(at + 8))));
  }
  return needed;
}

/**
 * The distinct kernel images in the `.nv_fatbin` section: a run of fatbinary containers (16-byte header: magic,
 * version, header size, payload size), each a run of entries with a header that names kind, PTX ISA version,
 * architecture and flags. Only headers are read, so a 160 MB library costs a few thousand small reads.
 */
function fatbinImages(read: ByteReader, section: ElfSection): CudaImage[] {
  const seen = new Map<string, CudaImage>();
  const end = section.offset + section.size;
  let at = section.offset;
  while (at + 16 <= end) {
    const container = read(at, 16);
    if (container.readUInt32LE(0) !== FATBIN_MAGIC) {
      at += 8; // containers are 8-byte aligned; padding between them
      continue;
    }
    const headerSize = container.readUInt16LE(6);
    const containerEnd = at + headerSize + Number(container.readBigUInt64LE(8));
    let entryAt = at + headerSize;
    while (entryAt + 64 <= containerEnd) {
      const entry = read(entryAt, 64);
      const kind = entry.readUInt16LE(0);
      const entryHeaderSize = entry.readUInt32LE(4);
      const payloadSize = Number(entry.readBigUInt64LE(8));
      if (entryHeaderSize < 64) throw new CudaLibraryFormatError(`fatbinary entry header of ${entryHeaderSize} bytes at ${entryAt}`);
      if (kind === FATBIN_KIND_PTX || kind === FATBIN_KIND_SASS) {
        const flags = Number(entry.readBigUInt64LE(40));
        const image: CudaImage = {
          kind: kind === FATBIN_KIND_PTX ? 'ptx' : 'sass',
          arch: entry.readUInt32LE(28),
          variant: flags & FATBIN_FLAG_ARCH_SPECIFIC ? 'a' : flags & FATBIN_FLAG_FAMILY_SPECIFIC ? 'f' : '',
        };
        if (image.kind === 'ptx') image.ptxIsa = { major: entry.readUInt16LE(26), minor: entry.readUInt16LE(24) };
        seen.set(imageName(image) + (image.ptxIsa ? `@${versionText(image.ptxIsa)}` : ''), image);
      }
      entryAt += entryHeaderSize + payloadSize;
    }
    at = Math.max(containerEnd, at + 16);
    at += (8 - (at % 8)) % 8;
  }
  return [...seen.values()].sort((x, y) => x.arch - y.arch || x.kind.localeCompare(y.kind) || x.variant.localeCompare(y.variant));
}

/** The kernel images and CUDA runtime of a CUDA shared library (libggml-cuda.so). */
export function readCudaLibrary(read: ByteReader): CudaLibraryInfo {
  const sections = readSections(read);
  const fatbin = sections.find((s) => s.name === '.nv_fatbin');
  const runtime = neededLibraries(read, sections).map((name) => /^libcudart\.so\.(\d+)/.exec(name)).find(Boolean);
  return {
    images: fatbin ? fatbinImages(read, fatbin) : [],
    runtimeMajor: runtime ? Number(runtime[1]) : undefined,
  };
}

export const bufferReader = (bytes: Buffer): ByteReader => (offset, length) => bytes.subarray(offset, offset + length);

export const archText = (arch: Arch) => `${Math.floor(arch / 10)}.${arch % 10}`;
export const versionText = (v: CudaVersion) => `${v.major}.${v.minor}`;
const compareVersions = (x: CudaVersion, y: CudaVersion) => x.major - y.major || x.minor - y.minor;
/** "sm_90a", "compute_80". */
export const imageName = (image: CudaImage) => `${image.kind === 'sass' ? 'sm' : 'compute'}_${image.arch}${image.variant}`;

/**
 * The PTX ISA version each CUDA release introduced (NVIDIA's PTX ISA release notes): a driver compiles PTX up to the
 * version of the CUDA it supports. Releases after the table follow 13.x → 9.x.
 */
const PTX_ISA_BY_CUDA: Array<[string, string]> = [
  ['11.0', '7.0'], ['11.1', '7.1'], ['11.2', '7.2'], ['11.3', '7.3'], ['11.4', '7.4'], ['11.5', '7.5'], ['11.6', '7.6'],
  ['11.7', '7.7'], ['11.8', '7.8'], ['12.0', '8.0'], ['12.1', '8.1'], ['12.2', '8.2'], ['12.3', '8.3'], ['12.4', '8.4'],
  ['12.5', '8.5'], ['12.6', '8.5'], ['12.7', '8.6'], ['12.8', '8.7'], ['12.9', '8.8'], ['13.0', '9.0'], ['13.1', '9.1'],
];
const parseVersion = (text: string): CudaVersion => {
  const [major, minor] = text.split('.').map(Number);
  return { major, minor: minor ?? 0 };
};

/** The newest PTX ISA a driver supporting `cuda` compiles. */
export function maxPtxIsa(cuda: CudaVersion): CudaVersion {
  let best: CudaVersion = { major: 0, minor: 0 };
  for (const [release, isa] of PTX_ISA_BY_CUDA) if (compareVersions(parseVersion(release), cuda) <= 0) best = parseVersion(isa);
  if (cuda.major >= 13) best = { major: cuda.major - 4, minor: cuda.minor };
  return best;
}

/** The oldest CUDA release whose driver compiles PTX of version `isa`. */
export function cudaForPtxIsa(isa: CudaVersion): CudaVersion {
  const row = PTX_ISA_BY_CUDA.find(([, version]) => compareVersions(parseVersion(version), isa) >= 0);
  return row ? parseVersion(row[0]) : { major: isa.major + 4, minor: isa.minor };
}

/** Machine code runs on its own architecture and, unless arch-specific, on newer minors of the same major. */
function sassRunsOn(image: CudaImage, device: Arch): boolean {
  if (image.variant === 'a') return image.arch === device;
  return Math.floor(image.arch / 10) === Math.floor(device / 10) && device % 10 >= image.arch % 10;
}

/** PTX compiles for its own architecture and any newer one (arch- and family-specific PTX as machine code). */
function ptxTargets(image: CudaImage, device: Arch): boolean {
  return image.variant === '' ? device >= image.arch : sassRunsOn(image, device);
}

export type CudaVerdict =
  | { runs: true; via: 'sass' | 'ptx'; image: CudaImage }
  | { runs: false; problem: string };

/** Whether `library` can run its kernels on `device` under `driver`, and through which image. */
export function libraryRunsOn(library: CudaLibraryInfo, device: CudaDevice, driver: CudaDriver): CudaVerdict {
  const cc = device.computeCapability;
  if (library.images.length === 0) return { runs: false, problem: 'the library holds no CUDA kernels (no .nv_fatbin section)' };
  if (library.runtimeMajor !== undefined && library.runtimeMajor > driver.cuda.major) {
    return {
      runs: false,
      problem: `it links the CUDA ${library.runtimeMajor} runtime, and driver ${driver.version} supports CUDA ${versionText(driver.cuda)} only`,
    };
  }
  const sass = library.images.filter((image) => image.kind === 'sass' && sassRunsOn(image, cc)).sort((x, y) => y.arch - x.arch)[0];
  if (sass) return { runs: true, via: 'sass', image: sass };
  // The driver JIT-compiles the newest PTX at or below the device's architecture.
  const ptx = library.images.filter((image) => image.kind === 'ptx' && ptxTargets(image, cc)).sort((x, y) => y.arch - x.arch)[0];
  const held = describeImages(library.images);
  if (!ptx) return { runs: false, problem: `it has no kernels for compute capability ${archText(cc)} (it holds ${held})` };
  const accepted = maxPtxIsa(driver.cuda);
  if (ptx.ptxIsa && compareVersions(ptx.ptxIsa, accepted) > 0) {
    return {
      runs: false,
      problem:
        `it has no machine code for compute capability ${archText(cc)} (it holds ${held}), and its PTX ${archText(ptx.arch)} ` +
        `is PTX ISA ${versionText(ptx.ptxIsa)} (made by CUDA ${versionText(cudaForPtxIsa(ptx.ptxIsa))}), newer than driver ` +
        `${driver.version} (CUDA ${versionText(driver.cuda)}) accepts (PTX ISA ${versionText(accepted)})`,
    };
  }
  return { runs: true, via: 'ptx', image: ptx };
}

/** "machine code for 8.6, 8.9, 12.0a, 12.1a and PTX 7.5, 8.0, 9.0 (PTX ISA 9.1)". */
export function describeImages(images: CudaImage[]): string {
  const list = (kind: CudaImage['kind']) =>
    [...new Set(images.filter((i) => i.kind === kind).map((i) => `${archText(i.arch)}${i.variant}`))].join(', ');
  const isas = [...new Set(images.filter((i) => i.ptxIsa).map((i) => versionText(i.ptxIsa!)))];
  const parts = [list('sass') && `machine code for ${list('sass')}`, list('ptx') && `PTX ${list('ptx')}${isas.length ? ` (PTX ISA ${isas.join(', ')})` : ''}`];
  return parts.filter(Boolean).join(' and ') || 'no kernels';
}

/** The CUDA architecture list a backend for these devices is built for: each distinct compute capability once. */
export const localArchitectures = (devices: CudaDevice[]): Arch[] => [...new Set(devices.map((d) => d.computeCapability))].sort((a, b) => a - b);

/** Parses `nvidia-smi --query-gpu=index,name,compute_cap,driver_version,memory.total --format=csv,noheader,nounits`. */
export function parseNvidiaSmiQuery(csv: string): Array<CudaDevice & { driverVersion: string }> {
  return csv
    .split('\n')
    .map((line) => line.split(',').map((field) => field.trim()))
    .filter((fields) => fields.length >= 4 && /^\d+$/.test(fields[0]))
    .map(([index, name, cc, driverVersion, memory]) => {
      const [major, minor] = cc.split('.').map(Number);
      return {
        index: Number(index),
        name,
        computeCapability: major * 10 + (minor || 0),
        driverVersion,
        memoryMiB: memory !== undefined && /^\d+$/.test(memory) ? Number(memory) : undefined,
      };
    });
}

/** The "CUDA Version: 13.0" of nvidia-smi's banner (the newest CUDA the driver supports). */
export function parseDriverCudaVersion(banner: string): CudaVersion | undefined {
  const match = /CUDA Version\s*:\s*(\d+)\.(\d+)/.exec(banner);
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

/** "Cuda compilation tools, release 13.0, V13.0.88" → 13.0. */
export function parseNvccVersion(output: string): CudaVersion | undefined {
  const match = /release (\d+)\.(\d+)/.exec(output);
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

/** What to do when the CUDA backend cannot run: build one (when a toolkit is here), stop with instructions, or use the CPU. */
export type GpuFallback = 'build' | 'exit' | 'cpu';

export interface CudaSituation {
  gpu: 'auto' | 'cuda' | 'vulkan' | 'off';
  fallback: GpuFallback;
  devices: CudaDevice[];
  driver?: CudaDriver;
  /**
   * The CUDA code the engine will load: the patched engine's newest CUDA build when one is cached, else
   * node-llama-cpp's prebuilt library (undefined when neither is there).
   */
  installed?: CudaBackend;
  /** The other CUDA builds cached by scripts/build-native.sh, newest first: the alternatives start-up may select. */
  cached: CudaBackend[];
  /** nvcc's version when a CUDA toolkit is present. */
  toolkit?: CudaVersion;
  /** The shell command that builds the native engine for the given architectures. */
  buildCommand: (archs: Arch[]) => string;
}

export type CudaDecision =
  /** Nothing to check: no NVIDIA GPU, or a backend other than CUDA was asked for. */
  | { action: 'none'; reason: string }
  | { action: 'use'; backend: CudaBackend; verdicts: CudaVerdict[] }
  /** A cached build fits: make it the one the engine loads. */
  | { action: 'select'; backend: CudaBackend; verdicts: CudaVerdict[]; problem: string }
  | { action: 'build'; archs: Arch[]; command: string; problem: string }
  | { action: 'cpu'; problem: string }
  | { action: 'exit'; message: string };

/** Why `backend` cannot run on every device, or undefined when it can; with each device's verdict. */
export function checkBackend(backend: CudaLibraryInfo, devices: CudaDevice[], driver: CudaDriver): { verdicts: CudaVerdict[]; problem?: string } {
  const verdicts = devices.map((device) => libraryRunsOn(backend, device, driver));
  const failed = devices.map((device, i) => [device, verdicts[i]] as const).find(([, verdict]) => !verdict.runs);
  if (!failed) return { verdicts };
  const [device, verdict] = failed;
  return {
    verdicts,
    problem: `GPU ${device.index} (${device.name}, compute capability ${archText(device.computeCapability)}): ${(verdict as { problem: string }).problem}`,
  };
}

/** The start-up decision table for the CUDA backend; see the module comment. */
export function decideCudaBackend(situation: CudaSituation): CudaDecision {
  const { devices, driver, installed } = situation;
  if (situation.gpu === 'off' || situation.gpu === 'vulkan') return { action: 'none', reason: `--gpu ${situation.gpu}` };
  if (devices.length === 0 || !driver) return { action: 'none', reason: 'no NVIDIA GPU found (nvidia-smi lists none)' };
  if (!installed) {
    return situation.gpu === 'cuda'
      ? { action: 'exit', message: "--gpu cuda, but node-llama-cpp's CUDA package (@node-llama-cpp/linux-x64-cuda) is not installed and no CUDA build of the native engine is cached: run `npm ci` with optional dependencies or scripts/build-native.sh --cuda, or start with --gpu auto" }
      : { action: 'none', reason: "node-llama-cpp's CUDA package is not installed" };
  }
  const current: { verdicts: CudaVerdict[]; problem?: string } = installed.missing
    ? { verdicts: [], problem: 'the library is missing' }
    : checkBackend(installed, devices, driver);
  if (!current.problem) return { action: 'use', backend: installed, verdicts: current.verdicts };
  const problem = `the CUDA backend ${installed.path} cannot run here: ${current.problem}`;
  for (const backend of situation.cached) {
    const check = checkBackend(backend, devices, driver);
    if (!check.problem) return { action: 'select', backend, verdicts: check.verdicts, problem };
  }
  if (situation.fallback === 'cpu') return { action: 'cpu', problem };
  const archs = localArchitectures(devices);
  const command = situation.buildCommand(archs);
  if (situation.fallback === 'build' && situation.toolkit) return { action: 'build', archs, command, problem };
  const toolkit = situation.toolkit
    ? `a CUDA ${versionText(situation.toolkit)} toolkit is installed here`
    : `it needs a CUDA toolkit (nvcc) no newer than the driver's CUDA ${versionText(driver.cuda)}, cmake and a C++ compiler; about 4 minutes on 16 cores`;
  return {
    action: 'exit',
    message:
      `${problem}.\nTo fix it, build the backend for this GPU (${toolkit}):\n  ${command}\n` +
      `or update the NVIDIA driver, or serve on the CPU: --gpu-fallback cpu (or --gpu off).`,
  };
}
