import path from 'node:path';
import t from 'tap';
import { adaptersDirectory, ensureTestModels } from '../../scripts/generate-test-models.js';
import { writeBehaviourAdapter } from '../../src/demo/syntheticLlama.js';
import { startTestServer } from '../helpers/testServer.js';

const LETTERS = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'];
const models = ensureTestModels();
const adaptersDir = adaptersDirectory(t.testdir(), models, LETTERS);
// A heavy adapter (rank 64 on the 128k-word output head: about 33 MB of weights) makes its memory visible in RSS.
writeBehaviourAdapter(path.join(adaptersDir, 'heavy.gguf'), 'heavy', { word: ' Z', rank: 64, alpha: 64 });
const server = await startTestServer({
  model: models.behaviourModel,
  adapters: adaptersDir,
  'context-size': 128,
  parallel: 1,
  'model-id': 'base',
  'max-resident-adapters': 2,
});
t.teardown(server.close);

const ask = async (model: string) =>
  (await server.client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, temperature: 0 })).choices[0].message
    .content;
const rssMb = () => process.memoryUsage().rss / 2 ** 20;

t.test('round-robin over 8 adapters with room for 2: all succeed, residency stays bounded, RSS stays flat', async (t) => {
  let maxResident = 0;
  let rssAfterWarmup = 0;
  for (let i = 0; i < 200; i++) {
    const letter = LETTERS[i % LETTERS.length];
    t.equal(await ask(letter), ` ${letter} ${letter}`, `request ${i}`);
    maxResident = Math.max(maxResident, server.engine.pool.residentSets.length);
    if (i === 39) rssAfterWarmup = rssMb();
  }
  const growth = rssMb() - rssAfterWarmup;
  t.ok(maxResident <= 2, `at most 2 adapter sets resident (saw ${maxResident})`);
  t.ok(growth < 40, `RSS grew ${growth.toFixed(1)} MB over 160 requests after warm-up`);
  t.comment(`RSS after warm-up ${rssAfterWarmup.toFixed(1)} MB, growth ${growth.toFixed(1)} MB`);
});

t.test('an evicted adapter really releases its weights', async (t) => {
  await ask('A');
  await ask('B');
  const before = rssMb();
  t.equal(await ask('heavy'), ' Z Z');
  const loaded = rssMb();
  t.ok(loaded - before > 20, `loading the heavy adapter costs memory (${(loaded - before).toFixed(1)} MB)`);
  await ask('A');
  await ask('B');
  t.notOk(server.engine.pool.residentAdapterNames.has('heavy'), 'heavy was evicted');
  const released = rssMb();
  t.ok(loaded - released > 20, `evicting it gives the memory back (${(loaded - released).toFixed(1)} MB)`);
  t.comment(`RSS before ${before.toFixed(1)} MB, with heavy ${loaded.toFixed(1)} MB, after eviction ${released.toFixed(1)} MB`);
});
