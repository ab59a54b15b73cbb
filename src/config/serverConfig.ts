import { z } from 'zod';

/**
 * Every server setting, declared once: the flag name, its ADAPTD_* environment twin, its default and its help
 * text all come from this table, so `--help`, validation and the README cannot drift apart.
 */
const integer = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const flag = z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).transform((v) => v === true || v === 'true' || v === '1');

export const SERVER_OPTIONS = {
  model: { schema: z.string().min(1).optional(), help: 'base model GGUF path; none: the generated demo model and demo adapters' },
  modelId: { schema: z.string().min(1).optional(), help: "id of the base model in the API (default: the GGUF's general.name, slugged)" },
  adapters: { schema: z.string().min(1).optional(), help: 'adapters directory, watched for *.gguf files and PEFT folders (default: models/adapters; the demo adapters in demo mode)' },
  adapterRoots: { schema: z.string().optional(), help: 'comma-separated extra folders that /v1/load_lora_adapter paths may point into (the adapters directory always may)' },
  host: { schema: z.string().min(1).default('127.0.0.1'), help: 'address to listen on' },
  port: { schema: integer(0, 65535).default(8080), help: 'port to listen on (0: any free port)' },
  gpu: { schema: z.enum(['auto', 'cuda', 'vulkan', 'off']).default('auto'), help: 'GPU backend: auto, cuda, vulkan or off' },
  gpuFallback: { schema: z.enum(['build', 'exit', 'cpu']).default('build'), help: "when the CUDA backend cannot run on this machine's GPU (checked at start): build: use a cached build for this GPU or build one when a CUDA toolkit is present, else exit saying what to run; exit: the same without building; cpu: serve on the CPU instead" },
  gpuProbe: { schema: flag.default(true), help: 'before serving on a CUDA GPU, decode one token of a small model in a child process, so a backend that cannot run there stops that child and not the server' },
  gpuLayers: { schema: z.union([z.literal('auto'), z.literal('max'), integer(0)]).default('auto'), help: 'model layers to offload to the GPU: auto, max or a number' },
  threads: { schema: integer(0).default(0), help: 'CPU threads for inference (0: the CPUs this process may use, from affinity and cgroup quota)' },
  contextSize: { schema: integer(64).default(4096), help: 'context size in tokens of each sequence (prompt + completion)' },
  parallel: { schema: integer(1, 64).default(4), help: 'sequences per context: requests of one adapter set decoded together' },
  promptCacheSlots: { schema: integer(0, 64).default(4), help: "patched engine: sequences beyond --parallel that run nothing and keep the cached prompts of adapter sets not running now, so a set rotated back in reuses its prompt (a cached prompt is only reused under the adapters that computed it); each costs one sequence's KV cache (--context-size tokens)" },
  batchSize: { schema: integer(16).default(512), help: 'tokens per decode batch' },
  grammarFastForward: { schema: flag.default(true), help: 'under a grammar (JSON schema, tool calls), insert the text it forces (keys, punctuation) in one batch instead of decoding it token by token' },
  maxSchemaNodes: { schema: integer(1).default(20_000), help: 'most JSON values in one JSON schema (response_format, or one tool\'s parameters); a larger one gets a 400' },
  maxSchemaDepth: { schema: integer(1, 256).default(64), help: 'deepest JSON nesting of one JSON schema (a property inside properties: two levels), $ref chains followed included (at most 256); deeper gets a 400' },
  maxSchemaEnumValues: { schema: integer(1).default(10_000), help: 'most enum and const values in one JSON schema, all together; more get a 400' },
  maxGrammarBytes: { schema: integer(1024).default(1024 * 1024), help: 'largest output grammar one request may compile from its schemas, in bytes (bounded repetitions counted as written out); larger gets a 400' },
  grammarCacheBytes: { schema: integer(0).default(64 * 1024 * 1024), help: 'memory kept for compiled output grammars of recent schemas, in bytes (0: none kept)' },
  nativeEngine: { schema: z.enum(['auto', 'off']).default('auto'), help: "native engine: 'auto' uses adaptd's patched llama.cpp build (per-sequence LoRA: requests on different adapters share a decode) when scripts/build-native.sh has built one for this backend; 'off': node-llama-cpp's prebuilt binary, a context per adapter set" },
  maxResidentAdapters: { schema: integer(1).default(8), help: 'adapter sets (contexts) kept in memory at once; idle ones are evicted least-recently-used' },
  chatTemplate: { schema: z.enum(['jinja', 'llama3.1', 'llama3', 'chatML', 'general']).default('jinja'), help: "prompt format: 'jinja' renders the model's own template; or a node-llama-cpp wrapper name (llama3.1, llama3, chatML, general)" },
  defaultProfile: { schema: z.string().min(1).optional(), help: "prompt profile of requests on the base and on adapters without a profile of their own: a built-in name (base, llama3.1, hermes, chatml) or a profile JSON file (default: base, the model's own template)" },
  maxBodyBytes: { schema: integer(1024).default(64 * 1024 * 1024), help: 'largest accepted JSON request body in bytes (adapter uploads have --max-upload-bytes)' },
  maxUploadBytes: { schema: integer(1024).default(2 * 1024 ** 3), help: 'largest adapter upload in bytes (all files of a PEFT export together); uploads stream to disk, never into memory' },
  apiKeys: { schema: z.string().optional(), help: 'API keys: a JSON file {"keys":[{key,name,adapters,admin,restore}]}, or comma-separated keys with full rights (none: open access)' },
  maxTokens: { schema: integer(1).default(8192), help: 'largest max_tokens a request may ask for' },
  maxMessages: { schema: integer(1).default(1024), help: 'most messages in one chat request' },
  requestTimeout: { schema: integer(1).default(600), help: 'seconds a generation request may take before it is aborted (503)' },
  maxQueue: { schema: integer(1).default(256), help: 'requests waiting for a sequence before new ones get 429' },
  shutdownTimeout: { schema: integer(0).default(30), help: 'seconds SIGTERM waits for in-flight requests before exiting' },
  maxRestarts: { schema: integer(0).default(5), help: 'crashes of the serving process within --restart-window that the launcher restarts it after; one more and it gives up and exits non-zero (0: never restart)' },
  restartWindow: { schema: integer(1).default(60), help: 'seconds over which crashes are counted for --max-restarts' },
  dataDir: { schema: z.string().min(1).default('models/generated'), help: 'where generated demo models and converted adapters are cached, and where the redaction vault lives unless --vault-path says otherwise (not a cache: it holds originals)' },
  redactorPrompt: { schema: z.string().min(1).optional(), help: "/v1/redact system prompt file, the wording your LoRA was trained on; {{categories}} becomes one '- LABEL: description' line each (default: the shipped prompt)" },
  redactorTool: { schema: z.string().min(1).optional(), help: "/v1/redact tool file: the 'redact' function JSON whose pii_type enum lists the labels (default: the 56 pii-masking-200k labels)" },
  redactorCategories: { schema: z.string().min(1).optional(), help: 'JSON [{label, description}] describing every label of the redact tool (default: the shipped descriptions)' },
  vaultPath: { schema: z.string().min(1).optional(), help: 'SQLite file mapping originals to pseudonyms, for consistent fakes and restore; it holds originals, so protect it (default: <data-dir>/redaction-vault.sqlite)' },
  vaultKey: { schema: z.string().min(16).optional(), help: 'pseudonymisation key (16+ characters): fakes are derived from it, so vaults with the same key agree (barring collisions); none: a key generated and kept in the vault' },
  logLevel: { schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'), help: 'log level' },
  llamaLogs: { schema: flag.default(false), help: "pass llama.cpp's own log lines through" },
} as const;

export type ServerOptionName = keyof typeof SERVER_OPTIONS;

const serverConfigSchema = z.object(
  Object.fromEntries(Object.entries(SERVER_OPTIONS).map(([name, option]) => [name, option.schema])) as {
    [K in ServerOptionName]: (typeof SERVER_OPTIONS)[K]['schema'];
  },
);

export type ServerConfig = Readonly<z.output<typeof serverConfigSchema>>;

export const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const envName = (name: string) => `ADAPTD_${kebab(name).replace(/-/g, '_').toUpperCase()}`;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Flags win over environment variables, which win over defaults. */
export function parseServerConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const raw: Record<string, unknown> = {};
  for (const name of Object.keys(SERVER_OPTIONS)) {
    const fromEnv = env[envName(name)];
    if (fromEnv !== undefined && fromEnv !== '') raw[name] = fromEnv;
  }
  const byFlag = new Map(Object.keys(SERVER_OPTIONS).map((name) => [`--${kebab(name)}`, name]));
  for (let i = 0; i < argv.length; i++) {
    const [flagName, inlineValue] = argv[i].split(/=(.*)/s, 2);
    const name = byFlag.get(flagName);
    if (!name) throw new ConfigError(`unknown option ${flagName} (see --help)`);
    const value = inlineValue ?? argv[++i];
    if (value === undefined) throw new ConfigError(`option ${flagName} needs a value`);
    raw[name] = value;
  }
  const parsed = serverConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0]);
    throw new ConfigError(`--${kebab(name)} (${envName(name)}): ${issue.message}`);
  }
  return Object.freeze(parsed.data);
}

export function serverHelp(): string {
  const lines = ['Options (each also read from its environment variable):', ''];
  for (const [name, option] of Object.entries(SERVER_OPTIONS)) {
    const fallback = (option.schema as z.ZodType).safeParse(undefined);
    const shown = fallback.success && fallback.data !== undefined ? ` (default: ${String(fallback.data)})` : '';
    lines.push(`  --${kebab(name)} <value>`.padEnd(34) + `${envName(name)}`);
    lines.push(`      ${option.help}${shown}`);
  }
  return lines.join('\n');
}
