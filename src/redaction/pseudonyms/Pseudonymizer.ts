import { createHmac } from 'node:crypto';
import { fakeGeneratorFor } from './fakeGenerators.js';
import { RedactionInputError } from '../redactionErrors.js';
import { SeededRandom } from './SeededRandom.js';

/** Where `pseudonymize` mode gets its fakes: a Pseudonymizer, or a RedactionVault that also records them. */
export interface PseudonymSource {
  pseudonymize(value: string, piiType: string): string;
}

// A value whose every candidate equals itself (a one-word vocabulary, say) must still end.
const MAX_CANDIDATES = 64;
export const MIN_KEY_BYTES = 16;

/**
 * Deterministic fakes: HMAC-SHA256(key, type + value + attempt) seeds a generator of the
 * category's shape. The same key gives the same fake for the same (value, type) in every process;
 * without the key the fake reveals nothing about the value.
 */
export class Pseudonymizer implements PseudonymSource {
  private readonly key: Buffer;

  constructor(key: string | Uint8Array) {
    this.key = Buffer.from(key);
    if (this.key.length < MIN_KEY_BYTES) {
      throw new RedactionInputError(`the pseudonymisation key must be at least ${MIN_KEY_BYTES} bytes`);
    }
  }

  pseudonymize(value: string, piiType: string): string {
    for (const fake of this.candidates(value, piiType)) return fake;
    return `[${piiType}]`;
  }

  /**
   * The fakes for this value in order of preference, each different from the value. A vault
   * takes the first that no other value uses yet.
   */
  *candidates(value: string, piiType: string): Generator<string> {
    const generate = fakeGeneratorFor(piiType);
    for (let attempt = 0; attempt < MAX_CANDIDATES; attempt++) {
      const fake = generate(value, new SeededRandom(this.seed(value, piiType, attempt)), attempt);
      if (fake.toLowerCase() !== value.toLowerCase()) yield fake;
    }
  }

  private seed(value: string, piiType: string, attempt: number): Buffer {
    return createHmac('sha256', this.key).update(JSON.stringify([piiType, value, attempt])).digest();
  }
}
