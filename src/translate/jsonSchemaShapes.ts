/**
 * Coarse facts about what a schema can match, used to prove that the alternatives of a `oneOf` never match the
 * same value (then `oneOf` may be generated as a plain union: whatever one branch yields fails every other).
 */

export type JsonKind = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';

/** The JSON type of a parsed value; whole numbers are "integer". */
export function jsonKind(value: unknown): JsonKind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'boolean': return 'boolean';
    case 'number': return Number.isInteger(value) ? 'integer' : 'number';
    case 'string': return 'string';
    default: return 'object';
  }
}

/** Whether `value` is of one of the JSON types `kinds` (an integer is also a number). */
export function hasKind(value: unknown, kinds: readonly JsonKind[]): boolean {
  const kind = jsonKind(value);
  return kinds.includes(kind) || (kind === 'integer' && kinds.includes('number'));
}

/** JSON with sorted keys: equal for values JSON Schema considers equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Without `type`, the types whose keywords the schema uses: generating only those is still valid (a keyword
 * such as `properties` constrains objects alone). Undefined when there are none, meaning any value.
 */
export function inferKinds(schema: Record<string, unknown>): JsonKind[] | undefined {
  const has = (...keywords: string[]) => keywords.some((keyword) => keyword in schema);
  const kinds: JsonKind[] = [];
  if (has('properties', 'required', 'additionalProperties')) kinds.push('object');
  if (has('items', 'prefixItems', 'additionalItems', 'minItems', 'maxItems')) kinds.push('array');
  if (has('minLength', 'maxLength', 'format')) kinds.push('string');
  if (has('minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum')) kinds.push('integer');
  return kinds.length > 0 ? kinds : undefined;
}

export interface ResolvedRef {
  /** Canonical JSON pointer of the target. */
  pointer: string;
  target: unknown;
}

/** Resolves a same-document `$ref` ("#" or "#/json/pointer"); returns a reason string when it cannot. */
export function resolveLocalRef(root: unknown, ref: string): ResolvedRef | { problem: 'external' | 'anchor' | 'malformed' | 'missing' } {
  if (!ref.startsWith('#')) return { problem: 'external' };
  let fragment: string;
  try {
    fragment = decodeURIComponent(ref.slice(1));
  } catch {
    return { problem: 'malformed' };
  }
  if (fragment !== '' && !fragment.startsWith('/')) return { problem: 'anchor' };
  const segments = fragment === '' ? [] : fragment.slice(1).split('/').map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node = root;
  for (const segment of segments) {
    if (Array.isArray(node) && /^(0|[1-9][0-9]*)$/.test(segment) && Number(segment) < node.length) node = node[Number(segment)];
    else if (node !== null && typeof node === 'object' && !Array.isArray(node) && Object.hasOwn(node, segment)) node = (node as Record<string, unknown>)[segment];
    else return { problem: 'missing' };
  }
  return { pointer: segments.map((segment) => `/${segment.replace(/~/g, '~0').replace(/\//g, '~1')}`).join(''), target: node };
}

// Integers and numbers overlap, so for exclusivity both count as "number".
type ShapeKind = Exclude<JsonKind, 'integer'>;
const ALL_KINDS: readonly ShapeKind[] = ['null', 'boolean', 'number', 'string', 'array', 'object'];
const shapeKind = (kind: JsonKind): ShapeKind => (kind === 'integer' ? 'number' : kind);

interface Shape {
  kinds: Set<ShapeKind>;
  /** Canonical JSON of every value, when the schema allows only finitely many. */
  values?: Map<string, unknown>;
  /** For objects: required properties whose value is one of a finite set (canonical JSON). */
  discriminators: Map<string, Set<string>>;
}

type Mode = 'generated' | 'accepted';

/** References followed in a row before giving up on knowing the shape; keeps the recursion shallow. */
const MAX_REFERENCE_CHAIN = 64;

const anything = (): Shape => ({ kinds: new Set(ALL_KINDS), discriminators: new Map() });

function finite(values: unknown[]): Shape {
  return {
    kinds: new Set(values.map((value) => shapeKind(jsonKind(value)))),
    values: new Map(values.map((value) => [canonicalJson(value), value])),
    discriminators: new Map(),
  };
}

function union(shapes: Shape[]): Shape {
  const kinds = new Set(shapes.flatMap((shape) => [...shape.kinds]));
  const values = shapes.every((shape) => shape.values) ? new Map(shapes.flatMap((shape) => [...shape.values!])) : undefined;
  // A property discriminates the union only if every branch that allows objects pins it down.
  const objectBranches = shapes.filter((shape) => shape.kinds.has('object'));
  const discriminators = new Map<string, Set<string>>();
  if (objectBranches.length > 0 && objectBranches.every((shape) => !shape.values)) {
    for (const [name] of objectBranches[0].discriminators) {
      if (objectBranches.every((shape) => shape.discriminators.has(name))) {
        discriminators.set(name, new Set(objectBranches.flatMap((shape) => [...shape.discriminators.get(name)!])));
      }
    }
  }
  return { kinds, values, discriminators };
}

/**
 * What a schema may match. "accepted": a superset of what a validator accepts. "generated": a superset of what
 * the grammar for it produces (narrower for schemas without `type`, see inferKinds).
 */
function shapeOf(schema: unknown, root: unknown, mode: Mode, visiting: Set<string>): Shape {
  if (schema === false) return finite([]);
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return anything();
  const s = schema as Record<string, unknown>;

  if (typeof s.$ref === 'string') {
    const resolved = resolveLocalRef(root, s.$ref);
    // A long chain of references is cut short: "anything" only makes a oneOf less likely to be proven exclusive.
    if (!('pointer' in resolved) || visiting.has(resolved.pointer) || visiting.size >= MAX_REFERENCE_CHAIN) return anything();
    const inner = new Set(visiting).add(resolved.pointer);
    return shapeOf(resolved.target, root, mode, inner);
  }
  for (const keyword of ['anyOf', 'oneOf'] as const) {
    const list = s[keyword];
    if (Array.isArray(list)) return union(list.map((branch) => shapeOf(branch, root, mode, visiting)));
  }
  if (Array.isArray(s.allOf)) return s.allOf.length === 1 ? shapeOf(s.allOf[0], root, mode, visiting) : anything();

  const typeNames = typeof s.type === 'string' ? [s.type] : Array.isArray(s.type) ? s.type : undefined;
  const kinds = typeNames as JsonKind[] | undefined;
  if ('enum' in s || 'const' in s) {
    let values = 'enum' in s ? (Array.isArray(s.enum) ? s.enum : []) : [s.const];
    if ('enum' in s && 'const' in s) values = values.filter((value) => canonicalJson(value) === canonicalJson(s.const));
    return finite(kinds ? values.filter((value) => hasKind(value, kinds)) : values);
  }

  const effective = kinds ?? (mode === 'generated' ? inferKinds(s) : undefined);
  const shape: Shape = effective ? { kinds: new Set(effective.map(shapeKind)), discriminators: new Map() } : anything();
  if (shape.kinds.has('object') && Array.isArray(s.required) && s.properties !== null && typeof s.properties === 'object') {
    const properties = s.properties as Record<string, unknown>;
    for (const name of s.required) {
      if (typeof name !== 'string' || !Object.hasOwn(properties, name)) continue;
      const values = shapeOf(properties[name], root, mode, visiting).values;
      if (values) shape.discriminators.set(name, new Set(values.keys()));
    }
  }
  return shape;
}

/** Whether a value could belong to a shape with infinitely many values. */
function mayContain(shape: Shape, value: unknown): boolean {
  if (!shape.kinds.has(shapeKind(jsonKind(value)))) return false;
  if (jsonKind(value) !== 'object') return true;
  const object = value as Record<string, unknown>;
  for (const [name, allowed] of shape.discriminators) {
    if (!Object.hasOwn(object, name) || !allowed.has(canonicalJson(object[name]))) return false;
  }
  return true;
}

/** Whether nothing `generated` yields can be matched by `accepted`. */
function disjoint(generated: Shape, accepted: Shape): boolean {
  if (generated.values && accepted.values) return [...generated.values.keys()].every((key) => !accepted.values!.has(key));
  if (generated.values) return [...generated.values.values()].every((value) => !mayContain(accepted, value));
  if (accepted.values) return [...accepted.values.values()].every((value) => !mayContain(generated, value));
  for (const kind of generated.kinds) {
    if (!accepted.kinds.has(kind)) continue;
    if (kind !== 'object') return false;
    const split = [...generated.discriminators].some(([name, values]) => {
      const other = accepted.discriminators.get(name);
      return other !== undefined && [...values].every((value) => !other.has(value));
    });
    if (!split) return false;
  }
  return true;
}

/** The first pair of `oneOf` alternatives that might match one value, or undefined when provably exclusive. */
export function checkOneOfExclusive(branches: unknown[], root: unknown): [number, number] | undefined {
  const generated = branches.map((branch) => shapeOf(branch, root, 'generated', new Set()));
  const accepted = branches.map((branch) => shapeOf(branch, root, 'accepted', new Set()));
  for (let i = 0; i < branches.length; i++) {
    for (let j = i + 1; j < branches.length; j++) {
      if (!disjoint(generated[i], accepted[j]) || !disjoint(generated[j], accepted[i])) return [i, j];
    }
  }
  return undefined;
}
