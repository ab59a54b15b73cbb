import { createServer } from 'node:net';
import t from 'tap';
import { freePort, serverProcess } from '../../src/bench/benchServers.js';
import { exitReason, restartDelay } from '../../src/cli/ServeSupervisor.js';
import { ensureTestModels } from '../../scripts/generate-test-models.js';
import { startChildServer } from '../helpers/childServer.js';
import { waitFor } from '../helpers/waitFor.js';

const models = ensureTestModels();

t.test('backoff doubles with each crash inside the window, is capped, and gives up past the limit', async (t) => {
  const policy = { maxRestarts: 3, windowSeconds: 60 };
  const now = 1_000_000;
  t.equal(restartDelay([now], now, policy), 1000);
  t.equal(restartDelay([now - 2000, now], now, policy), 2000);
  t.equal(restartDelay([now - 3000, now - 2000, now], now, policy), 4000);
  t.equal(restartDelay([now - 4000, now - 3000, now - 2000, now], now, policy), undefined, 'a fourth crash within the window');
  t.equal(restartDelay([now - 61_000, now - 3000, now - 2000, now], now, policy), 4000, 'crashes older than the window do not count');
  t.equal(restartDelay(Array.from({ length: 20 }, (_, i) => now - i), now, { maxRestarts: 100, windowSeconds: 60 }), 30_000, 'at most 30 s');
  t.equal(restartDelay([now], now, { maxRestarts: 0, windowSeconds: 60 }), undefined, '--max-restarts 0 never restarts');
  t.equal(exitReason(null, 'SIGKILL'), 'killed by SIGKILL');
  t.equal(exitReason(134, null), 'exit code 134');
});

const health = async (url: string) => (await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined))?.status;

t.test('kill -9 of the serving process: the launcher restarts it, then gives up past --max-restarts', async (t) => {
  // A fixed port, as a deployment has: the restarted process must come back where clients look for it.
  const port = await freePort();
  const server = await startChildServer({ model: models.behaviourModel, 'context-size': 256, port, 'max-restarts': 1, 'restart-window': 300 });
  t.teardown(() => {
    if (server.process.exitCode === null) server.process.kill('SIGKILL');
  });
  const first = serverProcess(server.process.pid!);
  t.not(first, server.process.pid, 'the server runs in a child of the launcher');
  process.kill(first, 'SIGKILL');
  const killedAt = Date.now();
  await waitFor(async () => (await health(server.url)) === 200, { what: 'answering again', timeoutMs: 30_000, intervalMs: 200 }).catch((error) => {
    t.comment(server.output().slice(-3000));
    throw error;
  });
  t.comment(`answering again ${((Date.now() - killedAt) / 1000).toFixed(1)} s after kill -9`);
  const second = serverProcess(server.process.pid!);
  t.not(second, first, 'a new serving process');
  t.match(server.output(), /"level":50,.*"signal":"SIGKILL".*the serving process crashed \(killed by SIGKILL\)/, 'the crash and its reason are logged as an error');
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  t.match(metrics, /^adaptd_restarts_total 1$/m, 'the restart is counted');
  const chat = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'adaptd-behaviour-demo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, temperature: 0 }),
  });
  t.equal(chat.status, 200, 'and it serves');

  process.kill(second, 'SIGKILL');
  const code = await Promise.race([server.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 15_000))]);
  t.equal(code, 1, 'a second crash within the window exceeds --max-restarts 1: the launcher exits non-zero');
  t.match(server.output(), /"level":60,.*2 crashes within 300 s exceed --max-restarts 1; giving up/);
});

t.test('a start-up failure is not retried: the launcher exits with the server\'s code', async (t) => {
  const started = Date.now();
  await t.rejects(startChildServer({ model: 'no-such-model.gguf' }), /exited with 1 before it was ready/);
  t.ok(Date.now() - started < 60_000);
  await t.rejects(startChildServer({ 'no-such-flag': 1 }), /exited with 2 before it was ready/, 'a bad flag exits 2');
});

t.test('a port already in use ends start-up after the model has loaded, instead of leaving the process running', async (t) => {
  const port = await freePort();
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
  t.teardown(() => holder.close());
  const started = Date.now();
  await t.rejects(startChildServer({ model: models.behaviourModel, 'context-size': 256, port }), /exited with 1 before it was ready/);
  t.ok(Date.now() - started < 60_000, 'exits within a minute');
});
