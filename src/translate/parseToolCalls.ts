import type { ToolCallSyntax } from './toolCallSyntax.js';

export interface ParsedToolCall {
  name: string;
  /** Arguments as a JSON object string, as OpenAI's `function.arguments`. */
  arguments: string;
}

export interface ParsedToolOutput {
  /** Text the model wrote before its calls, or null. */
  content: string | null;
  calls: ParsedToolCall[];
}

export class ToolCallParseError extends Error {
  override name = 'ToolCallParseError';
}

/** Llama 3.1 may open a call with this token; what precedes it is text. */
export const PYTHON_TAG = '<|python_tag|>';

/**
 * Where a call without a wrapper (json, llama3.1) starts: the whole output when it opens with "{", else a line
 * that opens with a JSON object whose first key is a call's (`name`, `arguments`, `parameters`), after text.
 */
const UNWRAPPED_CALL_LINE = /\n[ \t]*(?=\{\s*["'](?:name|arguments|parameters)["']\s*:)/;

/**
 * Reads tool calls written in `syntax` from a complete model output. Tolerant of what training sets contain:
 * keys in any order, `arguments` or `parameters`, arguments given as a JSON string, single-quoted Python-style
 * dicts. Returns undefined when the output holds no call; throws ToolCallParseError for a malformed one.
 */
export function parseToolCalls(output: string, syntax: ToolCallSyntax): ParsedToolOutput | undefined {
  const tagAt = output.indexOf(PYTHON_TAG);
  if (tagAt >= 0 && !syntax.open) return unwrappedCalls(output.slice(0, tagAt), output.slice(tagAt + PYTHON_TAG.length));
  const text = output.replace(/^\s*<\|python_tag\|>/, '');
  if (syntax.open) {
    const start = text.indexOf(syntax.open.trim());
    if (start < 0) return undefined;
    const bodies: string[] = [];
    const pattern = new RegExp(`${escapeRegExp(syntax.open.trim())}([\\s\\S]*?)(?:${escapeRegExp(syntax.close.trim())}|$)`, 'g');
    for (const match of text.slice(start).matchAll(pattern)) bodies.push(match[1]);
    const content = text.slice(0, start).trim();
    return { content: content || null, calls: bodies.map((body) => callFromObject(parseLenientJson(body.trim()))) };
  }
  if (text.trimStart().startsWith(syntax.marker)) return unwrappedCalls('', text);
  const line = UNWRAPPED_CALL_LINE.exec(text);
  return line ? unwrappedCalls(text.slice(0, line.index), text.slice(line.index)) : undefined;
}

function unwrappedCalls(before: string, calls: string): ParsedToolOutput {
  const content = before.trim();
  return { content: content || null, calls: splitTopLevelObjects(calls.trim()).map((body) => callFromObject(parseLenientJson(body))) };
}

function callFromObject(value: unknown): ParsedToolCall {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ToolCallParseError('a tool call is not a JSON object');
  const record = value as Record<string, unknown>;
  const nested = record.function && typeof record.function === 'object' ? (record.function as Record<string, unknown>) : record;
  const name = nested.name;
  if (typeof name !== 'string' || name.length === 0) throw new ToolCallParseError('a tool call has no function name');
  let args: unknown = nested.arguments ?? nested.parameters ?? {};
  if (typeof args === 'string') args = args.trim() === '' ? {} : parseLenientJson(args);
  if (!args || typeof args !== 'object' || Array.isArray(args)) throw new ToolCallParseError(`the arguments of ${name} are not a JSON object`);
  return { name, arguments: JSON.stringify(args) };
}

/** The top-level `{…}` objects of a text, separated by whitespace, commas or semicolons. */
function splitTopLevelObjects(text: string): string[] {
  const objects: string[] = [];
  let depth = 0;
  let start = -1;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '{' || ch === '[') {
      if (depth++ === 0) start = i;
    } else if (ch === '}' || ch === ']') {
      if (--depth === 0) objects.push(text.slice(start, i + 1));
      if (depth < 0) throw new ToolCallParseError('unbalanced brackets in a tool call');
    } else if (depth === 0 && !/[\s,;]/.test(ch)) {
      throw new ToolCallParseError('unexpected text between tool calls');
    }
  }
  if (depth !== 0 || quote) throw new ToolCallParseError('a tool call is incomplete');
  return objects;
}

/** JSON, or a Python literal (single quotes, True/False/None) converted to JSON. */
export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    try {
      return JSON.parse(pythonLiteralToJson(text));
    } catch {
      throw new ToolCallParseError('a tool call is not valid JSON');
    }
  }
}

function pythonLiteralToJson(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"' || ch === "'") {
      let value = '';
      let j = i + 1;
      for (; j < text.length && text[j] !== ch; j++) {
        if (text[j] === '\\' && j + 1 < text.length) {
          const next = text[++j];
          value += next === ch ? next : `\\${next}`;
        } else value += text[j];
      }
      if (j >= text.length) throw new ToolCallParseError('unterminated string');
      out += `"${value.replace(/(?<!\\)"/g, '\\"')}"`;
      i = j;
      continue;
    }
    const word = /^(True|False|None)\b/.exec(text.slice(i));
    if (word) {
      out += word[1] === 'True' ? 'true' : word[1] === 'False' ? 'false' : 'null';
      i += word[1].length - 1;
      continue;
    }
    out += ch;
  }
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Where the JSON value starting at `start` ends (exclusive), or -1 while it is still incomplete. Used to stream
 * a forced call's arguments without the wrapper text that follows them.
 */
export function jsonValueEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') {
        inString = false;
        if (depth === 0) return i + 1;
      }
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      if (--depth === 0) return i + 1;
    } else if (depth === 0 && /[,\s}\]]/.test(ch) && i > start) return i;
  }
  return -1;
}
