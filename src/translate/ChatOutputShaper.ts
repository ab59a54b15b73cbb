import { randomUUID } from 'node:crypto';
import type { ChatCompletionChunk, ChatCompletionResponse } from '../protocol/chatCompletions.js';
import { jsonValueEnd, parseToolCalls, PYTHON_TAG, ToolCallParseError } from './parseToolCalls.js';
import type { ToolCallSyntax } from './toolCallSyntax.js';

type Delta = ChatCompletionChunk['choices'][0]['delta'];
type ToolCall = NonNullable<ChatCompletionResponse['choices'][0]['message']['tool_calls']>[0];

/**
 * How the generated text becomes an assistant message:
 * - `text`: content as written;
 * - `forced`: the grammar guarantees one or more calls in `syntax`; they are streamed as they are written;
 * - `auto`: the model may call a tool; output that opens with the syntax's marker is read as calls.
 */
export type OutputMode = { kind: 'text' } | { kind: 'forced'; syntax: ToolCallSyntax } | { kind: 'auto'; syntax: ToolCallSyntax };

export interface ShapedMessage {
  content: string | null;
  tool_calls?: ToolCall[];
}

export interface ShapedResult {
  deltas: Delta[];
  message: ShapedMessage;
  finishReason: 'stop' | 'length' | 'tool_calls';
}

export const newToolCallId = () => `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`;

/**
 * Turns generated text into OpenAI deltas as it arrives and into the final message at the end — one code path
 * for streaming and non-streaming responses, so the two always agree.
 */
export class ChatOutputShaper {
  private text = '';
  private contentSent = 0;
  private readonly calls: Array<{ id: string; name: string; argumentsStart: number; argumentsSent: number; argumentsEnd: number }> = [];

  constructor(private readonly mode: OutputMode) {}

  push(piece: string): Delta[] {
    this.text += piece;
    if (this.mode.kind === 'text') return this.flushContent(this.text.length);
    if (this.mode.kind === 'forced') return this.advanceForced(this.mode.syntax);
    return this.flushContent(this.autoSafeEnd(this.mode.syntax));
  }

  finish(engineReason: 'stop' | 'length'): ShapedResult {
    if (this.mode.kind === 'forced') {
      const deltas = this.advanceForced(this.mode.syntax);
      const complete = engineReason === 'stop' && this.calls.length > 0 && this.calls.every((c) => c.argumentsEnd >= 0);
      const tool_calls = this.calls.map((call) => ({
        id: call.id,
        type: 'function' as const,
        function: { name: call.name, arguments: this.text.slice(call.argumentsStart, call.argumentsEnd >= 0 ? call.argumentsEnd : undefined) },
      }));
      // A call cut off by max_tokens keeps its partial arguments and says `length`, never `tool_calls`.
      return { deltas, message: { content: null, tool_calls }, finishReason: complete ? 'tool_calls' : 'length' };
    }
    if (this.mode.kind === 'auto' && engineReason === 'stop') {
      const parsed = this.tryParse(this.mode.syntax);
      if (parsed && parsed.calls.length > 0) {
        const tool_calls = parsed.calls.map((call) => ({ id: newToolCallId(), type: 'function' as const, function: call }));
        const deltas: Delta[] = [];
        const unsentContent = (parsed.content ?? '').slice(this.contentSent);
        if (unsentContent) deltas.push({ content: unsentContent });
        tool_calls.forEach((call, index) => deltas.push({ tool_calls: [{ index, ...call }] }));
        return { deltas, message: { content: parsed.content, tool_calls }, finishReason: 'tool_calls' };
      }
    }
    return { deltas: this.flushContent(this.text.length), message: { content: this.text }, finishReason: engineReason };
  }

  private tryParse(syntax: ToolCallSyntax) {
    try {
      return parseToolCalls(this.text, syntax);
    } catch (error) {
      if (error instanceof ToolCallParseError) return undefined;
      throw error;
    }
  }

  private flushContent(end: number): Delta[] {
    if (end <= this.contentSent) return [];
    const content = this.text.slice(this.contentSent, end);
    this.contentSent = end;
    return [{ content }];
  }

  /** In auto mode, text that is (or may become) a tool call is held back until the end. */
  private autoSafeEnd(syntax: ToolCallSyntax): number {
    const wrapped = this.markerStart(syntax.open ? syntax.marker : PYTHON_TAG);
    return syntax.open ? wrapped : Math.min(wrapped, this.unwrappedCallStart(syntax.marker));
  }

  /** Where `marker`, or a start of it at the very end, appears in the unsent text. */
  private markerStart(marker: string): number {
    const at = this.text.indexOf(marker, this.contentSent);
    if (at >= 0) return at;
    for (let length = Math.min(marker.length - 1, this.text.length - this.contentSent); length > 0; length--) {
      if (this.text.endsWith(marker.slice(0, length))) return this.text.length - length;
    }
    return this.text.length;
  }

  /** An unwrapped JSON call opens the output or a line (as the parser reads it); so does a line not begun yet. */
  private unwrappedCallStart(marker: string): number {
    for (let at = this.contentSent; at < this.text.length; at++) {
      if (at > 0 && this.text[at - 1] !== '\n') continue;
      const lead = this.text.slice(at).trimStart();
      if (lead === '' || lead.startsWith(marker)) return at;
    }
    return this.text.length;
  }

  /** Forced calls follow the grammar's fixed layout, so each call's name and arguments are found as they appear. */
  private advanceForced(syntax: ToolCallSyntax): Delta[] {
    const deltas: Delta[] = [];
    for (;;) {
      const last = this.calls.at(-1);
      if (last && last.argumentsEnd < 0) {
        const end = jsonValueEnd(this.text, last.argumentsStart);
        const available = end >= 0 ? end : this.text.length;
        if (available > last.argumentsSent) {
          deltas.push({ tool_calls: [{ index: this.calls.length - 1, function: { arguments: this.text.slice(last.argumentsSent, available) } }] });
          last.argumentsSent = available;
        }
        if (end < 0) return deltas;
        last.argumentsEnd = end;
      }
      const from = last ? last.argumentsEnd + 1 + syntax.close.length + (this.calls.length > 0 ? syntax.separator.length : 0) : 0;
      const header = new RegExp(`^${escape(syntax.open)}\\{"name": ("(?:[^"\\\\]|\\\\.)*"), "${syntax.argumentsKey}": `).exec(this.text.slice(from));
      if (!header) return deltas;
      const call = { id: newToolCallId(), name: JSON.parse(header[1]) as string, argumentsStart: from + header[0].length, argumentsSent: 0, argumentsEnd: -1 };
      call.argumentsSent = call.argumentsStart;
      this.calls.push(call);
      deltas.push({ tool_calls: [{ index: this.calls.length - 1, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] });
    }
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
