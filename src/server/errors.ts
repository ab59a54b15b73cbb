import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AdapterNameError } from '../adapters/adapterName.js';
import {
  AdapterConflictError,
  AdapterNotFoundError,
  AdapterPathError,
  AdapterUploadError,
  AdapterValidationError,
  PeftConversionError,
} from '../adapters/adapterErrors.js';
import { AdapterLoadError, ContextOverflowError, EngineUnavailableError, GrammarError, QueueFullError } from '../engine/engineErrors.js';
import type { ErrorEnvelope } from '../protocol/errors.js';
import { PromptRenderError } from '../translate/chatPrompt.js';
import { AdapterProfileError } from '../adapters/adapterProfileFiles.js';
import { ClientDisconnectedError, DeadlineExceededError } from './sse.js';
import { SchemaLimitError, UnsupportedSchemaError } from '../translate/jsonSchemaErrors.js';
import { envName, kebab } from '../config/serverConfig.js';
import { RedactionCallError, RedactionInputError } from '../redaction/redactionErrors.js';
import { redactionFailureMessage } from '../serving/redactionFailureMessage.js';
import { DocumentTooLongError, InvalidRequestError, ModelNotFoundError, UnusableProfileError } from '../serving/servingErrors.js';

/** An error that already knows how it looks on the wire. Thrown by routes and plugins for HTTP-level problems. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'conflict_error',
  413: 'invalid_request_error',
  422: 'unprocessable_entity_error',
  429: 'rate_limit_error',
  500: 'server_error',
  503: 'service_unavailable_error',
};

export function envelope(status: number, message: string, param: string | null = null, code: string | null = null): ErrorEnvelope {
  return { error: { message, type: TYPE_BY_STATUS[status] ?? 'invalid_request_error', param, code } };
}

/** "/messages/0/content" → "messages[0].content", the way OpenAI names a field in `param`. */
function paramFromPath(path: string): string | null {
  const parts = path.split('/').filter(Boolean);
  if (parts.length === 0) return null;
  return parts.reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

/** The request field a schema came from: "tools[0].function.parameters" → "tools". */
const schemaParam = (source: string) => (source.startsWith('tools') ? 'tools' : 'response_format');

/** Error classes raised by other layers, each with its one HTTP meaning. Adapter file problems are 422. */
const typedErrors: Array<[new (...args: any[]) => Error, (error: any) => ApiError]> = [
  // Raised for a name in an adapter route's path or body; an unknown `model` is the serving layer's ModelNotFoundError.
  [AdapterNotFoundError, (e) => new ApiError(404, e.message, 'name', 'adapter_not_found')],
  [AdapterConflictError, (e) => new ApiError(409, e.message, 'name', 'adapter_exists')],
  [AdapterNameError, (e) => new ApiError(400, e.message, 'name', 'invalid_adapter_name')],
  [AdapterPathError, (e) => new ApiError(400, e.message, 'lora_path', 'invalid_lora_path')],
  [AdapterValidationError, (e: AdapterValidationError) => new ApiError(422, e.message, null, `invalid_adapter:${e.reason}`)],
  [PeftConversionError, (e: PeftConversionError) => new ApiError(422, e.message, null, `invalid_peft_export:${e.reason}`)],
  [AdapterUploadError, (e: AdapterUploadError) =>
    e.reason === 'too-large' ? new ApiError(413, e.message, null, 'upload_too_large') : new ApiError(400, e.message, 'file', e.reason.replace(/-/g, '_'))],
  [ContextOverflowError, (e) => new ApiError(400, e.message, 'messages', 'context_length_exceeded')],
  [QueueFullError, (e: QueueFullError) => new ApiError(429, e.message, null, 'queue_full', { 'retry-after': String(e.retryAfterSeconds) })],
  [EngineUnavailableError, (e) => new ApiError(503, e.message, null, 'unavailable', { 'retry-after': '5' })],
  [AdapterLoadError, (e) => new ApiError(422, e.message, 'model', 'adapter_load_failed')],
  [GrammarError, (e) => new ApiError(400, e.message, 'response_format', 'invalid_grammar')],
  [DeadlineExceededError, (e) => new ApiError(503, e.message, null, 'deadline_exceeded', { 'retry-after': '1' })],
  [PromptRenderError, (e) => new ApiError(400, e.message, 'messages', 'template_error')],
  [AdapterProfileError, (e: AdapterProfileError) => new ApiError(422, e.message, e.field, 'invalid_profile')],
  [UnsupportedSchemaError, (e: UnsupportedSchemaError) => new ApiError(400, e.message, schemaParam(e.source), `unsupported_schema:${e.keyword}`)],
  [SchemaLimitError, (e: SchemaLimitError) =>
    new ApiError(400, `${e.message} (--${kebab(e.limit)}, ${envName(e.limit)})`, schemaParam(e.source), 'unsupported_schema')],
  // Fail closed: a redact call that cannot be trusted is the text's error, never its original text as a success.
  [RedactionCallError, (e: RedactionCallError) => new ApiError(422, redactionFailureMessage(e), null, `redact_call_failed:${e.reason}`)],
  [RedactionInputError, (e) => new ApiError(400, e.message, null, 'invalid_redaction_request')],
  [InvalidRequestError, (e: InvalidRequestError) => new ApiError(400, e.message, e.param, e.code)],
  [ModelNotFoundError, (e: ModelNotFoundError) => new ApiError(404, e.message, e.param, 'model_not_found')],
  [UnusableProfileError, (e) => new ApiError(422, e.message, 'model', 'invalid_profile')],
  [DocumentTooLongError, (e: DocumentTooLongError) => new ApiError(400, e.message, e.param, 'context_length_exceeded')],
];

/** The single place where any error becomes a status and an OpenAI envelope. */
export function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  for (const [type, map] of typedErrors) if (error instanceof type) return map(error);
  if (hasZodFastifySchemaValidationErrors(error)) {
    const first = error.validation[0];
    const param = paramFromPath(first.instancePath);
    return new ApiError(400, `invalid request: ${param ?? 'body'}: ${first.message}`, param, 'invalid_value');
  }
  const fastifyError = error as FastifyError;
  switch (fastifyError?.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, 'the request body is not valid JSON', null, 'invalid_json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'the request body is larger than the server accepts (--max-body-bytes, ADAPTD_MAX_BODY_BYTES)', null, 'body_too_large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(400, 'unsupported Content-Type for this route', null, 'unsupported_media_type');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError(400, 'the Content-Length header does not match the body', null, 'invalid_content_length');
  }
  if (error instanceof SyntaxError && (fastifyError as { statusCode?: number }).statusCode === 400) {
    return new ApiError(400, 'the request body is not valid JSON', null, 'invalid_json');
  }
  const status = (fastifyError as { statusCode?: number })?.statusCode;
  if (status && status >= 400 && status < 500) return new ApiError(status, fastifyError.message, null, fastifyError.code ?? null);
  return undefined;
}

/** A mapped error as one item of a batch answer: its status and the envelope's `error`. */
export function errorItem(error: unknown): { status: number; error: ErrorEnvelope['error'] } {
  const api = toApiError(error) ?? new ApiError(500, 'internal server error', null, 'internal_error');
  return { status: api.status, error: envelope(api.status, api.message, api.param, api.code).error };
}

export function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof ClientDisconnectedError) {
    // Nobody is listening: nothing to answer, and nothing for error alerting (the 499 metric counts it).
    reply.log.info('client disconnected before the response was complete');
    return reply.status(499).send(envelope(499, error.message, null, 'client_disconnected'));
  }
  const api = toApiError(error);
  if (!api) {
    // Only the error's class and stack are logged: messages of foreign errors may quote request text.
    reply.log.error({ errorName: (error as Error)?.name, stack: (error as Error)?.stack?.split('\n').slice(1, 6).join('\n') }, 'internal error');
    return reply.status(500).send(envelope(500, 'internal server error', null, 'internal_error'));
  }
  for (const [name, value] of Object.entries(api.headers)) reply.header(name, value);
  return reply.status(api.status).send(envelope(api.status, api.message, api.param, api.code));
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error, _request, reply) => sendError(reply, error));
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new ApiError(404, `no route ${request.method} ${request.url.split('?')[0].slice(0, 200)}`, null, 'unknown_route')),
  );
}
