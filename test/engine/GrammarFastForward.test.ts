import t from 'tap';
import { GbnfGrammar } from '../../src/engine/GbnfMatcher.js';
import { GrammarFastForward, type NativeGrammarState } from '../../src/engine/GrammarFastForward.js';

// One token per character: enough to see which text becomes inserted tokens. The real tokenizer is exercised by
// jumpForwardDecoding.test.ts on the real engine.
const characterTokenizer = {
  tokenize: (text: string) => [...text].map((c) => c.codePointAt(0)!),
  detokenize: (tokens: readonly number[]) => String.fromCodePoint(...tokens),
} as unknown as ConstructorParameters<typeof GrammarFastForward>[1];

function native(allowed: (token: number) => boolean) {
  const accepted: string[] = [];
  const state: NativeGrammarState = { allows: (token) => allowed(token), accept: (token) => void accepted.push(String.fromCodePoint(token)) };
  return { state, accepted };
}
const text = (tokens: number[]) => String.fromCodePoint(...tokens);

t.test('inserts the forced run but its last token, and the native state accepts each', async (t) => {
  const { state, accepted } = native(() => true);
  const forward = new GrammarFastForward(GbnfGrammar.parse('root ::= "{\\"key\\": " [0-9]+ "}"').start(), characterTokenizer, state, []);
  t.equal(text(forward.forcedTokens(100)), '{"key":', 'the space before the choice is left to the model');
  t.equal(accepted.join(''), '{"key":');
  forward.follow('{"key": 4');
  t.same(forward.forcedTokens(100), [], 'a digit or "}" comes next');
  t.equal(text(new GrammarFastForward(GbnfGrammar.parse('root ::= "abcdef" [0-9]').start(), characterTokenizer, native(() => true).state, []).forcedTokens(3)), 'abc', 'at most the budget');
});

t.test("stops before a control token's text", async (t) => {
  const grammar = GbnfGrammar.parse('root ::= "say <|python_tag|> now" [0-9]');
  const forward = new GrammarFastForward(grammar.start(), characterTokenizer, native(() => true).state, ['<|eot_id|>', '<|python_tag|>']);
  t.equal(text(forward.forcedTokens(100)), 'say', 'the model writes the control token itself');
  forward.follow('say <|python_tag|>');
  t.equal(text(forward.forcedTokens(100)), ' no', 'and forcing resumes after it');
});

t.test('when the native grammar refuses a token, forcing stops for the rest of the answer', async (t) => {
  const { state, accepted } = native((token) => token !== 'c'.codePointAt(0));
  const forward = new GrammarFastForward(GbnfGrammar.parse('root ::= "abcd" [0-9] "efgh" [0-9]').start(), characterTokenizer, state, []);
  t.equal(text(forward.forcedTokens(100)), 'ab', 'only what the native state accepted');
  t.equal(accepted.join(''), 'ab');
  forward.follow('abcd1');
  t.same(forward.forcedTokens(100), [], 'no more shortcuts once the two readings disagreed');
});

t.test('a grammar too ambiguous for the reader, found mid-answer: forcing stops, the answer goes on', async (t) => {
  // 5,000 alternatives after "{" are more parse stacks than the reader follows; it finds out only on reading "{".
  const values = Array.from({ length: 5000 }, (_, i) => `"v${i}"`).join(' | ');
  const forward = new GrammarFastForward(GbnfGrammar.parse(`root ::= "{" (${values}) "}"`).start(), characterTokenizer, native(() => true).state, []);
  t.same(forward.forcedTokens(100), [], 'a one-character run leaves its only token to the model');
  t.doesNotThrow(() => forward.follow('{'), 'reading on past the point it cannot follow');
  t.same(forward.forcedTokens(100), [], 'nothing more is forced');
  t.doesNotThrow(() => forward.follow('{"v42"'));
  t.same(forward.forcedTokens(100), []);
});
