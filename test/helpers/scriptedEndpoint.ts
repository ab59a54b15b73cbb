// A second, independent OpenAI-compatible endpoint for eval tests: node:http on loopback that
// answers /v1/chat/completions from a script, and records what it was sent.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import type { CommandIo } from '../../src/cli/commandIo.js';

export interface ScriptedAnswer {
  fields?: Array<{ string: string; pii_type: string }>;
  /** Answer with text instead of a tool call. */
  text?: string;
  rawArguments?: string;
  delayMs?: number;
  usage?: { prompt_tokens: number; completion_tokens: number };
}

export interface RecordedRequest {
  body: Record<string, any>;
  headers: IncomingHttpHeaders;
  model: string;
  document: string;
}

export interface ScriptedEndpoint {
  url: string;
  requests: RecordedRequest[];
  close: () => Promise<void>;
}

export async function startScriptedEndpoint(script: (request: RecordedRequest) => ScriptedAnswer): Promise<ScriptedEndpoint> {
  const requests: RecordedRequest[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error', param: null, code: null } }));
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const request = { body, headers: req.headers, model: body.model, document: body.messages.find((m: any) => m.role === 'user')?.content ?? '' };
    requests.push(request);
    const answer = script(request);
    if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion(body.model, answer)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function completion(model: string, answer: ScriptedAnswer) {
  const usage = answer.usage ?? { prompt_tokens: 200, completion_tokens: 20 };
  const toolCall = answer.text === undefined;
  const args = answer.rawArguments ?? JSON.stringify({ fields_to_redact: answer.fields ?? [] });
  return {
    id: 'chatcmpl-scripted',
    object: 'chat.completion',
    created: 0,
    model,
    choices: [
      {
        index: 0,
        message: toolCall
          ? { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'redact', arguments: args } }] }
          : { role: 'assistant', content: answer.text },
        finish_reason: toolCall ? 'tool_calls' : 'stop',
        logprobs: null,
      },
    ],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  };
}

/** Command io that keeps what was written; stderr is no terminal, so progress comes as plain lines. */
export function captureIo(env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const errorStream = new PassThrough();
  errorStream.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const io: CommandIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: errorStream as unknown as NodeJS.WriteStream,
    env,
  };
  return { io, stdout: () => stdout, stderr: () => stderr };
}
