// Validators for PII with a machine-checkable structure. Each takes the exact candidate text
// and answers whether it is a real value of its kind, checksums included.
import { domainToASCII, domainToUnicode } from 'node:url';
import { base58checkDecode } from './base58check.js';
import { decodeSegwitAddress } from './bech32.js';
import { ibanChecksumValid, luhnValid, vinCheckDigit } from './checksums.js';
import { COUNTRY_CODES, IBAN_LENGTHS } from './countryCodes.js';
import { eip55Checksummed } from './keccak256.js';

/** Digits with their single-character group separators removed, or undefined if separators are mixed. */
export function compactDigits(grouped: string): string | undefined {
  const separators = new Set(grouped.replace(/\d/g, ''));
  if (separators.size > 1 || !/^\d(?:[ -]?\d)*$/.test(grouped)) return undefined;
  return grouped.replace(/[ -]/g, '');
}

export type CardLikeLabel = 'CREDITCARDNUMBER' | 'PHONEIMEI';

const IMEI_GROUPING = [2, 6, 6, 1];

/** How cards and IMEIs are written: one block, groups of 3-6 digits, or the IMEI's 2-6-6-1. */
export function isCardLikeGrouping(groupLengths: readonly number[]): boolean {
  return groupLengths.length === 1 || groupLengths.every((l) => l >= 3 && l <= 6) || isImeiGrouping(groupLengths);
}

function isImeiGrouping(groupLengths: readonly number[]): boolean {
  return groupLengths.length === IMEI_GROUPING.length && groupLengths.every((l, i) => l === IMEI_GROUPING[i]);
}

// The first two digits of an IMEI name the body that allocated its type code (GSMA TS.06, annex A), current
// and retired. None is 34 or 37 (American Express); the only one starting with 1, DECT's 10, is retired and
// left out, so that 1 can mean a UATP card.
const IMEI_REPORTING_BODIES = new Set([
  '00', '01', '02', '03', '04', '05', '06', '07', '08', '09',
  '30', '33', '35', '44', '45', '49', '50', '51', '52', '53', '54', '86', '91', '98', '99',
]);

/**
 * A payment card (13-19 digits, industry digit 2-6, or a 15-digit UATP card starting with 1) or an IMEI
 * (15 digits), both Luhn-valid and in a usual grouping. Fifteen digits can be either: the IMEI's own 2-6-6-1
 * grouping makes an IMEI; otherwise the prefixes of the 15-digit card networks (UATP 1, American Express
 * 34, 37) make a card, an IMEI reporting body makes an IMEI, and an industry digit 2-6 a card.
 */
export function cardLikeLabel(grouped: string): CardLikeLabel | undefined {
  const digits = compactDigits(grouped);
  const groupLengths = grouped.split(/[ -]/).map((g) => g.length);
  if (!digits || !isCardLikeGrouping(groupLengths) || !luhnValid(digits)) return undefined;
  if (digits.length === 15) {
    if (isImeiGrouping(groupLengths)) return 'PHONEIMEI';
    if (/^(?:1|3[47])/.test(digits)) return 'CREDITCARDNUMBER';
    if (IMEI_REPORTING_BODIES.has(digits.slice(0, 2))) return 'PHONEIMEI';
  }
  return /^[2-6]\d{12,18}$/.test(digits) ? 'CREDITCARDNUMBER' : undefined;
}

/** Compact or grouped with spaces or with dashes (one separator throughout), country length and mod-97 checked. */
export function isValidIban(text: string): boolean {
  if (text.includes(' ') && text.includes('-')) return false;
  const compact = text.replace(/[ -]/g, '');
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(compact) || !COUNTRY_CODES.has(compact.slice(0, 2))) return false;
  const expectedLength = IBAN_LENGTHS.get(compact.slice(0, 2));
  if (expectedLength !== undefined && compact.length !== expectedLength) return false;
  return ibanChecksumValid(compact);
}

/** 4-letter bank, ISO country, 2-character location, optional 3-character branch. */
export function isBicShaped(text: string): boolean {
  return /^[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?$/.test(text) && COUNTRY_CODES.has(text.slice(4, 6));
}

/** An address, internationalised ones included (RFC 6531: letters of any script in the local part and domain). */
export function isValidEmail(text: string): boolean {
  const at = text.lastIndexOf('@');
  const local = text.slice(0, at);
  const domain = text.slice(at + 1);
  if (at < 1 || local.length > 64 || text.length > 254) return false;
  if (!/^[\p{L}\p{M}\p{N}_.%+-]+$/u.test(local) || /^[.\p{M}]|\.$|\.\./u.test(local)) return false;
  return isDomainName(domain);
}

/**
 * A host name of two or more labels, internationalised (`пример.рф`) or in its punycode form
 * (`xn--e1afmkfd.xn--p1ai`). The top-level domain is letters, in whatever script it decodes to.
 */
export function isDomainName(domain: string): boolean {
  const ascii = domainToASCII(domain); // '' when it is no valid IDN
  const labels = ascii.split('.');
  const label = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
  if (labels.length < 2 || ascii.length > 253 || !labels.every((l) => label.test(l))) return false;
  return /^[\p{L}\p{M}]{2,63}$/u.test(domainToUnicode(labels.at(-1) ?? ''));
}

/** Dotted decimal, octets 0..255 without leading zeros (which some parsers read as octal). */
export function isValidIpv4(text: string): boolean {
  const octets = text.split('.');
  return octets.length === 4 && octets.every((o) => /^(?:0|[1-9]\d{0,2})$/.test(o) && Number(o) <= 255);
}

/** RFC 4291 text forms, with `::` compression and an embedded IPv4 tail; no zone index. */
export function isValidIpv6(text: string): boolean {
  const ipv4Tail = /(?:^|:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (ipv4Tail && !isValidIpv4(ipv4Tail[1])) return false;
  // The IPv4 tail stands for the last two 16-bit groups.
  const hexPart = ipv4Tail ? `${text.slice(0, text.length - ipv4Tail[1].length)}0:0` : text;
  const halves = hexPart.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((half) => (half === '' ? [] : half.split(':')));
  if (!groups.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  return halves.length === 2 ? groups.length <= 7 : groups.length === 8;
}

/** Six octets as `aa:bb:…` or `aa-bb-…` (one separator throughout) or Cisco's `aabb.ccdd.eeff`. */
export function isValidMac(text: string): boolean {
  return /^[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}$/.test(text) || /^(?:[0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}$/.test(text);
}

/** The broadcast address and the all-zero placeholder are in every network's traffic and name no device. */
export function isBroadcastOrZeroMac(mac: string): boolean {
  const hex = mac.replace(/[^0-9A-Fa-f]/g, '').toLowerCase();
  return hex === 'ffffffffffff' || hex === '000000000000';
}

/** 17 characters without I, O, Q, with a correct check digit in position 9. */
export function isValidVin(text: string): boolean {
  return /^[A-HJ-NPR-Z0-9]{17}$/.test(text) && /[A-Z]/.test(text) && vinCheckDigit(text) === text[8];
}

/** `0x` + 40 hex digits; mixed case must be the EIP-55 checksum. */
export function isValidEthereumAddress(text: string): boolean {
  if (!/^0x[0-9A-Fa-f]{40}$/.test(text)) return false;
  const hex = text.slice(2);
  if (hex === hex.toLowerCase() || hex === hex.toUpperCase()) return true;
  return eip55Checksummed(hex) === hex;
}

export type CryptoAddressLabel = 'BITCOINADDRESS' | 'LITECOINADDRESS';

// Base58Check version bytes. 0x05 (P2SH, "3…") was shared by Litecoin until it moved to "M…";
// such an address is reported as Bitcoin, the more common reading.
const BASE58_VERSIONS = new Map<number, CryptoAddressLabel>([
  [0x00, 'BITCOINADDRESS'],
  [0x05, 'BITCOINADDRESS'],
  [0x30, 'LITECOINADDRESS'],
  [0x32, 'LITECOINADDRESS'],
]);

const SEGWIT_PREFIXES: ReadonlyArray<[string, CryptoAddressLabel]> = [
  ['bc', 'BITCOINADDRESS'],
  ['ltc', 'LITECOINADDRESS'],
];

/** Which coin a checksum-valid mainnet address belongs to, or undefined when it is not one. */
export function cryptoAddressLabel(text: string): CryptoAddressLabel | undefined {
  for (const [hrp, label] of SEGWIT_PREFIXES) {
    if (text.toLowerCase().startsWith(`${hrp}1`)) return decodeSegwitAddress(text, hrp) ? label : undefined;
  }
  const decoded = base58checkDecode(text);
  if (!decoded || decoded.payload.length !== 20) return undefined;
  return BASE58_VERSIONS.get(decoded.version);
}
