import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ApiKeyGrant } from '../../config/apiKeys.js';
import { ApiError } from '../errors.js';

/** The caller of a request: what its key allows. Without configured keys everyone is this open principal. */
export interface Principal {
  name: string;
  admin: boolean;
  restore: boolean;
  /** Whether this caller may see and use the adapter. */
  allows(adapterName: string): boolean;
}

export type RoutePermission = 'admin' | 'restore';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** Extra right a route needs beyond a valid key. */
    permission?: RoutePermission;
    /** Served without a key (health, metrics, docs). */
    public?: boolean;
  }
}

const OPEN: Principal = { name: 'open', admin: true, restore: true, allows: () => true };

function globMatcher(patterns: '*' | string[]): (name: string) => boolean {
  if (patterns === '*') return () => true;
  const regexes = patterns.map((p) => new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`));
  return (name) => regexes.some((r) => r.test(name));
}

const digest = (text: string) => createHash('sha256').update(text).digest();

function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string' && /^Bearer\s+/i.test(header)) return header.replace(/^Bearer\s+/i, '').trim();
  const apiKey = request.headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey : undefined;
}

/**
 * API-key authentication. Keys are compared as SHA-256 digests with a constant-time comparison, and every
 * configured key is checked, so neither timing nor order reveals which key nearly matched.
 */
export const authPlugin = fp(async (app: FastifyInstance, { grants }: { grants: ApiKeyGrant[] }) => {
  const principals = grants.map((grant) => ({
    digest: digest(grant.key),
    principal: { name: grant.name, admin: grant.admin, restore: grant.restore, allows: globMatcher(grant.adapters) } satisfies Principal,
  }));
  app.decorateRequest('principal', null as unknown as Principal);
  app.addHook('onRequest', async (request) => {
    request.principal = OPEN;
    // Health, metrics and the API documentation are served without a key (probes and scrapers have none).
    if (principals.length === 0 || request.routeOptions.config?.public || request.url.startsWith('/docs')) return;
    const key = presentedKey(request);
    if (!key) throw new ApiError(401, 'an API key is required: send "Authorization: Bearer <key>"', null, 'missing_api_key');
    const presented = digest(key);
    let match: Principal | undefined;
    for (const candidate of principals) if (timingSafeEqual(candidate.digest, presented)) match = candidate.principal;
    if (!match) throw new ApiError(401, 'the API key is not valid', null, 'invalid_api_key');
    request.principal = match;
  });
  app.addHook('preHandler', async (request) => {
    const needed = request.routeOptions.config?.permission;
    if (needed === 'admin' && !request.principal.admin) throw new ApiError(403, 'this API key may not manage adapters', null, 'permission_denied');
    if (needed === 'restore' && !request.principal.restore) throw new ApiError(403, 'this API key may not restore pseudonymised text', null, 'permission_denied');
  });
});
