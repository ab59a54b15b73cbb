// Keccak-256 as Ethereum uses it (the original Keccak padding, not SHA3-256's), for EIP-55 address checksums:
// node:crypto offers only SHA3. Both come from @noble/hashes (audited, constant-time where it matters).
import { keccak_256, sha3_256 as nobleSha3_256 } from '@noble/hashes/sha3.js';

export function keccak256(input: Uint8Array): Uint8Array {
  return keccak_256(input);
}

/** SHA3-256, the same sponge with the standard's padding; kept beside keccak256 so tests can tell the two apart. */
export function sha3_256(input: Uint8Array): Uint8Array {
  return nobleSha3_256(input);
}

/** EIP-55 mixed-case form of a 40-hex-digit address (without 0x). */
export function eip55Checksummed(hex40: string): string {
  const lower = hex40.toLowerCase();
  const hash = keccak256(new TextEncoder().encode(lower));
  let out = '';
  for (let i = 0; i < lower.length; i++) {
    const nibble = (hash[i >> 1] >> (i % 2 === 0 ? 4 : 0)) & 0x0f;
    out += nibble >= 8 ? lower[i].toUpperCase() : lower[i];
  }
  return out;
}
