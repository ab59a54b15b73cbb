import t from 'tap';
import { alternatingAdapters, benchDocuments, decodeRequest, redactorPrompt, redactorRequest } from '../../src/bench/benchRequests.js';
import { summarisePool } from '../../src/bench/benchStats.js';
import { loadRedactorSpec } from '../../src/redaction/redactCall/redactorSpec.js';

const spec = loadRedactorSpec();

t.test('the redactor request carries the prompt and tool spec in the system message and the tool schema as format', async (t) => {
  const prompt = redactorPrompt(spec);
  t.ok(prompt.systemMessage.startsWith(spec.systemPrompt), 'the shipped system prompt comes first');
  t.match(prompt.systemMessage, JSON.stringify(spec.tool), 'then the tool spec, verbatim');
  const schema = (prompt.responseFormat as any).json_schema.schema;
  t.equal(schema.properties.fields_to_redact.minItems, 1, 'the answer must open at least one entry');
  const entry = schema.properties.fields_to_redact.items;
  const shipped = spec.tool.function.parameters.properties.fields_to_redact.items as any;
  t.same({ ...entry, properties: { ...entry.properties, string: shipped.properties.string } }, shipped, 'entries as the tool defines them');
  t.equal(entry.properties.string.minLength, 1000, 'but the first string cannot close within the answer');
  t.equal((spec.tool.function.parameters.properties.fields_to_redact as any).minItems, undefined, 'the spec itself is untouched');

  const body = redactorRequest(prompt, 'Call Ann on 555-0100.', 32);
  t.same(body.messages, [
    { role: 'system', content: prompt.systemMessage },
    { role: 'user', content: 'Call Ann on 555-0100.' },
  ]);
  t.same([body.temperature, body.max_tokens, body.response_format, body.stream], [0, 32, prompt.responseFormat, undefined]);
  const streamed = redactorRequest(prompt, 'x', 8, true);
  t.same([streamed.stream, streamed.stream_options], [true, { include_usage: true }], 'streamed requests ask for usage');
});

t.test('decode requests differ only in their part number', async (t) => {
  const [a, b] = [decodeRequest(128, 0), decodeRequest(128, 1)];
  t.equal(a.max_tokens, 128);
  t.not(a.messages[0].content, b.messages[0].content);
  t.equal(a.messages[0].content.replace('1', '2'), b.messages[0].content);
});

t.test('documents are the same every run, distinct and about 70 tokens long', async (t) => {
  const documents = benchDocuments(40);
  t.same(benchDocuments(40), documents, 'deterministic');
  t.equal(new Set(documents).size, 40, 'distinct');
  for (const document of documents) t.ok(document.length >= 250 && document.length <= 400, `${document.length} characters`);
});

t.test('alternating adapters take turns', async (t) => {
  t.same(alternatingAdapters(5, 2), [0, 1, 0, 1, 0]);
  t.same(alternatingAdapters(4, 8), [0, 1, 2, 3]);
  t.same(alternatingAdapters(3, 1, 5), [5, 5, 5]);
});

t.test('a pool summary counts failures and short answers apart and uses nearest-rank percentiles', async (t) => {
  const ok = (latencyMs: number, completionTokens = 32) => ({ ok: true, latencyMs, completionTokens, promptTokens: 1400 });
  const outcomes = [ok(100), ok(300), ok(200), ok(400, 31), { ok: false, latencyMs: 5, error: 'HTTP 429: busy' }, { ok: false, latencyMs: 6, error: 'HTTP 429: busy' }];
  const stats = summarisePool({ outcomes, wallMs: 2000 }, 32);
  t.same(
    [stats.requests, stats.failed, stats.shortAnswers, stats.requestsPerSecond, stats.p50Ms, stats.p95Ms, stats.promptTokens, stats.errors],
    [6, 2, 1, 2, 200, 400, 1400, ['HTTP 429: busy']],
  );
  t.same(stats.outliers, [], 'nothing over 4 times the median');
  t.same(summarisePool({ outcomes: [], wallMs: 1 }, 32).p95Ms, null, 'no answers: no percentile');
  const slow = summarisePool({ outcomes: [ok(400), ok(420), ok(6900), ok(410)], wallMs: 9000 }, 32);
  t.same(slow.outliers, [{ request: 2, ms: 6900 }], 'a request over 4 times the median is named, by its place in the order sent');
});
