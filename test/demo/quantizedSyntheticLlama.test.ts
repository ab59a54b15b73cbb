import { join } from 'node:path';
import t from 'tap';
import { getLlama, LlamaCompletion, LlamaLogLevel } from 'node-llama-cpp';
import { allLinearAdapterPairs, writeLoraAdapter, writeSyntheticLlama, type SyntheticLlamaShape } from '../../src/demo/syntheticLlama.js';
import { readGguf } from '../../src/gguf/readGguf.js';
import { GGML_TYPE_NAMES } from '../../src/gguf/ggufTypes.js';

// The GPU benchmark's model recipe at a small width: Q4_K_M written directly, 16 layers so the favoured layers vary.
const SHAPE: SyntheticLlamaShape = {
  name: 'quantized test', width: 256, layers: 16, heads: 4, kvHeads: 2, feedForward: 512,
  contextLength: 2048, seed: 5, word: ' W', noise: 0.02, weights: 'Q4_K_M',
};

t.test('a Q4_K_M synthetic model has llama-quantize’s type layout and the behaviour model’s greedy output', async (t) => {
  const dir = t.testdir();
  const modelPath = join(dir, 'model.gguf');
  const adapterPath = join(dir, 'all-linear.gguf');
  writeSyntheticLlama(modelPath, SHAPE);
  writeLoraAdapter(adapterPath, { name: 'all-linear', rank: 16, alpha: 16, pairs: allLinearAdapterPairs(SHAPE, 16, 7) });

  const file = readGguf(modelPath);
  t.equal(file.metadata.get('general.file_type'), 15, 'LLAMA_FTYPE_MOSTLY_Q4_K_M');
  const type = (name: string) => GGML_TYPE_NAMES[file.tensors.find((tensor) => tensor.name === name)!.type];
  t.equal(type('token_embd.weight'), 'Q4_K');
  t.equal(type('output.weight'), 'Q6_K');
  t.equal(type('output_norm.weight'), 'F32');
  // use_more_bits(i, 16): i < 2, i >= 14, or (i - 2) % 3 == 2 → layers 0, 1, 4, 7, 10, 13, 14, 15.
  const favoured = Array.from({ length: 16 }, (_, i) => i).filter((i) => type(`blk.${i}.ffn_down.weight`) === 'Q6_K');
  t.same(favoured, [0, 1, 4, 7, 10, 13, 14, 15]);
  t.same(favoured.map((i) => type(`blk.${i}.attn_v.weight`)), favoured.map(() => 'Q6_K'));
  t.equal(type('blk.2.attn_v.weight'), 'Q4_K');
  t.equal(type('blk.2.attn_q.weight'), 'Q4_K');
  const adapter = readGguf(adapterPath);
  t.same(new Set(adapter.tensors.map((tensor) => tensor.name.split('.')[2])), new Set(['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down']), 'all-linear');

  const llama = await getLlama({ gpu: false, build: 'never', maxThreads: 2, logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath });
  t.teardown(async () => {
    await model.dispose();
    await llama.dispose();
  });
  for (const lora of [undefined, adapterPath]) {
    const context = await model.createContext({ contextSize: 256, threads: 2, lora: lora ? { adapters: [{ filePath: lora, scale: 1 }] } : undefined });
    const text = await new LlamaCompletion({ contextSequence: context.getSequence() }).generateCompletion('Hello there, how are you', { maxTokens: 6, temperature: 0 });
    t.equal(text, ' W W W W W W', lora ? 'with an all-linear adapter' : 'base');
    await context.dispose();
  }
});
