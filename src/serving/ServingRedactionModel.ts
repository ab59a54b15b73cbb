import { redactCallOf, redactChatRequest, type RedactCallInput, type RedactCallOutput, type RedactionModel, type RedactModelTarget } from '../redaction/redactCall/RedactionModel.js';
import type { GenerationServing } from './GenerationServing.js';

export interface ServingRedactionModelOptions {
  /** Whether the caller may use an adapter (its API key's allow-list). */
  visible?: (adapterName: string) => boolean;
  /**
   * Treat `max_tokens` as a ceiling that is lowered to what the context leaves, instead of a demand that is a 400
   * when it does not fit: used when the caller gave no max_tokens and a default stands in for it.
   */
  maxTokensAsCeiling?: boolean;
}

/**
 * The redactor's model answered in this process: the redact call is planned, generated and shaped exactly as
 * POST /v1/chat/completions would do it, and its tool call is read from the shaped message directly.
 */
export class ServingRedactionModel implements RedactionModel {
  constructor(
    private readonly serving: GenerationServing,
    private readonly target: RedactModelTarget,
    private readonly options: ServingRedactionModelOptions = {},
  ) {}

  async callRedact(input: RedactCallInput): Promise<RedactCallOutput> {
    const answer = await this.serving.completeChat(this.plan(redactChatRequest(input, this.target)), input.signal ?? new AbortController().signal);
    const call = redactCallOf({ toolCalls: answer.message.tool_calls, finishReason: answer.finishReason }, input.tool.function.name);
    return { ...call, usage: { prompt_tokens: answer.promptTokens, completion_tokens: answer.completionTokens } };
  }

  private plan(body: ReturnType<typeof redactChatRequest>) {
    const ceiling = body.max_tokens;
    if (!this.options.maxTokensAsCeiling || ceiling == null) return this.serving.planChat(body, this.options.visible);
    const plan = this.serving.planChat({ ...body, max_tokens: undefined }, this.options.visible);
    return { ...plan, request: { ...plan.request, maxTokens: Math.min(plan.request.maxTokens, ceiling) } };
  }
}
