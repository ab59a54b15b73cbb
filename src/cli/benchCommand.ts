import path from 'node:path';
import { parseArgs } from 'node:util';
import { renderMarkdown, renderTable } from '../bench/benchReport.js';
import { BENCH_WORKLOADS, runBench, type BenchWorkload } from '../bench/runBench.js';
import { DEFAULT_LLAMA_SERVER } from '../bench/llamaServerBinary.js';
import { writeFileAtomic } from './AtomicOutputFile.js';
import { integerFlag, processIo, UsageError, withUsage, type CommandIo } from './commandIo.js';

export const BENCH_USAGE = `Usage: adaptd bench [--out DIR] [--threads N] [--requests N] [--llama-server PATH] [--quick]
       [--only adaptd|llama-server] [--concurrency LIST] [--workloads LIST] [--model PATH --adapter PATH...]
       [--gpu auto|off] [--data-dir DIR] [--json]

Runs the benchmark's workloads (decode; aggregate tokens/s of plain chat with one adapter and with
8 mixed; the redactor with its schema on one adapter, alternating over 2 and over 8 adapters, and
without the schema; time to first token; adapter churn) against adaptd and llama.cpp's llama-server
in the same run, on the same model and LoRAs, with the same threads and context, and prints each
figure with the ratio adaptd / llama-server. Absolute numbers depend on the machine and on whatever
else runs on it: run it on a quiet machine and read the ratios.

  --out DIR            where bench.json, bench.md and the server logs go (default: DATA_DIR/bench/report)
  --threads N          CPU threads for both servers (default: the CPUs this process may use)
  --requests N         redactor requests per workload (default: 16)
  --llama-server PATH  the llama-server to compare with (default: ${DEFAULT_LLAMA_SERVER},
                       built there from the llama.cpp source bundled with node-llama-cpp if missing)
  --quick              tiny model and few requests: checks the harness, measures nothing useful
  --only NAME          run one server only (no ratios); --only adaptd needs no llama-server
  --concurrency LIST   requests in flight for the aggregate workload, e.g. 1,8,32 (default: 1,4,8;
                       the redactor workloads use those up to 4); both servers get that many slots
  --workloads LIST     which to run, of ${BENCH_WORKLOADS.join(', ')} (default: all)
  --model PATH         an existing base GGUF instead of the generated benchmark model (needs --adapter)
  --adapter PATH       a LoRA GGUF for --model; repeat it (request i of a mix uses adapter i mod count)
  --gpu auto|off       GPU use of both servers: adaptd --gpu, llama-server -ngl 999 or 0 (default: each
                       server's own default)
  --data-dir DIR       where generated models are cached (default: models/generated)
  --json               print the JSON report on stdout instead of the table
`;

/** `adaptd bench`. */
export async function runBenchCommand(argv: string[], io: CommandIo = processIo()): Promise<number> {
  return withUsage(io, BENCH_USAGE, argv, async () => {
    const { values } = parseArgs({
      args: argv,
      options: {
        out: { type: 'string' },
        threads: { type: 'string' },
        requests: { type: 'string' },
        'llama-server': { type: 'string' },
        quick: { type: 'boolean', default: false },
        only: { type: 'string' },
        'data-dir': { type: 'string', default: 'models/generated' },
        json: { type: 'boolean', default: false },
        concurrency: { type: 'string' },
        workloads: { type: 'string' },
        model: { type: 'string' },
        adapter: { type: 'string', multiple: true },
        gpu: { type: 'string' },
      },
    });
    const concurrencies = values.concurrency?.split(',').map((item) => {
      const n = Number(item.trim());
      if (!Number.isInteger(n) || n < 1 || n > 256) throw new UsageError(`--concurrency takes whole numbers from 1 to 256 separated by commas, not "${values.concurrency}"`);
      return n;
    });
    const workloads = values.workloads?.split(',').map((item) => {
      const name = item.trim();
      if (!(BENCH_WORKLOADS as readonly string[]).includes(name)) throw new UsageError(`--workloads: unknown workload "${name}"; choose from ${BENCH_WORKLOADS.join(', ')}`);
      return name as BenchWorkload;
    });
    if (values.gpu !== undefined && values.gpu !== 'auto' && values.gpu !== 'off') throw new UsageError(`--gpu takes auto or off, not "${values.gpu}"`);
    if (values.model !== undefined && !values.adapter?.length) throw new UsageError('--model needs at least one --adapter (the workloads select adapters)');
    if (values.model === undefined && values.adapter?.length) throw new UsageError('--adapter goes with --model (the generated model has its own adapters)');
    if (values.only !== undefined && values.only !== 'adaptd' && values.only !== 'llama-server') {
      throw new UsageError(`--only takes adaptd or llama-server, not "${values.only}"`);
    }
    const dataDir = values['data-dir'];
    const outDir = values.out ?? path.join(dataDir, 'bench', 'report');
    const report = await runBench({
      outDir,
      dataDir,
      threads: integerFlag('threads', values.threads, 0, 1),
      requests: integerFlag('requests', values.requests, 16, 1),
      quick: values.quick,
      llamaServer: values['llama-server'],
      only: values.only,
      concurrencies: concurrencies ? [...new Set(concurrencies)].sort((a, b) => a - b) : undefined,
      workloads,
      model: values.model,
      adapters: values.adapter,
      gpu: values.gpu as 'auto' | 'off' | undefined,
      command: ['adaptd bench', ...argv].join(' '),
      log: (line) => io.stderr.write(`${line}\n`),
    });
    writeFileAtomic(path.join(outDir, 'bench.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileAtomic(path.join(outDir, 'bench.md'), renderMarkdown(report));
    io.stdout.write(values.json ? `${JSON.stringify(report)}\n` : `${renderTable(report)}\n\nreports in ${outDir}\n`);
    return 0;
  });
}
