import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { adaptersDirectory, ensureTestModels } from '../../scripts/generate-test-models.js';
import { runEval } from '../../src/cli/evalCommand.js';
import { synthesizeRows } from '../../src/redaction/dataset/synthesizeRows.js';
import type { EvalReport } from '../../src/redaction/eval/runEvaluation.js';
import { redactChatRequest } from '../../src/redaction/redactCall/RedactionModel.js';
import { loadRedactorSpec } from '../../src/redaction/redactCall/redactorSpec.js';
import { startTestServer } from '../helpers/testServer.js';
import { captureIo } from '../helpers/scriptedEndpoint.js';

// adaptd itself as the system under test: the behaviour model and two adapters, through the
// real HTTP API. The behaviour model only ever wants to say its word, so it never makes a
// usable redact call within max_tokens (as text, or as a tool call cut off): the eval must count
// every call as invalid and still measure time and tokens.
const models = ensureTestModels();
const dir = t.testdir();
const server = await startTestServer({ model: models.behaviourModel, adapters: adaptersDirectory(dir, models, ['A', 'B']), 'context-size': 4096, 'model-id': 'behaviour' });
t.teardown(server.close);
const spec = loadRedactorSpec();
const MAX_TOKENS = 24;

const setFile = path.join(dir, 'test.jsonl');
writeFileSync(setFile, [...synthesizeRows({ rows: 3, seed: 4 })].map((row) => `${JSON.stringify(row)}\n`).join(''));

t.test('eval runs base, adapter and stacked adapters side by side', async (t) => {
  // The behaviour model starts the forced redact call and is cut off by max_tokens: a partial call, `length`.
  const probe = await server.client.chat.completions.create(
    redactChatRequest({ systemPrompt: spec.systemPrompt, document: 'Hi Anna', tool: spec.tool, maxTokens: MAX_TOKENS }, { model: 'A', lora: [] }) as never,
  );
  t.same({ finish: probe.choices[0].finish_reason, toolCalls: probe.choices[0].message.tool_calls?.length }, { finish: 'length', toolCalls: 1 }, 'a call cut off at max_tokens');

  const out = path.join(dir, 'report');
  const capture = captureIo();
  const args = [
    '--set', setFile,
    '--system', `base=${server.url}#behaviour`,
    '--system', `adapterA=${server.url}/v1#A`,
    '--system', `stacked=${server.url}/v1#behaviour+A:0.5+B`,
    '--max-tokens', String(MAX_TOKENS),
    '--concurrency', '2',
    '--out', out,
  ];
  t.equal(await runEval(args, capture.io), 0, capture.stderr());
  const report: EvalReport = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
  t.same(report.systems.map((s) => [s.name, s.model, s.lora.length]), [['base', 'behaviour', 0], ['adapterA', 'A', 0], ['stacked', 'behaviour', 2]]);
  for (const system of report.systems) {
    t.equal(system.validCalls + system.invalidCalls, 3, system.name);
    t.equal(system.invalidCalls, 3, `${system.name}: an answer cut off at max_tokens is an invalid call`);
    t.same(system.failures, { truncated: 3 }, 'it talks until max_tokens');
    t.equal(system.score, 0);
    t.equal(system.leakRate, null);
    t.ok(system.tokens.completion >= 3 * MAX_TOKENS - 3, 'completion tokens are counted for invalid calls too');
    t.ok(system.tokens.prompt > 3 * 500, 'the system prompt lists every category');
    t.ok(system.latencyMs.values.every((ms) => ms > 0));
  }
  t.match(readFileSync(path.join(out, 'report.md'), 'utf8'), /\| stacked \| behaviour\+A:0\.5\+B \|/);
});
