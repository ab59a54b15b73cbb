import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { GgmlType } from '../../gguf/ggufTypes.js';
import { decodeFloats, encodeF16, encodeF32 } from '../../gguf/tensorEncoding.js';
import type { GgufTypedValue } from '../../gguf/ggufTypes.js';
import { gguf, writeGguf, type GgufTensorToWrite } from '../../gguf/writeGguf.js';
import { PeftConversionError, pickledWeightsError } from '../adapterErrors.js';
import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, PICKLED_PEFT_WEIGHTS } from './peftFiles.js';
import { SafetensorsFile, type SafetensorsTensor } from './SafetensorsFile.js';
import { transposeMatrix } from './transposeMatrix.js';
import { isTargetModule, peftScaleOfModule, rankOfModule, readPeftConfig, type PeftLoraConfig } from './peftConfig.js';
import {
  LLAMA_TARGET_NAMES,
  PEFT_PREFIX,
  compareGgufTensorNames,
  ggufTensorForPeftModule,
  isEmbeddingTensor,
} from './peftNames.js';

export interface PeftConversionOptions {
  peftDir: string;
  outPath: string;
  /** Element type of the GGUF tensors; f16 halves the file and is what llama.cpp computes LoRA deltas in anyway. */
  outType?: 'f16' | 'f32';
  /** general.name of the GGUF; defaults to the export's folder name (uploads land in temporary folders). */
  name?: string;
}

export interface PeftConversionResult {
  tensorCount: number;
  /** adapter_config.json's base_model_name_or_path: the model it was trained on. */
  baseModel: string | undefined;
  rank: number;
  alpha: number;
  /** GGUF base tensors the adapter modifies. */
  targets: string[];
  seconds: number;
}

/** One module's LoRA, checked against the config and ready to be written. */
interface PlannedPair {
  module: string;
  target: string;
  rank: number;
  a: SafetensorsTensor;
  b: SafetensorsTensor;
  embedding: boolean;
  /** Multiplier for lora_b so llama.cpp's alpha/rank equals PEFT's effective scale for this module. */
  bFactor: number;
}

const reject = (reason: ConstructorParameters<typeof PeftConversionError>[0], message: string): never => {
  throw new PeftConversionError(reason, message);
};

const listed = (names: string[]) => (names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', '));

/**
 * Converts a PEFT LoRA export (adapter_config.json + adapter_model.safetensors) of a Llama model into a GGUF LoRA
 * that makes llama.cpp compute exactly what PEFT computes. Everything is checked before the output is opened, data
 * is converted one tensor at a time, and the output appears atomically, so a failure leaves nothing behind.
 */
export function convertPeftToGguf(options: PeftConversionOptions): PeftConversionResult {
  const started = performance.now();
  const outType = options.outType ?? 'f16';
  const configPath = join(options.peftDir, PEFT_CONFIG_FILE);
  const weightsPath = join(options.peftDir, PEFT_WEIGHTS_FILE);
  if (!existsSync(options.peftDir) || !statSync(options.peftDir).isDirectory()) {
    reject('missing-file', `${options.peftDir} is not a directory holding a PEFT export`);
  }
  if (!existsSync(configPath)) reject('missing-file', `the PEFT export has no ${PEFT_CONFIG_FILE}`);
  if (!existsSync(weightsPath)) {
    if (existsSync(join(options.peftDir, PICKLED_PEFT_WEIGHTS))) throw pickledWeightsError();
    reject('missing-file', `the PEFT export has no ${PEFT_WEIGHTS_FILE}`);
  }

  const config = readPeftConfig(configPath);
  const weights = SafetensorsFile.open(weightsPath);
  try {
    const pairs = planPairs(config, weights);
    // GGUF stores one alpha; llama.cpp scales each pair by alpha / (that pair's rank).
    const ggufAlpha = config.loraAlpha;
    for (const pair of pairs) {
      const llamaScale = ggufAlpha !== 0 ? Math.fround(ggufAlpha) / pair.rank : 1;
      pair.bFactor = peftScaleOfModule(config, pair.module, pair.rank) / llamaScale;
    }

    const tensors: GgufTensorToWrite[] = pairs.flatMap((pair) => ggufTensorsOfPair(pair, weights, outType));
    writeGguf(resolve(options.outPath), {
      metadata: [
        ['general.architecture', gguf.string('llama')],
        ['general.type', gguf.string('adapter')],
        ['general.name', gguf.string(options.name ?? basename(resolve(options.peftDir)))],
        ['adapter.type', gguf.string('lora')],
        ['adapter.lora.alpha', gguf.f32(ggufAlpha)],
        ...baseModelMetadata(config.baseModel),
      ],
      tensors,
    });
    return {
      tensorCount: tensors.length,
      baseModel: config.baseModel,
      rank: config.r,
      alpha: config.loraAlpha,
      targets: pairs.map((pair) => pair.target),
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    weights.close();
  }
}

/** Names, pairing, shapes and config agreement: every check that can fail before anything is written. */
function planPairs(config: PeftLoraConfig, weights: SafetensorsFile): PlannedPair[] {
  const halves = new Map<string, { a?: SafetensorsTensor; b?: SafetensorsTensor; embedding: boolean }>();
  const unsupported: string[] = [];
  const biases: string[] = [];
  const adapterNames = new Set<string>();
  for (const tensor of weights.tensors.values()) {
    const name = tensor.name.startsWith(PEFT_PREFIX) ? tensor.name.slice(PEFT_PREFIX.length) : tensor.name;
    const parsed = parseLoraTensorName(name);
    if (!parsed) {
      (name.endsWith('.bias') ? biases : unsupported).push(tensor.name);
      continue;
    }
    const { module, side, embedding, adapterName } = parsed;
    adapterNames.add(adapterName);
    const half = halves.get(module) ?? { embedding };
    half[side === 'A' ? 'a' : 'b'] = tensor;
    halves.set(module, half);
  }
  // Refused for the tensors, not for the config: `bias: "lora_only"` on layers without biases (Llama's) saves none.
  if (biases.length > 0) {
    reject('bias', `${PEFT_WEIGHTS_FILE} has bias tensors (${listed(biases)}): trained biases cannot be carried by a GGUF LoRA`);
  }
  if (adapterNames.size > 1) {
    reject('unsupported-tensor',
      `${PEFT_WEIGHTS_FILE} holds the weights of several adapters (${[...adapterNames].map((n) => n || '(unnamed)').join(', ')}); save one adapter per export`);
  }
  if (unsupported.length > 0) {
    reject('unsupported-tensor',
      `${PEFT_WEIGHTS_FILE} has tensors that are not LoRA A/B weights: ${listed(unsupported)}` +
        (unsupported.some((n) => /embed_tokens\.weight$|lm_head\.weight$/.test(n))
          ? ' (full embedding or output weights, usually from tokens added during fine-tuning)'
          : ''));
  }
  if (halves.size === 0) reject('empty', `${PEFT_WEIGHTS_FILE} holds no LoRA tensors`);

  const unknown = [...halves.keys()].filter((module) => ggufTensorForPeftModule(module) === undefined);
  if (unknown.length > 0) {
    reject('unknown-module', `modules that a Llama model does not have (or that cannot be converted): ${listed(unknown)}`);
  }

  const pairs: PlannedPair[] = [];
  for (const [module, { a, b, embedding }] of halves) {
    if (!a || !b) {
      reject('unpaired', `${module} has a ${a ? 'lora_A' : 'lora_B'} tensor but no ${a ? 'lora_B' : 'lora_A'}`);
    }
    const target = ggufTensorForPeftModule(module)!;
    if (embedding !== isEmbeddingTensor(target)) {
      reject('unsupported-tensor',
        embedding
          ? `${module} has lora_embedding tensors but is not the token embedding`
          : `${module} is the token embedding but has lora_A/lora_B tensors instead of lora_embedding_A/B`);
    }
    const shapeA = `[${a!.shape.join(', ')}]`;
    const shapeB = `[${b!.shape.join(', ')}]`;
    if (a!.shape.length !== 2 || b!.shape.length !== 2) {
      reject('shape-mismatch', `${module}: lora A ${shapeA} and lora B ${shapeB} must both be 2-D`);
    }
    // PEFT: A is [rank, in] and B is [out, rank] (for embeddings [rank, vocabulary] and [width, rank]).
    const rank = a!.shape[0];
    if (b!.shape[1] !== rank) {
      reject('shape-mismatch', `${module}: lora A ${shapeA} has rank ${rank} but lora B ${shapeB} has rank ${b!.shape[1]}`);
    }
    pairs.push({ module, target, rank, a: a!, b: b!, embedding, bFactor: 1 });
  }

  const untargeted = pairs.filter((pair) => !isTargetModule(config, pair.module)).map((pair) => pair.module);
  if (untargeted.length > 0) {
    reject('config-mismatch',
      `${PEFT_CONFIG_FILE} target_modules (${JSON.stringify(config.targetModules)}) does not include modules that ` +
        `have tensors: ${listed(untargeted)}`);
  }
  for (const pair of pairs) {
    const expected = rankOfModule(config, pair.module);
    if (pair.rank !== expected) {
      reject('config-mismatch',
        `${pair.module}: its tensors have rank ${pair.rank} but ${PEFT_CONFIG_FILE} says r = ${expected}` +
          (config.rankPattern.length > 0 ? ' (after rank_pattern)' : ''));
    }
  }
  if (Array.isArray(config.targetModules)) {
    // Names this architecture has must have tensors; names of other architectures are ignored, as PEFT does.
    const missing = config.targetModules.filter((target) =>
      LLAMA_TARGET_NAMES.has(target.split('.').pop()!) &&
      !pairs.some((pair) => pair.module === target || pair.module.endsWith(`.${target}`)));
    if (missing.length > 0) {
      reject('config-mismatch',
        `${PEFT_CONFIG_FILE} targets ${listed(missing)} but ${PEFT_WEIGHTS_FILE} has no tensors for ${missing.length > 1 ? 'them' : 'it'}`);
    }
  }
  return pairs.sort((x, y) => compareGgufTensorNames(x.target, y.target));
}

/**
 * `…q_proj.lora_A.weight`, or with the adapter's name as a model's state_dict() spells it (`…lora_A.default.weight`,
 * `…lora_embedding_A.default`); `save_pretrained` drops the name, and both mean the same tensor.
 */
export function parseLoraTensorName(name: string): { module: string; side: 'A' | 'B'; embedding: boolean; adapterName: string } | undefined {
  const linear = /^(.+)\.lora_(A|B)(?:\.([^.]+))?\.weight$/.exec(name);
  if (linear) return { module: linear[1], side: linear[2] as 'A' | 'B', embedding: false, adapterName: linear[3] ?? '' };
  const embedding = /^(.+)\.lora_embedding_(A|B)(?:\.([^.]+))?$/.exec(name);
  if (embedding) return { module: embedding[1], side: embedding[2] as 'A' | 'B', embedding: true, adapterName: embedding[3] ?? '' };
  return undefined;
}

/** `general.base_model.*` as llama.cpp's converters write it, naming the model the adapter was trained on. */
function baseModelMetadata(baseModel: string | undefined): Array<[string, GgufTypedValue]> {
  return baseModel ? [['general.base_model.count', gguf.u32(1)], ['general.base_model.0.name', gguf.string(baseModel)]] : [];
}

/**
 * PEFT's row-major A [rank, in] is already GGML's ne = [in, rank], and B [out, rank] is ne = [rank, out]: no
 * transpose. The token embedding is the exception: llama.cpp looks rows of lora_a up by token id, so its lora_a is
 * ne = [rank, vocabulary], the transpose of PEFT's lora_embedding_A [rank, vocabulary].
 */
function ggufTensorsOfPair(pair: PlannedPair, weights: SafetensorsFile, outType: 'f16' | 'f32'): GgufTensorToWrite[] {
  const type = outType === 'f16' ? GgmlType.F16 : GgmlType.F32;
  const [rank, aColumns] = pair.a.shape;
  const [bRows] = pair.b.shape;
  return [
    {
      name: `${pair.target}.lora_a`,
      dims: pair.embedding ? [rank, aColumns] : [aColumns, rank],
      type,
      data: () => convertData(weights, pair.a, outType, 1, pair.embedding ? [rank, aColumns] : undefined),
    },
    {
      name: `${pair.target}.lora_b`,
      dims: [rank, bRows],
      type,
      data: () => convertData(weights, pair.b, outType, pair.bFactor),
    },
  ];
}

// The largest value that float16 rounds to a finite number.
const F16_LIMIT = 65520;

function convertData(
  weights: SafetensorsFile,
  tensor: SafetensorsTensor,
  outType: 'f16' | 'f32',
  factor: number,
  transpose?: [rows: number, columns: number],
): Buffer | Iterable<Buffer> {
  const sameType = (tensor.dtype === 'F32' && outType === 'f32') || (tensor.dtype === 'F16' && outType === 'f16');
  if (sameType && factor === 1 && !transpose) return weights.read(tensor);
  if (transpose) return encodeValues(tensor, transposeMatrix(decodeFloats(weights.read(tensor), tensor.dtype), ...transpose), outType, factor);
  return convertInPieces(weights, tensor, outType, factor);
}

/**
 * Converts and hands on one piece at a time, so converting a tensor holds one piece rather than its input, a
 * float32 copy and its output at once (a 45 MB bf16 tensor took 225 MB, and uploads are meant to grow RSS by less
 * than their size).
 */
function* convertInPieces(weights: SafetensorsFile, tensor: SafetensorsTensor, outType: 'f16' | 'f32', factor: number): Iterable<Buffer> {
  const width = tensor.dtype === 'F32' ? 4 : 2;
  const count = tensor.byteLength / width;
  for (let first = 0; first < count; first += CONVERSION_PIECE_VALUES) {
    const n = Math.min(CONVERSION_PIECE_VALUES, count - first);
    yield encodeValues(tensor, decodeFloats(weights.read(tensor, first * width, n * width), tensor.dtype), outType, factor);
  }
}

/** Values converted at a time: 4 MiB of float32. */
const CONVERSION_PIECE_VALUES = 1 << 20;

function encodeValues(tensor: SafetensorsTensor, values: Float32Array, outType: 'f16' | 'f32', factor: number): Buffer {
  if (factor !== 1) for (let i = 0; i < values.length; i++) values[i] *= factor;
  if (outType === 'f32') return encodeF32(values);
  for (const value of values) {
    if (Math.abs(value) >= F16_LIMIT && Number.isFinite(value)) {
      reject('f16-overflow', `tensor ${tensor.name} has a value (${value}) too large for f16; convert with outType 'f32'`);
    }
  }
  return encodeF16(values);
}
