import t from 'tap';
import { seededRandom } from '../../src/demo/syntheticLlama.js';
import Ajv from 'ajv';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import {
  buildJsonSchemaRules,
  formatJson,
  GbnfRuleSet,
  jsonSchemaToGbnf,
  renderGbnf,
  UnsupportedSchemaError,
} from '../../src/translate/jsonSchemaGrammar.js';
import { gbnfLiteral, gbnfRuleName } from '../../src/translate/gbnfRules.js';
import { gbnfIntegerRange } from '../../src/translate/gbnfIntegerRange.js';
import { redactParameters } from '../helpers/jsonSchemaFixtures.js';
import { getTestLlama } from '../helpers/testLlama.js';

// ---------------------------------------------------------------------------------------------------------------
// A small GBNF interpreter for tests: it parses the grammar text we emit and samples random strings from it, so
// every sample can be checked against the schema with ajv. llama.cpp itself is exercised by the parse test below
// and by jsonSchemaDecoding.test.ts.

type Node =
  | { kind: 'lit'; text: string }
  | { kind: 'class'; negated: boolean; ranges: [number, number][] }
  | { kind: 'ref'; name: string }
  | { kind: 'seq'; items: Node[] }
  | { kind: 'alt'; options: Node[] }
  | { kind: 'rep'; item: Node; min: number; max: number };

function parseGbnf(text: string): Map<string, Node> {
  const rules = new Map<string, Node>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const match = /^([a-zA-Z0-9-]+) ::= (.*)$/.exec(line);
    if (!match) throw new Error(`bad rule line: ${line}`);
    const parser = new ExpressionParser(match[2]);
    rules.set(match[1], parser.parseAll());
  }
  return rules;
}

class ExpressionParser {
  pos = 0;
  constructor(readonly src: string) {}

  parseAll(): Node {
    const node = this.alt();
    this.ws();
    if (this.pos !== this.src.length) throw new Error(`trailing text at ${this.pos}: ${this.src.slice(this.pos)}`);
    return node;
  }

  ws() {
    while (this.src[this.pos] === ' ') this.pos++;
  }

  alt(): Node {
    const options = [this.seq()];
    this.ws();
    while (this.src[this.pos] === '|') {
      this.pos++;
      options.push(this.seq());
      this.ws();
    }
    return options.length === 1 ? options[0] : { kind: 'alt', options };
  }

  seq(): Node {
    const items: Node[] = [];
    for (;;) {
      this.ws();
      const c = this.src[this.pos];
      if (c === undefined || c === '|' || c === ')') break;
      items.push(this.postfix(this.atom()));
    }
    return { kind: 'seq', items };
  }

  atom(): Node {
    const c = this.src[this.pos];
    if (c === '"') {
      this.pos++;
      let text = '';
      while (this.src[this.pos] !== '"') text += this.char();
      this.pos++;
      return { kind: 'lit', text };
    }
    if (c === '[') {
      this.pos++;
      const negated = this.src[this.pos] === '^';
      if (negated) this.pos++;
      const ranges: [number, number][] = [];
      while (this.src[this.pos] !== ']') {
        const from = this.char().codePointAt(0)!;
        let to = from;
        if (this.src[this.pos] === '-' && this.src[this.pos + 1] !== ']') {
          this.pos++;
          to = this.char().codePointAt(0)!;
        }
        ranges.push([from, to]);
      }
      this.pos++;
      return { kind: 'class', negated, ranges };
    }
    if (c === '(') {
      this.pos++;
      const inner = this.alt();
      this.ws();
      if (this.src[this.pos] !== ')') throw new Error(`expected ) at ${this.pos} in ${this.src}`);
      this.pos++;
      return inner;
    }
    const name = /^[a-zA-Z0-9-]+/.exec(this.src.slice(this.pos));
    if (!name) throw new Error(`unexpected ${c} at ${this.pos} in ${this.src}`);
    this.pos += name[0].length;
    return { kind: 'ref', name: name[0] };
  }

  char(): string {
    const c = this.src[this.pos++];
    if (c !== '\\') {
      const code = this.src.codePointAt(this.pos - 1)!;
      if (code > 0xffff) this.pos++;
      return String.fromCodePoint(code);
    }
    const e = this.src[this.pos++];
    if (e === 'x') {
      const hex = this.src.slice(this.pos, this.pos + 2);
      this.pos += 2;
      return String.fromCodePoint(parseInt(hex, 16));
    }
    return ({ n: '\n', r: '\r', t: '\t' } as Record<string, string>)[e] ?? e;
  }

  postfix(item: Node): Node {
    for (;;) {
      const c = this.src[this.pos];
      if (c === '*') item = { kind: 'rep', item, min: 0, max: Infinity };
      else if (c === '+') item = { kind: 'rep', item, min: 1, max: Infinity };
      else if (c === '?') item = { kind: 'rep', item, min: 0, max: 1 };
      else if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos))!;
        const min = Number(m[1]);
        const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
        item = { kind: 'rep', item, min, max };
        this.pos += m[0].length - 1;
      } else return item;
      this.pos++;
    }
  }
}

// Characters a negated class may yield: ASCII, controls, escapes' letters, non-ASCII incl. astral.
const CHAR_POOL = [...Array.from({ length: 128 }, (_, i) => String.fromCharCode(i)), 'é', 'ß', '中', '\u2028', '😀', '\u{10FFFF}'];

class GbnfSampler {
  readonly cost = new Map<string, number>();
  constructor(readonly rules: Map<string, Node>, readonly random: () => number) {
    // Least number of characters each rule can produce (fixpoint), to steer towards termination.
    for (const name of rules.keys()) this.cost.set(name, Infinity);
    for (let changed = true; changed;) {
      changed = false;
      for (const [name, node] of rules) {
        const c = this.minCost(node);
        if (c < this.cost.get(name)!) {
          this.cost.set(name, c);
          changed = true;
        }
      }
    }
  }

  minCost(node: Node): number {
    switch (node.kind) {
      case 'lit': return node.text.length;
      case 'class': return 1;
      case 'ref': {
        const cost = this.cost.get(node.name);
        if (cost === undefined) throw new Error(`undefined rule ${node.name}`);
        return cost;
      }
      case 'seq': return node.items.reduce((sum, item) => sum + this.minCost(item), 0);
      case 'alt': return Math.min(...node.options.map((option) => this.minCost(option)));
      case 'rep': return node.min * this.minCost(node.item);
    }
  }

  sample(node: Node, depth: number): string {
    const pick = <T>(items: T[]) => items[Math.floor(this.random() * items.length)];
    const deep = depth > 6;
    switch (node.kind) {
      case 'lit': return node.text;
      case 'class': {
        if (node.negated) {
          const allowed = CHAR_POOL.filter((ch) => !node.ranges.some(([a, b]) => ch.codePointAt(0)! >= a && ch.codePointAt(0)! <= b));
          return pick(allowed);
        }
        const [a, b] = pick(node.ranges);
        return String.fromCodePoint(a + Math.floor(this.random() * (b - a + 1)));
      }
      case 'ref': return this.sample(this.rules.get(node.name)!, depth + 1);
      case 'seq': return node.items.map((item) => this.sample(item, depth)).join('');
      case 'alt': {
        if (!deep) return this.sample(pick(node.options), depth);
        const best = Math.min(...node.options.map((option) => this.minCost(option)));
        return this.sample(pick(node.options.filter((option) => this.minCost(option) === best)), depth);
      }
      case 'rep': {
        const cap = Math.min(node.max, node.min + (deep ? 0 : 4));
        // Favour the extremes so that bounds are exercised.
        const roll = this.random();
        const count = roll < 0.25 ? node.min : roll < 0.5 ? cap : node.min + Math.floor(this.random() * (cap - node.min + 1));
        let out = '';
        for (let i = 0; i < count; i++) out += this.sample(node.item, depth + 1);
        return out;
      }
    }
  }
}

/** Whether rule `root` of `rules` matches all of `text` (end positions are memoised per node). */
function gbnfMatches(rules: Map<string, Node>, text: string, root = 'root'): boolean {
  const chars = [...text];
  const memo = new Map<Node, Map<number, Set<number>>>();
  const ends = (node: Node, pos: number): Set<number> => {
    let byPos = memo.get(node);
    if (!byPos) memo.set(node, (byPos = new Map()));
    const cached = byPos.get(pos);
    if (cached) return cached;
    const out = new Set<number>();
    byPos.set(pos, out);
    switch (node.kind) {
      case 'lit': {
        const lit = [...node.text];
        if (lit.every((ch, i) => chars[pos + i] === ch)) out.add(pos + lit.length);
        break;
      }
      case 'class': {
        const code = chars[pos]?.codePointAt(0);
        if (code !== undefined && node.ranges.some(([a, b]) => code >= a && code <= b) !== node.negated) out.add(pos + 1);
        break;
      }
      case 'ref': for (const end of ends(rules.get(node.name)!, pos)) out.add(end); break;
      case 'alt': for (const option of node.options) for (const end of ends(option, pos)) out.add(end); break;
      case 'seq': {
        let current = new Set([pos]);
        for (const item of node.items) {
          const next = new Set<number>();
          for (const p of current) for (const end of ends(item, p)) next.add(end);
          current = next;
        }
        for (const end of current) out.add(end);
        break;
      }
      case 'rep': {
        let current = new Set([pos]);
        const seen = new Set<number>();
        for (let count = 0; current.size > 0 && count <= Math.min(node.max, chars.length + 1); count++) {
          if (count >= node.min) for (const p of current) out.add(p);
          const next = new Set<number>();
          for (const p of current) for (const end of ends(node.item, p)) if (end > p || count < node.min) next.add(end);
          // Past the minimum, positions already reached add nothing new.
          current = count >= node.min ? new Set([...next].filter((p) => !seen.has(p))) : next;
          if (count >= node.min) for (const p of current) seen.add(p);
        }
        break;
      }
    }
    return out;
  };
  return ends(rules.get(root)!, 0).has(chars.length);
}

function samplesOf(grammar: string, count: number, seed = 1): string[] {
  const rules = parseGbnf(grammar);
  const sampler = new GbnfSampler(rules, seededRandom(seed));
  return Array.from({ length: count }, () => sampler.sample({ kind: 'ref', name: 'root' }, 0));
}

const ajv2020 = new Ajv2020.default({ strict: false });
addFormats.default(ajv2020);
const ajv07 = new Ajv.default({ strict: false });
addFormats.default(ajv07);

/** A validator for the schema's draft: 2020-12 unless it says draft-07. */
function compileSchema(schema: unknown) {
  const draft07 = typeof schema === 'object' && schema !== null && String((schema as { $schema?: unknown }).$schema).includes('draft-07');
  return (draft07 ? ajv07 : ajv2020).compile(schema as object | boolean);
}

// ---------------------------------------------------------------------------------------------------------------
// Schemas

const REDACT_PARAMETERS = redactParameters({});

const TREE = {
  $defs: {
    node: {
      type: 'object',
      properties: { name: { type: 'string', maxLength: 4 }, children: { type: 'array', items: { $ref: '#/$defs/node' }, maxItems: 3 } },
      required: ['name', 'children'],
      additionalProperties: false,
    },
  },
  $ref: '#/$defs/node',
};

/** Every supported schema: each must parse in llama.cpp and its samples must validate. */
const SUPPORTED: Record<string, unknown> = {
  'empty schema (any value)': {},
  'true (any value)': true,
  string: { type: 'string' },
  'bounded string': { type: 'string', minLength: 2, maxLength: 5 },
  'empty string only': { type: 'string', maxLength: 0 },
  integer: { type: 'integer' },
  'bounded integer': { type: 'integer', minimum: -15, maximum: 1234 },
  'exclusive integer bounds': { type: 'integer', exclusiveMinimum: 0.5, exclusiveMaximum: 100 },
  'lower-bounded integer': { type: 'integer', minimum: 7 },
  'upper-bounded integer': { type: 'integer', maximum: -3 },
  number: { type: 'number' },
  boolean: { type: 'boolean' },
  null: { type: 'null' },
  'nullable string': { type: ['string', 'null'] },
  'number or integer': { type: ['number', 'integer'] },
  'string enum': { type: 'string', enum: ['red', 'green', 'blue'] },
  'mixed enum': { enum: ['a"b\\c', 1, 2.5, true, null, { x: [1, 'é'] }, [], 'ünïcødé 😀', 'line\nbreak'] },
  'enum filtered by type': { type: 'string', enum: ['a', 1, null] },
  const: { const: { kind: 'fixed', n: 3 } },
  'enum and const': { enum: ['a', 'b'], const: 'b' },
  'object, all optional': { type: 'object', properties: { a: { type: 'boolean' }, b: { type: 'null' }, c: { enum: [1, 2] } } },
  'object, required and optional mixed': {
    type: 'object',
    properties: {
      o1: { type: 'boolean' }, r1: { const: 'r' }, o2: { type: 'integer', minimum: 0, maximum: 9 }, r2: { type: 'null' }, o3: { type: 'boolean' },
    },
    required: ['r1', 'r2'],
    additionalProperties: false,
  },
  'object, required only by name': { type: 'object', required: ['x'], properties: { y: { type: 'boolean' } } },
  'object with no properties': { type: 'object' },
  'closed empty object': { type: 'object', additionalProperties: false },
  'map of integers': { type: 'object', additionalProperties: { type: 'integer', minimum: 0, maximum: 5 } },
  'property names needing escapes': {
    type: 'object',
    properties: { 'a "quoted" key': { type: 'boolean' }, 'back\\slash/÷': { type: 'null' }, '': { const: 0 } },
    required: ['a "quoted" key', 'back\\slash/÷', ''],
  },
  'false property is left out': { type: 'object', properties: { a: false, b: { type: 'boolean' } }, required: ['b'] },
  'nested objects': {
    type: 'object',
    properties: {
      user: {
        type: 'object',
        properties: { name: { type: 'string', maxLength: 8 }, address: { type: 'object', properties: { zip: { type: 'string', minLength: 5, maxLength: 5 } }, required: ['zip'] } },
        required: ['name', 'address'],
      },
    },
    required: ['user'],
  },
  'array of objects': {
    type: 'array',
    items: { type: 'object', properties: { id: { type: 'integer' }, tags: { type: 'array', items: { type: 'string', maxLength: 3 } } }, required: ['id'] },
  },
  'bounded array': { type: 'array', items: { type: 'boolean' }, minItems: 2, maxItems: 4 },
  'array with minItems only': { type: 'array', items: { type: 'null' }, minItems: 3 },
  'array with exact length': { type: 'array', items: { type: 'integer' }, minItems: 2, maxItems: 2 },
  'array with uniqueItems false': { type: 'array', items: { type: 'boolean' }, uniqueItems: false },
  'array of anything': { type: 'array' },
  'tuple (prefixItems), closed': { type: 'array', prefixItems: [{ type: 'string', format: 'date' }, { type: 'integer' }], items: false, minItems: 1 },
  'tuple (prefixItems), open': { type: 'array', prefixItems: [{ const: 'head' }], items: { type: 'boolean' }, maxItems: 3 },
  'tuple (draft 7 items array)': { $schema: 'http://json-schema.org/draft-07/schema#', type: 'array', items: [{ type: 'boolean' }, { type: 'null' }], additionalItems: { type: 'integer' } },
  anyOf: { anyOf: [{ type: 'string', maxLength: 3 }, { type: 'integer' }, { type: 'object', properties: { k: { type: 'boolean' } }, required: ['k'] }] },
  'anyOf nullable (pydantic Optional)': { anyOf: [{ type: 'string' }, { type: 'null' }], default: null, title: 'Maybe' },
  'oneOf by type': { oneOf: [{ type: 'string' }, { type: 'boolean' }, { type: 'null' }] },
  'oneOf by const': { oneOf: [{ const: 'a', description: 'first' }, { const: 'b' }] },
  'oneOf discriminated objects': {
    oneOf: [
      { type: 'object', properties: { type: { const: 'cat' }, lives: { type: 'integer', minimum: 0, maximum: 9 } }, required: ['type', 'lives'] },
      { type: 'object', properties: { type: { enum: ['dog', 'wolf'] }, good: { type: 'boolean' } }, required: ['type'] },
    ],
  },
  'allOf with one schema': { allOf: [{ $ref: '#/$defs/flag' }, { description: 'annotation only' }], $defs: { flag: { type: 'boolean' } } },
  'definitions + $ref': { definitions: { id: { type: 'integer', minimum: 1 } }, type: 'array', items: { $ref: '#/definitions/id' } },
  'recursive $defs (tree)': TREE,
  'recursive root reference': { type: 'array', items: { anyOf: [{ type: 'integer' }, { $ref: '#' }] }, maxItems: 2 },
  'shared $ref used twice': {
    $defs: { point: { type: 'object', properties: { x: { type: 'integer' }, y: { type: 'integer' } }, required: ['x', 'y'] } },
    type: 'object', properties: { from: { $ref: '#/$defs/point' }, to: { $ref: '#/$defs/point' } }, required: ['from', 'to'],
  },
  '$ref with an escaped pointer': { $defs: { 'a/b~c': { const: 1 } }, $ref: '#/$defs/a~1b~0c' },
  'formats': {
    type: 'object',
    properties: {
      date: { type: 'string', format: 'date' }, time: { type: 'string', format: 'time' }, dateTime: { type: 'string', format: 'date-time' },
      uuid: { type: 'string', format: 'uuid' }, email: { type: 'string', format: 'email' },
    },
    required: ['date', 'time', 'dateTime', 'uuid', 'email'],
  },
  'annotations are ignored': {
    $schema: 'https://json-schema.org/draft/2020-12/schema', $id: 'https://example.com/s', $comment: 'c', title: 't',
    description: 'd', default: 1, examples: [1], deprecated: false, readOnly: true, writeOnly: false, type: 'integer',
  },
  'untyped object keywords': { properties: { a: { type: 'boolean' } }, required: ['a'] },
  'PII redactor tool parameters': REDACT_PARAMETERS,
};

// ---------------------------------------------------------------------------------------------------------------

const llama = await getTestLlama();
t.teardown(() => llama.dispose());

/** Samples that do not parse as JSON or fail the schema. */
function invalidSamples(schema: unknown, grammar: string, count: number): string[] {
  const validate = compileSchema(schema);
  return samplesOf(grammar, count).filter((sample) => {
    try {
      return !validate(JSON.parse(sample));
    } catch {
      return true;
    }
  });
}

t.test('every supported schema: llama.cpp parses the grammar, and every sample validates', async (t) => {
  for (const [name, schema] of Object.entries(SUPPORTED)) {
    const { grammar } = jsonSchemaToGbnf(schema);
    await llama.createGrammar({ grammar }); // throws on a grammar llama.cpp rejects
    t.same(invalidSamples(schema, grammar, 300).slice(0, 3), [], `${name}: no invalid samples`);
  }
});

t.test('the sample check itself catches a grammar that does not fit the schema', async (t) => {
  t.equal(invalidSamples({ type: 'integer' }, jsonSchemaToGbnf({ type: 'string' }).grammar, 20).length, 20);
  t.ok(invalidSamples({ type: 'object', required: ['a'] }, jsonSchemaToGbnf({ type: 'object', properties: { a: { type: 'null' } } }).grammar, 50).length > 0);
});

t.test('compact style is also parsed and valid', async (t) => {
  for (const name of ['empty schema (any value)', 'mixed enum', 'nested objects', 'PII redactor tool parameters']) {
    const { grammar } = jsonSchemaToGbnf(SUPPORTED[name], { whitespace: 'compact' });
    await llama.createGrammar({ grammar });
    t.notMatch(grammar, /", "|": "/, `${name}: no spaces after separators`);
    t.same(invalidSamples(SUPPORTED[name], grammar, 300).slice(0, 3), [], `${name}: no invalid samples`);
  }
});

t.test('grammar text for simple schemas', async (t) => {
  t.equal(jsonSchemaToGbnf({ type: 'boolean' }).grammar, 'root ::= json-boolean\njson-boolean ::= "true" | "false"\n');
  t.equal(jsonSchemaToGbnf({ type: 'null' }).grammar, 'root ::= "null"\n');
  t.equal(jsonSchemaToGbnf({ enum: ['a', 1, null] }).grammar, 'root ::= ("\\"a\\"" | "1" | "null")\n');
  t.equal(jsonSchemaToGbnf({ type: 'object', additionalProperties: false }).grammar, 'root ::= "{" "}"\n');
  t.equal(
    jsonSchemaToGbnf({ type: 'object', properties: { a: { type: 'null' } }, required: ['a'] }).grammar,
    'root ::= "{" "\\"a\\": " "null" "}"\n',
  );
  t.equal(jsonSchemaToGbnf({ type: 'array', items: { type: 'null' }, maxItems: 3 }).grammar, 'root ::= "[" ("null" root-more{0,2})? "]"\nroot-more ::= ", " "null"\n');
  t.equal(jsonSchemaToGbnf({ type: 'array', items: { type: 'null' }, minItems: 2 }).grammar, 'root ::= "[" "null" root-more+ "]"\nroot-more ::= ", " "null"\n');
  t.match(jsonSchemaToGbnf({ type: 'string', minLength: 1, maxLength: 3 }).grammar, /^root ::= json-string-1-3\njson-string-1-3 ::= "\\"" json-char\{1,3\} "\\""\n/);
  t.equal(jsonSchemaToGbnf({ type: 'integer', minimum: 0, maximum: 120 }).grammar, 'root ::= ([0-9] | [1-9] [0-9] | "1" ([0-1] [0-9] | "2" "0"))\n');
  t.equal(jsonSchemaToGbnf({ const: 'x' }, { rootRuleName: 'answer' }).grammar, 'answer ::= "\\"x\\""\n');
});

t.test('grammars accept valid documents and refuse invalid ones', async (t) => {
  const cases: [string, unknown, string[], string[]][] = [
    ['required vs optional', SUPPORTED['object, required and optional mixed'],
      ['{"r1": "r", "r2": null}', '{"o1": true, "r1": "r", "o2": 3, "r2": null, "o3": false}', '{"r1": "r", "o2": 0, "r2": null}'],
      ['{"r1": "r"}', '{"r2": null}', '{}', '{"r1": "r", "r2": null, "extra": 1}', '{"r1": "r", "o2": 10, "r2": null}', '{"r1": "r", "r2": null,}', '{"r1":"r","r2":null}']],
    ['all optional', SUPPORTED['object, all optional'], ['{}', '{"a": true}', '{"b": null, "c": 2}', '{"a": false, "b": null, "c": 1}'], ['{,}', '{"a": true,}', '{"c": 3}', '{"d": 1}']],
    ['PII tool parameters', REDACT_PARAMETERS,
      ['{"fields_to_redact": []}', '{"fields_to_redact": [{"string": "Jo \\"Al\\" ü", "pii_type": "FIRSTNAME"}, {"string": "", "pii_type": "ZIPCODE"}]}'],
      ['{}', '{"fields_to_redact": [{"string": "x"}]}', '{"fields_to_redact": [{"string": "x", "pii_type": "NAME"}]}', '{"fields_to_redact": [{"pii_type": "AGE", "string": "x"}]}',
        '{"fields_to_redact": [{"string": "x", "pii_type": "AGE", "score": 1}]}', '{"fields_to_redact": [{"string": "a\nb", "pii_type": "AGE"}]}', '{"fields_to_redact": [{"string": "\\q", "pii_type": "AGE"}]}']],
    ['nullable string', SUPPORTED['nullable string'], ['null', '"x"', '"\\u00e9\\n"'], ['1', 'nul', '"\\ud800"', '"']],
    ['bounded string', SUPPORTED['bounded string'], ['"ab"', '"abcde"', '"\\n\\t"', '"😀é"'], ['"a"', '"abcdef"', '""']],
    ['numbers', SUPPORTED.number, ['0', '-0', '12.5', '-3e7', '1.25E+2', '9007199254740993'], ['01', '1.', '.5', '+1', '1e', 'NaN', '1 ']],
    ['integers', SUPPORTED['bounded integer'], ['-15', '0', '1234', '999'], ['-16', '1235', '1.0', '-0', '00']],
    ['tree', TREE, ['{"name": "a", "children": []}', '{"name": "", "children": [{"name": "b", "children": [{"name": "c", "children": []}]}]}'],
      ['{"name": "a"}', '{"name": "abcde", "children": []}', '{"name": "a", "children": [{}]}']],
    ['anyOf', SUPPORTED.anyOf, ['"abc"', '-7', '{"k": true}'], ['"abcd"', '1.5', '{}', 'null']],
    ['formats', { type: 'string', format: 'date-time' }, ['"2024-02-28T23:59:59Z"', '"1999-12-31T00:00:00.123+05:30"'], ['"2024-02-30T00:00:00Z"', '"2024-13-01T00:00:00Z"', '"2024-01-01T24:00:00Z"', '"2024-01-01T00:00:00"', '"2024-04-31T00:00:00Z"']],
    ['tuple', SUPPORTED['tuple (prefixItems), closed'], ['["2024-01-31"]', '["2024-01-31", 5]'], ['[]', '[5]', '["2024-01-31", 5, 6]']],
  ];
  for (const [name, schema, valid, invalid] of cases) {
    const rules = parseGbnf(jsonSchemaToGbnf(schema).grammar);
    const validate = compileSchema(schema);
    for (const text of valid) {
      t.ok(validate(JSON.parse(text)), `${name}: ${JSON.stringify(text)} is valid per ajv`);
      t.ok(gbnfMatches(rules, text), `${name}: accepts ${JSON.stringify(text)}`);
    }
    for (const text of invalid) t.notOk(gbnfMatches(rules, text), `${name}: refuses ${JSON.stringify(text)}`);
  }
});

t.test('optional properties grow the grammar linearly, not exponentially', async (t) => {
  const properties = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`p${i}`, { type: 'boolean' }]));
  const { grammar } = jsonSchemaToGbnf({ type: 'object', properties });
  t.ok(grammar.length < 20_000, `grammar is ${grammar.length} characters`);
  const seen = new Set<string>();
  for (const sample of samplesOf(grammar, 400)) {
    const keys = Object.keys(JSON.parse(sample));
    if (keys.join() !== [...keys].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))).join()) t.fail(`order: ${keys.join()}`);
    seen.add(keys.join());
  }
  t.ok(seen.size > 100, `many different subsets (${seen.size})`);
  t.ok(seen.has(''), 'the empty object is allowed');

  // Every subset of three optional properties appears.
  const small = jsonSchemaToGbnf({ type: 'object', properties: { a: { type: 'null' }, b: { type: 'null' }, c: { type: 'null' } } }).grammar;
  const subsets = new Set(samplesOf(small, 300).map((sample) => Object.keys(JSON.parse(sample)).join('')));
  t.same([...subsets].sort(), ['', 'a', 'ab', 'abc', 'ac', 'b', 'bc', 'c']);
});

t.test('required properties always appear, in declared order', async (t) => {
  const schema = SUPPORTED['object, required and optional mixed'] as { properties: object };
  const order = Object.keys(schema.properties);
  const keyLists = samplesOf(jsonSchemaToGbnf(schema).grammar, 300).map((sample) => Object.keys(JSON.parse(sample)));
  t.same(keyLists.filter((keys) => !keys.includes('r1') || !keys.includes('r2')), [], 'required present');
  t.same(keyLists.filter((keys) => keys.join() !== order.filter((key) => keys.includes(key)).join()), [], 'declared order');
  t.ok(new Set(keyLists.map((keys) => keys.join())).size >= 8, 'optional ones vary');
});

t.test('arrays respect minItems and maxItems', async (t) => {
  const lengths = new Set(samplesOf(jsonSchemaToGbnf(SUPPORTED['bounded array']).grammar, 300).map((sample) => JSON.parse(sample).length));
  t.same([...lengths].sort(), [2, 3, 4]);
});

t.test('integer ranges are exact', async (t) => {
  const ranges: [number | undefined, number | undefined][] = [
    [0, 0], [0, 9], [0, 10], [1, 100], [-5, 5], [-100, -7], [17, 4321], [99, 101], [-1, 0], [5, 5], [123, 129], [0, 99999], [-20, 1000003],
  ];
  for (const [min, max] of ranges) {
    const expression = gbnfIntegerRange(min === undefined ? undefined : BigInt(min), max === undefined ? undefined : BigInt(max))!;
    const rules = parseGbnf(`root ::= ${expression}\n`);
    const sampler = new GbnfSampler(rules, seededRandom(7));
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const text = sampler.sample(rules.get('root')!, 0);
      if (!/^(0|-?[1-9][0-9]*)$/.test(text)) t.fail(`${text} is not a JSON integer`);
      const value = Number(text);
      if (value < min! || value > max!) t.fail(`${text} outside [${min}, ${max}]`);
      seen.add(value);
    }
    if (max! - min! < 30) t.equal(seen.size, max! - min! + 1, `[${min}, ${max}]: every value reachable`);
    for (const inside of [min!, max!, Math.floor((min! + max!) / 2)]) t.ok(gbnfMatches(rules, String(inside)), `${inside} in [${min}, ${max}]`);
    for (const outside of [min! - 1, max! + 1, `0${max}`, '-0', `${min}.0`]) t.notOk(gbnfMatches(rules, String(outside)), `${outside} not in [${min}, ${max}]`);
  }
  t.equal(gbnfIntegerRange(5n, 4n), undefined, 'empty range');
  t.match(gbnfIntegerRange(undefined, undefined), /\[0-9\]\{15\}/, 'open ranges stop at 16 digits');
});

t.test('integer bounds far beyond 16 digits are clamped, cheaply; bounds with no 16-digit integer are refused', async (t) => {
  const started = performance.now();
  const grammar = jsonSchemaToGbnf({ type: 'integer', minimum: -1e300, maximum: 1e300 }).grammar;
  t.ok(performance.now() - started < 200, 'converted in well under a second');
  t.ok(grammar.length < 2000, `a small grammar (${grammar.length} bytes)`);
  const rules = parseGbnf(grammar);
  const sampler = new GbnfSampler(rules, seededRandom(11));
  const lengths = new Set<number>();
  for (let i = 0; i < 500; i++) lengths.add(sampler.sample(rules.get('root')!, 0).replace('-', '').length);
  t.ok(Math.max(...lengths) <= 16, `at most 16 digits (longest ${Math.max(...lengths)})`);
  t.ok(gbnfMatches(rules, '-9999999999999999') && gbnfMatches(rules, '9999999999999999'), 'the 16-digit extremes');
  t.notOk(gbnfMatches(rules, '10000000000000000'), 'not 17 digits');
  t.match(jsonSchemaToGbnf({ type: 'integer', minimum: 5, maximum: 1e300 }).grammar, /\[0-9\]\{15\}/, 'a half-open huge bound too');
  for (const schema of [{ type: 'integer', minimum: 1e20 }, { type: 'integer', maximum: -1e17 }]) {
    t.throws(() => jsonSchemaToGbnf(schema), { name: 'UnsupportedSchemaError', message: /at most 16 digits/ }, JSON.stringify(schema));
  }
});

t.test('enum values are emitted exactly, in the chosen style', async (t) => {
  const values = (SUPPORTED['mixed enum'] as { enum: unknown[] }).enum;
  const seen = new Set(samplesOf(jsonSchemaToGbnf(SUPPORTED['mixed enum']).grammar, 400));
  t.same([...seen].sort(), values.map((value) => formatJson(value)).sort());
  t.equal(formatJson({ a: [1, { b: null }] }), '{"a": [1, {"b": null}]}');
  t.equal(formatJson({ a: [1, { b: null }] }, 'compact'), '{"a":[1,{"b":null}]}');
});

t.test('strings: escapes and lengths', async (t) => {
  const samples = samplesOf(jsonSchemaToGbnf({ type: 'string', minLength: 2, maxLength: 5 }).grammar, 1000);
  const lengths = new Set(samples.map((sample) => [...JSON.parse(sample) as string].length));
  t.same([...lengths].sort(), [2, 3, 4, 5]);
  const anyStrings = samplesOf(jsonSchemaToGbnf({ type: 'string' }).grammar, 2000).join('');
  t.match(anyStrings, /\\u[0-9a-fA-F]{4}/, 'unicode escapes occur');
  t.match(anyStrings, /\\[nt"\\/bfr]/, 'short escapes occur');
  t.notMatch(anyStrings, /\\u[dD][89a-fA-F]/, 'no surrogate escapes, so lengths count right');
});

t.test('large counts stay within what llama.cpp accepts and still honour the schema', async (t) => {
  const schemas: Record<string, object> = {
    'maxLength 5000': { type: 'string', maxLength: 5000 },
    'minLength 2500': { type: 'string', minLength: 2500 },
    'minLength 1500, maxLength 1800': { type: 'string', minLength: 1500, maxLength: 1800 },
    'maxItems 1000 of an enum': { type: 'array', items: { enum: ['a', 'b'] }, maxItems: 1000 },
    'maxItems 100000 of integers': { type: 'array', items: { type: 'integer', minimum: 0, maximum: 99 }, maxItems: 100000 },
    'minItems 1200 in a tuple': { type: 'array', prefixItems: [{ type: 'boolean' }, { type: 'null' }], items: { enum: [1, 2] }, minItems: 1200 },
    'optional bounded string in an array': { type: 'array', maxItems: 1000, items: { type: 'object', properties: { s: { type: 'string', maxLength: 1999 } } } },
  };
  for (const [name, schema] of Object.entries(schemas)) {
    const { grammar } = jsonSchemaToGbnf(schema);
    const counts = [...grammar.matchAll(/\{(\d+)(?:,(\d*))?\}/g)].flatMap((m) => [Number(m[1]), Number(m[2] || 0)]);
    t.ok(Math.max(...counts) <= 1000, `${name}: counts at most 1000`);
    await llama.createGrammar({ grammar });
    t.same(invalidSamples(schema, grammar, 20), [], `${name}: samples valid`);
  }
  t.throws(() => jsonSchemaToGbnf({ type: 'string', minLength: 2_000_000 }), { name: 'UnsupportedSchemaError', keyword: 'minLength' });
});

t.test('a lower-level rule set embeds in a larger grammar', async (t) => {
  const ruleSet = new GbnfRuleSet();
  const { rootRule } = buildJsonSchemaRules(REDACT_PARAMETERS, { ruleSet, rootRuleName: 'redact-arguments', source: 'tools[0].function.parameters' });
  const second = buildJsonSchemaRules({ type: 'object', properties: { q: { type: 'string' } } }, { ruleSet, rootRuleName: 'redact-arguments' });
  t.equal(rootRule, 'redact-arguments');
  t.equal(second.rootRule, 'redact-arguments-2', 'a taken name gets a suffix');
  t.equal([...second.rules.keys()].filter((name) => name === 'json-string').length, 1, 'shared primitives once');
  const wrapper = ruleSet.add('root', `"<tool_call>{\\"name\\": \\"redact\\", \\"arguments\\": " ${rootRule} "}</tool_call>" | "<tool_call>{\\"name\\": \\"search\\", \\"arguments\\": " ${second.rootRule} "}</tool_call>"`);
  const grammar = renderGbnf(ruleSet, wrapper);
  t.ok(grammar.startsWith('root ::= '), 'root first');
  await llama.createGrammar({ grammar });
  const validate = compileSchema(REDACT_PARAMETERS);
  const calls = samplesOf(grammar, 200).map((sample) => JSON.parse(/^<tool_call>(.*)<\/tool_call>$/s.exec(sample)![1]));
  t.same(calls.filter((call) => call.name === 'redact' && !validate(call.arguments)), [], 'redact arguments valid');
  t.ok(calls.some((call) => call.name === 'search'), 'both tools reachable');
});

t.test('GBNF helpers', async (t) => {
  t.equal(gbnfLiteral('a"b\\c\nd\te\x01é😀'), '"a\\"b\\\\c\\nd\\te\\x01é😀"');
  t.equal(gbnfRuleName('fields_to_redact'), 'fields-to-redact');
  t.equal(gbnfRuleName('ünï code!'), 'n-code');
  t.equal(gbnfRuleName('__'), 'rule');
  const set = new GbnfRuleSet();
  t.equal(set.add('a b', '"x"'), 'a-b');
  t.equal(set.add('a_b', '"y"'), 'a-b-2');
  set.reserve('pending');
  t.throws(() => set.toMap(), /never defined/);
});

// ---------------------------------------------------------------------------------------------------------------
// Refusals: each names the keyword and the JSON pointer of the schema holding it.

const REJECTED: [string, unknown, string, string][] = [
  ['pattern', { type: 'object', properties: { zip: { type: 'string', pattern: '^[0-9]{5}$' } } }, 'pattern', '/properties/zip'],
  ['not', { not: { type: 'string' } }, 'not', ''],
  ['if/then/else', { if: { type: 'string' }, then: { minLength: 1 } }, 'if', ''],
  ['patternProperties', { type: 'object', patternProperties: { '^x': {} } }, 'patternProperties', ''],
  ['dependentRequired', { type: 'object', dependentRequired: { a: ['b'] } }, 'dependentRequired', ''],
  ['uniqueItems', { type: 'array', items: { type: 'integer' }, uniqueItems: true }, 'uniqueItems', ''],
  ['contains', { type: 'array', contains: { const: 1 } }, 'contains', ''],
  ['minProperties', { type: 'object', minProperties: 1 }, 'minProperties', ''],
  ['maxProperties', { type: 'object', maxProperties: 1 }, 'maxProperties', ''],
  ['propertyNames', { type: 'object', propertyNames: { maxLength: 3 } }, 'propertyNames', ''],
  ['unevaluatedProperties', { type: 'object', unevaluatedProperties: false }, 'unevaluatedProperties', ''],
  ['unevaluatedItems', { type: 'array', unevaluatedItems: false }, 'unevaluatedItems', ''],
  ['multipleOf', { type: 'integer', multipleOf: 5 }, 'multipleOf', ''],
  ['minimum on a number', { type: 'object', properties: { price: { type: 'number', minimum: 0 } } }, 'minimum', '/properties/price'],
  ['maximum on a number', { type: 'number', maximum: 1 }, 'maximum', ''],
  ['exclusiveMinimum on a number', { type: ['number', 'null'], exclusiveMinimum: 0 }, 'exclusiveMinimum', ''],
  ['draft-4 boolean exclusiveMaximum', { type: 'integer', maximum: 5, exclusiveMaximum: true }, 'exclusiveMaximum', ''],
  ['unknown format', { type: 'string', format: 'uri' }, 'format', ''],
  ['number format', { type: 'integer', format: 'int32' }, 'format', ''],
  ['format with a length', { type: 'string', format: 'date', maxLength: 8 }, 'maxLength', ''],
  ['false schema', { type: 'array', items: false, minItems: 1 }, 'minItems', ''],
  ['false at the root', false, 'false', ''],
  ['false in anyOf only', { anyOf: [false, false] }, 'anyOf', ''],
  ['allOf with two schemas', { allOf: [{ type: 'string' }, { maxLength: 3 }] }, 'allOf', ''],
  ['anyOf next to type', { type: 'object', anyOf: [{ required: ['a'] }, { required: ['b'] }] }, 'type', ''],
  ['$ref next to a constraint', { $defs: { a: { type: 'string' } }, $ref: '#/$defs/a', maxLength: 3 }, 'maxLength', ''],
  ['enum next to a constraint', { type: 'string', enum: ['ab', 'abc'], maxLength: 2 }, 'maxLength', ''],
  ['oneOf with overlapping types', { oneOf: [{ type: 'number' }, { type: 'integer' }] }, 'oneOf', ''],
  ['oneOf with overlapping objects', { oneOf: [{ type: 'object', properties: { a: { type: 'string' } } }, { type: 'object', properties: { b: { type: 'string' } } }] }, 'oneOf', ''],
  ['oneOf: untyped branch accepts anything', { oneOf: [{ type: 'string' }, { description: 'anything' }] }, 'oneOf', ''],
  ['remote $ref', { $ref: 'https://example.com/schema.json' }, '$ref', ''],
  ['anchor $ref', { $ref: '#node' }, '$ref', ''],
  ['dangling $ref', { type: 'object', properties: { a: { $ref: '#/$defs/missing' } } }, '$ref', '/properties/a'],
  ['left-recursive $ref', { $defs: { a: { anyOf: [{ $ref: '#/$defs/a' }, { type: 'null' }] } }, $ref: '#/$defs/a' }, '$ref', '/$defs/a/anyOf/0'],
  ['error inside a definition', { $defs: { a: { type: 'string', pattern: 'x' } }, type: 'array', items: { $ref: '#/$defs/a' } }, 'pattern', '/$defs/a'],
  ['nested $id', { type: 'object', properties: { a: { $id: 'inner', type: 'string' } } }, '$id', '/properties/a'],
  ['draft-4 id', { id: 'x', type: 'string' }, 'id', ''],
  ['OpenAPI nullable', { type: 'string', nullable: true }, 'nullable', ''],
  ['bad type name', { type: 'text' }, 'type', ''],
  ['schema that is not an object', { type: 'object', properties: { a: 'string' } }, 'schema', '/properties/a'],
  ['required is not a list', { type: 'object', required: 'a' }, 'required', ''],
  ['required but false', { type: 'object', properties: { a: false }, required: ['a'] }, 'required', ''],
  ['required but no additional properties', { type: 'object', properties: {}, required: ['a'], additionalProperties: false }, 'required', ''],
  ['minLength above maxLength', { type: 'string', minLength: 3, maxLength: 2 }, 'minLength', ''],
  ['minItems above maxItems', { type: 'array', minItems: 3, maxItems: 2 }, 'minItems', ''],
  ['negative maxItems', { type: 'array', maxItems: -1 }, 'maxItems', ''],
  ['no integer in range', { type: 'integer', minimum: 1.2, maximum: 1.8 }, 'minimum', ''],
  ['enum with no value of the type', { type: 'integer', enum: ['1', 'x'] }, 'enum', ''],
  ['const outside enum', { enum: [1, 2], const: 3 }, 'enum', ''],
  ['pointer escapes in the path', { type: 'object', properties: { 'a/b': { type: 'string', pattern: 'x' } } }, 'pattern', '/properties/a~1b'],
];

t.test('unsupported keywords are refused with keyword and path', async (t) => {
  for (const [name, schema, keyword, path] of REJECTED) {
    try {
      jsonSchemaToGbnf(schema);
      t.fail(`${name}: accepted`);
    } catch (error) {
      t.type(error, UnsupportedSchemaError, name);
      const e = error as UnsupportedSchemaError;
      t.same({ keyword: e.keyword, path: e.path }, { keyword, path }, `${name}: ${e.message}`);
    }
  }
});

t.test('error message names the source, keyword and place', async (t) => {
  const schema = { type: 'object', properties: { zip: { type: 'string', pattern: '^[0-9]{5}$' } } };
  t.throws(() => jsonSchemaToGbnf(schema), {
    name: 'UnsupportedSchemaError',
    message: 'response_format.json_schema: "pattern" at /properties/zip is not supported',
    keyword: 'pattern',
    path: '/properties/zip',
    reason: 'unsupported',
  });
  t.throws(() => jsonSchemaToGbnf({ not: {} }, { source: 'tools[2].function.parameters' }), {
    message: 'tools[2].function.parameters: "not" at the schema root is not supported',
  });
  t.throws(() => jsonSchemaToGbnf({ type: 'number', minimum: 0 }), {
    message: 'response_format.json_schema: "minimum" at the schema root is not supported (bounds are supported on integers only)',
  });
});

t.test('definitions that are never referenced are not checked', async (t) => {
  const { grammar } = jsonSchemaToGbnf({ $defs: { unused: { not: {} } }, type: 'boolean' });
  t.match(grammar, /^root ::= json-boolean/);
});
