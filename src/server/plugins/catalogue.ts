import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AdapterCatalogue } from '../../adapters/AdapterCatalogue.js';
import { createAdapterPreparer } from '../../adapters/adapterPreparer.js';
import type { ServerConfig } from '../../config/serverConfig.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The registered adapters, kept in sync with the adapters directory until the app closes. */
    catalogue: AdapterCatalogue;
  }
}

export interface CataloguePluginOptions {
  config: ServerConfig;
  modelPath: string;
  adaptersDir: string;
}

/**
 * Builds the adapter catalogue, scans the directory once, and owns its watcher and poll (stopped in onClose).
 * Registered after the engine plugin: an adapter removed or replaced releases its weights in the engine.
 */
export const cataloguePlugin = fp(async (app: FastifyInstance, { config, modelPath, adaptersDir }: CataloguePluginOptions) => {
  const catalogue = new AdapterCatalogue({
    directory: adaptersDir,
    allowedRoots: config.adapterRoots?.split(',').map((root) => root.trim()).filter(Boolean),
    preparer: createAdapterPreparer({ baseModelPath: modelPath, conversionCacheDir: path.join(config.dataDir, 'converted') }),
    onRejected: (source, error) => app.log.warn({ adapter: path.basename(source), reason: (error as Error).message }, 'adapter rejected'),
    onWarning: (name, message) => app.log.warn({ adapter: name }, message),
    maxUploadBytes: config.maxUploadBytes,
    defaultProfile: config.defaultProfile,
  });
  const release = (entry: { filePath: string }) => void app.engine.pool.evictAdapter(entry.filePath);
  catalogue.on('removed', release);
  catalogue.on('replaced', release);
  app.decorate('catalogue', catalogue);
  app.addHook('onClose', async () => catalogue.stop());
  await catalogue.start();
});
