import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { chatCompletionRequest, chatCompletionResponse } from '../../protocol/chatCompletions.js';
import { errorEnvelope } from '../../protocol/errors.js';
import { chatChunk, chatCompletion, chatUsageChunk, usageOf } from '../../translate/chatResponse.js';
import type { GenerationServing } from '../GenerationServing.js';
import { abortOnDisconnect } from '../sse.js';
import { streamEvents } from '../streamEvents.js';

export const chatCompletionsRoute: FastifyPluginAsyncZod<{ serving: GenerationServing }> = async (app, { serving }) => {
  app.post(
    '/v1/chat/completions',
    {
      schema: {
        summary: 'Chat completion on the base model or on adapters',
        tags: ['OpenAI'],
        body: chatCompletionRequest,
        response: { 200: chatCompletionResponse, '4xx': errorEnvelope, '5xx': errorEnvelope },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const plan = serving.planChat(body);
      const identity = serving.newIdentity('chatcmpl', plan.selection.model);
      const events = serving.generate(plan, abortOnDisconnect(reply).signal);
      if (!body.stream) {
        const result = await serving.collect(events);
        return chatCompletion(identity, { content: result.text }, result.finishReason, usageOf(result.promptTokens, result.completionTokens));
      }
      await streamEvents(reply, events, {
        first: () => [chatChunk(identity, { role: 'assistant', content: '' })],
        text: (text) => chatChunk(identity, { content: text }),
        done: (event) => [
          chatChunk(identity, {}, event.finishReason),
          ...(body.stream_options?.include_usage ? [chatUsageChunk(identity, usageOf(event.promptTokens, event.completionTokens))] : []),
        ],
      });
      return reply;
    },
  );
};
