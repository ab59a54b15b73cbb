import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ServerConfig } from '../../config/serverConfig.js';
import { LlamaEngine } from '../../engine/LlamaEngine.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The loaded base model with its contexts; closed by this plugin when the app closes. */
    engine: LlamaEngine;
  }
}

export interface EnginePluginOptions {
  config: ServerConfig;
  modelPath: string;
}

/**
 * Loads the engine and owns it: it is disposed in onClose, which fastify runs after the server has stopped and
 * the requests in flight have finished.
 */
export const enginePlugin = fp(async (app: FastifyInstance, { config, modelPath }: EnginePluginOptions) => {
  const engine = await LlamaEngine.load({
    modelPath,
    gpu: config.gpu,
    gpuLayers: config.gpuLayers,
    threads: config.threads,
    contextSize: config.contextSize,
    sequencesPerContext: config.parallel,
    batchSize: config.batchSize,
    grammarFastForward: config.grammarFastForward,
    grammarCacheBytes: config.grammarCacheBytes,
    maxContexts: config.maxResidentAdapters,
    maxWaiting: config.maxQueue,
    llamaLogs: config.llamaLogs,
    log: (message) => process.stderr.write(`${message}\n`),
  });
  app.decorate('engine', engine);
  app.addHook('onClose', async () => engine.close());
});
