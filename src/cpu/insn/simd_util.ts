/**
 * Shared pieces of the Advanced SIMD groups (simd_int.ts, simd_perm.ts,
 * ldst_simd.ts, crypto.ts): scratch lane buffers with typed views, 64-bit
 * lane arithmetic on (lo, hi) int32 halves, and disassembly helpers.
 *
 * Ops read their source registers into scratch buffers first and write the
 * destination last, so Vd may alias Vn or Vm. Lanes up to 32 bits are plain
 * numbers (exact doubles); a typed-array store wraps a result to its lane
 * width. 64-bit lanes are pairs of int32 halves (no BigInt).
 */
import type { PE } from '../pe.js';

/** FPSR.QC, the cumulative saturation bit. */
export const FPSR_QC = 1 << 27;

/** A 16-byte scratch vector with every integer view of it. */
export class Lanes {
  readonly buf = new ArrayBuffer(16);
  readonly u8 = new Uint8Array(this.buf);
  readonly s8 = new Int8Array(this.buf);
  readonly u16 = new Uint16Array(this.buf);
  readonly s16 = new Int16Array(this.buf);
  readonly u32 = new Uint32Array(this.buf);
  readonly s32 = new Int32Array(this.buf);
}

export type LaneArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

/** The view of `l` for lanes of 8 << size bits (size 0..2), signed or not. */
export function view(l: Lanes, size: number, signed: boolean): LaneArray {
  switch (size) {
    case 0: return signed ? l.s8 : l.u8;
    case 1: return signed ? l.s16 : l.u16;
    default: return signed ? l.s32 : l.u32;
  }
}

/** Scratch operands: A and B (sources), C (old destination), R (result). */
export const LA = new Lanes();
export const LB = new Lanes();
export const LC = new Lanes();
export const LR = new Lanes();

/** Copies Vn into scratch `l`. */
export function getV(pe: PE, n: number, l: Lanes): void {
  const v = pe.v32, o = 4 * n, s = l.s32;
  s[0] = v[o]; s[1] = v[o + 1]; s[2] = v[o + 2]; s[3] = v[o + 3];
}

/** Writes scratch `l` to Vd: all 128 bits when `q`, else the low 64 bits with the high 64 cleared. */
export function putV(pe: PE, d: number, l: Lanes, q: boolean): void {
  const v = pe.v32, o = 4 * d, s = l.s32;
  v[o] = s[0]; v[o + 1] = s[1];
  if (q) { v[o + 2] = s[2]; v[o + 3] = s[3]; } else { v[o + 2] = 0; v[o + 3] = 0; }
}

/** Writes the low 64 bits of `l` to the upper half of Vd, keeping the lower half (the "2" narrowing forms). */
export function putUpper(pe: PE, d: number, l: Lanes): void {
  const v = pe.v32, o = 4 * d, s = l.s32;
  v[o + 2] = s[0]; v[o + 3] = s[1];
}

/** Clears Vd and writes `lo`, `hi` as its low 64 bits (scalar results of 64 bits or less). */
export function putD(pe: PE, d: number, lo: number, hi: number): void {
  const v = pe.v32, o = 4 * d;
  v[o] = lo; v[o + 1] = hi; v[o + 2] = 0; v[o + 3] = 0;
}

/** Saturation state of the running op: set by sat helpers, folded into FPSR.QC by the op. */
export const st = { qc: 0, hi: 0 };

/** Folds a saturation seen by the op into FPSR.QC. */
export function flushQc(pe: PE): void {
  if (st.qc !== 0) {
    pe.fpsr |= FPSR_QC;
    st.qc = 0;
  }
}

/** Clamps v to [min, max], noting saturation. */
export function sat(v: number, min: number, max: number): number {
  if (v > max) { st.qc = 1; return max; }
  if (v < min) { st.qc = 1; return min; }
  return v;
}

export const TWO32 = 4294967296;

/** Splits an exact integral double (|v| < 2^64) into halves: returns bits 31:0, leaves bits 63:32 in st.hi. */
export function split(v: number): number {
  st.hi = Math.floor(v / TWO32) | 0;
  return v >>> 0 | 0;
}

/** A 64-bit value (lo, hi) as an exact double when it is one (|v| < 2^53), signed or unsigned. */
export const toNum = (lo: number, hi: number, signed: boolean): number => (signed ? hi | 0 : hi >>> 0) * TWO32 + (lo >>> 0);

// ---- 64-bit lane arithmetic on halves ----------------------------------------------
// Each returns bits 31:0 (int32) and leaves bits 63:32 in st.hi.

export function add64(al: number, ah: number, bl: number, bh: number): number {
  const s = (al >>> 0) + (bl >>> 0);
  st.hi = (ah + bh + (s > 0xffffffff ? 1 : 0)) | 0;
  return s | 0;
}

export function sub64(al: number, ah: number, bl: number, bh: number): number {
  const s = (al >>> 0) - (bl >>> 0);
  st.hi = (ah - bh - (s < 0 ? 1 : 0)) | 0;
  return s | 0;
}

export function neg64(al: number, ah: number): number {
  return sub64(0, 0, al, ah);
}

/** Signed comparison: -1, 0, 1. */
export function cmp64s(al: number, ah: number, bl: number, bh: number): number {
  if ((ah | 0) !== (bh | 0)) return (ah | 0) < (bh | 0) ? -1 : 1;
  if ((al >>> 0) !== (bl >>> 0)) return (al >>> 0) < (bl >>> 0) ? -1 : 1;
  return 0;
}

/** Unsigned comparison: -1, 0, 1. */
export function cmp64u(al: number, ah: number, bl: number, bh: number): number {
  if ((ah >>> 0) !== (bh >>> 0)) return (ah >>> 0) < (bh >>> 0) ? -1 : 1;
  if ((al >>> 0) !== (bl >>> 0)) return (al >>> 0) < (bl >>> 0) ? -1 : 1;
  return 0;
}

/** Logical shift left by s (0..63; larger gives 0). */
export function shl64(l: number, h: number, s: number): number {
  if (s >= 64) { st.hi = 0; return 0; }
  if (s >= 32) { st.hi = l << (s - 32); return 0; }
  if (s === 0) { st.hi = h | 0; return l | 0; }
  st.hi = (h << s) | (l >>> (32 - s));
  return l << s;
}

/** Logical shift right by s (0..; 64 or more gives 0). */
export function shr64(l: number, h: number, s: number): number {
  if (s >= 64) { st.hi = 0; return 0; }
  if (s >= 32) { st.hi = 0; return (h >>> (s - 32)) | 0; }
  if (s === 0) { st.hi = h | 0; return l | 0; }
  st.hi = h >>> s | 0;
  return ((l >>> s) | (h << (32 - s))) | 0;
}

/** Arithmetic shift right by s (0..; 64 or more gives the sign). */
export function sar64(l: number, h: number, s: number): number {
  if (s >= 64) { st.hi = h >> 31; return h >> 31; }
  if (s >= 32) { st.hi = h >> 31; return h >> (s - 32); }
  if (s === 0) { st.hi = h | 0; return l | 0; }
  st.hi = h >> s;
  return ((l >>> s) | (h << (32 - s))) | 0;
}

/** Bit b of a 64-bit value (b >= 64 reads the sign when `signed`, else 0). */
export function bit64(l: number, h: number, b: number, signed: boolean): number {
  if (b >= 64) return signed ? (h >>> 31) : 0;
  return b >= 32 ? (h >>> (b - 32)) & 1 : (l >>> b) & 1;
}

/** Right shift by s with rounding (add 2^(s-1) at infinite precision first); s >= 1. */
export function rshr64(l: number, h: number, s: number, signed: boolean): number {
  const r = bit64(l, h, s - 1, signed);
  let lo = signed ? sar64(l, h, s) : shr64(l, h, s);
  const hi = st.hi;
  if (r) return add64(lo, hi, 1, 0);
  st.hi = hi;
  return lo;
}

/** Signed saturating 64-bit add. */
export function sqadd64(al: number, ah: number, bl: number, bh: number): number {
  const lo = add64(al, ah, bl, bh);
  const hi = st.hi;
  if (((ah ^ bh) & 0x80000000) === 0 && ((ah ^ hi) & 0x80000000) !== 0) return satS64(ah);
  st.hi = hi;
  return lo;
}

/** Signed saturating 64-bit subtract. */
export function sqsub64(al: number, ah: number, bl: number, bh: number): number {
  const lo = sub64(al, ah, bl, bh);
  const hi = st.hi;
  if (((ah ^ bh) & 0x80000000) !== 0 && ((ah ^ hi) & 0x80000000) !== 0) return satS64(ah);
  st.hi = hi;
  return lo;
}

/** The saturated signed 64-bit value for an overflow in the direction of sign(h) (negative h: minimum). */
export function satS64(h: number): number {
  st.qc = 1;
  if (h < 0) { st.hi = 0x80000000 | 0; return 0; }
  st.hi = 0x7fffffff;
  return -1;
}

export function uqadd64(al: number, ah: number, bl: number, bh: number): number {
  const s = (al >>> 0) + (bl >>> 0);
  const t = (ah >>> 0) + (bh >>> 0) + (s > 0xffffffff ? 1 : 0);
  if (t > 0xffffffff) { st.qc = 1; st.hi = -1; return -1; }
  st.hi = t | 0;
  return s | 0;
}

export function uqsub64(al: number, ah: number, bl: number, bh: number): number {
  if (cmp64u(al, ah, bl, bh) < 0) { st.qc = 1; st.hi = 0; return 0; }
  return sub64(al, ah, bl, bh);
}

/** Signed 32x32 -> 64 product: returns bits 31:0, leaves bits 63:32 in st.hi. */
export function smul32(a: number, b: number): number {
  a |= 0; b |= 0;
  const al = a & 0xffff, ah = a >> 16, bl = b & 0xffff, bh = b >> 16;
  const t = (ah * bl + al * bh) * 65536 + al * bl; // |t| < 2^49: exact
  st.hi = (ah * bh + Math.floor(t / TWO32)) | 0;
  return t >>> 0 | 0;
}

/** Unsigned 32x32 -> 64 product. */
export function umul32(a: number, b: number): number {
  a >>>= 0; b >>>= 0;
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const t = (ah * bl + al * bh) * 65536 + al * bl; // < 2^50: exact
  st.hi = (ah * bh + Math.floor(t / TWO32)) | 0;
  return t >>> 0 | 0;
}

/** Whether the signed 64-bit (lo, hi) fits in `bits` (<= 32) bits signed. */
export const fitsS = (lo: number, hi: number, bits: number): boolean =>
  bits === 32 ? (hi | 0) === lo >> 31 : (hi | 0) === lo >> 31 && ((lo << (32 - bits)) >> (32 - bits)) === (lo | 0);

// ---- Disassembly ------------------------------------------------------------------

const ARR = ['8b', '16b', '4h', '8h', '2s', '4s', '1d', '2d'];
/** Arrangement specifier for lanes of 8 << size bits in a 64-bit (q 0) or 128-bit register. */
export const arr = (size: number, q: number): string => ARR[2 * size + (q ? 1 : 0)];
/** `v<n>.<T>` */
export const vr = (n: number, size: number, q: number): string => `v${n}.${arr(size, q)}`;
/** Scalar register name b/h/s/d/q by size 0..4. */
export const sr = (n: number, size: number): string => `${'bhsdq'[size]}${n}`;
/** Element-size letter. */
export const ET = ['b', 'h', 's', 'd'];
/** `v<n>.<T>[i]` */
export const velem = (n: number, size: number, i: number): string => `v${n}.${ET[size]}[${i}]`;

/** objdump's hex immediate: `#0x..`. */
export const hexImm = (v: number): string => `#0x${(v >>> 0).toString(16)}`;
