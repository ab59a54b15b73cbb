// Batch throughput of `adaptd redact`, in rows per second, measured the way a user runs it (a child process per
// run, timed by the command's own --json summary). The rows are `adaptd dataset synth` rows (realistic fake PII,
// field source_text). Model runs use the generated behaviour model, which never finishes a redact call: every row
// is cut off by --max-tokens and fails closed, so those numbers measure the engine path at that token budget.
// Usage: npx tsx scripts/bench-redact.ts [--rows 10000] [--model-rows 40] [--max-tokens 32] [--concurrency 4]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureTestModels } from './generate-test-models.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000' },
    'model-rows': { type: 'string', default: '40' },
    'max-tokens': { type: 'string', default: '32' },
    concurrency: { type: 'string', default: '4' },
  },
});
const cli = (args: string[]) => execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
const dir = mkdtempSync(join(tmpdir(), 'adaptd-redact-bench-'));

function run(name: string, input: string, args: string[]) {
  const out = join(dir, `${name.replace(/\W+/g, '-')}.jsonl`);
  let stdout: string;
  try {
    stdout = cli(['redact', input, out, '--field', 'source_text', '--json', '--concurrency', values.concurrency, ...args]);
  } catch (error) {
    // Exit status 3: some rows are in the errors file (always so on the behaviour model); the summary is still printed.
    stdout = String((error as { stdout?: string }).stdout ?? '');
  }
  const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as { rows: number; redacted: number; errors: number; seconds: number; rows_per_second: number };
  console.log(`${name.padEnd(44)} ${String(summary.rows).padStart(6)} rows  ${summary.redacted} redacted  ${summary.errors} errors  ${summary.seconds.toFixed(2)} s  ${summary.rows_per_second.toFixed(1)} rows/s`);
}

try {
  const rows = join(dir, 'rows.jsonl');
  const modelRows = join(dir, 'model-rows.jsonl');
  cli(['dataset', 'synth', '--out', rows, '--rows', values.rows, '--seed', '1', '--languages', 'en']);
  cli(['dataset', 'synth', '--out', modelRows, '--rows', values['model-rows'], '--seed', '2', '--languages', 'en']);
  const behaviour = ensureTestModels().behaviourModel;
  const vault = ['--vault-path', join(dir, 'vault.sqlite')];
  const model = ['--model', behaviour, '--max-tokens', values['max-tokens']];
  console.log(`adaptd redact, concurrency ${values.concurrency}, on ${process.platform} ${process.arch}`);
  run('rules, label, in process', rows, ['--detectors', 'rules']);
  run('rules, pseudonymize (vault), in process', rows, ['--detectors', 'rules', '--mode', 'pseudonymize', ...vault]);
  run('rules, label, over HTTP (in-process server)', rows, ['--model', behaviour, '--detectors', 'rules', '--', '--context-size', '4096', ...vault]);
  run(`hybrid, behaviour model, max_tokens ${values['max-tokens']}`, modelRows, [...model, '--detectors', 'hybrid', '--', '--context-size', '4096', ...vault]);
  run(`llm, behaviour model, max_tokens ${values['max-tokens']}`, modelRows, [...model, '--detectors', 'llm', '--', '--context-size', '4096', ...vault]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
