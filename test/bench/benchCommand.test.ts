import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { BenchReport } from '../../src/bench/benchReport.js';
import { runBenchCommand } from '../../src/cli/benchCommand.js';
import { captureIo } from '../helpers/scriptedEndpoint.js';

// The harness end to end on adaptd alone (CI has no llama-server build): every workload runs for real on the tiny
// behaviour model. Nothing here asserts a time; only that each figure was measured and every request answered.
t.test('adaptd bench --quick --only adaptd runs every workload and writes both reports', async (t) => {
  const out = path.join(t.testdir(), 'report');
  const capture = captureIo();
  // One thread: on a busy 2-core CI machine two spinning threads per decode made the run minutes long.
  const code = await runBenchCommand(['--quick', '--only', 'adaptd', '--threads', '1', '--requests', '2', '--out', out], capture.io);
  t.equal(code, 0, capture.stderr());
  const report: BenchReport = JSON.parse(readFileSync(path.join(out, 'bench.json'), 'utf8'));
  t.same(
    [...new Set(report.figures.map((f) => f.workload.split(',')[0]))],
    ['decode', 'aggregate', 'redactor', 'redactor without schema', 'redactor time to first token', 'adapter churn'],
    'every workload (the redactor ones at two concurrencies and three mixes)',
  );
  t.equal(report.figures.filter((f) => f.workload.startsWith('redactor,')).length, 18, '6 redactor runs × req/s, p50, p95');
  t.equal(report.figures.filter((f) => f.workload.startsWith('redactor without schema,')).length, 6, 'the plain view: 1 adapter × 2 concurrencies');
  t.equal(report.figures.filter((f) => f.workload.startsWith('aggregate,')).length, 4, 'aggregate: 1 and 8 adapters × 2 concurrencies');
  for (const figure of report.figures) {
    t.ok(figure.adaptd !== null && figure.adaptd > 0, `${figure.workload}: ${figure.metric} measured`);
    t.same([figure.llamaServer, figure.ratio, figure.met], [null, null, null], 'no reference, no ratio');
  }
  t.same(report.warnings.filter((w) => !w.includes('machine was busy')), [], 'every request answered with all its tokens, same prompt');
  t.equal(report.checks.find((c) => c.name.includes('no failed request'))?.passed, true, 'the churn failed no request');
  t.ok(report.checks.some((c) => c.name.startsWith('adapter churn: resident memory')), 'the churn memory was checked');
  t.ok(report.checks.some((c) => /^adaptd resident memory with 8 adapter sets in use/.test(c.name)), 'the mixed sets\' memory was checked');
  t.match(report.servers.adaptd, /--threads 1 .*--max-resident-adapters 8 --prompt-cache-slots 8/);
  t.match(report.servers['adaptd (churn)'], /--max-resident-adapters 2/);
  t.match(readFileSync(path.join(out, 'bench.md'), 'utf8'), '| decode, one stream, 16 tokens | tokens/s |');
  t.match(capture.stdout(), /^workload\s+metric\s+adaptd/);
  t.match(capture.stderr(), /\[bench \+\d+s\] adaptd: adapter churn: /, 'progress on stderr');
});

t.test('--workloads and --concurrency pick what runs; both servers get a slot per request in flight', async (t) => {
  const out = path.join(t.testdir(), 'report');
  const capture = captureIo();
  const code = await runBenchCommand(['--quick', '--only', 'adaptd', '--threads', '1', '--workloads', 'aggregate', '--concurrency', '6,2', '--out', out], capture.io);
  t.equal(code, 0, capture.stderr());
  const report: BenchReport = JSON.parse(readFileSync(path.join(out, 'bench.json'), 'utf8'));
  t.same(
    report.figures.map((f) => f.workload),
    [1, 8].flatMap((adapters) => [2, 6].map((c) => `aggregate, plain chat, 64-token answers, ${adapters === 1 ? '1 adapter' : '8 adapters mixed'}, concurrency ${c}`)),
  );
  for (const figure of report.figures) t.ok(figure.adaptd! > 0, `${figure.workload}: tokens/s measured`);
  t.match(report.servers.adaptd, /--parallel 6 /, 'as many sequences as requests in flight');
  t.notOk(report.servers['adaptd (churn)'], 'no churn');
});

t.test('usage mistakes exit 2 and a missing llama-server is named, never built, when a path is given', async (t) => {
  const capture = captureIo();
  t.equal(await runBenchCommand(['--only', 'vllm'], capture.io), 2);
  t.match(capture.stderr(), '--only takes adaptd or llama-server');
  for (const [args, message] of [
    [['--workloads', 'decode,speed'], 'unknown workload "speed"'],
    [['--concurrency', '1,0'], '--concurrency takes whole numbers'],
    [['--gpu', 'cuda'], '--gpu takes auto or off'],
    [['--model', 'base.gguf'], '--model needs at least one --adapter'],
    [['--adapter', 'a.gguf'], '--adapter goes with --model'],
  ] as const) {
    const mistake = captureIo();
    t.equal(await runBenchCommand([...args], mistake.io), 2, args.join(' '));
    t.match(mistake.stderr(), message);
  }
  await t.rejects(runBenchCommand(['--llama-server', '/nonexistent/llama-server', '--out', t.testdir()], captureIo().io), /is not an executable file/);
});
