import { randomBytes } from 'node:crypto';
import t from 'tap';
import { hex } from '../../helpers/files.js';
import { decodeSegwitAddress, encodeSegwitAddress } from '../../../src/redaction/rules/bech32.js';


t.test('segwit addresses (BIP 173 / BIP 350 vectors)', async (t) => {
  const v0 = decodeSegwitAddress('BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4', 'bc');
  t.equal(v0?.version, 0);
  t.equal(hex(v0?.program ?? new Uint8Array()), '751e76e8199196d454941c45d1b3a323f1433bd6');
  const v1 = decodeSegwitAddress('bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y', 'bc');
  t.equal(v1?.version, 1);
  t.equal(v1?.program.length, 40);
  t.equal(encodeSegwitAddress({ hrp: 'bc', version: 0, program: v0!.program }), 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4');
  t.equal(decodeSegwitAddress('bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', 'ltc'), undefined, 'wrong prefix');
  t.equal(decodeSegwitAddress('bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh', 'bc'), undefined, 'v0 with bech32m');
  for (const [version, length] of [[0, 32], [1, 32], [2, 2], [16, 40]]) {
    const program = Uint8Array.from(randomBytes(length));
    const address = encodeSegwitAddress({ hrp: 'ltc', version, program });
    t.same(decodeSegwitAddress(address, 'ltc'), { hrp: 'ltc', version, program }, `round trip v${version}`);
  }
});
