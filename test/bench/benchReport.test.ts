import t from 'tap';
import { advantage, rateFigure, renderMarkdown, renderTable, type BenchFigure, type BenchReport } from '../../src/bench/benchReport.js';

const figure = (over: Partial<BenchFigure>): BenchFigure => ({ workload: 'w', metric: 'req/s', better: 'higher', adaptd: 2, llamaServer: 1, ...over });

t.test('the ratio always reads "times better for adaptd"', async (t) => {
  t.equal(advantage(figure({ better: 'higher', adaptd: 3, llamaServer: 1.5 })), 2, 'throughput: adaptd ÷ llama-server');
  t.equal(advantage(figure({ better: 'lower', metric: 'p95 ms', adaptd: 100, llamaServer: 400 })), 4, 'latency: llama-server ÷ adaptd');
  t.equal(advantage(figure({ better: 'lower', metric: 'p95 ms', adaptd: 400, llamaServer: 100 })), 0.25, 'slower adaptd is below 1');
  t.equal(advantage(figure({ llamaServer: null })), null, 'one side missing: no ratio');
  t.equal(advantage(figure({ adaptd: 0 })), null, 'nothing measured: no ratio');
});

t.test('targets are met at or above the ratio and undecided without one', async (t) => {
  t.equal(rateFigure(figure({ adaptd: 0.95, llamaServer: 1, target: 0.95 })).met, true, 'exactly on target');
  t.equal(rateFigure(figure({ adaptd: 0.94, llamaServer: 1, target: 0.95 })).met, false);
  t.equal(rateFigure(figure({ target: undefined })).met, null, 'no target');
  t.equal(rateFigure(figure({ llamaServer: null, target: 2 })).met, null, 'no ratio');
});

const report: BenchReport = {
  command: 'adaptd bench --threads 2',
  startedAt: '2025-01-01T00:00:00.000Z',
  durationSeconds: 42,
  machine: { cpu: 'Test CPU', 'CPUs available to this process': 2 },
  settings: { threads: 2 },
  servers: { adaptd: 'adaptd serve --threads 2', 'llama-server': 'llama-server -t 2' },
  figures: [
    figure({ workload: 'decode, one stream, 128 tokens', metric: 'tokens/s', adaptd: 172.26, llamaServer: 180.3, target: 0.95 }),
    figure({ workload: 'redactor, alternating over 2 adapters | c1', metric: 'p95 ms', better: 'lower', adaptd: 350.4, llamaServer: 1020.7 }),
    figure({ workload: 'adapter churn', metric: 'peak RSS MiB', better: 'lower', adaptd: 900.2, llamaServer: null }),
  ].map(rateFigure),
  checks: [
    { name: 'adapter churn: no failed request', passed: true, detail: '0 of 24 failed' },
    { name: 'warm first token', passed: false, detail: '20%' },
  ],
  warnings: ['the machine was busy'],
};

t.test('the terminal table lines figures up and states each verdict', async (t) => {
  const lines = renderTable(report).split('\n');
  t.match(lines[0], /^workload\s+metric\s+adaptd\s+llama-server\s+ratio\s+target$/);
  const decode = lines.find((l) => l.startsWith('decode'))!;
  t.match(decode, /tokens\/s\s+172\s+180\s+0\.96×\s+≥ 0\.95× met$/, 'values, ratio and verdict');
  t.match(lines.find((l) => l.startsWith('redactor'))!, /p95 ms\s+350\s+1021\s+2\.91×$/, 'times are inverted and have no target');
  t.match(lines.find((l) => l.startsWith('adapter churn'))!, /900\s+–\s+–$/, 'a missing side shows a dash');
  const ratioEnd = lines[0].indexOf('ratio') + 'ratio'.length;
  for (const line of lines.slice(2, 5)) t.equal(line[ratioEnd - 1], line.startsWith('adapter') ? '–' : '×', 'ratios right-aligned under their header');
  t.ok(lines.includes('ok  adapter churn: no failed request: 0 of 24 failed'));
  t.ok(lines.includes('FAILED  warm first token: 20%'));
  t.ok(lines.includes('warning: the machine was busy'));
});

t.test('the Markdown report has the command, a table with escaped cells, the checks and the machine', async (t) => {
  const markdown = renderMarkdown(report);
  t.match(markdown, '`adaptd bench --threads 2` (42 s)');
  t.match(markdown, '| workload | metric | adaptd | llama-server | ratio | target |');
  t.match(markdown, '| --- | --- | ---: | ---: | ---: | --- |');
  t.match(markdown, '| redactor, alternating over 2 adapters \\| c1 | p95 ms | 350 | 1021 | 2.91× |  |');
  t.match(markdown, '- **failed**: warm first token: 20%');
  t.match(markdown, '- cpu: Test CPU');
  t.match(markdown, '- llama-server: `llama-server -t 2`');
});
