import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServerConfig } from '../../config/serverConfig.js';
import {
  redactBatchResponse,
  redactRequest,
  redactResponse,
  restoreRequest,
  restoreResponse,
  type RedactBatchItem,
  type RedactBatchResponse,
} from '../../protocol/redact.js';
import type { GenerationServing } from '../../serving/GenerationServing.js';
import { openRedactor } from '../../serving/openRedactor.js';
import { RedactionServing, type RedactionBatch, type RedactionJob } from '../../serving/RedactionServing.js';
import { errorItem } from '../errors.js';
import { requestSignal } from '../sse.js';
import { postSchema } from './routeSchema.js';

export interface RedactRouteOptions {
  serving: GenerationServing;
  config: ServerConfig;
}

/**
 * POST /v1/redact and POST /v1/redact/restore. This plugin owns the pseudonym vault: it opens it when the app is
 * built and closes it when the app closes, after the requests in flight.
 */
export const redactRoute: FastifyPluginAsyncZod<RedactRouteOptions> = async (app, { serving, config }) => {
  const { spec, vault } = openRedactor(config);
  app.addHook('onClose', async () => vault.close());
  const redactor = new RedactionServing({ spec, vault, serving, batchConcurrency: config.parallel });

  app.post(
    '/v1/redact',
    { schema: postSchema("Redact PII: the model's forced redact call and/or validated rules; label, mask or pseudonymize", ['adaptd'], redactRequest, redactResponse.or(redactBatchResponse)) },
    async (request, reply) => {
      const { text, texts, deadline_ms, max_tokens, ...settings } = request.body;
      const seconds = Math.min(config.requestTimeout, (deadline_ms ?? Infinity) / 1000);
      const job: RedactionJob = { ...settings, maxTokens: max_tokens, visible: request.principal.allows, signal: requestSignal(reply, seconds) };
      if (settings.detectors !== 'rules') request.adapterLabel = settings.model ?? serving.baseId;
      return texts ? batchResponse(await redactor.redactBatch(texts, job)) : redactor.redact(text!, job);
    },
  );

  app.post(
    '/v1/redact/restore',
    {
      schema: postSchema('Put the originals back in pseudonymised text (needs a key with the restore right)', ['adaptd'], restoreRequest, restoreResponse),
      config: { permission: 'restore' },
    },
    async (request) => ({ text: redactor.restore(request.body.text) }),
  );
};

/** A batch on the wire: each failed text carries its own status and error envelope. */
function batchResponse(batch: RedactionBatch): RedactBatchResponse {
  const results: RedactBatchItem[] = batch.items.map((item) => ('result' in item ? { index: item.index, ...item.result } : { index: item.index, ...errorItem(item.failure) }));
  const usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  for (const item of results) {
    if (!('usage' in item)) continue;
    usage.prompt_tokens += item.usage.prompt_tokens;
    usage.completion_tokens += item.usage.completion_tokens;
    usage.total_tokens += item.usage.total_tokens;
  }
  return { object: 'redaction.batch', model: batch.model, results, usage };
}
