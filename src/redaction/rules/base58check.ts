// Base58 and Base58Check (version byte + payload + 4 bytes of double SHA-256), as Bitcoin addresses use them,
// from @scure/base. SHA-256 is node:crypto's (native; measured faster here than a JavaScript one).
import { createHash } from 'node:crypto';
import { base58, createBase58check } from '@scure/base';

const base58checkCoder = createBase58check((data: Uint8Array) => createHash('sha256').update(data).digest());

export function base58Encode(bytes: Uint8Array): string {
  return base58.encode(bytes);
}

/** Undefined when the text has a character outside the alphabet. */
export function base58Decode(text: string): Uint8Array | undefined {
  try {
    return base58.decode(text);
  } catch {
    return undefined;
  }
}

/** Version byte + payload + the first 4 bytes of SHA-256(SHA-256(version + payload)). */
export function base58checkEncode(version: number, payload: Uint8Array): string {
  return base58checkCoder.encode(Uint8Array.from([version, ...payload]));
}

export interface Base58checkPayload {
  version: number;
  payload: Uint8Array;
}

/** Undefined unless the text is base58 and its 4-byte checksum matches. */
export function base58checkDecode(text: string): Base58checkPayload | undefined {
  let body: Uint8Array;
  try {
    body = base58checkCoder.decode(text);
  } catch {
    return undefined;
  }
  if (body.length < 1) return undefined;
  return { version: body[0], payload: body.subarray(1) };
}
