import { Template } from '@huggingface/jinja';
import type { PromptSegment } from '../engine/LlamaEngine.js';
import type { ChatMessage, FunctionTool } from '../protocol/chatCompletions.js';
import type { PromptProfile } from './PromptProfile.js';
import { toolInstructions, type ToolCallSyntax } from './toolCallSyntax.js';
import { jsonOrText } from '../protocol/jsonOrText.js';

/** A fixed date, so a rendered prompt (and its cached prefix) does not change at midnight. */
export const TEMPLATE_DATE = '26 Jul 2024';

export class PromptRenderError extends Error {
  override name = 'PromptRenderError';
}

export interface RenderOptions {
  tools?: FunctionTool[];
  bosToken?: string;
  eosToken?: string;
  /** Texts of the model's special tokens: when they appear in user-supplied text they stay plain text. */
  specialTokenTexts: string[];
  addGenerationPrompt?: boolean;
  extraVariables?: Record<string, unknown>;
}

/** OpenAI content parts become one string, as chat templates expect. */
export function contentText(content: ChatMessage['content']): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => part.text).join('');
}

// Private-use characters mark where user text held a special-token string; no tokenizer gives them meaning.
const OPEN = '\uE000';
const CLOSE = '\uE001';

/**
 * Hides special-token strings inside user-supplied text behind markers, so the template renders byte-for-byte as
 * it would with the text, and the text is later tokenized as plain words rather than as control tokens.
 */
class SpecialTextGuard {
  readonly hidden: string[] = [];
  private readonly pattern: RegExp | undefined;

  constructor(specialTokenTexts: string[]) {
    const escaped = specialTokenTexts.filter((t) => t.length > 0).sort((a, b) => b.length - a.length)
      .map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.pattern = escaped.length > 0 ? new RegExp(escaped.join('|'), 'g') : undefined;
  }

  guard(text: string): string {
    if (!this.pattern) return text;
    return text.replace(this.pattern, (match) => `${OPEN}${this.hidden.push(match) - 1}${CLOSE}`);
  }

  guardDeep<T>(value: T): T {
    if (typeof value === 'string') return this.guard(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.guardDeep(v)) as T;
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.guardDeep(v)])) as T;
    }
    return value;
  }

  split(rendered: string): PromptSegment[] {
    const segments: PromptSegment[] = [];
    const marker = new RegExp(`${OPEN}(\\d+)${CLOSE}`, 'g');
    let last = 0;
    for (const match of rendered.matchAll(marker)) {
      if (match.index > last) segments.push({ text: rendered.slice(last, match.index), special: true });
      segments.push({ text: this.hidden[Number(match[1])], special: false });
      last = match.index + match[0].length;
    }
    if (last < rendered.length) segments.push({ text: rendered.slice(last), special: true });
    return segments;
  }
}

/** Messages as chat templates receive them (HF `apply_chat_template` shape: tool call arguments as objects). */
export function templateMessages(messages: ChatMessage[]): Array<Record<string, unknown>> {
  return messages.map((message) => {
    const rendered: Record<string, unknown> = { role: message.role, content: contentText(message.content) };
    if (message.role === 'assistant' && message.tool_calls?.length) {
      rendered.tool_calls = message.tool_calls.map((call) => ({
        id: call.id,
        type: 'function',
        function: { name: call.function.name, arguments: jsonOrText(call.function.arguments) },
      }));
    }
    if (message.role === 'tool') rendered.tool_call_id = message.tool_call_id;
    if ('name' in message && message.name) rendered.name = message.name;
    return rendered;
  });
}


const compiledTemplates = new Map<string, Template>();
const MAX_COMPILED_TEMPLATES = 64;

/** Renders a conversation with a Jinja chat template (the model's own, or a profile's), as llama-server --jinja does. */
export function renderChatTemplate(template: string, messages: ChatMessage[], options: RenderOptions): PromptSegment[] {
  let compiled = compiledTemplates.get(template);
  if (!compiled) {
    try {
      compiled = new Template(template);
    } catch (error) {
      throw new PromptRenderError(`the chat template does not parse: ${(error as Error).message}`);
    }
    // Profiles are re-read when edited; old texts are dropped rather than kept for the life of the process.
    if (compiledTemplates.size >= MAX_COMPILED_TEMPLATES) compiledTemplates.delete(compiledTemplates.keys().next().value!);
    compiledTemplates.set(template, compiled);
  }
  const guard = new SpecialTextGuard(options.specialTokenTexts);
  let rendered: string;
  try {
    rendered = compiled.render({
      bos_token: options.bosToken ?? '',
      eos_token: options.eosToken ?? '',
      date_string: TEMPLATE_DATE,
      // A profile's variables may replace the defaults above, never the conversation itself.
      ...options.extraVariables,
      messages: guard.guardDeep(templateMessages(messages)),
      tools: options.tools?.length ? guard.guardDeep(options.tools) : undefined,
      add_generation_prompt: options.addGenerationPrompt ?? true,
    });
  } catch (error) {
    if (error instanceof PromptRenderError) throw error;
    throw new PromptRenderError(`the chat template failed to render: ${(error as Error).message}`);
  }
  return guard.split(rendered);
}

/** What rendering needs of the base model: its BOS/EOS texts and the texts of its control tokens. */
export interface ModelTokenTexts {
  bosToken?: string;
  eosToken?: string;
  specialTokenTexts: string[];
}

/**
 * A template that does not render `tools` itself (no tool support) would silently drop them; such a template
 * gets the functions and the call syntax in a system message first, so the model is at least told.
 */
export function withToolInstructions(messages: ChatMessage[], tools: FunctionTool[], syntax: ToolCallSyntax, template: string | undefined): ChatMessage[] {
  if (tools.length === 0 || template?.includes('tools')) return messages;
  return [{ role: 'system', content: toolInstructions(tools.map((t) => t.function), syntax) }, ...messages];
}

/**
 * The prompt of a conversation under a profile, as segments for the engine's tokenizer: exactly what the
 * profile's template renders with these messages and `tools` (as `apply_chat_template(messages, tools=…)` does),
 * with user-supplied text marked so it never becomes a control token. `tools` is empty when calls are off.
 */
export function renderProfilePrompt(
  profile: PromptProfile & { template: string },
  messages: ChatMessage[],
  tools: FunctionTool[],
  model: ModelTokenTexts,
): PromptSegment[] {
  return renderChatTemplate(profile.template, withToolInstructions(messages, tools, profile.syntax, profile.template), {
    tools,
    bosToken: model.bosToken,
    eosToken: model.eosToken,
    specialTokenTexts: model.specialTokenTexts,
    extraVariables: profile.variables,
  });
}
