/**
 * Writes a minimal 64-bit ELF shared object shaped like a CUDA library: a `.nv_fatbin` section with fatbinary
 * containers whose entry headers name kind, architecture, PTX ISA and flags as nvcc writes them (payloads are
 * filler), and a `.dynamic` section naming its DT_NEEDED libraries. Enough for the capability reader; not loadable.
 */
export interface FixtureImage {
  kind: 'sass' | 'ptx';
  arch: number;
  variant?: '' | 'a' | 'f';
  /** PTX ISA "9.1"; SASS entries carry 1.8 there, as nvcc 13 writes them. */
  isa?: string;
}

const flagsFor = (variant: FixtureImage['variant']) => 0x11 | (variant === 'a' ? 0x100000 : variant === 'f' ? 0x200000 : 0);

function fatbinEntry(image: FixtureImage, payloadSize: number): Buffer {
  const header = Buffer.alloc(64);
  const [major, minor] = (image.kind === 'ptx' ? image.isa ?? '9.0' : '1.8').split('.').map(Number);
  header.writeUInt16LE(image.kind === 'ptx' ? 1 : 2, 0);
  header.writeUInt16LE(0x101, 2);
  header.writeUInt32LE(64, 4);
  header.writeBigUInt64LE(BigInt(payloadSize), 8);
  header.writeUInt16LE(minor, 24);
  header.writeUInt16LE(major, 26);
  header.writeUInt32LE(image.arch, 28);
  header.writeBigUInt64LE(BigInt(flagsFor(image.variant)), 40);
  return Buffer.concat([header, Buffer.alloc(payloadSize, 0xcc)]);
}

/** One container per list, as a library has one per translation unit; 8 bytes of padding between containers. */
export function fatbinSection(containers: FixtureImage[][]): Buffer {
  const parts: Buffer[] = [];
  for (const images of containers) {
    const body = Buffer.concat(images.map((image, i) => fatbinEntry(image, 40 + 8 * i)));
    const header = Buffer.alloc(16);
    header.writeUInt32LE(0xba55ed50, 0);
    header.writeUInt16LE(1, 4);
    header.writeUInt16LE(16, 6);
    header.writeBigUInt64LE(BigInt(body.length), 8);
    parts.push(header, body, Buffer.alloc(8));
  }
  return Buffer.concat(parts);
}

export function cudaLibraryElf(options: { containers: FixtureImage[][]; needed?: string[] }): Buffer {
  const needed = options.needed ?? ['libcudart.so.13', 'libcublas.so.13', 'libc.so.6'];
  const dynstrParts = ['\0'];
  const neededOffsets = needed.map((name) => {
    const offset = dynstrParts.join('').length;
    dynstrParts.push(`${name}\0`);
    return offset;
  });
  const dynstr = Buffer.from(dynstrParts.join(''), 'latin1');
  const dynamic = Buffer.alloc(16 * (needed.length + 1));
  neededOffsets.forEach((offset, i) => {
    dynamic.writeBigInt64LE(1n, i * 16);
    dynamic.writeBigUInt64LE(BigInt(offset), i * 16 + 8);
  });
  const fatbin = options.containers.length ? fatbinSection(options.containers) : undefined;
  const names = ['', '.shstrtab', '.dynstr', '.dynamic', ...(fatbin ? ['.nv_fatbin'] : [])];
  const shstrtab = Buffer.from(names.map((n) => `${n}\0`).join(''), 'latin1');
  const nameOffset = (name: string) => names.slice(0, names.indexOf(name)).reduce((sum, n) => sum + n.length + 1, 0);

  // Layout: ELF header, then each section's bytes, then the section header table.
  const bodies: Array<{ name: string; type: number; data: Buffer; link: number }> = [
    { name: '.shstrtab', type: 3, data: shstrtab, link: 0 },
    { name: '.dynstr', type: 3, data: dynstr, link: 0 },
    { name: '.dynamic', type: 6, data: dynamic, link: 2 },
    ...(fatbin ? [{ name: '.nv_fatbin', type: 1, data: fatbin, link: 0 }] : []),
  ];
  let offset = 64;
  const placed = bodies.map((body) => {
    const at = offset;
    offset += body.data.length + ((8 - (body.data.length % 8)) % 8);
    return { ...body, at };
  });
  const tableOffset = offset;
  const file = Buffer.alloc(tableOffset + 64 * (placed.length + 1));
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(file, 0);
  file.writeUInt16LE(3, 16); // ET_DYN
  file.writeUInt16LE(62, 18); // x86-64
  file.writeBigUInt64LE(BigInt(tableOffset), 0x28);
  file.writeUInt16LE(64, 0x34);
  file.writeUInt16LE(64, 0x3a);
  file.writeUInt16LE(placed.length + 1, 0x3c);
  file.writeUInt16LE(1, 0x3e); // .shstrtab is section 1
  placed.forEach((section, i) => {
    section.data.copy(file, section.at);
    const at = tableOffset + 64 * (i + 1);
    file.writeUInt32LE(nameOffset(section.name), at);
    file.writeUInt32LE(section.type, at + 4);
    file.writeBigUInt64LE(BigInt(section.at), at + 24);
    file.writeBigUInt64LE(BigInt(section.data.length), at + 32);
    file.writeUInt32LE(section.link, at + 40);
  });
  return file;
}
