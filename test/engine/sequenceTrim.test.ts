import t from 'tap';
import { ensureTestModels } from '../../scripts/generate-test-models.js';
import { metricSum, scrapeMetrics } from '../helpers/metrics.js';
import { startTestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

// A request that lands on a used sequence first trims its cache to the new prompt. node-llama-cpp trims under the
// context's lock, which adaptd's batch loop holds while any sequence keeps generating; a trim asks the loop to let
// go of it after the step running now, instead of letting the newcomer wait for all of them to finish.
const models = ensureTestModels();
const server = await startTestServer({ model: models.behaviourModel, 'model-id': 'base', 'context-size': 1024, parallel: 3 });
t.teardown(() => server.close());

const ask = (content: string, max_tokens: number) =>
  server.client.chat.completions.create({ model: 'base', messages: [{ role: 'user', content }], max_tokens, temperature: 0 });

t.test('a request arriving while another generates starts at once, though its sequence must be trimmed', async (t) => {
  // Every sequence now holds a cache that the next prompts share only in part.
  await Promise.all([ask('first warm-up note', 3), ask('second warm-up note, a little longer', 3), ask('third warm-up', 3)]);

  const finished: string[] = [];
  // Two of them, not streamed: with nothing to write between tokens, one's next decode is queued while the
  // other's token is still being sampled, so the batch loop never runs dry on its own.
  const long = Promise.all([ask('a long answer, please', 400), ask('another long answer', 400)]).then(([answer]) => {
    finished.push('long');
    return answer;
  });
  // Both are generating once each has produced its first text (the three warm-ups account for three).
  const firstTokens = async () => metricSum(await scrapeMetrics(server.url), 'adaptd_time_to_first_token_seconds_count');
  await waitFor(async () => (await firstTokens()) >= 5, { what: 'both long answers generating', intervalMs: 5 });
  const short = ask('a different, short question', 2).then((answer) => {
    finished.push('short');
    return answer;
  });
  const [longAnswer, shortAnswer] = await Promise.all([long, short]);
  t.equal(longAnswer.usage?.completion_tokens, 400, 'the long answer was generated in full');
  t.equal(shortAnswer.choices[0].finish_reason, 'length', 'the short request was answered');
  t.same(finished, ['short', 'long'], 'the short request finished while the long one was still generating');
});
