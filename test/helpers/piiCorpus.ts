// A seeded corpus of documents with planted PII that rules can validate, and planted near-misses that
// look the same but fail their check (a wrong Luhn or IBAN digit, a broken base58/EIP-55 checksum, an
// impossible octet). Values are built from the check-digit algorithms, so each is valid by construction.
import { base58checkEncode } from '../../src/redaction/rules/base58check.js';
import { encodeSegwitAddress } from '../../src/redaction/rules/bech32.js';
import { ibanCheckDigits, luhnCheckDigit } from '../../src/redaction/rules/checksums.js';
import { eip55Checksummed } from '../../src/redaction/rules/keccak256.js';
import { SeededRandom } from '../../src/redaction/pseudonyms/SeededRandom.js';

export interface Planted {
  value: string;
  label: string;
}

export interface CorpusDocument {
  text: string;
  valid: Planted[];
  nearMisses: string[];
}

type Maker = (r: Random) => string;

class Random {
  private readonly source: SeededRandom;
  constructor(seed: string) {
    this.source = new SeededRandom(Buffer.from(seed));
  }
  int(min: number, max: number): number {
    return this.source.between(min, max);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.source.below(items.length)];
  }
  digits(count: number): string {
    return Array.from({ length: count }, () => String(this.int(0, 9))).join('');
  }
  hex(count: number): string {
    return Array.from({ length: count }, () => '0123456789abcdef'[this.int(0, 15)]).join('');
  }
  letters(count: number): string {
    return Array.from({ length: count }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[this.int(0, 25)]).join('');
  }
  bytes(count: number): Uint8Array {
    return Uint8Array.from({ length: count }, () => this.int(0, 255));
  }
}

const WORDS = ['amber', 'birch', 'cobalt', 'delta', 'ember', 'fjord', 'garnet', 'harbor'];
const group4 = (digits: string) => digits.replace(/(.{4})(?=.)/g, '$1 ');
// Changing only the check digit breaks Luhn whatever the rest is.
const bumpLast = (digits: string) => digits.slice(0, -1) + String((Number(digits.at(-1)) + 1) % 10);

function card(r: Random): string {
  const kind = r.pick(['visa', 'mastercard', 'amex'] as const);
  const payload = kind === 'visa' ? `4${r.digits(14)}` : kind === 'mastercard' ? `5${r.int(1, 5)}${r.digits(13)}` : `3${r.pick(['4', '7'])}${r.digits(12)}`;
  const number = payload + luhnCheckDigit(payload);
  return kind !== 'amex' && r.int(0, 1) === 1 ? group4(number) : number;
}

function imei(r: Random): string {
  const payload = `35${r.digits(12)}`;
  return payload + luhnCheckDigit(payload);
}

const IBAN_BBANS: Record<string, (r: Random) => string> = {
  DE: (r) => r.digits(18),
  GB: (r) => `${r.letters(4)}${r.digits(14)}`,
  NL: (r) => `${r.letters(4)}${r.digits(10)}`,
  FR: (r) => r.digits(23),
};

function ibanParts(r: Random): [country: string, check: string, bban: string] {
  const country = r.pick(Object.keys(IBAN_BBANS));
  const bban = IBAN_BBANS[country](r);
  return [country, ibanCheckDigits(country, bban), bban];
}

function iban(r: Random): string {
  const [country, check, bban] = ibanParts(r);
  const compact = `${country}${check}${bban}`;
  return r.int(0, 1) === 1 ? group4(compact) : compact;
}

// Compact, so the digits of a broken IBAN are not a separate digit run that a card window could match.
function ibanNearMiss(r: Random): string {
  const [country, check, bban] = ibanParts(r);
  const wrong = String((Number(check) + r.int(1, 90)) % 97).padStart(2, '0');
  return `${country}${wrong === check ? '01' : wrong}${bban}`;
}

const email: Maker = (r) => `${r.pick(WORDS)}.${r.pick(WORDS)}${r.int(1, 999)}@${r.pick(['example.com', 'mail.example.org', 'corp.example.net'])}`;
const ipv4: Maker = (r) => `${r.int(1, 223)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`;
const ipv6: Maker = (r) => `2001:db8:${r.hex(4)}:${r.int(1, 9)}${r.hex(3)}::${r.int(1, 9)}${r.hex(2)}`;
const mac: Maker = (r) => Array.from({ length: 6 }, () => r.hex(2)).join(r.pick([':', '-']));
const url: Maker = (r) => `https://${r.pick(WORDS)}.example.com/${r.pick(WORDS)}/${r.int(1, 9999)}?ref=${r.pick(WORDS)}`;
const ethereum: Maker = (r) => `0x${eip55Checksummed(r.hex(40))}`;

const bitcoin: Maker = (r) =>
  r.int(0, 1) === 1 ? base58checkEncode(r.pick([0x00, 0x05]), r.bytes(20)) : encodeSegwitAddress({ hrp: 'bc', version: 0, program: r.bytes(20) });
const litecoin: Maker = (r) =>
  r.int(0, 1) === 1 ? base58checkEncode(r.pick([0x30, 0x32]), r.bytes(20)) : encodeSegwitAddress({ hrp: 'ltc', version: 0, program: r.bytes(20) });

/** One base58 character changed: the 4-byte checksum no longer matches. */
function brokenBase58(r: Random, address: string): string {
  const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
  const at = r.int(5, address.length - 2);
  const replacement = alphabet[(alphabet.indexOf(address[at]) + r.int(1, 50)) % alphabet.length];
  return address.slice(0, at) + replacement + address.slice(at + 1);
}

/** One letter's case flipped in an EIP-55 address: mixed case that is not the checksum. */
function brokenEthereum(r: Random): string {
  for (;;) {
    const address = ethereum(r);
    const letters = [...address.slice(2)].map((ch, i) => (/[a-fA-F]/.test(ch) ? i + 2 : -1)).filter((i) => i >= 0);
    const at = r.pick(letters);
    const ch = address[at];
    const broken = address.slice(0, at) + (ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase()) + address.slice(at + 1);
    // All one case would be valid again (no checksum to check).
    if (/[a-f]/.test(broken.slice(2)) && /[A-F]/.test(broken.slice(2))) return broken;
  }
}

export const PLANTED_KINDS: ReadonlyArray<[label: string, make: Maker]> = [
  ['EMAIL', email],
  ['IBAN', iban],
  ['CREDITCARDNUMBER', card],
  ['PHONEIMEI', imei],
  ['IPV4', ipv4],
  ['IPV6', ipv6],
  ['MAC', mac],
  ['URL', url],
  ['ETHEREUMADDRESS', ethereum],
  ['BITCOINADDRESS', bitcoin],
  ['LITECOINADDRESS', litecoin],
];

const NEAR_MISSES: ReadonlyArray<[why: string, make: Maker]> = [
  ['card with a wrong Luhn digit', (r) => bumpLast(card(r).replace(/ /g, ''))],
  ['IMEI with a wrong Luhn digit', (r) => bumpLast(imei(r))],
  ['IBAN with wrong check digits', ibanNearMiss],
  ['e-mail with a double dot', (r) => `${r.pick(WORDS)}..${r.pick(WORDS)}@example.com`],
  ['IPv4 with an octet over 255', (r) => `${r.int(256, 999)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`],
  ['MAC with mixed separators', (r) => `${r.hex(2)}:${r.hex(2)}-${r.hex(2)}:${r.hex(2)}:${r.hex(2)}:${r.hex(2)}`],
  ['URL on a single-label host', (r) => `https://${r.pick(WORDS)}intranet/${r.pick(WORDS)}`],
  ['Ethereum address with a broken EIP-55 checksum', brokenEthereum],
  ['Bitcoin address with a broken checksum', (r) => brokenBase58(r, base58checkEncode(0x00, r.bytes(20)))],
  ['Litecoin address with a broken checksum', (r) => brokenBase58(r, base58checkEncode(0x30, r.bytes(20)))],
];

const SENTENCES = [
  (v: string) => `Please use ${v} for the follow-up.`,
  (v: string) => `The record lists ${v} as on file.`,
  (v: string) => `Noted: ${v} (from the form).`,
  (v: string) => `We received ${v} yesterday, see attached`,
];

/** `count` documents, each with 2-4 valid values and 1-2 near-misses, the same for the same seed. */
export function piiCorpus(count: number, seed = 'adaptd-corpus'): CorpusDocument[] {
  const r = new Random(seed);
  return Array.from({ length: count }, (_, index) => {
    const valid = Array.from({ length: r.int(2, 4) }, (): Planted => {
      const [label, make] = PLANTED_KINDS[(index + r.int(0, PLANTED_KINDS.length - 1)) % PLANTED_KINDS.length];
      return { label, value: make(r) };
    });
    const nearMisses = Array.from({ length: r.int(1, 2) }, () => r.pick(NEAR_MISSES)[1](r));
    const parts = [...valid.map((p) => p.value), ...nearMisses].map((value) => r.pick(SENTENCES)(value));
    for (let i = parts.length - 1; i > 0; i--) {
      const j = r.int(0, i);
      [parts[i], parts[j]] = [parts[j], parts[i]];
    }
    return { text: `Ticket ${index + 1}. ${parts.join(' ')}`, valid, nearMisses };
  });
}

/** Every planted kind at least once, then the seeded mix. */
export function coveringCorpus(count: number, seed?: string): CorpusDocument[] {
  const corpus = piiCorpus(count, seed);
  const missing = PLANTED_KINDS.filter(([label]) => !corpus.some((doc) => doc.valid.some((p) => p.label === label)));
  if (missing.length > 0) throw new Error(`corpus of ${count} lacks ${missing.map(([l]) => l).join(', ')}: use more documents`);
  return corpus;
}
