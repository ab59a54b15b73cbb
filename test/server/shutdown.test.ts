import t from 'tap';
import { adaptersDirectory, ensureTestModels } from '../../scripts/generate-test-models.js';
import { startChildServer } from '../helpers/childServer.js';
import { waitFor } from '../helpers/waitFor.js';

const models = ensureTestModels();
/** A streamed chat of `maxTokens` tokens on adapter A, once its first event has arrived. */
async function startStream(url: string, maxTokens: number) {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'A', messages: [{ role: 'user', content: 'x' }], max_tokens: maxTokens, temperature: 0, stream: true }),
  });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  return { reader, decoder, first: decoder.decode((await reader.read()).value) };
}

/**
 * /health once the server stops answering it with 200: its status, or the code of the failed connection. While
 * draining the listener is closed (ECONNREFUSED), or a request that still got in is told 503.
 */
const drainingHealth = (url: string) =>
  waitFor(
    () => fetch(`${url}/health`).then((response) => (response.status === 200 ? undefined : response.status), (error: { cause?: { code?: string } }) => error.cause?.code ?? 'failed'),
    { what: 'the server draining' },
  );
const flags = (dir: string) => ({ model: models.behaviourModel, adapters: adaptersDirectory(dir, models, ['A']), 'model-id': 'base', 'context-size': 1024, 'log-level': 'warn', 'shutdown-timeout': 300 });

t.test('SIGTERM during a streaming response lets it finish, refuses new work, then exits 0', async (t) => {
  const server = await startChildServer(flags(t.testdir()));
  const { reader, decoder, first } = await startStream(server.url, 120);
  let text = first;
  server.process.kill('SIGTERM');
  // Draining takes no new work; any other failure (a reset, a crash) is wrong, and so is a 200 until the deadline.
  const health = await drainingHealth(server.url);
  t.ok(health === 'ECONNREFUSED' || health === 503, `no new work while draining (got ${health})`);
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

t.test('a second SIGTERM exits at once, cutting the request a drain would have finished', async (t) => {
  const server = await startChildServer(flags(t.testdir()));
  const { reader, decoder, first } = await startStream(server.url, 1000);
  let text = first;
  server.process.kill('SIGTERM');
  await drainingHealth(server.url);
  const second = performance.now();
  server.process.kill('SIGTERM');
  t.equal(await server.exited, 0, 'exit code 0');
  t.ok(performance.now() - second < 2000, 'exited within moments of the second signal');
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
  } catch {
    // The connection was cut: what this test expects.
  }
  t.notMatch(text, /data: \[DONE\]/, 'the stream was cut, not drained to its end');
});
