import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ensureTestModels } from '../../scripts/generate-test-models.js';
import { behaviourAdapterPairs } from '../../src/demo/syntheticLlama.js';
import { writePeftExport } from '../../src/demo/peftExport.js';
import { startChildServer } from '../helpers/childServer.js';
import { startTestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const models = ensureTestModels();
const adaptersDir = t.testdir();
const work = t.testdir();
// The behaviour adapter "says A" written as PEFT exports: rank 4, alpha 8, in each dtype fine-tuning tools emit.
const exportFor = (dir: string, dtype: 'F32' | 'F16' | 'BF16', word = ' A') => {
  writePeftExport(dir, { ...behaviourAdapterPairs({ word, rank: 4, alpha: 8 }), dtype });
  return dir;
};
exportFor(path.join(adaptersDir, 'peft-bf16'), 'BF16');
const server = await startTestServer({ model: models.behaviourModel, adapters: adaptersDir, 'context-size': 256, 'model-id': 'base', 'data-dir': path.join(work, 'data') });
t.teardown(server.close);

const say = async (body: Record<string, unknown>) =>
  (await server.client.chat.completions.create({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, temperature: 0, model: 'base', ...body } as never)).choices[0]
    .message.content;

t.test('a PEFT folder in the adapters directory is converted once and served', async (t) => {
  t.equal(await say({ model: 'peft-bf16' }), ' A A A');
  t.equal(await say({ model: 'base', lora: [{ name: 'peft-bf16', scale: 0.2 }] }), ' W W W', 'alpha / r scaling preserved');
  const listed = (await (await fetch(`${server.url}/v1/adapters/peft-bf16`)).json()) as Record<string, unknown>;
  t.match(listed, { format: 'peft', rank: 4, alpha: 8, source: 'peft-bf16' });
  const cached = readdirSync(path.join(work, 'data', 'converted'));
  t.equal(cached.length, 1, 'one cached conversion');
});

t.test('multipart upload of a PEFT export (f16) converts and serves', async (t) => {
  const dir = exportFor(path.join(work, 'f16'), 'F16', ' B');
  const form = new FormData();
  for (const file of ['adapter_config.json', 'adapter_model.safetensors']) form.append(file, new Blob([readFileSync(path.join(dir, file))]), file);
  const response = await fetch(`${server.url}/v1/adapters/uploaded-peft`, { method: 'PUT', body: form });
  t.equal(response.status, 201);
  t.match(await response.json(), { name: 'uploaded-peft', format: 'peft', origin: 'upload' });
  t.equal(await say({ model: 'uploaded-peft' }), ' B B B');
});

t.test('a bad PEFT upload is a 422 naming the problem and leaves nothing behind', async (t) => {
  const dir = exportFor(path.join(work, 'dora'), 'F32');
  const config = JSON.parse(readFileSync(path.join(dir, 'adapter_config.json'), 'utf8'));
  writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify({ ...config, use_dora: true }));
  const before = readdirSync(adaptersDir).sort();
  const form = new FormData();
  for (const file of ['adapter_config.json', 'adapter_model.safetensors']) form.append(file, new Blob([readFileSync(path.join(dir, file))]), file);
  const response = await fetch(`${server.url}/v1/adapters/dora`, { method: 'PUT', body: form });
  t.equal(response.status, 422);
  t.match(await response.json(), { error: { code: 'invalid_peft_export:dora', message: /DoRA/i } });
  t.same(readdirSync(adaptersDir).sort(), before);
  const missing = new FormData();
  missing.append('adapter_config.json', new Blob([readFileSync(path.join(dir, 'adapter_config.json'))]), 'adapter_config.json');
  t.equal((await fetch(`${server.url}/v1/adapters/half`, { method: 'PUT', body: missing })).status, 400);
  t.equal(await say({ model: 'peft-bf16' }), ' A A A', 'still serving');
});

t.test('the vLLM route loads a PEFT folder inside the adapters root', async (t) => {
  const dir = exportFor(path.join(adaptersDir, '.staging-f32'), 'F32', ' C');
  const response = await fetch(`${server.url}/v1/load_lora_adapter`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ lora_name: 'vllm-peft', lora_path: dir }),
  });
  t.equal(response.status, 200);
  t.equal(await say({ model: 'vllm-peft' }), ' C C C');
});

t.test('adaptd adapters convert writes a GGUF that says what the export says', async (t) => {
  const dir = exportFor(path.join(work, 'cli'), 'BF16', ' D');
  const out = path.join(adaptersDir, 'converted-by-cli.gguf');
  const output = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'adapters', 'convert', dir, out], { encoding: 'utf8' });
  t.match(output, /wrote .*rank 4, alpha 8/);
  await waitFor(async () => (await fetch(`${server.url}/v1/adapters/converted-by-cli`)).status === 200, { what: 'the directory watcher to register converted-by-cli' });
  t.equal(await say({ model: 'converted-by-cli' }), ' D D D');
  const bad = path.join(work, 'empty-dir');
  let status = 0;
  try {
    execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'adapters', 'convert', bad, path.join(work, 'x.gguf')], { stdio: 'pipe' });
  } catch (error) {
    status = (error as { status: number }).status;
  }
  t.equal(status, 1, 'a bad export is a non-zero exit');
  t.notOk(existsSync(path.join(work, 'x.gguf')), 'nothing half-written');
});

t.test('started as users start it (the CLI), the server converts a PEFT folder in its worker thread', async (t) => {
  // The conversion worker must load TypeScript on its own: the CLI registers the loader in the main thread only.
  const dir = t.testdir();
  exportFor(path.join(dir, 'adapters', 'cli-peft'), 'BF16');
  const child = await startChildServer({ model: models.behaviourModel, adapters: path.join(dir, 'adapters'), 'context-size': 256, 'data-dir': path.join(dir, 'data') });
  t.teardown(async () => {
    child.process.kill('SIGTERM');
    await child.exited;
  });
  const response = await fetch(`${child.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'cli-peft', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, temperature: 0 }),
  });
  t.equal(response.status, 200);
  t.equal(((await response.json()) as { choices: Array<{ message: { content: string } }> }).choices[0].message.content, ' A A A');
  t.notMatch(child.output(), /adapter rejected/);
});
