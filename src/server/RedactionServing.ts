import { ContextOverflowError, EngineUnavailableError, QueueFullError } from '../engine/engineErrors.js';
import type { RedactBatchItem, RedactBatchResponse, RedactResponse } from '../protocol/redact.js';
import type { RedactionMode } from '../redaction/applyRedaction.js';
import { ChatRedactionModel, type LoraChoice } from '../redaction/eval/ChatRedactionModel.js';
import { mapOrdered } from '../redaction/mapOrdered.js';
import { DEFAULT_REDACT_MAX_TOKENS, redactDocument, type DetectorChoice, type RedactionResult } from '../redaction/redactDocument.js';
import type { RedactionVault } from '../redaction/RedactionVault.js';
import { RedactionCallError } from '../redaction/redactionErrors.js';
import type { RedactorSpec } from '../redaction/redactorSpec.js';
import { ApiError, envelope, toApiError } from './errors.js';
import type { GenerationServing } from './GenerationServing.js';
import { ServingChatClient } from './ServingChatClient.js';

export interface RedactionServingOptions {
  spec: RedactorSpec;
  /** Needed for `pseudonymize` and restore. */
  vault?: RedactionVault;
  /** Needed for the `llm` and `hybrid` detectors; without it only `rules` can run (the offline CLI's local mode). */
  serving?: GenerationServing;
  /** Texts of one batch redacted at the same time. */
  batchConcurrency: number;
}

/** One redaction request's settings, shared by every text of a batch. */
export interface RedactionJob {
  mode: RedactionMode;
  detectors: DetectorChoice;
  labels?: string[];
  /** Absent: DEFAULT_REDACT_MAX_TOKENS, lowered to what the context leaves. */
  maxTokens?: number;
  model?: string;
  lora?: LoraChoice[];
  peft?: string;
  /** Whether the caller may use an adapter (its API key's allow-list). */
  visible?: (adapterName: string) => boolean;
  signal?: AbortSignal;
}

// Failures that concern one text; any other error concerns the whole request (an unknown adapter, a bug).
const PER_TEXT_FAILURES = [RedactionCallError, ContextOverflowError, QueueFullError, EngineUnavailableError];

/**
 * The serving logic of the redactor, between the HTTP route (or the offline CLI) and the redaction layer: checks
 * a job once, reaches the model through the chat path, and keeps a batch's failures per text. Fail closed: a text
 * whose call failed is an error, never its original text.
 */
export class RedactionServing {
  constructor(private readonly options: RedactionServingOptions) {}

  get spec(): RedactorSpec {
    return this.options.spec;
  }

  async redact(text: string, job: RedactionJob): Promise<RedactResponse> {
    this.check(job);
    const result = await this.redactText(text, job, job.signal).catch((error: unknown) => {
      throw inRedactTerms(error, 'text');
    });
    return { object: 'redaction', model: this.modelName(job), ...result };
  }

  async redactBatch(texts: readonly string[], job: RedactionJob): Promise<RedactBatchResponse> {
    this.check(job);
    // A request-level failure stops the texts still running: their answers could not be returned anyway.
    const stop = new AbortController();
    const signal = job.signal ? AbortSignal.any([job.signal, stop.signal]) : stop.signal;
    const results: RedactBatchItem[] = [];
    try {
      for await (const item of mapOrdered(texts, this.options.batchConcurrency, (text, index) => this.batchItem(text, index, job, signal))) {
        results.push(item);
      }
    } catch (error) {
      stop.abort(error);
      throw error;
    }
    return { object: 'redaction.batch', model: this.modelName(job), results, usage: totalUsage(results) };
  }

  /** Puts back the originals of every fake this vault handed out. */
  restore(text: string): string {
    if (!this.options.vault) throw new ApiError(400, 'this redactor has no vault to restore from', null, 'no_vault');
    return this.options.vault.restore(text);
  }

  private async batchItem(text: string, index: number, job: RedactionJob, signal: AbortSignal): Promise<RedactBatchItem> {
    try {
      if (signal.aborted) throw new RedactionCallError('timeout', 'the request ended before this text was redacted');
      return { index, ...(await this.redactText(text, job, signal)) };
    } catch (error) {
      if (!PER_TEXT_FAILURES.some((type) => error instanceof type)) throw error;
      const api = toApiError(inRedactTerms(error, 'texts'))!;
      return { index, status: api.status, error: envelope(api.status, api.message, api.param, api.code).error };
    }
  }

  private redactText(text: string, job: RedactionJob, signal: AbortSignal | undefined): Promise<RedactionResult> {
    return redactDocument({
      text,
      mode: job.mode,
      detectors: job.detectors,
      spec: this.options.spec,
      labels: job.labels,
      model: job.detectors === 'rules' ? undefined : this.chatModel(job),
      pseudonyms: this.options.vault,
      maxTokens: job.maxTokens ?? DEFAULT_REDACT_MAX_TOKENS,
      signal,
    });
  }

  // One instance per call: ChatRedactionModel keeps what its one answer cost.
  private chatModel(job: RedactionJob): ChatRedactionModel {
    const client = new ServingChatClient(this.options.serving!, { visible: job.visible, maxTokensAsCeiling: job.maxTokens === undefined });
    return new ChatRedactionModel({ client, model: this.modelName(job)!, lora: job.lora ?? [], peft: job.peft });
  }

  private modelName(job: RedactionJob): string | null {
    if (job.detectors === 'rules') return null;
    return job.model ?? this.options.serving!.baseId;
  }

  /** Request-level problems are found before any text is worked on. */
  private check(job: RedactionJob): void {
    const unknown = (job.labels ?? []).filter((label) => !this.options.spec.labels.includes(label));
    if (unknown.length > 0) {
      throw new ApiError(400, `unknown labels: ${unknown.slice(0, 5).map((l) => l.slice(0, 40)).join(', ')}`, 'labels', 'unknown_label');
    }
    if (job.detectors !== 'rules' && !this.options.serving) {
      throw new ApiError(400, `detectors "${job.detectors}" need a model; only "rules" can run here`, 'detectors', 'no_model');
    }
    if (job.mode === 'pseudonymize' && !this.options.vault) {
      throw new ApiError(400, 'pseudonymize needs a vault, and this redactor has none', 'mode', 'no_vault');
    }
  }
}

/** A document too long for the context is the caller's `text` (or `texts`), not the chat `messages` it became. */
function inRedactTerms(error: unknown, param: 'text' | 'texts'): unknown {
  if (!(error instanceof ContextOverflowError)) return error;
  const message =
    `the document with the redactor's prompt is ${error.promptTokens} tokens and its answer may take ${error.maxTokens}: ` +
    `${error.overflow}; split the document or lower max_tokens`;
  return new ApiError(400, message, param, 'context_length_exceeded');
}

function totalUsage(results: readonly RedactBatchItem[]) {
  const total = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  for (const item of results) {
    if (!('usage' in item)) continue;
    total.prompt_tokens += item.usage.prompt_tokens;
    total.completion_tokens += item.usage.completion_tokens;
    total.total_tokens += item.usage.total_tokens;
  }
  return total;
}
