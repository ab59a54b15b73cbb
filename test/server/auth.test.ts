import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import OpenAI from 'openai';
import { adaptersDirectory, ensureTestModels } from '../../scripts/generate-test-models.js';
import { startTestServer } from '../helpers/testServer.js';

const models = ensureTestModels();
const dir = t.testdir();
const adapters = adaptersDirectory(path.join(dir, 'adapters'), models, ['A', 'B']);
const keys = {
  teamA: 'sk-team-a-0123456789abcdef',
  teamB: 'sk-team-b-0123456789abcdef',
  adminA: 'sk-admin-a-0123456789abcdef',
  root: 'sk-root-0123456789abcdef',
};
const keyFile = path.join(dir, 'keys.json');
writeFileSync(
  keyFile,
  JSON.stringify({
    keys: [
      { key: keys.teamA, name: 'team-a', adapters: ['A', 'team-a-*'] },
      { key: keys.teamB, name: 'team-b', adapters: ['B'] },
      { key: keys.adminA, name: 'team-a-admin', adapters: ['A', 'team-a-*'], admin: true },
      { key: keys.root, name: 'root', admin: true, restore: true },
    ],
  }),
);
const server = await startTestServer({ model: models.behaviourModel, adapters, 'model-id': 'base', 'context-size': 256, 'api-keys': keyFile, 'max-tokens': 64, 'max-messages': 3 });
t.teardown(server.close);
const clientFor = (apiKey: string) => new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0 });
const [a, b, adminA, root] = [clientFor(keys.teamA), clientFor(keys.teamB), clientFor(keys.adminA), clientFor(keys.root)];
const ask = (client: OpenAI, body: Record<string, unknown>) =>
  client.chat.completions.create({ model: 'base', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, temperature: 0, ...body } as never).then(
    (r) => ({ status: 200, text: r.choices[0].message.content }),
    (e: InstanceType<typeof OpenAI.APIError>) => ({ status: e.status, text: e.message }),
  );
const call = (key: string | undefined, method: string, route: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${route}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined && !(body instanceof Uint8Array) ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : body instanceof Uint8Array ? (body as unknown as BodyInit) : JSON.stringify(body),
  });

t.test('a missing or wrong key is a 401; health, metrics and docs need none', async (t) => {
  t.equal((await call(undefined, 'GET', '/v1/models')).status, 401);
  t.equal((await call('sk-wrong-key-0123456789', 'GET', '/v1/models')).status, 401);
  const wrong = await clientFor('sk-wrong-key-0123456789').models.list().catch((e: unknown) => e);
  t.ok(wrong instanceof OpenAI.AuthenticationError, 'the openai client raises AuthenticationError');
  t.equal((await call(undefined, 'GET', '/health')).status, 200);
  t.equal((await call(undefined, 'GET', '/metrics')).status, 200);
  t.equal((await call(undefined, 'GET', '/openapi.json')).status, 200);
  t.equal((await call(keys.teamA, 'GET', '/v1/models', undefined, { authorization: '', 'x-api-key': keys.teamA })).status, 200, 'x-api-key works too');
});

t.test('a key sees and uses only its adapters; others do not exist for it', async (t) => {
  t.same((await a.models.list()).data.map((m) => m.id), ['base', 'A']);
  t.same((await b.models.list()).data.map((m) => m.id), ['base', 'B']);
  t.same(await ask(a, { model: 'A' }), { status: 200, text: ' A A' });
  for (const body of [{ model: 'B' }, { lora: [{ name: 'B', scale: 1 }] }, { peft: 'B' }]) {
    const refused = await ask(a, body);
    t.equal(refused.status, 404, `team A cannot use B via ${Object.keys(body)[0]}`);
  }
  const completion = await a.completions.create({ model: 'B', prompt: 'x', max_tokens: 1 }).catch((e: InstanceType<typeof OpenAI.APIError>) => e.status);
  t.equal(completion, 404, 'nor through legacy completions');
  const listed = (await (await call(keys.teamA, 'GET', '/v1/adapters')).json()) as { data: Array<{ name: string }> };
  t.same(listed.data.map((x) => x.name), ['A']);
  t.equal((await call(keys.teamA, 'GET', '/v1/adapters/B')).status, 404);
});

t.test('only admin keys manage adapters, and only within their allow-list', async (t) => {
  const body = new Uint8Array(readFileSync(models.adapters.C));
  const octet = { 'content-type': 'application/octet-stream' };
  t.equal((await call(keys.teamA, 'PUT', '/v1/adapters/team-a-new', body, octet)).status, 403, 'a plain key may not upload');
  t.equal((await call(keys.teamB, 'DELETE', '/v1/adapters/B')).status, 403, 'nor delete its own adapter');
  t.equal((await call(keys.adminA, 'PUT', '/v1/adapters/B?replace=true', body, octet)).status, 403, "team A's admin may not replace B");
  t.equal((await call(keys.adminA, 'DELETE', '/v1/adapters/B')).status, 403, "nor delete B");
  t.equal((await call(keys.adminA, 'POST', '/v1/unload_lora_adapter', { lora_name: 'B' })).status, 403, 'nor unload B through the vLLM route');
  t.equal((await call(keys.adminA, 'POST', '/v1/load_lora_adapter', { lora_name: 'B', lora_path: path.join(adapters, 'A.gguf'), load_inplace: true })).status, 403, 'nor load over B');
  t.same(await ask(b, { model: 'B' }), { status: 200, text: ' B B' }, 'B is untouched');
  t.equal((await call(keys.adminA, 'PUT', '/v1/adapters/team-a-new', body, octet)).status, 201, 'inside its allow-list it may upload');
  t.same(await ask(a, { model: 'team-a-new' }), { status: 200, text: ' C C' });
  t.equal((await ask(b, { model: 'team-a-new' })).status, 404, 'and team B cannot see it');
  t.equal((await call(keys.root, 'DELETE', '/v1/adapters/team-a-new')).status, 200, 'an unrestricted admin manages everything');
});

t.test('limits: max_tokens cap and message count', async (t) => {
  const tooMany = await ask(root, { max_tokens: 65 });
  t.equal(tooMany.status, 400);
  t.match(tooMany.text, /at most 64/);
  const messages = Array.from({ length: 4 }, () => ({ role: 'user', content: 'x' }));
  t.equal((await ask(root, { messages })).status, 400);
});
