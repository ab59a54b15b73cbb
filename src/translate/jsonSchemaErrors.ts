/**
 * Why a JSON schema cannot become a grammar. The server maps it to a 400: decoding under a grammar that ignored
 * a keyword could produce output the schema forbids, so such schemas are refused instead.
 */
export type UnsupportedSchemaReason =
  /** A keyword (or keyword value) no grammar here can honour. */
  | 'unsupported'
  /** The keyword's value is not valid JSON Schema. */
  | 'invalid'
  /** No JSON value satisfies the schema, so there is nothing to generate. */
  | 'unsatisfiable';

export class UnsupportedSchemaError extends Error {
  override readonly name = 'UnsupportedSchemaError';

  constructor(
    /** The keyword at fault, e.g. "pattern". */
    readonly keyword: string,
    /** JSON pointer of the schema holding the keyword ("" for the root). */
    readonly path: string,
    /** Where the schema came from, e.g. "response_format.json_schema" or "tools[0].function.parameters". */
    readonly source: string,
    readonly reason: UnsupportedSchemaReason = 'unsupported',
    detail?: string,
  ) {
    const where = path === '' ? 'the schema root' : path;
    const verdict = reason === 'unsupported' ? 'is not supported' : reason === 'invalid' ? 'is invalid' : 'cannot be satisfied';
    super(`${source}: "${keyword}" at ${where} ${verdict}${detail ? ` (${detail})` : ''}`);
  }
}

import type { JsonSchemaLimits } from './jsonSchemaLimits.js';

const LIMIT_WORDING: Record<keyof JsonSchemaLimits, string> = {
  maxSchemaNodes: 'JSON values',
  maxSchemaDepth: 'levels of nesting',
  maxSchemaEnumValues: 'enum and const values',
  maxGrammarBytes: 'bytes of output grammar',
};

/**
 * A schema over one of the JsonSchemaLimits. Thrown before the large part of the work (or, for the grammar size,
 * as soon as the grammar being built passes it), so a schema bomb costs no more memory than its own text.
 */
export class SchemaLimitError extends Error {
  override readonly name = 'SchemaLimitError';

  constructor(
    readonly limit: keyof JsonSchemaLimits,
    readonly value: number,
    /** Where the schema came from, as in UnsupportedSchemaError. */
    readonly source: string,
  ) {
    super(`${source}: the schema needs more than ${value} ${LIMIT_WORDING[limit]}, this server's limit`);
  }
}
