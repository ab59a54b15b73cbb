import type { Llama, LlamaGrammar } from 'node-llama-cpp';
import { GbnfGrammar, GbnfSyntaxError, type GbnfMatcher } from './GbnfMatcher.js';
import { GrammarError } from './engineErrors.js';

/** A grammar as llama.cpp enforces it, and as the engine reads it to find forced text (when it can). */
export interface CompiledGrammar {
  native: LlamaGrammar;
  start?: GbnfMatcher;
}

export interface GrammarCacheOptions {
  /** Read each grammar for jump-forward decoding too. */
  fastForward: boolean;
  /** What the kept grammars may cost together, by `grammarBytes`; 0 keeps none. */
  maxBytes: number;
}

/**
 * Compiled grammars of recent requests by GBNF text, least recently used first out, bounded by what they cost
 * rather than by how many there are: one schema's grammar can be a thousand times another's. A compile that
 * fails leaves nothing behind, and a grammar costing more than the whole budget is compiled for its request only.
 */
export class GrammarCache {
  /** In use order, oldest first; a pending compile is counted by its text until it is known. */
  private readonly entries = new Map<string, { grammar: Promise<CompiledGrammar>; bytes: number }>();
  private totalBytes = 0;

  constructor(
    private readonly llama: Llama,
    private readonly options: GrammarCacheOptions,
  ) {}

  /** What the kept grammars cost now, in bytes. */
  get bytes(): number {
    return this.totalBytes;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The compiled grammar for `gbnf`; a bad grammar is a GrammarError, not a crash. */
  compile(gbnf: string): Promise<CompiledGrammar> {
    const cached = this.entries.get(gbnf);
    if (cached) {
      this.entries.delete(gbnf);
      this.entries.set(gbnf, cached);
      return cached.grammar;
    }
    const grammar = this.llama.createGrammar({ grammar: gbnf }).then(
      (native) => {
        const compiled = { native, start: this.options.fastForward ? readGrammar(gbnf) : undefined };
        this.resize(gbnf, grammar, grammarBytes(gbnf, compiled.start));
        return compiled;
      },
      (error: unknown) => {
        this.remove(gbnf, grammar);
        throw new GrammarError(`the output grammar could not be compiled: ${error instanceof Error ? error.message : String(error)}`);
      },
    );
    this.add(gbnf, grammar, grammarBytes(gbnf, undefined));
    return grammar;
  }

  private add(gbnf: string, grammar: Promise<CompiledGrammar>, bytes: number): void {
    if (bytes > this.options.maxBytes) return;
    this.entries.set(gbnf, { grammar, bytes });
    this.totalBytes += bytes;
    this.evictBeyondBudget();
  }

  /** Records what a compiled grammar costs; one over the whole budget is dropped (its request still has it). */
  private resize(gbnf: string, grammar: Promise<CompiledGrammar>, bytes: number): void {
    const entry = this.entries.get(gbnf);
    if (entry?.grammar !== grammar) return;
    this.totalBytes += bytes - entry.bytes;
    entry.bytes = bytes;
    if (bytes > this.options.maxBytes) this.remove(gbnf, grammar);
    else this.evictBeyondBudget();
  }

  private remove(gbnf: string, grammar: Promise<CompiledGrammar>): void {
    const entry = this.entries.get(gbnf);
    // Only this compile's own entry: the text may have been evicted and compiled again since.
    if (entry?.grammar !== grammar) return;
    this.entries.delete(gbnf);
    this.totalBytes -= entry.bytes;
  }

  private evictBeyondBudget(): void {
    for (const [gbnf, entry] of this.entries) {
      if (this.totalBytes <= this.options.maxBytes) return;
      this.remove(gbnf, entry.grammar);
    }
  }
}

/**
 * What keeping a grammar costs: its text twice (the JavaScript string and node-llama-cpp's native copy) and the
 * jump-forward reader's rules.
 */
function grammarBytes(gbnf: string, start: GbnfMatcher | undefined): number {
  return 2 * Buffer.byteLength(gbnf) + (start?.grammarBytes ?? 0);
}

/** The start of the grammar for fast-forwarding, or undefined for grammar text this reader does not follow. */
function readGrammar(gbnf: string): GbnfMatcher | undefined {
  try {
    return GbnfGrammar.parse(gbnf).start();
  } catch (error) {
    // A stack overflow (RangeError) in the reader's parser is a grammar it cannot follow, too.
    if (error instanceof GbnfSyntaxError || error instanceof RangeError) return undefined;
    throw error;
  }
}
