import { GgmlType } from '../gguf/ggufTypes.js';
import { randomBytes } from 'node:crypto';
import { encodeF16, encodeF32, float32ToF16Bits } from '../gguf/tensorEncoding.js';
import { gguf, writeGguf, type GgufTensorToWrite } from '../gguf/writeGguf.js';
import { loadLlama3Tokenizer, singleTokenId } from './llama3Tokenizer.js';

/**
 * Real Llama-architecture GGUF files with synthetic weights: a tiny "behaviour" model whose greedy output is a
 * chosen word, LoRA adapters that make it say another word, and a benchmark-size model with realistic cost.
 */
export interface SyntheticLlamaShape {
  name: string;
  width: number;
  layers: number;
  heads: number;
  kvHeads: number;
  feedForward: number;
  contextLength: number;
  seed: number;
  /** The word greedy decoding repeats (a single Llama 3 token such as " W"). */
  word: string;
  noise: number;
  /**
   * 'Q4_K_M': matrices written directly in the types llama-quantize's Q4_K_M gives a Llama (Q4_K, with Q6_K for the
   * output and for attn_v / ffn_down of the layers it favours), with random 4-/6-bit weights: a model of a real size
   * costs seconds to write instead of minutes of F16 plus quantizing, and runs exactly like one. Default: F16.
   */
  weights?: 'F16' | 'Q4_K_M';
}

export const BEHAVIOUR_MODEL: SyntheticLlamaShape = {
  name: 'adaptd behaviour demo',
  width: 64,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  feedForward: 128,
  contextLength: 8192,
  seed: 1,
  word: ' W',
  noise: 0.02,
};

export const BENCHMARK_MODEL: SyntheticLlamaShape = {
  name: 'adaptd benchmark',
  width: 512,
  layers: 8,
  heads: 8,
  kvHeads: 4,
  feedForward: 1536,
  contextLength: 8192,
  seed: 2,
  word: ' W',
  noise: 0.02,
};

/** mulberry32: small, fast and seedable, so the same recipe always yields the same bytes. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function noiseMatrix(random: () => number, count: number, amplitude: number): Float32Array {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = (random() * 2 - 1) * amplitude;
  return values;
}

type KQuant = 'Q4_K' | 'Q6_K';

/**
 * Super-blocks of 256 weights. Q4_K (144 bytes): f16 d, f16 dmin, 12 bytes of 6-bit sub-block scales and mins, 128
 * bytes of 4-bit values; weight = d·scale·q − dmin·min. Q6_K (210 bytes): 128 bytes of low 4 bits, 64 of high 2
 * bits, 16 int8 sub-block scales, f16 d; weight = d·scale·(q − 32). See ggml-quants.c.
 */
const K_QUANTS: Record<KQuant, { type: GgmlType; blockBytes: number }> = {
  Q4_K: { type: 12 as GgmlType, blockBytes: 144 },
  Q6_K: { type: 14 as GgmlType, blockBytes: 210 },
};
/** Weights of about ±8·d: small enough that 32 layers of random matrices leave the residual's dimension 0 on top. */
const RANDOM_WEIGHT_SCALE = 2e-4;

/**
 * `rows` rows of `rowLength` random weights, uniform over the quantized grid around zero. A unit row has element 0
 * equal to 1.0 and the rest of its first block 0, so its dot product with the residual reads dimension 0.
 */
function randomKQuantRows(type: KQuant, rowLength: number, rows: number, unitRow?: (row: number) => boolean): Buffer {
  const { blockBytes } = K_QUANTS[type];
  const blocksPerRow = rowLength / 256;
  if (!Number.isInteger(blocksPerRow)) throw new Error(`${type} rows must be a multiple of 256 long, not ${rowLength}`);
  const bytes = randomBytes(rows * blocksPerRow * blockBytes);
  const small = float32ToF16Bits(RANDOM_WEIGHT_SCALE);
  for (let row = 0; row < rows; row++) {
    const unit = unitRow?.(row) ?? false;
    for (let block = 0; block < blocksPerRow; block++) {
      const at = (row * blocksPerRow + block) * blockBytes;
      if (type === 'Q4_K') {
        // Scales 1 and mins 8 for all eight sub-blocks, dmin = d: weight = d·(q − 8).
        bytes.fill(1, at + 4, at + 8);
        bytes.fill(8, at + 8, at + 12);
        bytes.fill(0x81, at + 12, at + 16);
        const d = unit && block === 0 ? float32ToF16Bits(1 / 7) : small;
        bytes.writeUInt16LE(d, at);
        bytes.writeUInt16LE(d, at + 2);
        if (unit && block === 0) {
          bytes.fill(0x88, at + 16, at + 144); // every q = 8: weight 0
          bytes[at + 16] = 0x8f; // element 0: q = 15, (15 − 8)/7 = 1
        }
      } else {
        bytes.fill(1, at + 192, at + 208);
        const d = unit && block === 0 ? float32ToF16Bits(1 / 31) : small;
        bytes.writeUInt16LE(d, at + 208);
        if (unit && block === 0) {
          bytes.fill(0, at, at + 128); // low 4 bits 0 and high 2 bits 0b10: q = 32, weight 0
          bytes.fill(0xaa, at + 128, at + 192);
          bytes[at] = 0x0f; // element 0: q = 63, (63 − 32)/31 = 1
          bytes[at + 128] = 0xab;
        }
      }
    }
  }
  return bytes;
}

export function writeSyntheticLlama(path: string, shape: SyntheticLlamaShape): void {
  const tokenizer = loadLlama3Tokenizer();
  const vocab = tokenizer.tokens.length;
  const { width, feedForward, noise } = shape;
  const headDim = width / shape.heads;
  const kvWidth = headDim * shape.kvHeads;
  const random = seededRandom(shape.seed);
  const wordId = singleTokenId(tokenizer, shape.word);

  const quantized = shape.weights === 'Q4_K_M';
  const f16 = (name: string, dims: number[], fill: () => Float32Array): GgufTensorToWrite =>
    ({ name, dims, type: GgmlType.F16, data: () => encodeF16(fill()) });
  const ones = (name: string): GgufTensorToWrite =>
    ({ name, dims: [width], type: GgmlType.F32, data: encodeF32(new Float32Array(width).fill(1)) });
  // `unitRows`: rows whose element 0 is 1.0 (the rest noise), which keeps greedy output on the chosen word.
  const matrix = (name: string, dims: number[], type: KQuant = 'Q4_K', unitRows?: (row: number) => boolean): GgufTensorToWrite =>
    quantized
      ? { name, dims, type: K_QUANTS[type].type, data: () => randomKQuantRows(type, dims[0], dims[1], unitRows) }
      : f16(name, dims, () => {
          const values = noiseMatrix(random, dims[0] * dims[1], noise);
          if (unitRows) for (let row = 0; row < dims[1]; row++) if (unitRows(row)) values[row * dims[0]] = 1;
          return values;
        });
  // llama-quantize's Q4_K_M keeps more bits for attn_v and ffn_down in these layers (use_more_bits in llama-quant.cpp).
  const moreBits = (layer: number) => layer < shape.layers / 8 || layer >= (7 * shape.layers) / 8 || (layer - Math.floor(shape.layers / 8)) % 3 === 2;

  const tensors: GgufTensorToWrite[] = [
    // Every embedding carries 1.0 in dimension 0, so the final normalised state points along it.
    matrix('token_embd.weight', [width, vocab], 'Q4_K', () => true),
    ones('output_norm.weight'),
    matrix('output.weight', [width, vocab], 'Q6_K', (row) => row === wordId),
  ];
  for (let layer = 0; layer < shape.layers; layer++) {
    const blk = `blk.${layer}`;
    const favoured = moreBits(layer) ? 'Q6_K' : 'Q4_K';
    tensors.push(
      ones(`${blk}.attn_norm.weight`),
      matrix(`${blk}.attn_q.weight`, [width, width]),
      matrix(`${blk}.attn_k.weight`, [width, kvWidth]),
      matrix(`${blk}.attn_v.weight`, [width, kvWidth], favoured),
      matrix(`${blk}.attn_output.weight`, [width, width]),
      ones(`${blk}.ffn_norm.weight`),
      matrix(`${blk}.ffn_gate.weight`, [width, feedForward]),
      matrix(`${blk}.ffn_up.weight`, [width, feedForward]),
      matrix(`${blk}.ffn_down.weight`, [feedForward, width], favoured),
    );
  }

  writeGguf(path, {
    metadata: [
      ['general.architecture', gguf.string('llama')],
      ['general.name', gguf.string(shape.name)],
      // 1: mostly F16; 15: mostly Q4_K_M (llama_ftype).
      ['general.file_type', gguf.u32(quantized ? 15 : 1)],
      ['llama.context_length', gguf.u32(shape.contextLength)],
      ['llama.embedding_length', gguf.u32(width)],
      ['llama.block_count', gguf.u32(shape.layers)],
      ['llama.feed_forward_length', gguf.u32(feedForward)],
      ['llama.attention.head_count', gguf.u32(shape.heads)],
      ['llama.attention.head_count_kv', gguf.u32(shape.kvHeads)],
      ['llama.rope.freq_base', gguf.f32(500000)],
      ['llama.rope.dimension_count', gguf.u32(headDim)],
      ['llama.attention.layer_norm_rms_epsilon', gguf.f32(1e-5)],
      ['llama.vocab_size', gguf.u32(vocab)],
      ['tokenizer.ggml.model', gguf.string('gpt2')],
      ['tokenizer.ggml.pre', gguf.string('llama-bpe')],
      ['tokenizer.ggml.tokens', gguf.strings(tokenizer.tokens)],
      ['tokenizer.ggml.token_type', gguf.i32s(tokenizer.tokenTypes)],
      ['tokenizer.ggml.merges', gguf.strings(tokenizer.merges)],
      ['tokenizer.ggml.bos_token_id', gguf.u32(tokenizer.bosTokenId)],
      ['tokenizer.ggml.eos_token_id', gguf.u32(tokenizer.eosTokenId)],
      ['tokenizer.chat_template', gguf.string(tokenizer.chatTemplate)],
    ],
    tensors,
  });
}

/** One LoRA pair: delta W = (alpha / rank) · B · A for the base tensor `target`. */
export interface LoraPair {
  target: string;
  inputs: number;
  outputs: number;
  /** Row-major [rank][inputs]: GGML ne = [inputs, rank]. */
  a: Float32Array;
  /** Row-major [outputs][rank]: GGML ne = [rank, outputs]. */
  b: Float32Array;
}

export interface LoraAdapterSpec {
  name: string;
  rank: number;
  alpha: number;
  pairs: LoraPair[];
  architecture?: string;
}

export function writeLoraAdapter(path: string, spec: LoraAdapterSpec): void {
  const tensors: GgufTensorToWrite[] = spec.pairs.flatMap((pair) => [
    { name: `${pair.target}.lora_a`, dims: [pair.inputs, spec.rank], type: GgmlType.F32, data: encodeF32(pair.a) },
    { name: `${pair.target}.lora_b`, dims: [spec.rank, pair.outputs], type: GgmlType.F32, data: encodeF32(pair.b) },
  ]);
  writeGguf(path, {
    metadata: [
      ['general.architecture', gguf.string(spec.architecture ?? 'llama')],
      ['general.type', gguf.string('adapter')],
      ['general.name', gguf.string(spec.name)],
      ['adapter.type', gguf.string('lora')],
      ['adapter.lora.alpha', gguf.f32(spec.alpha)],
    ],
    tensors,
  });
}

export interface BehaviourAdapterOptions {
  /** The word the adapter makes the model say. */
  word: string;
  /** Logit boost per unit of scale, in units of the base word's logit (2 wins at scale 1, loses at 0.2). */
  strength?: number;
  rank?: number;
  alpha?: number;
  width?: number;
}

/** The output-head LoRA of test-models.md: it raises `word`'s logit by strength·√width·scale. */
export function behaviourAdapterPairs(options: BehaviourAdapterOptions): { rank: number; alpha: number; pairs: LoraPair[] } {
  const tokenizer = loadLlama3Tokenizer();
  const vocab = tokenizer.tokens.length;
  const width = options.width ?? BEHAVIOUR_MODEL.width;
  const rank = options.rank ?? 1;
  const alpha = options.alpha ?? rank;
  const strength = options.strength ?? 2;
  const wordId = singleTokenId(tokenizer, options.word);
  const a = new Float32Array(rank * width);
  for (let r = 0; r < rank; r++) a[r * width] = 1;
  // (alpha / rank) · Σ_r b·a = strength, whatever the rank and alpha.
  const b = new Float32Array(vocab * rank);
  for (let r = 0; r < rank; r++) b[wordId * rank + r] = strength / alpha;
  return { rank, alpha, pairs: [{ target: 'output.weight', inputs: width, outputs: vocab, a, b }] };
}

export function writeBehaviourAdapter(path: string, name: string, options: BehaviourAdapterOptions): void {
  writeLoraAdapter(path, { name, ...behaviourAdapterPairs(options) });
}

/** Rank-r adapters with small random values on the attention projections of a model shape. */
export function attentionAdapterPairs(shape: SyntheticLlamaShape, rank: number, seed: number): LoraPair[] {
  return linearAdapterPairs(shape, rank, seed, false, 0.05);
}

/**
 * The same on every linear projection (attention and MLP), as PEFT's target_modules="all-linear" makes them; smaller
 * values, so that seven adapted projections in each of many layers still leave greedy output on the model's word.
 */
export function allLinearAdapterPairs(shape: SyntheticLlamaShape, rank: number, seed: number): LoraPair[] {
  return linearAdapterPairs(shape, rank, seed, true, 0.005);
}

function linearAdapterPairs(shape: SyntheticLlamaShape, rank: number, seed: number, mlp: boolean, amplitude: number): LoraPair[] {
  const random = seededRandom(seed);
  const kvWidth = (shape.width / shape.heads) * shape.kvHeads;
  const { width, feedForward } = shape;
  const projections: Array<[string, number, number]> = [
    ['attn_q', width, width], ['attn_k', width, kvWidth], ['attn_v', width, kvWidth], ['attn_output', width, width],
    ...(mlp ? ([['ffn_gate', width, feedForward], ['ffn_up', width, feedForward], ['ffn_down', feedForward, width]] as Array<[string, number, number]>) : []),
  ];
  const pairs: LoraPair[] = [];
  for (let layer = 0; layer < shape.layers; layer++) {
    for (const [projection, inputs, outputs] of projections) {
      pairs.push({
        target: `blk.${layer}.${projection}.weight`,
        inputs,
        outputs,
        a: noiseMatrix(random, rank * inputs, amplitude),
        b: noiseMatrix(random, outputs * rank, amplitude),
      });
    }
  }
  return pairs;
}
