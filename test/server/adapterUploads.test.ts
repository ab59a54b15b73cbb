import { mkdirSync, openAsBlob, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ensureTestModels } from '../../scripts/generate-test-models.js';
import { serverProcess } from '../../src/bench/benchServers.js';
import { writePeftExport, writeProjectionPeftExport, type PeftDtype } from '../../src/demo/peftExport.js';
import { BEHAVIOUR_MODEL, behaviourAdapterPairs } from '../../src/demo/syntheticLlama.js';
import { startChildServer } from '../helpers/childServer.js';
import { startTestServer } from '../helpers/testServer.js';

// Adapters as users really send them: 8B-sized exports, older pickled exports, exports made for another model.
const models = ensureTestModels();
const work = t.testdir();
const adaptersDir = path.join(work, 'adapters');
mkdirSync(adaptersDir);

/** A PEFT export the size of a real Llama 3 8B adapter, made on the behaviour model with a large rank. */
const behaviourProjections = {
  width: BEHAVIOUR_MODEL.width,
  layers: BEHAVIOUR_MODEL.layers,
  kvWidth: (BEHAVIOUR_MODEL.width / BEHAVIOUR_MODEL.heads) * BEHAVIOUR_MODEL.kvHeads,
  feedForward: BEHAVIOUR_MODEL.feedForward,
};
function largeExport(name: string, dtype: PeftDtype, rank: number): { dir: string; bytes: number } {
  const dir = path.join(work, name);
  writeProjectionPeftExport(dir, behaviourProjections, { rank, alpha: rank, dtype, seed: 5, amplitude: 0.001 });
  return { dir, bytes: statSync(path.join(dir, 'adapter_model.safetensors')).size };
}

const peftForm = async (dir: string, files = ['adapter_config.json', 'adapter_model.safetensors']) => {
  const form = new FormData();
  // File-backed blobs: the test process does not hold the export in memory either.
  for (const file of files) form.append(file, await openAsBlob(path.join(dir, file)), file);
  return form;
};

const rssBytes = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

// The server as users start it, with the default limits, in a process of its own so its RSS is its own.
const server = await startChildServer({ model: models.behaviourModel, adapters: adaptersDir, 'model-id': 'base', 'context-size': 256, 'data-dir': path.join(work, 'data') });
t.teardown(async () => {
  server.process.kill('SIGTERM');
  await server.exited;
});
const servingPid = serverProcess(server.process.pid!);
const chat = async (model: string) =>
  fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, temperature: 0 }),
  });

for (const [dtype, rank, atLeast] of [['BF16', 23_100, 90 * 2 ** 20], ['F32', 21_800, 170 * 2 ** 20]] as const) {
  t.test(`an 8B-sized ${dtype} PEFT export uploads with the defaults and serves; the server's RSS grows less than the file`, async (t) => {
    const name = `large-${dtype.toLowerCase()}`;
    const { dir, bytes } = largeExport(name, dtype, rank);
    t.ok(bytes >= atLeast, `${(bytes / 2 ** 20).toFixed(1)} MiB of ${dtype} weights`);
    t.equal((await chat('base')).status, 200);
    const before = rssBytes(servingPid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(servingPid))), 20);
    const started = Date.now();
    const response = await fetch(`${server.url}/v1/adapters/${name}`, { method: 'PUT', body: await peftForm(dir) });
    clearInterval(sampler);
    peak = Math.max(peak, rssBytes(servingPid));
    t.equal(response.status, 201, await response.clone().text());
    t.match(await response.json(), { name, format: 'peft', rank });
    t.comment(`${dtype}: ${(bytes / 2 ** 20).toFixed(0)} MiB uploaded and converted in ${((Date.now() - started) / 1000).toFixed(1)} s; server RSS ${(before / 2 ** 20).toFixed(0)} → peak ${(peak / 2 ** 20).toFixed(0)} MiB`);
    t.ok(peak - before < bytes, `RSS grew ${((peak - before) / 2 ** 20).toFixed(0)} MiB for a ${(bytes / 2 ** 20).toFixed(0)} MiB upload`);
    t.equal((await chat(name)).status, 200, 'served');
  });
}

const smallExport = (name: string, extraConfig: Record<string, unknown> = {}) => {
  const dir = path.join(work, name);
  writePeftExport(dir, { ...behaviourAdapterPairs({ word: ' A', rank: 4, alpha: 8 }), dtype: 'BF16', extraConfig });
  return dir;
};

t.test('an older export with pickled weights (adapter_model.bin): a 422 and a log line saying to re-save, for a folder and an upload', async (t) => {
  const dir = smallExport('pickled');
  renameSync(path.join(dir, 'adapter_model.safetensors'), path.join(dir, 'adapter_model.bin'));
  const response = await fetch(`${server.url}/v1/adapters/pickled`, { method: 'PUT', body: await peftForm(dir, ['adapter_config.json', 'adapter_model.bin']) });
  t.equal(response.status, 422);
  t.match(await response.json(), { error: { code: 'invalid_peft_export:pickled-weights', message: /adapter_model\.bin.*safe_serialization=True/ } });

  const folder = path.join(adaptersDir, 'pickled-folder');
  mkdirSync(folder);
  for (const file of ['adapter_config.json', 'adapter_model.bin']) writeFileSync(path.join(folder, file), readFileSync(path.join(dir, file)));
  const deadline = Date.now() + 20_000;
  while (!/"adapter":"pickled-folder".*safe_serialization=True/.test(server.output()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  t.match(server.output(), /"level":40,.*"adapter":"pickled-folder","reason":"the PEFT export holds adapter_model\.bin.*safe_serialization=True/, 'the folder is refused in the log');
  t.match(server.output(), /"level":40,.*"adapter":"pickled","reason":".*safe_serialization=True/, 'so is the upload');
  t.equal((await fetch(`${server.url}/v1/adapters/pickled-folder`)).status, 404);
});

t.test('base_model_name_or_path is listed, and a Mistral adapter on this Llama base is warned about', async (t) => {
  const llama = await fetch(`${server.url}/v1/adapters/llama-made`, { method: 'PUT', body: await peftForm(smallExport('llama-made')) });
  t.match(await llama.json(), { base_model_name_or_path: 'meta-llama/Meta-Llama-3.1-8B-Instruct' });
  const mistral = await fetch(`${server.url}/v1/adapters/mistral-made`, {
    method: 'PUT',
    body: await peftForm(smallExport('mistral-made', { base_model_name_or_path: 'mistralai/Mistral-7B-Instruct-v0.3' })),
  });
  t.equal(mistral.status, 201, 'the shapes fit, so it is served');
  const listed = (await (await fetch(`${server.url}/v1/adapters`)).json()) as { data: Array<{ name: string; base_model_name_or_path: string | null }> };
  t.same(
    Object.fromEntries(listed.data.filter((entry) => entry.name.endsWith('-made')).map((entry) => [entry.name, entry.base_model_name_or_path])),
    { 'llama-made': 'meta-llama/Meta-Llama-3.1-8B-Instruct', 'mistral-made': 'mistralai/Mistral-7B-Instruct-v0.3' },
  );
  t.match(server.output(), /"level":40,.*"adapter":"mistral-made".*trained on mistralai\/Mistral-7B-Instruct-v0\.3 \(mistral family\) but the base model is adaptd behaviour demo \(llama family\)/);
  t.notMatch(server.output(), /"adapter":"llama-made".*family/, 'no warning for a Llama adapter');
  const openApi = (await (await fetch(`${server.url}/openapi.json`)).json()) as { components: { schemas: { Adapter: { properties: Record<string, unknown> } } } };
  t.ok(openApi.components.schemas.Adapter.properties.base_model_name_or_path, 'in the OpenAPI schema');
});

t.test('uploads have their own limit, JSON bodies keep --max-body-bytes, and a 413 names the limit and the option', async (t) => {
  const dir = t.testdir();
  const limited = await startTestServer({ model: models.behaviourModel, adapters: path.join(dir, 'adapters'), 'model-id': 'base', 'context-size': 256, 'data-dir': path.join(dir, 'data'), 'max-body-bytes': 2 ** 20, 'max-upload-bytes': 4 * 2 ** 20 });
  t.teardown(limited.close);
  const fits = largeExport('fits', 'BF16', 700); // 2.7 MiB: over --max-body-bytes, under --max-upload-bytes
  const put = (name: string, body: BodyInit, headers: Record<string, string> = {}) =>
    fetch(`${limited.url}/v1/adapters/${name}`, { method: 'PUT', body, headers, duplex: 'half' } as RequestInit);
  t.equal((await put('fits', await peftForm(fits.dir))).status, 201, 'a multipart upload larger than --max-body-bytes');
  const converted = readdirSync(path.join(dir, 'data', 'converted')).find((file) => file.startsWith('fits.'))!;
  const gguf = readFileSync(path.join(dir, 'data', 'converted', converted));
  t.ok(gguf.length > 2 ** 20);
  t.equal((await put('fits-gguf', gguf, { 'content-type': 'application/octet-stream' })).status, 201, 'a raw upload larger than --max-body-bytes');

  const tooLarge = largeExport('too-large', 'BF16', 1200); // 4.7 MiB
  const message = /larger than the upload limit of 4194304 bytes \(4 MiB\); the server's --max-upload-bytes option \(ADAPTD_MAX_UPLOAD_BYTES\) sets it/;
  for (const [how, send] of [
    ['multipart', async () => put('too-large', await peftForm(tooLarge.dir))],
    ['raw, with its Content-Length', async () => put('too-large', readFileSync(path.join(tooLarge.dir, 'adapter_model.safetensors')), { 'content-type': 'application/octet-stream' })],
    ['raw, streamed without a length', async () => put('too-large', (await openAsBlob(path.join(tooLarge.dir, 'adapter_model.safetensors'))).stream(), { 'content-type': 'application/octet-stream' })],
  ] as const) {
    const response = await send();
    t.equal(response.status, 413, how);
    t.match(await response.json(), { error: { code: 'upload_too_large', message } }, how);
  }
  t.same(readdirSync(path.join(dir, 'adapters')).filter((file) => !file.startsWith('fits')), [], 'nothing of the refused uploads is left');

  const chat = await fetch(`${limited.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'base', messages: [{ role: 'user', content: 'x'.repeat(2 ** 20) }] }),
  });
  t.equal(chat.status, 413);
  t.match(await chat.json(), { error: { code: 'body_too_large', message: /--max-body-bytes/ } });
});
