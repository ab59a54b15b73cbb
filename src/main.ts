import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AdapterCatalogue } from './adapters/AdapterCatalogue.js';
import { createAdapterPreparer } from './adapters/adapterPreparer.js';
import { loadApiKeys } from './config/apiKeys.js';
import { ConfigError, parseServerConfig, serverHelp, type ServerConfig } from './config/serverConfig.js';
import { DEMO_DESCRIPTION, ensureDemoModels } from './demo/demoModels.js';
import { LlamaEngine } from './engine/LlamaEngine.js';
import { buildApp } from './server/app.js';

const packageVersion = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** "Meta Llama 3.1 8B Instruct" → "meta-llama-3.1-8b-instruct". */
export function slugModelName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/^-+|-+$/g, '') || 'model';
}

/** Starts the server; resolves once it listens, with a function that shuts it down gracefully. */
export async function serve(config: ServerConfig): Promise<{ url: string; close: () => Promise<void>; engine: LlamaEngine }> {
  const demo = config.model ? undefined : ensureDemoModels(config.dataDir);
  const modelPath = config.model ?? demo!.modelPath;
  const adaptersDir = config.adapters ?? demo?.adaptersDir ?? 'models/adapters';
  const logger = { level: config.logLevel, redact: ['req.headers.authorization', 'req.headers["x-api-key"]'] };
  const apiKeys = loadApiKeys(config.apiKeys);

  const engine = await LlamaEngine.load({
    modelPath,
    gpu: config.gpu,
    gpuLayers: config.gpuLayers,
    threads: config.threads,
    contextSize: config.contextSize,
    sequencesPerContext: config.parallel,
    batchSize: config.batchSize,
    grammarFastForward: config.grammarFastForward,
    maxContexts: config.maxResidentAdapters,
    maxWaiting: config.maxQueue,
    nativeEngine: config.nativeEngine,
    llamaLogs: config.llamaLogs,
    log: (message) => process.stderr.write(`${message}\n`),
  });
  const baseId = config.modelId ?? slugModelName(engine.info.name);
  const catalogue = new AdapterCatalogue({
    directory: adaptersDir,
    allowedRoots: config.adapterRoots?.split(',').map((root) => root.trim()).filter(Boolean),
    preparer: createAdapterPreparer({ baseModelPath: modelPath, conversionCacheDir: path.join(config.dataDir, 'converted') }),
    onRejected: (source, error) => app.log.warn({ adapter: path.basename(source), reason: (error as Error).message }, 'adapter rejected'),
    defaultProfile: config.defaultProfile,
  });
  const { app, readiness } = await buildApp({
    config,
    engine,
    catalogue,
    baseId,
    baseDescription: demo ? DEMO_DESCRIPTION : undefined,
    logger,
    apiKeys,
    version: packageVersion,
  });
  const release = (entry: { filePath: string }) => void engine.pool.evictAdapter(entry.filePath);
  catalogue.on('removed', release);
  catalogue.on('replaced', release);
  await catalogue.start();
  const template = config.chatTemplate === 'jinja' && engine.info.chatTemplate ? "the model's own Jinja chat template" : `the ${config.chatTemplate === 'jinja' ? 'llama3.1' : config.chatTemplate} chat wrapper`;
  app.log.info({ baseId, threads: engine.info.threads, gpu: engine.info.gpu, contextSize: engine.contextSize }, `prompts are rendered with ${template}`);
  const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;
  if (engine.contextMemory.ramBytes + engine.contextMemory.vramBytes > 0) app.log.info(
    { contextRamBytes: engine.contextMemory.ramBytes, contextVramBytes: engine.contextMemory.vramBytes, maxResidentAdapters: config.maxResidentAdapters },
    `each resident adapter set reserves about ${mib(engine.contextMemory.ramBytes)} RAM and ${mib(engine.contextMemory.vramBytes)} VRAM beside the model (--max-resident-adapters ${config.maxResidentAdapters}; --batch-size lowers it)`,
  );
  if (apiKeys.length === 0) {
    app.log.warn(`no --api-keys configured: anyone who can reach ${config.host} may use every route; bind to loopback or configure keys`);
  }
  if (demo) app.log.warn(`no --model given: serving the generated demo model (${DEMO_DESCRIPTION})`);

  const address = await app.listen({ host: config.host, port: config.port });
  const url = address.replace('[::1]', 'localhost');
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      readiness.state = 'draining';
      catalogue.stop();
      const stopped = app.close();
      // Requests in flight finish (bounded by the caller's deadline); then lingering sockets are cut, since a
      // client that abandoned a stream can leave a connection open for the whole keep-alive timeout.
      while (readiness.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 25));
      app.server.closeAllConnections();
      await stopped;
      await engine.close();
    })());
  return { url, close, engine };
}

/** `adaptd serve`: runs until SIGTERM/SIGINT, which drain requests in flight (bounded) and exit 0. */
export async function runServe(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`Usage: adaptd serve [options]   (npm start -- [options])\n\n${serverHelp()}\n`);
    return 0;
  }
  let config: ServerConfig;
  let server: Awaited<ReturnType<typeof serve>>;
  try {
    config = parseServerConfig(argv);
    server = await serve(config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`adaptd: ${error.message}\n`);
    return 2;
  }
  process.stdout.write(`adaptd ready at ${server.url}\n`);
  let signals = 0;
  const shutdown = (signal: string) => {
    // A second signal means "now": exit without waiting for requests in flight.
    if (++signals > 1) process.exit(0);
    process.stderr.write(`${signal}: draining requests in flight (at most ${config.shutdownTimeout}s)\n`);
    const deadline = setTimeout(() => process.exit(0), config.shutdownTimeout * 1000);
    deadline.unref();
    server.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  return 0;
}
