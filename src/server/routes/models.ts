import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AdapterCatalogue } from '../../adapters/AdapterCatalogue.js';
import { modelList, type ModelEntry } from '../../protocol/models.js';

export interface ModelsRouteOptions {
  baseId: string;
  baseDescription?: string;
  catalogue: AdapterCatalogue;
  startedAt: number;
}

export const modelsRoute: FastifyPluginAsyncZod<ModelsRouteOptions> = async (app, options) => {
  app.get(
    '/v1/models',
    { schema: { summary: 'The base model and every registered adapter', tags: ['OpenAI'], response: { 200: modelList } } },
    async (request) => {
      const created = Math.floor(options.startedAt / 1000);
      const base: ModelEntry = {
        id: options.baseId,
        object: 'model',
        created,
        owned_by: 'adaptd',
        parent: null,
        root: options.baseId,
        ...(options.baseDescription ? { description: options.baseDescription } : {}),
      };
      const adapters: ModelEntry[] = options.catalogue.list().filter((adapter) => request.principal.allows(adapter.name)).map((adapter) => ({
        id: adapter.name,
        object: 'model',
        created: Math.floor(adapter.registeredAt / 1000),
        owned_by: 'adaptd',
        parent: options.baseId,
        root: options.baseId,
      }));
      return { object: 'list' as const, data: [base, ...adapters] };
    },
  );
};
