// Errors the serving logic raises about a request, typed here and given their HTTP status in server/errors.ts.
import type { ContextOverflowError } from '../engine/engineErrors.js';

/** A request field the server refuses (400); `param` names the field the way OpenAI does. */
export class InvalidRequestError extends Error {
  override name = 'InvalidRequestError';

  constructor(
    message: string,
    readonly param: string | null,
    readonly code: string,
  ) {
    super(message);
  }
}

/** `model`, `peft` or a `lora` entry names neither the base nor an adapter the caller may use (404). */
export class ModelNotFoundError extends Error {
  override name = 'ModelNotFoundError';

  constructor(
    message: string,
    readonly param: string,
  ) {
    super(message);
  }
}

/** The prompt profile a request resolves to cannot be used (422): rendering with another one would cost accuracy. */
export class UnusableProfileError extends Error {
  override name = 'UnusableProfileError';
}

/** A document too long for the context: the caller's `text` (or `texts`), not the chat `messages` it became. */
export class DocumentTooLongError extends Error {
  override name = 'DocumentTooLongError';

  constructor(
    overflow: ContextOverflowError,
    readonly param: 'text' | 'texts',
  ) {
    super(
      `the document with the redactor's prompt is ${overflow.promptTokens} tokens and its answer may take ${overflow.maxTokens}: ` +
        `${overflow.overflow}; split the document or lower max_tokens`,
    );
  }
}
