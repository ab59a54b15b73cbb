import { randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ServerConfig } from '../config/serverConfig.js';
import type { ApiKeyGrant } from '../config/apiKeys.js';
import { ApiError, installErrorHandlers } from './errors.js';
import { authPlugin } from './plugins/auth.js';
import { cataloguePlugin } from './plugins/catalogue.js';
import { enginePlugin } from './plugins/engine.js';
import { createMetrics } from './plugins/metrics.js';
import { GenerationServing } from '../serving/GenerationServing.js';
import fastifyMultipart from '@fastify/multipart';
import { registerOpenApi } from './plugins/openApi.js';
import { adaptersRoute } from './routes/adapters.js';
import { adapterProfilesRoute } from './routes/adapterProfiles.js';
import { chatCompletionsRoute } from './routes/chatCompletions.js';
import { completionsRoute } from './routes/completions.js';
import { healthRoute, type Readiness } from './routes/health.js';
import { modelsRoute } from './routes/models.js';
import { redactRoute } from './routes/redact.js';

export interface AppOptions {
  config: ServerConfig;
  /** The base GGUF and the adapters directory: the configured ones, or the generated demo model's. */
  modelPath: string;
  adaptersDir: string;
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

/** "Meta Llama 3.1 8B Instruct" → "meta-llama-3.1-8b-instruct". */
function slugModelName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/^-+|-+$/g, '') || 'model';
}

/**
 * Builds the whole HTTP application without listening, so tests (with `inject`) and main.ts share it. The app
 * owns what it opens: closing it closes the engine, the catalogue and the vault, each in its plugin's onClose.
 */
export async function buildApp(options: AppOptions): Promise<AdaptdApp> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.config.maxBodyBytes,
    // Long enough that an over-long adapter name gets our clear 400, not a bare 414.
    routerOptions: { maxParamLength: 512 },
    // A client's own request id is kept when it is safe to log; otherwise we make one.
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // On close, idle keep-alive connections are dropped at once; requests in flight are waited for.
    forceCloseConnections: 'idle',
    // The engine plugin loads the model, which may take minutes for a large GGUF: no plugin deadline.
    pluginTimeout: 0,
  }).withTypeProvider<ZodTypeProvider>();

  try {
    return await assemble(app, options);
  } catch (error) {
    // Whatever was opened before the failure (the engine, say) is released.
    await app.close().catch(() => undefined);
    throw error;
  }
}

type ZodApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

async function assemble(app: ZodApp, deps: AppOptions): Promise<AdaptdApp> {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandlers(app);
  await app.register(enginePlugin, { config: deps.config, modelPath: deps.modelPath });
  await app.register(cataloguePlugin, { config: deps.config, modelPath: deps.modelPath, adaptersDir: deps.adaptersDir });
  const { engine, catalogue } = app;
  const baseId = deps.config.modelId ?? slugModelName(engine.info.name);
  const readiness: Readiness = { state: 'ok', inFlight: 0, baseId, adapterCount: () => catalogue.list().length };
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    readiness.inFlight++;
    reply.raw.once('close', () => readiness.inFlight--);
    // While draining, requests in flight finish but no new work starts; /health reports the state itself.
    if (readiness.state === 'draining' && request.url !== '/health') {
      throw new ApiError(503, 'the server is shutting down', null, 'draining', { 'retry-after': '5' });
    }
  });

  const metrics = createMetrics({ pool: engine.pool, catalogue: catalogue, maxResidentAdapters: deps.config.maxResidentAdapters, contextMemory: engine.contextMemory, restarts: deps.restarts ?? 0 });
  await app.register(metrics.plugin);
  await app.register(authPlugin, { grants: deps.apiKeys ?? [] });
  const serving = new GenerationServing({
    // `schema`: the config has the JSON-schema limits under the same names.
    limits: { maxTokens: deps.config.maxTokens, maxMessages: deps.config.maxMessages, schema: deps.config },
    metrics: metrics.generation,
    engine: engine,
    catalogue: catalogue,
    baseId: baseId,
    chatTemplate: deps.config.chatTemplate,
  });

  await registerOpenApi(app, deps.version ?? '0.0.0');
  await app.register(healthRoute, { readiness });
  await app.register(modelsRoute, { baseId: baseId, baseDescription: deps.baseDescription, catalogue: catalogue, startedAt: Date.now() });
  await app.register(chatCompletionsRoute, { serving, deadlineSeconds: deps.config.requestTimeout });
  await app.register(completionsRoute, { serving, deadlineSeconds: deps.config.requestTimeout });
  await app.register(redactRoute, { serving, config: deps.config });
  // Three files: a PEFT export's two and its optional profile.json. One byte over the upload limit, so that the
  // catalogue, which counts every file of an upload against it, is the one to refuse (with a message naming it).
  await app.register(fastifyMultipart, { limits: { fileSize: deps.config.maxUploadBytes + 1, files: 3, fields: 8 } });
  const baseChatTemplate = serving.baseChatTemplate;
  await app.register(adaptersRoute, { catalogue: catalogue, pool: engine.pool, baseChatTemplate });
  await app.register(adapterProfilesRoute, { catalogue: catalogue, baseChatTemplate });
  return { app, readiness };
}
