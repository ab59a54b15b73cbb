import type { ChatBody } from './benchRequests.js';

/** One timed chat completion: wall time from sending to the last byte, and, when streamed, to the first token. */
export interface RequestOutcome {
  ok: boolean;
  /** Milliseconds from sending the request to having the whole answer. */
  latencyMs: number;
  /** Milliseconds to the first chunk that carries generated text (streamed requests only). */
  firstTokenMs?: number;
  promptTokens?: number;
  completionTokens?: number;
  error?: string;
}

const REQUEST_TIMEOUT_MS = 10 * 60_000;

/** POSTs to `/v1/chat/completions`; a failure is an outcome, not an exception, so a workload counts it and goes on. */
export async function sendChat(baseUrl: string, body: ChatBody): Promise<RequestOutcome> {
  const started = performance.now();
  try {
    const response = await fetch(`${baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    if (body.stream === true && response.ok && response.body) return await readStream(response.body, started);
    const text = await response.text();
    const latencyMs = performance.now() - started;
    if (!response.ok) return { ok: false, latencyMs, error: `HTTP ${response.status}: ${text.slice(0, 200)}` };
    const usage = (JSON.parse(text) as { usage?: { prompt_tokens?: number; completion_tokens?: number } }).usage;
    return { ok: true, latencyMs, promptTokens: usage?.prompt_tokens, completionTokens: usage?.completion_tokens };
  } catch (error) {
    return { ok: false, latencyMs: performance.now() - started, error: (error as Error).message };
  }
}

/** Reads OpenAI server-sent events: the first content delta times the first token, the usage chunk counts tokens. */
async function readStream(stream: ReadableStream<Uint8Array>, started: number): Promise<RequestOutcome> {
  const decoder = new TextDecoder();
  let buffered = '';
  let firstTokenMs: number | undefined;
  let usage: { prompt_tokens?: number; completion_tokens?: number } | undefined;
  let failure: string | undefined;
  for await (const bytes of stream as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(bytes, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '[DONE]') continue;
      const chunk = JSON.parse(data) as {
        choices?: Array<{ delta?: { content?: string | null; tool_calls?: unknown[] } }>;
        usage?: typeof usage;
        error?: { message?: string };
      };
      if (chunk.error) failure = chunk.error.message ?? 'stream error';
      const delta = chunk.choices?.[0]?.delta;
      if (firstTokenMs === undefined && (delta?.content || delta?.tool_calls?.length)) firstTokenMs = performance.now() - started;
      if (chunk.usage) usage = chunk.usage;
    }
  }
  const latencyMs = performance.now() - started;
  if (failure) return { ok: false, latencyMs, error: failure };
  return { ok: true, latencyMs, firstTokenMs, promptTokens: usage?.prompt_tokens, completionTokens: usage?.completion_tokens };
}

export interface PoolResult {
  outcomes: RequestOutcome[];
  /** From the first request sent to the last answer received. */
  wallMs: number;
}

/** Sends the bodies with at most `concurrency` in flight, in order, like `concurrency` clients sharing a queue. */
export async function sendAll(baseUrl: string, bodies: ChatBody[], concurrency: number, onDone?: () => void): Promise<PoolResult> {
  const outcomes: RequestOutcome[] = new Array(bodies.length);
  let next = 0;
  const started = performance.now();
  const client = async () => {
    while (next < bodies.length) {
      const index = next++;
      outcomes[index] = await sendChat(baseUrl, bodies[index]);
      onDone?.();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, bodies.length) }, client));
  return { outcomes, wallMs: performance.now() - started };
}
