import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AdapterCatalogue, AdapterEntry } from '../../adapters/AdapterCatalogue.js';
import { parseAdapterProfile } from '../../adapters/adapterProfileFiles.js';
import { adapterProfile } from '../../protocol/adapterProfile.js';
import { adapterNameParams, adapterProfileDocument } from '../../protocol/adapters.js';
import { errorEnvelope } from '../../protocol/errors.js';
import { describeProfile } from '../../serving/describeProfile.js';
import { manageableName, visibleName } from './adapters.js';

export interface AdapterProfilesRouteOptions {
  catalogue: AdapterCatalogue;
  /** The base GGUF's template as requests use it (undefined under a chat wrapper): what `base` means. */
  baseChatTemplate: string | undefined;
}

/**
 * An adapter's prompt profile as a resource of its own: read it, set it (written beside the adapter as
 * `<name>.profile.json`, or `profile.json` in a PEFT folder, so it survives restarts), or remove it.
 */
export const adapterProfilesRoute: FastifyPluginAsyncZod<AdapterProfilesRouteOptions> = async (app, { catalogue, baseChatTemplate }) => {
  const document = (entry: AdapterEntry) => ({
    adapter: entry.name,
    profile: entry.profile ?? null,
    effective: describeProfile(catalogue.effectiveProfile(entry), baseChatTemplate),
  });
  const response = { 200: adapterProfileDocument, '4xx': errorEnvelope };

  app.get(
    '/v1/adapters/:name/profile',
    { schema: { summary: "An adapter's prompt profile and the one its requests use", tags: ['adapters'], params: adapterNameParams, response } },
    async (request) => document(catalogue.get(visibleName(request, request.params.name))),
  );

  app.put(
    '/v1/adapters/:name/profile',
    {
      schema: { summary: "Set an adapter's prompt profile", tags: ['adapters'], params: adapterNameParams, body: adapterProfile, response },
      config: { permission: 'admin' },
    },
    async (request) => {
      // An unknown adapter is a 404 before its profile is looked at.
      const name = catalogue.get(manageableName(request, request.params.name)).name;
      // The schema has checked the fields; this also checks that a template parses.
      const profile = parseAdapterProfile(request.body, 'profile');
      return document(catalogue.setProfile(name, profile));
    },
  );

  app.delete(
    '/v1/adapters/:name/profile',
    {
      schema: { summary: "Remove an adapter's own prompt profile: it falls back to the default", tags: ['adapters'], params: adapterNameParams, response },
      config: { permission: 'admin' },
    },
    async (request) => document(catalogue.setProfile(manageableName(request, request.params.name), undefined)),
  );
};
