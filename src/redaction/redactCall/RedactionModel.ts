// The port through which the redactor reaches a model. In the server the serving layer answers it in-process;
// the eval tool answers it through an OpenAI client. Both send the same chat request and read the same call.
import type { ChatCompletionRequest } from '../../protocol/chatCompletions.js';
import { RedactionCallError } from '../redactionErrors.js';
import type { RedactTool } from './redactorSpec.js';

export interface RedactCallInput {
  systemPrompt: string;
  document: string;
  tool: RedactTool;
  maxTokens: number;
  signal?: AbortSignal;
}

export interface TokenUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

export interface RedactCallOutput {
  /** The `arguments` string of the model's `redact` tool call, as generated. */
  argumentsJson: string;
  finishReason: 'stop' | 'length' | 'tool_calls';
  usage: TokenUsage;
}

/** How the redactor reaches a model. */
export interface RedactionModel {
  callRedact(input: RedactCallInput): Promise<RedactCallOutput>;
}

/** An adapter stacked on the model, sent as adaptd's `lora` extension field. */
export interface LoraChoice {
  name: string;
  scale: number;
}

/** Which model answers: `model`, adaptd's `lora` stack and `peft` (hosted LoRA services' alias of an adapter). */
export interface RedactModelTarget {
  model: string;
  lora: readonly LoraChoice[];
  peft?: string;
}

/** The redact call as a chat request: the spec's prompt as the system message, the document as the user's, the tool forced. */
export function redactChatRequest(input: RedactCallInput, target: RedactModelTarget): ChatCompletionRequest {
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

/** What the redactor reads of a chat answer: its tool calls and why it ended. */
export interface ChatAnswer {
  toolCalls?: ReadonlyArray<{ type: string; function?: { name: string; arguments: string } }> | null;
  finishReason: string | null;
}

/** The arguments of the answer's call of the redact tool; a RedactionCallError when there is none (fail closed). */
export function redactCallOf(answer: ChatAnswer, toolName: string): Omit<RedactCallOutput, 'usage'> {
  const call = answer.toolCalls?.find((c) => c.type === 'function' && c.function?.name === toolName);
  if (!call?.function) {
    if (answer.finishReason === 'length') throw new RedactionCallError('truncated', 'the answer reached max_tokens before a redact call');
    throw new RedactionCallError('invalid', 'the answer has no redact tool call');
  }
  const reason = answer.finishReason;
  return { argumentsJson: call.function.arguments, finishReason: reason === 'length' || reason === 'tool_calls' ? reason : 'stop' };
}
