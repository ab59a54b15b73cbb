import { SchemaLimitError } from './jsonSchemaErrors.js';

/** The limits on what one schema may cost; each is a server option of the same name. */
export interface JsonSchemaLimits {
  /** JSON values in one schema document: every object, array, string, number, boolean and null. */
  maxSchemaNodes: number;
  /** JSON nesting of one schema document, and subschemas nested while converting it, `$ref`s followed included. */
  maxSchemaDepth: number;
  /** `enum` values (and `const`s) in one schema, all together. */
  maxSchemaEnumValues: number;
  /** UTF-8 bytes of one output grammar, each bounded repetition counted as written out (see GbnfRuleSet). */
  maxGrammarBytes: number;
}

export const DEFAULT_JSON_SCHEMA_LIMITS: Readonly<JsonSchemaLimits> = Object.freeze({
  maxSchemaNodes: 20_000,
  maxSchemaDepth: 64,
  maxSchemaEnumValues: 10_000,
  maxGrammarBytes: 1024 * 1024,
});

/**
 * Counts a schema document's values, nesting and enum values without recursion and stops at the first limit
 * passed, so the check costs nothing like what converting an oversized schema would.
 */
export function checkSchemaSize(schema: unknown, limits: JsonSchemaLimits, source: string): void {
  let nodes = 1;
  let enumValues = 0;
  const pending: Array<[value: unknown, depth: number]> = [[schema, 1]];
  // Values are counted as they are queued, so an object with a million keys stops at the limit.
  const queue = (value: unknown, depth: number) => {
    if (++nodes > limits.maxSchemaNodes) throw new SchemaLimitError('maxSchemaNodes', limits.maxSchemaNodes, source);
    if (value !== null && typeof value === 'object') pending.push([value, depth]);
  };
  while (pending.length > 0) {
    const [value, depth] = pending.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > limits.maxSchemaDepth) throw new SchemaLimitError('maxSchemaDepth', limits.maxSchemaDepth, source);
    if (Array.isArray(value)) {
      for (const item of value) queue(item, depth + 1);
      continue;
    }
    const object = value as Record<string, unknown>;
    // Keys of `properties` could be called "enum" too; counting them as well errs on the safe side.
    if (Array.isArray(object.enum)) enumValues += object.enum.length;
    if ('const' in object) enumValues++;
    if (enumValues > limits.maxSchemaEnumValues) throw new SchemaLimitError('maxSchemaEnumValues', limits.maxSchemaEnumValues, source);
    for (const key in object) if (Object.hasOwn(object, key)) queue(object[key], depth + 1);
  }
}
