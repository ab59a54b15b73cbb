/**
 * Runs `work` on every item of `source` with at most `concurrency` calls at once and yields the results in
 * source order. At most `window` items are started and not yet yielded, so one slow item holds back a bounded
 * number of finished ones instead of the whole source being read ahead. A rejected call is thrown when its
 * turn to be yielded comes.
 */
export async function* mapOrdered<T, R>(
  source: Iterable<T> | AsyncIterable<T>,
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
  window = Math.max(1, concurrency) * 4,
): AsyncGenerator<R> {
  const iterator = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  const limit = new ConcurrencyLimit(concurrency);
  const started: Array<Promise<R>> = [];
  let index = 0;
  let exhausted = false;
  for (;;) {
    while (!exhausted && started.length < window) {
      const next = await iterator.next();
      if (next.done) exhausted = true;
      else started.push(handled(limit.run(work, next.value, index++)));
    }
    const head = started.shift();
    if (!head) return;
    yield await head;
  }
}

// Results wait in `started` until their turn; a rejection must not count as unhandled before then.
function handled<R>(promise: Promise<R>): Promise<R> {
  promise.catch(() => undefined);
  return promise;
}

class ConcurrencyLimit {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T, R>(work: (item: T, index: number) => Promise<R>, item: T, index: number): Promise<R> {
    // A finishing call hands its slot straight to the next waiter, so no newcomer can slip in between.
    if (this.running >= Math.max(1, this.limit)) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await work(item, index);
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
