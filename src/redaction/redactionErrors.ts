// Typed errors of the redaction layer. Messages never quote document or model text,
// because the server logs error messages and logs must not contain request text.

export class RedactionError extends Error {
  override name = 'RedactionError';
}

/** A default or user-supplied prompt, tool or category file is missing or malformed. */
export class RedactorSpecError extends RedactionError {
  override name = 'RedactorSpecError';
}

/** The caller asked for something this redaction cannot do (unknown label, no model, no pseudonymiser). */
export class RedactionInputError extends RedactionError {
  override name = 'RedactionInputError';
}

export type RedactionCallFailure = 'truncated' | 'malformed' | 'invalid' | 'timeout';

/** Label → number of occurrences; what rules detectors found, without the text itself. */
export type RulesSummary = Record<string, number>;

/**
 * The model's `redact` call cannot be trusted, so the document must not be presented as redacted.
 * `rulesSummary` tells (in hybrid mode) what the rules alone would have redacted.
 */
export class RedactionCallError extends RedactionError {
  override name = 'RedactionCallError';
  readonly reason: RedactionCallFailure;
  readonly rulesSummary: RulesSummary;

  constructor(reason: RedactionCallFailure, message: string, rulesSummary: RulesSummary = {}) {
    super(message);
    this.reason = reason;
    this.rulesSummary = rulesSummary;
  }

  withRulesSummary(rulesSummary: RulesSummary): RedactionCallError {
    return new RedactionCallError(this.reason, this.message, rulesSummary);
  }
}

/** The vault was created with another pseudonymisation key than the one configured now. */
export class VaultKeyMismatchError extends RedactionError {
  override name = 'VaultKeyMismatchError';
}

/**
 * A model endpoint gave no answer (connection refused, timed out, HTTP error status). Client adapters of the
 * RedactionModel port throw it, so a caller can count the call as unanswered whatever client is behind it.
 */
export class EndpointError extends Error {
  override name = 'EndpointError';

  constructor(
    readonly kind: 'http' | 'connection' | 'timeout',
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}
