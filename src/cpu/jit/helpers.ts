/**
 * Functions generated code calls (as `H.name`): small, monomorphic, so that
 * V8 inlines them into the compiled block.
 */
export { spAlignmentChecked, spAlignmentFault } from '../exceptions.js';

/**
 * Bits 63:32 of the unsigned 32x32-bit product of a and b (int32s or
 * uint32s); bits 31:0 are Math.imul(a, b). Partial products of 16-bit limbs
 * are below 2^32, so every sum is an exact double.
 */
export function umulHi(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0;
  const t = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (t >>> 16)) | 0;
}
