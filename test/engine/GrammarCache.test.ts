import t from 'tap';
import { GrammarCache } from '../../src/engine/GrammarCache.js';
import { getTestLlama } from '../helpers/testLlama.js';

const llama = await getTestLlama();
t.teardown(() => llama.dispose());

/** A grammar of about `size` bytes of text, distinct per `id`. */
const grammarOf = (id: number, size: number) => `root ::= "${id}-" [a-z]{0,9} "${'x'.repeat(size)}"\n`;

t.test('bounded by bytes: many distinct grammars keep at most the budget, the most recently used first', async (t) => {
  const cache = new GrammarCache(llama, { fastForward: true, maxBytes: 1024 * 1024 });
  await cache.compile(grammarOf(0, 10_000));
  for (let id = 1; id <= 100; id++) {
    await cache.compile(grammarOf(id, 10_000));
    if (cache.bytes > 1024 * 1024) t.fail(`${cache.bytes} bytes kept after ${id} grammars`);
  }
  t.ok(cache.size > 1 && cache.size < 100, `some are kept (${cache.size}), not all`);
  const recent = grammarOf(100, 10_000);
  t.equal(await cache.compile(recent), await cache.compile(recent), 'the latest is served from the cache');
  t.ok((await cache.compile(recent)).start, 'with its jump-forward reading');
});

t.test('a grammar costing more than the whole budget is compiled for its request and not kept', async (t) => {
  const cache = new GrammarCache(llama, { fastForward: true, maxBytes: 64 * 1024 });
  const large = grammarOf(1, 200_000);
  const compiled = await cache.compile(large);
  t.ok(compiled.native, 'compiled');
  t.equal(cache.size, 0, 'not kept');
  t.equal(cache.bytes, 0);
  const none = new GrammarCache(llama, { fastForward: false, maxBytes: 0 });
  await none.compile(grammarOf(2, 10));
  t.equal(none.size, 0, 'a budget of 0 keeps nothing');
});

t.test('a failed compile leaves nothing behind', async (t) => {
  const cache = new GrammarCache(llama, { fastForward: true, maxBytes: 1024 * 1024 });
  await t.rejects(cache.compile('root ::= missing-rule\n'), { name: 'GrammarError' });
  t.equal(cache.size, 0, 'no entry');
  t.equal(cache.bytes, 0, 'no bytes counted');
});
