import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { convertPeftToGguf, parseLoraTensorName } from '../../src/adapters/peft/convertPeftToGguf.js';
import { PEFT_WEIGHTS_FILE } from '../../src/adapters/peft/peftFiles.js';
import { SafetensorsFile } from '../../src/adapters/peft/SafetensorsFile.js';
import { familyMismatch, modelFamilies } from '../../src/adapters/modelFamily.js';
import { writePeftExport, writeSafetensors, type PeftExportSpec } from '../../src/demo/peftExport.js';
import { projectionAdapterPairs } from '../../src/demo/peftExport.js';
import { metadataString, readGguf } from '../../src/gguf/readGguf.js';

// What real fine-tuning tools write, beyond what save_pretrained's defaults produce.
const root = t.testdir();
const spec: PeftExportSpec = {
  pairs: projectionAdapterPairs({ width: 64, layers: 1, kvWidth: 32, feedForward: 128 }, { rank: 4, seed: 3 }),
  rank: 4,
  alpha: 8,
  dtype: 'BF16',
};
const convert = (dir: string, out: string) => convertPeftToGguf({ peftDir: dir, outPath: join(root, out), name: 'same' });

t.test('tensor names with the adapter name (lora_A.default.weight) convert exactly as without it', async (t) => {
  writePeftExport(join(root, 'plain'), spec);
  writePeftExport(join(root, 'named'), spec);
  const source = SafetensorsFile.open(join(root, 'plain', PEFT_WEIGHTS_FILE));
  writeSafetensors(
    join(root, 'named', PEFT_WEIGHTS_FILE),
    [...source.tensors.values()].map((tensor) => ({
      name: tensor.name.replace(/\.lora_([AB])\.weight$/, '.lora_$1.default.weight'),
      dtype: tensor.dtype,
      shape: tensor.shape,
      data: source.read(tensor),
    })),
  );
  source.close();
  t.match(readFileSync(join(root, 'named', PEFT_WEIGHTS_FILE)).toString('latin1'), /q_proj\.lora_A\.default\.weight/);
  convert(join(root, 'plain'), 'plain.gguf');
  convert(join(root, 'named'), 'named.gguf');
  t.ok(readFileSync(join(root, 'named.gguf')).equals(readFileSync(join(root, 'plain.gguf'))), 'byte-identical GGUF');
});

t.test('tensor names: parsed with and without the adapter name; anything else is not a LoRA tensor', async (t) => {
  const cases: Array<[string, ReturnType<typeof parseLoraTensorName>]> = [
    ['model.layers.0.self_attn.q_proj.lora_A.weight', { module: 'model.layers.0.self_attn.q_proj', side: 'A', embedding: false, adapterName: '' }],
    ['model.layers.0.self_attn.q_proj.lora_B.default.weight', { module: 'model.layers.0.self_attn.q_proj', side: 'B', embedding: false, adapterName: 'default' }],
    ['model.embed_tokens.lora_embedding_A', { module: 'model.embed_tokens', side: 'A', embedding: true, adapterName: '' }],
    ['model.embed_tokens.lora_embedding_B.default', { module: 'model.embed_tokens', side: 'B', embedding: true, adapterName: 'default' }],
    ['model.layers.0.self_attn.q_proj.lora_B.bias', undefined],
    ['model.layers.0.self_attn.q_proj.weight', undefined],
    ['model.layers.0.self_attn.q_proj.lora_A.default.extra.weight', undefined],
  ];
  for (const [name, expected] of cases) t.same(parseLoraTensorName(name), expected, name);
});

t.test('bias in the config without bias tensors in the file converts (Llama layers have no bias)', async (t) => {
  for (const bias of ['lora_only', 'all']) {
    writePeftExport(join(root, `bias-${bias}`), { ...spec, extraConfig: { bias } });
    t.match(convert(join(root, `bias-${bias}`), `bias-${bias}.gguf`), { rank: 4 }, `bias: "${bias}"`);
  }
});

t.test('base_model_name_or_path is reported and kept in the GGUF', async (t) => {
  writePeftExport(join(root, 'mistral'), { ...spec, extraConfig: { base_model_name_or_path: 'mistralai/Mistral-7B-v0.1' } });
  t.equal(convert(join(root, 'mistral'), 'mistral.gguf').baseModel, 'mistralai/Mistral-7B-v0.1');
  t.equal(metadataString(readGguf(join(root, 'mistral.gguf'), { maxArrayItems: 64 }), 'general.base_model.0.name'), 'mistralai/Mistral-7B-v0.1');
});

t.test('model families: a mismatch is named, agreement or an unknown family is not', async (t) => {
  const llamaBase = { names: ['Meta Llama 3.1 8B Instruct'], architecture: 'llama' };
  const demoBase = { names: ['adaptd behaviour demo'], architecture: 'llama' };
  t.match(familyMismatch('mistralai/Mistral-7B-v0.1', llamaBase), /trained on mistralai\/Mistral-7B-v0\.1 \(mistral family\) but the base model is Meta Llama 3\.1 8B Instruct \(llama family\)/);
  t.match(familyMismatch('mistralai/Mistral-7B-v0.1', demoBase), /mistral family.*llama family/, "a base named after nothing: its architecture's family");
  t.match(familyMismatch('Qwen/Qwen2.5-7B-Instruct', llamaBase), /qwen family/);
  t.equal(familyMismatch('meta-llama/Meta-Llama-3.1-8B-Instruct', llamaBase), undefined);
  t.equal(familyMismatch('unsloth/llama-3-8b-bnb-4bit', llamaBase), undefined);
  t.equal(familyMismatch('deepseek-ai/DeepSeek-R1-Distill-Llama-8B', llamaBase), undefined, 'a Llama distill is a Llama model');
  t.equal(familyMismatch('my-org/support-bot-v2', llamaBase), undefined, 'an unknown family: no guess');
  t.equal(familyMismatch(undefined, llamaBase), undefined);
  t.equal(familyMismatch('mistralai/Mistral-7B-v0.1', { names: ['Mistral 7B Instruct v0.3'], architecture: 'llama' }), undefined, 'a Mistral GGUF (architecture llama)');
  t.same([...modelFamilies('microsoft/Phi-3-mini-4k-instruct')], ['phi']);
  t.same([...modelFamilies('mistralai/Mixtral-8x7B-v0.1')], ['mistral']);
  t.same([...modelFamilies('graphite-model')], [], 'no family inside an unrelated word');
});
