import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { PeftConversionError } from '../adapterErrors.js';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

const SUPPORTED_DTYPE_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };

export interface SafetensorsTensor {
  name: string;
  dtype: SafetensorsDtype;
  /** Outermost dimension first (PyTorch order), the reverse of GGML's ne. */
  shape: number[];
  /** Absolute file offset of the first byte. */
  start: number;
  byteLength: number;
}

// A real adapter's header is kilobytes; a bigger claim means this is not a safetensors file at all.
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

const fail = (reason: 'invalid-safetensors' | 'truncated' | 'unsupported-dtype', message: string): never => {
  throw new PeftConversionError(reason, message);
};

/**
 * A safetensors file opened for positioned reads: the header is read and checked up front (every tensor's
 * span against its shape, its neighbours and the file size), then each tensor's bytes are read on demand,
 * so converting a large adapter never holds the whole file in memory.
 */
export class SafetensorsFile {
  private constructor(
    private fd: number | undefined,
    readonly path: string,
    readonly tensors: Map<string, SafetensorsTensor>,
    readonly metadata: Record<string, string>,
  ) {}

  static open(path: string): SafetensorsFile {
    const fd = openSync(path, 'r');
    try {
      // Messages name the file, not its directory: they reach API clients, who should not learn server paths.
      const { tensors, metadata } = readHeader(fd, basename(path));
      return new SafetensorsFile(fd, path, tensors, metadata);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /** The tensor's bytes, or `length` of them from `offset` within the tensor (to convert a large one in pieces). */
  read(tensor: SafetensorsTensor, offset = 0, length = tensor.byteLength - offset): Buffer {
    if (this.fd === undefined) throw new Error(`${this.path} is closed`);
    const bytes = Buffer.alloc(length);
    let done = 0;
    while (done < bytes.length) {
      const count = readSync(this.fd, bytes, done, bytes.length - done, tensor.start + offset + done);
      if (count === 0) fail('truncated', `${basename(this.path)} ended while reading tensor ${tensor.name}: the file is truncated`);
      done += count;
    }
    return bytes;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

function readExactly(fd: number, length: number, position: number): Buffer {
  const bytes = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const count = readSync(fd, bytes, done, length - done, position + done);
    if (count === 0) break;
    done += count;
  }
  return bytes.subarray(0, done);
}

function readHeader(fd: number, fileName: string): { tensors: Map<string, SafetensorsTensor>; metadata: Record<string, string> } {
  const fileSize = fstatSync(fd).size;
  if (fileSize < 8) fail('truncated', `${fileName} is ${fileSize} bytes: too short to hold a safetensors header`);
  const headerLength = readExactly(fd, 8, 0).readBigUInt64LE(0);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    fail('invalid-safetensors', `${fileName} is not a safetensors file: its first 8 bytes claim a ${headerLength}-byte header`);
  }
  const dataStart = 8 + Number(headerLength);
  if (dataStart > fileSize) {
    fail('truncated', `${fileName} is truncated: its header needs ${dataStart} bytes but the file has ${fileSize}`);
  }

  let header: unknown;
  try {
    header = JSON.parse(readExactly(fd, Number(headerLength), 8).toString('utf8'));
  } catch {
    fail('invalid-safetensors', `${fileName} is not a safetensors file: its header is not JSON`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    fail('invalid-safetensors', `${fileName} is not a safetensors file: its header is not a JSON object`);
  }

  const entries: Array<{ tensor: SafetensorsTensor; begin: number; end: number }> = [];
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (value ?? {}) as Record<string, string>;
      continue;
    }
    const entry = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    const dtype = entry?.dtype;
    const shape = entry?.shape;
    const offsets = entry?.data_offsets;
    const isCount = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
    if (typeof dtype !== 'string' || !Array.isArray(shape) || !shape.every(isCount) ||
        !Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      fail('invalid-safetensors', `${fileName}: the header entry of tensor ${name} lacks a valid dtype, shape or data_offsets`);
    }
    if (!(dtype as string in SUPPORTED_DTYPE_BYTES)) {
      fail('unsupported-dtype', `tensor ${name} has dtype ${dtype as string}; only F32, F16 and BF16 adapters can be converted`);
    }
    const [begin, end] = offsets as [number, number];
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    const expected = elements * SUPPORTED_DTYPE_BYTES[dtype as SafetensorsDtype];
    if (end < begin || end - begin !== expected) {
      fail('invalid-safetensors',
        `${fileName}: tensor ${name} of shape [${(shape as number[]).join(', ')}] ${dtype} needs ${expected} bytes ` +
          `but its data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    entries.push({
      tensor: { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], start: dataStart + begin, byteLength: expected },
      begin,
      end,
    });
  }

  // The format packs tensors back to back from offset 0 to the end of the file; anything else is damage.
  entries.sort((x, y) => x.begin - y.begin || x.end - y.end);
  let cursor = 0;
  for (const { tensor, begin, end } of entries) {
    if (begin !== cursor) {
      fail('invalid-safetensors',
        `${fileName}: tensor ${tensor.name} starts at data offset ${begin} but the previous tensor ends at ${cursor} ` +
          '(overlapping or non-contiguous data_offsets)');
    }
    cursor = end;
  }
  const dataEnd = dataStart + cursor;
  if (dataEnd > fileSize) {
    const cut = entries.find((e) => dataStart + e.end > fileSize)!;
    fail('truncated',
      `${fileName} is truncated: it has ${fileSize} bytes but its header places tensor ${cut.tensor.name} up to byte ` +
        `${dataStart + cut.end} (${dataEnd} bytes in all)`);
  }
  if (dataEnd < fileSize) {
    fail('invalid-safetensors', `${fileName} has ${fileSize - dataEnd} bytes after its last tensor that its header does not describe`);
  }
  return { tensors: new Map(entries.map((e) => [e.tensor.name, e.tensor])), metadata };
}
