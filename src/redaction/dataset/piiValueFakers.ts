import type { Faker } from '@faker-js/faker';
import type { PiiLanguage } from './PiiRow.js';

/** Makes one realistic value of a label, in the conventions of a language. */
export type PiiValueFaker = (faker: Faker, language: PiiLanguage) => string;

// Faker has no eye colours, and its colour names are not eye colours: the one closed
// vocabulary written here.
const EYE_COLORS: Record<PiiLanguage, readonly string[]> = {
  en: ['brown', 'blue', 'green', 'hazel', 'grey', 'amber'],
  fr: ['marron', 'bleus', 'verts', 'noisette', 'gris'],
  de: ['braun', 'blau', 'grün', 'haselnussbraun', 'grau'],
  it: ['marroni', 'azzurri', 'verdi', 'nocciola', 'grigi'],
};

const INTL_LOCALE: Record<PiiLanguage, string> = { en: 'en-US', fr: 'fr-FR', de: 'de-DE', it: 'it-IT' };
const IBAN_COUNTRY: Record<PiiLanguage, string> = { en: 'GB', fr: 'FR', de: 'DE', it: 'IT' };

// National identifier shapes: US SSN, French NIR, German social insurance number, Italian codice fiscale.
const SSN_PATTERN: Record<PiiLanguage, string> = {
  en: '###-##-####',
  fr: '# ## ## ## ### ### ##',
  de: '## ###### ? ###',
  it: '??????##?##?###?',
};

function formatDate(faker: Faker, language: PiiLanguage, date: Date): string {
  const style = faker.helpers.arrayElement(['numeric', 'long', 'medium'] as const);
  const options: Intl.DateTimeFormatOptions =
    style === 'numeric' ? { year: 'numeric', month: '2-digit', day: '2-digit' } : { dateStyle: style };
  return plainSpaces(new Intl.DateTimeFormat(INTL_LOCALE[language], { ...options, timeZone: 'UTC' }).format(date));
}

function formatTime(faker: Faker, language: PiiLanguage): string {
  const date = faker.date.anytime();
  const hour12 = language === 'en' && faker.datatype.boolean();
  return plainSpaces(new Intl.DateTimeFormat(INTL_LOCALE[language], { hour: '2-digit', minute: '2-digit', hour12, timeZone: 'UTC' }).format(date));
}

// ICU puts narrow no-break spaces into times and dates; people type plain spaces.
function plainSpaces(text: string): string {
  return text.replace(/[\u00a0\u202f]/g, ' ');
}

function formatHeight(faker: Faker, language: PiiLanguage): string {
  const centimetres = faker.number.int({ min: 150, max: 200 });
  if (language === 'en' && faker.datatype.boolean()) {
    const inches = Math.round(centimetres / 2.54);
    return `${Math.floor(inches / 12)}'${inches % 12}"`;
  }
  return faker.datatype.boolean() ? `${centimetres} cm` : `${(centimetres / 100).toFixed(2).replace('.', language === 'en' ? '.' : ',')} m`;
}

function currencySymbol(faker: Faker): string {
  // Some currencies have no symbol in Faker's table; a few draws always find one.
  for (let i = 0; i < 20; i++) {
    const symbol = faker.finance.currencySymbol();
    if (symbol.trim() !== '') return symbol;
  }
  return '€';
}

function gpsCoordinate(faker: Faker): string {
  const [latitude, longitude] = faker.location.nearbyGPSCoordinate();
  return `[${latitude},${longitude}]`;
}

/** One faker per label of pii-masking-200k, named as the data set names them. */
export const PII_VALUE_FAKERS: Readonly<Record<string, PiiValueFaker>> = {
  ACCOUNTNAME: (f) => f.finance.accountName(),
  ACCOUNTNUMBER: (f) => f.finance.accountNumber(f.helpers.arrayElement([8, 10, 12])),
  AGE: (f) => String(f.number.int({ min: 16, max: 95 })),
  AMOUNT: (f) => f.finance.amount({ min: 1, max: 50_000, dec: f.helpers.arrayElement([0, 2]) }),
  BIC: (f) => f.finance.bic(),
  BITCOINADDRESS: (f) => f.finance.bitcoinAddress(),
  BUILDINGNUMBER: (f) => f.location.buildingNumber(),
  CITY: (f) => f.location.city(),
  COMPANYNAME: (f) => f.company.name(),
  COUNTY: (f) => f.location.county(),
  CREDITCARDCVV: (f) => f.finance.creditCardCVV(),
  CREDITCARDISSUER: (f) => f.helpers.arrayElement(['Visa', 'Mastercard', 'American Express', 'Discover', 'JCB', 'Maestro']),
  CREDITCARDNUMBER: (f) => f.finance.creditCardNumber(),
  CURRENCY: (f) => f.finance.currency().name,
  CURRENCYCODE: (f) => f.finance.currencyCode(),
  CURRENCYNAME: (f) => f.finance.currencyName(),
  CURRENCYSYMBOL: (f) => currencySymbol(f),
  DATE: (f, language) => formatDate(f, language, f.date.between({ from: '2015-01-01T00:00:00Z', to: '2026-12-31T00:00:00Z' })),
  DOB: (f, language) => formatDate(f, language, f.date.birthdate({ min: 18, max: 90, mode: 'age', refDate: '2025-01-01T00:00:00Z' })),
  EMAIL: (f) => f.internet.email(),
  ETHEREUMADDRESS: (f) => f.finance.ethereumAddress(),
  EYECOLOR: (f, language) => f.helpers.arrayElement(EYE_COLORS[language]),
  FIRSTNAME: (f) => f.person.firstName(),
  GENDER: (f) => f.person.gender(),
  HEIGHT: (f, language) => formatHeight(f, language),
  IBAN: (f, language) => f.finance.iban({ formatted: f.datatype.boolean(), countryCode: IBAN_COUNTRY[language] }),
  IP: (f) => f.internet.ip(),
  IPV4: (f) => f.internet.ipv4(),
  IPV6: (f) => f.internet.ipv6(),
  JOBAREA: (f) => f.person.jobArea(),
  JOBTITLE: (f) => f.person.jobTitle(),
  JOBTYPE: (f) => f.person.jobType(),
  LASTNAME: (f) => f.person.lastName(),
  LITECOINADDRESS: (f) => f.finance.litecoinAddress(),
  MAC: (f) => f.internet.mac(),
  MASKEDNUMBER: (f) => f.helpers.replaceSymbols(f.helpers.arrayElement(['************####', '**** **** **** ####', 'XXXX-XXXX-XXXX-####'])),
  MIDDLENAME: (f) => f.person.middleName(),
  NEARBYGPSCOORDINATE: (f) => gpsCoordinate(f),
  ORDINALDIRECTION: (f) => f.location.ordinalDirection(),
  PASSWORD: (f) => f.internet.password({ length: f.number.int({ min: 8, max: 16 }) }),
  PHONEIMEI: (f) => f.phone.imei(),
  PHONENUMBER: (f) => f.phone.number(),
  PIN: (f) => f.finance.pin(),
  PREFIX: (f) => f.person.prefix(),
  SECONDARYADDRESS: (f) => f.location.secondaryAddress(),
  SEX: (f) => f.person.sex(),
  SSN: (f, language) => f.helpers.replaceSymbols(SSN_PATTERN[language]),
  STATE: (f) => f.location.state(),
  STREET: (f) => f.location.street(),
  TIME: (f, language) => formatTime(f, language),
  URL: (f) => f.internet.url(),
  USERAGENT: (f) => f.internet.userAgent(),
  USERNAME: (f) => f.internet.username(),
  VEHICLEVIN: (f) => f.vehicle.vin(),
  VEHICLEVRM: (f) => f.vehicle.vrm(),
  ZIPCODE: (f) => f.location.zipCode(),
};
