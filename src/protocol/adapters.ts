import { z } from 'zod';
import { adapterProfile, adapterProfileSummary, BUILTIN_PROFILE_NAMES } from './adapterProfile.js';

/** adaptd's adapter management routes, and vLLM's load/unload routes for tools written against vLLM. */
export const adapterEntry = z
  .object({
    name: z.string(),
    source: z.string().describe('the file or folder the adapter came from, relative to the adapters directory when inside it'),
    format: z.enum(['gguf', 'peft']),
    origin: z.enum(['directory', 'upload', 'api']),
    rank: z.number().int(),
    alpha: z.number(),
    base_model_name_or_path: z
      .string()
      .nullable()
      .describe("the model the adapter was trained on: a PEFT export's base_model_name_or_path (or a GGUF's general.base_model.0.name); null when the file does not say"),
    size_bytes: z.number().int().describe('size of the GGUF LoRA the engine loads'),
    default_scale: z.number(),
    resident: z.boolean().describe('whether its weights are in memory now'),
    registered_at: z.number().int(),
    last_used: z.number().int().nullable(),
    profile: adapterProfileSummary.describe('the prompt profile requests on this adapter are rendered with'),
  })
  .meta({ id: 'Adapter' });
export type AdapterEntryWire = z.infer<typeof adapterEntry>;

export const adapterList = z.object({ object: z.literal('list'), data: z.array(adapterEntry) }).meta({ id: 'AdapterList' });

export const adapterNameParams = z.object({ name: z.string() });
export const adapterUploadQuery = z.object({
  replace: z.enum(['true', 'false']).optional(),
  profile: z.enum(BUILTIN_PROFILE_NAMES).optional().describe('a built-in prompt profile for the uploaded adapter (a full profile: multipart part profile.json, or PUT …/profile)'),
});

/** GET /v1/adapters/{name}/profile: the adapter's own profile file, and what requests on it use. */
export const adapterProfileDocument = z
  .object({
    adapter: z.string(),
    profile: adapterProfile.nullable().describe("the adapter's own profile; null when it has none"),
    effective: adapterProfileSummary,
  })
  .meta({ id: 'AdapterProfileDocument' });

export const loadLoraAdapterRequest = z
  .object({ lora_name: z.string(), lora_path: z.string(), load_inplace: z.boolean().optional() })
  .meta({ id: 'LoadLoraAdapterRequest' });
export const unloadLoraAdapterRequest = z.object({ lora_name: z.string(), lora_int_id: z.number().int().optional() }).meta({ id: 'UnloadLoraAdapterRequest' });
