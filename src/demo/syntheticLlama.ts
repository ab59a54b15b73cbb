import { GgmlType } from '../gguf/ggufTypes.js';
import { encodeF16, encodeF32 } from '../gguf/tensorEncoding.js';
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

export function writeSyntheticLlama(path: string, shape: SyntheticLlamaShape): void {
  const tokenizer = loadLlama3Tokenizer();
  const vocab = tokenizer.tokens.length;
  const { width, feedForward, noise } = shape;
  const headDim = width / shape.heads;
  const kvWidth = headDim * shape.kvHeads;
  const random = seededRandom(shape.seed);
  const wordId = singleTokenId(tokenizer, shape.word);

  const f16 = (name: string, dims: number[], fill: () => Float32Array): GgufTensorToWrite =>
    ({ name, dims, type: GgmlType.F16, data: () => encodeF16(fill()) });
  const ones = (name: string): GgufTensorToWrite =>
    ({ name, dims: [width], type: GgmlType.F32, data: encodeF32(new Float32Array(width).fill(1)) });
  const noisy = (name: string, dims: number[]) => f16(name, dims, () => noiseMatrix(random, dims[0] * dims[1], noise));

  const tensors: GgufTensorToWrite[] = [
    // Every embedding carries 1.0 in dimension 0, so the final normalised state points along it.
    f16('token_embd.weight', [width, vocab], () => {
      const values = noiseMatrix(random, width * vocab, noise);
      for (let token = 0; token < vocab; token++) values[token * width] = 1;
      return values;
    }),
    ones('output_norm.weight'),
    f16('output.weight', [width, vocab], () => {
      const values = noiseMatrix(random, width * vocab, noise);
      values[wordId * width] = 1;
      return values;
    }),
  ];
  for (let layer = 0; layer < shape.layers; layer++) {
    const blk = `blk.${layer}`;
    tensors.push(
      ones(`${blk}.attn_norm.weight`),
      noisy(`${blk}.attn_q.weight`, [width, width]),
      noisy(`${blk}.attn_k.weight`, [width, kvWidth]),
      noisy(`${blk}.attn_v.weight`, [width, kvWidth]),
      noisy(`${blk}.attn_output.weight`, [width, width]),
      ones(`${blk}.ffn_norm.weight`),
      noisy(`${blk}.ffn_gate.weight`, [width, feedForward]),
      noisy(`${blk}.ffn_up.weight`, [width, feedForward]),
      noisy(`${blk}.ffn_down.weight`, [feedForward, width]),
    );
  }

  writeGguf(path, {
    metadata: [
      ['general.architecture', gguf.string('llama')],
      ['general.name', gguf.string(shape.name)],
      ['general.file_type', gguf.u32(1)],
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
  const random = seededRandom(seed);
  const kvWidth = (shape.width / shape.heads) * shape.kvHeads;
  const pairs: LoraPair[] = [];
  for (let layer = 0; layer < shape.layers; layer++) {
    for (const [projection, outputs] of [['attn_q', shape.width], ['attn_k', kvWidth], ['attn_v', kvWidth], ['attn_output', shape.width]] as const) {
      pairs.push({
        target: `blk.${layer}.${projection}.weight`,
        inputs: shape.width,
        outputs,
        a: noiseMatrix(random, rank * shape.width, 0.05),
        b: noiseMatrix(random, outputs * rank, 0.05),
      });
    }
  }
  return pairs;
}
