import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { chatCompletionRequest, chatCompletionResponse } from '../../protocol/chatCompletions.js';
import { ChatOutputShaper } from '../../translate/ChatOutputShaper.js';
import { chatChunk, chatCompletion, chatUsageChunk, usageOf } from '../../translate/chatResponse.js';
import type { GenerationServing } from '../../serving/GenerationServing.js';
import { requestSignal } from '../sse.js';
import { streamEvents } from '../streamEvents.js';
import { postSchema } from './routeSchema.js';

export const chatCompletionsRoute: FastifyPluginAsyncZod<{ serving: GenerationServing; deadlineSeconds: number }> = async (app, { serving, deadlineSeconds }) => {
  app.post(
    '/v1/chat/completions',
    { schema: postSchema('Chat completion on the base model or on adapters, with tool calls and JSON output', ['OpenAI'], chatCompletionRequest, chatCompletionResponse) },
    async (request, reply) => {
      const body = request.body;
      const plan = serving.planChat(body, request.principal.allows);
      request.adapterLabel = plan.selection.model;
      const { identity } = plan;
      const signal = requestSignal(reply, deadlineSeconds);
      if (!body.stream) {
        const answer = await serving.completeChat(plan, signal);
        return chatCompletion(identity, answer.message, answer.finishReason, usageOf(answer.promptTokens, answer.completionTokens));
      }
      const events = serving.generate(plan, signal);
      const shaper = new ChatOutputShaper(plan.output);
      await streamEvents(reply, events, {
        first: () => [chatChunk(identity, { role: 'assistant', content: plan.output.kind === 'forced' ? null : '' })],
        text: (text) => shaper.push(text).map((delta) => chatChunk(identity, delta)),
        done: (event) => {
          const shaped = shaper.finish(event.finishReason);
          return [
            ...shaped.deltas.map((delta) => chatChunk(identity, delta)),
            chatChunk(identity, {}, shaped.finishReason),
            ...(body.stream_options?.include_usage ? [chatUsageChunk(identity, usageOf(event.promptTokens, event.completionTokens))] : []),
          ];
        },
      });
      return reply;
    },
  );
};
