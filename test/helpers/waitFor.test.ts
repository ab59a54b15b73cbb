import t from 'tap';
import { waitFor } from './waitFor.js';

t.test('returns the first value that meets the condition, polling until then', async (t) => {
  let calls = 0;
  const value = await waitFor(async () => (++calls >= 3 ? { calls } : undefined), { what: 'three calls', intervalMs: 1 });
  t.same(value, { calls: 3 });
  t.equal(await waitFor(() => 0, { what: 'zero' }), 0, 'zero and the empty string are values, not "not yet"');
});

t.test('fails naming what it waited for once the deadline has passed', async (t) => {
  const started = Date.now();
  await t.rejects(waitFor(() => false, { what: 'the moon', timeoutMs: 50, intervalMs: 5 }), /timed out after 50 ms waiting for the moon/);
  t.ok(Date.now() - started >= 50, 'not before the deadline');
});

t.test('an error thrown by the probe ends the wait at once', async (t) => {
  await t.rejects(waitFor(() => { throw new Error('exited'); }, { what: 'never' }), /exited/);
});
