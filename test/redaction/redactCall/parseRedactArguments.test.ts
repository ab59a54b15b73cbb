import t from 'tap';
import { endsInsideValue, parseRedactArguments } from '../../../src/redaction/redactCall/parseRedactArguments.js';
import { RedactionCallError } from '../../../src/redaction/redactionErrors.js';
import { loadRedactorSpec } from '../../../src/redaction/redactCall/redactorSpec.js';

const { tool } = loadRedactorSpec();
const SECRET = 'Jane Secret-Doe';

t.test('valid arguments are returned whole', async (t) => {
  const json = JSON.stringify({ fields_to_redact: [{ string: SECRET, pii_type: 'FIRSTNAME' }, { string: 'a@b.de', pii_type: 'EMAIL' }] });
  t.same(parseRedactArguments(json, tool).fields_to_redact, [
    { string: SECRET, pii_type: 'FIRSTNAME' },
    { string: 'a@b.de', pii_type: 'EMAIL' },
  ]);
  t.same(parseRedactArguments('{"fields_to_redact": []}', tool), { fields_to_redact: [] }, 'nothing to redact is valid');
});

t.test('anything else throws a RedactionCallError with the right reason and no document text', async (t) => {
  const cases: Array<[why: string, json: string, reason: string]> = [
    ['cut inside a string', `{"fields_to_redact": [{"string": "${SECRET}`, 'truncated'],
    ['cut after a value', `{"fields_to_redact": [{"string": "${SECRET}", "pii_type": "FIRSTNAME"}`, 'truncated'],
    ['cut inside a literal', '{"fields_to_redact": [], "x": tru', 'truncated'],
    ['cut after an escape', `{"fields_to_redact": [{"string": "${SECRET}\\`, 'truncated'],
    ['empty', '', 'malformed'],
    ['prose', `I found ${SECRET} in the text.`, 'malformed'],
    ['a closing bracket too many', `{"fields_to_redact": []}}`, 'malformed'],
    ['single quotes', `{'fields_to_redact': [{'string': '${SECRET}', 'pii_type': 'FIRSTNAME'}]}`, 'malformed'],
    ['missing list', '{}', 'invalid'],
    ['a list at the top', `[{"string": "${SECRET}", "pii_type": "FIRSTNAME"}]`, 'invalid'],
    ['a label outside the enum', `{"fields_to_redact": [{"string": "${SECRET}", "pii_type": "NAME"}]}`, 'invalid'],
    ['a number for the string', '{"fields_to_redact": [{"string": 42, "pii_type": "AGE"}]}', 'invalid'],
    ['a missing pii_type', `{"fields_to_redact": [{"string": "${SECRET}"}]}`, 'invalid'],
    ['an extra key in an item', `{"fields_to_redact": [{"string": "${SECRET}", "pii_type": "FIRSTNAME", "${SECRET}": 1}]}`, 'invalid'],
    ['an extra top-level key', '{"fields_to_redact": [], "note": "done"}', 'invalid'],
    ['one bad item among good ones', `{"fields_to_redact": [{"string": "ok", "pii_type": "CITY"}, {"string": "${SECRET}", "pii_type": "??"}]}`, 'invalid'],
  ];
  for (const [why, json, reason] of cases) {
    try {
      parseRedactArguments(json, tool);
      t.fail(`${why}: accepted`);
    } catch (error) {
      t.ok(error instanceof RedactionCallError, why);
      t.equal((error as RedactionCallError).reason, reason, why);
      t.notOk(String((error as Error).message).includes('Secret'), `${why}: message has no document text`);
      t.equal((error as Error).cause, undefined, `${why}: no cause carrying the text`);
    }
  }
});

t.test('invalid arguments name the JSON path', async (t) => {
  t.throws(() => parseRedactArguments('{"fields_to_redact": [{"string": "x", "pii_type": "NAME"}]}', tool), {
    message: /fields_to_redact\.0\.pii_type: invalid_value/,
  });
});

t.test('endsInsideValue tells a cut-off document from a complete one', async (t) => {
  t.ok(endsInsideValue('{"a": ["b"'));
  t.ok(endsInsideValue('{"a": "b\\"'));
  t.notOk(endsInsideValue('{"a": "}{"}'));
  t.notOk(endsInsideValue('nonsense'));
});
