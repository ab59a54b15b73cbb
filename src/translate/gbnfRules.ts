import { SchemaLimitError } from './jsonSchemaErrors.js';

/**
 * Building blocks for llama.cpp GBNF grammar text: escaped literals, valid rule names, and a rule set that
 * several producers (a JSON-schema converter, a tool-call wrapper) can share without name clashes.
 */

/** A GBNF string literal matching exactly `text`. Non-ASCII stays as UTF-8; llama.cpp reads literals as code points. */
export function gbnfLiteral(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === '"') out += '\\"';
    else if (char === '\\') out += '\\\\';
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    // Other control characters would break the one-rule-per-line text, so they go as hex escapes.
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code >= 0xd800 && code <= 0xdfff) throw new RangeError('a lone surrogate cannot be written as UTF-8');
    else out += char;
  }
  return `${out}"`;
}

/** llama.cpp accepts rule names made of ASCII letters, digits and dashes only. */
export function gbnfRuleName(hint: string): string {
  const name = hint.replace(/[^a-zA-Z0-9-]+/g, '-').replace(/-{2,}/g, '-').replace(/^-+|-+$/g, '');
  return name === '' ? 'rule' : name;
}

/**
 * Named GBNF rules in definition order. Names are made unique on request, so a caller can put a JSON-schema
 * grammar and its own wrapper rules into one set.
 */
export class GbnfRuleSet {
  readonly #bodies = new Map<string, string | undefined>();
  readonly #shared = new Map<string, string>();
  /** The next numeric suffix to try for each base name. */
  readonly #suffixes = new Map<string, number>();
  readonly #maxBytes: number;
  readonly #source: string;
  #bytes = 0;

  /**
   * `maxBytes`: the most the grammar may cost, checked as each rule is defined, so that building an oversized one
   * stops at the limit; `source` names the schema in the error.
   */
  constructor({ maxBytes = Infinity, source = 'grammar' }: { maxBytes?: number; source?: string } = {}) {
    this.#maxBytes = maxBytes;
    this.#source = source;
  }

  /** What the rules defined so far cost, as counted against `maxBytes`. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Claims a fresh name derived from `hint` (with a numeric suffix when taken); define it later. */
  reserve(hint: string): string {
    const base = gbnfRuleName(hint);
    let name = base;
    // Counting on from the last suffix given: thousands of hints may share one base name.
    let n = this.#suffixes.get(base) ?? 2;
    while (this.#bodies.has(name)) name = `${base}-${n++}`;
    this.#suffixes.set(base, n);
    this.#bodies.set(name, undefined);
    return name;
  }

  define(name: string, body: string): void {
    if (!this.#bodies.has(name)) throw new Error(`GBNF rule ${name} was not reserved`);
    if (this.#bodies.get(name) !== undefined) throw new Error(`GBNF rule ${name} is already defined`);
    this.#bytes += ruleCost(name, body);
    if (this.#bytes > this.#maxBytes) throw new SchemaLimitError('maxGrammarBytes', this.#maxBytes, this.#source);
    this.#bodies.set(name, body);
  }

  /** Reserves and defines in one step; returns the name actually used. */
  add(hint: string, body: string): string {
    const name = this.reserve(hint);
    this.define(name, body);
    return name;
  }

  /** One rule per distinct key for the whole set (primitives such as a JSON string), created on first use. */
  shared(key: string, body: () => string): string {
    let name = this.#shared.get(key);
    if (name === undefined) {
      name = this.reserve(key);
      this.#shared.set(key, name);
      this.define(name, body());
    }
    return name;
  }

  has(name: string): boolean {
    return this.#bodies.has(name);
  }

  /** The defined rules; throws if a reserved rule was never defined, since llama.cpp would reject the grammar. */
  toMap(): Map<string, string> {
    const rules = new Map<string, string>();
    for (const [name, body] of this.#bodies) {
      if (body === undefined) throw new Error(`GBNF rule ${name} was reserved but never defined`);
      rules.set(name, body);
    }
    return rules;
  }
}

/** Bytes a repeated item counts for each time llama.cpp writes it out (it expands `x{0,500}` into 500 rules). */
const REPEATED_ITEM_BYTES = 16;

/** A rule's UTF-8 text, plus every bounded repetition in it counted as written out. */
function ruleCost(name: string, body: string): number {
  let cost = Buffer.byteLength(name) + Buffer.byteLength(body) + 5;
  // Braces inside literals and character classes are text, not repetitions.
  const syntax = body.replace(/"(?:[^"\\]|\\.)*"|\[(?:[^\]\\]|\\.)*\]/g, '');
  for (const [, least, most] of syntax.matchAll(/\{(\d+)(?:,(\d*))?\}/g)) cost += Number(most || least) * REPEATED_ITEM_BYTES;
  return cost;
}

/** Grammar text, `rootRule` first, one rule per line. */
export function renderGbnf(rules: GbnfRuleSet | ReadonlyMap<string, string>, rootRule = 'root'): string {
  const map = rules instanceof GbnfRuleSet ? rules.toMap() : rules;
  const root = map.get(rootRule);
  if (root === undefined) throw new Error(`GBNF root rule ${rootRule} is not defined`);
  const lines = [`${rootRule} ::= ${root}`];
  for (const [name, body] of map) if (name !== rootRule) lines.push(`${name} ::= ${body}`);
  return `${lines.join('\n')}\n`;
}

/**
 * A GBNF expression matching exactly one of `texts`, written as a prefix tree: `"ap" ("ple" | "ricot")` rather
 * than `"apple" | "apricot"`. A flat list of n alternatives makes llama.cpp (and the jump-forward reader) follow
 * n parse stacks per character, so sampling one token of a 10,000-value enum took about a second; in the tree
 * they follow only the branches at the current point. Each branching node is its own rule, so the grammar text
 * never nests deeply, and the tree is built without recursion.
 */
export function gbnfChoice(rules: GbnfRuleSet, hint: string, texts: readonly string[]): string {
  const sorted = [...new Set(texts)].sort();
  if (sorted.length === 0) throw new RangeError('no text to choose from');
  const pending: Array<{ rule: string; from: number; to: number; offset: number }> = [];
  /** The texts sorted[from..to), less their first `offset` UTF-16 units; branches below become queued rules. */
  const node = (from: number, to: number, offset: number): string => {
    // Sorted, so the prefix common to the range is the one its first and last texts share; never half a code point.
    const first = sorted[from];
    const last = sorted[to - 1];
    let shared = offset;
    while (shared < first.length && first[shared] === last[shared]) shared++;
    if (to - from === 1) return gbnfLiteral(first.slice(offset));
    if (shared > offset && isHighSurrogate(first.charCodeAt(shared - 1))) shared--;
    const prefix = shared > offset ? gbnfLiteral(first.slice(offset, shared)) : '';
    const alternatives: string[] = [];
    let optional = false;
    for (let start = from; start < to; ) {
      const codePoint = sorted[start].codePointAt(shared);
      let end = start + 1;
      while (end < to && sorted[end].codePointAt(shared) === codePoint) end++;
      if (codePoint === undefined) {
        optional = true;
      } else if (end - start === 1) {
        alternatives.push(gbnfLiteral(sorted[start].slice(shared)));
      } else {
        const rule = rules.reserve(hint);
        pending.push({ rule, from: start, to: end, offset: shared });
        alternatives.push(rule);
      }
      start = end;
    }
    const choice = alternatives.length === 1 && !optional ? alternatives[0] : `(${alternatives.join(' | ')})${optional ? '?' : ''}`;
    return prefix === '' ? choice : `${prefix} ${choice}`;
  };
  const expression = node(0, sorted.length, 0);
  while (pending.length > 0) {
    const { rule, from, to, offset } = pending.pop()!;
    rules.define(rule, node(from, to, offset));
  }
  return expression;
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
