import { ConfigError, parseServerConfig, serverHelp, type ServerConfig } from '../config/serverConfig.js';
import { ensureDemoModels } from '../demo/demoModels.js';
import { GpuBackendError, prepareCudaBackend, readCudaSituation } from '../engine/cudaBackendCheck.js';
import { probeGpuDecode } from '../engine/cudaProbe.js';
import { buildEngineReport, summaryLine } from '../engine/engineReport.js';
import { startServer, type RunningServer } from '../main.js';

/** `adaptd serve`: runs until SIGTERM/SIGINT, which drain requests in flight (bounded) and exit 0. */
export async function runServe(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`Usage: adaptd serve [options]   (npm start -- [options])\n\n${serverHelp()}\n`);
    return 0;
  }
  // The launcher's channel must not keep this process alive on its own.
  process.channel?.unref();
  let config: ServerConfig;
  let server: RunningServer;
  try {
    config = parseServerConfig(argv);
    // Before any model loads: a CUDA backend that cannot run on this GPU would abort the process on the first decode.
    const situation = readCudaSituation(config.gpu, config.gpuFallback, config.nativeEngine);
    const probe = config.gpuProbe ? () => probeGpuDecode(ensureDemoModels(config.dataDir).modelPath, 'cuda', config.nativeEngine) : undefined;
    const startup = prepareCudaBackend(situation, (line) => process.stderr.write(`${line}\n`), probe);
    config = Object.freeze({ ...config, gpu: startup.gpu });
    server = await startServer(config, (engine) => summaryLine(buildEngineReport(situation, startup, engine)));
  } catch (error) {
    if (error instanceof GpuBackendError) {
      process.stderr.write(`adaptd: ${error.message}\n`);
      return 3;
    }
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`adaptd: ${error.message}\n`);
    return 2;
  }
  // Under the launcher (bin/adaptd.js), which restarts this process after a crash, it learns that start-up worked
  // before anyone can read the ready line and act on it.
  if (process.send) await new Promise((resolve) => process.send!({ adaptd: 'ready' }, undefined, {}, resolve));
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
  // A launcher that is gone (killed itself) can no longer pass signals on, so the server stops as if told to.
  process.once('disconnect', () => shutdown('launcher gone'));
  return 0;
}
