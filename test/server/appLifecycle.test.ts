import t from 'tap';
import { adaptersDirectory, ensureTestModels } from '../../scripts/generate-test-models.js';
import { EngineUnavailableError } from '../../src/engine/engineErrors.js';
import { buildTestApp } from '../helpers/testApp.js';

// The app owns what it opens: built without a socket, used through inject, and closing it closes the engine.
const models = ensureTestModels();

t.test('buildApp + inject serves a chat; closing the app closes the engine it loaded', async (t) => {
  const dir = t.testdir();
  const server = await buildTestApp({ model: models.behaviourModel, adapters: adaptersDirectory(dir, models, ['A']), 'model-id': 'base', 'context-size': 256 });
  const answer = await server.request('POST', '/v1/chat/completions', { model: 'A', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, temperature: 0 });
  t.equal(answer.status, 200);
  t.equal(answer.json.choices[0].message.content, ' A A');
  const health = await server.request('GET', '/health');
  t.same(health.json, { status: 'ok', model: 'base', adapters: 1 });

  const { engine } = server.app;
  const promptTokens = engine.tokenizeCompletionPrompt('hi');
  await server.close();
  const afterClose = await engine.generate({ adapters: [], promptTokens, maxTokens: 1, sampling: { temperature: 0, topP: 1, presencePenalty: 0, frequencyPenalty: 0 }, stop: [], signal: new AbortController().signal }).next().catch((error: unknown) => error);
  t.ok(afterClose instanceof EngineUnavailableError, 'the engine was closed with the app');
});

t.test('a bad --default-profile fails the build with its ConfigError (the app closes what it had loaded)', async (t) => {
  const dir = t.testdir();
  // A --default-profile that does not parse fails in the catalogue plugin, after the engine has loaded.
  const built = buildTestApp({ model: models.behaviourModel, adapters: dir, 'context-size': 256, 'default-profile': 'not-a-profile-name-or-file' });
  await t.rejects(built, { name: 'ConfigError' });
});
