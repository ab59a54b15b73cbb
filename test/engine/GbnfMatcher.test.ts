import t from 'tap';
import { GbnfGrammar } from '../../src/engine/GbnfMatcher.js';
import { jsonSchemaToGbnf } from '../../src/translate/jsonSchemaGrammar.js';
import { redactParameters } from '../helpers/jsonSchemaFixtures.js';

const start = (gbnf: string) => GbnfGrammar.parse(gbnf).start();
const accepts = (gbnf: string, text: string) => {
  const matcher = start(gbnf).accept(text);
  return matcher !== undefined && matcher.canEnd;
};

t.test('the redactor call: forced runs stop exactly where the model has a choice', async (t) => {
  const grammar = jsonSchemaToGbnf(redactParameters({})).grammar;
  const opening = start(grammar);
  t.equal(opening.forcedText(200), '{"fields_to_redact": [', 'up to the choice between an item and an empty list');
  const inItem = opening.accept('{"fields_to_redact": [')!;
  t.equal(inItem.forcedText(200), '', 'an item or "]"');
  const afterString = inItem.accept('{"string": "Ann"')!;
  t.equal(afterString.forcedText(200), ', "pii_type": "');
  const e = afterString.accept(', "pii_type": "E')!;
  t.equal(e.forcedText(200), '', 'EMAIL, ETHEREUMADDRESS and EYECOLOR start with E');
  t.equal(e.accept('M')!.forcedText(200), 'AIL"}', 'EM can only be EMAIL');
  t.equal(e.accept('MAIL"}, ')!.forcedText(200), '{"string": "', 'a next item opens the same way');
  t.equal(afterString.forcedText(5), ', "pi', 'limited to the asked length');
  t.equal(opening.accept('{"fields"'), undefined, 'a wrong key is rejected');
  t.notOk(inItem.canEnd, 'an unfinished call cannot end');
  t.ok(accepts(grammar, '{"fields_to_redact": [{"string": "a\\"b", "pii_type": "SSN"}]}'), 'a whole call, escapes included');
});

t.test('GBNF syntax as llama.cpp reads it', async (t) => {
  t.ok(accepts('root ::= "ab"*', ''), 'a repeated literal repeats as a whole');
  t.ok(accepts('root ::= "ab"*', 'abab'));
  t.notOk(accepts('root ::= "ab"*', 'aba'));
  t.ok(accepts('root ::= "x"+ "y"?', 'xxx'));
  t.notOk(accepts('root ::= "x"+ "y"?', 'y'));
  t.ok(accepts('root ::= [0-9]{3}', '123'));
  t.notOk(accepts('root ::= [0-9]{3}', '12'));
  t.notOk(accepts('root ::= [0-9]{3}', '1234'));
  t.ok(accepts('root ::= [a-c]{1,3}', 'cab'));
  t.notOk(accepts('root ::= [a-c]{1,3}', 'caba'));
  t.ok(accepts('root ::= "a"{2,} "b"', 'aaaab'));
  t.notOk(accepts('root ::= "a"{2,} "b"', 'ab'));
  t.ok(accepts('root ::= [^"\\\\\\x00-\\x1f]+', 'héllo 🙂'), 'a negated class with escapes; code points, not UTF-16 units');
  t.notOk(accepts('root ::= [^"\\\\\\x00-\\x1f]+', 'a"'));
  t.ok(accepts('root ::= "\\u00e9\\x41\\n\\t\\\\"', 'éA\n\t\\'), 'escapes in literals');
  t.ok(accepts('root ::= . "!"', '🙂!'), '. is any one code point');
  t.ok(
    accepts('# a comment\nroot ::= item ("," item)*  # trailing comment\nitem ::= ( "yes" |\n  "no" )\n', 'yes,no,no'),
    'comments, rules used before they are defined, groups over several lines',
  );
  t.equal(start('root ::= "a" ("bc" | "bd")').forcedText(10), 'ab', 'a forced run stops where alternatives part');
  t.equal(start('root ::= "ab" | "ac"').forcedText(10), 'a');
  t.equal(start('root ::= "end" "!"?').forcedText(10), 'end', 'and where the grammar could end');
});

t.test('grammar text this reader cannot follow is a GbnfSyntaxError', async (t) => {
  for (const bad of ['root ::= missing', 'root ::= "open', 'root ::= [a-', 'root ::= "a"{3,1}', 'root ::= "\\q"', 'start ::= "a"', 'root ::= <[1234]>']) {
    t.throws(() => GbnfGrammar.parse(bad), { name: 'GbnfSyntaxError' }, bad);
  }
  t.throws(() => start('root ::= root "a" | "b"'), { name: 'GbnfSyntaxError' }, 'left recursion');
});
