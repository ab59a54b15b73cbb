import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';

/**
 * A server-sent-events response. The stream is handed to fastify (not hijacked), so hooks, request ids and logs
 * work as for any reply; events are `data: <json>` lines ending with OpenAI's `data: [DONE]`.
 */
export class SseStream {
  private readonly stream = new PassThrough();

  constructor(reply: FastifyReply) {
    reply
      .header('content-type', 'text/event-stream; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('x-accel-buffering', 'no')
      .send(this.stream);
  }

  send(data: unknown): void {
    if (!this.stream.writableEnded) this.stream.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** An error after the stream started can only be reported in-band, as OpenAI does. */
  fail(envelope: unknown): void {
    this.send(envelope);
    this.stream.end();
  }

  done(): void {
    if (!this.stream.writableEnded) this.stream.end('data: [DONE]\n\n');
  }
}

/** Aborted when the client goes away before the response is complete, so generation stops at once. */
export function abortOnDisconnect(reply: FastifyReply): AbortController {
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('client disconnected'));
  });
  return controller;
}
