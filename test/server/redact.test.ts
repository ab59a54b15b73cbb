import { writeFileSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import t from 'tap';
import { ensureTestModels } from '../../scripts/generate-test-models.js';
import type { RedactBatchResponse, RedactResponse } from '../../src/protocol/redact.js';
import { detectRules } from '../../src/redaction/rules/rulesDetectors.js';
import { postJson } from '../helpers/http.js';
import { coveringCorpus, PLANTED_KINDS } from '../helpers/piiCorpus.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

const models = ensureTestModels();
const dir = t.testdir();
const vaultPath = path.join(dir, 'vault.sqlite');
const keys = { plain: 'sk-redact-only-0123456789', restorer: 'sk-restorer-0123456789ab' };
const keyFile = path.join(dir, 'keys.json');
writeFileSync(keyFile, JSON.stringify({ keys: [{ key: keys.plain, name: 'plain' }, { key: keys.restorer, name: 'restorer', restore: true }] }));
const start = (flags: Record<string, string> = {}) =>
  startTestServer({ model: models.behaviourModel, 'model-id': 'base', 'context-size': 4096, 'vault-path': vaultPath, ...flags });

let server: TestServer = await start();
t.teardown(() => server.close());

const post = (route: string, body: unknown, key?: string) => postJson(`${server.url}${route}`, body, key ? { authorization: `Bearer ${key}` } : {});

const corpus = coveringCorpus(240);

t.test('rules only: every planted value is found and redacted, no near-miss is, through the HTTP route', async (t) => {
  let checked = 0;
  for (let from = 0; from < corpus.length; from += 60) {
    const docs = corpus.slice(from, from + 60);
    const { status, json } = await post('/v1/redact', { texts: docs.map((d) => d.text), detectors: 'rules' });
    t.equal(status, 200);
    const batch = json as RedactBatchResponse;
    t.equal(batch.model, null, 'no model was asked');
    batch.results.forEach((item, i) => {
      const doc = docs[i];
      if (!('redacted_text' in item)) return t.fail(`document ${from + i} failed: ${JSON.stringify(item)}`);
      const found = new Set(item.entities.map((e) => `${e.pii_type}:${e.string}`));
      const planted = new Set(doc.valid.map((p) => `${p.label}:${p.value}`));
      t.same([...found].sort(), [...planted].sort(), `document ${from + i}: exactly the planted values`);
      for (const p of doc.valid) t.notOk(item.redacted_text.includes(p.value), `a planted ${p.label} is gone`);
      for (const miss of doc.nearMisses) t.ok(item.redacted_text.includes(miss), 'a near-miss stays');
      for (const e of item.entities) t.equal([...doc.text].slice(e.start, e.end).join(''), e.string, 'offsets point at the string');
      checked++;
    });
  }
  t.equal(checked, corpus.length);
  const kinds = new Set(corpus.flatMap((d) => d.valid.map((p) => p.label)));
  t.same([...kinds].sort(), PLANTED_KINDS.map(([label]) => label).sort(), 'every kind was planted');
});

t.test('single text, labels subset and mask mode', async (t) => {
  const doc = corpus.find((d) => d.valid.some((p) => p.label === 'EMAIL') && d.valid.some((p) => p.label !== 'EMAIL'))!;
  const { status, json } = await post('/v1/redact', { text: doc.text, detectors: 'rules', labels: ['EMAIL'], mode: 'mask' });
  t.equal(status, 200);
  const result = json as RedactResponse;
  t.equal(result.object, 'redaction');
  t.ok(result.entities.length > 0 && result.entities.every((e) => e.pii_type === 'EMAIL' && e.source === 'rules'));
  t.equal(result.redacted_text.length, doc.text.length, 'a mask keeps the length');
  for (const p of doc.valid) t.equal(result.redacted_text.includes(p.value), p.label !== 'EMAIL', `${p.label} redacted only if asked`);
  t.same(result.usage, { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
});

const pseudonymize = async (texts: string[]) => {
  const { status, json } = await post('/v1/redact', { texts, detectors: 'rules', mode: 'pseudonymize' });
  if (status !== 200) throw new Error(`pseudonymize: ${status}`);
  return (json as RedactBatchResponse).results.map((item) => ('redacted_text' in item ? item.redacted_text : ''));
};

t.test('pseudonymize: consistent, distinct fakes that validate; restore round-trips; the same after a restart', async (t) => {
  const docs = corpus.slice(0, 120);
  const first = await pseudonymize(docs.map((d) => d.text));
  const fakeOf = new Map<string, string>();
  first.forEach((redacted, i) => {
    const doc = docs[i];
    const fakes = detectRules(redacted);
    // Fakes are of the same kinds and pass the same validators (a fake card is Luhn-valid, a fake IBAN mod-97).
    t.same(fakes.map((f) => f.pii_type).sort(), doc.valid.map((p) => p.label).sort(), `document ${i}: fakes of the same kinds validate`);
    for (const p of doc.valid) t.notOk(redacted.includes(p.value), 'the original is gone');
    // Fakes appear in the order of the originals they replace.
    const originals = detectRules(doc.text);
    originals.forEach((original, k) => {
      const fake = fakes[k]?.string;
      const known = fakeOf.get(original.string);
      if (known !== undefined) t.equal(fake, known, 'the same value gets the same fake everywhere');
      fakeOf.set(original.string, fake);
    });
  });
  t.equal(new Set(fakeOf.values()).size, fakeOf.size, 'different values get different fakes');

  const again = await pseudonymize(docs.map((d) => d.text));
  t.same(again, first, 'the same fakes in a later request');
  const single = await post('/v1/redact', { text: docs[0].text, detectors: 'rules', mode: 'pseudonymize' });
  t.equal(single.json.redacted_text, first[0], 'the same fakes alone as in a batch');

  for (let i = 0; i < 20; i++) {
    const restored = await post('/v1/redact/restore', { text: first[i] });
    t.equal(restored.json.text, docs[i].text, `document ${i} restored`);
  }

  await server.close();
  server = await start({ 'api-keys': keyFile });
  const afterRestart = await post('/v1/redact', { texts: docs.map((d) => d.text), detectors: 'rules', mode: 'pseudonymize' }, keys.plain);
  t.same(
    (afterRestart.json as RedactBatchResponse).results.map((item) => ('redacted_text' in item ? item.redacted_text : '')),
    first,
    'the same fakes after a restart on the same vault',
  );
  const refused = await post('/v1/redact/restore', { text: first[0] }, keys.plain);
  t.equal(refused.status, 403, 'a key without the restore right may not restore');
  t.notOk(refused.text.includes(docs[0].valid[0].value), 'and gets no original');
  const restored = await post('/v1/redact/restore', { text: first[0] }, keys.restorer);
  t.equal(restored.json.text, docs[0].text, 'a key with the restore right restores after the restart');
  await server.close();
  server = await start();
});

t.test('fail closed: a forced call cut off by max_tokens is a 422 (hybrid: with the rules labels), never the text', async (t) => {
  const doc = corpus.find((d) => d.valid.length >= 3)!;
  const hybrid = await post('/v1/redact', { text: doc.text, max_tokens: 24 });
  t.equal(hybrid.status, 422);
  t.equal(hybrid.json.error.code, 'redact_call_failed:truncated');
  t.equal(hybrid.json.error.type, 'unprocessable_entity_error');
  const labels = new Set(doc.valid.map((p) => p.label));
  for (const label of labels) t.match(hybrid.json.error.message, new RegExp(`${label} ×\\d`), `the message names ${label}`);
  for (const p of doc.valid) t.notOk(hybrid.text.includes(p.value), 'no planted value in the answer');
  t.notOk(hybrid.text.includes('Ticket'), 'no document text in the answer');

  const llmOnly = await post('/v1/redact', { text: doc.text, detectors: 'llm', max_tokens: 24, model: 'base' });
  t.equal(llmOnly.status, 422);
  t.notMatch(llmOnly.json.error.message, /rules detectors/, 'no rules were asked for');

  // The official client maps it to its typed error, as for any OpenAI 422.
  const error = await server.client.post('/redact', { body: { text: doc.text, max_tokens: 24 } }).catch((e: unknown) => e);
  t.ok(error instanceof OpenAI.UnprocessableEntityError, 'openai client: UnprocessableEntityError');

  const late = await post('/v1/redact', { text: doc.text, deadline_ms: 1 });
  t.equal(late.status, 422);
  t.equal(late.json.error.code, 'redact_call_failed:timeout');
});

t.test('fail closed in a batch: each cut-off text is an error entry, a request-level mistake fails the request', async (t) => {
  const texts = corpus.slice(0, 3).map((d) => d.text);
  const { status, json, text } = await post('/v1/redact', { texts, detectors: 'hybrid', max_tokens: 16 });
  t.equal(status, 200);
  const batch = json as RedactBatchResponse;
  t.equal(batch.model, 'base');
  t.equal(batch.results.length, 3);
  batch.results.forEach((item, i) => {
    t.equal(item.index, i);
    t.notOk('redacted_text' in item, 'no text for a failed call');
    if ('error' in item) {
      t.equal(item.status, 422);
      t.equal(item.error.code, 'redact_call_failed:truncated');
      t.match(item.error.message, /rules detectors alone would have redacted/);
    }
  });
  for (const doc of corpus.slice(0, 3)) for (const p of doc.valid) t.notOk(text.includes(p.value), 'no planted value anywhere');

  const unknown = await post('/v1/redact', { texts, model: 'no-such-adapter', max_tokens: 16 });
  t.equal(unknown.status, 404);
  t.equal(unknown.json.error.param, 'model');
});

t.test('a document too long for the context is a 400 naming `text` (or an entry naming `texts`), with the overshoot', async (t) => {
  const long = `Call Ada Quill at ada.quill@example.org. ${'The quarterly ledger was reconciled again. '.repeat(500)}`;
  const single = await post('/v1/redact', { text: long, detectors: 'llm' });
  t.equal(single.status, 400);
  t.equal(single.json.error.param, 'text');
  t.equal(single.json.error.code, 'context_length_exceeded');
  t.match(single.json.error.message, /over by \d+\); split the document/);
  t.notOk(single.text.includes('ada.quill@example.org'), 'the document is not echoed');

  const batch = await post('/v1/redact', { texts: [long, corpus[0].text], detectors: 'llm', max_tokens: 16 });
  t.equal(batch.status, 200);
  const [first, second] = (batch.json as RedactBatchResponse).results;
  t.ok('error' in first && first.status === 400 && first.error.param === 'texts' && first.error.code === 'context_length_exceeded', 'the long text is an error entry');
  t.equal(second.index, 1, 'the other text was still worked on');
});

t.test('bad requests are 400s naming the field', async (t) => {
  for (const [what, body, param] of [
    ['text and texts', { text: 'a', texts: ['b'] }, 'text'],
    ['neither', { detectors: 'rules' }, 'text'],
    ['an empty text', { text: '' }, 'text'],
    ['an unknown label', { text: 'a', labels: ['NOT_A_LABEL'] }, 'labels'],
    ['an unknown mode', { text: 'a', mode: 'shred' }, 'mode'],
    ['an unknown detector', { text: 'a', detectors: 'magic' }, 'detectors'],
  ] as const) {
    const { status, json } = await post('/v1/redact', body);
    t.equal(status, 400, what);
    t.equal(json.error.param, param, `${what}: param`);
  }
});

t.test('the routes are in the OpenAPI document', async (t) => {
  const spec = await (await fetch(`${server.url}/openapi.json`)).json();
  t.ok(spec.paths['/v1/redact']?.post, '/v1/redact');
  t.ok(spec.paths['/v1/redact/restore']?.post, '/v1/redact/restore');
  t.ok(spec.components.schemas.RedactRequest, 'named request schema');
});
