import { z } from 'zod';
import { errorEnvelope } from './errors.js';
import { loraSelection, usage } from './chatCompletions.js';

/** Wire types of adaptd's redactor routes: POST /v1/redact and POST /v1/redact/restore. */

export const MAX_REDACT_BATCH = 1000;

export const redactionModeWire = z
  .enum(['label', 'mask', 'pseudonymize'])
  .describe('label: [FIRSTNAME]; mask: one * per character; pseudonymize: a consistent fake of the same kind (restorable)');

export const detectorChoiceWire = z
  .enum(['llm', 'rules', 'hybrid'])
  .describe("llm: the model's redact call; rules: validated pattern detectors, no model; hybrid: both");

export const redactRequest = z
  .object({
    text: z.string().min(1).optional().describe('one document; give this or `texts`'),
    texts: z.array(z.string().min(1)).min(1).max(MAX_REDACT_BATCH).optional().describe('a batch of documents, redacted concurrently'),
    model: z.string().min(1).optional().describe('the base id or an adapter name (default: the base model); unused with detectors "rules"'),
    lora: loraSelection.optional(),
    peft: z.string().optional().describe('alias of an adapter name, for code written for hosted LoRA services'),
    mode: redactionModeWire.default('label'),
    detectors: detectorChoiceWire.default('hybrid'),
    labels: z.array(z.string().min(1)).min(1).optional().describe('redact only these categories (default: all)'),
    max_tokens: z.number().int().min(1).optional().describe("limit of the model's redact call (default: 4096, or what the context leaves)"),
    deadline_ms: z.number().int().min(1).optional().describe('the whole request must finish within this time; a call cut by it fails closed'),
  })
  .superRefine((body, context) => {
    if ((body.text === undefined) === (body.texts === undefined)) {
      context.addIssue({ code: 'custom', path: ['text'], message: 'give exactly one of `text` and `texts`' });
    }
  })
  .meta({ id: 'RedactRequest' });
export type RedactRequest = z.infer<typeof redactRequest>;

export const redactedEntity = z
  .object({
    string: z.string().describe('the text that was redacted'),
    pii_type: z.string(),
    start: z.number().int().describe('offset of this occurrence in Unicode code points'),
    end: z.number().int(),
    source: z.enum(['llm', 'rules']),
  })
  .meta({ id: 'RedactedEntity', description: 'one occurrence: a string found several times is listed once per place' });

const redactionFields = {
  redacted_text: z.string(),
  entities: z.array(redactedEntity).describe('every redacted occurrence, ordered by position'),
  dropped: z.array(z.string()).describe('strings the model proposed that do not occur in the text'),
  usage,
};

export const redactResponse = z
  .object({
    object: z.literal('redaction'),
    model: z.string().nullable().describe('the model or adapter asked; null when only rules ran'),
    ...redactionFields,
  })
  .meta({ id: 'RedactResponse' });
export type RedactResponse = z.infer<typeof redactResponse>;

export const redactBatchItem = z
  .union([
    z.object({ index: z.number().int(), ...redactionFields }),
    z.object({
      index: z.number().int(),
      status: z.number().int().describe('the HTTP status this error would have had alone'),
      error: errorEnvelope.shape.error,
    }),
  ])
  .meta({ id: 'RedactBatchItem', description: 'a redacted document, or why it could not be redacted (never its original text)' });
export type RedactBatchItem = z.infer<typeof redactBatchItem>;

export const redactBatchResponse = z
  .object({
    object: z.literal('redaction.batch'),
    model: z.string().nullable(),
    results: z.array(redactBatchItem).describe('one per text, in request order'),
    usage,
  })
  .meta({ id: 'RedactBatchResponse' });
export type RedactBatchResponse = z.infer<typeof redactBatchResponse>;

export const restoreRequest = z.object({ text: z.string() }).meta({ id: 'RestoreRequest' });
export const restoreResponse = z
  .object({ text: z.string().describe('the text with every fake this server handed out replaced by its original') })
  .meta({ id: 'RestoreResponse' });
