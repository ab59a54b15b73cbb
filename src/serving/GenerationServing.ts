import { randomUUID } from 'node:crypto';
import type { AdapterCatalogue } from '../adapters/AdapterCatalogue.js';
import type { FinishReason, GenerationEvent, GenerationRequest, LlamaEngine, Token } from '../engine/LlamaEngine.js';
import type { ChatCompletionRequest } from '../protocol/chatCompletions.js';
import type { CompletionRequest } from '../protocol/completions.js';
import { contentText, renderProfilePrompt, withToolInstructions } from '../translate/chatPrompt.js';
import { ChatOutputShaper, type OutputMode, type ShapedResult } from '../translate/ChatOutputShaper.js';
import { checkSchemaSize, jsonSchemaToGbnf, type JsonSchemaLimits } from '../translate/jsonSchemaGrammar.js';
import type { PromptProfile } from '../translate/PromptProfile.js';
import { toolCallGrammar, type ToolCallSyntax } from '../translate/toolCallSyntax.js';
import type { ResponseIdentity } from '../translate/chatResponse.js';
import { samplingOptions, stopStrings } from '../translate/generationParameters.js';
import { resolveAdapterSelection, type AdapterSelection } from './adapterSelection.js';
import { selectPromptProfile } from './selectPromptProfile.js';
import { InvalidRequestError } from './servingErrors.js';

/** What generation reports to metrics (the metrics plugin implements it), so routes need not. */
export interface GenerationMetrics {
  firstToken(adapter: string, seconds: number): void;
  /** `forced`: completion tokens a grammar forced, inserted without sampling (part of `completion`). */
  tokens(adapter: string, prompt: number, completion: number, forced: number): void;
}

export interface GenerationPlan {
  selection: AdapterSelection;
  /** The response's id, creation time and echoed `model`. */
  identity: ResponseIdentity;
  request: Omit<GenerationRequest, 'signal'>;
  /** How chat output becomes a message: plain text, or tool calls. */
  output: OutputMode;
}

interface ChatOutputPlan {
  output: OutputMode;
  grammar?: string;
  /** Tools the prompt should show the model (none when calls are disabled). */
  promptTools: ChatCompletionRequest['tools'];
}

export interface CollectedGeneration {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
}

export interface CompletedChat extends Omit<CollectedGeneration, 'finishReason'> {
  message: ShapedResult['message'];
  finishReason: ShapedResult['finishReason'];
}

export interface ServingOptions {
  /** Largest max_tokens a request may ask for, most messages in one conversation, what a JSON schema may cost. */
  limits: { maxTokens: number; maxMessages: number; schema: JsonSchemaLimits };
  metrics?: GenerationMetrics;
  engine: LlamaEngine;
  catalogue: AdapterCatalogue;
  baseId: string;
  /** 'jinja': the model's own template; otherwise a built-in wrapper name. */
  chatTemplate: string;
}

/**
 * The serving logic between routes and the engine: resolves adapters, renders and tokenizes the prompt, checks
 * it fits, and turns request fields into engine options. Routes only do HTTP around it.
 */
export class GenerationServing {
  constructor(private readonly options: ServingOptions) {}

  get baseId(): string {
    return this.options.baseId;
  }

  planChat(body: ChatCompletionRequest, visible?: (adapterName: string) => boolean): GenerationPlan {
    if (body.messages.length > this.options.limits.maxMessages) {
      throw new InvalidRequestError(`at most ${this.options.limits.maxMessages} messages are accepted in one request`, 'messages', 'too_many_messages');
    }
    const selection = resolveAdapterSelection(body, this.options.baseId, this.options.catalogue, visible);
    const profile = selectPromptProfile(body.profile, selection, this.options.catalogue, this.baseChatTemplate);
    const outputPlan = chatOutputPlan(body, profile.syntax, this.options.limits.schema);
    const promptTokens = this.chatPromptTokens(body, profile, outputPlan);
    const plan = this.plan('chatcmpl', selection, promptTokens, body.max_completion_tokens ?? body.max_tokens ?? undefined, body);
    const stop = [...plan.request.stop, ...profile.stop];
    return { ...plan, request: { ...plan.request, grammar: outputPlan.grammar, stop }, output: outputPlan.output };
  }

  /** `echo`: the prompt text a response repeats before its completion (empty unless `echo` was asked for). */
  planCompletion(body: CompletionRequest, visible?: (adapterName: string) => boolean): GenerationPlan & { echo: string } {
    const selection = resolveAdapterSelection(body, this.options.baseId, this.options.catalogue, visible);
    const prompt = typeof body.prompt === 'string' ? body.prompt : body.prompt[0];
    if (prompt.length === 0) throw new InvalidRequestError('prompt must not be empty', 'prompt', 'empty_prompt');
    const promptTokens = this.options.engine.tokenizeCompletionPrompt(prompt);
    return { ...this.plan('cmpl', selection, promptTokens, body.max_tokens ?? undefined, body), echo: body.echo ? prompt : '' };
  }

  private plan(idPrefix: string, selection: AdapterSelection, promptTokens: Token[], maxTokens: number | undefined, body: ChatCompletionRequest | CompletionRequest): GenerationPlan {
    // Not fitting the context is checked first: its message says by how much.
    const fitted = this.options.engine.fitCompletion(promptTokens.length, maxTokens);
    const cap = this.options.limits.maxTokens;
    if (maxTokens !== undefined && maxTokens > cap) {
      throw new InvalidRequestError(`max_tokens may be at most ${cap} on this server`, 'max_tokens', 'max_tokens_too_large');
    }
    return {
      selection,
      identity: { id: `${idPrefix}-${randomUUID().replace(/-/g, '').slice(0, 24)}`, created: Math.floor(Date.now() / 1000), model: selection.model },
      output: { kind: 'text' },
      request: {
        adapters: selection.adapters,
        promptTokens,
        maxTokens: Math.min(cap, fitted),
        sampling: samplingOptions(body),
        stop: stopStrings(body.stop),
      },
    };
  }

  /** The base GGUF's own template, as profile `base` renders with it; undefined when a chat wrapper is configured. */
  get baseChatTemplate(): string | undefined {
    return this.options.chatTemplate === 'jinja' ? this.options.engine.info.chatTemplate : undefined;
  }

  private chatPromptTokens(body: ChatCompletionRequest, profile: PromptProfile, outputPlan: ChatOutputPlan): Token[] {
    const engine = this.options.engine;
    const tools = outputPlan.promptTools ?? [];
    const { template } = profile;
    if (template) return engine.tokenize(renderProfilePrompt({ ...profile, template }, body.messages, tools, engine.info));
    const wrapper = this.options.chatTemplate === 'jinja' ? 'llama3.1' : this.options.chatTemplate;
    return engine.wrapperPromptTokens(
      wrapper,
      withToolInstructions(body.messages, tools, profile.syntax, undefined).map((m) => ({
        role: m.role === 'developer' ? 'system' : m.role === 'tool' ? 'user' : m.role,
        text: contentText(m.content),
      })),
    );
  }

  /** The engine's events for a plan, observed on the way for time-to-first-token and token metrics. */
  async *generate(plan: GenerationPlan, signal: AbortSignal): AsyncGenerator<GenerationEvent> {
    const started = performance.now();
    const label = plan.selection.model;
    let first = true;
    for await (const event of this.options.engine.generate({ ...plan.request, signal })) {
      if (event.type === 'text' && first) {
        first = false;
        this.options.metrics?.firstToken(label, (performance.now() - started) / 1000);
      }
      if (event.type === 'done') this.options.metrics?.tokens(label, event.promptTokens, event.completionTokens, event.forcedTokens);
      yield event;
    }
  }

  /** A whole chat answer, not streamed: the events collected and shaped into one message. */
  async completeChat(plan: GenerationPlan, signal: AbortSignal): Promise<CompletedChat> {
    const result = await this.collect(this.generate(plan, signal));
    const shaper = new ChatOutputShaper(plan.output);
    shaper.push(result.text);
    const { message, finishReason } = shaper.finish(result.finishReason);
    return { ...result, message, finishReason };
  }

  async collect(events: AsyncIterable<GenerationEvent>): Promise<CollectedGeneration> {
    let text = '';
    for await (const event of events) {
      if (event.type === 'text') text += event.text;
      else return { text, finishReason: event.finishReason, promptTokens: event.promptTokens, completionTokens: event.completionTokens };
    }
    throw new Error('generation ended without a result');
  }
}

/** Decides from tools, tool_choice and response_format how output is constrained and read. */
function chatOutputPlan(body: ChatCompletionRequest, syntax: ToolCallSyntax, limits: JsonSchemaLimits): ChatOutputPlan {
  const tools = body.tools ?? [];
  const choice = body.tool_choice ?? (tools.length > 0 ? 'auto' : 'none');
  const functions = tools.map((t) => t.function);
  // Offered tools are held to the schema limits even when no call is forced: the template renders their schemas.
  functions.forEach((f, index) => checkSchemaSize(f.parameters ?? {}, limits, `tools[${index}].function.parameters`));
  if (choice !== 'none' && tools.length === 0) {
    throw new InvalidRequestError('tool_choice requires tools', 'tool_choice', 'invalid_value');
  }
  if (choice === 'required') {
    return { output: { kind: 'forced', syntax }, grammar: toolCallGrammar(functions, syntax, body.parallel_tool_calls ?? true, limits), promptTools: tools };
  }
  if (typeof choice === 'object') {
    const named = functions.find((f) => f.name === choice.function.name);
    if (!named) throw new InvalidRequestError(`tool_choice names "${choice.function.name.slice(0, 64)}", which is not in tools`, 'tool_choice', 'invalid_value');
    return { output: { kind: 'forced', syntax }, grammar: toolCallGrammar([named], syntax, false, limits), promptTools: tools };
  }
  const format = body.response_format;
  const grammar =
    format?.type === 'json_object'
      ? jsonSchemaToGbnf({ type: 'object' }).grammar
      : format?.type === 'json_schema'
        ? jsonSchemaToGbnf(format.json_schema.schema ?? { type: 'object' }, { limits }).grammar
        : undefined;
  if (choice === 'auto') return { output: { kind: 'auto', syntax }, grammar, promptTools: tools };
  return { output: { kind: 'text' }, grammar, promptTools: [] };
}
