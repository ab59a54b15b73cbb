import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ensureTestModels } from '../../scripts/generate-test-models.js';
import { checkpointPathOf } from '../../src/cli/CheckpointedOutput.js';
import { runRedact } from '../../src/cli/redactCommand.js';
import { piiCorpus } from '../helpers/piiCorpus.js';
import { startTestServer } from '../helpers/testServer.js';
import { captureIo } from '../helpers/scriptedEndpoint.js';
import { waitFor } from '../helpers/waitFor.js';

const dir = t.testdir();
const file = (name: string) => path.join(dir, name);
const lines = (name: string) => (existsSync(name) ? readFileSync(name, 'utf8').split('\n').filter(Boolean) : []);
const errorRows = (name: string) => lines(name).map((line) => JSON.parse(line) as { row: number; code: string; reason: string });
const corpus = piiCorpus(40, 'cli');

async function redact(argv: string[]) {
  const capture = captureIo();
  const code = await runRedact(argv, capture.io);
  return { code, stdout: capture.stdout(), stderr: capture.stderr() };
}

/** The CLI as a child process, as a user runs it. */
function spawnCli(argv: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'redact', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, output })),
  );
  return { child, exit };
}

t.test('JSONL: other fields kept, bad rows in the errors file with their reason, the run goes on', async (t) => {
  const input = file('rows.jsonl');
  const rows = [
    JSON.stringify({ id: 1, text: corpus[0].text, lang: 'en' }),
    '{"id": 2, "text": "cut off',
    JSON.stringify({ id: 3, body: 'no text field' }),
    JSON.stringify({ id: 4, text: '   ' }),
    JSON.stringify({ id: 5, text: 42 }),
    '',
    '[1, 2]',
    JSON.stringify({ id: 8, text: corpus[1].text }),
  ];
  writeFileSync(input, `${rows.join('\n')}\n`);
  const out = file('rows.out.jsonl');
  const run = await redact([input, out, '--detectors', 'rules', '--json']);
  t.equal(run.code, 3, 'exit 3: some rows are in the errors file');
  const summary = JSON.parse(run.stdout);
  t.match(summary, { rows: 8, redacted: 2, errors: 6, reasons: { invalid_json: 1, missing_field: 1, empty: 2, not_a_string: 1, not_an_object: 1 } });
  const written = lines(out).map((line) => JSON.parse(line));
  t.same(written.map((r) => r.id), [1, 8]);
  t.equal(written[0].lang, 'en', 'other fields are kept');
  t.same(Object.keys(written[0]), ['id', 'text', 'lang'], 'in their order');
  for (const p of corpus[0].valid) t.notOk(written[0].text.includes(p.value), 'redacted');
  t.same(errorRows(`${out}.errors.jsonl`).map((e) => [e.row, e.code]), [[2, 'invalid_json'], [3, 'missing_field'], [4, 'empty'], [5, 'not_a_string'], [6, 'empty'], [7, 'not_an_object']]);
  t.notOk(readFileSync(`${out}.errors.jsonl`, 'utf8').includes('cut off'), 'reasons never quote the row');
  t.notOk(existsSync(checkpointPathOf(out)) || existsSync(`${out}.partial`), 'no checkpoint or partial file left');
});

t.test('CSV: quoted commas, quotes and line breaks survive; --column picks the document; a short record is an error row', async (t) => {
  const input = file('tickets.csv');
  const quoted = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const multiline = `Line one mentions ${corpus[2].valid[0].value},\nline two says "hi"`;
  writeFileSync(input, `\uFEFFid,body,note\r\n1,${quoted(multiline)},"a, b"\r\n2\r\n3,${quoted(corpus[3].text)},plain\r\n4,,empty body\r\n`);
  const out = file('tickets.out.csv');
  const run = await redact([input, out, '--column', 'body', '--detectors', 'rules', '--mode', 'mask']);
  t.equal(run.code, 3);
  const text = readFileSync(out, 'utf8');
  t.ok(text.startsWith('id,body,note\n'), 'the header, without the byte order mark');
  t.ok(text.includes('"a, b"'), 'a quoted comma stays quoted');
  t.ok(text.includes('line two says ""hi"""'), 'quotes stay doubled, the line break stays inside the field');
  t.notOk(text.includes(corpus[2].valid[0].value), 'the value in a multi-line field is masked');
  t.ok(text.includes('*'.repeat(corpus[2].valid[0].value.length)), 'masked to its length');
  t.same(errorRows(`${out}.errors.jsonl`).map((e) => [e.row, e.code]), [[2, 'missing_field'], [4, 'empty']], 'rows count data records');
  t.match(run.stdout, /4 rows: 2 redacted/);

  const missing = await redact([input, file('nope.csv'), '--column', 'text', '--detectors', 'rules']);
  t.equal(missing.code, 2, 'a column the header lacks is a usage error');
  t.match(missing.stderr, /no column "text"/);
});

t.test('plain text: one document per line, blank lines are error rows', async (t) => {
  const input = file('docs.txt');
  writeFileSync(input, `${corpus[4].text}\n\n${corpus[5].text}\r\n${corpus[6].text}`);
  const out = file('docs.out.txt');
  const run = await redact([input, out, '--detectors', 'rules']);
  t.equal(run.code, 3);
  const written = lines(out);
  t.equal(written.length, 3);
  t.ok(written.every((line) => /\[[A-Z]+\]/.test(line)), 'each line labelled');
  t.same(errorRows(`${out}.errors.jsonl`).map((e) => e.row), [2]);
});

t.test('usage: detectors that need a model without one, and a checkpoint from other options', async (t) => {
  const input = file('docs.txt');
  const noModel = await redact([input, file('x.txt'), '--detectors', 'hybrid']);
  t.equal(noModel.code, 2);
  t.match(noModel.stderr, /needs a model/);
  const out = file('resume.txt');
  writeFileSync(checkpointPathOf(out), JSON.stringify({ version: 1, fingerprint: 'another run', rows: 1, redacted: 1, errors: 0, reasons: {}, outBytes: 0, errorsBytes: 0, complete: false }));
  const other = await redact([input, out, '--detectors', 'rules']);
  t.equal(other.code, 2);
  t.match(other.stderr, /another input file or other options.*--restart/s);
  const restarted = await redact([input, out, '--detectors', 'rules', '--restart']);
  t.equal(restarted.code, 3);
  t.equal(lines(out).length, 3);
});

t.test('10,000 rows killed with SIGKILL three times and resumed: exactly every row, once, in order', async (t) => {
  const total = 10_000;
  const docs = piiCorpus(total, 'kill');
  const rows = docs.map((doc, i) => {
    const id = i + 1;
    if (id % 997 === 0) return `{"id": ${id}, "text": broken`;
    if (id % 1499 === 0) return JSON.stringify({ id, text: '' });
    return JSON.stringify({ id, text: doc.text });
  });
  const input = file('big.jsonl');
  writeFileSync(input, `${rows.join('\n')}\n`);
  const reference = file('big.reference.jsonl');
  const clean = await spawnCli([input, reference, '--detectors', 'rules', '--json']).exit;
  t.equal(clean.code, 3, 'an uninterrupted run, for comparison');

  const out = file('big.out.jsonl');
  const checkpoint = checkpointPathOf(out);
  const committed = () => (existsSync(checkpoint) ? (JSON.parse(readFileSync(checkpoint, 'utf8')) as { rows: number }).rows : 0);
  const kills: number[] = [];
  for (let kill = 0; kill < 3; kill++) {
    const before = committed();
    // Early, midway and past half of the rows, plus a short random delay so the kill may land between checkpoints.
    // The checkpoint moves every 200 ms or 1 MB (1,000-2,000 rows here), so the last kill aims at 55-60% and the
    // delay is short: the run must still have rows left when the kill comes.
    const [from, to] = [[0.05, 0.15], [0.3, 0.4], [0.55, 0.6]][kill];
    const threshold = Math.max(before + 200, Math.floor(total * (from + Math.random() * (to - from))));
    const { child, exit } = spawnCli([input, out, '--detectors', 'rules', '--concurrency', '8']);
    await waitFor(() => committed() >= threshold || child.exitCode !== null, { what: `${threshold} rows committed`, intervalMs: 5 });
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
    child.kill('SIGKILL');
    const result = await exit;
    t.equal(result.signal, 'SIGKILL', `run ${kill + 1} was killed mid-way (${committed()} rows committed)`);
    t.ok(committed() > before, 'and had made progress');
    t.notOk(existsSync(out), 'OUT does not exist before the run is complete');
    kills.push(committed());
  }
  // A kill between writing rows and moving the checkpoint leaves rows the checkpoint does not count: they are cut off.
  writeFileSync(`${out}.partial`, '{"id": 1, "text": "written after the checkpoint"}\n', { flag: 'a' });
  const last = await spawnCli([input, out, '--detectors', 'rules', '--json']).exit;
  t.equal(last.code, 3, `resumed to the end after kills at ${kills.join(', ')}`);
  const summary = JSON.parse(last.output.split('\n').find((line) => line.startsWith('{'))!);
  t.equal(summary.resumed_from, kills[2]);

  const ids = lines(out).map((line) => (JSON.parse(line) as { id: number }).id);
  const failed = errorRows(`${out}.errors.jsonl`).map((e) => e.row);
  t.equal(ids.length + failed.length, total, 'every row in OUT or in the errors file');
  t.equal(new Set([...ids, ...failed]).size, total, 'none twice');
  t.same(failed, rows.map((_, i) => i + 1).filter((id) => id % 997 === 0 || id % 1499 === 0), 'exactly the bad rows failed');
  t.equal(readFileSync(out, 'utf8'), readFileSync(reference, 'utf8'), 'OUT is byte for byte what an uninterrupted run writes');
  t.equal(readFileSync(`${out}.errors.jsonl`, 'utf8'), readFileSync(`${reference}.errors.jsonl`, 'utf8'));
  t.notOk(existsSync(checkpoint), 'the checkpoint is gone');
});

t.test('against a server and in-process on a model: a cut-off call is an error row, never the original text', async (t) => {
  const models = ensureTestModels();
  const server = await startTestServer({ model: models.behaviourModel, 'model-id': 'base', 'context-size': 4096, 'vault-path': file('vault.sqlite') });
  t.teardown(server.close);
  const input = file('three.jsonl');
  writeFileSync(input, `${corpus.slice(10, 13).map((doc, i) => JSON.stringify({ id: i + 1, text: doc.text })).join('\n')}\n`);

  const viaServer = file('three.server.jsonl');
  const served = await redact([input, viaServer, '--server', `${server.url}/v1`, '--detectors', 'hybrid', '--max-tokens', '16', '--json']);
  t.equal(served.code, 3);
  t.match(JSON.parse(served.stdout), { rows: 3, redacted: 0, errors: 3, reasons: { 'redact_call_failed:truncated': 3 } });
  t.equal(readFileSync(viaServer, 'utf8'), '', 'nothing in OUT');
  const reasons = readFileSync(`${viaServer}.errors.jsonl`, 'utf8');
  t.match(reasons, /rules detectors alone would have redacted/);
  for (const doc of corpus.slice(10, 13)) for (const p of doc.valid) t.notOk(reasons.includes(p.value), 'no value in the errors file');

  const rulesViaServer = await redact([input, file('three.rules.jsonl'), '--server', server.url, '--detectors', 'rules']);
  const rulesLocal = await redact([input, file('three.local.jsonl'), '--detectors', 'rules']);
  t.equal(rulesViaServer.code, 0);
  t.equal(rulesLocal.code, 0);
  t.equal(readFileSync(file('three.rules.jsonl'), 'utf8'), readFileSync(file('three.local.jsonl'), 'utf8'), 'a server and this process redact alike');

  const unknown = await redact([input, file('three.unknown.jsonl'), '--server', server.url, '--adapter', 'no-such', '--detectors', 'llm']);
  t.equal(unknown.code, 1, 'an unknown adapter stops the run');
  t.match(unknown.stderr, /does not exist.*HTTP 404/s);
  t.ok(existsSync(checkpointPathOf(file('three.unknown.jsonl'))), 'and keeps the checkpoint to resume');

  const inProcess = spawnCli([input, file('three.model.jsonl'), '--model', models.behaviourModel, '--max-tokens', '16', '--json', '--', '--context-size', '4096', '--vault-path', file('vault2.sqlite')]);
  const result = await inProcess.exit;
  t.equal(result.code, 3, result.output);
  t.equal(errorRows(`${file('three.model.jsonl')}.errors.jsonl`).length, 3, 'three error rows from the in-process engine');
  t.equal(readFileSync(file('three.model.jsonl'), 'utf8'), '');
});
