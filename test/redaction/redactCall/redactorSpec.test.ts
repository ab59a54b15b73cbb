import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { RedactorSpecError } from '../../../src/redaction/redactionErrors.js';
import { loadRedactorSpec, renderSystemPrompt } from '../../../src/redaction/redactCall/redactorSpec.js';

// The 56 labels of pii-masking-200k, as redactor.md spells them.
const SPEC_LABELS = `ACCOUNTNAME, ACCOUNTNUMBER, AGE, AMOUNT, BIC, BITCOINADDRESS, BUILDINGNUMBER, CITY, COMPANYNAME, COUNTY,
CREDITCARDCVV, CREDITCARDISSUER, CREDITCARDNUMBER, CURRENCY, CURRENCYCODE, CURRENCYNAME, CURRENCYSYMBOL, DATE, DOB,
EMAIL, ETHEREUMADDRESS, EYECOLOR, FIRSTNAME, GENDER, HEIGHT, IBAN, IP, IPV4, IPV6, JOBAREA, JOBTITLE, JOBTYPE,
LASTNAME, LITECOINADDRESS, MAC, MASKEDNUMBER, MIDDLENAME, NEARBYGPSCOORDINATE, ORDINALDIRECTION, PASSWORD,
PHONEIMEI, PHONENUMBER, PIN, PREFIX, SECONDARYADDRESS, SEX, SSN, STATE, STREET, TIME, URL, USERAGENT, USERNAME,
VEHICLEVIN, VEHICLEVRM, ZIPCODE`.split(/,\s*/);

t.test('the defaults carry the 56 labels of redactor.md', async (t) => {
  const spec = loadRedactorSpec();
  t.equal(SPEC_LABELS.length, 56);
  t.same(spec.categories.map((c) => c.label), SPEC_LABELS);
  t.same(spec.labels, SPEC_LABELS, 'tool enum');
  for (const c of spec.categories) t.match(c.description, /\S.*\.$/, `${c.label} has a one-line description`);
});

t.test('the default prompt names the task and lists every category with its description', async (t) => {
  const { systemPrompt, categories } = loadRedactorSpec();
  t.match(systemPrompt, /expert trained to redact sensitive information/);
  t.notMatch(systemPrompt, /\{\{categories\}\}/);
  for (const c of categories) t.ok(systemPrompt.includes(`- ${c.label}: ${c.description}`), c.label);
});

t.test('the default tool is the redact function of redactor.md', async (t) => {
  const { tool } = loadRedactorSpec();
  t.equal(tool.type, 'function');
  t.equal(tool.function.name, 'redact');
  const params = tool.function.parameters as Record<string, any>;
  t.same(params.required, ['fields_to_redact']);
  t.equal(params.additionalProperties, false);
  const item = params.properties.fields_to_redact.items;
  t.same(item.required, ['string', 'pii_type']);
  t.equal(item.additionalProperties, false);
  t.same(Object.keys(item.properties), ['string', 'pii_type']);
});

t.test('user files replace the defaults', async (t) => {
  const dir = t.testdir({
    'prompt.txt': 'Find PII.\n{{categories}}\nAnswer with a call.\n',
    'categories.json': JSON.stringify([
      { label: 'GIVENNAME', description: 'A first name.' },
      { label: 'SURNAME', description: 'A last name.' },
    ]),
  });
  const tool = JSON.parse(readFileSync(new URL('../../../src/redaction/defaults/redact-tool.json', import.meta.url), 'utf8'));
  tool.function.parameters.properties.fields_to_redact.items.properties.pii_type.enum = ['GIVENNAME', 'SURNAME'];
  writeFileSync(join(dir, 'tool.json'), JSON.stringify(tool));
  const spec = loadRedactorSpec({
    promptPath: join(dir, 'prompt.txt'),
    categoriesPath: join(dir, 'categories.json'),
    toolPath: join(dir, 'tool.json'),
  });
  t.equal(spec.systemPrompt, 'Find PII.\n- GIVENNAME: A first name.\n- SURNAME: A last name.\nAnswer with a call.');
  t.same(spec.labels, ['GIVENNAME', 'SURNAME']);
});

t.test('a bad tool or prompt file is a clear RedactorSpecError', async (t) => {
  const validTool = JSON.parse(readFileSync(new URL('../../../src/redaction/defaults/redact-tool.json', import.meta.url), 'utf8'));
  const noEnum = structuredClone(validTool);
  delete noEnum.function.parameters.properties.fields_to_redact.items.properties.pii_type.enum;
  const unknownLabel = structuredClone(validTool);
  unknownLabel.function.parameters.properties.fields_to_redact.items.properties.pii_type.enum.push('SHOESIZE');
  const dir = t.testdir({
    'not-json.json': '{"type": "function",',
    'wrong-type.json': JSON.stringify({ ...validTool, type: 'retrieval' }),
    'no-enum.json': JSON.stringify(noEnum),
    'unknown-label.json': JSON.stringify(unknownLabel),
  });
  const cases: Array<[file: string, message: RegExp]> = [
    ['not-json.json', /redact tool file .*not-json\.json is not valid JSON/],
    ['wrong-type.json', /wrong-type\.json is invalid: type:/],
    ['no-enum.json', /is invalid: function\.parameters\.properties\.fields_to_redact\.items\.properties\.pii_type\.enum/],
    ['unknown-label.json', /does not describe: SHOESIZE/],
    ['missing.json', /cannot read redact tool file .*missing\.json: ENOENT/],
  ];
  for (const [file, message] of cases) {
    t.throws(() => loadRedactorSpec({ toolPath: join(dir, file) }), { name: 'RedactorSpecError', message }, file);
  }
  t.throws(() => loadRedactorSpec({ promptPath: join(dir, 'nope.txt') }), RedactorSpecError);
});

t.test('renderSystemPrompt leaves a prompt without placeholder as written', async (t) => {
  t.equal(renderSystemPrompt('Just redact.\n', [{ label: 'A', description: 'a.' }]), 'Just redact.');
});
