import Ajv from 'ajv';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { runDatasetBuild, runDatasetSynth } from '../../src/cli/datasetCommand.js';
import { sliceCodePoints } from '../../src/redaction/dataset/PiiRow.js';
import { loadRedactorSpec } from '../../src/redaction/redactCall/redactorSpec.js';
import { captureIo } from '../helpers/scriptedEndpoint.js';

const spec = loadRedactorSpec();
const validateArguments = new Ajv.default({ strict: false }).compile(spec.tool.function.parameters);
const dir = t.testdir();
const rowsFile = path.join(dir, 'rows.jsonl');
const readLines = (file: string) => readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);

t.test('synth writes the rows it says, the same for the same seed', async (t) => {
  const capture = captureIo();
  t.equal(await runDatasetSynth(['--out', rowsFile, '--rows', '300', '--seed', '42', '--json'], capture.io), 0);
  t.same(JSON.parse(capture.stdout()), { out: rowsFile, rows: 300, seed: 42, languages: ['en', 'fr', 'de', 'it'] });
  t.equal(readLines(rowsFile).length, 300);
  const again = path.join(dir, 'again.jsonl');
  await runDatasetSynth(['--out', again, '--rows', '300', '--seed', '42'], captureIo().io);
  t.equal(readFileSync(again, 'utf8'), readFileSync(rowsFile, 'utf8'));
  t.notOk(existsSync(`${rowsFile}.partial`), 'no temporary file left');
});

t.test('synth → build → fine-tuning JSONL that parses and validates, disjoint stable splits', async (t) => {
  // A broken line and a duplicate in the input are reported, not fatal.
  const input = path.join(dir, 'input.jsonl');
  writeFileSync(input, readFileSync(rowsFile, 'utf8'));
  appendFileSync(input, '{"source_text": "cut off\n');
  appendFileSync(input, `${readLines(rowsFile)[0]}\n`);
  const out = path.join(dir, 'built');
  const capture = captureIo();
  t.equal(await runDatasetBuild([input, '--out', out, '--seed', '7', '--split', '0.8,0.1,0.1'], capture.io), 0);
  t.match(capture.stdout(), /read 302 lines: \d+ train, \d+ validation, \d+ test \(1 duplicates, 0 in other languages, 1 bad lines\)/);
  t.match(capture.stdout(), /not JSON: 1 \(first at line 301\)/);

  const texts = new Map<string, string>();
  for (const split of ['train', 'validation'] as const) {
    for (const line of readLines(path.join(out, `${split}.jsonl`))) {
      const example = JSON.parse(line);
      const [system, user, assistant] = example.messages;
      t.equal(system.content, spec.systemPrompt);
      t.same(example.tools, [spec.tool]);
      t.same(assistant.tool_calls[0].type, 'function');
      const args = JSON.parse(assistant.tool_calls[0].function.arguments);
      t.ok(validateArguments(args), JSON.stringify(validateArguments.errors));
      t.notOk(texts.has(user.content), 'no text in two splits');
      texts.set(user.content, split);
    }
  }
  const testRows = readLines(path.join(out, 'test.jsonl')).map((line) => JSON.parse(line));
  for (const row of testRows) {
    for (const entry of row.privacy_mask) t.equal(sliceCodePoints(row.source_text, entry.start, entry.end), entry.value);
    t.notOk(texts.has(row.source_text), 'test rows are in no other split');
    texts.set(row.source_text, 'test');
  }
  t.equal(texts.size, 300);
  const summary = JSON.parse(readFileSync(path.join(out, 'build-summary.json'), 'utf8'));
  t.same(summary.written.train + summary.written.validation + summary.written.test, 300);

  // Same seed on the rows in another order and only half of them: each row keeps its split.
  const half = path.join(dir, 'half.jsonl');
  writeFileSync(half, `${readLines(rowsFile).reverse().slice(0, 150).join('\n')}\n`);
  const rebuilt = path.join(dir, 'rebuilt');
  t.equal(await runDatasetBuild([half, '--out', rebuilt, '--seed', '7', '--json'], captureIo().io), 0);
  for (const row of readLines(path.join(rebuilt, 'test.jsonl')).map((line) => JSON.parse(line))) t.equal(texts.get(row.source_text), 'test');
  for (const line of readLines(path.join(rebuilt, 'train.jsonl'))) t.equal(texts.get(JSON.parse(line).messages[1].content), 'train');
});

t.test('build keeps only the asked languages', async (t) => {
  const out = path.join(dir, 'german');
  const capture = captureIo();
  t.equal(await runDatasetBuild([rowsFile, '--out', out, '--languages', 'de', '--json'], capture.io), 0);
  const summary = JSON.parse(capture.stdout());
  t.equal(summary.otherLanguage, 225);
  for (const row of readLines(path.join(out, 'test.jsonl')).map((line) => JSON.parse(line))) t.equal(row.language, 'de');
});

t.test('usage mistakes exit 2; a missing input says so', async (t) => {
  for (const [run, args, message] of [
    [runDatasetSynth, ['--rows', '3'], /--out is required/],
    [runDatasetSynth, ['--out', path.join(dir, 'x'), '--rows', 'many'], /--rows must be a whole number/],
    [runDatasetSynth, ['--out', path.join(dir, 'x'), '--languages', 'es'], /not es/],
    [runDatasetBuild, ['--out', dir], /exactly one input file/],
    [runDatasetBuild, [rowsFile, '--out', dir, '--split', '1,2'], /--split/],
    [runDatasetBuild, [path.join(dir, 'none.jsonl'), '--out', path.join(dir, 'none')], /cannot read/],
  ] as const) {
    const capture = captureIo();
    t.equal(await run([...args], capture.io), 2);
    t.match(capture.stderr(), message);
  }
});
