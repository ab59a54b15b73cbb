import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ServerConfig } from '../../config/serverConfig.js';
import { engineOptions } from '../../engine/engineOptions.js';
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
  const engine = await LlamaEngine.load(engineOptions(config, modelPath));
  app.decorate('engine', engine);
  app.addHook('onClose', async () => engine.close());
});
