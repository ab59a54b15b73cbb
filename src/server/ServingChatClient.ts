import type { ChatCompletionRequest } from '../protocol/chatCompletions.js';
import type { ChatCompletionLike, ChatCompletionsClient } from '../redaction/eval/ChatRedactionModel.js';
import { ChatOutputShaper } from '../translate/ChatOutputShaper.js';
import { chatCompletion, usageOf } from '../translate/chatResponse.js';
import type { GenerationServing } from './GenerationServing.js';

export interface ServingChatClientOptions {
  /** Whether the caller may use an adapter (its API key's allow-list). */
  visible?: (adapterName: string) => boolean;
  /**
   * Treat `max_tokens` as a ceiling that is lowered to what the context leaves, instead of a demand that is a 400
   * when it does not fit: used when the caller gave no max_tokens and a default stands in for it.
   */
  maxTokensAsCeiling?: boolean;
}

/**
 * A non-streamed chat completion answered in-process by the same planning, engine and output shaping as
 * POST /v1/chat/completions, so the redactor's call is exactly the call a client would make over HTTP.
 */
export class ServingChatClient implements ChatCompletionsClient {
  constructor(
    private readonly serving: GenerationServing,
    private readonly options: ServingChatClientOptions = {},
  ) {}

  async create(body: ChatCompletionRequest, { signal }: { signal?: AbortSignal }): Promise<ChatCompletionLike> {
    const plan = this.plan(body);
    const result = await this.serving.collect(this.serving.generate(plan, signal ?? new AbortController().signal));
    const shaper = new ChatOutputShaper(plan.output);
    shaper.push(result.text);
    const shaped = shaper.finish(result.finishReason);
    const identity = this.serving.newIdentity('chatcmpl', plan.selection.model);
    return chatCompletion(identity, shaped.message, shaped.finishReason, usageOf(result.promptTokens, result.completionTokens));
  }

  private plan(body: ChatCompletionRequest) {
    const ceiling = body.max_tokens;
    if (!this.options.maxTokensAsCeiling || ceiling == null) return this.serving.planChat(body, this.options.visible);
    const plan = this.serving.planChat({ ...body, max_tokens: undefined }, this.options.visible);
    return { ...plan, request: { ...plan.request, maxTokens: Math.min(plan.request.maxTokens, ceiling) } };
  }
}
