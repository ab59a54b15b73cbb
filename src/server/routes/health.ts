import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorEnvelope, healthResponse } from '../../protocol/errors.js';
import { ApiError } from '../errors.js';

export interface Readiness {
  state: 'ok' | 'draining';
  /** Responses not yet finished or abandoned; shutdown waits for this to reach zero. */
  inFlight: number;
  baseId: string;
  adapterCount: () => number;
}

export const healthRoute: FastifyPluginAsyncZod<{ readiness: Readiness }> = async (app, { readiness }) => {
  app.get(
    '/health',
    { schema: { summary: 'Liveness and readiness', tags: ['adaptd'], response: { 200: healthResponse, 503: errorEnvelope } }, config: { public: true } },
    async () => {
      if (readiness.state !== 'ok') throw new ApiError(503, 'the server is shutting down', null, 'draining', { 'retry-after': '5' });
      return { status: 'ok' as const, model: readiness.baseId, adapters: readiness.adapterCount() };
    },
  );
};
