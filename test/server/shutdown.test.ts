import t from 'tap';
import { adaptersDirectory, ensureTestModels } from '../../scripts/generate-test-models.js';
import { startChildServer } from '../helpers/childServer.js';
import { metricSum, scrapeMetrics } from '../helpers/metrics.js';
import { waitFor } from '../helpers/waitFor.js';

const models = ensureTestModels();
// Once draining, /health answers 503 (or nothing, once the listener is closed).
const draining = async (url: string) => {
  const health = await fetch(`${url}/health`).catch(() => undefined);
  return !health || health.status === 503;
};
const flags = (dir: string) => ({ model: models.behaviourModel, adapters: adaptersDirectory(dir, models, ['A']), 'model-id': 'base', 'context-size': 1024, 'log-level': 'warn', 'shutdown-timeout': 300 });

t.test('SIGTERM during a streaming response lets it finish, refuses new work, then exits 0', async (t) => {
  const server = await startChildServer(flags(t.testdir()));
  const response = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'A', messages: [{ role: 'user', content: 'x' }], max_tokens: 120, temperature: 0, stream: true }),
  });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = (decoder.decode((await reader.read()).value));
  server.process.kill('SIGTERM');
  t.ok(await waitFor(() => draining(server.url), { what: 'the server draining' }), 'no longer ready while draining');
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  const content = [...text.matchAll(/^data: (\{.*\})$/gm)].map((m) => JSON.parse(m[1]).choices[0]?.delta?.content ?? '').join('');
  t.equal(content, ' A'.repeat(120), 'the stream ran to its end');
  t.match(text, /data: \[DONE\]/);
  t.equal(await server.exited, 0, 'exit code 0');
});

t.test('a second SIGTERM exits at once', async (t) => {
  const server = await startChildServer(flags(t.testdir()));
  void fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'A', messages: [{ role: 'user', content: 'x' }], max_tokens: 1000, temperature: 0 }),
  }).catch(() => undefined);
  await waitFor(async () => metricSum(await scrapeMetrics(server.url), 'adaptd_requests_running') >= 1, { what: 'the request running' });
  server.process.kill('SIGTERM');
  await waitFor(() => draining(server.url), { what: 'the server draining' });
  server.process.kill('SIGTERM');
  t.equal(await server.exited, 0);
});
