import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import OpenAI from 'openai';
import { adaptersDirectory, ensureTestModels } from '../../scripts/generate-test-models.js';
import { startChildServer } from '../helpers/childServer.js';
import { metricSum, scrapeMetrics } from '../helpers/metrics.js';
import { waitFor } from '../helpers/waitFor.js';

// A bounded soak on loopback. ADAPTD_SOAK_SECONDS=180 ADAPTD_SOAK_CLIENTS=32 runs the long version.
const SECONDS = Number(process.env.ADAPTD_SOAK_SECONDS ?? 20);
const CLIENTS = Number(process.env.ADAPTD_SOAK_CLIENTS ?? 12);
const API_KEY = 'sk-soak-secret-key-4f1c9e2a7b';
const PLANTED = ['jane.planted@example.org', 'DE89370400440532013000', 'Zebulon Plantedname', '4111111111111111'];

const models = ensureTestModels();
const dir = t.testdir();
const keys = path.join(dir, 'keys.json');
writeFileSync(keys, JSON.stringify({ keys: [{ key: API_KEY, name: 'soak', admin: true }] }));
const server = await startChildServer({
  model: models.behaviourModel,
  adapters: adaptersDirectory(path.join(dir, 'adapters'), models, ['A', 'B', 'C']),
  'model-id': 'base',
  'context-size': 512,
  'api-keys': keys,
  'max-resident-adapters': 2,
  'max-queue': 64,
  // Every log level: nothing a request carries may reach a log line at any of them.
  'log-level': 'trace',
});
t.teardown(async () => {
  server.process.kill('SIGTERM');
  await server.exited;
});
const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: API_KEY, maxRetries: 0, timeout: 60_000 });

const metrics = () => scrapeMetrics(server.url);
const chatRequestsCounted = (text: string) => metricSum(text, 'adaptd_requests_total', 'route="/v1/chat/completions"');
const rssBytes = (text: string) => metricSum(text, 'adaptd_process_resident_memory_bytes');

t.test(`${CLIENTS} clients for ${SECONDS}s: mixed adapters, streaming and not, some leaving mid-stream`, async (t) => {
  const statuses = new Map<number, number>();
  let sent = 0;
  // Memory is bounded by construction: the process at start, plus at most --max-resident-adapters contexts, each
  // reserving what the server estimates and publishes. A leak would climb through that bound under this churn.
  const atStart = await metrics();
  const rssAtStart = rssBytes(atStart);
  const contextRam = metricSum(atStart, 'adaptd_context_memory_estimate_bytes', 'device="ram"');
  const maxContexts = metricSum(atStart, 'adaptd_max_resident_contexts');
  t.ok(contextRam > 2 ** 20 && maxContexts === 2, 'the per-context memory estimate and the context limit are published');
  // The slack covers what else load brings: the JavaScript heap, adapter weights, sockets and their buffers.
  const rssBound = rssAtStart + maxContexts * contextRam + 192 * 2 ** 20;
  let rssPeak = 0;
  const sampler = setInterval(() => void metrics().then((text) => (rssPeak = Math.max(rssPeak, rssBytes(text)))), 500);
  const started = Date.now();
  const deadline = started + SECONDS * 1000;
  const models = ['base', 'A', 'B', 'C'];
  const worker = async (id: number) => {
    for (let i = 0; Date.now() < deadline; i++) {
      const model = models[(id + i) % models.length];
      const content = `Please redact ${PLANTED[(id + i) % PLANTED.length]} from this note.`;
      const mode = (id + i) % 3;
      sent++;
      const controller = new AbortController();
      try {
        if (mode === 0) {
          await client.chat.completions.create({ model, messages: [{ role: 'user', content }], max_tokens: 6, temperature: 0 });
        } else {
          const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content }], max_tokens: 12, temperature: 0, stream: true }, { signal: controller.signal });
          let chunks = 0;
          for await (const _chunk of stream) {
            if (mode === 2 && ++chunks === 3) {
              // A client that leaves stops reading. (Reading on after the abort, the openai client yielded the
              // chunks it had buffered and then waited forever when the whole answer had already arrived.)
              controller.abort();
              break;
            }
          }
        }
        const outcome = controller.signal.aborted ? -1 : 200;
        statuses.set(outcome, (statuses.get(outcome) ?? 0) + 1);
      } catch (error) {
        const status = (error as { status?: number }).status;
        if (controller.signal.aborted) statuses.set(-1, (statuses.get(-1) ?? 0) + 1);
        else statuses.set(status ?? 0, (statuses.get(status ?? 0) ?? 0) + 1);
        if (status === 429) await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, (_, id) => worker(id)));
  clearInterval(sampler);

  const unexpected = [...statuses.keys()].filter((status) => ![200, 429, -1].includes(status));
  t.same(unexpected, [], `only 200, 429 and client-side aborts (${JSON.stringify(Object.fromEntries(statuses))})`);
  t.ok((statuses.get(200) ?? 0) > CLIENTS, 'plenty of requests succeeded');

  const text = await waitFor(async () => {
    const text = await metrics();
    return /^adaptd_requests_running 0$/m.test(text) && text;
  }, { what: 'no request running' });
  t.match(text, /^adaptd_requests_running 0$/m, 'no sequence stuck afterwards');
  t.match(text, /^adaptd_queue_depth 0$/m, 'nothing left waiting');
  t.equal(chatRequestsCounted(text), sent, 'every request accounted for in /metrics');
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  rssPeak = Math.max(rssPeak, rssBytes(text));
  t.ok(rssPeak <= rssBound, `peak RSS ${mib(rssPeak)} within ${mib(rssBound)} (${mib(rssAtStart)} at start + ${maxContexts} x ${mib(contextRam)} + 192 MiB)`);
  t.comment(`sent ${sent} requests: ${JSON.stringify(Object.fromEntries(statuses))}; RSS ${mib(rssAtStart)} at start, peak ${mib(rssPeak)}`);
});

t.test('no log line contains a prompt, a completion or a key, at trace level', async (t) => {
  // Errors too: a bad request that quotes user text, and an unknown adapter.
  await client.chat.completions.create({ model: 'missing', messages: [{ role: 'user', content: PLANTED[0] }] }).catch(() => undefined);
  const last = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: `{"messages": "${PLANTED[1]}"` });
  // Its completion is the last line these requests log.
  const requestId = last.headers.get('x-request-id');
  await waitFor(() => server.output().split('\n').some((line) => line.includes(`"reqId":"${requestId}"`) && line.includes('request completed')), { what: 'the last request logged' });
  const logs = server.output();
  t.ok(logs.length > 1000, 'the server did log');
  t.match(logs, /"reqId"/, 'log lines carry request ids');
  for (const secret of [...PLANTED, API_KEY, ' A A A', 'Please redact']) t.notOk(logs.includes(secret), `logs do not contain ${JSON.stringify(secret.slice(0, 12))}…`);
});
