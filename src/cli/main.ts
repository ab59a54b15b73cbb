import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from '../adapters/peft/peftFiles.js';
import { runPull } from './pullCommand.js';

/** `adaptd <command>`: each command is a thin front over the layers that do the work. */
const COMMANDS: Record<string, { help: string; run: (argv: string[]) => Promise<number> }> = {
  serve: { help: 'run the server (what `npm start` runs); `adaptd serve --help` lists its options', run: async (argv) => (await import('./serveCommand.js')).runServe(argv) },
  'dataset synth': {
    help: 'seeded fake PII rows in the pii-masking-200k schema: --out FILE [--rows N] [--seed S] [--languages en,fr,de,it]',
    run: async (argv) => (await import('./datasetCommand.js')).runDatasetSynth(argv),
  },
  'dataset build': {
    help: 'fine-tuning JSONL from labelled PII JSONL: IN --out DIR [--label-map F] [--languages] [--seed] [--split 0.8,0.1,0.1]',
    run: async (argv) => (await import('./datasetCommand.js')).runDatasetBuild(argv),
  },
  redact: {
    help: 'redact JSONL / CSV / text files offline, resumable: IN OUT [--server URL | --model PATH] [--mode] [--detectors] [--concurrency N]',
    run: async (argv) => (await import('./redactCommand.js')).runRedact(argv),
  },
  eval: {
    help: 'score endpoints/adapters side by side: --set TEST.jsonl --system NAME=URL#MODEL[+lora:scale] ... --out DIR',
    run: async (argv) => (await import('./evalCommand.js')).runEval(argv),
  },
  'adapters convert': {
    help: `PEFT export (${PEFT_CONFIG_FILE} + ${PEFT_WEIGHTS_FILE}) to a GGUF LoRA: PEFT_DIR OUT.gguf [--outtype f16|f32]`,
    run: async (argv) => (await import('./adaptersConvertCommand.js')).runAdaptersConvert(argv),
  },
  pull: { help: 'download the default base model GGUF (progress bar, resumable): [--url URL] [--out FILE]', run: runPull },
  doctor: {
    help: 'GPUs, driver, CUDA backend and whether it runs here, per-sequence LoRA, threads, memory per context, what to fix: [--json] [--no-load] [serve options]',
    run: async (argv) => (await import('./doctorCommand.js')).runDoctorCommand(argv),
  },
  bench: {
    help: 'adaptd vs llama-server on the five benchmark workloads, as ratios: [--out DIR] [--threads N] [--quick] [--only adaptd]',
    run: async (argv) => (await import('./benchCommand.js')).runBenchCommand(argv),
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(18)} ${command.help}`);
  return `Usage: adaptd <command> [options]\n\nCommands:\n${lines.join('\n')}\n`;
}

export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name] ?? COMMANDS[`${name} ${rest[0]}`];
  if (!command) {
    process.stderr.write(`adaptd: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  return command.run(COMMANDS[name] ? rest : rest.slice(1));
}

runCli(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`adaptd: ${(error as Error)?.message ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
