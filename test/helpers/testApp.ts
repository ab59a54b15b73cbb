import type { FastifyInstance, InjectOptions } from 'fastify';
import { parseServerConfig } from '../../src/config/serverConfig.js';
import { buildApp } from '../../src/server/app.js';

export interface TestApp {
  app: FastifyInstance;
  /** A JSON request through fastify's inject: no socket, the same routes, plugins and error mapper. */
  request(method: InjectOptions['method'], url: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; text: string; json: any }>;
  close: () => Promise<void>;
}

/** The whole adaptd app built in this process without listening, for tests that need no socket. */
export async function buildTestApp(flags: Record<string, string | number> & { model: string }): Promise<TestApp> {
  const argv = Object.entries({ 'log-level': 'error', ...flags }).flatMap(([k, v]) => [`--${k}`, String(v)]);
  const config = parseServerConfig(argv, {});
  const { app } = await buildApp({ config, modelPath: flags.model, adaptersDir: config.adapters ?? 'models/adapters' });
  return {
    app,
    request: async (method, url, body, headers = {}) => {
      const payload = typeof body === 'string' || body === undefined ? body : JSON.stringify(body);
      const response = await app.inject({ method, url, payload, headers: { ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...headers } });
      let json: unknown;
      try {
        json = JSON.parse(response.body);
      } catch {
        json = undefined;
      }
      return { status: response.statusCode, text: response.body, json };
    },
    close: () => app.close(),
  };
}
