import { z } from 'zod';

/** OpenAI's error envelope: every error body of every route has this shape. */
export const errorEnvelope = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string(),
      param: z.string().nullable(),
      code: z.string().nullable(),
    }),
  })
  .meta({ id: 'Error' });
export type ErrorEnvelope = z.infer<typeof errorEnvelope>;

export const healthResponse = z
  .object({ status: z.enum(['ok', 'loading', 'draining']), model: z.string().optional(), adapters: z.number().int().optional() })
  .meta({ id: 'Health' });
