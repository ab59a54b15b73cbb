import t from 'tap';
import { loraEngineHarness } from '../helpers/loraEngineHarness.js';
import { validateLoraAdapter } from '../../src/adapters/validateAdapter.js';
import { loadLlama3Tokenizer, singleTokenId } from '../../src/demo/llama3Tokenizer.js';
import {
  BEHAVIOUR_MODEL,
  behaviourAdapterPairs,
  writeLoraAdapter,
  type LoraPair,
} from '../../src/demo/syntheticLlama.js';
import { readGguf } from '../../src/gguf/readGguf.js';

// PEFT options that change an adapter's scale or layout, converted and checked on the real engine against native adapters.
const { path, base, greedy, nextToken, maxDifference, convert } = loraEngineHarness(t);

t.test('rank_pattern, alpha_pattern and rsLoRA keep PEFT\'s per-module scale under GGUF\'s single alpha', async (t) => {
  // Native reference: rank 2 on output, effective scale alpha/rank = 8/2.
  const reference = behaviourAdapterPairs({ word: ' A', rank: 2, alpha: 8 });
  writeLoraAdapter(path('native-rank2.gguf'), { name: 'r2', ...reference });
  // The same module in an export whose defaults (r 16, alpha 32) are overridden by patterns for lm_head.
  const patterned = convert('patterned', {
    ...reference,
    rank: 16,
    alpha: 32,
    dtype: 'F32',
    extraConfig: { rank_pattern: { lm_head: 2 }, alpha_pattern: { lm_head: 8 } },
  });
  const info = validateLoraAdapter(patterned, base);
  t.equal(info.alpha, 32, 'GGUF alpha is the config lora_alpha');
  t.equal(info.rank, 2);
  t.equal(await greedy(patterned), ' A A A A A A');
  t.equal(await greedy(patterned, 0.2), ' W W W W W W', 'without rescaling alpha 32 / rank 2 would win even at 0.2');
  t.ok(maxDifference(await nextToken(path('native-rank2.gguf')), await nextToken(patterned)) < 1e-5, 'converted ≈ native (rescaling moves the multiply)');

  // rsLoRA scales by alpha/√r: alpha 8 at rank 4 is 4, what the native adapter gets with alpha 16.
  const spec = behaviourAdapterPairs({ word: ' A', rank: 4, alpha: 8 });
  writeLoraAdapter(path('native-alpha16.gguf'), { name: 'a16', ...spec, alpha: 16 });
  const rslora = convert('rslora', { ...spec, dtype: 'F32', extraConfig: { use_rslora: true } });
  t.equal(await greedy(path('native-alpha16.gguf'), 0.4), ' A A A A A A');
  t.equal(await greedy(rslora, 0.4), ' A A A A A A', 'rsLoRA doubles the effect: 4 · 0.4 > 1');
  writeLoraAdapter(path('native-alpha8.gguf'), { name: 'a8', ...spec });
  t.equal(await greedy(path('native-alpha8.gguf'), 0.4), ' W W W W W W', 'plain LoRA at 0.4 loses: 2 · 0.4 < 1');
  t.ok(maxDifference(await nextToken(path('native-alpha16.gguf')), await nextToken(rslora)) < 1e-5, 'converted ≈ native');
});

t.test('an embedding LoRA converts with llama.cpp\'s layout and takes effect', async (t) => {
  const tokenizer = loadLlama3Tokenizer();
  const vocab = tokenizer.tokens.length;
  const width = BEHAVIOUR_MODEL.width;
  const rank = 2;
  // Output LoRA: reads dimension 1 into word " E". Embedding LoRA: adds 3 in dimension 1 to every token, through
  // rank component 0 only; component 1 would cancel it, so a transposed lora_a leaves the model saying " W".
  const output: LoraPair = { target: 'output.weight', inputs: width, outputs: vocab, a: new Float32Array(rank * width), b: new Float32Array(vocab * rank) };
  output.a[1] = 1;
  output.b[singleTokenId(tokenizer, ' E') * rank] = 1;
  const embedding: LoraPair = { target: 'token_embd.weight', inputs: width, outputs: vocab, a: new Float32Array(rank * width), b: new Float32Array(vocab * rank) };
  embedding.a[1] = 3;
  embedding.a[width + 1] = -3;
  for (let token = 0; token < vocab; token++) embedding.b[token * rank] = 1;

  const withEmbedding = convert('embedding', { pairs: [output, embedding], rank, alpha: rank, dtype: 'BF16' });
  const outputOnly = convert('output-only', { pairs: [output], rank, alpha: rank, dtype: 'BF16' });
  const header = readGguf(withEmbedding, { maxArrayItems: 16 });
  t.same(header.tensors.find((tensor) => tensor.name === 'token_embd.weight.lora_a')?.dims, [rank, vocab]);
  t.same(header.tensors.find((tensor) => tensor.name === 'token_embd.weight.lora_b')?.dims, [rank, width]);
  t.match(validateLoraAdapter(withEmbedding, base), { targets: ['output.weight', 'token_embd.weight'] });
  t.equal(await greedy(outputOnly), ' W W W W W W', 'the output LoRA alone reads an empty dimension');
  t.equal(await greedy(withEmbedding), ' E E E E E E', 'the embedding LoRA fills it');
});
