import { spawn } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { ensureTestModels } from '../../scripts/generate-test-models.js';
import { piiCorpus } from '../helpers/piiCorpus.js';
import { waitFor } from '../helpers/waitFor.js';

// No request or response text in any log line at any level: the server runs at trace level and every
// redactor path is driven (success, pseudonyms, restore, fail-closed 422, batch error entries, bad requests).
const models = ensureTestModels();
const dir = t.testdir();
const secret = 'Sentinel Zebulon Quarrington';
const docs = piiCorpus(4, 'logs').map((doc) => ({ ...doc, text: `${doc.text} Signed ${secret}.` }));

const child = spawn(
  process.execPath,
  ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--model', models.behaviourModel, '--model-id', 'base', '--port', '0', '--log-level', 'trace', '--context-size', '4096', '--vault-path', path.join(dir, 'vault.sqlite')],
  { stdio: ['ignore', 'pipe', 'pipe'] },
);
let logs = '';
child.stdout.on('data', (chunk) => (logs += chunk));
child.stderr.on('data', (chunk) => (logs += chunk));
const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
t.teardown(() => {
  if (child.exitCode === null) child.kill('SIGKILL');
});
const url = await waitFor(() => {
  if (child.exitCode !== null) throw new Error(`serve exited: ${logs.slice(-2000)}`);
  return /adaptd ready at (\S+)/.exec(logs)?.[1];
}, { what: 'the server ready', timeoutMs: 120_000 });

const post = async (route: string, body: string) => {
  const response = await fetch(`${url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: response.status, body: await response.text() };
};

t.test('every redactor path, then the logs hold none of the texts', async (t) => {
  const seen: string[] = [secret, ...docs.flatMap((d) => d.valid.map((p) => p.value))];
  const labelled = await post('/v1/redact', JSON.stringify({ text: docs[0].text, detectors: 'rules' }));
  t.equal(labelled.status, 200);
  const fake = await post('/v1/redact', JSON.stringify({ texts: docs.map((d) => d.text), detectors: 'rules', mode: 'pseudonymize' }));
  t.equal(fake.status, 200);
  const pseudonymized = JSON.parse(fake.body).results.map((r: { redacted_text: string }) => r.redacted_text) as string[];
  // The fakes are someone's data too once restored; they must not be logged either.
  for (const text of pseudonymized) seen.push(...text.split(/(?<=\.) /).filter((s) => !s.startsWith('Ticket')));
  t.equal((await post('/v1/redact/restore', JSON.stringify({ text: pseudonymized[0] }))).status, 200);
  t.equal((await post('/v1/redact', JSON.stringify({ text: docs[1].text, max_tokens: 16 }))).status, 422);
  t.equal((await post('/v1/redact', JSON.stringify({ texts: [docs[2].text, docs[3].text], max_tokens: 8, detectors: 'llm' }))).status, 200);
  t.equal((await post('/v1/redact', JSON.stringify({ text: docs[1].text, deadline_ms: 1 }))).status, 422);
  t.equal((await post('/v1/redact', `{"text": "${secret}`)).status, 400, 'a body that is not JSON');
  t.equal((await post('/v1/redact', JSON.stringify({ text: secret, labels: [secret] }))).status, 400, 'an unknown label');
  t.equal((await post('/v1/redact', JSON.stringify({ text: secret, mode: secret }))).status, 400, 'an unknown mode');
  t.equal((await post('/v1/redact', JSON.stringify({ texts: [secret, ''] }))).status, 400, 'an empty text in a batch');
  t.equal((await post('/v1/redact/restore', JSON.stringify({ text: 42, secret }))).status, 400);

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'drains and exits 0');
  t.match(logs, /"level":10|"level":20|"level":30/, 'the logs were on, at trace level');
  t.match(logs, /\/v1\/redact/, 'requests were logged (by route)');
  for (const text of seen) t.notOk(logs.includes(text), `not in the logs: a ${text.length}-character text`);
});
