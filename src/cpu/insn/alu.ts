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

// ---- Flags of logical operations --------------------------------------------

/** NZCV for the flag-setting logical operations (ANDS, BICS, TST): N and Z from the result, C = V = 0. */
export function nz64(pe: PE, lo: number, hi: number): void {
  pe.n = hi >>> 31;
  pe.z = (lo | hi) === 0 ? 1 : 0;
  pe.c = 0;
  pe.v = 0;
}

export function nz32(pe: PE, r: number): void {
  pe.n = r >>> 31;
  pe.z = r === 0 ? 1 : 0;
  pe.c = 0;
  pe.v = 0;
}

// ---- 64-bit shifts --------------------------------------------------------
// Each shift is written without a branch on the amount: the caller passes
// `sa` = amount & 31 and `a` = -1 when the amount is below 32, else 0 (for a
// constant amount both are computed once at decode time; for LSLV and friends
// `a = (amount - 32) >> 31`). A spill between halves is written
// `(x >>> 1) >>> (31 - sa)` or `(x << 1) << (31 - sa)` so that it is 0 for
// sa = 0 (JavaScript takes shift counts mod 32). Results are int32.

/** Mask argument for the shift helpers: -1 when `amount` (0..63) is below 32. */
export const below32 = (amount: number): number => (amount - 32) >> 31;

/** LSL: bits 31:0 of (h:l) << amount. */
export const lslLo = (l: number, sa: number, a: number): number => (l << sa) & a;
/** LSL: bits 63:32. */
export const lslHi = (l: number, h: number, sa: number, a: number): number =>
  (((h << sa) | ((l >>> 1) >>> (31 - sa))) & a) | ((l << sa) & ~a);
/** LSR: bits 31:0 of (h:l) >>> amount. */
export const lsrLo = (l: number, h: number, sa: number, a: number): number =>
  (((l >>> sa) | ((h << 1) << (31 - sa))) & a) | ((h >>> sa) & ~a);
/** LSR: bits 63:32. */
export const lsrHi = (h: number, sa: number, a: number): number => (h >>> sa) & a;
/** ASR: bits 31:0 of (h:l) >> amount (arithmetic). */
export const asrLo = (l: number, h: number, sa: number, a: number): number =>
  (((l >>> sa) | ((h << 1) << (31 - sa))) & a) | ((h >> sa) & ~a);
/** ASR: bits 63:32. */
export const asrHi = (h: number, sa: number, a: number): number => ((h >> sa) & a) | ((h >> 31) & ~a);
/** ROR: bits 31:0 of (h:l) rotated right by amount. An amount of 32 or more swaps the halves first. */
export const rorLo = (l: number, h: number, sa: number, a: number): number => {
  const p = (l & a) | (h & ~a);
  const q = (h & a) | (l & ~a);
  return (p >>> sa) | ((q << 1) << (31 - sa));
};
/** ROR: bits 63:32. */
export const rorHi = (l: number, h: number, sa: number, a: number): number => {
  const p = (l & a) | (h & ~a);
  const q = (h & a) | (l & ~a);
  return (q >>> sa) | ((p << 1) << (31 - sa));
};

// ---- Bit counting and reversal ----------------------------------------------

/** CountLeadingZeroBits of a 64-bit value. */
export const clz64 = (l: number, h: number): number => (h !== 0 ? Math.clz32(h) : 32 + Math.clz32(l));

/**
 * CountLeadingSignBits of a 64-bit value: the leading zeros of x EOR (x >> 1),
 * less one (the top bit of that value is always 0).
 */
export const cls64 = (l: number, h: number): number => clz64(l ^ ((l >>> 1) | (h << 31)), h ^ (h >> 1)) - 1;

export const cls32 = (v: number): number => Math.clz32(v ^ (v >> 1)) - 1;

/** BitReverse of 32 bits. */
export function rbit32(v: number): number {
  v = ((v >>> 1) & 0x55555555) | ((v & 0x55555555) << 1);
  v = ((v >>> 2) & 0x33333333) | ((v & 0x33333333) << 2);
  v = ((v >>> 4) & 0x0f0f0f0f) | ((v & 0x0f0f0f0f) << 4);
  v = ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8);
  return (v >>> 16) | (v << 16);
}

/** Byte reversal of a word (REV W, REV32). */
export const bswap32 = (v: number): number => (v >>> 24) | ((v >>> 8) & 0xff00) | ((v & 0xff00) << 8) | (v << 24);

/** Byte swap inside each halfword (REV16). */
export const rev16 = (v: number): number => ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8);

// ---- Multiplication ---------------------------------------------------------

/** Bits 63:32 of the last umul32 product, as an int32. */
let mulHi = 0;

/**
 * Bits 63:32 of the unsigned 32x32-bit product of a and b (int32s or
 * uint32s), as an int32; bits 31:0 are Math.imul(a, b). The partial products
 * of 16-bit limbs are below 2^32, so every sum here is an exact double.
 */
export function umulHi(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0;
  const t = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (t >>> 16)) | 0;
}

/** Unsigned 32x32 -> 64 product: returns bits 31:0 (int32) and leaves bits 63:32 in mulHi. */
function umul32(a: number, b: number): number {
  mulHi = umulHi(a, b);
  return Math.imul(a, b);
}

/** MADD (64-bit): x[d] = (a + n * m) mod 2^64. */
export function madd64(pe: PE, d: number, nl: number, nh: number, ml: number, mh: number, al: number, ah: number): void {
  const lo = umul32(nl, ml);
  const hi = mulHi + Math.imul(nl, mh) + Math.imul(nh, ml);
  const s = (al >>> 0) + (lo >>> 0);
  pe.x[d] = s | 0;
  pe.x[d + 1] = (ah + hi + (s > 0xffffffff ? 1 : 0)) | 0;
}

/** MSUB (64-bit): x[d] = (a - n * m) mod 2^64. */
export function msub64(pe: PE, d: number, nl: number, nh: number, ml: number, mh: number, al: number, ah: number): void {
  const lo = umul32(nl, ml);
  const hi = mulHi + Math.imul(nl, mh) + Math.imul(nh, ml);
  const s = (al >>> 0) - (lo >>> 0);
  pe.x[d] = s | 0;
  pe.x[d + 1] = (ah - hi - (s < 0 ? 1 : 0)) | 0;
}

/** UMADDL: x[d] = a + n * m with n, m zero-extended from 32 bits. */
export function maddl(pe: PE, d: number, n: number, m: number, al: number, ah: number): void {
  const lo = umul32(n, m);
  const s = (al >>> 0) + (lo >>> 0);
  pe.x[d] = s | 0;
  pe.x[d + 1] = (ah + mulHi + (s > 0xffffffff ? 1 : 0)) | 0;
}
/** UMSUBL: x[d] = a - n * m with n, m zero-extended from 32 bits. */
export function msubl(pe: PE, d: number, n: number, m: number, al: number, ah: number): void {
  const lo = umul32(n, m);
  const s = (al >>> 0) - (lo >>> 0);
  pe.x[d] = s | 0;
  pe.x[d + 1] = (ah - mulHi - (s < 0 ? 1 : 0)) | 0;
}
/**
 * The signed 32x32 product's high half is the unsigned one less m when n is
 * negative and less n when m is negative (mod 2^32). SMADDL: x[d] = a + n * m.
 */
export function smaddl(pe: PE, d: number, n: number, m: number, al: number, ah: number): void {
  const lo = umul32(n, m);
  const hi = mulHi - (m & (n >> 31)) - (n & (m >> 31));
  const s = (al >>> 0) + (lo >>> 0);
  pe.x[d] = s | 0;
  pe.x[d + 1] = (ah + hi + (s > 0xffffffff ? 1 : 0)) | 0;
}
/** SMSUBL: x[d] = a - n * m with n, m sign-extended from 32 bits. */
export function smsubl(pe: PE, d: number, n: number, m: number, al: number, ah: number): void {
  const lo = umul32(n, m);
  const hi = mulHi - (m & (n >> 31)) - (n & (m >> 31));
  const s = (al >>> 0) - (lo >>> 0);
  pe.x[d] = s | 0;
  pe.x[d + 1] = (ah - hi - (s < 0 ? 1 : 0)) | 0;
}

const TWO32 = 4294967296;

/** UMULH: bits 127:64 of the unsigned 128-bit product, from four 32x32 partial products. */
export function umulh64(pe: PE, d: number, al: number, ah: number, bl: number, bh: number): void {
  umul32(al, bl);
  const p00h = mulHi >>> 0;
  const p01l = umul32(al, bh) >>> 0;
  const p01h = mulHi >>> 0;
  const p10l = umul32(ah, bl) >>> 0;
  const p10h = mulHi >>> 0;
  const p11l = umul32(ah, bh) >>> 0;
  const p11h = mulHi;
  const r1 = p00h + p01l + p10l; // below 3 * 2^32
  const r2 = p01h + p10h + p11l + Math.floor(r1 / TWO32);
  pe.x[d] = r2 | 0;
  pe.x[d + 1] = (p11h + Math.floor(r2 / TWO32)) | 0;
}

/**
 * SMULH: the signed product's high half is the unsigned one less b when a is
 * negative and less a when b is negative (mod 2^64).
 */
export function smulh64(pe: PE, d: number, al: number, ah: number, bl: number, bh: number): void {
  umulh64(pe, d, al, ah, bl, bh);
  const ma = ah >> 31, mb = bh >> 31;
  const sl = (bl & ma) >>> 0, sh = (bh & ma) + (ah & mb);
  const tl = (al & mb) >>> 0;
  let lo = (pe.x[d] >>> 0) - sl - tl; // above -2^33
  const borrow = Math.floor(lo / TWO32); // 0, -1 or -2
  lo = lo | 0;
  pe.x[d] = lo;
  pe.x[d + 1] = (pe.x[d + 1] - sh + borrow) | 0;
}

// ---- Division ---------------------------------------------------------------

/** Bits 63:32 of the last udivCore quotient (unsigned). */
let quotHi = 0;

/**
 * Unsigned 64-bit division (operands unsigned 32-bit numbers); returns bits
 * 31:0 of the quotient (unsigned) and leaves bits 63:32 in quotHi. Division by
 * zero gives 0. Every double division here divides integers whose quotient's
 * distance to the next integer (at least 1/divisor) is far above the rounding
 * error, so Math.floor of it is exact; the one estimate that is not exact
 * (divisor of 33 bits or more) is corrected against the exact product.
 */
function udivCore(al: number, ah: number, bl: number, bh: number): number {
  if (bh === 0) {
    quotHi = 0;
    if (bl === 0) return 0;
    if (ah === 0) return Math.floor(al / bl);
    // Schoolbook division by a one-word divisor: the high word, then two 16-bit digits (partial dividends below 2^48).
    const qh = Math.floor(ah / bl);
    let r = ah - qh * bl;
    const n1 = r * 65536 + (al >>> 16);
    const q1 = Math.floor(n1 / bl);
    r = n1 - q1 * bl;
    const n0 = r * 65536 + (al & 0xffff);
    const q0 = Math.floor(n0 / bl);
    quotHi = qh;
    return q1 * 65536 + q0;
  }
  // Divisor >= 2^32: the quotient fits in 32 bits. Estimate it in doubles
  // (off by at most one), then fix it so that 0 <= a - q*b < b.
  quotHi = 0;
  let q = Math.floor((ah * TWO32 + al) / (bh * TWO32 + bl));
  if (q > 0xffffffff) q = 0xffffffff;
  for (;;) {
    // p = q * b as three words p2:p1:p0.
    const p0 = umul32(q, bl) >>> 0;
    const c = mulHi >>> 0;
    const u = umul32(q, bh) >>> 0;
    const p1s = c + u;
    const p1 = p1s >>> 0;
    const p2 = (mulHi >>> 0) + (p1s >= TWO32 ? 1 : 0);
    if (p2 !== 0 || p1 > ah || (p1 === ah && p0 > al)) {
      q--;
      continue;
    }
    let rl = al - p0, rh = ah - p1;
    if (rl < 0) {
      rl += TWO32;
      rh--;
    }
    if (rh > bh || (rh === bh && rl >= bl)) {
      q++;
      continue;
    }
    return q;
  }
}

/** UDIV (64-bit): x[d] = n / m rounded toward zero; 0 when m is 0. */
export function udiv64(pe: PE, d: number, nl: number, nh: number, ml: number, mh: number): void {
  const q = udivCore(nl >>> 0, nh >>> 0, ml >>> 0, mh >>> 0);
  pe.x[d] = q | 0;
  pe.x[d + 1] = quotHi | 0;
}

/**
 * SDIV (64-bit): the magnitudes' quotient, negated when the signs differ
 * (rounding toward zero). INT64_MIN / -1 comes out as 2^63, i.e. INT64_MIN.
 */
export function sdiv64(pe: PE, d: number, nl: number, nh: number, ml: number, mh: number): void {
  let al = nl >>> 0, ah = nh >>> 0, bl = ml >>> 0, bh = mh >>> 0;
  if (nh < 0) {
    ah = (~nh + (nl === 0 ? 1 : 0)) >>> 0;
    al = (0 - nl) >>> 0;
  }
  if (mh < 0) {
    bh = (~mh + (ml === 0 ? 1 : 0)) >>> 0;
    bl = (0 - ml) >>> 0;
  }
  const q = udivCore(al, ah, bl, bh);
  if ((nh ^ mh) < 0) {
    pe.x[d] = (0 - q) | 0;
    pe.x[d + 1] = (~quotHi + (q === 0 ? 1 : 0)) | 0;
  } else {
    pe.x[d] = q | 0;
    pe.x[d + 1] = quotHi | 0;
  }
}

/** UDIV (32-bit); the double quotient of two 32-bit integers floors exactly. */
export const udiv32 = (n: number, m: number): number => (m === 0 ? 0 : Math.floor((n >>> 0) / (m >>> 0)) | 0);
/** SDIV (32-bit); INT32_MIN / -1 is 2^31, which wraps to INT32_MIN. */
export const sdiv32 = (n: number, m: number): number => (m === 0 ? 0 : Math.trunc(n / m) | 0);

// ---- CRC32 --------------------------------------------------------------------

function crcTable(poly: number): Int32Array {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[i] = c;
  }
  return t;
}

/**
 * Byte tables of the bit-reflected CRC update the CRC32 instructions perform
 * (no pre- or post-inversion): CRC-32 (polynomial 0x04C11DB7) and CRC-32C
 * (0x1EDC6F41), reflected.
 */
export const CRC32_TABLE = crcTable(0xedb88320);
export const CRC32C_TABLE = crcTable(0x82f63b78);

/** Folds the low `bytes` bytes of v into the CRC accumulator acc, least significant byte first. */
export function crcUpdate(t: Int32Array, acc: number, v: number, bytes: number): number {
  for (let k = 0; k < bytes; k++) {
    acc = t[(acc ^ v) & 0xff] ^ (acc >>> 8);
    v >>>= 8;
  }
  return acc;
}

// ---- DecodeBitMasks -----------------------------------------------------------

/** Decode-time result of decodeBitMasks: wmask and tmask as halves. */
export interface BitMasks {
  wlo: number;
  whi: number;
  tlo: number;
  thi: number;
}

/** Ones(k) for k in 0..32, as an int32. */
const ones32 = (k: number): number => (k >= 32 ? -1 : (1 << k) - 1);

/** Replicates an element of `esize` (<= 32) bits across 32 bits. */
function replicate32(v: number, esize: number): number {
  for (let e = esize; e < 32; e *= 2) v |= v << e;
  return v;
}

/**
 * DecodeBitMasks(N, imms, immr, immediate) for a `datasize` (32 or 64) result:
 * null for the reserved encodings (element size below 2, or, for logical
 * immediates, an all-ones element). For datasize 32 the high halves are 0.
 */
export function decodeBitMasks(N: number, imms: number, immr: number, immediate: boolean, datasize: number): BitMasks | null {
  const combined = (N << 6) | (~imms & 0x3f);
  if (combined === 0) return null;
  const len = 31 - Math.clz32(combined);
  if (len < 1) return null;
  const levels = (1 << len) - 1;
  if (immediate && (imms & levels) === levels) return null;
  const S = imms & levels;
  const R = immr & levels;
  const d = (S - R) & levels;
  const esize = 1 << len;
  let wlo: number, whi: number, tlo: number, thi: number;
  if (esize === 64) {
    const el = ones32(S + 1), eh = S + 1 > 32 ? ones32(S + 1 - 32) : 0;
    const sa = R & 31, a = below32(R);
    wlo = rorLo(el, eh, sa, a);
    whi = rorHi(el, eh, sa, a);
    tlo = ones32(d + 1);
    thi = d + 1 > 32 ? ones32(d + 1 - 32) : 0;
  } else {
    const emask = ones32(esize);
    const e = ones32(S + 1);
    // ROR within the element; for R = 0 the left part is e << esize, which stays outside emask (or equals e for 32).
    wlo = whi = replicate32(((e >>> R) | (e << (esize - R))) & emask, esize);
    tlo = thi = replicate32(ones32(d + 1), esize);
  }
  if (datasize === 32) whi = thi = 0;
  return { wlo: wlo | 0, whi: whi | 0, tlo: tlo | 0, thi: thi | 0 };
}
