import t from 'tap';
import { occurrencesOf, replaceSpans, resolveSpans, type Proposal } from '../../src/redaction/resolveSpans.js';

const llm = (string: string, pii_type: string): Proposal => ({ string, pii_type, source: 'llm' });
const rules = (string: string, pii_type: string): Proposal => ({ string, pii_type, source: 'rules' });

/** [string, type, [[start, end], …]] per entity, to compare compactly. */
function summary(text: string, proposals: Proposal[]) {
  const { entities, dropped } = resolveSpans(text, proposals);
  return { entities: entities.map((e) => [e.string, e.pii_type, e.occurrences.map((o) => [o.start, o.end])]), dropped };
}

t.test('every occurrence of a proposed string is found', async (t) => {
  t.same(summary('Anna met Bob. Bob called Anna.', [llm('Anna', 'FIRSTNAME'), llm('Bob', 'FIRSTNAME')]), {
    entities: [
      ['Anna', 'FIRSTNAME', [[0, 4], [25, 29]]],
      ['Bob', 'FIRSTNAME', [[9, 12], [14, 17]]],
    ],
    dropped: [],
  });
});

t.test('longer strings claim first; a shorter string inside a claimed span is skipped', async (t) => {
  const text = 'Anna Schmidt wrote; Anna replied.';
  t.same(summary(text, [llm('Anna', 'FIRSTNAME'), llm('Anna Schmidt', 'LASTNAME')]).entities, [
    ['Anna Schmidt', 'LASTNAME', [[0, 12]]],
    ['Anna', 'FIRSTNAME', [[20, 24]]],
  ]);
});

t.test('partly overlapping proposals never produce overlapping spans', async (t) => {
  const text = 'ref 12345-678';
  const { entities } = resolveSpans(text, [llm('12345', 'PIN'), llm('345-678', 'ACCOUNTNUMBER')]);
  t.same(entities.map((e) => e.string), ['345-678']);
  t.same(summary('aaaa', [llm('aa', 'PIN')]).entities, [['aa', 'PIN', [[0, 2], [2, 4]]]], 'self-overlap');
});

t.test('strings not in the text, and blank strings, are dropped once each', async (t) => {
  const result = summary('Call Anna.', [llm('Bob', 'FIRSTNAME'), llm('Anna', 'FIRSTNAME'), llm('  ', 'PIN'), llm('', 'PIN'), llm('Bob', 'LASTNAME')]);
  t.same(result.dropped, ['Bob', '  ', '']);
  t.same(result.entities, [['Anna', 'FIRSTNAME', [[5, 9]]]]);
});

t.test('identical proposals are one entity; the first proposal wins a tie', async (t) => {
  const text = 'IBAN GB82WEST12345698765432';
  const { entities } = resolveSpans(text, [
    llm('GB82WEST12345698765432', 'ACCOUNTNUMBER'),
    rules('GB82WEST12345698765432', 'IBAN'),
    llm('GB82WEST12345698765432', 'ACCOUNTNUMBER'),
  ]);
  t.same(entities.map((e) => [e.pii_type, e.source, e.occurrences.length]), [['ACCOUNTNUMBER', 'llm', 1]]);
});

t.test('entities are ordered by their first occurrence', async (t) => {
  const { entities } = resolveSpans('Bob, Anna Smith', [llm('Anna Smith', 'LASTNAME'), llm('Bob', 'FIRSTNAME')]);
  t.same(entities.map((e) => e.string), ['Bob', 'Anna Smith']);
});

t.test('occurrences do not cut words, unless the string only occurs inside words', async (t) => {
  const cases: Array<[text: string, needle: string, spans: number[][]]> = [
    ['age 25, paid 1250', '25', [[4, 6]]],
    ['Al read Algebra', 'Al', [[0, 2]]],
    ['Al-Khalil and Al', 'Al', [[0, 2], [14, 16]]],
    ['see johnsmith42', 'smith', [[8, 13]]],
    ['Zoë and Zoëlle', 'Zoë', [[0, 3]]],
  ];
  for (const [text, needle, spans] of cases) {
    t.same(occurrencesOf(text, needle).map((s) => [s.start, s.end]), spans, `${needle} in ${text}`);
  }
  t.same(occurrencesOf('see johnsmith42', 'smith', 'never'), [], 'never inside words');
});

t.test('replaceSpans rebuilds the text in order', async (t) => {
  const text = 'a1b22c';
  t.equal(replaceSpans(text, [{ start: 3, end: 5, replacement: '#' }, { start: 1, end: 2, replacement: '__' }]), 'a__b#c');
  t.equal(replaceSpans(text, []), text);
});
