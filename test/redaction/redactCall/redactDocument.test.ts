import t from 'tap';
import { Pseudonymizer } from '../../../src/redaction/pseudonyms/Pseudonymizer.js';
import { codePointIndexer, DEFAULT_REDACT_MAX_TOKENS, redactDocument, type RedactDocumentRequest } from '../../../src/redaction/redactCall/redactDocument.js';
import type { RedactCallInput, RedactCallOutput, RedactionModel } from '../../../src/redaction/redactCall/RedactionModel.js';
import { RedactionCallError, RedactionInputError } from '../../../src/redaction/redactionErrors.js';
import { loadRedactorSpec } from '../../../src/redaction/redactCall/redactorSpec.js';

const spec = loadRedactorSpec();
const TEXT = 'Hi Anna, Bob here. Mail anna@example.com or pay DE89 3704 0044 0532 0130 00. Bye Anna!';

/** A stand-in for the engine: answers with a fixed call and records what it was asked. */
class ScriptedModel implements RedactionModel {
  readonly calls: RedactCallInput[] = [];
  constructor(private readonly answer: Partial<RedactCallOutput> | ((input: RedactCallInput) => Promise<RedactCallOutput>)) {}

  async callRedact(input: RedactCallInput): Promise<RedactCallOutput> {
    this.calls.push(input);
    if (typeof this.answer === 'function') return this.answer(input);
    return { argumentsJson: '{"fields_to_redact": []}', finishReason: 'tool_calls', usage: { prompt_tokens: 120, completion_tokens: 30 }, ...this.answer };
  }
}

const answering = (fields: Array<[string, string]>) =>
  new ScriptedModel({ argumentsJson: JSON.stringify({ fields_to_redact: fields.map(([string, pii_type]) => ({ string, pii_type })) }) });

const request = (overrides: Partial<RedactDocumentRequest>): RedactDocumentRequest => ({
  text: TEXT,
  mode: 'label',
  detectors: 'hybrid',
  spec,
  ...overrides,
});

t.test('hybrid: the model and the rules together, every occurrence, with sources', async (t) => {
  const model = answering([['Anna', 'FIRSTNAME'], ['Bob', 'FIRSTNAME'], ['Carol', 'FIRSTNAME']]);
  const result = await redactDocument(request({ model }));
  t.equal(result.redacted_text, 'Hi [FIRSTNAME], [FIRSTNAME] here. Mail [EMAIL] or pay [IBAN]. Bye [FIRSTNAME]!');
  t.same(
    result.entities.map((e) => [e.string, e.pii_type, e.source, TEXT.slice(e.start, e.end)]),
    [
      ['Anna', 'FIRSTNAME', 'llm', 'Anna'],
      ['Bob', 'FIRSTNAME', 'llm', 'Bob'],
      ['anna@example.com', 'EMAIL', 'rules', 'anna@example.com'],
      ['DE89 3704 0044 0532 0130 00', 'IBAN', 'rules', 'DE89 3704 0044 0532 0130 00'],
      ['Anna', 'FIRSTNAME', 'llm', 'Anna'],
    ],
  );
  t.same(result.dropped, ['Carol']);
  t.same(result.usage, { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150 });
  t.same(model.calls, [{ systemPrompt: spec.systemPrompt, document: TEXT, tool: spec.tool, maxTokens: DEFAULT_REDACT_MAX_TOKENS, signal: undefined }]);
});

t.test('rules only: no model needed, none called, no tokens', async (t) => {
  const model = answering([['Anna', 'FIRSTNAME']]);
  const result = await redactDocument(request({ detectors: 'rules', model }));
  t.equal(result.redacted_text, 'Hi Anna, Bob here. Mail [EMAIL] or pay [IBAN]. Bye Anna!');
  t.equal(model.calls.length, 0);
  t.same(result.usage, { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
  t.same((await redactDocument(request({ detectors: 'rules' }))).redacted_text, result.redacted_text);
});

t.test('llm only: what the model missed stays', async (t) => {
  const result = await redactDocument(request({ detectors: 'llm', model: answering([['anna@example.com', 'EMAIL']]), maxTokens: 64 }));
  t.equal(result.redacted_text, 'Hi Anna, Bob here. Mail [EMAIL] or pay DE89 3704 0044 0532 0130 00. Bye Anna!');
  t.same(result.entities.map((e) => e.source), ['llm']);
});

t.test('a labels subset filters the model and the rules', async (t) => {
  const model = answering([['Anna', 'FIRSTNAME'], ['anna@example.com', 'EMAIL']]);
  const result = await redactDocument(request({ model, labels: ['EMAIL'] }));
  t.equal(result.redacted_text, 'Hi Anna, Bob here. Mail [EMAIL] or pay DE89 3704 0044 0532 0130 00. Bye Anna!');
  t.same(result.dropped, [], 'a filtered label is not reported as dropped');
  t.equal(model.calls[0].systemPrompt, spec.systemPrompt, 'the prompt stays as the LoRA was trained on');
});

t.test('mask and pseudonymize modes', async (t) => {
  const model = answering([['Anna', 'FIRSTNAME'], ['Bob', 'FIRSTNAME']]);
  const masked = await redactDocument(request({ model, mode: 'mask' }));
  t.equal(masked.redacted_text.length, TEXT.length);
  t.equal(masked.redacted_text, 'Hi ****, *** here. Mail **************** or pay ***************************. Bye ****!');

  const pseudonyms = new Pseudonymizer('a key of at least sixteen bytes');
  const faked = await redactDocument(request({ model, mode: 'pseudonymize', pseudonyms }));
  const anna = pseudonyms.pseudonymize('Anna', 'FIRSTNAME');
  t.match(faked.redacted_text, new RegExp(`^Hi ${anna}, \\w+ here\\. Mail \\S+@example\\.\\w+ or pay DE\\d\\d( \\d{4}){4} \\d\\d\\. Bye ${anna}!$`));
  for (const e of faked.entities) t.notOk(faked.redacted_text.includes(e.string), `${e.string} is gone`);
});

t.test('offsets count code points, as Python does', async (t) => {
  const text = '😀 Anna 😀 anna@example.com';
  const result = await redactDocument(request({ text, model: answering([['Anna', 'FIRSTNAME']]) }));
  t.same(result.entities.map((e) => [e.string, e.start, e.end]), [['Anna', 2, 6], ['anna@example.com', 9, 25]]);
  const codePoints = [...text];
  for (const e of result.entities) t.equal(codePoints.slice(e.start, e.end).join(''), e.string);
  const masked = await redactDocument(request({ text, mode: 'mask', model: answering([['Anna', 'FIRSTNAME']]) }));
  t.equal([...masked.redacted_text].length, codePoints.length, 'the mask keeps the length in code points');
});

t.test('codePointIndexer maps UTF-16 indices to code points', async (t) => {
  const map = codePointIndexer('a😀b');
  t.same([0, 1, 3, 4].map(map), [0, 1, 2, 3]);
  t.equal(codePointIndexer('plain')(4), 4);
});

t.test('fails closed on a truncated, malformed, invalid or timed-out call', async (t) => {
  const cases: Array<[why: string, model: RedactionModel, reason: string, signal?: AbortSignal]> = [
    ['max_tokens reached', new ScriptedModel({ finishReason: 'length', argumentsJson: '{"fields_to_redact": [{"string": "An' }), 'truncated'],
    ['length even with parseable JSON', new ScriptedModel({ finishReason: 'length' }), 'truncated'],
    ['cut-off JSON', new ScriptedModel({ argumentsJson: '{"fields_to_redact": [' }), 'truncated'],
    ['not JSON', new ScriptedModel({ argumentsJson: 'Anna is a name' }), 'malformed'],
    ['not the tool', new ScriptedModel({ argumentsJson: '{"fields": []}' }), 'invalid'],
    ['deadline', new ScriptedModel((input) => rejectOnAbort(input.signal)), 'timeout', abortAfter(20)],
  ];
  for (const [why, model, reason, signal] of cases) {
    const error = await redactDocument(request({ model, signal })).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(error instanceof RedactionCallError, why);
    t.equal((error as RedactionCallError).reason, reason, why);
    t.same((error as RedactionCallError).rulesSummary, { EMAIL: 1, IBAN: 1 }, `${why}: what the rules would have redacted`);
    t.notMatch(JSON.stringify({ ...(error as object), message: (error as Error).message }), /Anna|anna@|DE89/, `${why}: no text in the error`);
  }
  const llmOnly = await redactDocument(request({ detectors: 'llm', model: new ScriptedModel({ finishReason: 'length' }) })).catch((e) => e);
  t.same(llmOnly.rulesSummary, {}, 'no rules summary when rules were not asked for');
});

t.test('an engine failure that is not a deadline passes through unchanged', async (t) => {
  const failure = new Error('engine exploded');
  const model = new ScriptedModel(async () => {
    throw failure;
  });
  await t.rejects(redactDocument(request({ model })), failure);
});

t.test('impossible requests fail before the model is called', async (t) => {
  const model = answering([]);
  const cases: Array<[why: string, overrides: Partial<RedactDocumentRequest>]> = [
    ['unknown label', { model, labels: ['EMAIL', 'SHOESIZE'] }],
    ['empty labels', { model, labels: [] }],
    ['llm without a model', { detectors: 'llm' }],
    ['hybrid without a model', { detectors: 'hybrid' }],
    ['pseudonymize without a pseudonymiser', { model, mode: 'pseudonymize' }],
  ];
  for (const [why, overrides] of cases) await t.rejects(redactDocument(request(overrides)), RedactionInputError, why);
  t.equal(model.calls.length, 0);
});

// AbortSignal.timeout's timer is unref'd and would let the test process exit while waiting.
function abortAfter(ms: number): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new DOMException('deadline', 'TimeoutError')), ms);
  return controller.signal;
}

/** Like an engine: runs until the signal aborts, then rejects with its reason. */
function rejectOnAbort(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    if (signal?.aborted) reject(signal.reason);
    signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
