import { gbnfIntegerRange, LARGEST_INTEGER, MAX_INTEGER_DIGITS } from './gbnfIntegerRange.js';
import { GbnfRuleSet, gbnfChoice, gbnfLiteral, renderGbnf } from './gbnfRules.js';
import { SchemaLimitError, UnsupportedSchemaError } from './jsonSchemaErrors.js';
import { checkSchemaSize, DEFAULT_JSON_SCHEMA_LIMITS, type JsonSchemaLimits } from './jsonSchemaLimits.js';
import { stringFormatRule, SUPPORTED_STRING_FORMATS } from './jsonSchemaFormats.js';
import { canonicalJson, checkOneOfExclusive, hasKind, inferKinds, resolveLocalRef, type JsonKind } from './jsonSchemaShapes.js';

export { SchemaLimitError, UnsupportedSchemaError } from './jsonSchemaErrors.js';
export { DEFAULT_JSON_SCHEMA_LIMITS, type JsonSchemaLimits } from './jsonSchemaLimits.js';
export { GbnfRuleSet, renderGbnf } from './gbnfRules.js';

/**
 * JSON Schema → llama.cpp GBNF, so that decoding under the grammar yields JSON valid against the schema by
 * construction. The grammar generates a subset of the valid documents (one key order, one whitespace style,
 * bounded numbers); a keyword whose meaning it cannot honour is refused with UnsupportedSchemaError rather than
 * ignored, because ignoring it could let the model write something the schema forbids.
 */

/** `spaced`: `{"a": 1, "b": [1, 2]}` (Python's json.dumps, Llama 3 tool calls); `compact`: `{"a":1,"b":[1,2]}`. */
export type JsonWhitespaceStyle = 'spaced' | 'compact';

export interface JsonSchemaGrammarOptions {
  /** Name of the rule matching the whole value. Default "root". Made unique if `ruleSet` already has it. */
  rootRuleName?: string;
  /** Default "spaced". No other whitespace is ever allowed, so a model cannot pad forever. */
  whitespace?: JsonWhitespaceStyle;
  /** Names the schema's origin in error messages. Default "response_format.json_schema". */
  source?: string;
  /** Add the rules to this set (to embed the value in a larger grammar) instead of a new one; its byte limit applies. */
  ruleSet?: GbnfRuleSet;
  /** What the schema may cost; default DEFAULT_JSON_SCHEMA_LIMITS. Exceeding one throws SchemaLimitError. */
  limits?: JsonSchemaLimits;
}

export interface JsonSchemaRules {
  ruleSet: GbnfRuleSet;
  /** Every rule of the set, by name. */
  rules: Map<string, string>;
  /** The rule matching one JSON value valid against the schema. */
  rootRule: string;
}

/** Separators of a whitespace style, for callers that write JSON around the value (a tool-call wrapper). */
export function jsonSeparators(style: JsonWhitespaceStyle = 'spaced'): { comma: string; colon: string } {
  return style === 'spaced' ? { comma: ', ', colon: ': ' } : { comma: ',', colon: ':' };
}

/** JSON text in the given style, exactly as the grammar would spell the same value. */
export function formatJson(value: unknown, style: JsonWhitespaceStyle = 'spaced'): string {
  const { comma, colon } = jsonSeparators(style);
  if (Array.isArray(value)) return `[${value.map((item) => formatJson(item, style)).join(comma)}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}${colon}${formatJson(item, style)}`);
    return `{${members.join(comma)}}`;
  }
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`${String(value)} is not a JSON value`);
  return text;
}

/** The rules for `schema`, to embed `rootRule` in a larger grammar. Throws UnsupportedSchemaError. */
export function buildJsonSchemaRules(schema: unknown, options: JsonSchemaGrammarOptions = {}): JsonSchemaRules {
  const source = options.source ?? 'response_format.json_schema';
  const limits = options.limits ?? DEFAULT_JSON_SCHEMA_LIMITS;
  checkSchemaSize(schema, limits, source);
  const ruleSet = options.ruleSet ?? new GbnfRuleSet({ maxBytes: limits.maxGrammarBytes, source });
  const converter = new SchemaConverter(schema, ruleSet, options.whitespace ?? 'spaced', source, limits.maxSchemaDepth);
  const rootRule = converter.convertRoot(options.rootRuleName ?? 'root');
  // Lazy: a caller embedding these rules in a larger set may still have its own rules reserved but undefined.
  return { ruleSet, get rules() { return ruleSet.toMap(); }, rootRule };
}

/** A complete grammar for `schema` whose root rule (default "root") matches one valid JSON value. */
export function jsonSchemaToGbnf(schema: unknown, options: Omit<JsonSchemaGrammarOptions, 'ruleSet'> = {}): { grammar: string; rootRule: string } {
  const { ruleSet, rootRule } = buildJsonSchemaRules(schema, options);
  return { grammar: renderGbnf(ruleSet, rootRule), rootRule };
}

/** Keywords that never constrain a value. `discriminator` (OpenAPI) only names what `oneOf` already decides. */
const ANNOTATIONS = new Set([
  'title', 'description', 'default', 'examples', '$schema', '$comment', 'deprecated', 'readOnly', 'writeOnly',
  '$defs', 'definitions', 'discriminator',
]);

const CONSTRAINTS = new Set([
  'type', 'enum', 'const', '$ref', 'anyOf', 'oneOf', 'allOf',
  'properties', 'required', 'additionalProperties',
  'items', 'prefixItems', 'additionalItems', 'minItems', 'maxItems', 'uniqueItems',
  'minLength', 'maxLength', 'format',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum',
]);

const COMPOSITIONS = ['$ref', 'allOf', 'anyOf', 'oneOf'] as const;

const BOUNDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'] as const;

type SchemaObject = Record<string, unknown>;

const isSchemaObject = (value: unknown): value is SchemaObject =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** An escaped JSON pointer segment. */
const pointerSegment = (key: string | number) => String(key).replace(/~/g, '~0').replace(/\//g, '~1');
const childPath = (path: string, ...keys: (string | number)[]) => path + keys.map((key) => `/${pointerSegment(key)}`).join('');

class SchemaConverter {
  readonly #root: unknown;
  readonly #rules: GbnfRuleSet;
  readonly #style: JsonWhitespaceStyle;
  readonly #source: string;
  readonly #comma: string;
  readonly #colon: string;
  /** Rule name of each `$ref` target (by JSON pointer), so shared and recursive definitions become one rule. */
  readonly #refRules = new Map<string, string>();
  /** Targets being converted with no `{` or `[` emitted since: meeting one again would be left recursion. */
  #bareRefs = new Set<string>();
  #rootRule = '';
  /** Schemas being converted, one inside the other (a `$ref` chain nests too): bounded, so no stack overflow. */
  #depth = 0;
  readonly #maxDepth: number;

  constructor(root: unknown, rules: GbnfRuleSet, style: JsonWhitespaceStyle, source: string, maxDepth: number) {
    this.#root = root;
    this.#maxDepth = maxDepth;
    this.#rules = rules;
    this.#style = style;
    this.#source = source;
    const { comma, colon } = jsonSeparators(style);
    this.#comma = gbnfLiteral(comma);
    this.#colon = colon;
  }

  convertRoot(rootRuleName: string): string {
    const name = this.#rules.reserve(rootRuleName);
    this.#rootRule = name;
    this.#refRules.set('', name);
    this.#bareRefs.add('');
    this.#defineInto(name, this.#expr(this.#root, '', name, name));
    return name;
  }

  // ---- errors

  #unsupported(keyword: string, path: string, detail?: string): never {
    throw new UnsupportedSchemaError(keyword, path, this.#source, 'unsupported', detail);
  }

  #invalid(keyword: string, path: string, detail: string): never {
    throw new UnsupportedSchemaError(keyword, path, this.#source, 'invalid', detail);
  }

  #unsatisfiable(keyword: string, path: string, detail: string): never {
    throw new UnsupportedSchemaError(keyword, path, this.#source, 'unsatisfiable', detail);
  }

  // ---- shared primitive rules

  #shared(key: string, body: () => string): string {
    return this.#rules.shared(key, body);
  }

  #styled(key: string): string {
    return this.#style === 'spaced' ? key : `${key}-${this.#style}`;
  }

  #char(): string {
    // Escapes of UTF-16 surrogates are left out so that every character counts once for min/maxLength.
    return this.#shared('json-char', () =>
      '[^"\\\\\\x00-\\x1f] | "\\\\" (["\\\\/bfnrt] | "u" ([0-9a-cA-C] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2} | [eEfF] [0-9a-fA-F]{3}))');
  }

  #string(): string {
    return this.#shared('json-string', () => `"\\"" ${this.#char()}* "\\""`);
  }

  #integer(): string {
    return this.#shared('json-integer', () => `"-"? ("0" | [1-9] [0-9]{0,${MAX_INTEGER_DIGITS - 1}})`);
  }

  #number(): string {
    return this.#shared('json-number', () => `${this.#integer()} ("." [0-9]{1,16})? ([eE] [+\\x2D]? [0-9]{1,2})?`);
  }

  #boolean(): string {
    return this.#shared('json-boolean', () => '"true" | "false"');
  }

  #anyValue(): string {
    return this.#shared(this.#styled('json-value'), () =>
      `${this.#anyObject()} | ${this.#anyArray()} | ${this.#string()} | ${this.#number()} | ${this.#boolean()} | "null"`);
  }

  #anyObject(): string {
    return this.#shared(this.#styled('json-object'), () => this.#mapBody(this.#anyValue()));
  }

  #anyArray(): string {
    return this.#shared(this.#styled('json-array'), () => {
      const value = this.#anyValue();
      return `"[" (${value} (${this.#comma} ${value})*)? "]"`;
    });
  }

  /** An object with any keys, every value matching `value`. */
  #mapBody(value: string): string {
    const member = `${this.#string()} ${gbnfLiteral(this.#colon)} ${value}`;
    return `"{" (${member} (${this.#comma} ${member})*)? "}"`;
  }

  // ---- conversion

  /** Defines rule `into` as `expression` unless the expression already is that rule. */
  #defineInto(into: string, expression: string): void {
    if (expression !== into) this.#rules.define(into, expression);
  }

  /** A named rule for a structured value; `into` (already reserved) is used when given. */
  #namedRule(hint: string, into: string | undefined, body: () => string): string {
    const name = into ?? this.#rules.reserve(hint);
    // Past a "{" or "[" a reference back to an enclosing definition is ordinary recursion.
    const outer = this.#bareRefs;
    this.#bareRefs = new Set();
    try {
      this.#rules.define(name, body());
    } finally {
      this.#bareRefs = outer;
    }
    return name;
  }

  /**
   * A GBNF expression matching the JSON texts we generate for `schema` at `path`. `hint` names new rules;
   * `into`, when given, is a reserved rule that a structured value may define directly.
   */
  #expr(schema: unknown, path: string, hint: string, into?: string): string {
    if (this.#depth >= this.#maxDepth) throw new SchemaLimitError('maxSchemaDepth', this.#maxDepth, this.#source);
    this.#depth++;
    try {
      return this.#schemaExpr(schema, path, hint, into);
    } finally {
      this.#depth--;
    }
  }

  #schemaExpr(schema: unknown, path: string, hint: string, into?: string): string {
    if (schema === true) return this.#anyValue();
    if (schema === false) this.#unsatisfiable('false', path, 'the schema false matches no value');
    if (!isSchemaObject(schema)) this.#invalid('schema', path, 'a schema must be an object or a boolean');

    const constraints: string[] = [];
    for (const keyword of Object.keys(schema)) {
      if (keyword === '$id' && path === '') continue;
      if (ANNOTATIONS.has(keyword)) continue;
      if (!CONSTRAINTS.has(keyword)) this.#unsupported(keyword, path);
      constraints.push(keyword);
    }
    // Formats we cannot generate are refused whatever the type: some (int32, …) constrain numbers.
    if (schema.format !== undefined && !(typeof schema.format === 'string' && SUPPORTED_STRING_FORMATS.includes(schema.format))) {
      if (typeof schema.format !== 'string') this.#invalid('format', path, 'must be a string');
      this.#unsupported('format', path, `format ${JSON.stringify(schema.format)}`);
    }
    if (schema.uniqueItems !== undefined && schema.uniqueItems !== false) {
      if (schema.uniqueItems === true) this.#unsupported('uniqueItems', path);
      this.#invalid('uniqueItems', path, 'must be a boolean');
    }

    const composition = COMPOSITIONS.find((keyword) => constraints.includes(keyword));
    if (composition !== undefined) {
      const other = constraints.find((keyword) => keyword !== composition && keyword !== 'uniqueItems');
      if (other !== undefined) this.#unsupported(other, path, `next to "${composition}"`);
      if (composition === '$ref') return this.#ref(schema.$ref, path);
      if (composition === 'allOf') return this.#allOf(schema.allOf, path, hint, into);
      return this.#union(composition, schema[composition], path, hint, into);
    }

    if ('enum' in schema || 'const' in schema) return this.#enum(schema, path, hint);

    const kinds = this.#kinds(schema, path);
    if (kinds === undefined) return this.#anyValue();
    const alternatives = kinds.map((kind) => {
      switch (kind) {
        case 'string': return this.#stringExpr(schema, path);
        case 'integer': return this.#integerExpr(schema, path);
        case 'number': return this.#numberExpr(schema, path);
        case 'boolean': return this.#boolean();
        case 'null': return '"null"';
        case 'object': return this.#namedRule(hint, kinds.length === 1 ? into : undefined, () => this.#objectBody(schema, path, hint));
        case 'array': return this.#namedRule(hint, kinds.length === 1 ? into : undefined, () => this.#arrayBody(schema, path, hint));
      }
    });
    return alternatives.length === 1 ? alternatives[0] : `(${alternatives.join(' | ')})`;
  }

  /** The JSON types to generate: `type`, or else those whose keywords appear; undefined means any value. */
  #kinds(schema: SchemaObject, path: string): JsonKind[] | undefined {
    if (!('type' in schema)) return inferKinds(schema);
    const type = schema.type;
    const names = typeof type === 'string' ? [type] : type;
    const known: readonly string[] = ['string', 'integer', 'number', 'boolean', 'null', 'object', 'array'];
    if (!Array.isArray(names) || names.length === 0 || names.some((name) => typeof name !== 'string' || !known.includes(name)) ||
      new Set(names).size !== names.length) {
      this.#invalid('type', path, 'must be a JSON type name or a non-empty array of distinct ones');
    }
    const kinds = names as JsonKind[];
    // Every integer is a number, so "number" alone covers both.
    return kinds.includes('number') ? kinds.filter((kind) => kind !== 'integer') : kinds;
  }

  #ref(ref: unknown, path: string): string {
    if (typeof ref !== 'string') this.#invalid('$ref', path, 'must be a string');
    const resolved = resolveLocalRef(this.#root, ref);
    if (!('pointer' in resolved)) {
      const quoted = JSON.stringify(ref);
      switch (resolved.problem) {
        case 'external': this.#unsupported('$ref', path, `only references inside the schema ("#/...") are supported, not ${quoted}`);
        case 'anchor': this.#unsupported('$ref', path, `anchors such as ${quoted} are not supported`);
        case 'malformed': this.#invalid('$ref', path, `${quoted} is not a valid URI fragment`);
        case 'missing': this.#invalid('$ref', path, `${quoted} does not resolve`);
      }
    }
    const { pointer: target, target: node } = resolved;
    const existing = this.#refRules.get(target);
    if (existing !== undefined) {
      if (this.#bareRefs.has(target)) this.#invalid('$ref', path, `${JSON.stringify(ref)} refers back to itself without any nesting`);
      return existing;
    }

    const last = target.split('/').at(-1)!.replace(/~1/g, '/').replace(/~0/g, '~');
    const name = this.#rules.reserve(`${this.#rootRule}-${last}`);
    this.#refRules.set(target, name);
    this.#bareRefs.add(target);
    try {
      this.#defineInto(name, this.#expr(node, target, name, name));
    } finally {
      this.#bareRefs.delete(target);
    }
    return name;
  }

  #allOf(list: unknown, path: string, hint: string, into: string | undefined): string {
    if (!Array.isArray(list) || list.length === 0) this.#invalid('allOf', path, 'must be a non-empty array of schemas');
    // Members that constrain nothing (true, or only annotations) drop out; one constraining member is exact.
    const constraining = list
      .map((member, index) => ({ member, index }))
      .filter(({ member }) => member !== true && !(isSchemaObject(member) && Object.keys(member).every((key) => ANNOTATIONS.has(key))));
    if (constraining.length === 0) return this.#anyValue();
    if (constraining.length > 1) this.#unsupported('allOf', path, 'only one schema that constrains the value is supported');
    const { member, index } = constraining[0];
    return this.#expr(member, childPath(path, 'allOf', index), hint, into);
  }

  #union(keyword: 'anyOf' | 'oneOf', list: unknown, path: string, hint: string, into: string | undefined): string {
    if (!Array.isArray(list) || list.length === 0) this.#invalid(keyword, path, 'must be a non-empty array of schemas');
    if (keyword === 'oneOf') {
      const overlap = checkOneOfExclusive(list, this.#root);
      if (overlap !== undefined) {
        this.#unsupported('oneOf', path, `alternatives ${overlap[0]} and ${overlap[1]} may both match one value; use anyOf if that is acceptable`);
      }
    }
    // A false branch matches nothing, so it adds nothing to the union.
    const branches = list.map((branch, index) => ({ branch, index })).filter(({ branch }) => branch !== false);
    if (branches.length === 0) this.#unsatisfiable(keyword, path, 'every alternative is false');
    if (branches.length === 1) return this.#expr(branches[0].branch, childPath(path, keyword, branches[0].index), hint, into);
    const alternatives = branches.map(({ branch, index }) => this.#expr(branch, childPath(path, keyword, index), `${hint}-${index}`));
    return `(${alternatives.join(' | ')})`;
  }

  #enum(schema: SchemaObject, path: string, hint: string): string {
    const other = Object.keys(schema).find((keyword) =>
      CONSTRAINTS.has(keyword) && !['enum', 'const', 'type', 'uniqueItems'].includes(keyword));
    if (other !== undefined) this.#unsupported(other, path, `next to "${'enum' in schema ? 'enum' : 'const'}"`);

    let values: unknown[];
    if ('enum' in schema) {
      if (!Array.isArray(schema.enum)) this.#invalid('enum', path, 'must be an array');
      values = schema.enum;
    } else {
      values = [schema.const];
    }
    if ('enum' in schema && 'const' in schema) {
      const constant = canonicalJson(schema.const);
      values = values.filter((value) => canonicalJson(value) === constant);
    }
    const kinds = 'type' in schema ? this.#kinds(schema, path)! : undefined;
    if (kinds !== undefined) {
      values = values.filter((value) => hasKind(value, kinds));
    }
    if (values.length === 0) this.#unsatisfiable('enum' in schema ? 'enum' : 'const', path, 'no listed value is allowed by the schema');
    return gbnfChoice(this.#rules, `${hint}-enum`, values.map((value) => formatJson(value, this.#style)));
  }

  #count(schema: SchemaObject, keyword: string, path: string): number | undefined {
    const value = schema[keyword];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) this.#invalid(keyword, path, 'must be a non-negative integer');
    return value;
  }

  #stringExpr(schema: SchemaObject, path: string): string {
    const minLength = this.#count(schema, 'minLength', path) ?? 0;
    const maxLength = this.#count(schema, 'maxLength', path);
    if (maxLength !== undefined && minLength > maxLength) this.#unsatisfiable('minLength', path, 'minLength is above maxLength');

    if (typeof schema.format === 'string') {
      // #expr has already refused formats we cannot generate.
      const rule = stringFormatRule(this.#rules, schema.format)!;
      const length = ['minLength', 'maxLength'].find((keyword) => keyword in schema);
      if (length !== undefined) this.#unsupported(length, path, 'next to "format"');
      return rule;
    }
    if (minLength === 0 && maxLength === undefined) return this.#string();
    if (minLength > MAX_COUNT) this.#unsupported('minLength', path, `above ${MAX_COUNT}`);
    const most = maxLength ?? Infinity;
    // Its own rule: llama.cpp limits repetitions nested in groups, and equal bounds share one rule.
    return this.#shared(`json-string-${minLength}-${most === Infinity ? 'up' : most}`, () =>
      `"\\"" ${this.#repeat(this.#char(), minLength, most)} "\\""`);
  }

  #integerExpr(schema: SchemaObject, path: string): string {
    let low: bigint | undefined;
    let high: bigint | undefined;
    for (const keyword of BOUNDS) {
      const bound = schema[keyword];
      if (bound === undefined) continue;
      if (typeof bound !== 'number' || !Number.isFinite(bound)) {
        // Draft 4 spelled exclusive bounds as booleans beside minimum/maximum.
        if (typeof bound === 'boolean') this.#unsupported(keyword, path, 'boolean exclusive bounds (draft 4) are not supported; use a number');
        this.#invalid(keyword, path, 'must be a number');
      }
      // The integers allowed by this bound, as an inclusive integer bound.
      if (keyword === 'minimum' || keyword === 'exclusiveMinimum') {
        const candidate = keyword === 'minimum' ? BigInt(Math.ceil(bound)) : BigInt(Math.floor(bound)) + 1n;
        if (low === undefined || candidate > low) low = candidate;
      } else {
        const candidate = keyword === 'maximum' ? BigInt(Math.floor(bound)) : BigInt(Math.ceil(bound)) - 1n;
        if (high === undefined || candidate < high) high = candidate;
      }
    }
    if (low === undefined && high === undefined) return this.#integer();
    const lowKeyword = 'minimum' in schema ? 'minimum' : 'exclusiveMinimum';
    if (low !== undefined && high !== undefined && low > high) this.#unsatisfiable(lowKeyword, path, 'no integer lies within the bounds');
    const range = gbnfIntegerRange(low, high);
    if (range === undefined) {
      const keyword = low !== undefined && low > LARGEST_INTEGER ? lowKeyword : 'maximum' in schema ? 'maximum' : 'exclusiveMaximum';
      this.#unsupported(keyword, path, `generated integers have at most ${MAX_INTEGER_DIGITS} digits, and none of those is within the bounds`);
    }
    return range;
  }

  #numberExpr(schema: SchemaObject, path: string): string {
    const bound = BOUNDS.find((keyword) => keyword in schema);
    if (bound !== undefined) this.#unsupported(bound, path, 'bounds are supported on integers only');
    return this.#number();
  }

  #objectBody(schema: SchemaObject, path: string, hint: string): string {
    const properties = schema.properties ?? {};
    if (!isSchemaObject(properties)) this.#invalid('properties', path, 'must be an object');
    const required = schema.required ?? [];
    if (!Array.isArray(required) || required.some((name) => typeof name !== 'string') || new Set(required).size !== required.length) {
      this.#invalid('required', path, 'must be an array of distinct strings');
    }
    const additional = schema.additionalProperties;
    if (additional !== undefined && typeof additional !== 'boolean' && !isSchemaObject(additional)) {
      this.#invalid('additionalProperties', path, 'must be a schema');
    }

    const requiredNames = new Set(required as string[]);
    if (Object.keys(properties).length === 0 && requiredNames.size === 0) {
      if (additional === false) return '"{" "}"';
      if (additional === undefined || additional === true) return this.#anyObject();
      return this.#mapBody(this.#expr(additional, childPath(path, 'additionalProperties'), `${hint}-value`));
    }

    // Declared properties in their order, then required names that only additionalProperties describes.
    const members: { name: string; value: string; required: boolean }[] = [];
    for (const [name, property] of Object.entries(properties)) {
      const isRequired = requiredNames.has(name);
      if (property === false) {
        if (isRequired) this.#unsatisfiable('required', path, `property ${JSON.stringify(name)} is required but its schema is false`);
        continue;
      }
      const value = this.#expr(property, childPath(path, 'properties', name), `${hint}-${name}`);
      members.push({ name, value, required: isRequired });
    }
    for (const name of requiredNames) {
      if (Object.hasOwn(properties, name)) continue;
      if (additional === false) this.#unsatisfiable('required', path, `property ${JSON.stringify(name)} is required but additionalProperties is false`);
      const value = additional === undefined || additional === true
        ? this.#anyValue()
        : this.#expr(additional, childPath(path, 'additionalProperties'), `${hint}-${name}`);
      members.push({ name, value, required: true });
    }
    if (members.length === 0) return '"{" "}"';
    return `"{" ${this.#membersExpr(members, hint)} "}"`;
  }

  /**
   * Members in order, required ones always, optional ones any subset. The first member written has no comma, so
   * the grammar branches on which member comes first; the members after it are a shared chain of rules, which
   * keeps the grammar linear in the number of properties.
   */
  #membersExpr(members: { name: string; value: string; required: boolean }[], hint: string): string {
    const pair = (index: number) => `${gbnfLiteral(JSON.stringify(members[index].name) + this.#colon)} ${members[index].value}`;
    const firstRequired = members.findIndex((member) => member.required);
    // The last member that can come first: the first required one, or any when all are optional.
    const lastFirst = firstRequired === -1 ? members.length - 1 : firstRequired;

    const element = (index: number) => {
      const member = `${this.#comma} ${pair(index)}`;
      return members[index].required ? member : `(${member})?`;
    };
    // after[i]: members i.. once something was written. Those past lastFirst are referenced once, so they are
    // inlined in one piece; up to lastFirst each is a rule. Built from the back without recursion or re-copying
    // the rest: a schema may have thousands of properties.
    const after: string[] = [];
    after[lastFirst + 1] = members.slice(lastFirst + 1).map((_, offset) => element(lastFirst + 1 + offset)).join(' ');
    for (let index = lastFirst; index > 0; index--) {
      after[index] = this.#rules.add(`${hint}-after-${members[index].name}`, [element(index), after[index + 1]].filter(Boolean).join(' '));
    }

    const starts: string[] = [];
    for (let index = 0; index <= lastFirst; index++) starts.push([pair(index), after[index + 1]].filter(Boolean).join(' '));
    const choice = starts.length === 1 ? starts[0] : `(${starts.join(' | ')})`;
    return firstRequired === -1 ? `${starts.length === 1 ? `(${choice})` : choice}?` : choice;
  }

  /**
   * `item` (a rule name) between `least` and `most` times, every written count at most REPEAT_LIMIT: a large
   * minimum goes in blocks, and an optional part longer than REPEAT_LIMIT is cut (fewer items are still valid).
   */
  #repeat(item: string, least: number, most: number): string {
    if (least <= REPEAT_LIMIT && (most <= REPEAT_LIMIT || most === Infinity)) return repeat(item, least, most);
    const blocks = Math.floor(least / REPEAT_LIMIT);
    const remainder = least % REPEAT_LIMIT;
    const block = blocks === 0 ? '' : this.#shared(`${item}-x${REPEAT_LIMIT}`, () => `${item}{${REPEAT_LIMIT}}`);
    const optional = most === Infinity ? `${item}*` : repeat(item, 0, Math.min(most - least, REPEAT_LIMIT));
    return [repeat(block, blocks, blocks), repeat(item, remainder, remainder), optional].filter(Boolean).join(' ');
  }

  #arrayBody(schema: SchemaObject, path: string, hint: string): string {
    const minItems = this.#count(schema, 'minItems', path) ?? 0;
    const maxItems = this.#count(schema, 'maxItems', path) ?? Infinity;

    // 2020-12 tuples are prefixItems + items; drafts 4-7 spelled them items: [...] + additionalItems.
    let tuple: unknown[] = [];
    let tupleKeyword = 'prefixItems';
    let rest: unknown = schema.items;
    let restPath = childPath(path, 'items');
    if (schema.prefixItems !== undefined) {
      if (!Array.isArray(schema.prefixItems)) this.#invalid('prefixItems', path, 'must be an array of schemas');
      if (Array.isArray(schema.items)) this.#invalid('items', path, 'must be a schema when prefixItems is present');
      tuple = schema.prefixItems;
    } else if (Array.isArray(schema.items)) {
      tuple = schema.items;
      tupleKeyword = 'items';
      rest = schema.additionalItems;
      restPath = childPath(path, 'additionalItems');
    }
    if (rest === undefined) rest = true;

    if (minItems > MAX_COUNT) this.#unsupported('minItems', path, `above ${MAX_COUNT}`);
    if (tuple.length > MAX_TUPLE) this.#unsupported(tupleKeyword, path, `more than ${MAX_TUPLE} positions`);

    // A false tuple member forbids that position, so the array must end before it.
    const falseAt = tuple.indexOf(false);
    let longest = falseAt === -1 ? maxItems : Math.min(maxItems, falseAt);
    if (falseAt !== -1) tuple = tuple.slice(0, falseAt);
    if (rest === false || falseAt !== -1) longest = Math.min(longest, tuple.length);
    if (minItems > longest) this.#unsatisfiable('minItems', path, `the array can hold at most ${longest} items`);

    const tupleValues = tuple.map((item, index) => this.#expr(item, childPath(path, tupleKeyword, index), `${hint}-${index}`));
    const restValue = longest > tuple.length ? this.#expr(rest, restPath, `${hint}-item`) : '';
    // Repeated as one rule: llama.cpp multiplies a repetition's count by the rules inside a repeated group.
    let more = '';
    const repeatMore = (least: number, most: number) => {
      if (most === 0) return '';
      more ||= this.#rules.add(`${hint}-more`, `${this.#comma} ${restValue}`);
      return this.#repeat(more, least, most);
    };

    // elements(i): the elements from position i on, i being how many are written already.
    const elements = (index: number): string => {
      if (index >= longest) return '';
      if (index < tuple.length) {
        const comma = index === 0 ? '' : `${this.#comma} `;
        const sequence = [`${comma}${tupleValues[index]}`, elements(index + 1)].filter(Boolean).join(' ');
        return index < minItems ? sequence : `(${sequence})?`;
      }
      const least = Math.max(minItems - index, 0);
      const most = longest - index;
      if (index > 0) return repeatMore(least, most);
      const sequence = [restValue, repeatMore(Math.max(least - 1, 0), most - 1)].filter(Boolean).join(' ');
      return least > 0 ? sequence : `(${sequence})?`;
    };
    return ['"["', elements(0), '"]"'].filter(Boolean).join(' ');
  }
}

/**
 * The largest count written in a GBNF repetition, always of a single rule. llama.cpp refuses a repetition
 * whose count times the rules inside it reaches 2000, and silently drops an upper bound above 2000, which
 * would let a maxLength through.
 */
const REPEAT_LIMIT = 1000;
/** minLength / minItems beyond this are refused; block decomposition covers up to REPEAT_LIMIT². */
const MAX_COUNT = REPEAT_LIMIT * REPEAT_LIMIT;
const MAX_TUPLE = 100;

/** `item` repeated between `least` and `most` times (most may be Infinity); `item` must be one GBNF term. */
function repeat(item: string, least: number, most: number): string {
  if (most === Infinity) return least === 0 ? `${item}*` : least === 1 ? `${item}+` : `${item}{${least},}`;
  if (most === 0) return '';
  if (least === most) return least === 1 ? item : `${item}{${least}}`;
  if (least === 0 && most === 1) return `${item}?`;
  return `${item}{${least},${most}}`;
}
