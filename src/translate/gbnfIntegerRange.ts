/** The largest magnitude a generated integer has: 16 digits, so a sampler cannot grow a number forever. */
export const MAX_INTEGER_DIGITS = 16;
export const LARGEST_INTEGER = 10n ** BigInt(MAX_INTEGER_DIGITS) - 1n;

/**
 * A GBNF expression for the decimal integers in [min, max] that have at most MAX_INTEGER_DIGITS digits, in JSON's
 * spelling (no leading zeros, "-" only on negatives). A bound further out (`1e300`) is clamped, which also keeps
 * the expression small. Returns undefined when no such integer is in the range.
 */
export function gbnfIntegerRange(min: bigint | undefined, max: bigint | undefined): string | undefined {
  const low = min === undefined || min < -LARGEST_INTEGER ? -LARGEST_INTEGER : min;
  const high = max === undefined || max > LARGEST_INTEGER ? LARGEST_INTEGER : max;
  if (low > high) return undefined;

  const alternatives: string[] = [];
  if (low < 0n) {
    const magnitudes = nonNegativeRange(high < 0n ? -high : 1n, -low);
    alternatives.push(`"-" ${group(magnitudes)}`);
  }
  if (high >= 0n) alternatives.push(...nonNegativeRange(low > 0n ? low : 0n, high));
  return group(alternatives);
}

function group(alternatives: string[]): string {
  return alternatives.length === 1 && !alternatives[0].includes('|') ? alternatives[0] : `(${alternatives.join(' | ')})`;
}

/** Alternatives for [low, high], low ≥ 0, split by digit count so that only "0" starts with a zero. */
function nonNegativeRange(low: bigint, high: bigint): string[] {
  const alternatives: string[] = [];
  const lowDigits = low.toString().length;
  const highDigits = high.toString().length;
  for (let digits = lowDigits; digits <= highDigits; digits++) {
    const from = digits === lowDigits ? low : 10n ** BigInt(digits - 1);
    const to = digits === highDigits ? high : 10n ** BigInt(digits) - 1n;
    alternatives.push(...sameLengthRange(from.toString(), to.toString()));
  }
  return alternatives;
}

const anyDigits = (count: number) => (count === 0 ? '' : count === 1 ? '[0-9]' : `[0-9]{${count}}`);
const digitClass = (from: number, to: number) => (from === to ? `"${from}"` : `[${from}-${to}]`);
const join = (...parts: string[]) => parts.filter((part) => part !== '').join(' ');

/** Alternatives for the digit strings between `from` and `to`, which have the same length. */
function sameLengthRange(from: string, to: string): string[] {
  if (from === to) return [`"${from}"`];
  const rest = from.length - 1;
  const first = Number(from[0]);
  const last = Number(to[0]);
  if (first === last) return [join(`"${from[0]}"`, group(sameLengthRange(from.slice(1), to.slice(1))))];

  const alternatives: string[] = [];
  // A partial first block (from..x99) and a partial last block (y00..to); the full blocks in between are free.
  const fromIsBlockStart = /^0*$/.test(from.slice(1));
  const toIsBlockEnd = /^9*$/.test(to.slice(1));
  const fullFrom = fromIsBlockStart ? first : first + 1;
  const fullTo = toIsBlockEnd ? last : last - 1;
  if (!fromIsBlockStart) alternatives.push(join(`"${first}"`, group(sameLengthRange(from.slice(1), '9'.repeat(rest)))));
  if (fullFrom <= fullTo) alternatives.push(join(digitClass(fullFrom, fullTo), anyDigits(rest)));
  if (!toIsBlockEnd) alternatives.push(join(`"${last}"`, group(sameLengthRange('0'.repeat(rest), to.slice(1)))));
  return alternatives;
}
