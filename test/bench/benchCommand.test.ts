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
    ['decode', 'redactor', 'redactor time to first token', 'adapter churn'],
    'all five workloads (the redactor ones at two concurrencies and three mixes)',
  );
  t.equal(report.figures.filter((f) => f.workload.startsWith('redactor,')).length, 18, '6 redactor runs × req/s, p50, p95');
  for (const figure of report.figures) {
    t.ok(figure.adaptd !== null && figure.adaptd > 0, `${figure.workload}: ${figure.metric} measured`);
    t.same([figure.llamaServer, figure.ratio, figure.met], [null, null, null], 'no reference, no ratio');
  }
  t.same(report.warnings.filter((w) => !w.includes('machine was busy')), [], 'every request answered with all its tokens, same prompt');
  t.equal(report.checks.find((c) => c.name.includes('no failed request'))?.passed, true, 'the churn failed no request');
  t.ok(report.checks.some((c) => c.name.includes('resident memory')), 'the churn memory was checked');
  t.match(report.servers.adaptd, /--threads 1 .*--max-resident-adapters 8/);
  t.match(report.servers['adaptd (churn)'], /--max-resident-adapters 2/);
  t.match(readFileSync(path.join(out, 'bench.md'), 'utf8'), '| decode, one stream, 16 tokens | tokens/s |');
  t.match(capture.stdout(), /^workload\s+metric\s+adaptd/);
  t.match(capture.stderr(), /\[bench \+\d+s\] adaptd: adapter churn: /, 'progress on stderr');
});

t.test('usage mistakes exit 2 and a missing llama-server is named, never built, when a path is given', async (t) => {
  const capture = captureIo();
  t.equal(await runBenchCommand(['--only', 'vllm'], capture.io), 2);
  t.match(capture.stderr(), '--only takes adaptd or llama-server');
  await t.rejects(runBenchCommand(['--llama-server', '/nonexistent/llama-server', '--out', t.testdir()], captureIo().io), /is not an executable file/);
});
