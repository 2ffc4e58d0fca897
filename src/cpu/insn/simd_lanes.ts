/**
 * Lane operations of the integer Advanced SIMD instructions, shared by the
 * vector, scalar and by-element forms (simd_int.ts).
 *
 * A lane function for lanes of up to 32 bits takes exact numbers (signed or
 * unsigned per the instruction) and returns an exact number that the store
 * into a typed lane wraps; saturation goes through `sat` (st.qc). The 64-bit
 * variants take (lo, hi) halves and return bits 31:0, with bits 63:32 in st.hi.
 */
import {
  add64, cmp64s, cmp64u, rshr64, sar64, sat, satS64, shl64, shr64, smul32, sqadd64, sqsub64, st, sub64, uqadd64, uqsub64,
} from './simd_util.js';

export type L32 = (a: number, b: number, c: number) => number;
export type L64 = (al: number, ah: number, bl: number, bh: number, cl: number, ch: number) => number;

/** Signed and unsigned ranges of an e-bit lane. */
export const smin = (e: number): number => -(2 ** (e - 1));
export const smax = (e: number): number => 2 ** (e - 1) - 1;
export const umax = (e: number): number => 2 ** e - 1;

/** The shift amount of the register shifts: the signed low byte of the second operand's lane. */
const shamt = (b: number): number => (b << 24) >> 24;

// ---- Shifts by register (SSHL, USHL, SRSHL, URSHL, SQSHL, UQSHL, SQRSHL, UQRSHL) -------------

/** Right shift of an e-bit lane value by k >= 0, rounding when `round` (k clamped: the result is then 0 or the sign). */
function shiftRight(a: number, k: number, e: number, round: boolean): number {
  if (round) {
    if (k > e + 1) k = e + 1;
    return k === 0 ? a : Math.floor((a + 2 ** (k - 1)) / 2 ** k);
  }
  if (k > e) k = e;
  return Math.floor(a / 2 ** k);
}

export function shlReg(e: number, round: boolean, saturating: boolean, signed: boolean): L32 {
  const lo = signed ? smin(e) : 0, hi = signed ? smax(e) : umax(e);
  return (a, b) => {
    const s = shamt(b);
    if (s < 0) return shiftRight(a, -s, e, round);
    if (!saturating) return s >= e ? 0 : a * 2 ** s;
    return sat(a * 2 ** Math.min(s, 64), lo, hi);
  };
}

/** SQSHL/UQSHL of a 64-bit lane by s >= 0. */
function qshl64(al: number, ah: number, s: number, signed: boolean): number {
  if (s === 0 || (al | ah) === 0) { st.hi = ah; return al; }
  if (signed) {
    if (s < 64) {
      const rl = shl64(al, ah, s), rh = st.hi;
      const bl = sar64(rl, rh, s);
      if (bl === (al | 0) && st.hi === (ah | 0)) { st.hi = rh; return rl; }
    }
    return satS64(ah);
  }
  if (s < 64) {
    const rl = shl64(al, ah, s), rh = st.hi;
    const bl = shr64(rl, rh, s);
    if (bl === (al | 0) && st.hi === (ah | 0)) { st.hi = rh; return rl; }
  }
  st.qc = 1;
  st.hi = -1;
  return -1;
}

export function shlReg64(round: boolean, saturating: boolean, signed: boolean): L64 {
  return (al, ah, bl) => {
    const s = shamt(bl);
    if (s < 0) {
      if (round) return rshr64(al, ah, -s, signed);
      return signed ? sar64(al, ah, -s) : shr64(al, ah, -s);
    }
    if (saturating) return qshl64(al, ah, s, signed);
    return shl64(al, ah, s);
  };
}

// ---- Three same -------------------------------------------------------------------

const cmp = (c: boolean): number => (c ? -1 : 0);
const ones = (c: boolean): number => {
  const v = c ? -1 : 0;
  st.hi = v;
  return v;
};

/** Carry-less multiply of two bytes (PMUL), low 8 bits; or of two 8-bit values into 16 bits (PMULL). */
export function clmul(a: number, b: number, bits: number): number {
  let r = 0;
  for (let i = 0; i < bits; i++) if ((b >>> i) & 1) r ^= a << i;
  return r;
}

/** SQDMULH / SQRDMULH for e = 16 or 32 (signed lanes). */
export function qdmulh(e: number, round: boolean): L32 {
  if (e === 16) {
    return (a, b) => sat(Math.floor((2 * a * b + (round ? 32768 : 0)) / 65536), -32768, 32767);
  }
  return (a, b) => {
    if (a === -0x80000000 && b === -0x80000000) { st.qc = 1; return 0x7fffffff; }
    let lo = smul32(a, b) >>> 0, hi = st.hi;
    if (round) {
      lo += 0x40000000;
      if (lo > 0xffffffff) { lo -= 4294967296; hi = (hi + 1) | 0; }
    }
    return (hi << 1) | (lo >>> 31);
  };
}

export interface SameOp {
  /** Lanes of up to 32 bits: the lane function for e bits. */
  readonly f: (e: number) => L32;
  /** 64-bit lanes. */
  readonly f64?: L64;
  /** Whether lanes are read as signed numbers. */
  readonly signed: boolean;
}

const u = (f: (e: number) => L32, f64?: L64): SameOp => ({ f, f64, signed: false });
const s = (f: (e: number) => L32, f64?: L64): SameOp => ({ f, f64, signed: true });

export const ADD: SameOp = u(() => (a, b) => a + b, add64);
export const SUB: SameOp = u(() => (a, b) => a - b, sub64);
export const SQADD: SameOp = s((e) => { const lo = smin(e), hi = smax(e); return (a, b) => sat(a + b, lo, hi); }, sqadd64);
export const UQADD: SameOp = u((e) => { const hi = umax(e); return (a, b) => sat(a + b, 0, hi); }, uqadd64);
export const SQSUB: SameOp = s((e) => { const lo = smin(e), hi = smax(e); return (a, b) => sat(a - b, lo, hi); }, sqsub64);
export const UQSUB: SameOp = u((e) => { const hi = umax(e); return (a, b) => sat(a - b, 0, hi); }, uqsub64);
export const CMGT: SameOp = s(() => (a, b) => cmp(a > b), (al, ah, bl, bh) => ones(cmp64s(al, ah, bl, bh) > 0));
export const CMGE: SameOp = s(() => (a, b) => cmp(a >= b), (al, ah, bl, bh) => ones(cmp64s(al, ah, bl, bh) >= 0));
export const CMHI: SameOp = u(() => (a, b) => cmp(a > b), (al, ah, bl, bh) => ones(cmp64u(al, ah, bl, bh) > 0));
export const CMHS: SameOp = u(() => (a, b) => cmp(a >= b), (al, ah, bl, bh) => ones(cmp64u(al, ah, bl, bh) >= 0));
export const CMEQ: SameOp = u(() => (a, b) => cmp(a === b), (al, ah, bl, bh) => ones(al === bl && ah === bh));
export const CMTST: SameOp = u(() => (a, b) => cmp((a & b) !== 0), (al, ah, bl, bh) => ones(((al & bl) | (ah & bh)) !== 0));
export const SSHL: SameOp = s((e) => shlReg(e, false, false, true), shlReg64(false, false, true));
export const USHL: SameOp = u((e) => shlReg(e, false, false, false), shlReg64(false, false, false));
export const SRSHL: SameOp = s((e) => shlReg(e, true, false, true), shlReg64(true, false, true));
export const URSHL: SameOp = u((e) => shlReg(e, true, false, false), shlReg64(true, false, false));
export const SQSHL: SameOp = s((e) => shlReg(e, false, true, true), shlReg64(false, true, true));
export const UQSHL: SameOp = u((e) => shlReg(e, false, true, false), shlReg64(false, true, false));
export const SQRSHL: SameOp = s((e) => shlReg(e, true, true, true), shlReg64(true, true, true));
export const UQRSHL: SameOp = u((e) => shlReg(e, true, true, false), shlReg64(true, true, false));
export const SHADD: SameOp = s(() => (a, b) => Math.floor((a + b) / 2));
export const UHADD: SameOp = u(() => (a, b) => Math.floor((a + b) / 2));
export const SRHADD: SameOp = s(() => (a, b) => Math.floor((a + b + 1) / 2));
export const URHADD: SameOp = u(() => (a, b) => Math.floor((a + b + 1) / 2));
export const SHSUB: SameOp = s(() => (a, b) => Math.floor((a - b) / 2));
export const UHSUB: SameOp = u(() => (a, b) => Math.floor((a - b) / 2));
export const SMAX: SameOp = s(() => (a, b) => (a > b ? a : b));
export const SMIN: SameOp = s(() => (a, b) => (a < b ? a : b));
export const UMAX: SameOp = u(() => (a, b) => (a > b ? a : b));
export const UMIN: SameOp = u(() => (a, b) => (a < b ? a : b));
export const SABD: SameOp = s(() => (a, b) => Math.abs(a - b));
export const UABD: SameOp = u(() => (a, b) => Math.abs(a - b));
export const SABA: SameOp = s(() => (a, b, c) => c + Math.abs(a - b));
export const UABA: SameOp = u(() => (a, b, c) => c + Math.abs(a - b));
export const MUL: SameOp = u(() => (a, b) => Math.imul(a, b));
export const MLA: SameOp = u(() => (a, b, c) => c + Math.imul(a, b));
export const MLS: SameOp = u(() => (a, b, c) => c - Math.imul(a, b));
export const PMUL: SameOp = u(() => (a, b) => clmul(a, b, 8));
export const SQDMULH: SameOp = s((e) => qdmulh(e, false));
export const SQRDMULH: SameOp = s((e) => qdmulh(e, true));

// ---- 64-bit lanes of the unary operations -----------------------------------------------

export function abs64(l: number, h: number): number {
  if (h < 0) return sub64(0, 0, l, h);
  st.hi = h;
  return l;
}

export function sqabs64(l: number, h: number): number {
  if (h === (0x80000000 | 0) && l === 0) return satS64(0);
  return abs64(l, h);
}

export function sqneg64(l: number, h: number): number {
  if (h === (0x80000000 | 0) && l === 0) return satS64(0);
  return sub64(0, 0, l, h);
}

/** SUQADD: signed saturating accumulate of an unsigned value: SignedSat(SInt(d) + UInt(n)). */
export function suqadd64(nl: number, nh: number, dl: number, dh: number): number {
  // Sum of signed d and unsigned n, as a 65-bit value: compute the 64-bit sum and its true sign.
  const lo = add64(dl, dh, nl, nh), hi = st.hi;
  // The exact sum is d + n with d in [-2^63, 2^63) and n in [0, 2^64): it is >= d >= -2^63, so only
  // positive overflow exists: exact sum >= 2^63 happens when the 64-bit sum with carry exceeds.
  const carry = (dh >>> 0) + (nh >>> 0) + (((dl >>> 0) + (nl >>> 0)) > 0xffffffff ? 1 : 0) > 0xffffffff ? 1 : 0;
  // exact = (dh < 0 ? -2^64 : 0) + carry * 2^64 + unsigned(lo, hi)
  const top = (dh < 0 ? -1 : 0) + carry; // -1, 0 or 1: the multiple of 2^64
  if (top > 0 || (top === 0 && hi < 0)) return satS64(0);
  st.hi = hi;
  return lo;
}

/** USQADD: UnsignedSat(UInt(d) + SInt(n)). */
export function usqadd64(nl: number, nh: number, dl: number, dh: number): number {
  const lo = add64(dl, dh, nl, nh), hi = st.hi;
  const carry = (dh >>> 0) + (nh >>> 0) + (((dl >>> 0) + (nl >>> 0)) > 0xffffffff ? 1 : 0) > 0xffffffff ? 1 : 0;
  const top = (nh < 0 ? -1 : 0) + carry;
  if (top > 0) { st.qc = 1; st.hi = -1; return -1; }
  if (top < 0) { st.qc = 1; st.hi = 0; return 0; }
  st.hi = hi;
  return lo;
}

export { sat, st };
