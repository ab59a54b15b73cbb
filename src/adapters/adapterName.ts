import path from 'node:path';
import { realpathSync } from 'node:fs';

const ADAPTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export class AdapterNameError extends Error {
  override name = 'AdapterNameError';
}

/** Adapter names become file names, so only a safe alphabet is accepted: no separators, no "..", no NUL. */
export function checkAdapterName(name: string): string {
  if (!ADAPTER_NAME.test(name) || name.includes('..')) {
    throw new AdapterNameError(
      `invalid adapter name ${JSON.stringify(name.slice(0, 140))}: use 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );
  }
  return name;
}

export function isValidAdapterName(name: string): boolean {
  return ADAPTER_NAME.test(name) && !name.includes('..');
}

/**
 * Resolves a path that must lie inside one of the allowed roots, following symlinks, so that no name or path a
 * request sends can reach a file elsewhere.
 */
export function resolveInsideRoots(candidate: string, roots: string[]): string | undefined {
  if (candidate.includes('\0')) return undefined;
  let real: string;
  try {
    real = realpathSync(path.resolve(candidate));
  } catch {
    return undefined;
  }
  for (const root of roots) {
    let realRoot: string;
    try {
      realRoot = realpathSync(root);
    } catch {
      continue;
    }
    const relative = path.relative(realRoot, real);
    if (relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative))) return real;
  }
  return undefined;
}
