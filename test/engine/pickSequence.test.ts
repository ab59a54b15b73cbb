import t from 'tap';
import { pickSequence, WORTHWHILE_PREFIX, type SequenceCandidate } from '../../src/engine/ContextPool.js';

// Which free sequence of the shared context a request runs on: a worthwhile cached prefix of its own adapter set
// first, then the one that keeps the running ids closest, then an empty sequence before another set's cache.
const other = (id: number): SequenceCandidate => ({ id, cachedPrefix: undefined, empty: false });
const empty = (id: number): SequenceCandidate => ({ id, cachedPrefix: undefined, empty: true });
const own = (id: number, cachedPrefix: number): SequenceCandidate => ({ id, cachedPrefix, empty: false });

t.test('a long prefix of its own set wins wherever it lies', async (t) => {
  t.equal(pickSequence([empty(9), own(2, 1400), empty(10)], [8, 11]), 1);
  t.equal(pickSequence([own(2, 300), own(12, 1400)], [8]), 1, 'the longer of two');
});

t.test('a short prefix counts as none, so the sequence next to the running ones wins', async (t) => {
  // The bench's mixed workload: one set had a 20-token chat-template prefix at id 2, the others ran at 8-14.
  t.equal(pickSequence([own(2, 20), empty(15)], [8, 9, 10, 11, 12, 13, 14]), 1);
  t.equal(pickSequence([own(2, WORTHWHILE_PREFIX), empty(15)], [8, 14]), 0, 'at the threshold the prefix wins');
});

t.test('otherwise the least widening of the running range, then an empty sequence before another set\'s cache', async (t) => {
  t.equal(pickSequence([empty(12), other(7)], [4, 6]), 1, "another set's cache next to the running ones before a far empty one");
  t.equal(pickSequence([other(3), empty(7)], [4, 6]), 1, "equally close: the empty one, keeping the other set's prompt");
  t.equal(pickSequence([empty(12), empty(8), empty(3)], [4, 6]), 2, 'of the empty ones, the closest');
  t.equal(pickSequence([empty(9), empty(3)], []), 0, 'nothing running: the one free longest');
});

t.test('without a shared context (a context per adapter set) only the prefix counts', async (t) => {
  t.equal(pickSequence([own(0, 20), own(1, 30), own(2, 30)]), 1, 'the longest prefix, the first of equals');
});
