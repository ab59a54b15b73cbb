import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { completionRequest, completionResponse } from '../../protocol/completions.js';
import { errorEnvelope } from '../../protocol/errors.js';
import { textCompletion, textUsageChunk, usageOf } from '../../translate/chatResponse.js';
import type { GenerationServing } from '../../serving/GenerationServing.js';
import { requestSignal } from '../sse.js';
import { streamEvents } from '../streamEvents.js';

export const completionsRoute: FastifyPluginAsyncZod<{ serving: GenerationServing; deadlineSeconds: number }> = async (app, { serving, deadlineSeconds }) => {
  app.post(
    '/v1/completions',
    {
      schema: {
        summary: 'Legacy text completion on the same engine',
        tags: ['OpenAI'],
        body: completionRequest,
        response: { 200: completionResponse, '4xx': errorEnvelope, '5xx': errorEnvelope },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const plan = serving.planCompletion(body, request.principal.allows);
      request.adapterLabel = plan.selection.model;
      const identity = serving.newIdentity('cmpl', plan.selection.model);
      const events = serving.generate(plan, requestSignal(reply, deadlineSeconds));
      const prompt = typeof body.prompt === 'string' ? body.prompt : body.prompt[0];
      const echoed = body.echo ? prompt : '';
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
