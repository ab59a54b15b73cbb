import { statSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { thrownBy } from '../helpers/errors.js';
import { truncate } from '../helpers/files.js';
import { loadTestModel } from '../helpers/testLlama.js';
import { AdapterValidationError, type AdapterValidationReason } from '../../src/adapters/adapterErrors.js';
import { describeBaseModel, validateLoraAdapter } from '../../src/adapters/validateAdapter.js';
import { GgmlType } from '../../src/gguf/ggufTypes.js';
import { encodeF32 } from '../../src/gguf/tensorEncoding.js';
import { gguf, writeGguf } from '../../src/gguf/writeGguf.js';
import {
  BEHAVIOUR_MODEL,
  attentionAdapterPairs,
  behaviourAdapterPairs,
  writeLoraAdapter,
  writeSyntheticLlama,
} from '../../src/demo/syntheticLlama.js';

const dir = t.testdir();
const modelPath = join(dir, 'model.gguf');
writeSyntheticLlama(modelPath, BEHAVIOUR_MODEL);
const base = describeBaseModel(modelPath);
const file = (name: string) => join(dir, name);

const adapterMetadata = (architecture = 'llama', adapterType = 'lora') => [
  ['general.architecture', gguf.string(architecture)],
  ['general.type', gguf.string('adapter')],
  ['adapter.type', gguf.string(adapterType)],
  ['adapter.lora.alpha', gguf.f32(1)],
] as Array<[string, ReturnType<typeof gguf.string>]>;

// Good adapters.
writeLoraAdapter(file('behaviour.gguf'), { name: 'A', ...behaviourAdapterPairs({ word: ' A', rank: 4, alpha: 8 }) });
writeLoraAdapter(file('attention.gguf'), { name: 'att', rank: 8, alpha: 16, pairs: attentionAdapterPairs(BEHAVIOUR_MODEL, 8, 3) });

// Bad ones, one per reason.
writeFileSync(file('text.gguf'), 'this is not a model\n'.repeat(10));
writeFileSync(file('header-cut.gguf'), readFileSync(file('behaviour.gguf')).subarray(0, 60));
writeLoraAdapter(file('data-cut.gguf'), { name: 'A', ...behaviourAdapterPairs({ word: ' A', rank: 4, alpha: 8 }) });
truncate(file('data-cut.gguf'), statSync(file('data-cut.gguf')).size - 1000);
writeGguf(file('control-vector.gguf'), { metadata: adapterMetadata('llama', 'control_vector'), tensors: [] });
writeLoraAdapter(file('qwen.gguf'), { name: 'q', architecture: 'qwen2', ...behaviourAdapterPairs({ word: ' A' }) });
writeGguf(file('empty.gguf'), { metadata: adapterMetadata(), tensors: [] });
const deepPairs = attentionAdapterPairs({ ...BEHAVIOUR_MODEL, layers: 3 }, 4, 1);
writeLoraAdapter(file('deeper.gguf'), { name: 'deep', rank: 4, alpha: 4, pairs: deepPairs });
writeGguf(file('unpaired.gguf'), {
  metadata: adapterMetadata(),
  tensors: [{ name: 'blk.0.attn_q.weight.lora_a', dims: [64, 2], type: GgmlType.F32, data: encodeF32(new Float32Array(128)) }],
});
writeGguf(file('odd-tensor.gguf'), {
  metadata: adapterMetadata(),
  tensors: [{ name: 'blk.0.attn_q.weight.delta', dims: [64, 2], type: GgmlType.F32, data: encodeF32(new Float32Array(128)) }],
});
// Made for a 32-wide model, loaded on the 64-wide base.
writeLoraAdapter(file('narrow.gguf'), { name: 'n', ...behaviourAdapterPairs({ word: ' A', width: 32 }) });
writeLoraAdapter(file('narrow-attention.gguf'), {
  name: 'na', rank: 4, alpha: 4, pairs: attentionAdapterPairs({ ...BEHAVIOUR_MODEL, width: 32 }, 4, 2),
});
// Ranks of lora_a and lora_b disagree.
writeGguf(file('rank-mismatch.gguf'), {
  metadata: adapterMetadata(),
  tensors: [
    { name: 'blk.0.attn_q.weight.lora_a', dims: [64, 2], type: GgmlType.F32, data: encodeF32(new Float32Array(128)) },
    { name: 'blk.0.attn_q.weight.lora_b', dims: [3, 64], type: GgmlType.F32, data: encodeF32(new Float32Array(192)) },
  ],
});

const bad: Array<[string, AdapterValidationReason, RegExp]> = [
  ['text.gguf', 'not-gguf', /not a GGUF file/],
  ['header-cut.gguf', 'truncated', /truncated/],
  ['data-cut.gguf', 'truncated', /output\.weight\.lora_b.*past the end/],
  ['model.gguf', 'not-adapter', /general\.type is missing.*model/],
  ['control-vector.gguf', 'not-lora', /adapter\.type is 'control_vector'/],
  ['qwen.gguf', 'wrong-architecture', /'qwen2'.*'llama'/],
  ['empty.gguf', 'empty', /no lora_a\/lora_b/],
  ['deeper.gguf', 'unknown-tensor', /blk\.2\.attn_q\.weight/],
  ['odd-tensor.gguf', 'unknown-tensor', /blk\.0\.attn_q\.weight\.delta/],
  ['unpaired.gguf', 'unpaired', /blk\.0\.attn_q\.weight has a lora_a tensor but no lora_b/],
  ['narrow.gguf', 'shape-mismatch', /output\.weight.*ne\[0\] is 32.*64.*base \[64, 128256\], lora_a \[32, 1\]/],
  ['narrow-attention.gguf', 'shape-mismatch', /blk\.0\.attn_q\.weight.*\[64, 64\].*\[32, 4\]/],
  ['rank-mismatch.gguf', 'shape-mismatch', /rank 2 but lora_b has rank 3/],
];

t.test('good adapters give their rank, alpha, targets and size', async (t) => {
  t.same(validateLoraAdapter(file('behaviour.gguf'), base), {
    rank: 4, alpha: 8, tensorCount: 2, targets: ['output.weight'], sizeBytes: statSync(file('behaviour.gguf')).size,
  });
  const info = validateLoraAdapter(file('attention.gguf'), base);
  t.equal(info.rank, 8);
  t.equal(info.alpha, 16);
  t.equal(info.tensorCount, 16);
  t.same(info.targets.slice(0, 4), ['blk.0.attn_k.weight', 'blk.0.attn_output.weight', 'blk.0.attn_q.weight', 'blk.0.attn_v.weight']);
});

t.test('the base model is described from its header', async (t) => {
  t.equal(base.architecture, 'llama');
  t.same(base.tensors.get('output.weight'), [64, 128256]);
  t.same(base.tensors.get('blk.1.attn_k.weight'), [64, 32]);
});

for (const [name, reason, message] of bad) {
  t.test(`${name} is refused as ${reason}`, async (t) => {
    const error = thrownBy(() => validateLoraAdapter(file(name), base));
    t.type(error, AdapterValidationError);
    t.equal((error as AdapterValidationError).reason, reason);
    t.match((error as Error).message, message);
  });
}

t.test('llama.cpp agrees: what validation accepts loads, what it refuses for shape or names does not', async (t) => {
  const { model, close } = await loadTestModel(modelPath);
  t.teardown(close);
  const load = async (name: string) => {
    const context = await model.createContext({ contextSize: 256, threads: 2, lora: { adapters: [{ filePath: file(name), scale: 1 }] } });
    await context.dispose();
  };
  for (const name of ['behaviour.gguf', 'attention.gguf']) await t.resolves(load(name), `${name} loads`);
  for (const name of ['text.gguf', 'data-cut.gguf', 'qwen.gguf', 'deeper.gguf', 'unpaired.gguf', 'narrow.gguf', 'narrow-attention.gguf', 'rank-mismatch.gguf']) {
    await t.rejects(load(name), `${name} is refused by llama.cpp too`);
  }
});
