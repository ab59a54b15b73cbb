import t from 'tap';
import { redactDocument } from '../../../src/redaction/redactCall/redactDocument.js';
import { loadRedactorSpec } from '../../../src/redaction/redactCall/redactorSpec.js';
import { detectRules, RULE_LABELS, trimUrlEnd } from '../../../src/redaction/rules/rulesDetectors.js';

// Each valid value must be found exactly, with its label, inside a sentence.
const VALID: Array<[label: string, value: string]> = [
  ['CREDITCARDNUMBER', '4111 1111 1111 1111'],
  ['CREDITCARDNUMBER', '5500-0000-0000-0004'],
  ['CREDITCARDNUMBER', '378282246310005'],
  ['CREDITCARDNUMBER', '6011111111111117'],
  ['CREDITCARDNUMBER', '4222222222222'],
  ['CREDITCARDNUMBER', '2223000048400011'],
  ['CREDITCARDNUMBER', '3782 822463 10005'],
  // UATP: 15 digits like an IMEI, but no IMEI reporting body starts with 1.
  ['CREDITCARDNUMBER', '135410014004955'],
  ['CREDITCARDNUMBER', '1354 1001 4004 955'],
  ['CREDITCARDNUMBER', '201412345678902'],
  ['PHONEIMEI', '490154203237518'],
  ['PHONEIMEI', '35-209900-176148-1'],
  ['PHONEIMEI', '352099001761481'],
  ['PHONEIMEI', '013263002123452'],
  ['PHONEIMEI', '860123456789014'],
  ['PHONEIMEI', '990008623456782'],
  // The IMEI's own 2-6-6-1 grouping, whatever the first digits (data set generators write them so).
  ['PHONEIMEI', '12-345678-901234-7'],
  ['IBAN', 'DE89 3704 0044 0532 0130 00'],
  ['IBAN', 'GB82WEST12345698765432'],
  ['IBAN', 'FR1420041010050500013M02606'],
  ['IBAN', 'NL91ABNA0417164300'],
  ['IBAN', 'BE68539007547034'],
  ['IBAN', 'CH9300762011623852957'],
  ['IBAN', 'NO9386011117947'],
  ['IBAN', 'AL47-2121-1009-0000-0002-3569-8741'],
  ['IBAN', 'AL47 2121 1009 0000 0002 3569 8741'],
  ['IBAN', 'DE89-3704-0044-0532-0130-00'],
  ['BIC', 'BOFAUS3N'],
  ['BIC', 'CHASUS33XXX'],
  ['EMAIL', 'jane.doe+tag@example.co.uk'],
  ['EMAIL', 'x_y-z@mail.example.com'],
  ['EMAIL', 'a@xn--d1acufc.xn--p1ai'],
  ['EMAIL', 'иван@пример.рф'],
  ['EMAIL', 'josé@exämple.de'],
  ['EMAIL', 'e\u0301@c.com'],
  ['EMAIL', 'info@example.xn--11b4c3d'],
  ['URL', 'https://example.com/path?q=1&r=2'],
  ['URL', 'www.example.org/about'],
  ['URL', 'http://192.168.0.1:8080/admin'],
  ['URL', 'http://пример.рф/'],
  ['URL', 'https://xn--e1afmkfd.xn--p1ai/контакты'],
  ['URL', 'www.пример.рф'],
  ['IPV4', '192.168.0.1'],
  ['IPV4', '8.8.8.8'],
  ['IPV4', '255.255.255.255'],
  ['IPV6', '2001:0db8:85a3:0000:0000:8a2e:0370:7334'],
  ['IPV6', '2001:db8::8a2e:370:7334'],
  ['IPV6', 'fe80::1'],
  ['IPV6', '::ffff:192.0.2.128'],
  ['IPV6', 'FE80::0202:B3FF:FE1E:8329'],
  ['MAC', '00:1A:2B:3C:4D:5E'],
  ['MAC', '00-1a-2b-3c-4d-5e'],
  ['MAC', '001a.2b3c.4d5e'],
  ['MAC', '00:00:00:00:00:01'],
  ['MAC', 'FF:FF:FF:FF:FF:FE'],
  ['VEHICLEVIN', '1HGCM82633A004352'],
  ['VEHICLEVIN', '1M8GDM9AXKP042788'],
  ['ETHEREUMADDRESS', '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'],
  ['ETHEREUMADDRESS', '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359'],
  ['ETHEREUMADDRESS', '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed'],
  ['ETHEREUMADDRESS', '0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED'],
  ['BITCOINADDRESS', '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa'],
  ['BITCOINADDRESS', '3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy'],
  ['BITCOINADDRESS', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4'],
  ['BITCOINADDRESS', 'BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4'],
  ['BITCOINADDRESS', 'bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y'],
  ['LITECOINADDRESS', 'Lg3PX8wRWmApFCoCMAsPF5P9dPHYQHEWKW'],
  ['LITECOINADDRESS', 'LTuoeY6RBHV3n3cfhXVVTbJbxzxnXs9ofm'],
  ['LITECOINADDRESS', 'MGEW4aba3tnrVtVhGcmoqqHaLt5ymPSLPi'],
  ['LITECOINADDRESS', 'ltc1qxtm55gultqzhqzl2p3ks50hg2478y3hehuj6dz'],
];

// Almost valid: one character off, a wrong length, or a shape that only resembles the kind.
const INVALID: Array<[why: string, value: string]> = [
  ['card with wrong Luhn digit', '4111 1111 1111 1112'],
  ['Amex with wrong Luhn digit', '378282246310006'],
  ['Luhn-valid digits of no card industry', '1234567812345670'],
  ['card digits grouped oddly', '41 11 11 11 11 11 11 11'],
  ['card with mixed separators', '4111-1111 1111-1111'],
  ['IMEI with wrong Luhn digit', '490154203237519'],
  ['UATP card with wrong Luhn digit', '135410014004956'],
  ['15 Luhn-valid digits of no IMEI body or card industry', '712345678901230'],
  ['IBAN with wrong check', 'DE89 3704 0044 0532 0130 01'],
  ['IBAN with swapped digits', 'GB82WEST12345698765423'],
  ['IBAN one character short', 'DE89370400440532013'],
  ['IBAN of an unknown country', 'ZZ89370400440532013000'],
  ['dashed IBAN with wrong check', 'AL47-2121-1009-0000-0002-3569-8742'],
  ['IBAN with mixed separators', 'AL47-2121 1009-0000-0002-3569-8741'],
  ['IBAN with a doubled dash', 'AL47--2121-1009-0000-0002-3569-8741'],
  ['dashed IBAN continued by more characters', 'AL47-2121-1009-0000-0002-3569-8741-77'],
  ['BIC-shaped word without context', 'BUSINESS'],
  ['BIC without digit or context', 'DEUTDEFF'],
  ['BIC with an unknown country', 'ABCDXY12'],
  ['e-mail with double dot', 'jane..doe@example.com'],
  ['e-mail without top-level domain', 'jane@example'],
  ['e-mail starting with a dot', '.jane@example.com'],
  ['e-mail on a top-level domain with a digit', 'jane@example.c0m'],
  ['e-mail on punycode that does not decode', 'jane@example.xn--zz'],
  ['e-mail on a punycode label that does not decode', 'jane@xn--zz.com'],
  ['URL without a host', 'http://'],
  ['URL with a single-label host', 'https://intranet/path'],
  ['URL on punycode that does not decode', 'https://example.xn--zz/'],
  ['IPv4 octet over 255', '256.1.1.1'],
  ['IPv4 with a leading zero', '192.168.01.1'],
  ['five dotted numbers', '1.2.3.4.5'],
  ['a version tag', 'v1.2.3.4'],
  ['dotted numbers glued to letters', 'IP192.168.1.1text'],
  ['dotted numbers followed by letters', '10.0.0.1abc'],
  ['IPv6 with two ::', '2001:db8::85a3::7334'],
  ['IPv6 with nine groups', '2001:db8:85a3:0:0:8a2e:370:7334:1'],
  ['IPv6 with an invalid IPv4 tail', '::ffff:999.0.2.128'],
  ['a time of day', '12:30:45'],
  ['MAC with five octets', '00:1A:2B:3C:4D'],
  ['MAC with mixed separators', '00:1A-2B:3C:4D:5E'],
  ['MAC with seven octets', '00:1A:2B:3C:4D:5E:6F'],
  ['the broadcast MAC', 'ff:ff:ff:ff:ff:ff'],
  ['the broadcast MAC, dashed', 'FF-FF-FF-FF-FF-FF'],
  ['the broadcast MAC, dotted', 'ffff.ffff.ffff'],
  ['the all-zero MAC', '00:00:00:00:00:00'],
  ['dotted digits only', '1234.5678.9012'],
  ['VIN with wrong check digit', '1HGCM82653A004352'],
  ['VIN with the letter O', '1HGCM82633A0O4352'],
  ['VIN of digits only', '11111111111111111'],
  ['Ethereum with a wrong EIP-55 case', '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD'],
  ['Ethereum with 39 hex digits', '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae'],
  ['Bitcoin with wrong checksum', '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb'],
  ['Bitcoin bech32 with wrong checksum', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5'],
  ['bech32 with mixed case', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3T4'],
  ['witness v1 with a bech32 (not bech32m) checksum', 'bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx'],
  ['witness v0 with a bech32m checksum', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh'],
  ['Litecoin with wrong checksum', 'Lg3PX8wRWmApFCoCMAsPF5P9dPHYQHEWKX'],
  ['Litecoin bech32 with wrong checksum', 'ltc1qxtm55gultqzhqzl2p3ks50hg2478y3hehuj6da'],
];

t.test('finds every valid value, exactly, inside a sentence', async (t) => {
  for (const [label, value] of VALID) {
    const text = `Here it is: ${value}. Thanks!`;
    t.same(
      detectRules(text).map((f) => [f.pii_type, f.string, f.start, f.end]),
      [[label, value, 12, 12 + value.length]],
      `${label} ${value}`,
    );
  }
});

t.test('never reports an almost-valid value', async (t) => {
  for (const [why, value] of INVALID) t.same(detectRules(`Here it is: ${value}. Thanks!`), [], why);
});

t.test('a BIC without digits counts after "BIC" or "SWIFT"', async (t) => {
  t.same(detectRules('BIC: DEUTDEFF').map((f) => f.string), ['DEUTDEFF']);
  t.same(detectRules('SWIFT code NEDSZAJJXXX, please').map((f) => f.string), ['NEDSZAJJXXX']);
  t.same(detectRules('OUR BUSINESS IS BOOMING'), []);
});

t.test('a value is cut at its end, not swallowed by neighbouring text', async (t) => {
  const cases: Array<[text: string, expected: string]> = [
    ['Pay to DE89 3704 0044 0532 0130 00 EUR 100', 'DE89 3704 0044 0532 0130 00'],
    ['MAC:00:1A:2B:3C:4D:5E', '00:1A:2B:3C:4D:5E'],
    ['(see https://en.wikipedia.org/wiki/Foo_(bar)).', 'https://en.wikipedia.org/wiki/Foo_(bar)'],
    ['Connect to fe80::1: done', 'fe80::1'],
    ['order 12 card 4111 1111 1111 1111 exp 2027', '4111 1111 1111 1111'],
  ];
  for (const [text, expected] of cases) t.same(detectRules(text).map((f) => f.string), [expected], text);
});

t.test('addresses are bounded by the text around them', async (t) => {
  const cases: Array<[text: string, expected: Array<[label: string, value: string]>]> = [
    ['IP: 192.168.1.1.', [['IPV4', '192.168.1.1']]],
    ['ip=10.0.0.1, gw (10.0.0.254)', [['IPV4', '10.0.0.1'], ['IPV4', '10.0.0.254']]],
    ['release v1.2.3.4 on host IP192.168.1.1text', []],
    // Scripts without spaces between words write the next word right against an address.
    ['我的邮箱是zhang@qq.com谢谢', [['EMAIL', 'zhang@qq.com']]],
    ['地址192.168.1.1。', [['IPV4', '192.168.1.1']]],
    ['Mail an jürgen@müller.de.', [['EMAIL', 'jürgen@müller.de']]],
    ['IBAN: AL47-2121-1009-0000-0002-3569-8741, BIC next', [['IBAN', 'AL47-2121-1009-0000-0002-3569-8741']]],
  ];
  for (const [text, expected] of cases) t.same(detectRules(text).map((f) => [f.pii_type, f.string]), expected, text);
});

t.test('an e-mail with a combining mark or an astral letter gets code-point offsets', async (t) => {
  const text = '😀 Mail e\u0301@c.com or 𝒶li@пример.рф 😀';
  const result = await redactDocument({ text, mode: 'label', detectors: 'rules', spec: loadRedactorSpec() });
  t.same(
    result.entities.map((e) => [e.pii_type, e.string, e.start, e.end]),
    [['EMAIL', 'e\u0301@c.com', 7, 15], ['EMAIL', '𝒶li@пример.рф', 19, 32]],
  );
  const codePoints = [...text];
  for (const e of result.entities) t.equal(codePoints.slice(e.start, e.end).join(''), e.string);
  t.equal(result.redacted_text, '😀 Mail [EMAIL] or [EMAIL] 😀');
});

t.test('a value inside a longer finding is not reported twice', async (t) => {
  const findings = detectRules('see http://192.168.0.1/admin and 10.0.0.1');
  t.same(findings.map((f) => [f.pii_type, f.string]), [['URL', 'http://192.168.0.1/admin'], ['IPV4', '10.0.0.1']]);
});

t.test('labels restrict the findings', async (t) => {
  const text = 'mail jane@example.com from 10.0.0.1';
  t.same(detectRules(text, { labels: ['IPV4'] }).map((f) => f.pii_type), ['IPV4']);
  t.same(detectRules(text, { labels: ['FIRSTNAME'] }), []);
  t.same(detectRules(text).map((f) => f.pii_type), ['EMAIL', 'IPV4']);
});

t.test('findings are sorted by position and offsets slice the text', async (t) => {
  const text = 'IBAN GB82WEST12345698765432, card 4111111111111111, mail a@b.de, ip 1.2.3.4';
  const findings = detectRules(text);
  t.same(findings.map((f) => f.pii_type), ['IBAN', 'CREDITCARDNUMBER', 'EMAIL', 'IPV4']);
  for (const f of findings) t.equal(text.slice(f.start, f.end), f.string);
});

t.test('RULE_LABELS lists the labels the detectors produce', async (t) => {
  t.same([...RULE_LABELS].sort(), [...new Set(VALID.map(([label]) => label))].sort());
});

t.test('trimUrlEnd keeps balanced brackets and drops punctuation', async (t) => {
  t.equal(trimUrlEnd('https://x.org/a_(b)'), 'https://x.org/a_(b)');
  t.equal(trimUrlEnd('https://x.org/a).'), 'https://x.org/a');
  t.equal(trimUrlEnd('https://x.org/?q=1",'), 'https://x.org/?q=1');
});
