import type { ZodType } from 'zod';
import { errorEnvelope } from '../../protocol/errors.js';

/** The schema of a JSON POST route: its body, its 200 answer, and the error envelope for every 4xx and 5xx. */
export function postSchema<B extends ZodType, R extends ZodType>(summary: string, tags: string[], body: B, ok: R) {
  return { summary, tags, body, response: { 200: ok, '4xx': errorEnvelope, '5xx': errorEnvelope } };
}
