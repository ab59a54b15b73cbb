import { createHash } from 'node:crypto';

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

function doubleSha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(createHash('sha256').update(bytes).digest()).digest();
}

export function base58Encode(bytes: Uint8Array): string {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  let out = '';
  while (value > 0n) {
    out = ALPHABET[Number(value % 58n)] + out;
    value /= 58n;
  }
  // Each leading zero byte is written as a leading '1'.
  for (let i = 0; i < bytes.length && bytes[i] === 0; i++) out = `1${out}`;
  return out;
}

export function base58Decode(text: string): Uint8Array | undefined {
  let value = 0n;
  for (const ch of text) {
    const digit = ALPHABET.indexOf(ch);
    if (digit < 0) return undefined;
    value = value * 58n + BigInt(digit);
  }
  const body: number[] = [];
  for (; value > 0n; value >>= 8n) body.unshift(Number(value & 0xffn));
  const leadingZeros = text.length - text.replace(/^1+/, '').length;
  return Uint8Array.from([...new Array<number>(leadingZeros).fill(0), ...body]);
}

/** Version byte + payload + the first 4 bytes of SHA-256(SHA-256(version + payload)). */
export function base58checkEncode(version: number, payload: Uint8Array): string {
  const body = Uint8Array.from([version, ...payload]);
  return base58Encode(Uint8Array.from([...body, ...doubleSha256(body).subarray(0, 4)]));
}

export interface Base58checkPayload {
  version: number;
  payload: Uint8Array;
}

/** Undefined unless the text is base58 and its 4-byte checksum matches. */
export function base58checkDecode(text: string): Base58checkPayload | undefined {
  const bytes = base58Decode(text);
  if (!bytes || bytes.length < 5) return undefined;
  const body = bytes.subarray(0, -4);
  const checksum = doubleSha256(body).subarray(0, 4);
  if (!checksum.equals(bytes.subarray(-4))) return undefined;
  return { version: body[0], payload: body.subarray(1) };
}
