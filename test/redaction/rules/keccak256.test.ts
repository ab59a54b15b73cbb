import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { hex } from '../../helpers/files.js';
import { eip55Checksummed, keccak256, sha3_256 } from '../../../src/redaction/rules/keccak256.js';


t.test('Keccak-256 test vectors and the sponge against node:crypto SHA3', async (t) => {
  t.equal(hex(keccak256(new Uint8Array())), 'c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470');
  t.equal(hex(keccak256(Buffer.from('abc'))), '4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45');
  // Lengths around the 136-byte rate exercise padding and multi-block absorption.
  for (const length of [0, 1, 135, 136, 137, 300]) {
    const input = randomBytes(length);
    t.equal(hex(sha3_256(input)), createHash('sha3-256').update(input).digest('hex'), `${length} bytes`);
  }
});

t.test('EIP-55 checksums of the EIP examples', async (t) => {
  const examples = [
    '5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
    'fB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
    'dbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB',
    'D1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb',
  ];
  for (const address of examples) t.equal(eip55Checksummed(address.toLowerCase()), address);
});
