import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { runEval } from '../../src/cli/evalCommand.js';
import { parseSystemSpec } from '../../src/cli/evalSystemSpec.js';
import { loadRedactorSpec } from '../../src/redaction/redactCall/redactorSpec.js';
import type { EvalReport } from '../../src/redaction/eval/runEvaluation.js';
import { captureIo, startScriptedEndpoint, type ScriptedAnswer } from '../helpers/scriptedEndpoint.js';

const spec = loadRedactorSpec();
const f = (string: string, pii_type: string) => ({ string, pii_type });
const mask = (value: string, start: number, end: number, label: string) => ({ value, start, end, label });

const ROWS = [
  { source_text: 'Call Anna Rossi at 555-0100.', privacy_mask: [mask('Anna', 5, 9, 'FIRSTNAME'), mask('Rossi', 10, 15, 'LASTNAME'), mask('555-0100', 19, 27, 'PHONENUMBER')] },
  { source_text: 'Maria Luisa lives in Paris.', privacy_mask: [mask('Maria', 0, 5, 'FIRSTNAME'), mask('Luisa', 6, 11, 'MIDDLENAME'), mask('Paris', 21, 26, 'CITY')] },
  { source_text: 'No personal data here.', privacy_mask: [] },
].map((row) => ({ ...row, language: 'en', set: 'test' }));

// "good": all right except the middle name called a first name. "weak": one of three, a
// hallucinated city, and a text answer instead of a call; it is also slower.
const ANSWERS: Record<string, ScriptedAnswer[]> = {
  'good-model': [
    { fields: [f('Anna', 'FIRSTNAME'), f('Rossi', 'LASTNAME'), f('555-0100', 'PHONENUMBER')] },
    { fields: [f('Maria', 'FIRSTNAME'), f('Luisa', 'FIRSTNAME'), f('Paris', 'CITY')] },
    { fields: [] },
  ],
  base: [
    { fields: [f('Anna', 'FIRSTNAME')], delayMs: 150 },
    { fields: [f('Maria', 'FIRSTNAME'), f('Luisa', 'MIDDLENAME'), f('Paris', 'CITY'), f('London', 'CITY')], delayMs: 150 },
    { text: 'There is nothing to redact.', delayMs: 150 },
  ],
};

const endpoint = await startScriptedEndpoint((request) => ANSWERS[request.model][ROWS.findIndex((r) => r.source_text === request.document)]);
t.teardown(endpoint.close);
const dir = t.testdir();
const setFile = path.join(dir, 'test.jsonl');
writeFileSync(setFile, `${ROWS.map((r) => JSON.stringify(r)).join('\n')}\n`);

const baseArgs = (out: string) => [
  '--set', setFile,
  '--system', `good=${endpoint.url}#good-model`,
  '--system', `weak=${endpoint.url}#base+adapterA:0.5+adapterB`,
  '--price', 'good=2', '--price', 'weak=0.5',
  '--api-key-env', 'weak=WEAK_KEY',
  '--concurrency', '3',
  '--out', out,
];

t.test('report numbers match the hand computation', async (t) => {
  const out = path.join(dir, 'run');
  const capture = captureIo({ WEAK_KEY: 'weak-secret' });
  t.equal(await runEval(baseArgs(out), capture.io), 0, capture.stderr());
  const report: EvalReport = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
  const [good, weak] = report.systems;
  t.equal(report.samples, 3);

  // Sample scores: good (1 + (1 + 0.75 + 1)/3 + 1)/3; weak (1/3 + 3/4 + 0)/3.
  t.equal(good.score, (1 + 2.75 / 3 + 1) / 3);
  t.equal(weak.score, (1 / 3 + 3 / 4 + 0) / 3);
  // Exact spans. good: 6 predicted, 5 right (Luisa has the wrong label), 6 true.
  t.same(good.exact, { precision: 5 / 6, recall: 5 / 6, f1: 5 / 6 });
  // weak: Anna, Maria, Luisa, Paris right; London is not in the text: 5 predicted, 4 right, 6 true.
  t.equal(weak.exact.precision, 4 / 5);
  t.equal(weak.exact.recall, 4 / 6);
  t.equal(weak.exact.f1, (2 * (4 / 5) * (4 / 6)) / (4 / 5 + 4 / 6));
  const firstName = good.labels.find((l) => l.label === 'FIRSTNAME')!;
  t.same([firstName.truth, firstName.predicted, firstName.exact.precision, firstName.exact.recall], [2, 3, 2 / 3, 1]);
  t.equal(good.labels.find((l) => l.label === 'MIDDLENAME')!.exact.f1, 0);
  t.equal(weak.labels.find((l) => l.label === 'CITY')!.exact.precision, 1 / 2);
  // Leaks: good none; weak leaves Rossi and 555-0100 (2 of the 6 strings of its 2 answered rows).
  t.equal(good.leakRate, 0);
  t.equal(weak.leakRate, 2 / 6);
  t.same([good.invalidCalls, weak.invalidCalls, weak.invalidRate], [0, 1, 1 / 3]);
  t.same(weak.failures, { invalid: 1 });
  t.same(good.tokens, { prompt: 600, completion: 60, total: 660, meanPerSample: 220 });
  t.equal(good.costUsd, (660 * 2) / 1e6);
  t.equal(weak.costUsd, (660 * 0.5) / 1e6);
  t.ok(weak.latencyMs.p50! >= 150 && weak.latencyMs.p95! >= 150, 'the slow system is measured slow');
  t.ok(good.latencyMs.p50! < weak.latencyMs.p50!);
  t.same(weak.lora, [{ name: 'adapterA', scale: 0.5 }, { name: 'adapterB', scale: 1 }]);

  const markdown = readFileSync(path.join(out, 'report.md'), 'utf8');
  t.match(markdown, /\| good \| good-model \| 0\.972 \| 0\.833 \|/);
  t.match(markdown, /\| weak \| base\+adapterA:0\.5\+adapterB \| 0\.361 \|/);
  t.match(markdown, /weak: invalid 1/);
  t.match(capture.stdout(), /\| system \| model \| score/);
  t.match(capture.stderr(), /eval: 6\/6 calls .* done/);
  const html = readFileSync(path.join(out, 'report.html'), 'utf8');
  t.match(html, /<svg id="label-f1"/);
  t.notMatch(html, /(src|href)="?https?:/, 'nothing external');
  t.equal(readFileSync(path.join(out, 'samples.jsonl'), 'utf8').trim().split('\n').length, 6);
});

t.test('every request is the redactor call: spec prompt, forced redact tool, lora, key', async (t) => {
  const requests = endpoint.requests;
  t.equal(requests.length, 6);
  for (const { body } of requests) {
    t.same(body.messages[0], { role: 'system', content: spec.systemPrompt });
    t.same(body.tools, [spec.tool]);
    t.same(body.tool_choice, { type: 'function', function: { name: 'redact' } });
    t.equal(body.temperature, 0);
  }
  const weak = requests.filter((r) => r.model === 'base');
  t.same(weak[0].body.lora, [{ name: 'adapterA', scale: 0.5 }, { name: 'adapterB', scale: 1 }]);
  t.equal(weak[0].headers.authorization, 'Bearer weak-secret');
  const good = requests.find((r) => r.model === 'good-model')!;
  t.equal(good.body.lora, undefined, 'no lora field without adapters');
  t.equal(good.headers.authorization, 'Bearer unused');
});

t.test('--json prints the report, --limit takes the first rows', async (t) => {
  const capture = captureIo({ WEAK_KEY: 'k' });
  t.equal(await runEval([...baseArgs(path.join(dir, 'json')), '--json', '--limit', '2'], capture.io), 0);
  const report: EvalReport = JSON.parse(capture.stdout());
  t.equal(report.samples, 2);
  t.equal(report.systems[1].invalidCalls, 0, 'the text answer was row 3');
  t.equal(capture.stderr(), '', 'no progress lines in --json mode');
});

t.test('malformed and truncated calls and a dead endpoint are invalid calls, not crashes', async (t) => {
  const odd = await startScriptedEndpoint((request) =>
    request.document.startsWith('Call') ? { rawArguments: '{"fields_to_redact": [{"string": "An' } : { fields: [f('Paris', 'TOWN')] },
  );
  t.teardown(odd.close);
  const capture = captureIo();
  const out = path.join(dir, 'odd');
  const args = ['--set', setFile, '--system', `odd=${odd.url}#m`, '--system', 'dead=http://127.0.0.1:9/v1#m', '--retries', '0', '--out', out, '--json'];
  t.equal(await runEval(args, capture.io), 0);
  const [oddReport, dead] = (JSON.parse(capture.stdout()) as EvalReport).systems;
  t.same(oddReport.failures, { truncated: 1, invalid: 2 }, 'cut-off JSON, and a label outside the enum');
  t.equal(oddReport.score, 0);
  t.same(dead.failures, { connection: 3 });
  t.equal(dead.leakRate, null, 'nothing answered, nothing to leak');
});

t.test('usage mistakes exit 2 with the usage', async (t) => {
  for (const args of [
    ['--set', setFile, '--out', dir],
    ['--set', setFile, '--out', dir, '--system', 'nohash=http://127.0.0.1:1/v1'],
    ['--set', setFile, '--out', dir, '--system', `a=${endpoint.url}#m`, '--price', 'b=1'],
    ['--set', path.join(dir, 'missing.jsonl'), '--out', dir, '--system', `a=${endpoint.url}#m`],
    ['--set', setFile, '--out', dir, '--system', `a=${endpoint.url}#m`, '--api-key-env', 'UNSET_VARIABLE'],
  ]) {
    const capture = captureIo();
    t.equal(await runEval(args, capture.io), 2, args.join(' '));
    t.match(capture.stderr(), /Usage: adaptd eval/);
  }
});

t.test('--help prints the usage', async (t) => {
  const capture = captureIo();
  t.equal(await runEval(['--help'], capture.io), 0);
  t.match(capture.stdout(), /^Usage: adaptd eval --set/);
});

t.test('hybrid detectors add what the rules find to what the model said', async (t) => {
  const emailFile = path.join(dir, 'email.jsonl');
  const text = 'Write to anna.rossi@example.com today.';
  writeFileSync(emailFile, `${JSON.stringify({ source_text: text, privacy_mask: [mask('anna.rossi@example.com', 9, 31, 'EMAIL')], language: 'en', set: 'test' })}\n`);
  const silent = await startScriptedEndpoint(() => ({ fields: [] }));
  t.teardown(silent.close);
  const scores: Record<string, [number, number | null]> = {};
  for (const detectors of ['llm', 'hybrid']) {
    const capture = captureIo();
    t.equal(await runEval(['--set', emailFile, '--system', `s=${silent.url}#m`, '--detectors', detectors, '--out', path.join(dir, detectors), '--json'], capture.io), 0);
    const [system] = (JSON.parse(capture.stdout()) as EvalReport).systems;
    scores[detectors] = [system.score, system.leakRate];
  }
  t.same(scores, { llm: [0, 1], hybrid: [1, 0] });
});

t.test('system specs', async (t) => {
  t.same(parseSystemSpec('v2=http://127.0.0.1:8080#llama-3+redactor:0.7+style'), {
    name: 'v2',
    baseURL: 'http://127.0.0.1:8080/v1',
    model: 'llama-3',
    lora: [{ name: 'redactor', scale: 0.7 }, { name: 'style', scale: 1 }],
  });
  t.same(parseSystemSpec('o=https://example.invalid/openai/v1#gpt-4o').baseURL, 'https://example.invalid/openai/v1');
  t.same(parseSystemSpec('x=http://127.0.0.1:1/v1#llama3:8b').lora, [], 'a colon in the model name is not a scale');
});
