// Conversions between float32 and the 16-bit float formats GGUF and safetensors store.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half precision, round-to-nearest-even, with overflow to infinity and subnormals. */
export function float32ToF16Bits(value: number): number {
  f32[0] = value;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    const rounded = (mantissa + (1 << (shift - 1)) - 1 + ((mantissa >> shift) & 1)) >> shift;
    return sign | rounded;
  }
  const rounded = mantissa + 0xfff + ((mantissa >> 13) & 1);
  if (rounded & 0x800000) {
    const exp = halfExponent + 1;
    return exp >= 0x1f ? sign | 0x7c00 : sign | (exp << 10);
  }
  return sign | (halfExponent << 10) | (rounded >> 13);
}

export function f16BitsToFloat32(half: number): number {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

export function bf16BitsToFloat32(bits: number): number {
  u32[0] = bits << 16;
  return f32[0];
}

export function encodeF32(values: Float32Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

// The typed-array views below use the machine's byte order. GGUF and safetensors are little-endian, and so is every
// platform node-llama-cpp ships binaries for.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
function assertLittleEndian(): void {
  if (!LITTLE_ENDIAN) throw new Error('tensor conversion needs a little-endian machine');
}

export function encodeF16(values: Float32Array): Buffer {
  assertLittleEndian();
  const out = Buffer.alloc(values.length * 2);
  const halves = new Uint16Array(out.buffer, out.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) halves[i] = float32ToF16Bits(values[i]);
  return out;
}

let f16Table: Float32Array | undefined;
/** Every F16 bit pattern's value: 256 KiB, built on first use, so decoding is one lookup per value. */
function f16Values(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(0x10000);
    for (let bits = 0; bits < 0x10000; bits++) f16Table[bits] = f16BitsToFloat32(bits);
  }
  return f16Table;
}

/** Decodes little-endian F32, F16 or BF16 bytes into float32 values. */
export function decodeFloats(bytes: Buffer, dtype: 'F32' | 'F16' | 'BF16'): Float32Array {
  assertLittleEndian();
  // A copy starts at offset 0 of its own memory, so the views below are aligned whatever offset the tensor had.
  const copy = new Uint8Array(bytes);
  if (dtype === 'F32') return new Float32Array(copy.buffer, 0, copy.length / 4);
  const halves = new Uint16Array(copy.buffer, 0, copy.length / 2);
  const out = new Float32Array(halves.length);
  if (dtype === 'F16') {
    const table = f16Values();
    for (let i = 0; i < out.length; i++) out[i] = table[halves[i]];
  } else {
    // BF16 is the top half of a float32.
    const words = new Uint32Array(out.buffer);
    for (let i = 0; i < out.length; i++) words[i] = halves[i] << 16;
  }
  return out;
}
