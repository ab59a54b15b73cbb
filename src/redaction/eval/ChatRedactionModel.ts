import type { ChatCompletionRequest } from '../../protocol/chatCompletions.js';
import { redactCallOf, redactChatRequest, type RedactCallInput, type RedactCallOutput, type RedactionModel, type RedactModelTarget, type TokenUsage } from '../redactCall/RedactionModel.js';

/** What the eval needs of a chat completion; the official `openai` client's answer has this shape. */
export interface ChatCompletionLike {
  choices: Array<{
    message: { content?: string | null; tool_calls?: Array<{ type: string; function?: { name: string; arguments: string } }> | null };
    finish_reason: string | null;
  }>;
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
}

/** Any OpenAI-compatible chat completions endpoint; it throws EndpointError when it gets no answer. */
export interface ChatCompletionsClient {
  create(body: ChatCompletionRequest, options: { signal?: AbortSignal }): Promise<ChatCompletionLike>;
}

export interface ChatTarget extends RedactModelTarget {
  client: ChatCompletionsClient;
}

/**
 * The redactor's model reached over the OpenAI chat API of a remote system (the eval's adapter of the
 * RedactionModel port). One instance per call; it keeps what the answer cost and said, also when the answer was
 * unusable.
 */
export class ChatRedactionModel implements RedactionModel {
  usage: TokenUsage = { prompt_tokens: 0, completion_tokens: 0 };
  argumentsJson: string | null = null;

  constructor(private readonly target: ChatTarget) {}

  async callRedact(input: RedactCallInput): Promise<RedactCallOutput> {
    const response = await this.target.client.create(redactChatRequest(input, this.target), { signal: input.signal });
    this.usage = { prompt_tokens: response.usage?.prompt_tokens ?? 0, completion_tokens: response.usage?.completion_tokens ?? 0 };
    const choice = response.choices[0];
    const call = redactCallOf({ toolCalls: choice?.message.tool_calls, finishReason: choice?.finish_reason ?? null }, input.tool.function.name);
    this.argumentsJson = call.argumentsJson;
    return { ...call, usage: this.usage };
  }
}
