// Check-digit algorithms shared by the rules detectors (to validate) and the pseudonymiser
// (to make fakes that validate).

/** Luhn (mod 10) check over a string of decimal digits, check digit last. */
export function luhnValid(digits: string): boolean {
  return /^\d+$/.test(digits) && luhnSum(digits, false) % 10 === 0;
}

/** The digit to append to `payload` so that the whole passes Luhn. */
export function luhnCheckDigit(payload: string): string {
  return String((10 - (luhnSum(payload, true) % 10)) % 10);
}

// Doubles every second digit counting from the right; `forPayload` when the check digit is not there yet.
function luhnSum(digits: string, forPayload: boolean): number {
  let sum = 0;
  for (let i = digits.length - 1, position = forPayload ? 1 : 0; i >= 0; i--, position++) {
    let d = digits.charCodeAt(i) - 48;
    if (position % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum;
}

/** ISO 7064 MOD 97-10 of an IBAN-style string: letters count as 10..35. */
export function mod97(alphanumeric: string): number {
  let remainder = 0;
  for (const ch of alphanumeric.toUpperCase()) {
    const value = Number.parseInt(ch, 36);
    if (Number.isNaN(value)) return -1;
    remainder = value < 10 ? (remainder * 10 + value) % 97 : (remainder * 100 + value) % 97;
  }
  return remainder;
}

/** ISO 13616: move country and check digits to the end; the number must be 1 mod 97. */
export function ibanChecksumValid(compactIban: string): boolean {
  return mod97(compactIban.slice(4) + compactIban.slice(0, 4)) === 1;
}

/** The two check digits that make `country + ?? + bban` a valid IBAN. */
export function ibanCheckDigits(country: string, bban: string): string {
  return String(98 - mod97(`${bban}${country}00`)).padStart(2, '0');
}

const VIN_WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
const VIN_LETTER_VALUES = 'A1B2C3D4E5F6G7H8J1K2L3M4N5P7R9S2T3U4V5W6X7Y8Z9';

/** The check digit (position 9) of a 17-character VIN, per 49 CFR 565: '0'..'9' or 'X'. */
export function vinCheckDigit(vin: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += vinCharValue(vin[i]) * VIN_WEIGHTS[i];
  const remainder = sum % 11;
  return remainder === 10 ? 'X' : String(remainder);
}

function vinCharValue(ch: string): number {
  if (ch >= '0' && ch <= '9') return Number(ch);
  const at = VIN_LETTER_VALUES.indexOf(ch);
  return at >= 0 && at % 2 === 0 ? Number(VIN_LETTER_VALUES[at + 1]) : Number.NaN;
}
