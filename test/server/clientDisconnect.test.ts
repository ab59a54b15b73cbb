import t from 'tap';
import { ensureTestModels } from '../../scripts/generate-test-models.js';
import { startChildServer } from '../helpers/childServer.js';

// A client that leaves is routine: it is logged at info, never as an error, and counted as 499.
const models = ensureTestModels();
const server = await startChildServer({ model: models.behaviourModel, 'model-id': 'base', 'context-size': 4096, 'log-level': 'info' });
t.teardown(async () => {
  server.process.kill('SIGTERM');
  await server.exited;
});

const chat = (stream: boolean, signal: AbortSignal, maxTokens = 3000) =>
  fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'base', messages: [{ role: 'user', content: 'hi' }], max_tokens: maxTokens, temperature: 0, stream }),
    signal,
  });

const disconnects = async () => {
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  return Number(/^adaptd_requests_total\{route="\/v1\/chat\/completions",adapter="base",status="499"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
};

t.test('clients that leave mid-generation and mid-stream: info lines, no errors, two 499s', async (t) => {
  const plain = new AbortController();
  const pending = chat(false, plain.signal).catch((error: Error) => error.name);
  await new Promise((resolve) => setTimeout(resolve, 500));
  plain.abort();
  t.equal(await pending, 'AbortError');

  const streaming = new AbortController();
  const response = await chat(true, streaming.signal);
  await response.body!.getReader().read();
  streaming.abort();

  const deadline = Date.now() + 20_000;
  while ((await disconnects()) < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(await disconnects(), 2, 'both counted as 499');
  // The server still answers, and what it logged about the two requests is below error level.
  t.equal((await chat(false, AbortSignal.timeout(30_000), 2)).status, 200);
  const lines = server.output().split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as { level: number; msg: string }];
    } catch {
      return [];
    }
  });
  t.same(lines.filter((line) => line.level >= 50), [], 'nothing at error level');
  t.ok(lines.some((line) => line.level === 30 && /client disconnected/.test(line.msg)), 'an info line says the client disconnected');
});
