import { readFileSync, existsSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './serverConfig.js';

/**
 * Who may do what. An API key may be limited to adapters (names or `*` globs such as `team-a-*`), may manage
 * adapters (`admin`: upload, replace, delete, vLLM load/unload, within its allow-list), and may restore
 * pseudonymised text (`restore`).
 */
export interface ApiKeyGrant {
  name: string;
  key: string;
  adapters: '*' | string[];
  admin: boolean;
  restore: boolean;
}

const grantSchema = z.object({
  key: z.string().min(16, 'keys must be at least 16 characters'),
  name: z.string().min(1).optional(),
  adapters: z.union([z.literal('*'), z.array(z.string().min(1))]).default('*'),
  admin: z.boolean().default(false),
  restore: z.boolean().default(false),
});
const keyFileSchema = z.object({ keys: z.array(grantSchema).min(1) });

/** `--api-keys`: a JSON file `{"keys": [{key, name, adapters, admin, restore}]}`, or comma-separated keys with full rights. */
export function loadApiKeys(spec: string | undefined): ApiKeyGrant[] {
  if (!spec) return [];
  if (existsSync(spec)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(spec, 'utf8'));
    } catch {
      throw new ConfigError(`--api-keys: ${spec} is not valid JSON`);
    }
    const result = keyFileSchema.safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new ConfigError(`--api-keys: ${spec}: ${issue.path.join('.')}: ${issue.message}`);
    }
    return result.data.keys.map((grant, index) => ({ ...grant, name: grant.name ?? `key-${index + 1}` }));
  }
  const keys = spec.split(',').map((k) => k.trim()).filter(Boolean);
  if (keys.some((k) => k.length < 16)) throw new ConfigError('--api-keys: keys must be at least 16 characters (or give a JSON file path)');
  return keys.map((key, index) => ({ name: `key-${index + 1}`, key, adapters: '*', admin: true, restore: true }));
}
