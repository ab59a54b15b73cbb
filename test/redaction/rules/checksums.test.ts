import t from 'tap';
import { ibanCheckDigits, ibanChecksumValid, luhnCheckDigit, luhnValid, mod97, vinCheckDigit } from '../../../src/redaction/rules/checksums.js';

t.test('Luhn', async (t) => {
  const cases: Array<[digits: string, valid: boolean]> = [
    ['79927398713', true],
    ['79927398710', false],
    ['4111111111111111', true],
    ['4111111111111112', false],
    ['0', true],
    ['12a4', false],
  ];
  for (const [digits, valid] of cases) t.equal(luhnValid(digits), valid, digits);
  t.equal(luhnCheckDigit('7992739871'), '3');
  t.equal(luhnCheckDigit('411111111111111'), '1');
});

t.test('ISO 7064 mod 97 and IBAN check digits', async (t) => {
  t.equal(mod97('3214282912345698765432161182'), 1, 'GB82WEST… rearranged');
  t.ok(ibanChecksumValid('GB82WEST12345698765432'));
  t.notOk(ibanChecksumValid('GB83WEST12345698765432'));
  t.equal(ibanCheckDigits('DE', '370400440532013000'), '89');
  t.equal(ibanCheckDigits('GB', 'WEST12345698765432'), '82');
  t.equal(mod97('12-3'), -1, 'non-alphanumeric input is rejected');
});

t.test('VIN check digit', async (t) => {
  t.equal(vinCheckDigit('1HGCM82633A004352'), '3');
  t.equal(vinCheckDigit('1M8GDM9AXKP042788'), 'X');
  t.equal(vinCheckDigit('11111111111111111'), '1');
});
