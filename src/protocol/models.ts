import { z } from 'zod';

/** GET /v1/models: the base and every adapter the caller may use; an adapter's `parent` is the base id. */
export const modelEntry = z
  .object({
    id: z.string(),
    object: z.literal('model'),
    created: z.number().int(),
    owned_by: z.string(),
    parent: z.string().nullable().optional(),
    root: z.string().optional(),
    description: z.string().optional(),
  })
  .meta({ id: 'Model' });

export const modelList = z.object({ object: z.literal('list'), data: z.array(modelEntry) }).meta({ id: 'ModelList' });
export type ModelEntry = z.infer<typeof modelEntry>;
