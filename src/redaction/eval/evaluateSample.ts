import type { PiiRow } from '../dataset/PiiRow.js';
import { parseRedactArguments } from '../redactCall/parseRedactArguments.js';
import { redactDocument, type DetectorChoice, type RedactionResult } from '../redactCall/redactDocument.js';
import { RedactionCallError } from '../redactionErrors.js';
import type { RedactorSpec } from '../redactCall/redactorSpec.js';
import { EndpointError } from '../redactionErrors.js';
import { ChatRedactionModel, type ChatTarget } from './ChatRedactionModel.js';
import { countEntityMatches, type CountsByLabel } from './entityMatches.js';
import { countLeaks, type LeakCount } from './leakCount.js';
import { scoreSample, type LabelledString } from './sampleScore.js';

export interface SampleOutcome {
  index: number;
  /** Why the call is invalid (truncated, malformed, invalid, timeout, http 4xx/5xx, connection), or null. */
  failure: string | null;
  latencyMs: number;
  promptTokens: number;
  completionTokens: number;
  score: number;
  counts: CountsByLabel;
  /** Null for an invalid call: the redactor fails closed, so nothing is shown that could leak. */
  leaks: LeakCount | null;
}

export interface SampleCallOptions {
  spec: RedactorSpec;
  detectors: DetectorChoice;
  maxTokens: number;
  timeoutMs: number;
}

/** One labelled row through the redactor exactly as `/v1/redact` runs it, in label mode, then scored. */
export async function evaluateSample(row: PiiRow, index: number, target: ChatTarget, options: SampleCallOptions): Promise<SampleOutcome> {
  const model = new ChatRedactionModel(target);
  const started = performance.now();
  let result: RedactionResult | null = null;
  let failure: string | null = null;
  try {
    result = await redactDocument({
      text: row.source_text,
      mode: 'label',
      detectors: options.detectors,
      spec: options.spec,
      model,
      maxTokens: options.maxTokens,
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    failure = failureReason(error);
  }
  const timing = { index, latencyMs: performance.now() - started, promptTokens: model.usage.prompt_tokens, completionTokens: model.usage.completion_tokens };
  if (!result) return { ...timing, failure, score: 0, counts: countEntityMatches(truthSpans(row), []), leaks: null };
  const modelFields = model.argumentsJson === null ? [] : parseRedactArguments(model.argumentsJson, options.spec.tool).fields_to_redact;
  return { ...timing, failure: null, ...scoreResult(row, result, modelFields) };
}

/** What the model answered plus what rules added (hybrid), against the truth. */
export function scoreResult(row: PiiRow, result: RedactionResult, modelFields: readonly LabelledString[]) {
  const ruleFields = result.entities.filter((e) => e.source === 'rules').map(({ string, pii_type }) => ({ string, pii_type }));
  const predicted = [...modelFields, ...ruleFields];
  const truth = row.privacy_mask.map((entry) => ({ string: entry.value, pii_type: entry.label }));
  const unplaced = modelFields.filter((field) => result.dropped.includes(field.string)).map((field) => field.pii_type);
  const spans = result.entities.map((e) => ({ start: e.start, end: e.end, label: e.pii_type }));
  return {
    score: scoreSample(truth, predicted),
    counts: countEntityMatches(truthSpans(row), spans, unplaced),
    leaks: countLeaks(row.source_text, row.privacy_mask, result.redacted_text),
  };
}

function truthSpans(row: PiiRow) {
  return row.privacy_mask.map((entry) => ({ start: entry.start, end: entry.end, label: entry.label }));
}

function failureReason(error: unknown): string {
  if (error instanceof RedactionCallError) return error.reason;
  if (error instanceof EndpointError) return error.kind === 'http' ? `http ${error.status}` : error.kind;
  // Anything else is a bug here, not a property of the system under test.
  throw error;
}
