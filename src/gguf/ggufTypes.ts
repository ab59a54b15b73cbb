// Shared vocabulary of the GGUF format (version 3), used by the reader and the writer.

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** The tensor element types this project reads and writes; others are listed by id only. */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  BF16 = 30,
}

export const GGML_TYPE_NAMES: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0', 9: 'Q8_1',
  10: 'Q2_K', 11: 'Q3_K', 12: 'Q4_K', 13: 'Q5_K', 14: 'Q6_K', 15: 'Q8_K', 30: 'BF16',
};

/** Bytes per block and elements per block, for the types whose sizes matter to a completeness check. */
export const GGML_BLOCK: Record<number, { blockBytes: number; blockElements: number }> = {
  0: { blockBytes: 4, blockElements: 1 },
  1: { blockBytes: 2, blockElements: 1 },
  30: { blockBytes: 2, blockElements: 1 },
  2: { blockBytes: 18, blockElements: 32 },
  3: { blockBytes: 20, blockElements: 32 },
  6: { blockBytes: 22, blockElements: 32 },
  7: { blockBytes: 24, blockElements: 32 },
  8: { blockBytes: 34, blockElements: 32 },
  10: { blockBytes: 84, blockElements: 256 },
  11: { blockBytes: 110, blockElements: 256 },
  12: { blockBytes: 144, blockElements: 256 },
  13: { blockBytes: 176, blockElements: 256 },
  14: { blockBytes: 210, blockElements: 256 },
};

export type GgufScalar = number | bigint | boolean | string;
export type GgufValue = GgufScalar | GgufScalar[];

/** A metadata value with the exact GGUF type it is (or will be) stored as. */
export type GgufTypedValue =
  | { type: Exclude<GgufValueType, GgufValueType.ARRAY>; value: GgufScalar }
  | { type: GgufValueType.ARRAY; itemType: Exclude<GgufValueType, GgufValueType.ARRAY>; value: GgufScalar[] };

export interface GgufTensorInfo {
  name: string;
  /** GGML order: dims[0] is the contiguous (fastest-varying) dimension. */
  dims: number[];
  type: number;
  /** Offset of the data relative to the start of the tensor data section. */
  offset: number;
}

export function tensorByteSize(info: Pick<GgufTensorInfo, 'dims' | 'type'>): number | undefined {
  const block = GGML_BLOCK[info.type];
  if (!block) return undefined;
  const elements = info.dims.reduce((a, b) => a * b, 1);
  return (elements / block.blockElements) * block.blockBytes;
}

export class GgufFormatError extends Error {
  constructor(
    message: string,
    readonly reason: 'not-gguf' | 'unsupported-version' | 'truncated' | 'corrupt',
  ) {
    super(message);
    this.name = 'GgufFormatError';
  }
}
