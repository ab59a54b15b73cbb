/** Typed failures of the engine; the server maps each to one HTTP status in its single error mapper. */
export class EngineError extends Error {
  override name = 'EngineError';
}

/** The prompt plus the requested completion does not fit a sequence's context. */
export class ContextOverflowError extends EngineError {
  override name = 'ContextOverflowError';
  constructor(
    readonly promptTokens: number,
    readonly maxTokens: number,
    readonly contextSize: number,
  ) {
    super(`the prompt is ${promptTokens} tokens and max_tokens is ${maxTokens}: ${overflow(promptTokens, maxTokens, contextSize)}; shorten the messages or lower max_tokens`);
  }

  /** How far the request is over, for messages that name the caller's own fields. */
  get overflow(): string {
    return overflow(this.promptTokens, this.maxTokens, this.contextSize);
  }
}

function overflow(promptTokens: number, maxTokens: number, contextSize: number): string {
  return `${promptTokens + maxTokens} tokens do not fit the context of ${contextSize} tokens (over by ${promptTokens + maxTokens - contextSize})`;
}

/** Too many requests are already waiting for a sequence. */
export class QueueFullError extends EngineError {
  override name = 'QueueFullError';
  constructor(readonly retryAfterSeconds: number) {
    super('the server is at capacity: too many requests are waiting; retry later');
  }
}

/** The engine is shutting down or not loaded yet. */
export class EngineUnavailableError extends EngineError {
  override name = 'EngineUnavailableError';
}

/** llama.cpp refused an adapter while creating a context for it. */
export class AdapterLoadError extends EngineError {
  override name = 'AdapterLoadError';
  constructor(
    readonly adapterName: string,
    cause: unknown,
  ) {
    super(`adapter "${adapterName}" could not be loaded: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** A grammar the engine could not compile. */
export class GrammarError extends EngineError {
  override name = 'GrammarError';
}
