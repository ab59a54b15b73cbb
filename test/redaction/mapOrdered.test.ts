import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { mapOrdered } from '../../src/redaction/mapOrdered.js';

async function* slowSource(count: number) {
  for (let i = 0; i < count; i++) {
    await sleep(1);
    yield i;
  }
}

t.test('results come in source order, with at most `concurrency` calls at once', async (t) => {
  let running = 0;
  let most = 0;
  const results: number[] = [];
  for await (const value of mapOrdered(slowSource(40), 3, async (item, index) => {
    t.equal(item, index, 'the index is the position in the source');
    most = Math.max(most, ++running);
    await sleep((item * 7) % 11);
    running--;
    return item * 2;
  })) {
    results.push(value);
  }
  t.same(results, Array.from({ length: 40 }, (_, i) => i * 2));
  t.equal(most, 3, 'never more than three running');
});

t.test('the source is read only a bounded window ahead of what was yielded', async (t) => {
  let read = 0;
  function* counting() {
    for (let i = 0; i < 1000; i++) {
      read++;
      yield i;
    }
  }
  const iterator = mapOrdered(counting(), 2, async (item) => item, 8);
  await iterator.next();
  t.ok(read <= 9, `read ${read} items for one result`);
  await iterator.return(undefined);
});

t.test('a failure is thrown at its turn; earlier results come first and later ones never', async (t) => {
  const seen: number[] = [];
  const run = async () => {
    for await (const value of mapOrdered([0, 1, 2, 3, 4], 5, async (item) => {
      if (item === 2) throw new Error('item 2 failed');
      await sleep(item === 0 ? 20 : 1);
      return item;
    })) {
      seen.push(value);
    }
  };
  await t.rejects(run, /item 2 failed/);
  t.same(seen, [0, 1]);
});
