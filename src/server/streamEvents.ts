import type { FastifyReply } from 'fastify';
import type { GenerationEvent } from '../engine/LlamaEngine.js';
import { envelope, toApiError } from './errors.js';
import { SseStream } from './sse.js';

type DoneEvent = Extract<GenerationEvent, { type: 'done' }>;

export interface StreamWriters {
  first(): unknown[];
  text(text: string): unknown[];
  done(event: DoneEvent): unknown[];
}

/**
 * Streams generation events as SSE. The first event is awaited before any byte is sent, so a request that
 * fails early (queue full, adapter that will not load) still gets a proper HTTP status.
 */
export async function streamEvents(reply: FastifyReply, events: AsyncGenerator<GenerationEvent>, writers: StreamWriters): Promise<void> {
  let next = await events.next();
  const sse = new SseStream(reply);
  for (const data of writers.first()) sse.send(data);
  try {
    while (!next.done) {
      const event = next.value;
      if (event.type === 'text') for (const data of writers.text(event.text)) sse.send(data);
      else for (const data of writers.done(event)) sse.send(data);
      next = await events.next();
    }
    sse.done();
  } catch (error) {
    // A client that went away needs no answer, and its leaving is not a server error.
    if (reply.raw.destroyed) return;
    const api = toApiError(error);
    sse.fail(api ? envelope(api.status, api.message, api.param, api.code) : envelope(500, 'internal server error', null, 'internal_error'));
    if (!api) reply.log.error({ errorName: (error as Error)?.name }, 'stream failed');
  } finally {
    await events.return(undefined);
  }
}
