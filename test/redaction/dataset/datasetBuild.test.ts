import Ajv from 'ajv';
import t from 'tap';
import { buildDataset, type BuildOptions } from '../../../src/redaction/dataset/buildDataset.js';
import { DEFAULT_LABEL_MAP } from '../../../src/redaction/dataset/labelMap.js';
import { maskProblem, renderTargetText } from '../../../src/redaction/dataset/PiiRow.js';
import { assignSplit, normaliseForDedup, parseSplitRatios, type SplitName } from '../../../src/redaction/dataset/splitAssignment.js';
import { synthesizeRows } from '../../../src/redaction/dataset/synthesizeRows.js';
import { loadRedactorSpec } from '../../../src/redaction/redactCall/redactorSpec.js';

const spec = loadRedactorSpec();
const options: BuildOptions = { spec, labelMap: DEFAULT_LABEL_MAP, seed: 5, split: [0.8, 0.1, 0.1] };
const validateArguments = new Ajv.default({ strict: false }).compile(spec.tool.function.parameters);

async function build(lines: string[], overrides: Partial<BuildOptions> = {}) {
  const out: Record<SplitName, string[]> = { train: [], validation: [], test: [] };
  const summary = await buildDataset(lines, { ...options, ...overrides }, (split, line) => void out[split].push(line));
  return { out, summary };
}

const row = (source_text: string, privacy_mask: Array<{ value: string; start: number; end: number; label: string }>, language = 'en') =>
  JSON.stringify({ source_text, target_text: 'ignored', privacy_mask, language, set: 'train' });

t.test('label map renames later releases, null drops, unknown labels are reported', async (t) => {
  const lines = [
    row('Hi Anna Rossi', [{ value: 'Anna', start: 3, end: 7, label: 'GIVENNAME' }, { value: 'Rossi', start: 8, end: 13, label: 'SURNAME' }]),
    row('Card 12345', [{ value: '12345', start: 5, end: 10, label: 'IDCARDNUM' }]),
    row('Tax 999', [{ value: '999', start: 4, end: 7, label: 'TAXNUM' }]),
  ];
  const { out, summary } = await build(lines, { split: [0, 0, 1], labelMap: { ...DEFAULT_LABEL_MAP, TAXNUM: null } });
  const written = out.test.map((line) => JSON.parse(line));
  t.same(written[0].privacy_mask.map((m: { label: string }) => m.label), ['FIRSTNAME', 'LASTNAME']);
  t.equal(written[0].target_text, 'Hi [FIRSTNAME] [LASTNAME]', 'target text follows the new labels');
  t.same(written[1].privacy_mask, [], 'TAXNUM mapped to null: the entity is dropped');
  t.equal(summary.droppedEntities, 1);
  t.same(summary.bad.byReason, { 'unknown label IDCARDNUM': 1 });
  t.same(summary.bad.firstLines['unknown label IDCARDNUM'], [2]);
});

t.test('bad lines are counted with their line numbers, never fatal', async (t) => {
  const good = row('Call Anna', [{ value: 'Anna', start: 5, end: 9, label: 'FIRSTNAME' }]);
  const lines = [
    good,
    '{not json',
    '',
    JSON.stringify({ text: 'no schema' }),
    row('Call Anna!', [{ value: 'Anna', start: 4, end: 8, label: 'FIRSTNAME' }]),
    row('Call Bob', [{ value: 'Bob', start: 5, end: 40, label: 'FIRSTNAME' }]),
  ];
  const { summary } = await build(lines);
  t.equal(summary.lines, 5, 'blank lines are not lines');
  t.equal(summary.bad.count, 4);
  t.same(summary.bad.firstLines, {
    'not JSON': [2],
    'not a pii-masking row (source_text)': [4],
    'offsets do not select the value': [5],
    'offsets out of range': [6],
  });
  t.equal(summary.written.train + summary.written.validation + summary.written.test, 1);
});

t.test('offsets count code points, as the Python-written data set does', async (t) => {
  // The emoji is two UTF-16 units but one code point.
  const text = '😀 Anna';
  t.equal(maskProblem(text, [{ value: 'Anna', start: 2, end: 6, label: 'FIRSTNAME' }]), null);
  t.equal(renderTargetText(text, [{ value: 'Anna', start: 2, end: 6, label: 'FIRSTNAME' }]), '😀 [FIRSTNAME]');
  t.not(maskProblem(text, [{ value: 'Anna', start: 3, end: 7, label: 'FIRSTNAME' }]), null);
});

t.test('duplicates by normalised text and other languages are left out', async (t) => {
  const lines = [
    row('Hello  Anna', [{ value: 'Anna', start: 7, end: 11, label: 'FIRSTNAME' }]),
    row('hello anna', [{ value: 'anna', start: 6, end: 10, label: 'FIRSTNAME' }]),
    row('Bonjour Anne', [{ value: 'Anne', start: 8, end: 12, label: 'FIRSTNAME' }], 'fr'),
  ];
  const { summary } = await build(lines, { languages: ['en'] });
  t.equal(summary.duplicates, 1);
  t.equal(summary.otherLanguage, 1);
  t.equal(normaliseForDedup(' Hello\u00a0 ANNA '), 'hello anna');
});

t.test('splits are disjoint, near the ratios and stable for a seed whatever the order', async (t) => {
  const lines = [...synthesizeRows({ rows: 400, seed: 3 })].map((r) => JSON.stringify(r));
  const first = await build(lines);
  const shuffled = await build([...lines].reverse().slice(0, 300));
  const membership = (out: Record<SplitName, string[]>) => {
    const map = new Map<string, SplitName>();
    for (const split of ['train', 'validation'] as const) for (const line of out[split]) map.set(JSON.parse(line).messages[1].content, split);
    for (const line of out.test) map.set(JSON.parse(line).source_text, 'test');
    return map;
  };
  const a = membership(first.out);
  const b = membership(shuffled.out);
  t.equal(a.size, 400, 'every text in exactly one split');
  for (const [text, split] of b) t.equal(a.get(text), split);
  t.ok(first.summary.written.train > 280 && first.summary.written.test > 15, JSON.stringify(first.summary.written));
  const reseeded = membership((await build(lines, { seed: 6 })).out);
  t.ok([...a].some(([text, split]) => reseeded.get(text) !== split), 'another seed, another split');
});

t.test('fine-tuning lines: system prompt, document, a redact call valid against the tool', async (t) => {
  const lines = [...synthesizeRows({ rows: 60, seed: 9 })].map((r) => JSON.stringify(r));
  const { out } = await build(lines, { split: [1, 1, 0] });
  for (const line of [...out.train, ...out.validation]) {
    const example = JSON.parse(line);
    t.same(example.tools, [spec.tool]);
    const [system, user, assistant] = example.messages;
    t.same(system, { role: 'system', content: spec.systemPrompt });
    t.equal(user.role, 'user');
    t.equal(assistant.tool_calls[0].function.name, 'redact');
    const args = JSON.parse(assistant.tool_calls[0].function.arguments);
    t.ok(validateArguments(args), JSON.stringify(validateArguments.errors));
    for (const field of args.fields_to_redact) t.ok(user.content.includes(field.string));
  }
});

t.test('split ratios parse', async (t) => {
  t.same(parseSplitRatios('80,10,10'), [80, 10, 10]);
  t.equal(parseSplitRatios('0.5,0.5'), null);
  t.equal(parseSplitRatios('0,0,0'), null);
  t.equal(assignSplit('x', 1, [0, 0, 1]), 'test');
});
