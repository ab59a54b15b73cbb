import { createHash } from 'node:crypto';

/**
 * A deterministic random source: SHA-256 of (seed, block counter) in counter mode. The same seed
 * always yields the same sequence, which is what makes pseudonyms repeatable across restarts.
 */
export class SeededRandom {
  private readonly seed: Uint8Array;
  private pool = Buffer.alloc(0);
  private blocks = 0;

  constructor(seed: Uint8Array) {
    this.seed = seed;
  }

  bytes(count: number): Buffer {
    while (this.pool.length < count) {
      const counter = Buffer.alloc(4);
      counter.writeUInt32BE(this.blocks++);
      this.pool = Buffer.concat([this.pool, createHash('sha256').update(this.seed).update(counter).digest()]);
    }
    const out = this.pool.subarray(0, count);
    this.pool = this.pool.subarray(count);
    return out;
  }

  /** Uniform integer in [0, bound), by rejection so that no value is favoured. */
  below(bound: number): number {
    if (!Number.isInteger(bound) || bound < 1 || bound > 2 ** 32) throw new RangeError(`bad bound ${bound}`);
    const limit = 2 ** 32 - (2 ** 32 % bound);
    for (;;) {
      const value = this.bytes(4).readUInt32BE();
      if (value < limit) return value % bound;
    }
  }

  /** Uniform integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.below(max - min + 1);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }

  /** `count` characters drawn from `alphabet`. */
  string(alphabet: string, count: number): string {
    let out = '';
    for (let i = 0; i < count; i++) out += alphabet[this.below(alphabet.length)];
    return out;
  }
}
