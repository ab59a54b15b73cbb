import t from 'tap';
import { shareBatch } from '../../src/engine/DecodeLoop.js';

// How the batch loop splits a batch between the sequences that have tokens to evaluate.

t.test('everything fits: each request gets all its tokens', async (t) => {
  t.same(shareBatch([1, 1, 3, 40], 512), [1, 1, 3, 40]);
});

t.test('a long prompt takes what the one-token steps of generating sequences leave', async (t) => {
  t.same(shareBatch([1, 1400, 1, 1], 512), [1, 509, 1, 1]);
});

t.test('two long prompts share the batch evenly, a short one first gets all of its own', async (t) => {
  t.same(shareBatch([1000, 30, 1000], 512), [241, 30, 241]);
  t.equal(
    shareBatch([1000, 30, 1000], 512).reduce((a, b) => a + b, 0),
    512,
    'the batch is filled',
  );
});

t.test('more requests than room: the shortest get one token each, the batch is never overfilled', async (t) => {
  const shares = shareBatch([5, 1, 1, 9, 1], 3);
  t.same(shares, [0, 1, 1, 0, 1]);
  t.ok(shareBatch([7, 7, 7, 7], 2).reduce((a, b) => a + b, 0) <= 2);
});
