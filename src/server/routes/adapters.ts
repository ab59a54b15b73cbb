import path from 'node:path';
import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AdapterCatalogue, AdapterEntry } from '../../adapters/AdapterCatalogue.js';
import type { AdapterUpload, UploadedFile } from '../../adapters/adapterUpload.js';
import { checkAdapterName } from '../../adapters/adapterName.js';
import { AdapterNotFoundError } from '../../adapters/adapterErrors.js';
import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from '../../adapters/peft/peftFiles.js';
import type { AdapterProfile } from '../../adapters/adapterProfileFiles.js';
import type { ContextPool } from '../../engine/ContextPool.js';
import {
  adapterEntry,
  adapterList,
  adapterNameParams,
  adapterUploadQuery,
  loadLoraAdapterRequest,
  unloadLoraAdapterRequest,
  type AdapterEntryWire,
} from '../../protocol/adapters.js';
import { errorEnvelope } from '../../protocol/errors.js';
import { describeProfile } from '../../serving/describeProfile.js';
import { ApiError } from '../errors.js';

export interface AdaptersRouteOptions {
  catalogue: AdapterCatalogue;
  pool: ContextPool;
  /** The base GGUF's template as requests use it (undefined under a chat wrapper): what profile `base` means. */
  baseChatTemplate?: string;
}

export const adaptersRoute: FastifyPluginAsyncZod<AdaptersRouteOptions> = async (app, { catalogue, pool, baseChatTemplate }) => {
  const toWire = (entry: AdapterEntry): AdapterEntryWire => {
    const relative = path.relative(catalogue.directory, entry.sourcePath);
    return {
      name: entry.name,
      source: relative.startsWith('..') || path.isAbsolute(relative) ? entry.sourcePath : relative,
      format: entry.format,
      origin: entry.origin,
      rank: entry.rank,
      alpha: entry.alpha,
      base_model_name_or_path: entry.baseModel ?? null,
      size_bytes: entry.sizeBytes,
      default_scale: entry.defaultScale,
      resident: pool.residentAdapterNames.has(entry.name),
      registered_at: Math.floor(entry.registeredAt / 1000),
      last_used: entry.lastUsed === undefined ? null : Math.floor(entry.lastUsed / 1000),
      profile: describeProfile(catalogue.effectiveProfile(entry), baseChatTemplate),
    };
  };

  // Raw adapter uploads arrive as a stream, written straight to disk rather than buffered in memory; the catalogue
  // counts them against --max-upload-bytes (fastify's body limit, --max-body-bytes, is for bodies it buffers).
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));

  app.get('/v1/adapters', { schema: { summary: 'Registered adapters', tags: ['adapters'], response: { 200: adapterList } } }, async (request) => ({
    object: 'list' as const,
    data: catalogue.list().filter((entry) => request.principal.allows(entry.name)).map(toWire),
  }));

  app.get(
    '/v1/adapters/:name',
    { schema: { summary: 'One adapter', tags: ['adapters'], params: adapterNameParams, response: { 200: adapterEntry, 404: errorEnvelope } } },
    async (request) => toWire(catalogue.get(visibleName(request, request.params.name))),
  );

  app.put(
    '/v1/adapters/:name',
    {
      schema: {
        summary: `Upload an adapter: a GGUF LoRA as the raw body, or a PEFT export as multipart (${PEFT_CONFIG_FILE} + ${PEFT_WEIGHTS_FILE})`,
        tags: ['adapters'],
        params: adapterNameParams,
        querystring: adapterUploadQuery,
        response: { 201: adapterEntry, '4xx': errorEnvelope },
      },
      config: { permission: 'admin' },
    },
    async (request, reply) => {
      const name = manageableName(request, request.params.name);
      const upload = adapterUploadOf(request);
      const announced = request.headers['content-length'];
      const entry = await catalogue.receiveUpload(name, upload, {
        replace: request.query.replace === 'true',
        profile: builtinProfile(request.query.profile),
        announcedBytes: announced === undefined ? undefined : Number(announced),
        announcedOverheadBytes: upload.format === 'peft' ? MULTIPART_OVERHEAD_BYTES : 0,
      });
      return reply.status(201).send(toWire(entry));
    },
  );

  app.delete(
    '/v1/adapters/:name',
    {
      schema: { summary: 'Unregister and unload an adapter; requests running on it finish first', tags: ['adapters'], params: adapterNameParams, response: { 200: adapterEntry, '4xx': errorEnvelope } },
      config: { permission: 'admin' },
    },
    async (request) => toWire(catalogue.remove(manageableName(request, request.params.name), { deleteFiles: true })),
  );

  app.post(
    '/v1/load_lora_adapter',
    {
      schema: { summary: 'vLLM-compatible: register an adapter from a path inside an allowed adapters root', tags: ['adapters'], body: loadLoraAdapterRequest, response: { 200: z.string(), '4xx': errorEnvelope } },
      config: { permission: 'admin' },
    },
    async (request, reply) => {
      const { lora_name, lora_path, load_inplace } = request.body;
      await catalogue.registerPath(manageableName(request, lora_name), lora_path, load_inplace === true);
      return reply.type('text/plain').send(`Success: LoRA adapter '${lora_name}' added successfully.`);
    },
  );

  app.post(
    '/v1/unload_lora_adapter',
    {
      schema: { summary: 'vLLM-compatible: unregister and unload an adapter', tags: ['adapters'], body: unloadLoraAdapterRequest, response: { 200: z.string(), '4xx': errorEnvelope } },
      config: { permission: 'admin' },
    },
    async (request, reply) => {
      const { lora_name } = request.body;
      catalogue.remove(manageableName(request, lora_name), { suppress: true });
      return reply.type('text/plain').send(`Success: LoRA adapter '${lora_name}' removed successfully.`);
    },
  );
};

/** A name the caller may see; others are reported as not existing. */
export function visibleName(request: FastifyRequest, name: string): string {
  if (!request.principal.allows(name)) throw new AdapterNotFoundError(name);
  return name;
}

/** An admin key manages only the names its allow-list covers. */
export function manageableName(request: FastifyRequest, name: string): string {
  checkAdapterName(name);
  if (!request.principal.allows(name)) throw new ApiError(403, `this API key may not manage adapter "${name}"`, 'name', 'permission_denied');
  return name;
}

/** `?profile=NAME` on an upload: a built-in profile for the adapter. */
function builtinProfile(name: AdapterProfile['chat_template'] | undefined): AdapterProfile | undefined {
  return name === undefined ? undefined : { chat_template: name };
}

// Boundaries and part headers a multipart upload adds to its files, for judging its Content-Length.
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

/** The upload a PUT carries: a GGUF LoRA as the raw body, or a PEFT export as multipart files. */
function adapterUploadOf(request: FastifyRequest): AdapterUpload {
  if (request.isMultipart()) return { format: 'peft', files: multipartFiles(request.parts()) };
  if (!request.headers['content-type']?.startsWith('application/octet-stream')) {
    throw new ApiError(400, 'send a GGUF LoRA as application/octet-stream, or a PEFT export as multipart/form-data', null, 'unsupported_media_type');
  }
  return { format: 'gguf', body: request.body as Readable };
}

type MultipartPart = { type: 'file' | 'field'; fieldname: string; filename?: string; file?: Readable };

async function* multipartFiles(parts: AsyncIterable<MultipartPart>): AsyncIterable<UploadedFile> {
  for await (const part of parts) {
    if (part.type === 'file' && part.file) yield { names: [part.fieldname, part.filename ?? ''], body: part.file };
  }
}
