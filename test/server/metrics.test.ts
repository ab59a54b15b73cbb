import t from 'tap';
import type OpenAI from 'openai';
import { adaptersDirectory, ensureTestModels } from '../../scripts/generate-test-models.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const models = ensureTestModels();
const user = [{ role: 'user' as const, content: 'go on' }];

async function scrape(server: TestServer): Promise<{ text: string; type: string | null }> {
  const response = await fetch(`${server.url}/metrics`);
  return { text: await response.text(), type: response.headers.get('content-type') };
}

function samples(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return [...text.matchAll(new RegExp(`^${escaped}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))].map((m) => ({
    labels: Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]])),
    value: Number(m[2]),
  }));
}

/** Starts a stream and resolves once its first chunk arrived; the returned abort ends it. */
function holdStream(client: OpenAI, model: string, signal: AbortSignal) {
  return (async () => {
    const stream = await client.chat.completions.create({ model, messages: user, max_tokens: 3000, temperature: 0, stream: true }, { signal });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    return iterator;
  })();
}

t.test('the vllm:* series the endpoint picker reads reflect what is running and waiting', async (t) => {
  // A context per adapter set with one sequence each: A and B run, a second A waits. (With the patched native
  // engine --parallel counts the shared context's sequences, of all sets together.)
  const server = await startTestServer({ model: models.behaviourModel, adapters: adaptersDirectory(t.testdir(), models, ['A', 'B']), 'model-id': 'base', 'context-size': 4096, parallel: 1, 'max-resident-adapters': 2, 'native-engine': 'off' });
  t.teardown(server.close);
  const controller = new AbortController();
  const holds = [holdStream(server.client, 'A', controller.signal), holdStream(server.client, 'B', controller.signal)];
  await Promise.all(holds);
  const queued = holdStream(server.client, 'A', controller.signal).catch(() => undefined);
  const text = await waitFor(async () => {
    const { text } = await scrape(server);
    const running = samples(text, 'vllm:num_requests_running')[0]?.value;
    const waiting = samples(text, 'vllm:num_requests_waiting')[0]?.value;
    return running === 2 && waiting === 1 && text;
  }, { what: '2 running and 1 waiting' });
  const { type } = await scrape(server);
  t.match(type, /^text\/plain/);
  for (const name of ['vllm:num_requests_waiting', 'vllm:num_requests_running', 'vllm:kv_cache_usage_perc', 'vllm:lora_requests_info']) {
    t.match(text, new RegExp(`^# TYPE ${name} gauge$`, 'm'), `${name} is a gauge`);
    t.equal(samples(text, name).length, 1, `${name} has one series`);
  }
  const usage = samples(text, 'vllm:kv_cache_usage_perc')[0].value;
  t.ok(usage > 0 && usage <= 1, `kv usage ${usage} within (0, 1]`);
  const info = samples(text, 'vllm:lora_requests_info')[0];
  t.equal(info.labels.max_lora, '2');
  t.same(info.labels.running_lora_adapters.split(',').sort(), ['A', 'B']);
  t.equal(info.labels.waiting_lora_adapters, 'A');
  t.ok(Math.abs(info.value - Date.now() / 1000) < 5, 'its value is the current Unix time');
  controller.abort();
  await queued;
  const after = await waitFor(async () => {
    const { text } = await scrape(server);
    return samples(text, 'vllm:num_requests_running')[0]?.value === 0 && samples(text, 'vllm:num_requests_waiting')[0]?.value === 0 && text;
  }, { what: 'all finished' });
  const idle = samples(after, 'vllm:lora_requests_info');
  t.equal(idle.length, 1, 'still one series');
  t.same([idle[0].labels.running_lora_adapters, idle[0].labels.waiting_lora_adapters], ['', '']);
});

t.test("adaptd's own series count requests, tokens and time to first token by adapter", async (t) => {
  const server = await startTestServer({ model: models.behaviourModel, adapters: adaptersDirectory(t.testdir(), models, ['A']), 'model-id': 'base', 'context-size': 256 });
  t.teardown(server.close);
  for (let i = 0; i < 3; i++) await server.client.chat.completions.create({ model: 'A', messages: user, max_tokens: 5, temperature: 0 });
  await server.client.chat.completions.create({ model: 'base', messages: user, max_tokens: 2, temperature: 0 });
  const answer = { type: 'object', properties: { answer: { type: 'boolean' } }, required: ['answer'], additionalProperties: false };
  const json = { type: 'json_schema' as const, json_schema: { name: 'answer', schema: answer } };
  await server.client.chat.completions.create({ model: 'base', messages: user, max_tokens: 12, temperature: 0, response_format: json });
  await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  const { text } = await scrape(server);
  const requests = samples(text, 'adaptd_requests_total');
  t.equal(requests.find((s) => s.labels.adapter === 'A' && s.labels.status === '200')?.value, 3);
  t.equal(requests.find((s) => s.labels.adapter === 'base')?.value, 2);
  t.equal(samples(text, 'adaptd_errors_total').find((s) => s.labels.status === '400')?.value, 1);
  t.equal(samples(text, 'adaptd_completion_tokens_total').find((s) => s.labels.adapter === 'A')?.value, 15);
  const forced = samples(text, 'adaptd_grammar_forced_tokens_total');
  t.ok(forced.find((s) => s.labels.adapter === 'base')!.value > 0, 'the JSON answer had its key inserted');
  t.equal(forced.find((s) => s.labels.adapter === 'A')?.value, 0, 'free text has nothing forced');
  t.equal(samples(text, 'adaptd_time_to_first_token_seconds_count').find((s) => s.labels.adapter === 'A')?.value, 3);
  t.ok(samples(text, 'adaptd_prompt_tokens_total').find((s) => s.labels.adapter === 'A')!.value > 0);
  t.match(text, /^adaptd_resident_adapters 1$/m);
  t.match(text, /^adaptd_queue_depth 0$/m);
});

t.test('a full queue answers 429 with Retry-After, but another adapter still gets in', async (t) => {
  const server = await startTestServer({ model: models.behaviourModel, adapters: adaptersDirectory(t.testdir(), models, ['A', 'B']), 'model-id': 'base', 'context-size': 4096, parallel: 1, 'max-resident-adapters': 1, 'max-queue': 2 });
  t.teardown(server.close);
  const controller = new AbortController();
  await holdStream(server.client, 'A', controller.signal);
  const waiting = [1, 2].map(() => server.client.chat.completions.create({ model: 'A', messages: user, max_tokens: 2, temperature: 0 }, { signal: controller.signal }).catch(() => undefined));
  await waitFor(async () => samples((await scrape(server)).text, 'adaptd_queue_depth')[0]?.value === 2, { what: '2 waiting' });
  const refused = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'A', messages: user, max_tokens: 2 }),
  });
  t.equal(refused.status, 429);
  t.ok(Number(refused.headers.get('retry-after')) > 0, 'Retry-After');
  t.match(await refused.json(), { error: { type: 'rate_limit_error', code: 'queue_full' } });
  // B's trickle is admitted although A's flood filled the queue; it runs once A's context frees.
  const b = server.client.chat.completions.create({ model: 'B', messages: user, max_tokens: 2, temperature: 0 });
  await waitFor(async () => samples((await scrape(server)).text, 'adaptd_queue_depth')[0]?.value === 3, { what: 'B queued' });
  controller.abort();
  await Promise.all(waiting);
  t.equal((await b).choices[0].message.content, ' B B');
});

t.test('a request past its deadline is aborted with a 503 and frees its sequence', async (t) => {
  const server = await startTestServer({ model: models.behaviourModel, adapters: adaptersDirectory(t.testdir(), models, ['A']), 'model-id': 'base', 'context-size': 8192, 'request-timeout': 1 });
  t.teardown(server.close);
  const response = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'A', messages: user, max_tokens: 8000, temperature: 0 }),
  });
  t.equal(response.status, 503);
  t.match(await response.json(), { error: { code: 'deadline_exceeded' } });
  t.equal(server.engine.pool.load.running, 0);
});
