import OpenAI from 'openai';
import { parseServerConfig } from '../../src/config/serverConfig.js';
import { startServer } from '../../src/main.js';
import type { LlamaEngine } from '../../src/engine/LlamaEngine.js';

export interface TestServer {
  url: string;
  client: OpenAI;
  close: () => Promise<void>;
  /** The live engine, for assertions about sequences and residency. */
  engine: LlamaEngine;
}

/** A real listening adaptd on a free loopback port, driven by the official openai client. */
export async function startTestServer(flags: Record<string, string | number>): Promise<TestServer> {
  const argv = Object.entries({ port: 0, 'log-level': 'error', ...flags }).flatMap(([k, v]) => [`--${k}`, String(v)]);
  const server = await startServer(parseServerConfig(argv, {}));
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
  return { url: server.url, client, close: server.close, engine: server.engine };
}
