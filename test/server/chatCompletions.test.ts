import t from 'tap';
import OpenAI from 'openai';
import { adaptersDirectory, ensureTestModels } from '../../scripts/generate-test-models.js';
import { postJson } from '../helpers/http.js';
import { startTestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const models = ensureTestModels();
const adapters = adaptersDirectory(t.testdir(), models, ['A', 'B']);
const server = await startTestServer({ model: models.behaviourModel, adapters, 'context-size': 512, 'model-id': 'behaviour', 'max-body-bytes': 1024 * 1024 });
t.teardown(server.close);
const { client } = server;
const user = (content: string) => [{ role: 'user' as const, content }];

t.test('greedy output of the behaviour model is its word, with exact usage', async (t) => {
  const response = await client.chat.completions.create({ model: 'behaviour', messages: user('Hello'), max_tokens: 4, temperature: 0 });
  t.equal(response.choices[0].message.content, ' W W W W');
  t.equal(response.choices[0].finish_reason, 'length');
  t.equal(response.usage?.completion_tokens, 4);
  // <|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n
  t.equal(response.usage?.prompt_tokens, 11);
  t.equal(response.usage?.total_tokens, 15);
  t.equal(response.model, 'behaviour');
  t.match(response.id, /^chatcmpl-/);
});

t.test('a stop string ends the text before it with finish_reason stop', async (t) => {
  const response = await client.chat.completions.create({ model: 'behaviour', messages: user('Hi'), max_tokens: 8, temperature: 0, stop: [' W W W'] });
  t.equal(response.choices[0].message.content, '');
  t.equal(response.choices[0].finish_reason, 'stop');
  const later = await client.chat.completions.create({ model: 'behaviour', messages: user('Hi'), max_tokens: 8, temperature: 0, stop: 'X' });
  t.equal(later.choices[0].message.content, ' W W W W W W W W');
});

t.test('streamed chunks reassemble to the non-streamed text, with usage last', async (t) => {
  const request = { model: 'A', messages: user('Tell me'), max_tokens: 6, temperature: 0 };
  const whole = await client.chat.completions.create(request);
  const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined | null;
  let roleSeen = false;
  for await (const chunk of stream) {
    if (chunk.choices[0]?.delta.role === 'assistant') roleSeen = true;
    text += chunk.choices[0]?.delta.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    if (chunk.usage) usage = chunk.usage;
  }
  t.ok(roleSeen, 'the first chunk carries the role');
  t.equal(text, whole.choices[0].message.content);
  t.equal(text, ' A A A A A A');
  t.equal(finish, 'length');
  t.same(usage, whole.usage);
});

t.test('seed makes sampling at temperature > 0 repeatable', async (t) => {
  const request = { model: 'behaviour', messages: user('Say something'), max_tokens: 12, temperature: 2, top_p: 1, seed: 1234 };
  // Temperature 2 flattens the distribution; a penalty on repeats pushes the model off its word.
  const noisy = { ...request, frequency_penalty: 2, presence_penalty: 2 };
  const first = await client.chat.completions.create(noisy);
  const second = await client.chat.completions.create(noisy);
  t.equal(first.choices[0].message.content, second.choices[0].message.content);
  const other = await client.chat.completions.create({ ...noisy, seed: 99 });
  t.not(other.choices[0].message.content, ' W W W W W W W W W W W W', 'sampling really samples');
  t.not(first.choices[0].message.content, other.choices[0].message.content, 'another seed gives another text');
});

t.test('concurrent requests each equal their sequential run', async (t) => {
  const requests = ['behaviour', 'A', 'B', 'behaviour', 'A', 'B', 'A', 'behaviour'].map((model, i) => ({
    model,
    messages: user(`request ${i}`),
    max_tokens: 5,
    temperature: 0,
  }));
  const sequential: string[] = [];
  for (const request of requests) sequential.push((await client.chat.completions.create(request)).choices[0].message.content ?? '');
  const concurrent = await Promise.all(requests.map((r) => client.chat.completions.create(r)));
  t.same(concurrent.map((r) => r.choices[0].message.content), sequential);
  t.same(sequential.slice(0, 3), [' W W W W W', ' A A A A A', ' B B B B B']);
});

t.test('legacy completions run on the same engine', async (t) => {
  const response = await client.completions.create({ model: 'B', prompt: 'Once upon a time', max_tokens: 3, temperature: 0 });
  t.equal(response.choices[0].text, ' B B B');
  t.equal(response.choices[0].finish_reason, 'length');
  t.equal(response.usage?.prompt_tokens, 5, 'BOS + 4 tokens');
  const stream = await client.completions.create({ model: 'B', prompt: 'Once', max_tokens: 3, temperature: 0, stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
  t.equal(text, ' B B B');
});

t.test('models, health and the OpenAPI document', async (t) => {
  const list = await client.models.list();
  const ids = list.data.map((m) => m.id);
  t.same(ids, ['behaviour', 'A', 'B']);
  t.equal((list.data[1] as unknown as { parent: string }).parent, 'behaviour');
  const health = await fetch(`${server.url}/health`);
  t.equal(health.status, 200);
  t.match(await health.json(), { status: 'ok' });
  const openapi = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } };
  t.ok(openapi.paths['/v1/chat/completions'], 'documents chat completions');
  t.ok(Object.keys(openapi.components.schemas).some((name) => name.startsWith('ChatCompletionRequest')), 'named components');
  t.equal((await fetch(`${server.url}/docs/`)).status, 200);
});

const post = async (path: string, body: string) => {
  const { status, json } = await postJson(`${server.url}${path}`, body);
  return { status, body: json as { error: { message: string; type: string; param: string | null; code: string | null } } };
};

t.test('bad input gets the documented status and envelope, and the server keeps serving', async (t) => {
  const valid = { model: 'behaviour', messages: user('x'), max_tokens: 2 };
  const cases: Array<[string, string, number, string | null]> = [
    ['malformed JSON', '{"model": "behaviour", "messages": [', 400, null],
    ['missing messages', JSON.stringify({ model: 'behaviour' }), 400, 'messages'],
    ['messages of the wrong type', JSON.stringify({ model: 'behaviour', messages: 'hello' }), 400, 'messages'],
    ['a message without a role', JSON.stringify({ model: 'behaviour', messages: [{ content: 'x' }] }), 400, 'messages[0].role'],
    ['temperature out of range', JSON.stringify({ ...valid, temperature: 3 }), 400, 'temperature'],
    ['max_tokens of the wrong type', JSON.stringify({ ...valid, max_tokens: 'many' }), 400, 'max_tokens'],
    ['n > 1', JSON.stringify({ ...valid, n: 2 }), 400, 'n'],
    ['unknown model', JSON.stringify({ ...valid, model: 'no-such-adapter' }), 404, 'model'],
    ['unknown stacked adapter', JSON.stringify({ ...valid, lora: [{ name: 'nope', scale: 1 }] }), 404, 'lora'],
    ['prompt too long for the context', JSON.stringify({ ...valid, messages: user('word '.repeat(600)) }), 400, 'messages'],
    ['max_tokens beyond the context', JSON.stringify({ ...valid, max_tokens: 100000 }), 400, 'messages'],
  ];
  for (const [name, body, status, param] of cases) {
    const response = await post('/v1/chat/completions', body);
    t.equal(response.status, status, `${name}: status`);
    t.equal(response.body.error.param, param, `${name}: param`);
    t.type(response.body.error.message, 'string', `${name}: message`);
    t.type(response.body.error.type, 'string', `${name}: type`);
  }
  const overflow = await post('/v1/chat/completions', JSON.stringify({ ...valid, max_tokens: 100000 }));
  t.match(overflow.body.error.message, /over by \d+/, 'says by how much');
  const huge = await post('/v1/chat/completions', JSON.stringify({ ...valid, messages: user('x'.repeat(2 * 1024 * 1024)) }));
  t.equal(huge.status, 413);
  const unknownRoute = await fetch(`${server.url}/v1/nothing`);
  t.equal(unknownRoute.status, 404);
  t.match(await unknownRoute.json(), { error: { type: 'not_found_error' } });

  const notFound = await client.chat.completions.create({ model: 'nope', messages: user('x') }).catch((e: unknown) => e);
  t.ok(notFound instanceof OpenAI.NotFoundError, 'the openai client raises NotFoundError');
  const badRequest = await client.chat.completions.create({ model: 'behaviour', messages: user('x'), temperature: 9 }).catch((e: unknown) => e);
  t.ok(badRequest instanceof OpenAI.BadRequestError, 'the openai client raises BadRequestError');
  const after = await client.chat.completions.create({ model: 'behaviour', messages: user('still there?'), max_tokens: 2, temperature: 0 });
  t.equal(after.choices[0].message.content, ' W W', 'the server keeps serving');
});

t.test('a client that disconnects mid-stream frees its sequence', async (t) => {
  const controller = new AbortController();
  const stream = await client.chat.completions.create(
    { model: 'A', messages: user('long'), max_tokens: 400, temperature: 0, stream: true },
    { signal: controller.signal },
  );
  let chunks = 0;
  try {
    for await (const _chunk of stream) if (++chunks === 3) controller.abort();
  } catch {
    // the client reports its own abort
  }
  t.equal(chunks, 3);
  const busy = () => server.engine.pool.residentSets.reduce((sum, set) => sum + set.busy, 0);
  await waitFor(() => busy() === 0, { what: 'no sequence busy after the client left' });
  t.equal(busy(), 0, 'no sequence stays busy after the client left');
  const followUps = await Promise.all(
    [1, 2, 3, 4].map(() => client.chat.completions.create({ model: 'A', messages: user('next'), max_tokens: 2, temperature: 0 })),
  );
  t.same(followUps.map((r) => r.choices[0].message.content), [' A A', ' A A', ' A A', ' A A']);
});
