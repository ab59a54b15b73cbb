// The layer rules of docs/ARCHITECTURE.md, checked on every import under src/ so the layering cannot drift.
// A small walker, not a dependency: it reads `import … from`, `export … from` and `import('…')` specifiers.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';

const SRC = path.resolve('src');

/** Who may import whom, by top-level folder of src/ ('main' is src/main.ts). A folder not listed here fails. */
const ALLOWED: Record<string, { values: string[]; types?: string[] }> = {
  config: { values: [] },
  protocol: { values: [] },
  gguf: { values: [] },
  adapters: { values: ['config', 'gguf', 'protocol'] },
  engine: { values: ['config'], types: ['adapters'] },
  translate: { values: ['protocol'], types: ['engine'] },
  redaction: { values: ['protocol'] },
  // Generated demo and test models: writes GGUF and PEFT files, knows nothing of serving.
  demo: { values: ['gguf', 'adapters'] },
  serving: { values: ['engine', 'adapters', 'translate', 'redaction', 'protocol', 'config'] },
  server: { values: ['serving', 'engine', 'adapters', 'translate', 'redaction', 'protocol', 'config', 'gguf'] },
  main: { values: ['server', 'config', 'demo'], types: ['engine'] },
  // The benchmark harness runs adaptd and llama-server as child processes; it is a library of the bench command.
  bench: { values: ['engine', 'demo', 'redaction', 'adapters', 'gguf', 'protocol', 'config'] },
  // Commands: any layer below server, and main.ts to start a listening server.
  cli: { values: ['main', 'bench', 'demo', 'serving', 'engine', 'adapters', 'translate', 'redaction', 'protocol', 'config', 'gguf'] },
};

/** The rooms of src/redaction/ and whom each may import there ('shared': the files at its top). See its README. */
const REDACTION_ROOMS: Record<string, string[]> = {
  shared: [],
  rules: [],
  pseudonyms: ['rules', 'shared'],
  redactCall: ['rules', 'pseudonyms', 'shared'],
  dataset: ['redactCall', 'shared'],
  eval: ['redactCall', 'dataset', 'shared'],
  defaults: [],
};

/** Packages only one layer may import. */
const OWNED_PACKAGES: Record<string, string> = {
  'node-llama-cpp': 'engine',
  fastify: 'server',
  'fastify-plugin': 'server',
  'fastify-type-provider-zod': 'server',
  '@fastify/multipart': 'server',
  '@fastify/swagger': 'server',
  '@fastify/swagger-ui': 'server',
  'prom-client': 'server',
};

interface ImportEdge {
  file: string;
  specifier: string;
  typeOnly: boolean;
}

const IMPORT = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

/** Every import of a TypeScript source, with whether it brings in types only (erased at run time). */
function importsOf(file: string, text: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const [, , typeKeyword, clause, fromSpecifier, bareSpecifier, dynamicSpecifier] = match;
    const specifier = fromSpecifier ?? bareSpecifier ?? dynamicSpecifier;
    const names = /^\{([^}]*)\}$/.exec((clause ?? '').trim())?.[1].split(',').map((n) => n.trim()).filter(Boolean);
    const typeOnly = Boolean(typeKeyword) || (names !== undefined && names.length > 0 && names.every((n) => n.startsWith('type ')));
    edges.push({ file, specifier, typeOnly });
  }
  return edges;
}

/** The layer of a file under src/: its top-level folder, or 'main' for src/main.ts. */
function layerOf(file: string): string {
  const [first] = path.relative(SRC, file).split(path.sep);
  return first === 'main.ts' ? 'main' : first;
}

/** The package an import names: `@scope/name` or `name`; undefined for node builtins. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The room of a file under src/redaction/: its sub-folder, or 'shared' for the files at the top. */
function redactionRoomOf(file: string): string {
  const parts = path.relative(path.join(SRC, 'redaction'), file).split(path.sep);
  return parts.length > 1 ? parts[0] : 'shared';
}

/** What is wrong with one import, or undefined when the rules allow it. */
function violation(edge: ImportEdge): string | undefined {
  const from = layerOf(edge.file);
  const rules = ALLOWED[from];
  if (!rules) return `${from}/ is not a known layer: add it to ALLOWED and docs/ARCHITECTURE.md`;
  if (!edge.specifier.startsWith('.')) {
    const owner = OWNED_PACKAGES[packageOf(edge.specifier) ?? ''];
    return owner && owner !== from ? `${edge.specifier} may only be imported by ${owner}/` : undefined;
  }
  const target = path.resolve(path.dirname(edge.file), edge.specifier.replace(/\.js$/, '.ts'));
  const to = layerOf(target);
  if (to === 'redaction' && from === 'redaction') {
    const [fromRoom, toRoom] = [redactionRoomOf(edge.file), redactionRoomOf(target)];
    const allowed = REDACTION_ROOMS[fromRoom];
    if (!allowed) return `redaction/${fromRoom}/ is not a known room: add it to REDACTION_ROOMS and the redaction README`;
    return toRoom === fromRoom || allowed.includes(toRoom) ? undefined : `redaction/${fromRoom}/ may not import redaction/${toRoom === 'shared' ? '' : `${toRoom}/`}`;
  }
  if (to === from || rules.values.includes(to)) return undefined;
  if (edge.typeOnly && rules.types?.includes(to)) return undefined;
  return `${from}/ may not import ${to}/${rules.types?.includes(to) ? ' except as types' : ''}`;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

t.test('every import under src/ keeps to the layer rules', async (t) => {
  const files = sourceFiles(SRC);
  const edges = files.flatMap((file) => importsOf(file, readFileSync(file, 'utf8')));
  t.ok(edges.length > 500, `the walker found the imports (${edges.length} in ${files.length} files)`);
  const broken = edges.flatMap((edge) => {
    const problem = violation(edge);
    return problem ? [`${path.relative(SRC, edge.file)}: '${edge.specifier}': ${problem}`] : [];
  });
  t.same(broken, [], 'no import breaks a rule');
  t.same(Object.keys(ALLOWED).sort(), [...new Set(files.map(layerOf))].sort(), 'every layer has rules, and every rule a layer');
});

t.test('the walker reads the import forms it must see', async (t) => {
  const file = path.join(SRC, 'serving', 'x.ts');
  const text = [
    "import { a, type B } from '../engine/LlamaEngine.js';",
    "import type { C } from '../server/app.js';",
    "import { type D } from '../server/errors.js';",
    "export { e } from './local.js';",
    "const lazy = await import('../cli/main.js');",
    "import 'node:fs';",
  ].join('\n');
  t.same(
    importsOf(file, text).map((e) => [e.specifier, e.typeOnly]),
    [['../engine/LlamaEngine.js', false], ['../server/app.js', true], ['../server/errors.js', true], ['./local.js', false], ['../cli/main.js', false], ['node:fs', false]],
  );
  t.equal(violation({ file, specifier: '../server/errors.js', typeOnly: true }), 'serving/ may not import server/', 'types do not lift a rule that allows none');
  t.equal(violation({ file, specifier: 'node-llama-cpp', typeOnly: false }), 'node-llama-cpp may only be imported by engine/');
  t.equal(violation({ file: path.join(SRC, 'translate', 'y.ts'), specifier: '../engine/LlamaEngine.js', typeOnly: false }), 'translate/ may not import engine/ except as types');
  t.equal(violation({ file: path.join(SRC, 'main.ts'), specifier: './server/app.js', typeOnly: false }), undefined);
  const rulesFile = path.join(SRC, 'redaction', 'rules', 'z.ts');
  t.equal(violation({ file: rulesFile, specifier: '../pseudonyms/Pseudonymizer.js', typeOnly: false }), 'redaction/rules/ may not import redaction/pseudonyms/');
  t.equal(violation({ file: rulesFile, specifier: '../redactionErrors.js', typeOnly: false }), 'redaction/rules/ may not import redaction/');
});
