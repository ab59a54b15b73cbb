import path from 'node:path';
import type { ServerConfig } from '../config/serverConfig.js';
import { openVault, type RedactionVault } from '../redaction/pseudonyms/RedactionVault.js';
import { loadRedactorSpec, type RedactorSpec } from '../redaction/redactCall/redactorSpec.js';

export interface RedactorResources<V = RedactionVault> {
  spec: RedactorSpec;
  vault: V;
}

export const VAULT_FILE_NAME = 'redaction-vault.sqlite';

/** `--vault-path`, else the vault file in the data directory (which the container keeps on its models volume). */
export function vaultPathOf(config: Pick<ServerConfig, 'vaultPath' | 'dataDir'>): string {
  return config.vaultPath ?? path.join(config.dataDir, VAULT_FILE_NAME);
}

/**
 * The redactor's prompt, tool and categories (the defaults or the user's files) and its pseudonym vault, as the
 * server and the offline CLI both configure them. A bad file or a vault key mismatch fails here, at startup.
 * The caller owns the vault and closes it; a caller that never pseudonymises can do without one.
 */
export function openRedactor(config: ServerConfig): RedactorResources;
export function openRedactor(config: ServerConfig, withVault: boolean): RedactorResources<RedactionVault | undefined>;
export function openRedactor(config: ServerConfig, withVault = true): RedactorResources<RedactionVault | undefined> {
  const spec = loadRedactorSpec({ promptPath: config.redactorPrompt, toolPath: config.redactorTool, categoriesPath: config.redactorCategories });
  const vault = withVault ? openVault({ path: vaultPathOf(config), key: config.vaultKey }) : undefined;
  return { spec, vault };
}
