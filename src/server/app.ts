import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AdapterCatalogue } from '../adapters/AdapterCatalogue.js';
import type { ServerConfig } from '../config/serverConfig.js';
import type { LlamaEngine } from '../engine/LlamaEngine.js';
import type { ApiKeyGrant } from '../config/apiKeys.js';
import { ApiError, installErrorHandlers } from './errors.js';
import { authPlugin } from './plugins/auth.js';
import { createMetrics } from './plugins/metrics.js';
import { GenerationServing } from './GenerationServing.js';
import fastifyMultipart from '@fastify/multipart';
import { registerOpenApi } from './plugins/openApi.js';
import { adaptersRoute } from './routes/adapters.js';
import { adapterProfilesRoute } from './routes/adapterProfiles.js';
import { chatCompletionsRoute } from './routes/chatCompletions.js';
import { completionsRoute } from './routes/completions.js';
import { healthRoute, type Readiness } from './routes/health.js';
import { modelsRoute } from './routes/models.js';
import { redactRoute } from './routes/redact.js';

export interface AppDependencies {
  config: ServerConfig;
  engine: LlamaEngine;
  catalogue: AdapterCatalogue;
  baseId: string;
  /** Shown in /v1/models, e.g. to say the demo model's output names the adapter that answered. */
  baseDescription?: string;
  logger?: FastifyServerOptions['logger'];
  /** No grants: open access. */
  apiKeys?: ApiKeyGrant[];
  version?: string;
  /** Restarts of the serving process by the launcher so far, for the metric. */
  restarts?: number;
}

export interface AdaptdApp {
  app: FastifyInstance;
  readiness: Readiness;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the whole HTTP application without listening, so tests and main.ts share it. */
export async function buildApp(deps: AppDependencies): Promise<AdaptdApp> {
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: deps.config.maxBodyBytes,
    // Long enough that an over-long adapter name gets our clear 400, not a bare 414.
    routerOptions: { maxParamLength: 512 },
    // A client's own request id is kept when it is safe to log; otherwise we make one.
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // On close, idle keep-alive connections are dropped at once; requests in flight are waited for.
    forceCloseConnections: 'idle',
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandlers(app);
  const readiness: Readiness = { state: 'ok', inFlight: 0, baseId: deps.baseId, adapterCount: () => deps.catalogue.list().length };
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    readiness.inFlight++;
    reply.raw.once('close', () => readiness.inFlight--);
    // While draining, requests in flight finish but no new work starts; /health reports the state itself.
    if (readiness.state === 'draining' && request.url !== '/health') {
      throw new ApiError(503, 'the server is shutting down', null, 'draining', { 'retry-after': '5' });
    }
  });

  const metrics = createMetrics({ pool: deps.engine.pool, catalogue: deps.catalogue, maxResidentAdapters: deps.config.maxResidentAdapters, contextMemory: deps.engine.contextMemory, restarts: deps.restarts ?? 0 });
  await app.register(metrics.plugin);
  await app.register(authPlugin, { grants: deps.apiKeys ?? [] });
  const serving = new GenerationServing({
    limits: { maxTokens: deps.config.maxTokens, maxMessages: deps.config.maxMessages },
    metrics: metrics.generation,
    engine: deps.engine,
    catalogue: deps.catalogue,
    baseId: deps.baseId,
    chatTemplate: deps.config.chatTemplate,
  });

  await registerOpenApi(app, deps.version ?? '0.0.0');
  await app.register(healthRoute, { readiness });
  await app.register(modelsRoute, { baseId: deps.baseId, baseDescription: deps.baseDescription, catalogue: deps.catalogue, startedAt: Date.now() });
  await app.register(chatCompletionsRoute, { serving, deadlineSeconds: deps.config.requestTimeout });
  await app.register(completionsRoute, { serving, deadlineSeconds: deps.config.requestTimeout });
  await app.register(redactRoute, { serving, config: deps.config });
  // Three files: a PEFT export's two and its optional profile.json. One byte over the upload limit, so that the
  // catalogue, which counts every file of an upload against it, is the one to refuse (with a message naming it).
  await app.register(fastifyMultipart, { limits: { fileSize: deps.config.maxUploadBytes + 1, files: 3, fields: 8 } });
  const baseChatTemplate = serving.baseChatTemplate;
  await app.register(adaptersRoute, { catalogue: deps.catalogue, pool: deps.engine.pool, baseChatTemplate });
  await app.register(adapterProfilesRoute, { catalogue: deps.catalogue, baseChatTemplate });
  return { app, readiness };
}
