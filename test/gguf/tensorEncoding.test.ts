import t from 'tap';
import { bf16BitsToFloat32, decodeFloats, encodeF16, f16BitsToFloat32, float32ToF16Bits } from '../../src/gguf/tensorEncoding.js';

const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

/** The bytes at an odd offset inside a larger buffer, as a tensor can sit in a safetensors file. */
function atOddOffset(bytes: Buffer): Buffer {
  const holder = Buffer.alloc(bytes.length + 3);
  bytes.copy(holder, 1);
  return holder.subarray(1, 1 + bytes.length);
}

t.test('every F16 and BF16 bit pattern decodes as the scalar conversion does, from any offset', async (t) => {
  const patterns = Buffer.alloc(0x10000 * 2);
  for (let bits = 0; bits < 0x10000; bits++) patterns.writeUInt16LE(bits, bits * 2);
  const f16 = decodeFloats(atOddOffset(patterns), 'F16');
  const bf16 = decodeFloats(atOddOffset(patterns), 'BF16');
  let mismatches = 0;
  for (let bits = 0; bits < 0x10000; bits++) {
    if (!same(f16[bits], f16BitsToFloat32(bits)) || !same(bf16[bits], bf16BitsToFloat32(bits))) mismatches++;
  }
  t.equal(mismatches, 0);
});

t.test('F32 decodes from any offset, and F16 encoding writes little-endian halves', async (t) => {
  const values = new Float32Array([0, -0, 1.5, -2.25, 65504, 1e-8, Infinity, 3.4e38]);
  const f32 = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => f32.writeFloatLE(v, i * 4));
  t.same([...decodeFloats(atOddOffset(f32), 'F32')], [...values]);
  const encoded = encodeF16(values);
  t.same([...values].map((_, i) => encoded.readUInt16LE(i * 2)), [...values].map((v) => float32ToF16Bits(v)));
});
