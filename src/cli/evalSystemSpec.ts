import type { LoraChoice } from '../redaction/redactCall/RedactionModel.js';
import { UsageError } from './commandIo.js';

export interface EvalSystemSpec {
  name: string;
  /** The openai client's base URL, e.g. http://127.0.0.1:8080/v1. */
  baseURL: string;
  model: string;
  lora: LoraChoice[];
}

/**
 * `NAME=URL#MODEL[+adapter[:scale]...]`. The adapters go into adaptd's `lora` field; a URL with
 * no path gets `/v1`, as OpenAI-compatible servers serve there.
 */
export function parseSystemSpec(text: string): EvalSystemSpec {
  const match = /^([^=#]+)=([^#]+)#(.+)$/.exec(text.trim());
  if (!match) throw new UsageError(`--system must look like NAME=URL#MODEL[+adapter[:scale]...], not "${text}"`);
  const [, name, url, modelPart] = match;
  const [model, ...adapters] = modelPart.split('+');
  if (!model) throw new UsageError(`--system "${text}" names no model`);
  return { name: name.trim(), baseURL: baseUrl(url.trim(), text), model, lora: adapters.map((a) => loraChoice(a, text)) };
}

function baseUrl(url: string, spec: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--system "${spec}": "${url}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`--system "${spec}": only http and https URLs`);
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/v1';
  return parsed.toString().replace(/\/$/, '');
}

// The scale follows the last colon, so an adapter name may itself hold colons.
function loraChoice(text: string, spec: string): LoraChoice {
  const match = /^(.+?)(?::(-?\d+(?:\.\d+)?))?$/.exec(text);
  if (!match || match[1] === '') throw new UsageError(`--system "${spec}": empty adapter name`);
  return { name: match[1], scale: match[2] === undefined ? 1 : Number(match[2]) };
}

/** `NAME=VALUE` pairs of a repeated flag; a bare VALUE applies to every system (key '*'). */
export function perSystemValues(flag: string, entries: readonly string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (const entry of entries) {
    const at = entry.indexOf('=');
    const [name, value] = at < 0 ? ['*', entry] : [entry.slice(0, at), entry.slice(at + 1)];
    if (value === '') throw new UsageError(`--${flag} "${entry}" has no value`);
    values.set(name, value);
  }
  return values;
}
