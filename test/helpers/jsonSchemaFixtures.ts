/** JSON schemas that a decoding run under their grammar must finish, and how a test checks the output. */
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { JsonWhitespaceStyle } from '../../src/translate/jsonSchemaGrammar.js';

const ajv = new Ajv2020.default({ strict: false });
addFormats.default(ajv);

const PII_LABELS = [
  'ACCOUNTNAME', 'ACCOUNTNUMBER', 'AGE', 'AMOUNT', 'BIC', 'BITCOINADDRESS', 'BUILDINGNUMBER', 'CITY', 'COMPANYNAME',
  'COUNTY', 'CREDITCARDCVV', 'CREDITCARDISSUER', 'CREDITCARDNUMBER', 'CURRENCY', 'CURRENCYCODE', 'CURRENCYNAME',
  'CURRENCYSYMBOL', 'DATE', 'DOB', 'EMAIL', 'ETHEREUMADDRESS', 'EYECOLOR', 'FIRSTNAME', 'GENDER', 'HEIGHT', 'IBAN',
  'IP', 'IPV4', 'IPV6', 'JOBAREA', 'JOBTITLE', 'JOBTYPE', 'LASTNAME', 'LITECOINADDRESS', 'MAC', 'MASKEDNUMBER',
  'MIDDLENAME', 'NEARBYGPSCOORDINATE', 'ORDINALDIRECTION', 'PASSWORD', 'PHONEIMEI', 'PHONENUMBER', 'PIN', 'PREFIX',
  'SECONDARYADDRESS', 'SEX', 'SSN', 'STATE', 'STREET', 'TIME', 'URL', 'USERAGENT', 'USERNAME', 'VEHICLEVIN',
  'VEHICLEVRM', 'ZIPCODE',
];

export function redactParameters(stringSchema: object, maxItems?: number) {
  return {
    type: 'object',
    properties: {
      fields_to_redact: {
        type: 'array',
        ...(maxItems === undefined ? {} : { maxItems }),
        items: {
          type: 'object',
          properties: { string: { type: 'string', ...stringSchema }, pii_type: { type: 'string', enum: PII_LABELS } },
          required: ['string', 'pii_type'],
          additionalProperties: false,
        },
      },
    },
    required: ['fields_to_redact'],
  };
}

// Strings are bounded wherever a run must finish: inside a string the behaviour model keeps saying " W".
export const FINISHING: Record<string, { schema: object; style?: JsonWhitespaceStyle }> = {
  'nested objects': {
    schema: {
      type: 'object',
      properties: {
        user: {
          type: 'object',
          properties: { name: { type: 'string', maxLength: 6 }, age: { type: 'integer', minimum: 0, maximum: 130 }, admin: { type: 'boolean' } },
          required: ['name', 'age'],
          additionalProperties: false,
        },
        active: { type: 'boolean' },
      },
      required: ['user', 'active'],
      additionalProperties: false,
    },
  },
  'array of objects': {
    schema: {
      type: 'array',
      minItems: 1,
      maxItems: 3,
      items: { type: 'object', properties: { id: { type: 'integer', minimum: 1, maximum: 999 }, ok: { type: 'boolean' } }, required: ['id', 'ok'], additionalProperties: false },
    },
  },
  'enum and const': {
    schema: { type: 'object', properties: { colour: { enum: ['red', 'green', 'blue', null, 42] }, version: { const: 'v1' } }, required: ['colour', 'version'], additionalProperties: false },
  },
  anyOf: {
    schema: { type: 'array', maxItems: 4, items: { anyOf: [{ type: 'boolean' }, { type: 'integer', minimum: -9, maximum: 9 }, { type: 'string', maxLength: 3 }, { type: 'object', properties: { k: { type: 'null' } }, required: ['k'], additionalProperties: false }] } },
  },
  'nullable types': {
    schema: { type: 'object', properties: { a: { type: ['integer', 'null'], minimum: 0, maximum: 50 }, b: { type: ['boolean', 'null'] }, c: { anyOf: [{ type: 'string', maxLength: 4 }, { type: 'null' }] } }, required: ['a', 'b', 'c'], additionalProperties: false },
  },
  'required and optional, additionalProperties false': {
    schema: {
      type: 'object',
      properties: { o1: { type: 'boolean' }, r1: { enum: ['x', 'y'] }, o2: { type: 'null' }, o3: { type: 'integer', minimum: 0, maximum: 9 }, r2: { type: 'boolean' }, o4: { type: 'boolean' } },
      required: ['r1', 'r2'],
      additionalProperties: false,
    },
  },
  '$defs and recursive $ref (tree)': {
    schema: {
      $defs: {
        node: {
          type: 'object',
          properties: { v: { type: 'integer', minimum: 0, maximum: 9 }, kids: { type: 'array', maxItems: 2, items: { $ref: '#/$defs/node' } } },
          required: ['v'],
          additionalProperties: false,
        },
      },
      $ref: '#/$defs/node',
    },
  },
  oneOf: {
    schema: { oneOf: [{ type: 'object', properties: { kind: { const: 'circle' }, r: { type: 'integer', minimum: 1, maximum: 9 } }, required: ['kind', 'r'] }, { type: 'object', properties: { kind: { const: 'square' }, side: { type: 'integer', minimum: 1, maximum: 9 } }, required: ['kind', 'side'] }] },
  },
  formats: {
    schema: { type: 'object', properties: { day: { type: 'string', format: 'date' }, at: { type: 'string', format: 'date-time' }, id: { type: 'string', format: 'uuid' } }, required: ['day', 'at', 'id'] },
  },
  'PII redactor parameters, strings bounded': { schema: redactParameters({ maxLength: 10 }, 3) },
  'PII redactor parameters, compact': { schema: redactParameters({ maxLength: 6 }, 2), style: 'compact' },
};

/** An object schema `depth` levels deep around an integer: {"v": {"v": … 7}}. */
export function nestedObjects(depth: number): unknown {
  let schema: unknown = { type: 'integer' };
  for (let i = 0; i < depth; i++) schema = { type: 'object', properties: { v: schema }, required: ['v'] };
  return schema;
}

/**
 * `length` $defs, each a reference to the one before (d0 is a boolean), and a root made by `root` from a
 * reference to the last (by default the reference itself).
 */
export function defsChain(length: number, root: (last: { $ref: string }) => object = (last) => last) {
  const $defs: Record<string, unknown> = { d0: { type: 'boolean' } };
  for (let i = 1; i < length; i++) $defs[`d${i}`] = { $ref: `#/$defs/d${i - 1}` };
  return { $defs, ...root({ $ref: `#/$defs/d${length - 1}` }) };
}

/** Why `text` is not a JSON value valid against `schema`, or undefined when it is. */
export function schemaViolation(schema: object, text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `not JSON: ${String(error)}`;
  }
  const validate = ajv.compile(schema);
  return validate(value) ? undefined : ajv.errorsText(validate.errors);
}

