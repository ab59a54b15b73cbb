import t from 'tap';
import { maskProblem, renderTargetText, sliceCodePoints } from '../../../src/redaction/dataset/PiiRow.js';
import { PII_VALUE_FAKERS } from '../../../src/redaction/dataset/piiValueFakers.js';
import { synthesizeRows } from '../../../src/redaction/dataset/synthesizeRows.js';
import { loadRedactorSpec } from '../../../src/redaction/redactCall/redactorSpec.js';

const spec = loadRedactorSpec();
const rows = [...synthesizeRows({ rows: 240, seed: 11 })];

t.test('the same seed gives the same rows, another seed other rows', async (t) => {
  t.same([...synthesizeRows({ rows: 240, seed: 11 })], rows);
  const other = [...synthesizeRows({ rows: 20, seed: 12 })];
  t.not(other[0].source_text, rows[0].source_text);
});

t.test('every row is in the pii-masking-200k schema with exact offsets', async (t) => {
  for (const row of rows) {
    t.same(Object.keys(row).sort(), ['language', 'privacy_mask', 'set', 'source_text', 'target_text']);
    t.equal(maskProblem(row.source_text, row.privacy_mask), null, row.source_text);
    for (const entry of row.privacy_mask) t.equal(sliceCodePoints(row.source_text, entry.start, entry.end), entry.value);
    t.equal(row.target_text, renderTargetText(row.source_text, row.privacy_mask));
    t.notMatch(row.source_text, /\{[A-Z0-9]+\}/, 'no slot left unfilled');
    t.ok(['train', 'validation'].includes(row.set));
  }
});

t.test('all 56 labels appear in each of the four languages', async (t) => {
  t.same(Object.keys(PII_VALUE_FAKERS).sort(), [...spec.labels].sort(), 'one faker per label of the spec');
  for (const language of ['en', 'fr', 'de', 'it']) {
    const seen = new Set(rows.filter((r) => r.language === language).flatMap((r) => r.privacy_mask.map((m) => m.label)));
    t.same([...seen].sort(), [...spec.labels].sort(), language);
  }
});

t.test('rows are varied: no repeated text, several shapes', async (t) => {
  t.equal(new Set(rows.map((r) => r.source_text)).size, rows.length);
  t.ok(new Set(rows.map((r) => r.target_text)).size > rows.length / 2, 'many distinct templates combinations');
  const shares = rows.filter((r) => r.set === 'validation').length / rows.length;
  t.ok(shares > 0.05 && shares < 0.4, `about a fifth marked validation (${shares})`);
});

t.test('languages can be restricted', async (t) => {
  const french = [...synthesizeRows({ rows: 10, seed: 1, languages: ['fr'] })];
  t.same(new Set(french.map((r) => r.language)), new Set(['fr']));
});
