// Segregated-witness addresses: BIP 173 (bech32, witness version 0) and BIP 350 (bech32m, versions 1-16). The
// checksums and the 5-bit regrouping come from @scure/base; the segwit rules on top of them are here.
import { bech32, bech32m } from '@scure/base';

export interface WitnessProgram {
  hrp: string;
  version: number;
  program: Uint8Array;
}

/** Version 0 uses bech32's checksum constant, every later version bech32m's. */
const coderFor = (version: number) => (version === 0 ? bech32 : bech32m);

export function encodeSegwitAddress({ hrp, version, program }: WitnessProgram): string {
  const coder = coderFor(version);
  return coder.encode(hrp, [version, ...coder.toWords(program)]);
}

/** Undefined unless `address` is a valid segwit address with the expected human-readable part. */
export function decodeSegwitAddress(address: string, expectedHrp: string): WitnessProgram | undefined {
  if (address.length > 90 || (address !== address.toLowerCase() && address !== address.toUpperCase())) return undefined;
  const lower = address.toLowerCase();
  // The checksum that verifies must be the one the witness version calls for.
  for (const coder of [bech32, bech32m]) {
    const decoded = coder.decodeUnsafe(lower);
    if (!decoded || decoded.prefix !== expectedHrp || decoded.words.length === 0) continue;
    const [version, ...words] = decoded.words;
    if (version > 16 || coderFor(version) !== coder) return undefined;
    const program = coder.fromWordsUnsafe(words);
    if (!program || program.length < 2 || program.length > 40) return undefined;
    if (version === 0 && program.length !== 20 && program.length !== 32) return undefined;
    return { hrp: expectedHrp, version, program };
  }
  return undefined;
}
