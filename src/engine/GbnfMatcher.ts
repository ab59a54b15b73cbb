/**
 * A recogniser for llama.cpp GBNF grammars, in JavaScript, so the engine can see where a grammar leaves the model
 * no choice. llama.cpp's own grammar state is native and answers only "may this token come next?"; finding text the
 * grammar forces (`{"fields_to_redact": [{"string": "` before any choice) would take a pass over the whole
 * vocabulary per character. This follows llama.cpp's algorithm (a set of parse stacks advanced one code point at
 * a time, repetitions rewritten into rules) on the same grammar text, and the engine still asks the native state to
 * accept every token it inserts, so a disagreement costs a skipped shortcut, never an output the grammar forbids.
 */

/** One code point class: sorted inclusive [from, to] pairs, possibly negated. */
interface CharElement {
  readonly kind: 'char';
  readonly ranges: readonly number[];
  readonly negated: boolean;
}

interface RuleElement {
  kind: 'rule';
  rule: number;
}

type Element = CharElement | RuleElement;

/** One alternative of a rule; `id` names it in stack keys. */
interface Alternative {
  id: number;
  elements: Element[];
}

/** A parse stack as a linked list, top first: the alternative being matched and the element reached in it. */
interface Stack {
  alternative: Alternative;
  index: number;
  below: Stack | null;
}

/** The grammar text is not one this recogniser reads (the native grammar may still accept it). */
export class GbnfSyntaxError extends Error {
  override name = 'GbnfSyntaxError';
}

const MAX_EXPANSION_DEPTH = 512;
const MAX_STACKS = 4096;

export class GbnfGrammar {
  private constructor(
    private readonly rules: Alternative[][],
    private readonly root: number,
    /** Roughly what the parsed rules take on the heap. */
    readonly bytes: number,
  ) {}

  static parse(text: string, rootRule = 'root'): GbnfGrammar {
    const parser = new GbnfParser(text);
    parser.parseAll();
    const root = parser.ruleIds.get(rootRule);
    if (root === undefined || parser.rules[root] === undefined) throw new GbnfSyntaxError(`no rule named ${rootRule}`);
    parser.rules.forEach((rule, id) => {
      if (rule === undefined) throw new GbnfSyntaxError(`rule ${parser.ruleNames[id]} is used but not defined`);
    });
    return new GbnfGrammar(parser.rules as Alternative[][], root, parser.heapBytes());
  }

  /** The state before any text. */
  start(): GbnfMatcher {
    const stacks: Array<Stack | null> = [];
    for (const alternative of this.rules[this.root]) this.expand({ alternative, index: 0, below: null }, stacks, 0);
    return new GbnfMatcher(this, dedupe(stacks));
  }

  /** Pushes every stack reachable from `stack` whose top is a character class; `null` means the grammar may end. */
  expand(stack: Stack | null, into: Array<Stack | null>, depth: number): void {
    if (depth > MAX_EXPANSION_DEPTH) throw new GbnfSyntaxError('the grammar nests too deeply (left recursion?)');
    if (stack === null) {
      into.push(null);
      return;
    }
    const { alternative, index, below } = stack;
    if (index === alternative.elements.length) {
      this.expand(below, into, depth + 1);
      return;
    }
    const element = alternative.elements[index];
    if (element.kind === 'char') {
      into.push(stack);
      return;
    }
    // Pop a finished frame before pushing, so right recursion (`x ::= a x | `) does not grow the stack.
    const rest = index + 1 === alternative.elements.length ? below : { alternative, index: index + 1, below };
    for (const next of this.rules[element.rule]) this.expand({ alternative: next, index: 0, below: rest }, into, depth + 1);
    if (into.length > MAX_STACKS) throw new GbnfSyntaxError('the grammar is too ambiguous to follow');
  }
}

/** Where a text has brought a grammar; immutable, each step makes a new one. */
export class GbnfMatcher {
  constructor(
    private readonly grammar: GbnfGrammar,
    private readonly stacks: ReadonlyArray<Stack | null>,
  ) {}

  /** Roughly what the grammar behind this state takes on the heap. */
  get grammarBytes(): number {
    return this.grammar.bytes;
  }

  /** Whether the text so far is a whole match (the grammar may end here). */
  get canEnd(): boolean {
    return this.stacks.includes(null);
  }

  /** The state after `text`, or undefined when the grammar does not allow it. */
  accept(text: string): GbnfMatcher | undefined {
    let matcher: GbnfMatcher | undefined = this;
    for (const char of text) {
      matcher = matcher.acceptCodePoint(char.codePointAt(0)!);
      if (!matcher) return undefined;
    }
    return matcher;
  }

  /**
   * The text every continuation must start with, up to `limit` UTF-16 units: it stops where two characters are
   * possible, where a class allows several, or where the grammar could end.
   */
  forcedText(limit: number): string {
    let forced = '';
    let matcher: GbnfMatcher | undefined = this;
    while (forced.length < limit && matcher) {
      const codePoint = matcher.onlyNextCodePoint();
      if (codePoint === undefined) break;
      forced += String.fromCodePoint(codePoint);
      try {
        matcher = matcher.acceptCodePoint(codePoint);
      } catch (error) {
        // Past this character the reader cannot follow; what it forced up to here is still forced.
        if (error instanceof GbnfSyntaxError) break;
        throw error;
      }
    }
    return forced;
  }

  private onlyNextCodePoint(): number | undefined {
    let only: number | undefined;
    for (const stack of this.stacks) {
      if (stack === null) return undefined;
      const element = stack.alternative.elements[stack.index] as CharElement;
      if (element.negated || element.ranges.length !== 2 || element.ranges[0] !== element.ranges[1]) return undefined;
      if (only !== undefined && only !== element.ranges[0]) return undefined;
      only = element.ranges[0];
    }
    return only;
  }

  private acceptCodePoint(codePoint: number): GbnfMatcher | undefined {
    const next: Array<Stack | null> = [];
    for (const stack of this.stacks) {
      if (stack === null) continue;
      const element = stack.alternative.elements[stack.index] as CharElement;
      if (!matches(element, codePoint)) continue;
      this.grammar.expand({ alternative: stack.alternative, index: stack.index + 1, below: stack.below }, next, 0);
    }
    return next.length === 0 ? undefined : new GbnfMatcher(this.grammar, dedupe(next));
  }
}

function matches(element: CharElement, codePoint: number): boolean {
  let inside = false;
  for (let i = 0; i < element.ranges.length && !inside; i += 2) inside = codePoint >= element.ranges[i] && codePoint <= element.ranges[i + 1];
  return inside !== element.negated;
}

/** Ambiguous grammars reach one parse position by several paths; one stack per position keeps the set small. */
function dedupe(stacks: Array<Stack | null>): Array<Stack | null> {
  const seen = new Set<string>();
  return stacks.filter((stack) => {
    let key = '';
    for (let frame = stack; frame; frame = frame.below) key += `${frame.alternative.id}.${frame.index},`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** GBNF text → rules of alternatives, with groups and repetitions turned into generated rules as llama.cpp does. */
class GbnfParser {
  readonly rules: Array<Alternative[] | undefined> = [];
  readonly ruleIds = new Map<string, number>();
  readonly ruleNames: string[] = [];
  private position = 0;
  private alternatives = 0;
  private readonly literals = new Map<number, CharElement>();
  private classes = 0;

  constructor(private readonly text: string) {}

  parseAll(): void {
    this.skipSpace(true);
    while (this.position < this.text.length) {
      const name = this.parseName();
      this.skipSpace(false);
      if (!this.text.startsWith('::=', this.position)) this.fail('expected ::=');
      this.position += 3;
      this.skipSpace(true);
      const id = this.ruleId(name);
      if (this.rules[id] !== undefined) this.fail(`rule ${name} is defined twice`);
      this.rules[id] = this.parseAlternatives(false);
      this.skipSpace(true);
    }
  }

  private parseAlternatives(nested: boolean): Alternative[] {
    const alternatives = [this.alternative(this.parseSequence(nested))];
    while (this.text[this.position] === '|') {
      this.position++;
      this.skipSpace(true);
      alternatives.push(this.alternative(this.parseSequence(nested)));
    }
    return alternatives;
  }

  private parseSequence(nested: boolean): Element[] {
    const sequence: Element[] = [];
    let lastItemStart = sequence.length;
    for (;;) {
      const char = this.text[this.position];
      if (char === undefined || char === '|' || char === ')' || char === '\n' || char === '\r') break;
      if (char === '"') {
        lastItemStart = sequence.length;
        this.position++;
        while (this.text[this.position] !== '"') {
          if (this.position >= this.text.length) this.fail('unterminated string');
          sequence.push(this.literalChar(this.parseChar()));
        }
        this.position++;
      } else if (char === '[') {
        lastItemStart = sequence.length;
        sequence.push(this.parseClass());
      } else if (char === '.') {
        lastItemStart = sequence.length;
        this.position++;
        sequence.push({ kind: 'char', ranges: [], negated: true });
      } else if (char === '(') {
        lastItemStart = sequence.length;
        this.position++;
        this.skipSpace(true);
        const group = this.newRule(this.parseAlternatives(true));
        if (this.text[this.position] !== ')') this.fail('expected )');
        this.position++;
        sequence.push({ kind: 'rule', rule: group });
      } else if (/[a-zA-Z0-9-]/.test(char)) {
        lastItemStart = sequence.length;
        sequence.push({ kind: 'rule', rule: this.ruleId(this.parseName()) });
      } else if (char === '*' || char === '+' || char === '?' || char === '{') {
        if (lastItemStart === sequence.length) this.fail(`nothing to repeat before ${char}`);
        const item = sequence.splice(lastItemStart);
        sequence.push(...this.repeat(item, this.parseRepetition()));
        lastItemStart = sequence.length;
      } else {
        this.fail(`unexpected ${JSON.stringify(char)}`);
      }
      this.skipSpace(nested);
    }
    return sequence;
  }

  /** `{m}`, `{m,}`, `{m,n}` or one of `*`, `+`, `?`, as [min, max] (max Infinity when unbounded). */
  private parseRepetition(): [number, number] {
    const char = this.text[this.position++];
    if (char === '*') return [0, Infinity];
    if (char === '+') return [1, Infinity];
    if (char === '?') return [0, 1];
    const bounds = /\s*(\d+)\s*(?:(,)\s*(\d+)?\s*)?\}/y;
    bounds.lastIndex = this.position;
    const match = bounds.exec(this.text);
    if (!match) this.fail('bad repetition');
    this.position = bounds.lastIndex;
    const min = Number(match[1]);
    const max = match[2] === undefined ? min : match[3] === undefined ? Infinity : Number(match[3]);
    if (max < min) this.fail('repetition maximum below its minimum');
    return [min, max];
  }

  /** `item` min times, then either `item*` or (max - min) nested optional copies. */
  private repeat(item: Element[], [min, max]: [number, number]): Element[] {
    const out: Element[] = [];
    for (let i = 0; i < min; i++) out.push(...item);
    if (max === Infinity) {
      const loop = this.newRule([]);
      this.rules[loop] = [this.alternative([...item, { kind: 'rule', rule: loop }]), this.alternative([])];
      out.push({ kind: 'rule', rule: loop });
    } else if (max > min) {
      let optional: number | undefined;
      for (let i = min; i < max; i++) {
        const tail: Element[] = optional === undefined ? [] : [{ kind: 'rule', rule: optional }];
        optional = this.newRule([this.alternative([...item, ...tail]), this.alternative([])]);
      }
      out.push({ kind: 'rule', rule: optional! });
    }
    return out;
  }

  /**
   * One shared element per code point of a literal: literals are most of a large grammar's text, and an element
   * each cost about 80 bytes per character of grammar (190 MB of heap for a 2.4 MB enum).
   */
  private literalChar(codePoint: number): CharElement {
    let element = this.literals.get(codePoint);
    if (element === undefined) {
      element = { kind: 'char', ranges: [codePoint, codePoint], negated: false };
      this.literals.set(codePoint, element);
    }
    return element;
  }

  private parseClass(): CharElement {
    this.classes++;
    this.position++;
    const negated = this.text[this.position] === '^';
    if (negated) this.position++;
    const ranges: number[] = [];
    while (this.text[this.position] !== ']') {
      if (this.position >= this.text.length) this.fail('unterminated character class');
      const from = this.parseChar();
      let to = from;
      if (this.text[this.position] === '-' && this.text[this.position + 1] !== ']') {
        this.position++;
        to = this.parseChar();
      }
      ranges.push(from, to);
    }
    this.position++;
    return { kind: 'char', ranges, negated };
  }

  /** One character of a literal or class, with llama.cpp's escapes. */
  private parseChar(): number {
    if (this.text[this.position] !== '\\') {
      const codePoint = this.text.codePointAt(this.position)!;
      this.position += codePoint > 0xffff ? 2 : 1;
      return codePoint;
    }
    const escape = this.text[this.position + 1];
    this.position += 2;
    const hexDigits = { x: 2, u: 4, U: 8 }[escape as 'x' | 'u' | 'U'];
    if (hexDigits !== undefined) {
      const hex = this.text.slice(this.position, this.position + hexDigits);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== hexDigits) this.fail('bad hex escape');
      this.position += hexDigits;
      return parseInt(hex, 16);
    }
    const simple: Record<string, string> = { t: '\t', r: '\r', n: '\n', '\\': '\\', '"': '"', '[': '[', ']': ']' };
    if (escape === undefined || !(escape in simple)) this.fail(`unknown escape \\${escape}`);
    return simple[escape].codePointAt(0)!;
  }

  private parseName(): string {
    const name = /[a-zA-Z0-9-]+/y;
    name.lastIndex = this.position;
    const match = name.exec(this.text);
    if (!match) this.fail('expected a rule name');
    this.position = name.lastIndex;
    return match[0];
  }

  /** Spaces, tabs and comments; newlines too when `newlines` (inside a group, or between rules). */
  private skipSpace(newlines: boolean): void {
    for (;;) {
      const char = this.text[this.position];
      if (char === ' ' || char === '\t' || (newlines && (char === '\n' || char === '\r'))) this.position++;
      else if (char === '#') while (this.position < this.text.length && this.text[this.position] !== '\n') this.position++;
      else return;
    }
  }

  private ruleId(name: string): number {
    let id = this.ruleIds.get(name);
    if (id === undefined) {
      id = this.ruleNames.length;
      this.ruleIds.set(name, id);
      this.ruleNames.push(name);
      this.rules.push(undefined);
    }
    return id;
  }

  /**
   * An upper estimate of the parsed rules' heap size: per rule, per alternative (an object and a grown array),
   * per element (a pointer; literal characters are shared) and per character class. Heap snapshots of JSON-schema
   * grammars (a 10,000-value enum, 2,000 properties, 300 integer ranges) measured 0.55 to 1.05 times this.
   */
  heapBytes(): number {
    let elements = 0;
    for (const rule of this.rules) for (const alternative of rule ?? []) elements += alternative.elements.length;
    return this.rules.length * 120 + this.alternatives * 180 + elements * 20 + this.classes * 240;
  }

  private newRule(alternatives: Alternative[]): number {
    const id = this.ruleNames.length;
    this.ruleNames.push(`generated-${id}`);
    this.rules.push(alternatives);
    return id;
  }

  private alternative(elements: Element[]): Alternative {
    return { id: this.alternatives++, elements };
  }

  private fail(message: string): never {
    throw new GbnfSyntaxError(`${message} at offset ${this.position}`);
  }
}
