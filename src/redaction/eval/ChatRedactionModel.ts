import type { ChatCompletionRequest } from '../../protocol/chatCompletions.js';
import type { RedactCallInput, RedactCallOutput, RedactionModel, TokenUsage } from '../redactDocument.js';
import { RedactionCallError } from '../redactionErrors.js';

/** An adapter stacked on the model, sent as adaptd's `lora` extension field. */
export interface LoraChoice {
  name: string;
  scale: number;
}

/** What the eval needs of a chat completion; the official `openai` client's answer has this shape. */
export interface ChatCompletionLike {
  choices: Array<{
    message: { content?: string | null; tool_calls?: Array<{ type: string; function?: { name: string; arguments: string } }> | null };
    finish_reason: string | null;
  }>;
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
}

/** Any OpenAI-compatible chat completions endpoint. */
export interface ChatCompletionsClient {
  create(body: ChatCompletionRequest, options: { signal?: AbortSignal }): Promise<ChatCompletionLike>;
}

/**
 * A request that got no answer (connection refused, timed out, HTTP error status). Client
 * adapters throw it so the eval can count the call as invalid whatever client is behind it.
 */
export class EndpointError extends Error {
  override name = 'EndpointError';

  constructor(readonly kind: 'http' | 'connection' | 'timeout', message: string, readonly status?: number) {
    super(message);
  }
}

export interface ChatTarget {
  client: ChatCompletionsClient;
  model: string;
  lora: readonly LoraChoice[];
  /** adaptd's alias of an adapter name (hosted LoRA services' field). */
  peft?: string;
}

/**
 * The redactor's model reached over the OpenAI chat API: the spec's prompt as the system
 * message, the document as the user message, the redact tool forced by `tool_choice`. One
 * instance per call; it keeps what the answer cost and said, also when the answer was unusable.
 */
export class ChatRedactionModel implements RedactionModel {
  usage: TokenUsage = { prompt_tokens: 0, completion_tokens: 0 };
  argumentsJson: string | null = null;

  constructor(private readonly target: ChatTarget) {}

  async callRedact(input: RedactCallInput): Promise<RedactCallOutput> {
    const response = await this.target.client.create(redactRequestBody(input, this.target), { signal: input.signal });
    this.usage = { prompt_tokens: response.usage?.prompt_tokens ?? 0, completion_tokens: response.usage?.completion_tokens ?? 0 };
    const choice = response.choices[0];
    const call = choice?.message.tool_calls?.find((c) => c.type === 'function' && c.function?.name === input.tool.function.name);
    if (!call?.function) {
      if (choice?.finish_reason === 'length') throw new RedactionCallError('truncated', 'the answer reached max_tokens before a redact call');
      throw new RedactionCallError('invalid', 'the answer has no redact tool call');
    }
    this.argumentsJson = call.function.arguments;
    return { argumentsJson: call.function.arguments, finishReason: finishReason(choice.finish_reason), usage: this.usage };
  }
}

export function redactRequestBody(input: RedactCallInput, target: Pick<ChatTarget, 'model' | 'lora' | 'peft'>): ChatCompletionRequest {
  return {
    model: target.model,
    ...(target.lora.length > 0 ? { lora: target.lora.map((l) => ({ ...l })) } : {}),
    ...(target.peft !== undefined ? { peft: target.peft } : {}),
    messages: [
      { role: 'system', content: input.systemPrompt },
      { role: 'user', content: input.document },
    ],
    tools: [input.tool],
    tool_choice: { type: 'function', function: { name: input.tool.function.name } },
    temperature: 0,
    max_tokens: input.maxTokens,
  };
}

function finishReason(reason: string | null): RedactCallOutput['finishReason'] {
  return reason === 'length' || reason === 'tool_calls' ? reason : 'stop';
}
