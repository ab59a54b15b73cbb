import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import {
  GGUF_MAGIC,
  GGUF_DEFAULT_ALIGNMENT,
  GgufFormatError,
  GgufValueType,
  type GgufScalar,
  type GgufTensorInfo,
  type GgufValue,
  tensorByteSize,
} from './ggufTypes.js';

export interface GgufFile {
  version: number;
  fileSize: number;
  metadata: Map<string, GgufValue>;
  /** Arrays longer than `maxArrayItems` are not materialised; their lengths are kept here. */
  skippedArrays: Map<string, number>;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Absolute file offset where tensor data starts. */
  dataOffset: number;
}

export interface ReadGgufOptions {
  /** Arrays with more items are skipped (a base model's 128k-token vocabulary is rarely needed). */
  maxArrayItems?: number;
}

// Sanity bounds so a hostile header cannot make us allocate gigabytes.
const MAX_STRING_BYTES = 16 * 1024 * 1024;
const MAX_COUNT = 10_000_000;

/** Reads a file through a sliding buffer, so headers of multi-GB models cost a few reads. */
class FileCursor {
  private buffer = Buffer.alloc(0);
  private bufferStart = 0;
  position = 0;

  constructor(
    private readonly fd: number,
    readonly fileSize: number,
  ) {}

  private ensure(length: number): void {
    const end = this.position + length;
    if (end > this.fileSize) {
      throw new GgufFormatError(
        `file ends at byte ${this.fileSize} but its header needs byte ${end}: the file is truncated`,
        'truncated',
      );
    }
    if (this.position >= this.bufferStart && end <= this.bufferStart + this.buffer.length) return;
    const size = Math.max(length, 1 << 20);
    const chunk = Buffer.alloc(Math.min(size, this.fileSize - this.position));
    readSync(this.fd, chunk, 0, chunk.length, this.position);
    this.buffer = chunk;
    this.bufferStart = this.position;
  }

  private take(length: number): Buffer {
    this.ensure(length);
    const start = this.position - this.bufferStart;
    this.position += length;
    return this.buffer.subarray(start, start + length);
  }

  u8 = () => this.take(1).readUInt8(0);
  i8 = () => this.take(1).readInt8(0);
  u16 = () => this.take(2).readUInt16LE(0);
  i16 = () => this.take(2).readInt16LE(0);
  u32 = () => this.take(4).readUInt32LE(0);
  i32 = () => this.take(4).readInt32LE(0);
  f32 = () => this.take(4).readFloatLE(0);
  f64 = () => this.take(8).readDoubleLE(0);
  i64 = () => this.take(8).readBigInt64LE(0);
  u64 = () => this.take(8).readBigUInt64LE(0);

  /** A u64 count or size that must fit comfortably in a JS number. */
  count(what: string, limit = MAX_COUNT): number {
    const value = this.u64();
    if (value > BigInt(limit)) throw new GgufFormatError(`${what} of ${value} is implausible`, 'corrupt');
    return Number(value);
  }

  string(): string {
    const length = this.count('string length', MAX_STRING_BYTES);
    return this.take(length).toString('utf8');
  }

  skip(length: number): void {
    if (this.position + length > this.fileSize) this.ensure(length);
    this.position += length;
  }
}

const SCALAR_SIZES: Partial<Record<GgufValueType, number>> = {
  [GgufValueType.UINT8]: 1, [GgufValueType.INT8]: 1, [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT16]: 2, [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4, [GgufValueType.INT32]: 4, [GgufValueType.FLOAT32]: 4,
  [GgufValueType.UINT64]: 8, [GgufValueType.INT64]: 8, [GgufValueType.FLOAT64]: 8,
};

function readScalar(cursor: FileCursor, type: GgufValueType): GgufScalar {
  switch (type) {
    case GgufValueType.UINT8: return cursor.u8();
    case GgufValueType.INT8: return cursor.i8();
    case GgufValueType.UINT16: return cursor.u16();
    case GgufValueType.INT16: return cursor.i16();
    case GgufValueType.UINT32: return cursor.u32();
    case GgufValueType.INT32: return cursor.i32();
    case GgufValueType.FLOAT32: return cursor.f32();
    case GgufValueType.BOOL: return cursor.u8() !== 0;
    case GgufValueType.STRING: return cursor.string();
    case GgufValueType.UINT64: return cursor.u64();
    case GgufValueType.INT64: return cursor.i64();
    case GgufValueType.FLOAT64: return cursor.f64();
    default: throw new GgufFormatError(`unknown metadata value type ${type}`, 'corrupt');
  }
}

/** Reads the header, metadata and tensor directory of a GGUF file; tensor data is not read. */
export function readGguf(path: string, options: ReadGgufOptions = {}): GgufFile {
  const maxArrayItems = options.maxArrayItems ?? 4096;
  const fd = openSync(path, 'r');
  try {
    const fileSize = fstatSync(fd).size;
    if (fileSize < 4) throw new GgufFormatError('file is too small to be GGUF', 'not-gguf');
    const cursor = new FileCursor(fd, fileSize);
    if (cursor.u32() !== GGUF_MAGIC) throw new GgufFormatError('file does not start with the GGUF magic', 'not-gguf');
    const version = cursor.u32();
    if (version < 2 || version > 3) throw new GgufFormatError(`GGUF version ${version} is not supported`, 'unsupported-version');
    const tensorCount = cursor.count('tensor count');
    const kvCount = cursor.count('metadata count');

    const metadata = new Map<string, GgufValue>();
    const skippedArrays = new Map<string, number>();
    for (let i = 0; i < kvCount; i++) {
      const key = cursor.string();
      const type = cursor.u32() as GgufValueType;
      if (type !== GgufValueType.ARRAY) {
        metadata.set(key, readScalar(cursor, type));
        continue;
      }
      const itemType = cursor.u32() as GgufValueType;
      const length = cursor.count('array length', 1 << 30);
      const fixedSize = SCALAR_SIZES[itemType];
      if (length > maxArrayItems) {
        skippedArrays.set(key, length);
        if (fixedSize !== undefined) cursor.skip(fixedSize * length);
        else for (let j = 0; j < length; j++) readScalar(cursor, itemType);
        continue;
      }
      const items: GgufScalar[] = [];
      for (let j = 0; j < length; j++) items.push(readScalar(cursor, itemType));
      metadata.set(key, items);
    }

    const tensors: GgufTensorInfo[] = [];
    for (let i = 0; i < tensorCount; i++) {
      const name = cursor.string();
      const nDims = cursor.u32();
      if (nDims > 4) throw new GgufFormatError(`tensor ${name} has ${nDims} dimensions`, 'corrupt');
      const dims: number[] = [];
      for (let d = 0; d < nDims; d++) dims.push(cursor.count(`dimension of ${name}`, 2 ** 40));
      const type = cursor.u32();
      const offset = cursor.count(`offset of ${name}`, Number.MAX_SAFE_INTEGER);
      tensors.push({ name, dims, type, offset });
    }

    const alignmentValue = metadata.get('general.alignment');
    const alignment = typeof alignmentValue === 'number' && alignmentValue > 0 ? alignmentValue : GGUF_DEFAULT_ALIGNMENT;
    const dataOffset = Math.ceil(cursor.position / alignment) * alignment;
    return { version, fileSize, metadata, skippedArrays, tensors, alignment, dataOffset };
  } finally {
    closeSync(fd);
  }
}

/** The first tensor whose data would run past the end of the file, if any: the mark of a truncated download. */
export function findTruncatedTensor(file: GgufFile): GgufTensorInfo | undefined {
  return file.tensors.find((tensor) => {
    const size = tensorByteSize(tensor);
    return size !== undefined && file.dataOffset + tensor.offset + size > file.fileSize;
  });
}

export function metadataString(file: GgufFile, key: string): string | undefined {
  const value = file.metadata.get(key);
  return typeof value === 'string' ? value : undefined;
}

export function metadataNumber(file: GgufFile, key: string): number | undefined {
  const value = file.metadata.get(key);
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return undefined;
}
