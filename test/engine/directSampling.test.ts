import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { LlamaLogLevel, type Token } from 'node-llama-cpp';
import { ensureTestModels } from '../../scripts/generate-test-models.js';
import { BEHAVIOUR_MODEL, writeSyntheticLlama } from '../../src/demo/syntheticLlama.js';
import { contextDriver, createSampler, findNativeBuild, loadLlama, loadLoraHandle, setSequenceAdapters, withContextLock } from '../../src/engine/nativeBinding.js';

// The patched build samples without node-llama-cpp's candidate array of the whole vocabulary where the sampler
// chain allows it: a greedy pick reads the first highest logit, and a chain that starts with top-k (temperature
// above 0) gets the k highest logits, sorted, as the candidates the rest of the chain runs on. The tokens must be
// the chain's. A zero token bias keeps a sampler's choice the same but sends it down the chain, so the two are
// compared on the same logits, with the same seed: every position of a prompt, on the behaviour model under the
// base and under adapters (few distinct picks) and on a variant whose weights are mostly noise (a different pick at
// most positions).
const noPatchedBuild = (await findNativeBuild('cpu'))
  ? false
  : 'no patched native build for this tree in the cache: run scripts/build-native.sh (about 20 minutes cold on 2 cores)';

t.test('picks made from the logits are the sampler chain’s picks', { skip: noPatchedBuild }, async (t) => {
  const { llama, capabilities } = await loadLlama({ native: 'auto', gpu: false, logLevel: LlamaLogLevel.error });
  t.teardown(() => llama.dispose());
  t.equal(capabilities.binary, 'patched');
  const models = ensureTestModels();
  const noisyDir = mkdtempSync(path.join(tmpdir(), 'adaptd-greedy-'));
  t.teardown(() => rmSync(noisyDir, { recursive: true, force: true }));
  const noisyPath = path.join(noisyDir, 'noisy.gguf');
  writeSyntheticLlama(noisyPath, { ...BEHAVIOUR_MODEL, name: 'noisy', seed: 7, noise: 1 });
  const [model, noisy] = [await llama.loadModel({ modelPath: models.behaviourModel }), await llama.loadModel({ modelPath: noisyPath })];
  t.teardown(async () => (await model.dispose(), await noisy.dispose()));
  const prompt = model.tokenize('Name yourself, then count: one two three four five six seven eight nine ten.');
  const settings = [
    ['greedy', { temperature: 0, minP: 0, topK: 40, topP: 0.95, seed: 1 }],
    ['temperature 0.8, top-k 40, top-p 0.95', { temperature: 0.8, minP: 0, topK: 40, topP: 0.95, seed: 3 }],
  ] as const;
  const cases = [
    ['base', model, []],
    ['A', model, [models.adapters.A]],
    ['A and B', model, [models.adapters.A, models.adapters.B]],
    ['mostly noise', noisy, []],
  ] as const;
  for (const [name, model, adapterFiles] of cases) {
    for (const [sampling, config] of settings) {
      const direct = createSampler(model);
      direct.applyConfig(config);
      const chain = createSampler(model);
      (chain.native as { applyConfig(config: object): void }).applyConfig({ ...config, tokenBiasKeys: Uint32Array.of(0), tokenBiasValues: Float32Array.of(0) });
      const context = await model.createContext({ contextSize: 256, sequences: 1, batchSize: 128 });
      try {
        const sequence = context.getSequence();
        const handles = await Promise.all(adapterFiles.map((file) => loadLoraHandle(model, file)));
        await withContextLock(context, () => setSequenceAdapters(context, sequence, handles, handles.map(() => 1)));
        const driver = contextDriver(context);
        const picks = await driver.exclusive(async () => {
          driver.initBatch(prompt.length);
          const outputs = Array.from(driver.addToBatch(0, 0, Uint32Array.from(prompt), Uint32Array.from(prompt.map((_, i) => i))));
          // Each position twice, once for each sampler: each draws from its own generator, seeded alike.
          return driver.decodeAndSample(
            outputs.flatMap((index) => [index, index]),
            outputs.flatMap(() => [direct, chain]),
          );
        });
        const fromLogits = picks.filter((_, i) => i % 2 === 0) as Token[];
        const fromChain = picks.filter((_, i) => i % 2 === 1) as Token[];
        t.equal(fromLogits.length, prompt.length, `${name}, ${sampling}: a pick at every position`);
        t.same(fromLogits, fromChain, `${name}, ${sampling}: the same tokens at all ${prompt.length} positions (${new Set(fromLogits).size} distinct)`);
      } finally {
        await context.dispose();
        direct.dispose();
        chain.dispose();
      }
    }
  }
});
