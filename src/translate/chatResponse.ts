import type { ChatCompletionChunk, ChatCompletionResponse, Usage } from '../protocol/chatCompletions.js';
import type { CompletionResponse } from '../protocol/completions.js';

export type ResponseFinishReason = 'stop' | 'length' | 'tool_calls';

export interface ResponseIdentity {
  id: string;
  created: number;
  model: string;
}

export function usageOf(promptTokens: number, completionTokens: number): Usage {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

export function chatCompletion(
  identity: ResponseIdentity,
  message: { content: string | null; tool_calls?: ChatCompletionResponse['choices'][0]['message']['tool_calls'] },
  finishReason: ResponseFinishReason,
  usage: Usage,
): ChatCompletionResponse {
  return {
    ...identity,
    object: 'chat.completion',
    choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finishReason, logprobs: null }],
    usage,
  };
}

export function chatChunk(
  identity: ResponseIdentity,
  delta: ChatCompletionChunk['choices'][0]['delta'],
  finishReason: ResponseFinishReason | null = null,
): ChatCompletionChunk {
  return { ...identity, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }] };
}

/** The usage-only chunk of `stream_options.include_usage`: no choices. */
export function chatUsageChunk(identity: ResponseIdentity, usage: Usage): ChatCompletionChunk {
  return { ...identity, object: 'chat.completion.chunk', choices: [], usage };
}

export function textCompletion(
  identity: ResponseIdentity,
  text: string,
  finishReason: ResponseFinishReason | null,
  usage: Usage | null,
): CompletionResponse {
  return {
    ...identity,
    object: 'text_completion',
    choices: [{ index: 0, text, finish_reason: finishReason, logprobs: null }],
    usage,
  };
}

export function textUsageChunk(identity: ResponseIdentity, usage: Usage): CompletionResponse {
  return { ...identity, object: 'text_completion', choices: [], usage };
}
