import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerConfig } from '../config/serverConfig.js';
import type { RedactionMode } from '../redaction/redactCall/applyRedaction.js';
import type { DetectorChoice } from '../redaction/redactCall/redactDocument.js';
import { RedactionCallError, RedactionInputError } from '../redaction/redactionErrors.js';
import { openRedactor } from '../serving/openRedactor.js';
import { RedactionServing } from '../serving/RedactionServing.js';
import { redactionFailureMessage } from '../serving/redactionFailureMessage.js';
import { InvalidRequestError } from '../serving/servingErrors.js';
import type { RowProblem } from './redactInput.js';

/** What every row of a run is redacted with; the body of POST /v1/redact without the text. */
export interface RedactSettings {
  mode: RedactionMode;
  detectors: DetectorChoice;
  labels?: string[];
  model?: string;
  max_tokens?: number;
  deadline_ms?: number;
}

export type RedactOutcome = { ok: true; text: string } | { ok: false; problem: RowProblem };

/** Redacts one document: a redacted text, or a problem that belongs to that row. Throws FatalRedactError otherwise. */
export interface DocumentRedactor {
  redact(text: string): Promise<RedactOutcome>;
  close(): Promise<void>;
}

/**
 * The run cannot go on (server unreachable, key refused, unknown adapter, bad option): no row is blamed, the
 * checkpoint keeps what is done, and the same command resumes once the cause is fixed.
 */
export class FatalRedactError extends Error {
  override name = 'FatalRedactError';
}

interface Failure {
  status: number;
  message: string;
  code: string | null;
  param: string | null;
}

const RETRIES = 5;

// 422: the model's call failed for this text (fail closed); 413, a 400 on the prompt's length, or a 500: this
// text could not be redacted. 429/503: the server is busy, try again. Anything else is about the request itself.
function verdictOn(failure: Failure): 'row' | 'retry' | 'fatal' {
  if (failure.status === 422 || failure.status === 413 || failure.status === 500) return 'row';
  if (failure.status === 400 && (failure.param === 'messages' || failure.code === 'context_length_exceeded')) return 'row';
  if (failure.status === 0 || failure.status === 429 || failure.status === 503) return 'retry';
  return 'fatal';
}

function rowProblem(failure: Failure): RowProblem {
  return { code: failure.code ?? `http_${failure.status}`, reason: failure.message };
}

function fatal(failure: Failure): FatalRedactError {
  const status = failure.status === 0 ? 'no answer' : `HTTP ${failure.status}`;
  return new FatalRedactError(`the run cannot go on: ${failure.message} (${status}${failure.code ? `, ${failure.code}` : ''})`);
}

/** POST /v1/redact on an adaptd server, one row per request. */
export class HttpRedactor implements DocumentRedactor {
  private readonly url: string;

  constructor(
    baseUrl: string,
    private readonly settings: RedactSettings,
    private readonly apiKey?: string,
    private readonly onClose: () => Promise<void> = async () => undefined,
  ) {
    this.url = `${baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '')}/v1/redact`;
  }

  async redact(text: string): Promise<RedactOutcome> {
    for (let attempt = 1; ; attempt++) {
      const failure = await this.post(text);
      if ('text' in failure) return { ok: true, text: failure.text };
      const verdict = verdictOn(failure);
      if (verdict === 'row') return { ok: false, problem: rowProblem(failure) };
      if (verdict === 'fatal' || attempt >= RETRIES) throw fatal(failure);
      await sleep(Math.min(30_000, 500 * 2 ** attempt));
    }
  }

  close(): Promise<void> {
    return this.onClose();
  }

  /** The redacted text, or the failure; status 0: no answer at all. */
  private async post(text: string): Promise<Failure | { text: string }> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}) },
        body: JSON.stringify({ ...this.settings, text }),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      // A server that cannot be reached is retried, then stops the run: the rows are not at fault.
      return { status: 0, message: `cannot reach ${this.url} (${cause})`, code: 'unreachable', param: null };
    }
    const body = (await response.json().catch(() => undefined)) as { redacted_text?: string; error?: Omit<Failure, 'status'> } | undefined;
    if (response.ok && typeof body?.redacted_text === 'string') return { text: body.redacted_text };
    return { status: response.ok ? 500 : response.status, message: body?.error?.message ?? `HTTP ${response.status}`, code: body?.error?.code ?? null, param: body?.error?.param ?? null };
  }
}

/** Rules only, in this process: no model is loaded and no server is needed. */
export class LocalRedactor implements DocumentRedactor {
  private constructor(
    private readonly serving: RedactionServing,
    private readonly settings: RedactSettings,
    private readonly onClose: () => void,
  ) {}

  static open(config: ServerConfig, settings: RedactSettings): LocalRedactor {
    // A vault holds originals: one is opened (or created) only when pseudonyms are asked for.
    const { spec, vault } = openRedactor(config, settings.mode === 'pseudonymize');
    return new LocalRedactor(new RedactionServing({ spec, vault, batchConcurrency: 1 }), settings, () => vault?.close());
  }

  async redact(text: string): Promise<RedactOutcome> {
    const { mode, detectors, labels } = this.settings;
    try {
      const result = await this.serving.redact(text, { mode, detectors, labels });
      return { ok: true, text: result.redacted_text };
    } catch (error) {
      // The same verdicts as over HTTP, read from the typed errors: a failed model call is the row's; a request
      // this redactor cannot serve stops the run.
      if (error instanceof RedactionCallError) return { ok: false, problem: { code: `redact_call_failed:${error.reason}`, reason: redactionFailureMessage(error) } };
      if (error instanceof InvalidRequestError) throw new FatalRedactError(`the run cannot go on: ${error.message} (${error.code})`);
      if (error instanceof RedactionInputError) throw new FatalRedactError(`the run cannot go on: ${error.message}`);
      throw error;
    }
  }

  async close(): Promise<void> {
    this.onClose();
  }
}
