import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type OpenAI from 'openai';
import { adaptersDirectory, ensureTestModels } from '../../scripts/generate-test-models.js';
import { startTestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const models = ensureTestModels();
const adaptersDir = adaptersDirectory(t.testdir(), models, ['A', 'B']);
const server = await startTestServer({ model: models.behaviourModel, adapters: adaptersDir, 'context-size': 256, 'model-id': 'base', parallel: 4, 'max-resident-adapters': 6 });
t.teardown(server.close);
const { client } = server;

type ChatBody = Record<string, unknown>;
async function say(body: ChatBody, stream = false): Promise<string> {
  const request = { messages: [{ role: 'user' as const, content: 'Who are you?' }], max_tokens: 3, temperature: 0, ...body } as OpenAI.ChatCompletionCreateParamsNonStreaming;
  if (!stream) return (await client.chat.completions.create(request)).choices[0].message.content ?? '';
  let text = '';
  for await (const chunk of await client.chat.completions.create({ ...request, stream: true })) text += chunk.choices[0]?.delta.content ?? '';
  return text;
}

const isListed = async (id: string) => (await client.models.list()).data.some((m) => m.id === id);

// A scan that notices a file is gone starts after the scan that registered it has finished, so once a sentinel
// dropped in after everything else has come and gone, the watcher has looked at every file there now.
async function directoryScanned(): Promise<void> {
  const sentinel = path.join(adaptersDir, 'scan-sentinel.gguf');
  copyFileSync(models.adapters.A, sentinel);
  await waitFor(() => isListed('scan-sentinel'), { what: 'the sentinel registered' });
  rmSync(sentinel);
  await waitFor(async () => !(await isListed('scan-sentinel')), { what: 'the sentinel removed' });
}

t.test('selection by model, lora scales, stacking and the peft alias', async (t) => {
  t.equal(await say({ model: 'base' }), ' W W W');
  t.equal(await say({ model: 'A' }), ' A A A');
  t.equal(await say({ model: 'base', lora: [{ name: 'A', scale: 0.2 }] }), ' W W W', 'a weak A loses to the base word');
  t.equal(await say({ model: 'base', lora: [{ name: 'A', scale: 1 }, { name: 'B', scale: 1.2 }] }), ' B B B', 'the stronger of two wins');
  t.equal(await say({ model: 'base', lora: [{ name: 'A', scale: 1.2 }, { name: 'B', scale: 1 }] }), ' A A A');
  t.equal(await say({ model: 'base', peft: 'B' }), ' B B B');
  t.equal(await say({ model: 'A', lora: [{ name: 'A', scale: 0 }] }), ' W W W', 'scale 0 means not applied');
  const list = await client.models.list();
  t.same(list.data.map((m) => [m.id, (m as unknown as { parent: string | null }).parent]), [['base', null], ['A', 'base'], ['B', 'base']]);
});

t.test('24 concurrent mixed requests each equal their own sequential output, streaming and not, over rounds', async (t) => {
  const sets: ChatBody[] = [
    { model: 'base' },
    { model: 'A' },
    { model: 'B' },
    { model: 'base', lora: [{ name: 'A', scale: 1 }, { name: 'B', scale: 1.2 }] },
  ];
  const expected = [' W W W', ' A A A', ' B B B', ' B B B'];
  for (let round = 0; round < 3; round++) {
    const jobs = Array.from({ length: 24 }, (_, i) => ({ set: i % 4, stream: (i + round) % 2 === 0 }));
    const outputs = await Promise.all(jobs.map((job) => say(sets[job.set], job.stream)));
    t.same(outputs, jobs.map((job) => expected[job.set]), `round ${round}`);
  }
});

t.test('dropping a file in makes it usable; removing it makes it a 404', async (t) => {
  copyFileSync(models.adapters.C, path.join(adaptersDir, 'C.gguf'));
  await waitFor(() => isListed('C'), { what: 'C registered' });
  t.equal(await say({ model: 'C' }), ' C C C');
  rmSync(path.join(adaptersDir, 'C.gguf'));
  await waitFor(async () => !(await isListed('C')), { what: 'C removed' });
  const gone = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'C', messages: [{ role: 'user', content: 'x' }] }),
  });
  t.equal(gone.status, 404);
  t.match(await gone.json(), { error: { param: 'model', code: 'model_not_found' } });
});

async function upload(name: string, file: string, query = '') {
  const response = await fetch(`${server.url}/v1/adapters/${name}${query}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: readFileSync(file),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

t.test('upload, conflict, replace and delete through the API', async (t) => {
  const created = await upload('D', models.adapters.D);
  t.equal(created.status, 201);
  t.match(created.body, { name: 'D', format: 'gguf', origin: 'upload', rank: 1 });
  t.equal(await say({ model: 'D' }), ' D D D');
  t.equal((await upload('D', models.adapters.E)).status, 409, 'the name is taken');
  t.equal(await say({ model: 'D' }), ' D D D', 'a refused upload changes nothing');
  t.equal((await upload('D', models.adapters.E, '?replace=true')).status, 201);
  t.equal(await say({ model: 'D' }), ' E E E', 'the replacement is served, not the cached old weights');
  const listed = (await (await fetch(`${server.url}/v1/adapters`)).json()) as { data: Array<{ name: string; resident: boolean }> };
  t.ok(listed.data.find((a) => a.name === 'D')?.resident, 'resident after use');
  const deleted = await fetch(`${server.url}/v1/adapters/D`, { method: 'DELETE' });
  t.equal(deleted.status, 200);
  t.notOk(existsSync(path.join(adaptersDir, 'D.gguf')), 'its file is gone');
  t.equal((await fetch(`${server.url}/v1/adapters/D`, { method: 'DELETE' })).status, 404);
});

t.test('a request running on an adapter while it is deleted still completes', async (t) => {
  t.equal((await upload('F', models.adapters.F)).status, 201);
  const stream = await client.chat.completions.create({ model: 'F', messages: [{ role: 'user', content: 'go' }], max_tokens: 60, temperature: 0, stream: true });
  let text = '';
  let deleted = false;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? '';
    if (!deleted && text.length > 0) {
      deleted = true;
      t.equal((await fetch(`${server.url}/v1/adapters/F`, { method: 'DELETE' })).status, 200);
    }
  }
  t.equal(text, ' F'.repeat(60), 'finished with the old weights');
  t.equal((await upload('F', models.adapters.F)).status, 201, 'the name is free again');
});

t.test('vLLM load and unload routes', async (t) => {
  const outside = await fetch(`${server.url}/v1/load_lora_adapter`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ lora_name: 'G', lora_path: models.adapters.G }),
  });
  t.equal(outside.status, 400, 'a path outside the allowed roots is refused');
  copyFileSync(models.adapters.G, path.join(adaptersDir, 'g-file.gguf'));
  const loaded = await fetch(`${server.url}/v1/load_lora_adapter`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ lora_name: 'G', lora_path: path.join(adaptersDir, 'g-file.gguf') }),
  });
  t.equal(loaded.status, 200);
  t.match(await loaded.text(), /Success/);
  t.equal(await say({ model: 'G' }), ' G G G');
  const unloaded = await fetch(`${server.url}/v1/unload_lora_adapter`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ lora_name: 'G' }),
  });
  t.equal(unloaded.status, 200);
  t.notOk(await isListed('G'));
  await directoryScanned();
  t.notOk(await isListed('G'), 'unloaded stays unloaded');
});

t.test('bad adapters and hostile names are refused, nothing is written outside, the server keeps serving', async (t) => {
  const before = readdirSync(adaptersDir).sort();
  const parentBefore = readdirSync(path.dirname(adaptersDir)).sort();
  const bad: Array<[string, string, string]> = [
    ['not GGUF', models.bad.notGguf, 'not-gguf'],
    ['GGUF but not an adapter', models.bad.notAdapter, 'not-adapter'],
    ['an adapter for another width', models.bad.wrongWidth, 'shape-mismatch'],
    ['a truncated file', models.bad.truncated, 'truncated'],
    ['another architecture', models.bad.wrongArchitecture, 'wrong-architecture'],
  ];
  for (const [what, file, reason] of bad) {
    const response = await upload('bad-one', file);
    t.equal(response.status, 422, `${what}: 422`);
    t.equal(response.body.error.code, `invalid_adapter:${reason}`, `${what}: names the problem`);
  }
  for (const name of ['..%2Fx', '%2Ftmp%2Fevil', '.hidden', 'a'.repeat(129), 'nul%00byte', 'sp%20ace']) {
    const response = await upload(name, models.adapters.A);
    t.equal(response.status, 400, `hostile name ${name.slice(0, 20)} refused`);
    t.equal(response.body.error.param, 'name');
  }
  const empty = await fetch(`${server.url}/v1/adapters/`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: readFileSync(models.adapters.A) });
  t.equal(empty.status, 400, 'an empty name is refused');
  for (const lora_path of ['../../etc/passwd', '/etc/passwd', `${adaptersDir}/../outside.gguf`, 'x\u0000y']) {
    const response = await fetch(`${server.url}/v1/load_lora_adapter`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ lora_name: 'evil', lora_path }),
    });
    t.equal(response.status, 400, `lora_path ${JSON.stringify(lora_path)} refused`);
  }
  t.same(readdirSync(adaptersDir).sort(), before, 'nothing new in the adapters directory');
  t.same(readdirSync(path.dirname(adaptersDir)).sort(), parentBefore, 'nothing written beside it');
  copyFileSync(models.bad.wrongWidth, path.join(adaptersDir, 'dropped-bad.gguf'));
  await directoryScanned();
  t.notOk(await isListed('dropped-bad'), 'a bad dropped-in file is not registered');
  rmSync(path.join(adaptersDir, 'dropped-bad.gguf'));
  t.equal(await say({ model: 'A' }), ' A A A', 'still serving');
});
