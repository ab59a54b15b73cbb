import { findTruncatedTensor, metadataNumber, metadataString, readGguf, type GgufFile } from '../gguf/readGguf.js';
import { GgufFormatError } from '../gguf/ggufTypes.js';
import { AdapterValidationError } from './adapterErrors.js';
import { familyMismatch, type BaseModelIdentity } from './modelFamily.js';

/** What adapter validation needs to know of the base model: its architecture and every tensor's GGML shape. */
export interface BaseModelShape extends BaseModelIdentity {
  architecture: string;
  /** Tensor name → GGML dims (dims[0] is the contiguous one). */
  tensors: Map<string, number[]>;
}

export interface AdapterInfo {
  /** The largest rank of its pairs (llama.cpp allows each pair its own rank). */
  rank: number;
  /** `adapter.lora.alpha`; 0 when absent, which llama.cpp reads as "no alpha/rank scaling". */
  alpha: number;
  tensorCount: number;
  /** Base tensor names the adapter modifies, sorted. */
  targets: string[];
  sizeBytes: number;
  /** The model it was trained on (`general.base_model.0.name`; PEFT's base_model_name_or_path after conversion). */
  baseModel: string | undefined;
  /** Set when baseModel names another model family than the base's. */
  baseModelMismatch: string | undefined;
}

// Headers only: the base's 128k-entry vocabulary arrays are skipped, not materialised.
const HEADER_ONLY = { maxArrayItems: 64 };

/** Reads the base model's header once; the result is reused for every adapter validated against it. */
export function describeBaseModel(basePath: string): BaseModelShape {
  const file = readGguf(basePath, HEADER_ONLY);
  const architecture = metadataString(file, 'general.architecture');
  if (!architecture) throw new GgufFormatError(`base model ${basePath} has no general.architecture`, 'corrupt');
  const names = ['general.name', 'general.basename'].map((key) => metadataString(file, key)).filter((name): name is string => !!name);
  return { architecture, names, tensors: new Map(file.tensors.map((tensor) => [tensor.name, tensor.dims])) };
}

function readAdapterHeader(adapterPath: string): GgufFile {
  try {
    return readGguf(adapterPath, HEADER_ONLY);
  } catch (error) {
    if (!(error instanceof GgufFormatError)) throw error;
    const reason = error.reason === 'not-gguf' || error.reason === 'truncated' ? error.reason : 'corrupt';
    const prefix = reason === 'not-gguf' ? 'not a GGUF file' : reason === 'truncated' ? 'truncated GGUF file' : 'corrupt GGUF file';
    throw new AdapterValidationError(reason, `${prefix}: ${error.message}`);
  }
}

const shapeText = (dims: number[]) => `[${dims.join(', ')}]`;

/**
 * Checks a GGUF LoRA against the base the way llama.cpp will when it loads it, so a bad upload is refused with
 * a precise reason before any context is built. Checks run from the coarsest (is it GGUF at all) to the finest
 * (each pair's shape), and the first failure is reported.
 */
export function validateLoraAdapter(adapterPath: string, base: BaseModelShape): AdapterInfo {
  const file = readAdapterHeader(adapterPath);
  const truncated = findTruncatedTensor(file);
  if (truncated) {
    throw new AdapterValidationError(
      'truncated',
      `truncated GGUF file: the data of tensor ${truncated.name} runs past the end of the file (${file.fileSize} bytes)`,
    );
  }

  const type = metadataString(file, 'general.type');
  if (type !== 'adapter') {
    throw new AdapterValidationError(
      'not-adapter',
      `not an adapter: general.type is ${type === undefined ? 'missing' : `'${type}'`}` +
        (type === 'model' || type === undefined ? ' (this looks like a model, not a LoRA adapter)' : '') +
        ", expected 'adapter'",
    );
  }
  const adapterType = metadataString(file, 'adapter.type');
  if (adapterType !== 'lora') {
    throw new AdapterValidationError(
      'not-lora',
      `not a LoRA adapter: adapter.type is ${adapterType === undefined ? 'missing' : `'${adapterType}'`}, expected 'lora'`,
    );
  }
  const architecture = metadataString(file, 'general.architecture');
  if (architecture !== base.architecture) {
    throw new AdapterValidationError(
      'wrong-architecture',
      `wrong architecture: the adapter is for '${architecture ?? 'unknown'}' but the base model is '${base.architecture}'`,
    );
  }

  const pairs = new Map<string, { a?: number[]; b?: number[] }>();
  for (const tensor of file.tensors) {
    const match = /^(.*)\.lora_(a|b)$/.exec(tensor.name);
    if (!match) {
      // llama.cpp skips norm vectors that mergekit adds to adapters; anything else it refuses.
      if (tensor.name.endsWith('_norm.weight')) continue;
      throw new AdapterValidationError(
        'unknown-tensor',
        `tensor ${tensor.name} is neither a .lora_a nor a .lora_b tensor`,
      );
    }
    const [, target, side] = match;
    if (!base.tensors.has(target)) {
      throw new AdapterValidationError(
        'unknown-tensor',
        `tensor ${tensor.name} modifies ${target}, which the base model does not have`,
      );
    }
    const pair = pairs.get(target) ?? {};
    pair[side as 'a' | 'b'] = tensor.dims;
    pairs.set(target, pair);
  }
  if (pairs.size === 0) throw new AdapterValidationError('empty', 'the adapter has no lora_a/lora_b tensors');

  for (const [target, pair] of pairs) {
    if (!pair.a || !pair.b) {
      const [has, lacks] = pair.a ? ['lora_a', 'lora_b'] : ['lora_b', 'lora_a'];
      throw new AdapterValidationError('unpaired', `${target} has a ${has} tensor but no ${lacks}`);
    }
  }

  let rank = 0;
  for (const [target, { a, b }] of pairs as Map<string, { a: number[]; b: number[] }>) {
    const baseDims = base.tensors.get(target)!;
    const mismatch = pairShapeProblem(target, baseDims, a, b);
    if (mismatch) {
      const { problem, otherSize } = mismatch;
      throw new AdapterValidationError(
        'shape-mismatch',
        `tensor shape mismatch for ${target}: ${problem} (base ${shapeText(baseDims)}, lora_a ${shapeText(a)}, ` +
          `lora_b ${shapeText(b)})${otherSize ? '; the adapter was made for a model of another size' : ''}`,
      );
    }
    rank = Math.max(rank, b[0]);
  }

  const baseModel = metadataString(file, 'general.base_model.0.name');
  return {
    baseModel,
    baseModelMismatch: familyMismatch(baseModel, base),
    rank,
    alpha: metadataNumber(file, 'adapter.lora.alpha') ?? 0,
    tensorCount: file.tensors.length,
    targets: [...pairs.keys()].sort(),
    sizeBytes: file.fileSize,
  };
}

/** The rules of llama.cpp's adapter loader: what is wrong, and whether it means "made for another model size". */
function pairShapeProblem(
  target: string,
  base: number[],
  a: number[],
  b: number[],
): { problem: string; otherSize: boolean } | undefined {
  const sizes = (problem: string) => ({ problem, otherSize: true });
  const ranks = (rankA: number) => ({ problem: `lora_a has rank ${rankA} but lora_b has rank ${b[0]}`, otherSize: false });
  if (a.length !== 2 || b.length !== 2 || base.length !== 2) {
    return { problem: 'lora_a, lora_b and the base tensor must all be 2-D', otherSize: false };
  }
  if (target === 'token_embd.weight') {
    // The embedding LoRA is applied by row lookup in lora_a, so its lora_a is stored as ne = [rank, vocabulary].
    if (a[1] !== base[1]) return sizes(`lora_a ne[1] is ${a[1]} but the vocabulary (base ne[1]) is ${base[1]}`);
    if (b[1] !== base[0]) return sizes(`lora_b ne[1] is ${b[1]} but the embedding width (base ne[0]) is ${base[0]}`);
    return a[0] !== b[0] ? ranks(a[0]) : undefined;
  }
  if (a[0] !== base[0]) return sizes(`lora_a ne[0] is ${a[0]} but the base tensor's input size (ne[0]) is ${base[0]}`);
  if (b[1] !== base[1]) return sizes(`lora_b ne[1] is ${b[1]} but the base tensor's output size (ne[1]) is ${base[1]}`);
  return a[1] !== b[0] ? ranks(a[1]) : undefined;
}
