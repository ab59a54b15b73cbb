import fc from 'fast-check';
import t from 'tap';
import { GeneratedText, StopTextDetector } from '../../src/engine/LlamaEngine.js';
import { ensureTestModels } from '../../scripts/generate-test-models.js';
import { loadTestModel } from '../helpers/testLlama.js';

// The genuine Llama 3.1 tokenizer: byte-level pieces, so emoji and most non-Latin characters span several tokens.
const { model, close } = await loadTestModel(ensureTestModels().behaviourModel);
t.teardown(close);

function streamed(text: string): { steps: string[]; whole: string } {
  const tokens = model.tokenize(text, false);
  const generated = new GeneratedText(model);
  return { steps: tokens.map((token) => generated.append(token)), whole: model.detokenize(tokens) };
}

t.test('token by token, the text is what detokenising the whole list gives', async (t) => {
  for (const sample of ['Plain words, spaced  twice.', 'Zoë paid €12 at Müller’s café 🦙🦙 — 東京で会いましょう', ' leading space\nand lines\n\n']) {
    const { steps, whole } = streamed(sample);
    t.equal(steps.at(-1), whole, JSON.stringify(sample.slice(0, 20)));
    t.ok(
      steps.every((text) => whole.startsWith(text) || (text.endsWith('\uFFFD') && whole.startsWith(text.replace(/\uFFFD+$/, '')))),
      'every step is a prefix of the whole, or one with a partial character pending at its end',
    );
  }
});

t.test('property: any text streams back to its whole detokenisation', async (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (text) => (streamed(text).steps.at(-1) ?? '') === model.detokenize(model.tokenize(text, false))),
    { numRuns: 300 },
  );
  t.pass('300 runs');
});

t.test('stop strings are found from where the emitted text ended, including one that straddles it', async (t) => {
  const stops = new StopTextDetector(['</end>']);
  t.equal(stops.find('abc</end>', 3), 3);
  t.equal(stops.find('abc</en', 0), undefined);
  t.equal(stops.safeEnd('abc</en'), 3, 'a partial stop string is held back, so it is never emitted');
  t.equal(stops.safeEnd('abc</en\uFFFD'), 3, 'also when a partial character follows it');
  t.equal(stops.safeEnd('abc\uFFFD'), 3, 'a partial character is held back');
  t.equal(new StopTextDetector([]).safeEnd('abc'), 3);
});
