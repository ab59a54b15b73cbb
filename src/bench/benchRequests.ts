import { synthesizeRows } from '../redaction/dataset/synthesizeRows.js';
import type { RedactorSpec } from '../redaction/redactCall/redactorSpec.js';

/** An OpenAI chat completions body, as both servers receive it (plus each server's adapter selection fields). */
export type ChatBody = Record<string, unknown> & { messages: Array<{ role: string; content: string }>; max_tokens: number };

/**
 * The redactor request in a form both servers render to the same tokens. The benchmark model's Llama 3 template
 * has no tool support: adaptd then describes the tools in an extra system message while llama-server silently
 * drops them, so `tools` would give the two servers different prompts. Instead the tool spec is part of the
 * system prompt and the answer is constrained by the tool's JSON schema through `response_format`, which both
 * servers turn into a llama.cpp grammar. Two changes to that schema make every answer exactly `max_tokens` long on
 * both servers: `minItems: 1` opens a first entry, and a `minLength` no 32-token answer reaches keeps the answer
 * inside that entry's `string`. Without the second, an adapter whose random weights close the string finishes the
 * whole call in fewer tokens on adaptd (which inserts the keys the grammar forces) than llama-server needs to spell
 * them one sampled token at a time, and the two would not be doing the same work.
 */
export interface RedactorPrompt {
  systemMessage: string;
  responseFormat: Record<string, unknown>;
}

/** Characters the answer's first string must have: more than 32 tokens of any tokenizer write. */
const OPEN_STRING_LENGTH = 1000;

export function redactorPrompt(spec: RedactorSpec): RedactorPrompt {
  const parameters = spec.tool.function.parameters as Record<string, any>;
  const entries = parameters.properties.fields_to_redact;
  const entry = { ...entries.items, properties: { ...entries.items.properties, string: { ...entries.items.properties.string, minLength: OPEN_STRING_LENGTH } } };
  const schema = { ...parameters, properties: { ...parameters.properties, fields_to_redact: { ...entries, minItems: 1, items: entry } } };
  return {
    systemMessage: `${spec.systemPrompt}\n\nAnswer by calling this function:\n${JSON.stringify(spec.tool)}`,
    responseFormat: { type: 'json_schema', json_schema: { name: spec.tool.function.name, schema } },
  };
}

/** `grammar: false` drops the schema: the same prompt, every answer token sampled (jump-forward has nothing to skip). */
export function redactorRequest(prompt: RedactorPrompt, document: string, maxTokens: number, stream = false, grammar = true): ChatBody {
  return {
    messages: [
      { role: 'system', content: prompt.systemMessage },
      { role: 'user', content: document },
    ],
    ...(grammar ? { response_format: prompt.responseFormat } : {}),
    temperature: 0,
    max_tokens: maxTokens,
    ...streamFields(stream),
  };
}

/** The decode workload: a short prompt and a long answer, so the time is the decoding of `maxTokens` tokens. */
export function decodeRequest(maxTokens: number, variant: number): ChatBody {
  return {
    messages: [{ role: 'user', content: `Write a long story about a lighthouse keeper, part ${variant + 1}.` }],
    temperature: 0,
    max_tokens: maxTokens,
  };
}

function streamFields(stream: boolean): Record<string, unknown> {
  return stream ? { stream: true, stream_options: { include_usage: true } } : {};
}

/**
 * Documents of about 70 tokens (250-400 characters of English with PII), each different so that only the system
 * prompt is a shared prefix; from the project's seeded PII generator, so every run sends the same texts.
 */
export function benchDocuments(count: number, seed = 7): string[] {
  const documents: string[] = [];
  for (const row of synthesizeRows({ rows: count * 20, seed, languages: ['en'] })) {
    const text = row.source_text.length > 400 ? cutAtWord(row.source_text, 400) : row.source_text;
    if (text.length >= 250) documents.push(text);
    if (documents.length === count) return documents;
  }
  throw new Error(`the PII generator gave fewer than ${count} documents of 250-400 characters`);
}

function cutAtWord(text: string, limit: number): string {
  const cut = text.slice(0, limit);
  const space = cut.lastIndexOf(' ');
  return space > limit / 2 ? cut.slice(0, space) : cut;
}

/** Adapter indexes for `requests` requests that take turns over `adapters` adapters starting at `first`. */
export function alternatingAdapters(requests: number, adapters: number, first = 0): number[] {
  return Array.from({ length: requests }, (_, i) => first + (i % adapters));
}
