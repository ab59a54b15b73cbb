import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { adaptersDirectory, ensureTestModels } from '../../scripts/generate-test-models.js';
import { startTestServer, type TestServer } from './testServer.js';

/** A ChatML-style format of a user's own, with calls in <tool_call> tags: the tool syntax is stated in the profile. */
export const USER_TEMPLATE =
  "{%- for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}{% if m.tool_calls %}{% for c in m.tool_calls %}<tool_call>\n{{ c.function | tojson }}\n</tool_call>{% endfor %}{% endif %}<|im_end|>\n{% endfor %}" +
  '{%- if tools %}<|im_start|>tools\n{{ tools | tojson }}<|im_end|>\n{% endif %}{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif %}';

export const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string', enum: ['Oslo', 'Paris'] }, days: { type: 'integer', minimum: 1, maximum: 7 } }, required: ['city', 'days'], additionalProperties: false },
  },
};
export const alarmTool = {
  type: 'function' as const,
  function: { name: 'set_alarm', parameters: { type: 'object', properties: { on: { type: 'boolean' } }, required: ['on'], additionalProperties: false } },
};

export const userMessage = (content: string) => [{ role: 'user' as const, content }];

/**
 * A test server on the behaviour model whose adapters (copies of the letter adapters) carry the given profile
 * files; `undefined` leaves an adapter without one.
 */
export async function startProfileServer(work: string, profiles: Record<string, object | undefined>): Promise<{ server: TestServer; adaptersDir: string }> {
  const models = ensureTestModels();
  const adaptersDir = adaptersDirectory(path.join(work, 'adapters'), models, Object.keys(profiles));
  for (const [name, profile] of Object.entries(profiles)) {
    if (profile) writeFileSync(path.join(adaptersDir, `${name}.profile.json`), JSON.stringify(profile));
  }
  const server = await startTestServer({ model: models.behaviourModel, adapters: adaptersDir, 'context-size': 4096, 'model-id': 'base', 'data-dir': path.join(work, 'data') });
  return { server, adaptersDir };
}
