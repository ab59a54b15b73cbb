import { statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import OpenAI from 'openai';
import { adaptersDirectory, ensureTestModels } from '../../scripts/generate-test-models.js';
import { findNativeBuild } from '../../src/engine/nativeBinding.js';
import { startChildServer } from '../helpers/childServer.js';
import { metricSum, scrapeMetrics } from '../helpers/metrics.js';

// With per-sequence LoRA, 8 adapter sets in use cost their adapters' weights and nothing per set: one context
// serves them all. (With a context per set, each reserved its own compute buffer: 250 MiB for Llama 3's
// vocabulary at batch 512, touched gradually under load.)
const LETTERS = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'];
const SLACK_MIB = 64;
const noPatchedBuild = (await findNativeBuild('cpu')) ? false : 'no patched native build in the cache: run scripts/build-native.sh';

t.test('8 adapter sets in use stay within start-up + their weights + 64 MiB', { skip: noPatchedBuild }, async (t) => {
  const models = ensureTestModels();
  const adaptersDir = adaptersDirectory(t.testdir(), models, LETTERS);
  const weightsMiB = LETTERS.reduce((sum, letter) => sum + statSync(path.join(adaptersDir, `${letter}.gguf`)).size, 0) / 2 ** 20;
  // Every large buffer a mapping of its own, so RSS shows what is held, not what glibc keeps for reuse.
  const server = await startChildServer(
    { model: models.behaviourModel, adapters: adaptersDir, 'context-size': 256, parallel: 8, 'model-id': 'base', 'max-resident-adapters': 8 },
    { MALLOC_MMAP_THRESHOLD_: String(4 * 2 ** 20) },
  );
  t.teardown(async () => {
    server.process.kill('SIGTERM');
    await server.exited;
  });
  t.match(server.output(), /native engine: patched \(cpu\), per-sequence LoRA/, 'the start-up log names the native engine');
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
  const ask = async (model: string) =>
    (await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, temperature: 0 })).choices[0].message.content;
  const rssMiB = async () => metricSum(await scrapeMetrics(server.url), 'adaptd_process_resident_memory_bytes') / 2 ** 20;

  // Start-up: the model loaded and its one context warm (a full batch of the base decoded).
  await Promise.all(LETTERS.map(() => ask('base')));
  const startup = await rssMiB();
  for (let round = 0; round < 3; round++) {
    const answers = await Promise.all(LETTERS.map((letter) => ask(letter)));
    t.same(answers, LETTERS.map((letter) => ` ${letter} ${letter} ${letter} ${letter}`), `round ${round + 1}: 8 adapters at once, each answered by its own`);
  }
  const inUse = await rssMiB();
  t.ok(inUse <= startup + weightsMiB + SLACK_MIB, `RSS ${inUse.toFixed(0)} MiB ≤ start-up ${startup.toFixed(0)} + weights ${weightsMiB.toFixed(1)} + ${SLACK_MIB} MiB`);
});
