import type { ServerConfig } from '../config/serverConfig.js';
import type { EngineOptions } from './LlamaEngine.js';

/** The engine settings of a server configuration. */
export function engineOptions(config: ServerConfig, modelPath: string): EngineOptions {
  return {
    modelPath,
    gpu: config.gpu,
    gpuLayers: config.gpuLayers,
    threads: config.threads,
    contextSize: config.contextSize,
    sequencesPerContext: config.parallel,
    promptCacheSlots: config.promptCacheSlots,
    batchSize: config.batchSize,
    grammarFastForward: config.grammarFastForward,
    grammarCacheBytes: config.grammarCacheBytes,
    maxContexts: config.maxResidentAdapters,
    maxWaiting: config.maxQueue,
    nativeEngine: config.nativeEngine,
    llamaLogs: config.llamaLogs,
    log: (message) => process.stderr.write(`${message}\n`),
  };
}
