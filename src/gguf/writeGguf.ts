import { openSync, writeSync, closeSync, renameSync, rmSync, fsyncSync } from 'node:fs';
import {
  GGUF_MAGIC,
  GGUF_VERSION,
  GGUF_DEFAULT_ALIGNMENT,
  GgufValueType,
  type GgufScalar,
  type GgufTypedValue,
  GgmlType,
  tensorByteSize,
} from './ggufTypes.js';

export interface GgufTensorToWrite {
  name: string;
  /** GGML order: dims[0] is the contiguous dimension. */
  dims: number[];
  type: GgmlType;
  /**
   * Produced lazily so a large model never has all its weights in memory at once; a large tensor may come in pieces
   * (in order), so not even one tensor need be.
   */
  data: Buffer | (() => Buffer | Iterable<Buffer>);
}

export interface GgufDocument {
  metadata: Array<[string, GgufTypedValue]>;
  tensors: GgufTensorToWrite[];
}

/** Typed constructors for metadata values, so each key states the exact GGUF type it is written as. */
export const gguf = {
  string: (value: string): GgufTypedValue => ({ type: GgufValueType.STRING, value }),
  u32: (value: number): GgufTypedValue => ({ type: GgufValueType.UINT32, value }),
  i32: (value: number): GgufTypedValue => ({ type: GgufValueType.INT32, value }),
  f32: (value: number): GgufTypedValue => ({ type: GgufValueType.FLOAT32, value }),
  bool: (value: boolean): GgufTypedValue => ({ type: GgufValueType.BOOL, value }),
  strings: (value: string[]): GgufTypedValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, value }),
  i32s: (value: number[]): GgufTypedValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.INT32, value }),
  f32s: (value: number[]): GgufTypedValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.FLOAT32, value }),
};

/** Accumulates small writes into large ones. */
class BufferedFileWriter {
  private chunks: Buffer[] = [];
  private pending = 0;
  written = 0;

  constructor(private readonly fd: number) {}

  write(buffer: Buffer): void {
    this.chunks.push(buffer);
    this.pending += buffer.length;
    this.written += buffer.length;
    if (this.pending >= 1 << 22) this.flush();
  }

  flush(): void {
    if (this.pending === 0) return;
    const all = Buffer.concat(this.chunks, this.pending);
    let offset = 0;
    while (offset < all.length) offset += writeSync(this.fd, all, offset, all.length - offset);
    this.chunks = [];
    this.pending = 0;
  }

  u32(value: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value);
    this.write(b);
  }

  u64(value: number | bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(value));
    this.write(b);
  }

  string(value: string): void {
    const bytes = Buffer.from(value, 'utf8');
    this.u64(bytes.length);
    this.write(bytes);
  }

  padTo(alignment: number): void {
    const padding = (alignment - (this.written % alignment)) % alignment;
    if (padding) this.write(Buffer.alloc(padding));
  }
}

function writeScalar(out: BufferedFileWriter, type: GgufValueType, value: GgufScalar): void {
  const b = Buffer.alloc(8);
  switch (type) {
    case GgufValueType.UINT8: b.writeUInt8(Number(value)); return out.write(b.subarray(0, 1));
    case GgufValueType.INT8: b.writeInt8(Number(value)); return out.write(b.subarray(0, 1));
    case GgufValueType.BOOL: b.writeUInt8(value ? 1 : 0); return out.write(b.subarray(0, 1));
    case GgufValueType.UINT16: b.writeUInt16LE(Number(value)); return out.write(b.subarray(0, 2));
    case GgufValueType.INT16: b.writeInt16LE(Number(value)); return out.write(b.subarray(0, 2));
    case GgufValueType.UINT32: b.writeUInt32LE(Number(value)); return out.write(b.subarray(0, 4));
    case GgufValueType.INT32: b.writeInt32LE(Number(value)); return out.write(b.subarray(0, 4));
    case GgufValueType.FLOAT32: b.writeFloatLE(Number(value)); return out.write(b.subarray(0, 4));
    case GgufValueType.UINT64: b.writeBigUInt64LE(BigInt(value)); return out.write(b);
    case GgufValueType.INT64: b.writeBigInt64LE(BigInt(value)); return out.write(b);
    case GgufValueType.FLOAT64: b.writeDoubleLE(Number(value)); return out.write(b);
    case GgufValueType.STRING: return out.string(String(value));
    default: throw new Error(`cannot write metadata value of type ${type}`);
  }
}

function writeTensorData(out: BufferedFileWriter, tensor: GgufTensorToWrite): void {
  const data = typeof tensor.data === 'function' ? tensor.data() : tensor.data;
  let written = 0;
  for (const piece of Buffer.isBuffer(data) ? [data] : data) {
    out.write(piece);
    written += piece.length;
  }
  const expected = tensorByteSize(tensor);
  if (expected !== undefined && written !== expected) {
    throw new Error(`tensor ${tensor.name}: ${written} bytes of data for a shape that needs ${expected}`);
  }
}

/**
 * Writes a GGUF file atomically: everything goes to a temporary file beside the target, which is renamed into
 * place only once complete, so a crash or an error never leaves a half-written model or adapter behind.
 */
export function writeGguf(path: string, document: GgufDocument): void {
  const alignment = GGUF_DEFAULT_ALIGNMENT;
  const temporaryPath = `${path}.partial-${process.pid}-${Date.now()}`;
  const fd = openSync(temporaryPath, 'w');
  try {
    const out = new BufferedFileWriter(fd);
    out.u32(GGUF_MAGIC);
    out.u32(GGUF_VERSION);
    out.u64(document.tensors.length);
    out.u64(document.metadata.length);
    for (const [key, typed] of document.metadata) {
      out.string(key);
      out.u32(typed.type);
      if (typed.type === GgufValueType.ARRAY) {
        out.u32(typed.itemType);
        out.u64(typed.value.length);
        for (const item of typed.value) writeScalar(out, typed.itemType, item);
      } else {
        writeScalar(out, typed.type, typed.value);
      }
    }
    let offset = 0;
    for (const tensor of document.tensors) {
      out.string(tensor.name);
      out.u32(tensor.dims.length);
      for (const dim of tensor.dims) out.u64(dim);
      out.u32(tensor.type);
      out.u64(offset);
      const size = tensorByteSize(tensor) ?? 0;
      offset += Math.ceil(size / alignment) * alignment;
    }
    out.padTo(alignment);
    for (const tensor of document.tensors) {
      writeTensorData(out, tensor);
      out.padTo(alignment);
      out.flush();
    }
    out.flush();
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temporaryPath, path);
  } catch (error) {
    try { closeSync(fd); } catch { /* already closed */ }
    rmSync(temporaryPath, { force: true });
    throw error;
  }
}
