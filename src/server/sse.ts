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

/** The error a request's deadline aborts it with. */
export class DeadlineExceededError extends Error {
  override name = 'DeadlineExceededError';
}

/** The error a request is aborted with when its client goes away: not a failure of the server. */
export class ClientDisconnectedError extends Error {
  override name = 'ClientDisconnectedError';
  constructor() {
    super('the client disconnected before the response was complete');
  }
}

/**
 * Aborted when the client goes away before the response is complete (so generation stops at once), or when the
 * request's deadline passes.
 */
export function requestSignal(reply: FastifyReply, deadlineSeconds: number): AbortSignal {
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new ClientDisconnectedError());
  });
  const timer = setTimeout(() => controller.abort(new DeadlineExceededError(`the request did not finish within its ${deadlineSeconds}s deadline`)), deadlineSeconds * 1000);
  timer.unref();
  reply.raw.on('close', () => clearTimeout(timer));
  return controller.signal;
}
