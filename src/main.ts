import { readFileSync } from 'node:fs';
import { loadApiKeys } from './config/apiKeys.js';
import type { ServerConfig } from './config/serverConfig.js';
import { supervisionState } from './config/supervision.js';
import { DEMO_DESCRIPTION, ensureDemoModels } from './demo/demoModels.js';
import type { LlamaEngine } from './engine/LlamaEngine.js';
import { buildApp } from './server/app.js';

const packageVersion = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface RunningServer {
  url: string;
  /** Drains the requests in flight, then closes the app (and with it the engine, catalogue and vault). */
  close: () => Promise<void>;
  engine: LlamaEngine;
}

/**
 * The only place that listens: builds the app for a parsed config and listens on it; resolves once it listens.
 * Without --model it serves the generated demo model. `summarize` gives the start-up line on what runs where.
 */
export async function startServer(config: ServerConfig, summarize?: (engine: LlamaEngine) => string): Promise<RunningServer> {
  const demo = config.model ? undefined : ensureDemoModels(config.dataDir);
  const apiKeys = loadApiKeys(config.apiKeys);
  const { app, readiness } = await buildApp({
    config,
    modelPath: config.model ?? demo!.modelPath,
    adaptersDir: config.adapters ?? demo?.adaptersDir ?? 'models/adapters',
    baseDescription: demo ? DEMO_DESCRIPTION : undefined,
    logger: { level: config.logLevel, redact: ['req.headers.authorization', 'req.headers["x-api-key"]'] },
    apiKeys,
    version: packageVersion,
    restarts: supervisionState().restarts,
  });
  const { engine } = app;
  const template = config.chatTemplate === 'jinja' && engine.info.chatTemplate ? "the model's own Jinja chat template" : `the ${config.chatTemplate === 'jinja' ? 'llama3.1' : config.chatTemplate} chat wrapper`;
  app.log.info({ baseId: readiness.baseId, threads: engine.info.threads, gpu: engine.info.gpu, contextSize: engine.contextSize }, `prompts are rendered with ${template}`);
  // One line on what runs where (backend, GPU check, threads), as `adaptd doctor` reports it.
  if (summarize) app.log.info(summarize(engine));
  const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;
  if (engine.contextMemory.ramBytes + engine.contextMemory.vramBytes > 0) app.log.info(
    { contextRamBytes: engine.contextMemory.ramBytes, contextVramBytes: engine.contextMemory.vramBytes, maxResidentAdapters: config.maxResidentAdapters },
    `each resident adapter set reserves about ${mib(engine.contextMemory.ramBytes)} RAM and ${mib(engine.contextMemory.vramBytes)} VRAM beside the model (--max-resident-adapters ${config.maxResidentAdapters}; --batch-size lowers it)`,
  );
  if (apiKeys.length === 0) {
    app.log.warn(`no --api-keys configured: anyone who can reach ${config.host} may use every route; bind to loopback or configure keys`);
  }
  if (demo) app.log.warn(`no --model given: serving the generated demo model (${DEMO_DESCRIPTION})`);

  let address: string;
  try {
    address = await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    // A port in use (say) must end start-up: the loaded engine's native threads would keep the process alive.
    await app.close().catch(() => undefined);
    throw error;
  }
  const url = address.replace('[::1]', 'localhost');
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      readiness.state = 'draining';
      const stopped = app.close();
      // Requests in flight finish (bounded by the caller's deadline); then lingering sockets are cut, since a
      // client that abandoned a stream can leave a connection open for the whole keep-alive timeout.
      while (readiness.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 25));
      app.server.closeAllConnections();
      await stopped;
    })());
  return { url, close, engine };
}
