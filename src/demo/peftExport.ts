import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from '../adapters/peft/peftFiles.js';
import { PEFT_PREFIX, isEmbeddingTensor, peftModuleForGgufTensor } from '../adapters/peft/peftNames.js';
import { transposeMatrix } from '../adapters/peft/transposeMatrix.js';
import { encodeF16, encodeF32 } from '../gguf/tensorEncoding.js';
import { seededRandom, type LoraPair } from './syntheticLlama.js';

/**
 * PEFT exports (adapter_config.json + adapter_model.safetensors) as Hugging Face's `save_pretrained` writes them,
 * for tests and demos of the PEFT → GGUF conversion.
 */
export type PeftDtype = 'F32' | 'F16' | 'BF16';

export interface PeftExportSpec {
  /**
   * Pairs named by their GGUF base tensor (`output.weight`, `blk.0.attn_q.weight`), as for writeLoraAdapter.
   * Each pair's rank is a.length / inputs, so a pair may differ from `rank` (pair it with a rank_pattern).
   */
  pairs: LoraPair[];
  /** The config's `r`. */
  rank: number;
  alpha: number;
  dtype: PeftDtype;
  /** Merged over the generated adapter_config.json, to write configs a test wants rejected. */
  extraConfig?: Record<string, unknown>;
}

interface TensorToWrite {
  name: string;
  shape: number[];
  /** Row-major float32 values, produced when written so large exports never sit in memory whole. */
  values: () => Float32Array;
}

/** Writes a PEFT export of the given pairs; the inverse of convertPeftToGguf's name and layout mapping. */
export function writePeftExport(dir: string, spec: PeftExportSpec): void {
  const tensors = spec.pairs.flatMap((pair) => peftTensorsOfPair(pair, pair.a.length / pair.inputs));
  const modules = spec.pairs.map((pair) => peftModuleForGgufTensor(pair.target)!);
  writeExport(dir, spec.rank, spec.alpha, modules, spec.dtype, tensors, spec.extraConfig);
}

function peftTensorsOfPair(pair: LoraPair, rank: number): TensorToWrite[] {
  const module = peftModuleForGgufTensor(pair.target);
  if (!module) throw new Error(`${pair.target} is not a tensor a Llama PEFT adapter can target`);
  const prefix = `${PEFT_PREFIX}${module}`;
  if (isEmbeddingTensor(pair.target)) {
    // PEFT's embedding delta is (B_peft · A_peft)ᵀ in [vocabulary, width]; with the pair's B·A in [vocabulary][width]
    // (GGML ne = [width, vocabulary]), A_peft = bᵀ [rank, vocabulary] and B_peft = aᵀ [width, rank].
    return [
      { name: `${prefix}.lora_embedding_A`, shape: [rank, pair.outputs], values: () => transposeMatrix(pair.b, pair.outputs, rank) },
      { name: `${prefix}.lora_embedding_B`, shape: [pair.inputs, rank], values: () => transposeMatrix(pair.a, rank, pair.inputs) },
    ];
  }
  return [
    { name: `${prefix}.lora_A.weight`, shape: [rank, pair.inputs], values: () => pair.a },
    { name: `${prefix}.lora_B.weight`, shape: [pair.outputs, rank], values: () => pair.b },
  ];
}

function writeExport(
  dir: string,
  rank: number,
  alpha: number,
  modules: string[],
  dtype: PeftDtype,
  tensors: TensorToWrite[],
  extraConfig: Record<string, unknown> = {},
): void {
  mkdirSync(dir, { recursive: true });
  const targetModules = [...new Set(modules.map((module) => module.split('.').pop()!))];
  const config = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: 'meta-llama/Meta-Llama-3.1-8B-Instruct',
    r: rank,
    lora_alpha: alpha,
    lora_dropout: 0.05,
    target_modules: targetModules,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    modules_to_save: null,
    rank_pattern: {},
    alpha_pattern: {},
    use_rslora: false,
    use_dora: false,
    ...extraConfig,
  };
  writeFileSync(join(dir, PEFT_CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
  writeSafetensors(
    join(dir, PEFT_WEIGHTS_FILE),
    tensors.map(({ name, shape, values }) => ({ name, dtype, shape, data: () => encodePeftValues(values(), dtype) })),
  );
}

const DTYPE_BYTES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1,
};

/** bfloat16 by round-to-nearest-even of the float32 bits, as torch's .to(torch.bfloat16) does. */
function encodeBF16(values: Float32Array): Buffer {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = Buffer.alloc(values.length * 2);
  for (let i = 0; i < values.length; i++) {
    const b = bits[i];
    const isNaN = (b & 0x7fffffff) > 0x7f800000;
    out.writeUInt16LE(isNaN ? (b >>> 16) | 0x40 : ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff, i * 2);
  }
  return out;
}

export function encodePeftValues(values: Float32Array, dtype: PeftDtype): Buffer {
  return dtype === 'F32' ? encodeF32(values) : dtype === 'F16' ? encodeF16(values) : encodeBF16(values);
}

export interface SafetensorsTensorToWrite {
  name: string;
  /** Any safetensors dtype name, so tests can write the ones the converter refuses. */
  dtype: string;
  shape: number[];
  /** Produced when written, so large exports never sit in memory whole. */
  data: Buffer | (() => Buffer);
}

/** Safetensors: u64 header length, a JSON header padded to 8 bytes, then the tensors back to back. */
export function writeSafetensors(path: string, tensors: SafetensorsTensorToWrite[]): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const tensor of tensors) {
    const size = tensor.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[tensor.dtype];
    header[tensor.name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const fd = openSync(path, 'w');
  try {
    writeAll(fd, Buffer.concat([length, Buffer.from(json)]));
    for (const tensor of tensors) writeAll(fd, typeof tensor.data === 'function' ? tensor.data() : tensor.data);
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, bytes: Buffer): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

/** The projection shapes of a Llama model, enough to lay out a LoRA on every attention and MLP projection. */
export interface LlamaProjectionShape {
  width: number;
  layers: number;
  kvWidth: number;
  feedForward: number;
}

export const LLAMA3_8B_PROJECTIONS: LlamaProjectionShape = { width: 4096, layers: 32, kvWidth: 1024, feedForward: 14336 };

export interface ProjectionExportOptions {
  rank: number;
  alpha: number;
  dtype: PeftDtype;
  seed: number;
  /** Amplitude of the uniform random values. */
  amplitude?: number;
}

/**
 * Pairs with small random values on q, k, v, o, gate, up and down of every layer, held in memory: for small
 * shapes such as the behaviour model's; writeProjectionPeftExport handles realistic sizes.
 */
export function projectionAdapterPairs(shape: LlamaProjectionShape, options: Omit<ProjectionExportOptions, 'dtype' | 'alpha'>): LoraPair[] {
  const noise = uniformNoise(options.seed, options.amplitude);
  return projectionLayout(shape).map(({ target, inputs, outputs }) => ({
    target,
    inputs,
    outputs,
    a: noise(options.rank * inputs),
    b: noise(outputs * options.rank),
  }));
}

/** Seeded uniform values in [-amplitude, amplitude), drawn in call order. */
function uniformNoise(seed: number, amplitude = 0.05): (count: number) => Float32Array {
  const random = seededRandom(seed);
  return (count) => {
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = (random() * 2 - 1) * amplitude;
    return values;
  };
}

function projectionLayout(shape: LlamaProjectionShape): Array<{ target: string; inputs: number; outputs: number }> {
  const { width, kvWidth, feedForward } = shape;
  const layout: Array<{ target: string; inputs: number; outputs: number }> = [];
  for (let layer = 0; layer < shape.layers; layer++) {
    for (const [projection, inputs, outputs] of [
      ['attn_q', width, width], ['attn_k', width, kvWidth], ['attn_v', width, kvWidth], ['attn_output', width, width],
      ['ffn_gate', width, feedForward], ['ffn_up', width, feedForward], ['ffn_down', feedForward, width],
    ] as const) {
      layout.push({ target: `blk.${layer}.${projection}.weight`, inputs, outputs });
    }
  }
  return layout;
}

/**
 * A PEFT export shaped like a real one for a model (Llama 3 8B with LLAMA3_8B_PROJECTIONS and rank 16: about 42M
 * parameters), generated tensor by tensor while it is written so memory stays small.
 */
export function writeProjectionPeftExport(dir: string, shape: LlamaProjectionShape, options: ProjectionExportOptions): void {
  const draw = uniformNoise(options.seed, options.amplitude);
  const noise = (count: number) => () => draw(count);
  const layout = projectionLayout(shape);
  const tensors = layout.flatMap(({ target, inputs, outputs }): TensorToWrite[] => {
    const prefix = `${PEFT_PREFIX}${peftModuleForGgufTensor(target)}`;
    return [
      { name: `${prefix}.lora_A.weight`, shape: [options.rank, inputs], values: noise(options.rank * inputs) },
      { name: `${prefix}.lora_B.weight`, shape: [outputs, options.rank], values: noise(outputs * options.rank) },
    ];
  });
  const modules = layout.map(({ target }) => peftModuleForGgufTensor(target)!);
  writeExport(dir, options.rank, options.alpha, modules, options.dtype, tensors);
}
