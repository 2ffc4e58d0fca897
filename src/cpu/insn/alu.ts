/**
 * Integer arithmetic on 64-bit values held as two 32-bit halves
 * (AddWithCarry and friends from the architecture's shared pseudocode).
 * Operands are unsigned 32-bit numbers (x >>> 0) or int32s; results are
 * written straight into the register file.
 */
import type { PE } from '../pe.js';

/**
 * AddWithCarry(a, b, cin) for 64 bits, result to x[d], x[d+1]; sets NZCV when `flags`.
 */
export function adc64(pe: PE, d: number, alo: number, ahi: number, blo: number, bhi: number, cin: number, flags: boolean): void {
  const lo = (alo >>> 0) + (blo >>> 0) + cin;
  const c0 = lo > 0xffffffff ? 1 : 0;
  const hi = (ahi >>> 0) + (bhi >>> 0) + c0;
  const rhi = hi | 0;
  if (flags) {
    pe.n = rhi >>> 31;
    pe.z = ((lo >>> 0) | rhi) === 0 ? 1 : 0;
    pe.c = hi > 0xffffffff ? 1 : 0;
    pe.v = ((~(ahi ^ bhi) & (ahi ^ rhi)) >>> 31) & 1;
  }
  pe.x[d] = lo | 0;
  pe.x[d + 1] = rhi;
}

/** AddWithCarry for 32 bits: result zero-extended into x[d]. */
export function adc32(pe: PE, d: number, a: number, b: number, cin: number, flags: boolean): void {
  const s = (a >>> 0) + (b >>> 0) + cin;
  const r = s | 0;
  if (flags) {
    pe.n = r >>> 31;
    pe.z = r === 0 ? 1 : 0;
    pe.c = s > 0xffffffff ? 1 : 0;
    pe.v = ((~(a ^ b) & (a ^ r)) >>> 31) & 1;
  }
  pe.x[d] = r;
  pe.x[d + 1] = 0;
}
