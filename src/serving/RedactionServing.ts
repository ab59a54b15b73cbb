import { ContextOverflowError, EngineUnavailableError, QueueFullError } from '../engine/engineErrors.js';
import type { RedactResponse } from '../protocol/redact.js';
import type { RedactionMode } from '../redaction/redactCall/applyRedaction.js';
import { mapOrdered } from '../redaction/mapOrdered.js';
import { DEFAULT_REDACT_MAX_TOKENS, redactDocument, type DetectorChoice, type RedactionResult } from '../redaction/redactCall/redactDocument.js';
import type { LoraChoice } from '../redaction/redactCall/RedactionModel.js';
import type { RedactionVault } from '../redaction/pseudonyms/RedactionVault.js';
import { RedactionCallError } from '../redaction/redactionErrors.js';
import type { RedactorSpec } from '../redaction/redactCall/redactorSpec.js';
import type { GenerationServing } from './GenerationServing.js';
import { DocumentTooLongError, InvalidRequestError } from './servingErrors.js';
import { ServingRedactionModel } from './ServingRedactionModel.js';

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

/** One text of a batch: its redaction, or the typed error that concerns only this text. */
export type RedactionBatchItem = { index: number; result: RedactionResult } | { index: number; failure: Error };

export interface RedactionBatch {
  model: string | null;
  items: RedactionBatchItem[];
}

// Failures that concern one text; any other error concerns the whole request (an unknown adapter, a bug).
const PER_TEXT_FAILURES = [RedactionCallError, ContextOverflowError, QueueFullError, EngineUnavailableError];

/**
 * The serving logic of the redactor, between the HTTP route (or the offline CLI) and the redaction layer: checks
 * a job once, reaches the model through ServingRedactionModel, and keeps a batch's failures per text, typed (the
 * route gives each its status). Fail closed: a text whose call failed is an error, never its original text.
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

  async redactBatch(texts: readonly string[], job: RedactionJob): Promise<RedactionBatch> {
    this.check(job);
    // A request-level failure stops the texts still running: their answers could not be returned anyway.
    const stop = new AbortController();
    const signal = job.signal ? AbortSignal.any([job.signal, stop.signal]) : stop.signal;
    const items: RedactionBatchItem[] = [];
    try {
      for await (const item of mapOrdered(texts, this.options.batchConcurrency, (text, index) => this.batchItem(text, index, job, signal))) {
        items.push(item);
      }
    } catch (error) {
      stop.abort(error);
      throw error;
    }
    return { model: this.modelName(job), items };
  }

  /** Puts back the originals of every fake this vault handed out. */
  restore(text: string): string {
    if (!this.options.vault) throw new InvalidRequestError('this redactor has no vault to restore from', null, 'no_vault');
    return this.options.vault.restore(text);
  }

  private async batchItem(text: string, index: number, job: RedactionJob, signal: AbortSignal): Promise<RedactionBatchItem> {
    try {
      if (signal.aborted) throw new RedactionCallError('timeout', 'the request ended before this text was redacted');
      return { index, result: await this.redactText(text, job, signal) };
    } catch (error) {
      if (!PER_TEXT_FAILURES.some((type) => error instanceof type)) throw error;
      return { index, failure: inRedactTerms(error as Error, 'texts') };
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

  private chatModel(job: RedactionJob): ServingRedactionModel {
    const target = { model: this.modelName(job)!, lora: job.lora ?? [], peft: job.peft };
    return new ServingRedactionModel(this.options.serving!, target, { visible: job.visible, maxTokensAsCeiling: job.maxTokens === undefined });
  }

  private modelName(job: RedactionJob): string | null {
    if (job.detectors === 'rules') return null;
    return job.model ?? this.options.serving!.baseId;
  }

  /** Request-level problems are found before any text is worked on. */
  private check(job: RedactionJob): void {
    const unknown = (job.labels ?? []).filter((label) => !this.options.spec.labels.includes(label));
    if (unknown.length > 0) {
      throw new InvalidRequestError(`unknown labels: ${unknown.slice(0, 5).map((l) => l.slice(0, 40)).join(', ')}`, 'labels', 'unknown_label');
    }
    if (job.detectors !== 'rules' && !this.options.serving) {
      throw new InvalidRequestError(`detectors "${job.detectors}" need a model; only "rules" can run here`, 'detectors', 'no_model');
    }
    if (job.mode === 'pseudonymize' && !this.options.vault) {
      throw new InvalidRequestError('pseudonymize needs a vault, and this redactor has none', 'mode', 'no_vault');
    }
  }
}

/** A document too long for the context is the caller's `text` (or `texts`), not the chat `messages` it became. */
function inRedactTerms<E>(error: E, param: 'text' | 'texts'): E | DocumentTooLongError {
  return error instanceof ContextOverflowError ? new DocumentTooLongError(error, param) : error;
}
