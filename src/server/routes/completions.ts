import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { completionRequest, completionResponse } from '../../protocol/completions.js';
import { textCompletion, textUsageChunk, usageOf } from '../../translate/chatResponse.js';
import type { GenerationServing } from '../../serving/GenerationServing.js';
import { requestSignal } from '../sse.js';
import { streamEvents } from '../streamEvents.js';
import { postSchema } from './routeSchema.js';

export const completionsRoute: FastifyPluginAsyncZod<{ serving: GenerationServing; deadlineSeconds: number }> = async (app, { serving, deadlineSeconds }) => {
  app.post(
    '/v1/completions',
    { schema: postSchema('Legacy text completion on the same engine', ['OpenAI'], completionRequest, completionResponse) },
    async (request, reply) => {
      const plan = serving.planCompletion(request.body, request.principal.allows);
      const { identity, echo: echoed } = plan;
      request.adapterLabel = identity.model;
      const events = serving.generate(plan, requestSignal(reply, deadlineSeconds));
      const body = request.body;
      if (!body.stream) {
        const result = await serving.collect(events);
        return textCompletion(identity, echoed + result.text, result.finishReason, usageOf(result.promptTokens, result.completionTokens));
      }
      await streamEvents(reply, events, {
        first: () => (echoed ? [textCompletion(identity, echoed, null, null)] : []),
        text: (text) => [textCompletion(identity, text, null, null)],
        done: (event) => [
          textCompletion(identity, '', event.finishReason, null),
          ...(body.stream_options?.include_usage ? [textUsageChunk(identity, usageOf(event.promptTokens, event.completionTokens))] : []),
        ],
      });
      return reply;
    },
  );
};
