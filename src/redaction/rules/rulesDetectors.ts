// Deterministic PII detectors. Each finds candidates with a loose pattern and keeps only those
// that pass a real validator (checksum, registry length, octet range), so that an
// almost-valid value, e.g. a card number with a wrong Luhn digit, is never reported.
import {
  cardLikeLabel,
  cryptoAddressLabel,
  isBicShaped,
  isBroadcastOrZeroMac,
  isCardLikeGrouping,
  isDomainName,
  isValidEmail,
  isValidEthereumAddress,
  isValidIban,
  isValidIpv4,
  isValidIpv6,
  isValidMac,
  isValidVin,
} from './piiValidators.js';

export interface RuleFinding {
  string: string;
  pii_type: string;
  start: number;
  end: number;
}

interface Detector {
  labels: readonly string[];
  find(text: string): RuleFinding[];
}

// Letters of the scripts that put spaces between words. Han, kana, Hangul, Thai and their neighbours write
// the next word or particle right against an address ("邮箱是zhang@qq.com"), so their letters bound one.
const SPACED_SCRIPT_LETTER = String.raw`[[\p{L}\p{M}]--[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}\p{sc=Thai}\p{sc=Lao}\p{sc=Khmer}\p{sc=Myanmar}]]`;
// Built with RegExp: set subtraction needs the `v` flag, which TypeScript checks only in literals for ES2024.
const EMAIL_LOCAL_CHAR = String.raw`[${SPACED_SCRIPT_LETTER}\p{N}_.%+\-]`;
const EMAIL_DOMAIN_CHAR = String.raw`[${SPACED_SCRIPT_LETTER}\p{N}\-]`;
const EMAIL_CANDIDATE = new RegExp(
  String.raw`(?<!${EMAIL_LOCAL_CHAR})${EMAIL_LOCAL_CHAR}+@${EMAIL_DOMAIN_CHAR}+(?:\.${EMAIL_DOMAIN_CHAR}+)+`,
  'gv',
);
// Not glued to letters or digits: "v1.2.3.4" is a version and "IP192.168.1.1text" a token, neither an address.
const IPV4_CANDIDATE = new RegExp(
  String.raw`(?<![${SPACED_SCRIPT_LETTER}\p{N}_.])(?:\d{1,3}\.){3}\d{1,3}(?![${SPACED_SCRIPT_LETTER}\p{N}_]|\.\d)`,
  'gv',
);

const DETECTORS: readonly Detector[] = [
  { labels: ['CREDITCARDNUMBER', 'PHONEIMEI'], find: findCardsAndImeis },
  { labels: ['IBAN'], find: findIbans },
  { labels: ['BIC'], find: findBics },
  { labels: ['EMAIL'], find: patternDetector(EMAIL_CANDIDATE, 'EMAIL', isValidEmail) },
  { labels: ['URL'], find: findUrls },
  { labels: ['IPV4'], find: patternDetector(IPV4_CANDIDATE, 'IPV4', isValidIpv4) },
  { labels: ['IPV6'], find: findIpv6 },
  { labels: ['MAC'], find: findMacs },
  { labels: ['VEHICLEVIN'], find: patternDetector(/(?<![A-Za-z0-9])[A-HJ-NPR-Z0-9]{17}(?![A-Za-z0-9])/g, 'VEHICLEVIN', isValidVin) },
  {
    labels: ['ETHEREUMADDRESS'],
    find: patternDetector(/(?<![A-Za-z0-9])0x[0-9A-Fa-f]{40}(?![A-Za-z0-9])/g, 'ETHEREUMADDRESS', isValidEthereumAddress),
  },
  { labels: ['BITCOINADDRESS', 'LITECOINADDRESS'], find: findCryptoAddresses },
];

/** Every label a rules detector can report. */
export const RULE_LABELS: readonly string[] = DETECTORS.flatMap((d) => d.labels);

export interface DetectRulesOptions {
  /** Report only these labels (and run only the detectors that can produce them). */
  labels?: Iterable<string>;
}

/** All validated findings, sorted by position (longest first at the same start); a finding inside a longer one is left out. */
export function detectRules(text: string, options: DetectRulesOptions = {}): RuleFinding[] {
  const wanted = options.labels === undefined ? undefined : new Set(options.labels);
  const findings = DETECTORS.filter((d) => !wanted || d.labels.some((label) => wanted.has(label)))
    .flatMap((d) => d.find(text))
    .filter((f) => !wanted || wanted.has(f.pii_type));
  return withoutContained(findings);
}

// An IPv4 inside a URL, or digits inside an IBAN, are part of the longer value, not findings of their own.
// Sorted by start, longest first, a finding lies inside an earlier one exactly when it ends before the
// furthest end seen so far (or at it, starting later).
function withoutContained(findings: RuleFinding[]): RuleFinding[] {
  const kept: RuleFinding[] = [];
  let reach = { start: -1, end: -1 };
  for (const f of [...findings].sort((a, b) => a.start - b.start || b.end - a.end)) {
    const inside = f.end < reach.end || (f.end === reach.end && f.start > reach.start);
    if (!inside) kept.push(f);
    if (f.end > reach.end) reach = f;
  }
  return kept;
}

function finding(text: string, start: number, end: number, pii_type: string): RuleFinding {
  return { string: text.slice(start, end), pii_type, start, end };
}

function patternDetector(pattern: RegExp, label: string, isValid: (candidate: string) => boolean) {
  return (text: string): RuleFinding[] =>
    [...text.matchAll(pattern)]
      .filter((m) => isValid(m[0]))
      .map((m) => finding(text, m.index, m.index + m[0].length, label));
}

// A run of digit groups ("4111 1111 1111 1111", "35-209900-176148-1"), possibly with more
// numbers around it on the same line; each run is searched for the longest valid windows of whole groups.
const DIGIT_RUN = /(?<![0-9A-Za-z+-])\d+(?:[ -]\d+)*(?![0-9A-Za-z])/g;

function findCardsAndImeis(text: string): RuleFinding[] {
  const found: RuleFinding[] = [];
  for (const run of text.matchAll(DIGIT_RUN)) {
    const groups = [...run[0].matchAll(/\d+/g)].map((g) => ({ start: run.index + g.index, end: run.index + g.index + g[0].length }));
    for (let first = 0; first < groups.length; first++) {
      const match = longestCardWindow(text, groups, first);
      if (!match) continue;
      found.push(match.finding);
      first = match.lastGroup;
    }
  }
  return found;
}

const MIN_CARD_DIGITS = 13;
const MAX_CARD_DIGITS = 19;

// Windows are checked by digit count and grouping before any text is sliced: a long run of
// small numbers ("1 2 3 …") must stay cheap.
function longestCardWindow(text: string, groups: ReadonlyArray<{ start: number; end: number }>, first: number) {
  let digits = 0;
  let last = first;
  for (; last < groups.length && digits + groups[last].end - groups[last].start <= MAX_CARD_DIGITS; last++) {
    digits += groups[last].end - groups[last].start;
  }
  for (last--; last >= first && digits >= MIN_CARD_DIGITS; digits -= groups[last].end - groups[last].start, last--) {
    const lengths = groups.slice(first, last + 1).map((g) => g.end - g.start);
    if (!isCardLikeGrouping(lengths)) continue;
    const label = cardLikeLabel(text.slice(groups[first].start, groups[last].end));
    if (label) return { finding: finding(text, groups[first].start, groups[last].end, label), lastGroup: last };
  }
  return undefined;
}

// Upper-case only: an IBAN is printed in capitals, and this keeps ordinary words out. Grouped with spaces
// (at most 30 more characters and their group spaces, plus room for a following word) or with dashes.
const IBAN_RUN = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:(?: ?[A-Z0-9]){11,42}|(?:-?[A-Z0-9]){11,30}(?![A-Za-z0-9]|-[A-Za-z0-9]))/g;

function findIbans(text: string): RuleFinding[] {
  const found: RuleFinding[] = [];
  for (const run of text.matchAll(IBAN_RUN)) {
    // The run may swallow a following capitalised word ("… 0130 00 EUR"): try cuts at each space, longest first.
    const cuts = [run[0].length, ...[...run[0].matchAll(/ /g)].map((s) => s.index).reverse()];
    const end = cuts.map((cut) => run.index + cut).find((e) => !/[A-Za-z0-9]/.test(text[e] ?? '') && isValidIban(text.slice(run.index, e)));
    if (end !== undefined) found.push(finding(text, run.index, end, 'IBAN'));
  }
  return found;
}

const BIC_CANDIDATE = /(?<![A-Za-z0-9])[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?(?![A-Za-z0-9])/g;
const BIC_CONTEXT = /\b(?:BIC|SWIFT)\b|bank identifier/i;
const BIC_CONTEXT_CHARS = 40;

// Many capitalised 8- or 11-letter words look like a BIC ("BUSINESS": BUSI NE SS), so a code
// without a digit in its location or branch counts only after "BIC" or "SWIFT".
function findBics(text: string): RuleFinding[] {
  return [...text.matchAll(BIC_CANDIDATE)]
    .filter((m) => isBicShaped(m[0]))
    .filter((m) => /\d/.test(m[0].slice(6)) || BIC_CONTEXT.test(text.slice(Math.max(0, m.index - BIC_CONTEXT_CHARS), m.index)))
    .map((m) => finding(text, m.index, m.index + m[0].length, 'BIC'));
}

const URL_CANDIDATE = /\b(?:(?:https?|ftp):\/\/|www\.)[^\s<>"'`]+/gi;

function findUrls(text: string): RuleFinding[] {
  return [...text.matchAll(URL_CANDIDATE)]
    .map((m) => ({ start: m.index, url: trimUrlEnd(m[0]) }))
    .filter(({ url }) => isPlausibleUrl(url))
    .map(({ start, url }) => finding(text, start, start + url.length, 'URL'));
}

/** Drops sentence punctuation after a URL, and closing brackets that the URL did not open. */
export function trimUrlEnd(url: string): string {
  let trimmed = url;
  for (;;) {
    const last = trimmed.at(-1) ?? '';
    const opener = { ')': '(', ']': '[', '}': '{' }[last];
    const unbalanced = opener !== undefined && count(trimmed, opener) < count(trimmed, last);
    if (!unbalanced && !'.,;:!?\'"'.includes(last)) return trimmed;
    trimmed = trimmed.slice(0, -1);
  }
}

function count(text: string, ch: string): number {
  return text.split(ch).length - 1;
}

function isPlausibleUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(/^www\./i.test(url) ? `http://${url}` : url).hostname;
  } catch {
    return false;
  }
  return host === 'localhost' || isDomainName(host) || isValidIpv4(host) || (host.startsWith('[') && host.endsWith(']'));
}

// A run of hex digits, colons and dots, checked as a whole so that a longer word is never cut into an address.
const IPV6_RUN = /(?<![0-9A-Za-z:.])[0-9A-Fa-f:][0-9A-Fa-f:.]*/g;
const IPV6_MIN_HEX_DIGITS = 4;

function findIpv6(text: string): RuleFinding[] {
  const found: RuleFinding[] = [];
  for (const run of text.matchAll(IPV6_RUN)) {
    if (/[G-Zg-z_]/.test(text[run.index + run[0].length] ?? '')) continue;
    // Sentence punctuation: "… at fe80::1." or "fe80::1: …".
    const address = run[0].replace(/\.+$/, '').replace(/(?<!:):$/, '');
    const hexDigits = address.replace(/[^0-9A-Fa-f]/g, '').length;
    if (address.split(':').length < 3 || hexDigits < IPV6_MIN_HEX_DIGITS || !isValidIpv6(address)) continue;
    found.push(finding(text, run.index, run.index + address.length, 'IPV6'));
  }
  return found;
}

// The start must not continue a longer colon list ("aa:bb:cc:dd:ee:ff:11"), while "MAC:00:1a:…" is fine.
const MAC_CANDIDATE =
  /(?<![0-9A-Za-z])(?<!(?<![0-9A-Za-z])[0-9A-Fa-f]{2}[:-])(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}(?![0-9A-Za-z]|[:-][0-9A-Fa-f])|(?<![0-9A-Za-z.])(?:[0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}(?![0-9A-Za-z]|\.[0-9A-Fa-f])/g;

// The dotted form must contain a hex letter, or any "1234.5678.9012" would be a MAC.
function findMacs(text: string): RuleFinding[] {
  return [...text.matchAll(MAC_CANDIDATE)]
    .filter((m) => isValidMac(m[0]) && !isBroadcastOrZeroMac(m[0]) && (!m[0].includes('.') || /[A-Fa-f]/.test(m[0])))
    .map((m) => finding(text, m.index, m.index + m[0].length, 'MAC'));
}

const CRYPTO_CANDIDATE =
  /(?<![A-Za-z0-9])(?:[13LM][1-9A-HJ-NP-Za-km-z]{25,34}|(?:bc|BC|ltc|LTC)1[0-9A-Za-z]{6,87})(?![A-Za-z0-9])/g;

function findCryptoAddresses(text: string): RuleFinding[] {
  const found: RuleFinding[] = [];
  for (const m of text.matchAll(CRYPTO_CANDIDATE)) {
    const label = cryptoAddressLabel(m[0]);
    if (label) found.push(finding(text, m.index, m.index + m[0].length, label));
  }
  return found;
}
