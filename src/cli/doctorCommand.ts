import { ConfigError, parseServerConfig } from '../config/serverConfig.js';
import { ensureDemoModels } from '../demo/demoModels.js';
import { readCudaSituation } from '../engine/cudaBackendCheck.js';
import { decideCudaBackend } from '../engine/cudaCapability.js';
import { buildEngineReport, renderEngineReport, type EngineFacts } from '../engine/engineReport.js';
import { engineOptions } from '../engine/engineOptions.js';
import { LlamaEngine } from '../engine/LlamaEngine.js';
import { processIo, UsageError, withUsage, type CommandIo } from './commandIo.js';

export const DOCTOR_USAGE = `Usage: adaptd doctor [--json] [--no-load] [serve options]

Says what adaptd would run on here and what to fix: the NVIDIA GPUs (nvidia-smi), their compute capability,
the driver and the CUDA version it supports, the CUDA toolkit, the CUDA code the engine loads (the native
engine's CUDA build, else node-llama-cpp's prebuilt backend) and the architectures it holds, whether it can run on these GPUs (and what start-up does when it cannot), then loads
the model as \`adaptd serve\` would (same options; the demo model without --model) for the engine's backend,
per-sequence LoRA, threads and memory per context. Changes nothing: builds and build selection happen at start.

  --json      the report as JSON on stdout
  --no-load   skip loading the model (GPU and backend facts only)

Exit status: 0 when nothing needs fixing, 1 when a problem was found, 2 for a usage mistake.
`;

/** `adaptd doctor`. */
export async function runDoctorCommand(argv: string[], io: CommandIo = processIo()): Promise<number> {
  return withUsage(io, DOCTOR_USAGE, argv, async () => {
    const json = argv.includes('--json');
    const load = !argv.includes('--no-load');
    let config;
    try {
      config = parseServerConfig(argv.filter((arg) => arg !== '--json' && arg !== '--no-load'), io.env);
    } catch (error) {
      if (error instanceof ConfigError) throw new UsageError(error.message);
      throw error;
    }
    const situation = readCudaSituation(config.gpu, config.gpuFallback, config.nativeEngine);
    const decision = decideCudaBackend(situation);
    // Loading is safe only with a backend that runs here (or none to check); the crash would come at the first decode.
    let engine: EngineFacts | undefined;
    const steps: string[] = [];
    if (load && (decision.action === 'use' || decision.action === 'none' || decision.action === 'cpu')) {
      const modelPath = config.model ?? ensureDemoModels(config.dataDir).modelPath;
      const gpu = decision.action === 'cpu' ? 'off' : config.gpu;
      const loaded = await LlamaEngine.load({ ...engineOptions({ ...config, gpu }, modelPath), log: (line) => io.stderr.write(`${line}\n`) });
      engine = loaded;
      await loaded.close();
    } else if (load) {
      steps.push('the model was not loaded: the CUDA backend cannot run here yet');
    }
    const report = buildEngineReport(situation, { decision, steps }, engine);
    io.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${renderEngineReport(report)}\n`);
    return report.problems.length > 0 ? 1 : 0;
  });
}
