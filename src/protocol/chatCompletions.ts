import { z } from 'zod';

/** Wire types of POST /v1/chat/completions, as OpenAI defines them, plus adaptd's adapter-selection extensions. */

const textPart = z.object({ type: z.literal('text'), text: z.string() });
export const messageContent = z.union([z.string(), z.array(textPart).min(1)]).meta({ id: 'MessageContent' });

export const toolCall = z
  .object({
    id: z.string(),
    type: z.literal('function'),
    function: z.object({ name: z.string().min(1), arguments: z.string() }),
  })
  .meta({ id: 'ToolCall' });

export const chatMessage = z
  .discriminatedUnion('role', [
    z.object({ role: z.enum(['system', 'developer']), content: messageContent, name: z.string().optional() }),
    z.object({ role: z.literal('user'), content: messageContent, name: z.string().optional() }),
    z.object({
      role: z.literal('assistant'),
      content: messageContent.nullable().optional(),
      name: z.string().optional(),
      tool_calls: z.array(toolCall).optional(),
      refusal: z.string().nullable().optional(),
    }),
    z.object({ role: z.literal('tool'), content: messageContent, tool_call_id: z.string() }),
  ])
  .meta({ id: 'ChatMessage' });

export const functionTool = z
  .object({
    type: z.literal('function'),
    function: z.object({
      name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'function names are 1-64 letters, digits, _ or -'),
      description: z.string().optional(),
      parameters: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullable().optional(),
    }),
  })
  .meta({ id: 'FunctionTool' });

export const toolChoice = z
  .union([
    z.enum(['none', 'auto', 'required']),
    z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }),
  ])
  .meta({ id: 'ToolChoice' });

export const responseFormat = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('text') }),
    z.object({ type: z.literal('json_object') }),
    z.object({
      type: z.literal('json_schema'),
      json_schema: z.object({
        name: z.string(),
        description: z.string().optional(),
        schema: z.record(z.string(), z.unknown()).optional(),
        strict: z.boolean().nullable().optional(),
      }),
    }),
  ])
  .meta({ id: 'ResponseFormat' });

/** adaptd extension: several adapters stacked, each with its own scale. */
export const loraSelection = z
  .array(z.object({ name: z.string(), scale: z.number().min(-4).max(4).default(1) }))
  .max(16)
  .meta({ id: 'LoraSelection', description: 'adapters stacked on top of `model`, each with its own scale (0: not applied)' });

const stop = z.union([z.string(), z.array(z.string()).max(4)]).nullable().optional();

/** Sampling and length fields shared by chat and text completions. */
export const generationFields = {
  model: z.string().min(1).describe('the base id, or an adapter name (that adapter on the base at its default scale)'),
  lora: loraSelection.optional(),
  peft: z.string().optional().describe('alias of an adapter name, for code written for hosted LoRA services'),
  max_tokens: z.number().int().min(1).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().gt(0).max(1).nullable().optional(),
  seed: z.number().int().nullable().optional(),
  stop,
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  n: z.literal(1, { error: 'only n = 1 is supported' }).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
  user: z.string().optional(),
};

export const chatCompletionRequest = z
  .object({
    ...generationFields,
    messages: z.array(chatMessage).min(1),
    max_completion_tokens: z.number().int().min(1).nullable().optional(),
    tools: z.array(functionTool).max(128).optional(),
    tool_choice: toolChoice.optional(),
    parallel_tool_calls: z.boolean().optional(),
    response_format: responseFormat.optional(),
    profile: z
      .string()
      .min(1)
      .optional()
      .describe("adaptd extension: the prompt profile to render with, a built-in name (base, llama3.1, hermes, chatml) or one of this request's adapters; default: the first adapter's"),
  })
  .meta({ id: 'ChatCompletionRequest' });

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequest>;
export type ChatMessage = z.infer<typeof chatMessage>;
export type FunctionTool = z.infer<typeof functionTool>;

export const usage = z
  .object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), total_tokens: z.number().int() })
  .meta({ id: 'Usage' });
export type Usage = z.infer<typeof usage>;

export const finishReason = z.enum(['stop', 'length', 'tool_calls']);

export const chatCompletionResponse = z
  .object({
    id: z.string(),
    object: z.literal('chat.completion'),
    created: z.number().int(),
    model: z.string(),
    system_fingerprint: z.string().optional(),
    choices: z.array(
      z.object({
        index: z.number().int(),
        message: z.object({
          role: z.literal('assistant'),
          content: z.string().nullable(),
          tool_calls: z.array(toolCall).optional(),
          refusal: z.null().optional(),
        }),
        finish_reason: finishReason,
        logprobs: z.null(),
      }),
    ),
    usage,
  })
  .meta({ id: 'ChatCompletionResponse' });
export type ChatCompletionResponse = z.infer<typeof chatCompletionResponse>;

export const chatCompletionChunk = z
  .object({
    id: z.string(),
    object: z.literal('chat.completion.chunk'),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.number().int(),
        delta: z.object({
          role: z.literal('assistant').optional(),
          content: z.string().nullable().optional(),
          tool_calls: z
            .array(
              z.object({
                index: z.number().int(),
                id: z.string().optional(),
                type: z.literal('function').optional(),
                function: z.object({ name: z.string().optional(), arguments: z.string().optional() }),
              }),
            )
            .optional(),
        }),
        finish_reason: finishReason.nullable(),
        logprobs: z.null().optional(),
      }),
    ),
    usage: usage.nullable().optional(),
  })
  .meta({ id: 'ChatCompletionChunk' });
export type ChatCompletionChunk = z.infer<typeof chatCompletionChunk>;
