/**
 * The reciprocal and reciprocal square root estimates and FRECPX
 * (FPRecipEstimate with RecipEstimate, FPRSqrtEstimate with
 * RecipSqrtEstimate, FPRecpX), on bits as in softfloat.ts. The pseudocode
 * works on the operand's exponent and 52-bit aligned fraction; here the
 * fraction is an integer-valued double below 2^52. Double results leave
 * bits 63:32 in softfloat's `rhi`.
 */
import {
  FPEnv, Fmt, FPSR_DZC, FPSR_IOC, FPSR_IXC, FPSR_OFC, FPSR_UFC, Rnd, defaultNaN, fzOf, pack, processNaN, rmode,
  unpack, nanType, setRhi,
} from './softfloat.js';

const T44 = 17592186044416; // 2^44
const T51 = 2251799813685248; // 2^51
const T52 = 4503599627370496; // 2^52

/** RecipEstimate: a in 256..511 (units of 1/512) to an estimate in 256..511 (units of 1/256). */
function recipEstimate(a: number): number {
  a = a * 2 + 1;
  const b = Math.floor(524288 / a);
  return (b + 1) >> 1;
}

/** RecipSqrtEstimate for a in 128..511, tabulated. */
const RSQRT = new Uint16Array(512);
for (let a0 = 128; a0 < 512; a0++) {
  let a = a0 < 256 ? a0 * 2 + 1 : ((a0 >> 1) << 1) + 1;
  if (a0 >= 256) a *= 2;
  let b = 512;
  while (a * (b + 1) * (b + 1) < 268435456) b++;
  RSQRT[a0] = (b + 1) >> 1;
}

/** Exponent field and 52-bit aligned fraction of the operand bits. */
let fexp = 0;
function fraction(fmt: number, lo: number, hi: number): number {
  switch (fmt) {
    case Fmt.H:
      fexp = (lo >>> 10) & 31;
      return (lo & 0x3ff) * 4398046511104; // 2^42
    case Fmt.S:
      fexp = (lo >>> 23) & 0xff;
      return (lo & 0x7fffff) * 536870912; // 2^29
    default:
      fexp = (hi >>> 20) & 0x7ff;
      return (hi & 0xfffff) * 4294967296 + (lo >>> 0);
  }
}

function signOf(fmt: number, lo: number, hi: number): number {
  return fmt === Fmt.D ? hi >>> 31 : fmt === Fmt.S ? lo >>> 31 : (lo >>> 15) & 1;
}

/** Packs sign, biased exponent and 52-bit fraction (truncated to the format). */
function packFields(fmt: number, sign: number, exp: number, frac: number): number {
  switch (fmt) {
    case Fmt.H:
      return (sign << 15) | ((exp & 0x1f) << 10) | Math.floor(frac / 4398046511104);
    case Fmt.S:
      return (sign << 31) | ((exp & 0xff) << 23) | Math.floor(frac / 536870912);
    default: {
      const h = Math.floor(frac / 4294967296);
      setRhi((sign << 31) | ((exp & 0x7ff) << 20) | h);
      return (frac - h * 4294967296) | 0;
    }
  }
}


const TINY = [2 ** -16, 2 ** -128, 2 ** -1024];
const HUGE = [2 ** 14, 2 ** 126, 2 ** 1022];
const REXP = [29, 253, 2045];
const SEXP = [44, 380, 3068];

/** FPRecipEstimate (FRECPE). */
export function fpRecipEstimate(env: FPEnv, fmt: number, lo: number, hi: number): number {
  const x = unpack(env, fmt, lo, hi);
  const t = nanType(fmt, lo, hi);
  if (t !== 0) return processNaN(env, fmt, t, lo, hi);
  const sign = signOf(fmt, lo, hi);
  if (x - x !== 0) return pack(fmt, sign ? -0 : 0);
  if (x === 0) {
    env.fpsr |= FPSR_DZC;
    return pack(fmt, sign ? -Infinity : Infinity);
  }
  const ax = x < 0 ? -x : x;
  if (ax < TINY[fmt]) {
    const rnd = rmode(env);
    const toInf = rnd === Rnd.TIEEVEN || (rnd === Rnd.POSINF && !sign) || (rnd === Rnd.NEGINF && sign === 1);
    env.fpsr |= FPSR_OFC | FPSR_IXC;
    return pack(fmt, toInf ? (sign ? -Infinity : Infinity) : sign ? -MAX[fmt] : MAX[fmt]);
  }
  if (fzOf(env, fmt) && ax >= HUGE[fmt]) {
    env.fpsr |= FPSR_UFC;
    return pack(fmt, sign ? -0 : 0);
  }
  let frac = fraction(fmt, lo, hi);
  let exp = fexp;
  if (exp === 0) {
    if (frac < T51) {
      exp = -1;
      frac = (frac * 4) % T52;
    } else frac = (frac * 2) % T52;
  }
  const scaled = 256 + Math.floor(frac / T44);
  let rexp = REXP[fmt] - exp;
  const est = recipEstimate(scaled);
  frac = (est & 0xff) * T44;
  if (rexp === 0) frac = T51 + frac / 2;
  else if (rexp === -1) {
    frac = T51 / 2 + frac / 4;
    rexp = 0;
  }
  return packFields(fmt, sign, rexp, frac);
}

const MAX = [65504, 3.4028234663852886e38, Number.MAX_VALUE];

/** FPRSqrtEstimate (FRSQRTE). */
export function fpRSqrtEstimate(env: FPEnv, fmt: number, lo: number, hi: number): number {
  const x = unpack(env, fmt, lo, hi);
  const t = nanType(fmt, lo, hi);
  if (t !== 0) return processNaN(env, fmt, t, lo, hi);
  if (x === 0) {
    env.fpsr |= FPSR_DZC;
    return pack(fmt, 1 / x < 0 ? -Infinity : Infinity);
  }
  if (x < 0) {
    env.fpsr |= FPSR_IOC;
    return defaultNaN(fmt);
  }
  if (x === Infinity) return pack(fmt, 0);
  let frac = fraction(fmt, lo, hi);
  let exp = fexp;
  if (exp === 0) {
    while (frac < T51) {
      frac *= 2;
      exp--;
    }
    frac = (frac * 2) % T52;
  }
  const scaled = (exp & 1) === 0 ? 256 + Math.floor(frac / T44) : 128 + Math.floor(frac / (2 * T44));
  const rexp = Math.floor((SEXP[fmt] - exp) / 2);
  const est = RSQRT[scaled];
  return packFields(fmt, 0, rexp, (est & 0xff) * T44);
}

/** FPRecpX (FRECPX): the exponent inverted, fraction zero. */
export function fpRecpX(env: FPEnv, fmt: number, lo: number, hi: number): number {
  unpack(env, fmt, lo, hi);
  const t = nanType(fmt, lo, hi);
  if (t !== 0) return processNaN(env, fmt, t, lo, hi);
  const sign = signOf(fmt, lo, hi);
  fraction(fmt, lo, hi);
  const emask = fmt === Fmt.H ? 0x1f : fmt === Fmt.S ? 0xff : 0x7ff;
  const exp = fexp === 0 ? emask - 1 : ~fexp & emask;
  return packFields(fmt, sign, exp, 0);
}
