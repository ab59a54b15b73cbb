import t from 'tap';
import { hex } from '../../helpers/files.js';
import { base58checkDecode, base58checkEncode, base58Decode, base58Encode } from '../../../src/redaction/rules/base58check.js';


t.test('base58 and base58check', async (t) => {
  t.equal(base58Encode(Buffer.from('Hello World!')), '2NEpo7TZRRrLZSi2U');
  t.equal(base58Encode(Uint8Array.from([0, 0, 1])), '112');
  t.same(base58Decode('112'), Uint8Array.from([0, 0, 1]));
  t.equal(base58Decode('0OIl'), undefined, 'characters outside the alphabet');
  const genesis = base58checkDecode('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa');
  t.equal(genesis?.version, 0);
  t.equal(hex(genesis?.payload ?? new Uint8Array()), '62e907b15cbf27d5425399ebf6f0fb50ebb88f18');
  t.equal(base58checkEncode(0, genesis?.payload ?? new Uint8Array()), '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa');
  t.equal(base58checkDecode('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb'), undefined);
});
