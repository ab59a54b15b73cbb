import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type OpenAI from 'openai';
import { adaptersDirectory, ensureTestModels } from '../../scripts/generate-test-models.js';
import { writePeftExport } from '../../src/demo/peftExport.js';
import { behaviourAdapterPairs } from '../../src/demo/syntheticLlama.js';
import { alarmTool, startProfileServer, USER_TEMPLATE, userMessage, weatherTool } from '../helpers/profileFixtures.js';
import { startTestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const models = ensureTestModels();
const work = t.testdir();
const { server, adaptersDir } = await startProfileServer(work, {
  A: { chat_template: 'hermes', description: 'the redactor, trained on Hermes 2 Pro prompts' },
  B: { chat_template: 'llama3.1' },
  C: { chat_template: 'chatml' },
  D: undefined,
  E: { name: 'team-format', chat_template: USER_TEMPLATE, tool_syntax: 'hermes', default_scale: 0.5 },
  F: undefined,
});
t.teardown(server.close);
const { client } = server;
const tools = [weatherTool, alarmTool];
const user = userMessage;
writeFileSync(path.join(work, 'default.profile.json'), JSON.stringify({ chat_template: 'hermes' }));

async function api(method: string, route: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${server.url}${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

t.test('GET /v1/adapters shows each adapter profile', async (t) => {
  const { json } = await api('GET', '/v1/adapters');
  const profiles = Object.fromEntries(json.data.map((entry: { name: string; profile: unknown }) => [entry.name, entry.profile]));
  t.match(profiles.A, { name: 'hermes', source: 'file', template: 'hermes', tool_syntax: 'hermes', description: 'the redactor, trained on Hermes 2 Pro prompts', error: null });
  t.match(profiles.B, { name: 'llama3.1', source: 'file', template: 'llama3.1', tool_syntax: 'llama3.1', description: /Llama 3\.1/ });
  t.match(profiles.C, { name: 'chatml', template: 'chatml', tool_syntax: 'hermes' });
  t.match(profiles.D, { name: 'base', source: 'builtin', template: 'base', tool_syntax: 'json' });
  t.match(profiles.E, { name: 'team-format', source: 'file', template: 'custom', tool_syntax: 'hermes' });
  t.equal(json.data.find((entry: { name: string }) => entry.name === 'E').default_scale, 0.5, "the profile's default scale");
});

/** Prompt size of a request: the profile that rendered it shows in it. */
async function promptTokens(body: Record<string, unknown>): Promise<number> {
  const response = await client.chat.completions.create({ messages: user('Weather in Oslo?'), tools, max_tokens: 1, temperature: 0, ...body } as never);
  return (response as OpenAI.ChatCompletion).usage!.prompt_tokens;
}

t.test('a stacked request uses the profile of its first adapter unless it names one', async (t) => {
  const hermes = await promptTokens({ model: 'A' });
  const llama = await promptTokens({ model: 'B' });
  t.not(hermes, llama, 'the two formats differ');
  t.equal(await promptTokens({ model: 'base', lora: [{ name: 'B', scale: 1 }, { name: 'A', scale: 1 }] }), llama, 'first adapter: B');
  t.equal(await promptTokens({ model: 'A', lora: [{ name: 'B', scale: 1 }] }), hermes, '`model` comes first');
  t.equal(await promptTokens({ model: 'base', lora: [{ name: 'B', scale: 0 }, { name: 'A', scale: 1 }] }), hermes, 'an adapter at scale 0 is not applied, nor is its profile');
  t.equal(await promptTokens({ model: 'base', lora: [{ name: 'B', scale: 1 }, { name: 'A', scale: 1 }], profile: 'A' }), hermes, 'profile names one of its adapters');
  t.equal(await promptTokens({ model: 'B', profile: 'hermes' }), hermes, 'profile names a built-in');
  for (const profile of ['nope', 'C']) {
    const bad = await api('POST', '/v1/chat/completions', { model: 'B', messages: user('x'), profile });
    t.equal(bad.status, 400, `profile ${profile}`);
    t.match(bad.json, { error: { param: 'profile', code: 'unknown_profile' } });
  }
});

t.test('PUT and DELETE /v1/adapters/{name}/profile set and remove a profile, validated field by field', async (t) => {
  const base = await promptTokens({ model: 'D' });
  const put = await api('PUT', '/v1/adapters/D/profile', { chat_template: 'hermes', stop: ['###'], description: 'set by API' });
  t.equal(put.status, 200);
  t.match(put.json, { adapter: 'D', profile: { chat_template: 'hermes', stop: ['###'] }, effective: { name: 'hermes', source: 'file', description: 'set by API' } });
  t.ok(existsSync(path.join(adaptersDir, 'D.profile.json')), 'stored beside the adapter');
  t.equal(await promptTokens({ model: 'D' }), await promptTokens({ model: 'A' }), 'used at once');
  t.match((await api('GET', '/v1/adapters/D/profile')).json, { profile: { chat_template: 'hermes' } });

  const cases: Array<[unknown, number, string]> = [
    [{ chat_template: 'hermes', tool_syntax: 'xml' }, 400, 'tool_syntax'],
    [{ chat_template: 'hermse' }, 400, 'chat_template'],
    [{ chat_template: '{% if %}' }, 422, 'chat_template'],
    [{ chat_template: 'hermes', stop: ['a', ''] }, 400, 'stop[1]'],
  ];
  for (const [body, status, param] of cases) {
    const response = await api('PUT', '/v1/adapters/D/profile', body);
    t.equal(response.status, status, `${JSON.stringify(body)}: status`);
    t.equal(response.json.error.param, param, `${JSON.stringify(body)}: param`);
  }
  t.equal((await api('PUT', '/v1/adapters/nobody/profile', { chat_template: 'hermes' })).status, 404);

  const removed = await api('DELETE', '/v1/adapters/D/profile');
  t.match(removed.json, { profile: null, effective: { name: 'base', source: 'builtin' } });
  t.notOk(existsSync(path.join(adaptersDir, 'D.profile.json')));
  t.equal(await promptTokens({ model: 'D' }), base, 'back to the base template');
});

t.test('the redactor renders its call with the profile of the adapter it runs on', async (t) => {
  // A template that refuses to render proves which profile the redactor's chat call went through.
  t.equal((await api('PUT', '/v1/adapters/D/profile', { chat_template: "{{ raise_exception('rendered with the profile of D') }}" })).status, 200);
  const redacted = await api('POST', '/v1/redact', { text: 'Call Jane Doe on 020 7946 0958.', detectors: 'llm', model: 'D', max_tokens: 8 });
  t.equal(redacted.status, 400);
  t.match(redacted.json, { error: { code: 'template_error', message: /rendered with the profile of D/ } });
  const stacked = await api('POST', '/v1/redact', { text: 'Call Jane Doe.', detectors: 'llm', model: 'base', lora: [{ name: 'D', scale: 1 }], max_tokens: 8 });
  t.match(stacked.json, { error: { message: /rendered with the profile of D/ } }, 'also as the first adapter of a stack');
  await api('DELETE', '/v1/adapters/D/profile');
});

t.test('a profile file edited on disk is re-read; a broken one fails requests rather than change their format', async (t) => {
  const file = path.join(adaptersDir, 'F.profile.json');
  const profileOnceRead = (check: (profile: any) => boolean, what: string) =>
    waitFor(async () => {
      const { profile } = (await api('GET', '/v1/adapters/F')).json;
      return check(profile) && profile;
    }, { what });
  writeFileSync(file, JSON.stringify({ chat_template: 'llama3.1' }));
  t.match(await profileOnceRead((p) => p.name === 'llama3.1', 'the new profile file'), { name: 'llama3.1' }, 'a new profile file is picked up');
  t.equal(await promptTokens({ model: 'F' }), await promptTokens({ model: 'B' }));
  writeFileSync(file, '{"chat_template": "llama3.1", "stop": "not a list"}');
  const later = new Date(Date.now() + 5000);
  utimesSync(file, later, later);
  t.match(await profileOnceRead((p) => p.error !== null, 'the broken profile file'), { name: 'invalid', error: /F\.profile\.json: stop/ }, 'GET says why');
  const refused = await api('POST', '/v1/chat/completions', { model: 'F', messages: user('x'), max_tokens: 1 });
  t.equal(refused.status, 422);
  t.match(refused.json, { error: { param: 'model', code: 'invalid_profile', message: /adapter "F".*stop/ } });
});

t.test('uploads carry a profile: ?profile= for a raw GGUF, profile.json in a PEFT multipart upload', async (t) => {
  const raw = await fetch(`${server.url}/v1/adapters/raw-hermes?profile=hermes`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: readFileSync(models.adapters.A) });
  t.equal(raw.status, 201);
  t.match(await raw.json(), { name: 'raw-hermes', profile: { name: 'hermes', source: 'file' } });
  const bogus = await fetch(`${server.url}/v1/adapters/raw-bogus?profile=alpaca`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: readFileSync(models.adapters.A) });
  t.equal(bogus.status, 400);
  t.match(await bogus.json(), { error: { param: 'profile' } });

  const exportDir = path.join(work, 'peft');
  writePeftExport(exportDir, { ...behaviourAdapterPairs({ word: ' B', rank: 4, alpha: 8 }), dtype: 'F32' });
  const upload = (name: string, profile: string) => {
    const form = new FormData();
    for (const file of ['adapter_config.json', 'adapter_model.safetensors']) form.append(file, new Blob([readFileSync(path.join(exportDir, file))]), file);
    form.append('profile.json', new Blob([profile]), 'profile.json');
    return fetch(`${server.url}/v1/adapters/${name}`, { method: 'PUT', body: form });
  };
  const good = await upload('peft-llama', JSON.stringify({ chat_template: 'llama3.1', description: 'uploaded' }));
  t.equal(good.status, 201);
  t.match(await good.json(), { name: 'peft-llama', format: 'peft', profile: { name: 'llama3.1', description: 'uploaded' } });
  t.ok(existsSync(path.join(adaptersDir, 'peft-llama', 'profile.json')), 'kept inside the PEFT folder');
  t.equal(await promptTokens({ model: 'peft-llama' }), await promptTokens({ model: 'B' }));
  const bad = await upload('peft-bad', JSON.stringify({ chat_template: 'llama3.1', tool_syntax: 'xml' }));
  t.equal(bad.status, 422);
  t.match(await bad.json(), { error: { param: 'tool_syntax', code: 'invalid_profile', message: /profile\.json: tool_syntax/ } });
  t.equal((await api('GET', '/v1/adapters/peft-bad')).status, 404, 'nothing registered');
});

t.test('--default-profile applies to the base and to adapters without a profile of their own', async (t) => {
  const other = await startTestServer({
    model: models.behaviourModel,
    adapters: adaptersDirectory(path.join(work, 'other'), models, ['A']),
    'context-size': 4096,
    'model-id': 'base',
    'default-profile': path.join(work, 'default.profile.json'),
    'data-dir': path.join(work, 'data'),
  });
  t.teardown(other.close);
  const listed = (await (await fetch(`${other.url}/v1/adapters/A`)).json()) as { profile: unknown };
  t.match(listed.profile, { name: 'hermes', source: 'default' });
  const usage = async (model: string) =>
    (await other.client.chat.completions.create({ model, messages: user('Weather in Oslo?'), tools, max_tokens: 1, temperature: 0 })).usage!.prompt_tokens;
  t.equal(await usage('base'), await promptTokens({ model: 'A' }), 'the base model renders with the default profile');
  t.equal(await usage('A'), await usage('base'));
});
