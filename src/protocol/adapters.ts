import { z } from 'zod';

/** adaptd's adapter management routes, and vLLM's load/unload routes for tools written against vLLM. */
export const adapterEntry = z
  .object({
    name: z.string(),
    source: z.string().describe('the file or folder the adapter came from, relative to the adapters directory when inside it'),
    format: z.enum(['gguf', 'peft']),
    origin: z.enum(['directory', 'upload', 'api']),
    rank: z.number().int(),
    alpha: z.number(),
    size_bytes: z.number().int().describe('size of the GGUF LoRA the engine loads'),
    default_scale: z.number(),
    resident: z.boolean().describe('whether its weights are in memory now'),
    registered_at: z.number().int(),
    last_used: z.number().int().nullable(),
  })
  .meta({ id: 'Adapter' });
export type AdapterEntryWire = z.infer<typeof adapterEntry>;

export const adapterList = z.object({ object: z.literal('list'), data: z.array(adapterEntry) }).meta({ id: 'AdapterList' });

export const adapterNameParams = z.object({ name: z.string() });
export const adapterUploadQuery = z.object({ replace: z.enum(['true', 'false']).optional() });

export const loadLoraAdapterRequest = z
  .object({ lora_name: z.string(), lora_path: z.string(), load_inplace: z.boolean().optional() })
  .meta({ id: 'LoadLoraAdapterRequest' });
export const unloadLoraAdapterRequest = z.object({ lora_name: z.string(), lora_int_id: z.number().int().optional() }).meta({ id: 'UnloadLoraAdapterRequest' });
