// Segregated-witness addresses: BIP 173 (bech32, witness version 0) and BIP 350 (bech32m, versions 1-16).

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
const BECH32_CONSTANT = 1;
const BECH32M_CONSTANT = 0x2bc830a3;

function polymod(values: readonly number[]): number {
  let checksum = 1;
  for (const value of values) {
    const top = checksum >>> 25;
    checksum = ((checksum & 0x1ffffff) << 5) ^ value;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) checksum ^= GENERATOR[i];
  }
  return checksum >>> 0;
}

function expandHrp(hrp: string): number[] {
  const codes = [...hrp].map((ch) => ch.charCodeAt(0));
  return [...codes.map((c) => c >> 5), 0, ...codes.map((c) => c & 31)];
}

/** Regroups bits, e.g. bytes (8) to bech32 digits (5); undefined if padding is invalid when not padding. */
function convertBits(data: readonly number[], from: number, to: number, pad: boolean): number[] | undefined {
  let accumulator = 0;
  let bits = 0;
  const out: number[] = [];
  const maxValue = (1 << to) - 1;
  for (const value of data) {
    accumulator = (accumulator << from) | value;
    bits += from;
    for (; bits >= to; bits -= to) out.push((accumulator >> (bits - to)) & maxValue);
  }
  if (pad && bits > 0) out.push((accumulator << (to - bits)) & maxValue);
  if (!pad && (bits >= from || ((accumulator << (to - bits)) & maxValue) !== 0)) return undefined;
  return out;
}

export interface WitnessProgram {
  hrp: string;
  version: number;
  program: Uint8Array;
}

export function encodeSegwitAddress({ hrp, version, program }: WitnessProgram): string {
  const data = [version, ...(convertBits([...program], 8, 5, true) ?? [])];
  const constant = version === 0 ? BECH32_CONSTANT : BECH32M_CONSTANT;
  const mod = polymod([...expandHrp(hrp), ...data, 0, 0, 0, 0, 0, 0]) ^ constant;
  const checksum = [0, 1, 2, 3, 4, 5].map((i) => (mod >>> (5 * (5 - i))) & 31);
  return `${hrp}1${[...data, ...checksum].map((d) => CHARSET[d]).join('')}`;
}

/** Undefined unless `address` is a valid segwit address with the expected human-readable part. */
export function decodeSegwitAddress(address: string, expectedHrp: string): WitnessProgram | undefined {
  if (address.length > 90 || (address !== address.toLowerCase() && address !== address.toUpperCase())) return undefined;
  const lower = address.toLowerCase();
  const separator = lower.lastIndexOf('1');
  if (lower.slice(0, separator) !== expectedHrp || lower.length - separator - 1 < 7) return undefined;
  const data = [...lower.slice(separator + 1)].map((ch) => CHARSET.indexOf(ch));
  if (data.includes(-1)) return undefined;
  const version = data[0];
  const constant = version === 0 ? BECH32_CONSTANT : BECH32M_CONSTANT;
  if (version > 16 || polymod([...expandHrp(expectedHrp), ...data]) !== constant) return undefined;
  const program = convertBits(data.slice(1, -6), 5, 8, false);
  if (!program || program.length < 2 || program.length > 40) return undefined;
  if (version === 0 && program.length !== 20 && program.length !== 32) return undefined;
  return { hrp: expectedHrp, version, program: Uint8Array.from(program) };
}
