import path from 'node:path';
import { parseArgs } from 'node:util';
import { renderMarkdown, renderTable } from '../bench/benchReport.js';
import { runBench } from '../bench/runBench.js';
import { DEFAULT_LLAMA_SERVER } from '../bench/llamaServerBinary.js';
import { writeFileAtomic } from './AtomicOutputFile.js';
import { integerFlag, processIo, UsageError, withUsage, type CommandIo } from './commandIo.js';

export const BENCH_USAGE = `Usage: adaptd bench [--out DIR] [--threads N] [--requests N] [--llama-server PATH] [--quick]
       [--only adaptd|llama-server] [--data-dir DIR] [--json]

Runs the five workloads of the benchmark (decode; the redactor on one adapter, alternating over 2
and over 8 adapters, at concurrency 1 and 4; adapter churn; time to first token) against adaptd and
llama.cpp's llama-server in the same run, on the same generated model and LoRAs, with the same
threads and context, and prints each figure with the ratio adaptd / llama-server. Absolute numbers
depend on the machine and on whatever else runs on it: run it on a quiet machine and read the ratios.

  --out DIR            where bench.json, bench.md and the server logs go (default: DATA_DIR/bench/report)
  --threads N          CPU threads for both servers (default: the CPUs this process may use)
  --requests N         redactor requests per workload (default: 16)
  --llama-server PATH  the llama-server to compare with (default: ${DEFAULT_LLAMA_SERVER},
                       built there from the llama.cpp source bundled with node-llama-cpp if missing)
  --quick              tiny model and few requests: checks the harness, measures nothing useful
  --only NAME          run one server only (no ratios); --only adaptd needs no llama-server
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
      },
    });
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
      command: ['adaptd bench', ...argv].join(' '),
      log: (line) => io.stderr.write(`${line}\n`),
    });
    writeFileAtomic(path.join(outDir, 'bench.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileAtomic(path.join(outDir, 'bench.md'), renderMarkdown(report));
    io.stdout.write(values.json ? `${JSON.stringify(report)}\n` : `${renderTable(report)}\n\nreports in ${outDir}\n`);
    return 0;
  });
}
