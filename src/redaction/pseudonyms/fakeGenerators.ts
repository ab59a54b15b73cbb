// One generator per category: given the original and a seeded random source, a fake of the same
// kind and shape. Structured values are rebuilt so that they pass the rules detectors' validators
// (Luhn, mod-97, check digits, checksummed addresses); free text is drawn from word lists.
import { base58checkEncode } from '../rules/base58check.js';
import { decodeSegwitAddress, encodeSegwitAddress } from '../rules/bech32.js';
import { ibanCheckDigits, luhnCheckDigit, vinCheckDigit } from '../rules/checksums.js';
import * as words from './fakeVocabulary.js';
import { eip55Checksummed } from '../rules/keccak256.js';
import { isBicShaped, isValidIpv4, isValidIpv6, isValidMac } from '../rules/piiValidators.js';
import type { SeededRandom } from './SeededRandom.js';

/** `attempt` counts retries for this value; generators with a small vocabulary widen it as it grows. */
export type FakeGenerator = (original: string, random: SeededRandom, attempt: number) => string;

const DIGITS = '0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const HEX = '0123456789abcdef';
const PASSWORD_SYMBOLS = '!#$%&*+-=?@^_~';
const VIN_ALPHABET = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789';
const VIN_LETTERS = 'ABCDEFGHJKLMNPRSTUVWXYZ';
// After this many taken candidates, names become double names ("Anna-Lukas") to widen the space.
const DOUBLE_NAME_AFTER_ATTEMPTS = 4;

// ---- shape helpers -------------------------------------------------------------------------

/**
 * Each digit replaced by a random digit. A number's leading digit keeps its kind: a leading zero
 * (trunk prefix, postcode) stays, a non-zero one stays non-zero.
 */
export function reshapeDigits(original: string, random: SeededRandom): string {
  return original.replace(/\d+/g, (run) => fillDigits(run, random));
}

function fillDigits(run: string, random: SeededRandom): string {
  if (run.length === 1) return random.string(DIGITS, 1);
  const first = run[0] === '0' ? '0' : random.string('123456789', 1);
  return first + random.string(DIGITS, run.length - 1);
}

/** Digits as reshapeDigits, letters → letters of the same case; other characters kept (or, for passwords, replaced). */
export function reshape(original: string, random: SeededRandom, replaceSymbols = false): string {
  return [...reshapeDigits(original, random)]
    .map((ch) => {
      if (/[A-Z]/.test(ch)) return random.string(UPPER, 1);
      if (/\p{L}/u.test(ch)) return random.string(LOWER, 1);
      return replaceSymbols && /[^\s\d]/.test(ch) ? random.string(PASSWORD_SYMBOLS, 1) : ch;
    })
    .join('');
}

/** Writes `digits` into the digit positions of `template`, keeping its separators. */
function intoDigitPositions(template: string, digits: string): string {
  let next = 0;
  return template.replace(/\d/g, () => digits[next++]);
}

/** The word written the way the original is: all capitals, all lower case, or as listed. */
export function inCaseOf(original: string, word: string): string {
  const letters = original.replace(/\P{L}/gu, '');
  if (letters.length > 1 && letters === letters.toUpperCase()) return word.toUpperCase();
  if (letters.length > 0 && letters === letters.toLowerCase()) return word.toLowerCase();
  return word;
}

function fromList(list: readonly string[]): FakeGenerator {
  return (original, random) => inCaseOf(original, random.pick(list));
}

function personName(list: readonly string[]): FakeGenerator {
  return (original, random, attempt) => {
    const name = random.pick(list);
    return inCaseOf(original, attempt < DOUBLE_NAME_AFTER_ATTEMPTS ? name : `${name}-${random.pick(list)}`);
  };
}

function placeName(random: SeededRandom): string {
  return random.pick(words.PLACE_STARTS) + random.pick(words.PLACE_ENDINGS);
}

const padded = (value: number, width: number) => String(value).padStart(width, '0');

/** Maps a value drawn from a range one shorter onto the range without `excluded`. */
const skipping = (value: number, excluded: number) => (value >= excluded ? value + 1 : value);

// ---- payment and bank ----------------------------------------------------------------------

// Keeps the length, grouping and the first two digits (the card network, not personal), new Luhn digit.
const cardNumber: FakeGenerator = (original, random) => {
  const digits = original.replace(/\D/g, '');
  if (digits.length < 13 || digits.length > 19) return reshapeDigits(original, random);
  const payload = digits.slice(0, 2) + random.string(DIGITS, digits.length - 3);
  return intoDigitPositions(original, payload + luhnCheckDigit(payload));
};

const imei: FakeGenerator = (original, random) => {
  const digits = original.replace(/\D/g, '');
  if (digits.length !== 15) return reshapeDigits(original, random);
  const payload = digits.slice(0, 2) + random.string(DIGITS, 12);
  return intoDigitPositions(original, payload + luhnCheckDigit(payload));
};

// Same country, length, grouping and letter/digit pattern; fresh check digits.
const iban: FakeGenerator = (original, random) => {
  const compact = original.replace(/[ -]/g, '');
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(compact)) return reshape(original, random);
  const country = compact.slice(0, 2);
  const bban = reshape(compact.slice(4), random);
  let next = 0;
  const fresh = country + ibanCheckDigits(country, bban) + bban;
  return original.replace(/[A-Z0-9]/g, () => fresh[next++]);
};

// New bank code and location, same country; a digit in the location marks it as a BIC even without context.
const bic: FakeGenerator = (original, random) => {
  if (!isBicShaped(original)) return reshape(original, random);
  const location = random.string(UPPER, 1) + random.string('23456789', 1);
  const branch = original.length === 11 ? (original.endsWith('XXX') ? 'XXX' : random.string(UPPER + DIGITS, 3)) : '';
  return random.string(UPPER, 4) + original.slice(4, 6) + location + branch;
};

// ---- network and web -----------------------------------------------------------------------

const email: FakeGenerator = (original, random) => {
  const local = `${random.pick(words.FIRST_NAMES)}.${random.pick(words.LAST_NAMES)}${random.below(10_000)}`;
  return `${local.toLowerCase()}@${random.pick(words.EMAIL_DOMAINS)}`;
};

// Hosts under the reserved .example domain (RFC 2606) so a fake never points at a real site.
const url: FakeGenerator = (original, random) => {
  const scheme = /^[a-z]+:\/\//i.exec(original)?.[0] ?? '';
  const www = /^(?:[a-z]+:\/\/)?www\./i.test(original) ? 'www.' : '';
  const host = `${placeName(random).toLowerCase()}-${random.below(1000)}.example`;
  const hasPath = /^(?:[a-z]+:\/\/)?[^/]+\/./i.test(original);
  return `${scheme}${www}${host}${hasPath ? `/${random.string(LOWER + DIGITS, 8)}` : ''}`;
};

// Public unicast range: first octet 1..223 without loopback.
const ipv4: FakeGenerator = (_original, random) => {
  const first = skipping(random.between(1, 222), 127);
  return [first, random.below(256), random.below(256), random.below(256)].join('.');
};

const ipv6: FakeGenerator = (original, random) => {
  const groups = Array.from({ length: 8 }, () => random.below(0x10000).toString(16));
  const address = groups.join(':');
  return /[A-F]/.test(original) && !/[a-f]/.test(original) ? address.toUpperCase() : address;
};

const ip: FakeGenerator = (original, random, attempt) => {
  if (isValidIpv4(original)) return ipv4(original, random, attempt);
  if (isValidIpv6(original)) return ipv6(original, random, attempt);
  return reshapeDigits(original, random);
};

// Locally administered unicast address, in the original's notation and case.
const mac: FakeGenerator = (original, random) => {
  if (!isValidMac(original)) return reshape(original, random);
  const bytes = [...random.bytes(6)];
  bytes[0] = (bytes[0] & 0xfc) | 0x02;
  const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
  const formatted = original.includes('.')
    ? hex.match(/.{4}/g)!.join('.')
    : hex.match(/.{2}/g)!.join(original.includes('-') ? '-' : ':');
  return /[A-F]/.test(original) ? formatted.toUpperCase() : formatted;
};

const userAgent: FakeGenerator = (_original, random) =>
  random
    .pick(words.USER_AGENT_TEMPLATES)
    .replace(/\{major\}/g, String(random.between(90, 130)))
    .replace('{minor}', String(random.between(0, 7)))
    .replace('{build}', String(random.between(1000, 6999)))
    .replace('{patch}', String(random.between(10, 199)));

const username: FakeGenerator = (_original, random) => {
  const first = random.pick(words.FIRST_NAMES).toLowerCase();
  const last = random.pick(words.LAST_NAMES).toLowerCase();
  const style = random.below(3);
  const number = random.below(1000);
  return style === 0 ? `${first}.${last}${number}` : style === 1 ? `${first}_${last}${number}` : `${first[0]}${last}${number}`;
};

// ---- vehicles and crypto -------------------------------------------------------------------

const vin: FakeGenerator = (_original, random) => {
  const body = random.string(VIN_ALPHABET, 1) + random.string(VIN_LETTERS, 1) + random.string(VIN_ALPHABET, 15);
  return body.slice(0, 8) + vinCheckDigit(body) + body.slice(9);
};

const ethereumAddress: FakeGenerator = (original, random) => {
  const hex = random.string(HEX, 40);
  const digits = original.slice(2);
  if (digits === digits.toUpperCase() && /[A-F]/.test(digits)) return `0x${hex.toUpperCase()}`;
  return `0x${digits === digits.toLowerCase() ? hex : eip55Checksummed(hex)}`;
};

function coinAddress(hrp: string, base58Version: (original: string) => number): FakeGenerator {
  return (original, random) => {
    if (original.toLowerCase().startsWith(`${hrp}1`)) {
      const decoded = decodeSegwitAddress(original, hrp);
      const program = random.bytes(decoded?.program.length ?? 20);
      const address = encodeSegwitAddress({ hrp, version: decoded?.version ?? 0, program });
      return original === original.toUpperCase() ? address.toUpperCase() : address;
    }
    return base58checkEncode(base58Version(original), random.bytes(20));
  };
}

// A Litecoin "3…" address (shared P2SH version) gets the Litecoin-only "M…" form, so it stays Litecoin.
const bitcoinAddress = coinAddress('bc', (original) => (original.startsWith('3') ? 0x05 : 0x00));
const litecoinAddress = coinAddress('ltc', (original) => (original.startsWith('L') ? 0x30 : 0x32));

// ---- dates, times, places ------------------------------------------------------------------

// Every number becomes a value valid in any position (1..12 fits a day, a month, an hour and a
// minute); 4-digit numbers become years; month and weekday names stay in their language and form.
function dateLike(firstYear: number, lastYear: number): FakeGenerator {
  return (original, random) =>
    original.replace(/\d+|\p{L}+/gu, (token) => {
      if (/^\d{4}$/.test(token)) return String(random.between(firstYear, lastYear));
      if (/^\d{1,2}$/.test(token)) return padded(random.between(1, 12), token.length);
      if (/^\d+$/.test(token)) return fillDigits(token, random);
      const list = words.MONTH_NAMES.find((names) => names.some((n) => n.toLowerCase() === token.toLowerCase()));
      return list ? inCaseOf(token, random.pick(list)) : token;
    });
}

const time: FakeGenerator = (original, random) => {
  const twelveHour = /[ap]\.?m\.?/i.test(original);
  let position = 0;
  return original.replace(/\d+/g, (token) => {
    const value = position++ === 0 ? (twelveHour ? random.between(1, 12) : random.below(24)) : random.below(60);
    return padded(value, token.length);
  });
};

// Latitude then longitude, in range, with the original's number of decimals; signed only if the original was.
const gpsCoordinate: FakeGenerator = (original, random) => {
  const signed = original.includes('-');
  let position = 0;
  return original.replace(/-?\d+(?:\.\d+)?/g, (token) => {
    const degrees = random.below(position++ === 0 ? 90 : 180);
    const decimals = token.split('.')[1]?.length ?? 0;
    const sign = signed && random.below(2) ? '-' : '';
    return `${sign}${degrees}${decimals > 0 ? `.${random.string(DIGITS, decimals)}` : ''}`;
  });
};

// US SSN rules: area 001-899 except 666, group and serial not zero.
const ssn: FakeGenerator = (original, random) => {
  if (!/^\d{3}-\d{2}-\d{4}$/.test(original)) return reshapeDigits(original, random);
  const area = skipping(random.between(1, 898), 666);
  return `${padded(area, 3)}-${padded(random.between(1, 99), 2)}-${padded(random.between(1, 9999), 4)}`;
};

const street: FakeGenerator = (original, random) =>
  inCaseOf(original, `${random.pick([placeName(random), random.pick(words.LAST_NAMES)])} ${random.pick(words.STREET_TYPES)}`);

const companyName: FakeGenerator = (original, random) => {
  const [a, b] = [random.pick(words.LAST_NAMES), random.pick(words.LAST_NAMES)];
  const suffix = random.pick(words.COMPANY_SUFFIXES);
  return inCaseOf(original, random.below(2) ? `${a} ${suffix}` : `${a}-${b} ${suffix}`);
};

const jobTitle: FakeGenerator = (original, random) =>
  inCaseOf(original, `${random.pick(words.JOB_LEVELS)} ${random.pick(words.JOB_AREAS)} ${random.pick(words.JOB_TYPES)}`);

const direction: FakeGenerator = (original, random) =>
  inCaseOf(original, random.pick(original.replace(/\W/g, '').length <= 2 ? words.DIRECTION_ABBREVIATIONS : words.DIRECTIONS));

const prefix: FakeGenerator = (original, random) => {
  const word = random.pick(words.PREFIXES);
  return inCaseOf(original, original.includes('.') ? word : word.replace('.', ''));
};

export const FAKE_GENERATORS: Readonly<Record<string, FakeGenerator>> = {
  ACCOUNTNAME: fromList(words.ACCOUNT_NAMES),
  ACCOUNTNUMBER: reshapeDigits,
  AGE: reshapeDigits,
  AMOUNT: reshapeDigits,
  BIC: bic,
  BITCOINADDRESS: bitcoinAddress,
  BUILDINGNUMBER: reshapeDigits,
  CITY: (original, random) => inCaseOf(original, placeName(random)),
  COMPANYNAME: companyName,
  COUNTY: (original, random) => inCaseOf(original, `${placeName(random)} County`),
  CREDITCARDCVV: reshapeDigits,
  CREDITCARDISSUER: fromList(words.CARD_ISSUERS),
  CREDITCARDNUMBER: cardNumber,
  CURRENCY: fromList(words.CURRENCY_NAMES),
  CURRENCYCODE: fromList(words.CURRENCY_CODES),
  CURRENCYNAME: fromList(words.CURRENCY_NAMES),
  CURRENCYSYMBOL: (_original, random) => random.pick(words.CURRENCY_SYMBOLS),
  DATE: dateLike(1995, 2030),
  DOB: dateLike(1940, 2006),
  EMAIL: email,
  ETHEREUMADDRESS: ethereumAddress,
  EYECOLOR: fromList(words.EYE_COLORS),
  FIRSTNAME: personName(words.FIRST_NAMES),
  GENDER: fromList(words.GENDERS),
  HEIGHT: reshapeDigits,
  IBAN: iban,
  IP: ip,
  IPV4: ipv4,
  IPV6: ipv6,
  JOBAREA: fromList(words.JOB_AREAS),
  JOBTITLE: jobTitle,
  JOBTYPE: fromList(words.JOB_TYPES),
  LASTNAME: personName(words.LAST_NAMES),
  LITECOINADDRESS: litecoinAddress,
  MAC: mac,
  MASKEDNUMBER: reshapeDigits,
  MIDDLENAME: personName(words.FIRST_NAMES),
  NEARBYGPSCOORDINATE: gpsCoordinate,
  ORDINALDIRECTION: direction,
  PASSWORD: (original, random) => reshape(original, random, true),
  PHONEIMEI: imei,
  PHONENUMBER: reshapeDigits,
  PIN: reshapeDigits,
  PREFIX: prefix,
  SECONDARYADDRESS: (original, random) => inCaseOf(original, `${random.pick(words.UNIT_WORDS)} ${random.between(1, 999)}`),
  SEX: fromList(words.SEXES),
  SSN: ssn,
  STATE: fromList(words.STATES),
  STREET: street,
  TIME: time,
  URL: url,
  USERAGENT: userAgent,
  USERNAME: username,
  VEHICLEVIN: vin,
  VEHICLEVRM: (original, random) => reshape(original, random),
  ZIPCODE: (original, random) => reshape(original, random),
};

/** The generator for a label; labels adaptd does not know (a user's own) keep the shape of the original. */
export function fakeGeneratorFor(piiType: string): FakeGenerator {
  return Object.hasOwn(FAKE_GENERATORS, piiType) ? FAKE_GENERATORS[piiType] : (original, random) => reshape(original, random);
}
