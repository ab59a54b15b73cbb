/**
 * Names of the Llama architecture in Hugging Face (PEFT) and GGUF terms. Module paths are relative to the
 * transformers model (`model.layers.0.self_attn.q_proj`, `lm_head`), i.e. without PEFT's `base_model.model.`
 * prefix; GGUF names are base tensor names (`blk.0.attn_q.weight`, `output.weight`).
 */

export const PEFT_PREFIX = 'base_model.model.';

const LAYER_MODULES: Array<[peft: string, gguf: string]> = [
  ['self_attn.q_proj', 'attn_q'],
  ['self_attn.k_proj', 'attn_k'],
  ['self_attn.v_proj', 'attn_v'],
  ['self_attn.o_proj', 'attn_output'],
  ['mlp.gate_proj', 'ffn_gate'],
  ['mlp.up_proj', 'ffn_up'],
  ['mlp.down_proj', 'ffn_down'],
];

const TOP_MODULES: Array<[peft: string, gguf: string]> = [
  ['lm_head', 'output'],
  ['model.embed_tokens', 'token_embd'],
];

/** Last path components of every module PEFT can target in a Llama model (what `target_modules` lists). */
export const LLAMA_TARGET_NAMES = new Set([...LAYER_MODULES, ...TOP_MODULES].map(([peft]) => peft.split('.').pop()!));

/** The GGUF base tensor a PEFT module modifies, or undefined for a module this architecture lacks. */
export function ggufTensorForPeftModule(modulePath: string): string | undefined {
  const top = TOP_MODULES.find(([peft]) => peft === modulePath);
  if (top) return `${top[1]}.weight`;
  const match = /^model\.layers\.(\d+)\.(.+)$/.exec(modulePath);
  if (!match) return undefined;
  const layer = LAYER_MODULES.find(([peft]) => peft === match[2]);
  return layer ? `blk.${Number(match[1])}.${layer[1]}.weight` : undefined;
}

/** The inverse of ggufTensorForPeftModule. */
export function peftModuleForGgufTensor(tensorName: string): string | undefined {
  const top = TOP_MODULES.find(([, gguf]) => `${gguf}.weight` === tensorName);
  if (top) return top[0];
  const match = /^blk\.(\d+)\.(.+)\.weight$/.exec(tensorName);
  if (!match) return undefined;
  const layer = LAYER_MODULES.find(([, gguf]) => gguf === match[2]);
  return layer ? `model.layers.${Number(match[1])}.${layer[0]}` : undefined;
}

/** Embedding LoRAs are stored as `lora_embedding_A/B` parameters rather than `lora_A/B.weight` submodules. */
export function isEmbeddingTensor(ggufTensorName: string): boolean {
  return ggufTensorName === 'token_embd.weight';
}

/** Orders GGUF tensor names as a model lists them: output and embeddings first, then blocks by number. */
export function compareGgufTensorNames(x: string, y: string): number {
  const block = (name: string) => Number(/^blk\.(\d+)\./.exec(name)?.[1] ?? -1);
  return block(x) - block(y) || x.localeCompare(y);
}
