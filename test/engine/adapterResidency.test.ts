import path from 'node:path';
import t from 'tap';
import { adaptersDirectory, ensureTestModels } from '../../scripts/generate-test-models.js';
import { writeBehaviourAdapter } from '../../src/demo/syntheticLlama.js';
import OpenAI from 'openai';
import { startChildServer } from '../helpers/childServer.js';
import { metricSum, scrapeMetrics } from '../helpers/metrics.js';

const LETTERS = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'];
const models = ensureTestModels();
const adaptersDir = adaptersDirectory(t.testdir(), models, LETTERS);
// A heavy adapter (rank 64 on the 128k-word output head: 16 MB of F16 weights) makes its memory visible in RSS.
writeBehaviourAdapter(path.join(adaptersDir, 'heavy.gguf'), 'heavy', { word: ' Z', rank: 64, alpha: 64 });
// The server runs as users run it, through the CLI, in a process of its own whose RSS is only the server's. glibc
// returns a freed block to the system only if it was mapped on its own, and by default it raises that threshold
// (up to 32 MiB) after large frees, so whether the adapter's 16 MiB buffer came back varied from run to run.
// A fixed threshold makes every large buffer a mapping of its own: RSS then shows whether the weights were freed.
const server = await startChildServer(
  {
    model: models.behaviourModel,
    adapters: adaptersDir,
    'context-size': 128,
    parallel: 1,
    'model-id': 'base',
    'max-resident-adapters': 2,
  },
  { MALLOC_MMAP_THRESHOLD_: String(4 * 2 ** 20) },
);
t.teardown(async () => {
  server.process.kill('SIGTERM');
  await server.exited;
});
const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });

const ask = async (model: string) =>
  (await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, temperature: 0 })).choices[0].message.content;
const metric = async (name: string) => metricSum(await scrapeMetrics(server.url), name);
const rssMb = async () => (await metric('adaptd_process_resident_memory_bytes')) / 2 ** 20;
const resident = async (name: string) => {
  const adapters = (await (await fetch(`${server.url}/v1/adapters`)).json()) as { data: Array<{ name: string; resident: boolean }> };
  return adapters.data.find((a) => a.name === name)?.resident;
};

t.test('round-robin over 8 adapters with room for 2: all succeed, residency stays bounded, RSS stays flat', async (t) => {
  let maxResident = 0;
  let rssAfterWarmup = 0;
  for (let i = 0; i < 200; i++) {
    const letter = LETTERS[i % LETTERS.length];
    t.equal(await ask(letter), ` ${letter} ${letter}`, `request ${i}`);
    maxResident = Math.max(maxResident, await metric('adaptd_resident_contexts'));
    if (i === 39) rssAfterWarmup = await rssMb();
  }
  const growth = (await rssMb()) - rssAfterWarmup;
  t.ok(maxResident <= 2, `at most 2 adapter sets resident (saw ${maxResident})`);
  t.ok(growth < 40, `RSS grew ${growth.toFixed(1)} MB over 160 requests after warm-up`);
  t.comment(`RSS after warm-up ${rssAfterWarmup.toFixed(1)} MB, growth ${growth.toFixed(1)} MB`);
});

t.test('an evicted adapter really releases its weights', async (t) => {
  // Two adapter sets are resident in both measurements; only the heavy adapter's weights differ.
  await ask('A');
  await ask('B');
  t.equal(await ask('heavy'), ' Z Z');
  t.ok(await resident('heavy'), 'heavy is resident');
  const loaded = await rssMb();
  await ask('A');
  await ask('B');
  t.equal(await resident('heavy'), false, 'heavy was evicted');
  const released = await rssMb();
  t.ok(loaded - released > 20, `evicting it gives the memory back (${(loaded - released).toFixed(1)} MB)`);
  t.comment(`RSS with heavy ${loaded.toFixed(1)} MB, after eviction ${released.toFixed(1)} MB`);
});
