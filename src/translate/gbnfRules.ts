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

  /** Claims a fresh name derived from `hint` (with a numeric suffix when taken); define it later. */
  reserve(hint: string): string {
    const base = gbnfRuleName(hint);
    let name = base;
    for (let n = 2; this.#bodies.has(name); n++) name = `${base}-${n}`;
    this.#bodies.set(name, undefined);
    return name;
  }

  define(name: string, body: string): void {
    if (!this.#bodies.has(name)) throw new Error(`GBNF rule ${name} was not reserved`);
    if (this.#bodies.get(name) !== undefined) throw new Error(`GBNF rule ${name} is already defined`);
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

/** Grammar text, `rootRule` first, one rule per line. */
export function renderGbnf(rules: GbnfRuleSet | ReadonlyMap<string, string>, rootRule = 'root'): string {
  const map = rules instanceof GbnfRuleSet ? rules.toMap() : rules;
  const root = map.get(rootRule);
  if (root === undefined) throw new Error(`GBNF root rule ${rootRule} is not defined`);
  const lines = [`${rootRule} ::= ${root}`];
  for (const [name, body] of map) if (name !== rootRule) lines.push(`${name} ::= ${body}`);
  return `${lines.join('\n')}\n`;
}
