import t from 'tap';
import { applyRedaction } from '../../../src/redaction/redactCall/applyRedaction.js';
import { RedactionInputError } from '../../../src/redaction/redactionErrors.js';
import { resolveSpans, type Proposal } from '../../../src/redaction/resolveSpans.js';

const text = 'Anna Meyer (anna@example.com) wrote to Anna.';
const proposals: Proposal[] = [
  { string: 'Anna', pii_type: 'FIRSTNAME', source: 'llm' },
  { string: 'Meyer', pii_type: 'LASTNAME', source: 'llm' },
  { string: 'anna@example.com', pii_type: 'EMAIL', source: 'rules' },
];
const { entities } = resolveSpans(text, proposals);

t.test('label mode names the category', async (t) => {
  t.equal(applyRedaction(text, entities, 'label'), '[FIRSTNAME] [LASTNAME] ([EMAIL]) wrote to [FIRSTNAME].');
});

t.test('mask mode keeps every length, so offsets still line up', async (t) => {
  const masked = applyRedaction(text, entities, 'mask');
  t.equal(masked, '**** ***** (****************) wrote to ****.');
  t.equal(masked.length, text.length);
  for (const e of entities) for (const o of e.occurrences) t.equal(masked.slice(o.start, o.end), '*'.repeat(o.end - o.start));
});

t.test('mask mode masks a character outside the BMP with one *', async (t) => {
  const withEmoji = 'Hi 😀Zoë😀!';
  const found = resolveSpans(withEmoji, [{ string: '😀Zoë😀', pii_type: 'FIRSTNAME', source: 'llm' }]).entities;
  t.equal(applyRedaction(withEmoji, found, 'mask'), 'Hi *****!');
});

t.test('pseudonymize mode asks the source once per entity and uses the fake everywhere', async (t) => {
  const asked: string[] = [];
  const source = {
    pseudonymize(value: string, piiType: string) {
      asked.push(`${piiType}:${value}`);
      return `<${value.length}>`;
    },
  };
  t.equal(applyRedaction(text, entities, 'pseudonymize', source), '<4> <5> (<16>) wrote to <4>.');
  t.same(asked.sort(), ['EMAIL:anna@example.com', 'FIRSTNAME:Anna', 'LASTNAME:Meyer']);
});

t.test('pseudonymize mode without a source is an input error', async (t) => {
  t.throws(() => applyRedaction(text, entities, 'pseudonymize'), RedactionInputError);
});

t.test('no entities leaves the text as it is', async (t) => {
  t.equal(applyRedaction(text, [], 'label'), text);
});
