import t from 'tap';
import { parseServerConfig } from '../../src/config/serverConfig.js';
import { GbnfGrammar } from '../../src/engine/GbnfMatcher.js';
import { seededRandom } from '../../src/demo/syntheticLlama.js';
import { gbnfChoice, GbnfRuleSet, renderGbnf } from '../../src/translate/gbnfRules.js';
import { DEFAULT_JSON_SCHEMA_LIMITS, jsonSchemaToGbnf, SchemaLimitError, type JsonSchemaLimits } from '../../src/translate/jsonSchemaGrammar.js';
import { toolCallGrammar, TOOL_CALL_SYNTAXES } from '../../src/translate/toolCallSyntax.js';
import { defsChain, nestedObjects } from '../helpers/jsonSchemaFixtures.js';
import { getTestLlama } from '../helpers/testLlama.js';

const LARGEST: JsonSchemaLimits = { maxSchemaNodes: 1e7, maxSchemaDepth: 256, maxSchemaEnumValues: 1e7, maxGrammarBytes: 1e9 };
const matches = (grammar: string, text: string) => GbnfGrammar.parse(grammar).start().accept(text)?.canEnd === true;


t.test('the defaults are the server options', async (t) => {
  const config = parseServerConfig([], {});
  for (const [name, value] of Object.entries(DEFAULT_JSON_SCHEMA_LIMITS)) t.equal(config[name as keyof JsonSchemaLimits], value, name);
});

t.test('each limit is a SchemaLimitError naming it, raised before the schema is converted', async (t) => {
  const cases: Array<[keyof JsonSchemaLimits, unknown]> = [
    ['maxSchemaNodes', { type: 'object', properties: Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`p${i}`, true])) }],
    ['maxSchemaDepth', nestedObjects(40)],
    ['maxSchemaDepth', { enum: [JSON.parse('['.repeat(100) + ']'.repeat(100))] }],
    ['maxSchemaDepth', defsChain(100)],
    ['maxSchemaEnumValues', { anyOf: [{ enum: Array.from({ length: 6000 }, (_, i) => i) }, { enum: Array.from({ length: 6000 }, (_, i) => -i) }] }],
    ['maxGrammarBytes', { type: 'object', properties: Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`s${i}`, { type: 'string', maxLength: 600 + i }])) }],
  ];
  for (const [limit, schema] of cases) {
    const started = performance.now();
    t.throws(() => jsonSchemaToGbnf(schema, { source: 'tools[2].function.parameters' }), { name: 'SchemaLimitError', limit, message: /^tools\[2\]\.function\.parameters: the schema needs more than/ }, limit);
    t.ok(performance.now() - started < 1000, `${limit}: refused in ${(performance.now() - started).toFixed(0)} ms`);
  }
  const bomb = { enum: Array.from({ length: 200_000 }, (_, i) => `value-${i}`) };
  const started = performance.now();
  t.throws(() => jsonSchemaToGbnf(bomb), SchemaLimitError);
  t.ok(performance.now() - started < 100, `a 200,000-value enum is refused without converting it (${(performance.now() - started).toFixed(0)} ms)`);
  t.throws(() => toolCallGrammar([{ name: 'a', parameters: nestedObjects(40) as Record<string, unknown> }], TOOL_CALL_SYNTAXES.json, false), { name: 'SchemaLimitError', source: 'tools[0].function.parameters' }, 'tool parameters too');
});

t.test('with the largest limits: deep, wide and chained schemas convert or are refused, never overflow the stack', async (t) => {
  const llama = await getTestLlama();
  t.teardown(() => llama.dispose());
  const names = Array.from({ length: 10_000 }, (_, i) => `n${i}`);
  const wide = { type: 'object', properties: Object.fromEntries(names.map((name) => [name, { type: 'integer' }])), required: names };
  const wideGrammar = jsonSchemaToGbnf(wide, { limits: LARGEST }).grammar;
  await llama.createGrammar({ grammar: wideGrammar });
  t.ok(matches(wideGrammar, `{${names.map((name, i) => `"${name}": ${i}`).join(', ')}}`), '10,000 required properties: llama.cpp compiles it, the reader accepts a whole value');
  const deepGrammar = jsonSchemaToGbnf(nestedObjects(127), { limits: LARGEST }).grammar;
  await llama.createGrammar({ grammar: deepGrammar });
  t.ok(matches(deepGrammar, `${'{"v": '.repeat(127)}7${'}'.repeat(127)}`), 'an object 127 deep, the most the depth limit allows');
  t.throws(() => jsonSchemaToGbnf(nestedObjects(2000), { limits: LARGEST }), { name: 'SchemaLimitError', limit: 'maxSchemaDepth' }, 'an object 2,000 deep');
  t.throws(() => jsonSchemaToGbnf(defsChain(3000), { limits: LARGEST }), { name: 'SchemaLimitError', limit: 'maxSchemaDepth' }, 'a $defs chain 3,000 long');
  t.ok(matches(jsonSchemaToGbnf(defsChain(200), { limits: LARGEST }).grammar, 'true'), 'a chain of 200 converts');
  const oneOfChain = { $defs: defsChain(3000).$defs, oneOf: [{ $ref: '#/$defs/d2999' }, { type: 'string' }] };
  // Proving its branches exclusive follows 64 references at most, so this oneOf is refused as possibly overlapping.
  t.throws(() => jsonSchemaToGbnf(oneOfChain, { limits: LARGEST }), { name: 'UnsupportedSchemaError', message: /"oneOf".*may both match/ }, 'a oneOf over a long chain');
});

t.test('grammar bytes count repetitions as llama.cpp writes them out, not braces inside text', async (t) => {
  const set = new GbnfRuleSet();
  set.add('a', 'json-char{0,1000}');
  t.ok(set.bytes >= 16_000, `x{0,1000} counts 1,000 items (${set.bytes} bytes)`);
  const text = new GbnfRuleSet();
  text.add('b', '"{99999}" [{9}]');
  t.ok(text.bytes < 100, 'braces in a literal or a class are text');
  t.throws(() => new GbnfRuleSet({ maxBytes: 50, source: 'response_format.json_schema' }).add('c', `"${'x'.repeat(100)}"`), { name: 'SchemaLimitError', limit: 'maxGrammarBytes' });
});

t.test('choices are prefix trees that match exactly the given texts', async (t) => {
  const random = seededRandom(5);
  const alphabet = ['a', 'b', 'é', '😀', '😁', '"', '\\', '\n'];
  for (let round = 0; round < 40; round++) {
    const texts = Array.from({ length: 1 + Math.floor(random() * 30) }, () =>
      Array.from({ length: 1 + Math.floor(random() * 5) }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''));
    const rules = new GbnfRuleSet();
    const root = rules.add('root', gbnfChoice(rules, 'choice', texts));
    const grammar = renderGbnf(rules, root);
    for (const text of texts) if (!matches(grammar, text)) t.fail(`round ${round}: ${JSON.stringify(text)} refused by\n${grammar}`);
    for (const other of ['', 'ab', 'ba', '😀a', 'aaaaaa', '\\"']) {
      if (!texts.includes(other) && matches(grammar, other)) t.fail(`round ${round}: ${JSON.stringify(other)} accepted by\n${grammar}`);
    }
  }
  const numbers = jsonSchemaToGbnf({ enum: [1, 12, 123, 2] }).grammar;
  t.ok(['1', '12', '123', '2'].every((text) => matches(numbers, text)) && !matches(numbers, '13'), 'texts that are prefixes of others');

  const values = Array.from({ length: 10_000 }, (_, i) => `v${i}`);
  const grammar = jsonSchemaToGbnf({ enum: values }).grammar;
  const afterQuote = GbnfGrammar.parse(grammar).start().accept('"v');
  t.ok(afterQuote, 'the jump-forward reader follows it: a handful of branches at each point, not 10,000');
  t.ok(afterQuote!.accept('9999"')?.canEnd, 'and reads a whole value');
});

t.test('oneOf: thousands of plain values are proven exclusive in one pass; other alternatives are compared up to 512', async (t) => {
  let started = performance.now();
  const values = jsonSchemaToGbnf({ oneOf: Array.from({ length: 6000 }, (_, i) => ({ const: i, title: `value ${i}` })) }).grammar;
  t.ok(performance.now() - started < 1000, `6,000 const alternatives in ${(performance.now() - started).toFixed(0)} ms`);
  t.ok(matches(values, '5999') && !matches(values, '6000'), 'exactly those values');
  t.throws(() => jsonSchemaToGbnf({ oneOf: [{ enum: [1, 2] }, { const: 3 }, { enum: [4, 2] }] }), { message: /alternatives 0 and 2 may both match/ }, 'a shared value is still found');
  started = performance.now();
  const objects = { oneOf: Array.from({ length: 1000 }, (_, i) => ({ type: 'object', properties: { k: { const: i } }, required: ['k'] })) };
  t.throws(() => jsonSchemaToGbnf(objects), { name: 'UnsupportedSchemaError', message: /more than 512 alternatives/ }, '1,000 object alternatives');
  t.ok(performance.now() - started < 1000, `refused in ${(performance.now() - started).toFixed(0)} ms`);
});
