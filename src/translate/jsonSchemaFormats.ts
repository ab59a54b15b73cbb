import { type GbnfRuleSet } from './gbnfRules.js';

/**
 * Grammars for the string `format`s we can honour exactly. Each generates only strings that the format
 * validators (RFC 3339, RFC 4122, the HTML e-mail shape) accept; they may generate fewer, never more.
 * None of the characters needs JSON escaping, so the content sits between plain quotes.
 */
export const SUPPORTED_STRING_FORMATS: readonly string[] = ['date', 'time', 'date-time', 'uuid', 'email'];

const HEX = '[0-9a-f]';
// Local-part characters of an e-mail address (atext of RFC 5322); the dash is escaped so it is not a range.
const EMAIL_ATEXT = "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~\\x2D]";
const EMAIL_LABEL_END = '[a-zA-Z0-9]';

function fullDate(rules: GbnfRuleSet): string {
  // February stops at 28 so no leap-year arithmetic is needed; every generated date exists.
  return rules.shared('json-fmt-date', () =>
    '[0-9]{4} "-" (("0" [13578] | "1" [02]) "-" ("0" [1-9] | [12] [0-9] | "3" [01])' +
      ' | ("0" [469] | "11") "-" ("0" [1-9] | [12] [0-9] | "30")' +
      ' | "02-" ("0" [1-9] | "1" [0-9] | "2" [0-8]))');
}

function fullTime(rules: GbnfRuleSet): string {
  // Always with an offset: RFC 3339 full-time requires one. Leap seconds are left out.
  return rules.shared('json-fmt-time', () =>
    '([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,6})?' +
      ' ("Z" | [+\\x2D] ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9])');
}

function content(rules: GbnfRuleSet, format: string): string | undefined {
  switch (format) {
    case 'date':
      return fullDate(rules);
    case 'time':
      return fullTime(rules);
    case 'date-time':
      return `${fullDate(rules)} "T" ${fullTime(rules)}`;
    case 'uuid':
      return `${HEX}{8} "-" ${HEX}{4} "-" ${HEX}{4} "-" ${HEX}{4} "-" ${HEX}{12}`;
    case 'email': {
      // Bounded parts keep a sampler from looping forever inside one address.
      const label = `${EMAIL_LABEL_END} ([a-zA-Z0-9\\x2D]{0,61} ${EMAIL_LABEL_END})?`;
      return `${EMAIL_ATEXT}{1,64} ("." ${EMAIL_ATEXT}{1,64}){0,3} "@" (${label} "."){1,4} ${label}`;
    }
    default:
      return undefined;
  }
}

/** The name of a rule matching a quoted JSON string in `format`, or undefined for a format not supported. */
export function stringFormatRule(rules: GbnfRuleSet, format: string): string | undefined {
  if (!SUPPORTED_STRING_FORMATS.includes(format)) return undefined;
  return rules.shared(`json-string-${format}`, () => `"\\"" ${content(rules, format)} "\\""`);
}
