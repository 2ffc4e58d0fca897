/**
 * Element operations shared by the scalar and vector FP instructions, on
 * bits (softfloat.ts conventions: a double's bits 63:32 come in `hi` and a
 * double result leaves its bits 63:32 in `rhi`).
 */
import {
  FPEnv, Fmt, Kernel2, Rnd, fixedToFp, fpBin, fpCompareCond, fpMinMaxNum, fpMulAdd, fpRoundInt, fpSqrt, fpToFixed,
  kAdd, kDiv, kMax, kMin, kMul, kMulX, kRecipStep, kRSqrtStep, kSub, rhi, rmode, setRhi,
} from './softfloat.js';
import { fpRecipEstimate, fpRecpX, fpRSqrtEstimate } from './estimate.js';

/** A one-operand element op. */
export type L1 = (env: FPEnv, fmt: number, lo: number, hi: number) => number;
/** A two-operand element op. */
export type L2 = (env: FPEnv, fmt: number, alo: number, ahi: number, blo: number, bhi: number) => number;
/** FPMulAdd-style: accumulator (c), then the two factors. */
export type L3 = (env: FPEnv, fmt: number, clo: number, chi: number, alo: number, ahi: number, blo: number, bhi: number) => number;

/** Element size in bits. */
export const ESIZE = [16, 32, 64];

/** FPNeg on bits: the sign flipped (bits 63:32 of a double in hi). */
export const negLo = (fmt: number, lo: number): number => (fmt === Fmt.H ? lo ^ 0x8000 : fmt === Fmt.S ? lo ^ 0x80000000 : lo);
export const negHi = (fmt: number, hi: number): number => (fmt === Fmt.D ? hi ^ 0x80000000 : hi);

/** The sign of a result flipped (FNMUL's FPNeg of the product, NaNs included). */
function negR(fmt: number, r: number): number {
  if (fmt === Fmt.D) {
    setRhi(rhi ^ 0x80000000);
    return r;
  }
  return fmt === Fmt.S ? r ^ 0x80000000 : r ^ 0x8000;
}

/** The sign of a result cleared (FABD's FPAbs, NaNs included). */
function absR(fmt: number, r: number): number {
  if (fmt === Fmt.D) {
    setRhi(rhi & 0x7fffffff);
    return r;
  }
  return fmt === Fmt.S ? r & 0x7fffffff : r & 0x7fff;
}

/** All ones or zero in an element. */
function mask(fmt: number, b: boolean): number {
  if (fmt === Fmt.D) setRhi(b ? -1 : 0);
  return b ? (fmt === Fmt.H ? 0xffff : -1) : 0;
}

const bin = (k: Kernel2): L2 => (e, f, a, ah, b, bh) => fpBin(e, f, a, ah, b, bh, k);

export const FADD = bin(kAdd);
export const FSUB = bin(kSub);
export const FMUL = bin(kMul);
export const FDIV = bin(kDiv);
export const FMAX = bin(kMax);
export const FMIN = bin(kMin);
export const FMULX = bin(kMulX);
export const FMAXNM: L2 = (e, f, a, ah, b, bh) => fpMinMaxNum(e, f, a, ah, b, bh, true);
export const FMINNM: L2 = (e, f, a, ah, b, bh) => fpMinMaxNum(e, f, a, ah, b, bh, false);
export const FNMUL: L2 = (e, f, a, ah, b, bh) => negR(f, fpBin(e, f, a, ah, b, bh, kMul));
export const FABD: L2 = (e, f, a, ah, b, bh) => absR(f, fpBin(e, f, a, ah, b, bh, kSub));
/** FRECPS, FRSQRTS: the first operand is negated before anything else (FPNeg in the pseudocode). */
export const FRECPS: L2 = (e, f, a, ah, b, bh) => fpBin(e, f, negLo(f, a), negHi(f, ah), b, bh, kRecipStep);
export const FRSQRTS: L2 = (e, f, a, ah, b, bh) => fpBin(e, f, negLo(f, a), negHi(f, ah), b, bh, kRSqrtStep);
export const FCMEQ: L2 = (e, f, a, ah, b, bh) => mask(f, fpCompareCond(e, f, a, ah, b, bh, 0, false));
export const FCMGE: L2 = (e, f, a, ah, b, bh) => mask(f, fpCompareCond(e, f, a, ah, b, bh, 1, false));
export const FCMGT: L2 = (e, f, a, ah, b, bh) => mask(f, fpCompareCond(e, f, a, ah, b, bh, 2, false));
export const FACGE: L2 = (e, f, a, ah, b, bh) => mask(f, fpCompareCond(e, f, a, ah, b, bh, 1, true));
export const FACGT: L2 = (e, f, a, ah, b, bh) => mask(f, fpCompareCond(e, f, a, ah, b, bh, 2, true));

/** FMLA: FPMulAdd(d, n, m); FMLS: FPMulAdd(d, -n, m). */
export const FMLA: L3 = fpMulAdd;
export const FMLS: L3 = (e, f, c, ch, a, ah, b, bh) => fpMulAdd(e, f, c, ch, negLo(f, a), negHi(f, ah), b, bh);

// ---- One operand ----------------------------------------------------------------

export const FABS: L1 = (_e, f, lo, hi) => {
  if (f === Fmt.D) {
    setRhi(hi & 0x7fffffff);
    return lo;
  }
  return f === Fmt.S ? lo & 0x7fffffff : lo & 0x7fff;
};
export const FNEG: L1 = (_e, f, lo, hi) => {
  if (f === Fmt.D) {
    setRhi(hi ^ 0x80000000);
    return lo;
  }
  return f === Fmt.S ? lo ^ 0x80000000 : (lo ^ 0x8000) & 0xffff;
};
export const FMOV: L1 = (_e, f, lo, hi) => {
  if (f === Fmt.D) setRhi(hi);
  return lo;
};
export const FSQRT: L1 = fpSqrt;
export const FRECPE: L1 = fpRecipEstimate;
export const FRSQRTE: L1 = fpRSqrtEstimate;
export const FRECPX: L1 = fpRecpX;

/** FRINT<r>: rnd -1 means FPCR's rounding mode (FRINTI, FRINTX); exact for FRINTX. */
export function frint(rnd: number, exact: boolean): L1 {
  if (rnd < 0) return (e, f, lo, hi) => fpRoundInt(e, f, lo, hi, rmode(e), exact);
  return (e, f, lo, hi) => fpRoundInt(e, f, lo, hi, rnd, exact);
}

/** FCVT<r>S/U on lanes: an integer of the element's size; rnd -1 means FPCR's mode. */
export function fcvtLane(rnd: number, unsigned: boolean, fbits: number): L1 {
  if (rnd < 0) return (e, f, lo, hi) => fpToFixed(e, f, lo, hi, fbits, unsigned, ESIZE[f], rmode(e));
  return (e, f, lo, hi) => fpToFixed(e, f, lo, hi, fbits, unsigned, ESIZE[f], rnd);
}

/** SCVTF/UCVTF on lanes: from an integer of the element's size, FPCR's rounding mode. */
export function cvtfLane(unsigned: boolean, fbits: number): L1 {
  return (e, f, lo, hi) => fixedToFp(e, f, lo, hi, ESIZE[f], unsigned, fbits, rmode(e));
}

/** Compares against +0.0: FCMGT/FCMGE/FCMEQ (x op 0) and FCMLE/FCMLT (0 op x, reversed). */
export function cmpZero(cond: number, reversed: boolean): L1 {
  if (reversed) return (e, f, lo, hi) => mask(f, fpCompareCond(e, f, 0, 0, lo, hi, cond, false));
  return (e, f, lo, hi) => mask(f, fpCompareCond(e, f, lo, hi, 0, 0, cond, false));
}

export const RND_N = Rnd.TIEEVEN;
export const RND_P = Rnd.POSINF;
export const RND_M = Rnd.NEGINF;
export const RND_Z = Rnd.ZERO;
export const RND_A = Rnd.TIEAWAY;
