import { randomUUID } from 'node:crypto';
import type { AdapterCatalogue } from '../adapters/AdapterCatalogue.js';
import type { FinishReason, GenerationEvent, GenerationRequest, LlamaEngine, Token } from '../engine/LlamaEngine.js';
import type { ChatCompletionRequest } from '../protocol/chatCompletions.js';
import type { CompletionRequest } from '../protocol/completions.js';
import { contentText, renderChatTemplate } from '../translate/chatPrompt.js';
import { samplingOptions, stopStrings } from '../translate/generationParameters.js';
import { resolveAdapterSelection, type AdapterSelection } from './adapterSelection.js';
import { ApiError } from './errors.js';

export interface GenerationPlan {
  selection: AdapterSelection;
  request: Omit<GenerationRequest, 'signal'>;
}

export interface CollectedGeneration {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
}

export interface ServingOptions {
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

  newIdentity(prefix: string, model: string) {
    return { id: `${prefix}-${randomUUID().replace(/-/g, '').slice(0, 24)}`, created: Math.floor(Date.now() / 1000), model };
  }

  planChat(body: ChatCompletionRequest): GenerationPlan {
    const selection = resolveAdapterSelection(body, this.options.baseId, this.options.catalogue);
    const promptTokens = this.chatPromptTokens(body);
    return this.plan(selection, promptTokens, body.max_completion_tokens ?? body.max_tokens ?? undefined, body);
  }

  planCompletion(body: CompletionRequest): GenerationPlan {
    const selection = resolveAdapterSelection(body, this.options.baseId, this.options.catalogue);
    const prompt = typeof body.prompt === 'string' ? body.prompt : body.prompt[0];
    if (prompt.length === 0) throw new ApiError(400, 'prompt must not be empty', 'prompt', 'empty_prompt');
    const promptTokens = this.options.engine.tokenizeCompletionPrompt(prompt);
    return this.plan(selection, promptTokens, body.max_tokens ?? undefined, body);
  }

  private plan(selection: AdapterSelection, promptTokens: Token[], maxTokens: number | undefined, body: ChatCompletionRequest | CompletionRequest): GenerationPlan {
    return {
      selection,
      request: {
        adapters: selection.adapters,
        promptTokens,
        maxTokens: this.options.engine.fitCompletion(promptTokens.length, maxTokens),
        sampling: samplingOptions(body),
        stop: stopStrings(body.stop),
      },
    };
  }

  private chatPromptTokens(body: ChatCompletionRequest): Token[] {
    const engine = this.options.engine;
    const template = this.options.chatTemplate === 'jinja' ? engine.info.chatTemplate : undefined;
    if (template) {
      const segments = renderChatTemplate(template, body.messages, {
        tools: body.tools,
        bosToken: engine.info.bosToken,
        eosToken: engine.info.eosToken,
        specialTokenTexts: engine.info.specialTokenTexts,
      });
      return engine.tokenize(segments);
    }
    const wrapper = this.options.chatTemplate === 'jinja' ? 'llama3.1' : this.options.chatTemplate;
    return engine.wrapperPromptTokens(
      wrapper,
      body.messages.map((m) => ({
        role: m.role === 'developer' ? 'system' : m.role === 'tool' ? 'user' : m.role,
        text: contentText(m.content),
      })),
    );
  }

  generate(plan: GenerationPlan, signal: AbortSignal): AsyncGenerator<GenerationEvent> {
    return this.options.engine.generate({ ...plan.request, signal });
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
