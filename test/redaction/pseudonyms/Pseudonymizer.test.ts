import t from 'tap';
import { ibanCheckDigits, luhnCheckDigit } from '../../../src/redaction/rules/checksums.js';
import { FIRST_NAMES, LAST_NAMES } from '../../../src/redaction/pseudonyms/fakeVocabulary.js';
import { Pseudonymizer } from '../../../src/redaction/pseudonyms/Pseudonymizer.js';
import { loadRedactorSpec } from '../../../src/redaction/redactCall/redactorSpec.js';
import { RedactionInputError } from '../../../src/redaction/redactionErrors.js';
import { detectRules } from '../../../src/redaction/rules/rulesDetectors.js';

const KEY = 'test key: 32 bytes of not-secret';
const pseudonymizer = new Pseudonymizer(KEY);

// One realistic original per category, in the forms pii-masking-200k uses.
const SAMPLES: Record<string, string> = {
  ACCOUNTNAME: 'Personal Loan Account', ACCOUNTNUMBER: '81726354', AGE: '34', AMOUNT: '1,234.56',
  BIC: 'BOFAUS3N', BITCOINADDRESS: '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', BUILDINGNUMBER: '221', CITY: 'Boston',
  COMPANYNAME: 'Acme Corp', COUNTY: 'Bedfordshire', CREDITCARDCVV: '123', CREDITCARDISSUER: 'Visa',
  CREDITCARDNUMBER: '4111 1111 1111 1111', CURRENCY: 'Euro', CURRENCYCODE: 'EUR', CURRENCYNAME: 'Swiss Franc',
  CURRENCYSYMBOL: '€', DATE: '12/05/2021', DOB: 'March 5, 1985', EMAIL: 'jane.doe@corp.com',
  ETHEREUMADDRESS: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', EYECOLOR: 'Blue', FIRSTNAME: 'John', GENDER: 'Male',
  HEIGHT: '180 cm', IBAN: 'DE89 3704 0044 0532 0130 00', IP: '10.1.2.3', IPV4: '192.168.0.1', IPV6: 'fe80::1',
  JOBAREA: 'Marketing', JOBTITLE: 'Senior Engineer', JOBTYPE: 'Consultant', LASTNAME: 'Smith',
  LITECOINADDRESS: 'Lg3PX8wRWmApFCoCMAsPF5P9dPHYQHEWKW', MAC: '00:1A:2B:3C:4D:5E', MASKEDNUMBER: 'XXXX-XXXX-1234',
  MIDDLENAME: 'Marie', NEARBYGPSCOORDINATE: '[-23.8451,125.2041]', ORDINALDIRECTION: 'North', PASSWORD: 'Passw0rd!',
  PHONEIMEI: '35-209900-176148-1', PHONENUMBER: '+44 20 7946 0958', PIN: '4821', PREFIX: 'Mr.', SECONDARYADDRESS: 'Apt. 4B',
  SEX: 'female', SSN: '123-45-6789', STATE: 'Texas', STREET: 'Main Street', TIME: '14:30', URL: 'https://acme.com/about',
  USERAGENT: 'Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0', USERNAME: 'jdoe77',
  VEHICLEVIN: '1HGCM82633A004352', VEHICLEVRM: 'AB12 CDE', ZIPCODE: 'SW1A 1AA',
};

t.test('every category gets a fake that differs from the original', async (t) => {
  t.same(Object.keys(SAMPLES).sort(), [...loadRedactorSpec().labels].sort(), 'a sample per label');
  for (const [label, original] of Object.entries(SAMPLES)) {
    const fake = pseudonymizer.pseudonymize(original, label);
    t.not(fake.toLowerCase(), original.toLowerCase(), label);
    t.not(fake, `[${label}]`, `${label} is a real fake, not the placeholder`);
  }
});

t.test('the same key gives the same fake in every instance; another key gives another', async (t) => {
  const again = new Pseudonymizer(KEY);
  const other = new Pseudonymizer('another key, also 32 bytes long.');
  for (const [label, original] of Object.entries(SAMPLES)) {
    t.equal(again.pseudonymize(original, label), pseudonymizer.pseudonymize(original, label), label);
  }
  const differing = Object.entries(SAMPLES).filter(([l, o]) => other.pseudonymize(o, l) !== pseudonymizer.pseudonymize(o, l));
  t.ok(differing.length >= 50, `${differing.length} of 56 differ under another key`);
  t.not(pseudonymizer.pseudonymize('Anna', 'FIRSTNAME'), pseudonymizer.pseudonymize('Anna', 'LASTNAME'), 'type is part of the seed');
});

t.test('structured fakes pass the rules validators with the same label', async (t) => {
  const structured = Object.entries(SAMPLES).filter(([label]) => detectRules(SAMPLES[label]).length > 0);
  t.ok(structured.length >= 12, 'the samples cover the rules labels');
  const extra: Array<[string, string]> = [
    ['CREDITCARDNUMBER', '378282246310005'], ['CREDITCARDNUMBER', '5500-0000-0000-0004'],
    ['CREDITCARDNUMBER', '135410014004955'], ['CREDITCARDNUMBER', '1354 1001 4004 955'],
    ['IBAN', 'GB82WEST12345698765432'], ['IBAN', 'FR1420041010050500013M02606'], ['BIC', 'CHASUS33XXX'],
    ['IBAN', 'AL47-2121-1009-0000-0002-3569-8741'], ['EMAIL', 'иван@пример.рф'], ['URL', 'http://пример.рф/'],
    ['MAC', '001a.2b3c.4d5e'], ['MAC', '00-1a-2b-3c-4d-5e'], ['IPV6', '2001:DB8::1'], ['URL', 'www.acme.org'],
    ['ETHEREUMADDRESS', '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed'],
    ['BITCOINADDRESS', '3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy'],
    ['BITCOINADDRESS', 'bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y'],
    ['LITECOINADDRESS', 'MGEW4aba3tnrVtVhGcmoqqHaLt5ymPSLPi'], ['LITECOINADDRESS', 'ltc1qxtm55gultqzhqzl2p3ks50hg2478y3hehuj6dz'],
  ];
  for (const [label, original] of [...structured, ...extra]) {
    const [detected] = detectRules(original);
    t.ok(detected, `${original} is itself valid`);
    const fake = pseudonymizer.pseudonymize(original, label);
    // An IP is detected by its version, IPV4 or IPV6.
    t.same(detectRules(fake).map((f) => [f.pii_type, f.string]), [[detected?.pii_type, fake]], `${label} ${original} → ${fake}`);
  }
  const bicWithoutDigits = pseudonymizer.pseudonymize('NEDSZAJJXXX', 'BIC');
  t.same(detectRules(bicWithoutDigits).map((f) => f.pii_type), ['BIC'], 'a BIC fake is recognisable without context');
});

t.test('fakes keep the shape of the original', async (t) => {
  const fake = (label: string, original: string) => pseudonymizer.pseudonymize(original, label);
  t.match(fake('CREDITCARDNUMBER', '4111 1111 1111 1111'), /^41\d\d \d{4} \d{4} \d{4}$/, 'card network and grouping');
  t.match(fake('PHONEIMEI', '35-209900-176148-1'), /^35-\d{6}-\d{6}-\d$/);
  t.match(fake('IBAN', 'DE89 3704 0044 0532 0130 00'), /^DE\d\d( \d{4}){4} \d\d$/, 'country and grouping');
  t.match(fake('IBAN', 'GB82WEST12345698765432'), /^GB\d\d[A-Z]{4}\d{14}$/, 'letters stay letters');
  t.match(fake('BIC', 'NEDSZAJJXXX'), /^[A-Z]{4}ZA[A-Z][2-9]XXX$/, 'country and primary-office branch');
  t.match(fake('MAC', '00:1A:2B:3C:4D:5E'), /^[0-9A-F]{2}(:[0-9A-F]{2}){5}$/);
  t.match(fake('MAC', '001a.2b3c.4d5e'), /^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/);
  t.match(fake('PHONENUMBER', '+44 20 7946 0958'), /^\+[1-9]\d [1-9]\d [1-9]\d{3} 0\d{3}$/, 'separators and leading zeros');
  t.match(fake('ZIPCODE', '02139'), /^0\d{4}$/, 'a leading zero stays');
  t.match(fake('ZIPCODE', 'SW1A 1AA'), /^[A-Z]{2}\d[A-Z] \d[A-Z]{2}$/);
  t.match(fake('SSN', '123-45-6789'), /^(?!000|666|9)\d{3}-(?!00)\d\d-(?!0000)\d{4}$/);
  t.match(fake('EMAIL', 'Jane@Corp.com'), /^[a-z]+\.[a-z]+\d+@example\.(com|org|net)$/);
  t.match(fake('URL', 'https://acme.com/about'), /^https:\/\/[a-z]+-\d+\.example\/[a-z0-9]{8}$/);
  t.match(fake('URL', 'www.acme.com'), /^www\.[a-z]+-\d+\.example$/);
  t.match(fake('TIME', '2:15 PM'), /^(?:[1-9]|1[0-2]):[0-5]\d PM$/);
  t.match(fake('NEARBYGPSCOORDINATE', '[-23.8451,125.2041]'), /^\[-?\d{1,2}\.\d{4},-?\d{1,3}\.\d{4}\]$/);
  t.match(fake('PASSWORD', 'Passw0rd!'), /^[A-Z][a-z]{4}\d[a-z]{2}[^\sA-Za-z0-9]$/);
  t.match(fake('FIRSTNAME', 'JOHN'), /^[A-Z]+$/, 'case follows the original');
  t.match(fake('PREFIX', 'Mrs'), /^[A-Z][a-z]+$/, 'no dot when the original has none');
  t.match(fake('ORDINALDIRECTION', 'NE'), /^[NSEW]{1,2}$/);
  t.ok(FIRST_NAMES.includes(fake('FIRSTNAME', 'John')), 'a first name from the list');
  t.ok(LAST_NAMES.includes(fake('LASTNAME', 'Smith')), 'a last name from the list');
});

t.test('date fakes are real dates in the original format and language', async (t) => {
  for (let i = 0; i < 50; i++) {
    const slash = pseudonymizer.pseudonymize(`${String((i % 28) + 1).padStart(2, '0')}/05/2021`, 'DATE');
    const [, day, month, year] = /^(\d\d)\/(\d\d)\/(\d{4})$/.exec(slash) ?? [];
    t.ok(Number(day) >= 1 && Number(day) <= 12 && Number(month) >= 1 && Number(month) <= 12, slash);
    t.ok(Number(year) >= 1995 && Number(year) <= 2030, slash);
  }
  t.match(pseudonymizer.pseudonymize('March 5, 1985', 'DOB'), /^[A-Z][a-z]+ \d{1,2}, (19[4-9]\d|200[0-6])$/);
  t.match(pseudonymizer.pseudonymize('5 mars 1985', 'DOB'), /^\d{1,2} (janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre) \d{4}$/);
});

// Many distinct originals of a kind with a large space must not share a fake.
t.test('different values get different fakes', async (t) => {
  const count = 2000;
  const values: Record<string, (i: number) => string> = {
    CREDITCARDNUMBER: (i) => { const p = `4000${String(i).padStart(11, '0')}`; return p + luhnCheckDigit(p); },
    IBAN: (i) => { const bban = `37040044${String(i).padStart(10, '0')}`; return `DE${ibanCheckDigits('DE', bban)}${bban}`; },
    EMAIL: (i) => `user${i}@corp.com`,
    IPV4: (i) => `10.${i >> 8}.${i & 255}.1`,
    IPV6: (i) => `2001:db8::${i.toString(16)}`,
    MAC: (i) => `00:1a:2b:3c:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
    ETHEREUMADDRESS: (i) => `0x${i.toString(16).padStart(40, '0')}`,
    VEHICLEVIN: (i) => `1HGCM8263${String(i).padStart(8, '0')}`,
    PHONENUMBER: (i) => `+1 415 555 ${String(i).padStart(4, '0')}`,
    URL: (i) => `https://site${i}.com/page`,
  };
  for (const [label, make] of Object.entries(values)) {
    const fakes = new Set(Array.from({ length: count }, (_, i) => pseudonymizer.pseudonymize(make(i), label)));
    t.equal(fakes.size, count, `${count} distinct ${label} fakes`);
  }
});

t.test('a too short key is refused', async (t) => {
  t.throws(() => new Pseudonymizer('short'), RedactionInputError);
});

t.test('a value no candidate can differ from gets the label as a last resort', async (t) => {
  t.equal(pseudonymizer.pseudonymize('-', 'PIN'), '[PIN]');
});
