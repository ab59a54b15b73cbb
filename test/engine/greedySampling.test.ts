import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { LlamaLogLevel, type Token } from 'node-llama-cpp';
import { ensureTestModels } from '../../scripts/generate-test-models.js';
import { BEHAVIOUR_MODEL, writeSyntheticLlama } from '../../src/demo/syntheticLlama.js';
import { contextDriver, createSampler, findNativeBuild, loadLlama, loadLoraHandle, setSequenceAdapters, withContextLock } from '../../src/engine/nativeBinding.js';

// The patched build picks a greedy token straight from the logits instead of through node-llama-cpp's sampler chain
// (which first copies the whole vocabulary into a candidate array). The pick must be the chain's: the first
// highest logit. A zero token bias keeps a sampler greedy in effect but sends it down the chain, so the two are
// compared on the same logits: every position of a prompt, on the behaviour model under the base and under adapters
// (few distinct picks, many near ties) and on a variant whose weights are mostly noise (a different pick at most
// positions).
const noPatchedBuild = (await findNativeBuild('cpu'))
  ? false
  : 'no patched native build for this tree in the cache: run scripts/build-native.sh (about 20 minutes cold on 2 cores)';

t.test('a greedy pick from the logits is the sampler chain’s pick', { skip: noPatchedBuild }, async (t) => {
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
  const direct = createSampler(model);
  direct.applyConfig({ temperature: 0, minP: 0, topK: 40, topP: 0.95, seed: 1 });
  const chain = createSampler(model);
  const greedyWithZeroBias = { temperature: 0, minP: 0, topK: 40, topP: 0.95, seed: 1, tokenBiasKeys: Uint32Array.of(0), tokenBiasValues: Float32Array.of(0) };
  (chain.native as { applyConfig(config: object): void }).applyConfig(greedyWithZeroBias);
  t.teardown(() => (direct.dispose(), chain.dispose()));

  const cases = [
    ['base', model, []],
    ['A', model, [models.adapters.A]],
    ['A and B', model, [models.adapters.A, models.adapters.B]],
    ['mostly noise', noisy, []],
  ] as const;
  for (const [name, model, adapterFiles] of cases) {
    const context = await model.createContext({ contextSize: 256, sequences: 1, batchSize: 128 });
    try {
      const sequence = context.getSequence();
      const handles = await Promise.all(adapterFiles.map((file) => loadLoraHandle(model, file)));
      await withContextLock(context, () => setSequenceAdapters(context, sequence, handles, handles.map(() => 1)));
      const driver = contextDriver(context);
      const picks = await driver.exclusive(async () => {
        driver.initBatch(prompt.length);
        const outputs = Array.from(driver.addToBatch(0, 0, Uint32Array.from(prompt), Uint32Array.from(prompt.map((_, i) => i))));
        // Each position twice: once for each sampler.
        return driver.decodeAndSample(
          outputs.flatMap((index) => [index, index]),
          outputs.flatMap(() => [direct, chain]),
        );
      });
      const fromLogits = picks.filter((_, i) => i % 2 === 0) as Token[];
      const fromChain = picks.filter((_, i) => i % 2 === 1) as Token[];
      t.equal(fromLogits.length, prompt.length, `${name}: a pick at every position`);
      t.same(fromLogits, fromChain, `${name}: the same tokens at all ${prompt.length} positions (${new Set(fromLogits).size} distinct)`);
    } finally {
      await context.dispose();
    }
  }
});
