import { z } from 'zod';
import { finishReason, generationFields, usage } from './chatCompletions.js';

/** Wire types of the legacy POST /v1/completions. */
export const completionRequest = z
  .object({
    ...generationFields,
    prompt: z.union([z.string(), z.array(z.string()).length(1, 'only one prompt per request is supported')]),
    echo: z.boolean().optional(),
    suffix: z.null().optional(),
    logprobs: z.null().optional(),
  })
  .meta({ id: 'CompletionRequest' });
export type CompletionRequest = z.infer<typeof completionRequest>;

const completionChoice = z.object({
  index: z.number().int(),
  text: z.string(),
  finish_reason: finishReason.nullable(),
  logprobs: z.null(),
});

export const completionResponse = z
  .object({
    id: z.string(),
    object: z.literal('text_completion'),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(completionChoice),
    usage: usage.nullable().optional(),
  })
  .meta({ id: 'CompletionResponse' });
export type CompletionResponse = z.infer<typeof completionResponse>;
