/**
 * A64 floating point, bit-exact with the Arm ARM pseudocode (FPUnpack,
 * FPProcessNaNs, FPRound, FPAdd, FPMul, FPMulAdd, FPDiv, FPSqrt, FPCompare,
 * FPMax/FPMin/FPMaxNum/FPMinNum, FPRoundInt, FPToFixed, FixedToFP, FPConvert)
 * for half (binary16, and the alternative half-precision format of
 * FPCR.AHP), single and double precision.
 *
 * Method. Host doubles do IEEE round-to-nearest-even arithmetic. Every
 * operation first computes its result in doubles and, with error-free
 * transformations (TwoSum, Veltkamp/Dekker TwoProduct, exact remainders of
 * division and square root), an exact description of the true result as
 * `hi + lo` (hi the double nearest to it). When that is all the answer needs
 * (an exact normal double, or round-to-nearest of a double result in the
 * normal range) the op returns at once; otherwise `roundExact` rounds the
 * exact value to the target format in the required mode, with the flags of
 * FPRound (tininess is detected before rounding, as FPRound does). Products
 * and sums that could overflow or underflow the host range are computed on
 * operands scaled to [1, 2) with the scale carried separately. Fused
 * multiply-add of doubles keeps the exact a*b+c as a three-term expansion.
 * No BigInt anywhere.
 *
 * Representation. Ops take and return raw bits: half and single as numbers
 * (the low 16 or 32 bits), double as (lo, hi) int32 halves with the result's
 * bits 63:32 left in `rhi`. Inside, values are host doubles (exact for all
 * three formats); NaNs never travel as host NaNs (their payloads would not
 * survive) but as bits.
 */

/** The FP state an op reads and updates: a PE, or a plain object in tests. */
export interface FPEnv {
  fpcr: number;
  fpsr: number;
}

// FPSR cumulative exception bits.
export const FPSR_IOC = 1;
export const FPSR_DZC = 2;
export const FPSR_OFC = 4;
export const FPSR_UFC = 8;
export const FPSR_IXC = 0x10;
export const FPSR_IDC = 0x80;

// FPCR controls.
export const FPCR_AHP = 1 << 26;
export const FPCR_DN = 1 << 25;
export const FPCR_FZ = 1 << 24;
export const FPCR_FZ16 = 1 << 19;
export const FPCR_RMODE_SHIFT = 22;

/** Rounding modes: 0..3 are the FPCR.RMode encodings; TIEAWAY and ODD are only ever explicit. */
export const enum Rnd {
  TIEEVEN = 0,
  POSINF = 1,
  NEGINF = 2,
  ZERO = 3,
  TIEAWAY = 4,
  ODD = 5,
}

/** Formats. AHP is the alternative half-precision format, used by conversions when FPCR.AHP is set. */
export const enum Fmt {
  H = 0,
  S = 1,
  D = 2,
  AHP = 3,
}

/** Precision (significand bits), minimum and maximum normal exponents, largest finite value. */
const PREC = [11, 24, 53, 11];
const EMIN = [-14, -126, -1022, -14];
const EMAX = [15, 127, 1023, 16];
const MAXF = [65504, 3.4028234663852886e38, Number.MAX_VALUE, 131008];
const MIN_NORMAL = [6.103515625e-5, 1.1754943508222875e-38, 2.2250738585072014e-308, 6.103515625e-5];
const MIN_D = 2.2250738585072014e-308;
const MIN_S = 1.1754943508222875e-38;

export const rmode = (env: FPEnv): number => (env.fpcr >>> FPCR_RMODE_SHIFT) & 3;
/** Whether results of format fmt are flushed to zero (FPCR.FZ, or FZ16 for half). */
export const fzOf = (env: FPEnv, fmt: number): boolean =>
  fmt === Fmt.H ? (env.fpcr & FPCR_FZ16) !== 0 : fmt === Fmt.AHP ? false : (env.fpcr & FPCR_FZ) !== 0;

// ---- Host bit access ------------------------------------------------------

const f64s = new Float64Array(1);
const i32s = new Int32Array(f64s.buffer);
const f32s = new Float32Array(f64s.buffer, 0, 1);

/** 2^k for integers k in [-1074, 1023]. */
const POW2 = new Float64Array(2098);
for (let k = -1074; k <= 1023; k++) POW2[k + 1074] = 2 ** k;
export const pow2 = (k: number): number => POW2[k + 1074];

/** x * 2^k in steps that never leave the double range (exact unless the result is subnormal). */
export function ldexp(x: number, k: number): number {
  while (k > 1000) {
    x *= 1.0715086071862673e301; // 2^1000
    k -= 1000;
  }
  while (k < -1000) {
    x *= 9.332636185032189e-302; // 2^-1000
    k += 1000;
  }
  return x * POW2[k + 1074];
}

/** floor(log2 |x|) for finite nonzero x (normal or subnormal). */
export function expOf(x: number): number {
  f64s[0] = x;
  let e = (i32s[1] >>> 20) & 0x7ff;
  if (e === 0) {
    f64s[0] = x * 18446744073709551616; // 2^64
    e = ((i32s[1] >>> 20) & 0x7ff) - 64;
  }
  return e - 1023;
}

// ---- Error-free transformations ---------------------------------------------

/** The rounding error of the last twoSum/twoProd: a + b = s + err exactly (a * b = p + err). */
let err = 0;

function twoSum(a: number, b: number): number {
  const s = a + b;
  const bb = s - a;
  err = a - (s - bb) + (b - bb);
  return s;
}

/** Dekker's product with Veltkamp splitting: exact while |a|, |b| < 2^995 and the error is not below 2^-1074. */
function twoProd(a: number, b: number): number {
  const p = a * b;
  let t = 134217729 * a;
  const ah = t - (t - a), al = a - ah;
  t = 134217729 * b;
  const bh = t - (t - b), bl = b - bh;
  err = ah * bh - p + ah * bl + al * bh + al * bl;
  return p;
}

// ---- FPRound ------------------------------------------------------------------

function overflow(env: FPEnv, fmt: number, neg: boolean, rnd: number): number {
  if (fmt === Fmt.AHP) {
    // Alternative half precision has no infinity: the largest value, Invalid Operation, no Inexact.
    env.fpsr |= FPSR_IOC;
    return neg ? -131008 : 131008;
  }
  env.fpsr |= FPSR_OFC | FPSR_IXC;
  const toInf = rnd === Rnd.TIEEVEN || rnd === Rnd.TIEAWAY || (rnd === Rnd.POSINF && !neg) || (rnd === Rnd.NEGINF && neg);
  const m = toInf ? Infinity : MAXF[fmt];
  return neg ? -m : m;
}

/**
 * FPRound (FPRoundBase) of the exact value (-1)^neg * (hi + lo + lo2) * 2^k to
 * format fmt in mode rnd; fz selects flush-to-zero of tiny results. hi is a
 * positive normal double, |lo| at most about half an ulp of hi, and lo2 far
 * smaller than lo (only its sign matters, as a tie-breaker and sticky bit).
 * Returns the rounded value as a double (exactly representable in fmt).
 */
export function roundExact(env: FPEnv, fmt: number, neg: boolean, hi: number, lo: number, lo2: number, k: number, rnd: number, fz: boolean): number {
  const P = PREC[fmt], emin = EMIN[fmt];
  f64s[0] = hi;
  const eh = ((i32s[1] >>> 20) & 0x7ff) - 1023;
  const tailNeg = lo < 0 || (lo === 0 && lo2 < 0);
  const tailPos = lo > 0 || (lo === 0 && lo2 > 0);
  let e = eh + k;
  // The exponent of the exact value: one less when hi is a power of two and the tail is negative.
  if (tailNeg && (i32s[1] & 0xfffff) === 0 && i32s[0] === 0) e--;
  if (e < emin && fz) {
    env.fpsr |= FPSR_UFC;
    return neg ? -0 : 0;
  }
  if (e > EMAX[fmt]) return overflow(env, fmt, neg, rnd);
  let q = (e < emin ? emin : e) - (P - 1);
  // base: the exact value truncated to a multiple of 2^q, in units of 2^q;
  // cls: the discarded fraction: 0 none, 1 below half, 2 exactly half, 3 above half.
  let base: number, cls: number;
  if (e - q <= -2) {
    base = 0;
    cls = 1;
  } else {
    const s = k - q;
    const M = ldexp(hi, s);
    const I = Math.floor(M);
    const r = M - I;
    if (r !== 0) {
      base = I;
      cls = r < 0.5 ? 1 : r > 0.5 ? 3 : tailPos ? 3 : tailNeg ? 1 : 2;
    } else if (!tailNeg && !tailPos) {
      base = I;
      cls = 0;
    } else {
      const L = lo === 0 ? 0 : ldexp(lo, s);
      if (tailPos) {
        base = I;
        cls = L < 0.5 ? 1 : L > 0.5 || lo2 > 0 ? 3 : lo2 < 0 ? 1 : 2;
      } else {
        base = I - 1;
        cls = lo === 0 || L > -0.5 ? 3 : L < -0.5 || lo2 < 0 ? 1 : lo2 > 0 ? 3 : 2;
      }
    }
  }
  if (cls !== 0) {
    env.fpsr |= e < emin ? FPSR_IXC | FPSR_UFC : FPSR_IXC;
    switch (rnd) {
      case Rnd.TIEEVEN:
        if (cls === 3 || (cls === 2 && base % 2 === 1)) base++;
        break;
      case Rnd.POSINF:
        if (!neg) base++;
        break;
      case Rnd.NEGINF:
        if (neg) base++;
        break;
      case Rnd.TIEAWAY:
        if (cls >= 2) base++;
        break;
      case Rnd.ODD:
        if (base % 2 === 0) base++;
        break;
    }
    if (base === POW2[P + 1074]) {
      base /= 2;
      q++;
    }
    if (q + P - 1 > EMAX[fmt]) return overflow(env, fmt, neg, rnd);
  }
  const v = base * POW2[q + 1074];
  return neg ? -v : v;
}

/** FPRound of (hi + lo) * 2^k for a nonzero finite double hi (possibly subnormal) and its exact tail lo. */
export function roundDD(env: FPEnv, fmt: number, hi: number, lo: number, k: number, rnd: number, fz: boolean): number {
  const neg = hi < 0;
  let h = neg ? -hi : hi;
  let l = neg ? -lo : lo;
  if (h < MIN_D) {
    h *= 18446744073709551616;
    l *= 18446744073709551616;
    k -= 64;
  }
  return roundExact(env, fmt, neg, h, l, 0, k, rnd, fz);
}

/**
 * FPRound of a double result r with exact tail e (true value r + e), k = 0:
 * the fast paths, then roundDD.
 */
function finish(env: FPEnv, fmt: number, r: number, e: number, rnd: number): number {
  if (fmt === Fmt.D) {
    const a = r < 0 ? -r : r;
    // Above the smallest normal (a result equal to it could be tiny before rounding).
    if (a > MIN_D) {
      if (e === 0) return r;
      if (rnd === Rnd.TIEEVEN) {
        env.fpsr |= FPSR_IXC;
        return r;
      }
    }
  } else if (fmt === Fmt.S && e === 0 && rnd === Rnd.TIEEVEN) {
    const a = r < 0 ? -r : r;
    const f = Math.fround(r);
    if (a >= MIN_S && f - f === 0) {
      if (f !== r) env.fpsr |= FPSR_IXC;
      return f;
    }
  }
  return roundDD(env, fmt, r, e, 0, rnd, fzOf(env, fmt));
}

// ---- Unpacking and NaNs -------------------------------------------------------

/** The NaN class of the last unpack: 0 not a NaN, 1 quiet, 2 signalling. */
let ntype = 0;
/** Bits 63:32 of the last double result. */
export let rhi = 0;
export function setRhi(h: number): void {
  rhi = h | 0;
}

/** Half-precision bits to value (IEEE interpretation), NaN entries are host NaNs. */
export const H2D = new Float64Array(65536);
for (let b = 0; b < 65536; b++) {
  const e = (b >>> 10) & 31, m = b & 0x3ff;
  const v = e === 31 ? (m ? NaN : Infinity) : e === 0 ? m * 2 ** -24 : (1024 + m) * 2 ** (e - 25);
  H2D[b] = b & 0x8000 ? -v : v;
}

/** Half (IEEE or alternative) value bits of an exactly representable value. */
export function h16(x: number): number {
  let s = 0;
  if (x < 0 || (x === 0 && 1 / x < 0)) {
    s = 0x8000;
    x = -x;
  }
  if (x === Infinity) return s | 0x7c00;
  if (x < 6.103515625e-5) return s | (x * 16777216);
  f64s[0] = x;
  const e = ((i32s[1] >>> 20) & 0x7ff) - 1023;
  return s | ((e + 15) << 10) | ((i32s[1] >>> 10) & 0x3ff);
}

/** FPUnpack: the value of the bits (flushing denormals per FZ/FZ16, IDC for single and double); sets ntype. */
export function unpack(env: FPEnv, fmt: number, lo: number, hi: number): number {
  switch (fmt) {
    case Fmt.H: {
      const e = lo & 0x7c00, m = lo & 0x3ff;
      ntype = e === 0x7c00 && m !== 0 ? (m & 0x200 ? 1 : 2) : 0;
      if (e === 0 && m !== 0 && env.fpcr & FPCR_FZ16) return lo & 0x8000 ? -0 : 0;
      return H2D[lo & 0xffff];
    }
    case Fmt.S: {
      const e = lo & 0x7f800000, m = lo & 0x7fffff;
      if (e === 0x7f800000) {
        ntype = m === 0 ? 0 : m & 0x400000 ? 1 : 2;
        if (ntype) return NaN;
      } else {
        ntype = 0;
        if (e === 0 && m !== 0 && env.fpcr & FPCR_FZ) {
          env.fpsr |= FPSR_IDC;
          return lo & 0x80000000 ? -0 : 0;
        }
      }
      i32s[0] = lo;
      return f32s[0];
    }
    default: {
      const e = hi & 0x7ff00000;
      if (e === 0x7ff00000) {
        ntype = ((hi & 0xfffff) | lo) === 0 ? 0 : hi & 0x80000 ? 1 : 2;
        if (ntype) return NaN;
      } else {
        ntype = 0;
        if (e === 0 && ((hi & 0xfffff) | lo) !== 0 && env.fpcr & FPCR_FZ) {
          env.fpsr |= FPSR_IDC;
          return hi & 0x80000000 ? -0 : 0;
        }
      }
      i32s[0] = lo;
      i32s[1] = hi;
      return f64s[0];
    }
  }
}

/** The bits of value x in fmt (x exactly representable); a host NaN packs as the default NaN. */
export function pack(fmt: number, x: number): number {
  if (x !== x) return defaultNaN(fmt);
  switch (fmt) {
    case Fmt.S:
      f32s[0] = x;
      return i32s[0];
    case Fmt.D:
      f64s[0] = x;
      rhi = i32s[1];
      return i32s[0];
    default:
      return h16(x);
  }
}

/** FPDefaultNaN. */
export function defaultNaN(fmt: number): number {
  switch (fmt) {
    case Fmt.S:
      return 0x7fc00000;
    case Fmt.D:
      rhi = 0x7ff80000;
      return 0;
    default:
      return 0x7e00;
  }
}

/** FPProcessNaN: the NaN quietened (or the default NaN with FPCR.DN); Invalid Operation for a signalling one. */
export function processNaN(env: FPEnv, fmt: number, t: number, lo: number, hi: number): number {
  if (t === 2) env.fpsr |= FPSR_IOC;
  if (env.fpcr & FPCR_DN) return defaultNaN(fmt);
  switch (fmt) {
    case Fmt.S:
      return lo | 0x400000;
    case Fmt.D:
      rhi = hi | 0x80000;
      return lo;
    default:
      return (lo | 0x200) & 0xffff;
  }
}

/** FPProcessNaNs: signalling before quiet, first operand first. */
function processNaNs(env: FPEnv, fmt: number, ta: number, alo: number, ahi: number, tb: number, blo: number, bhi: number): number {
  if (ta === 2) return processNaN(env, fmt, 2, alo, ahi);
  if (tb === 2) return processNaN(env, fmt, 2, blo, bhi);
  if (ta !== 0) return processNaN(env, fmt, 1, alo, ahi);
  return processNaN(env, fmt, 1, blo, bhi);
}

/** The NaN class (0, 1 quiet, 2 signalling) of bits, without unpacking. */
export function nanType(fmt: number, lo: number, hi: number): number {
  switch (fmt) {
    case Fmt.H:
      return (lo & 0x7c00) === 0x7c00 && (lo & 0x3ff) !== 0 ? (lo & 0x200 ? 1 : 2) : 0;
    case Fmt.S:
      return (lo & 0x7f800000) === 0x7f800000 && (lo & 0x7fffff) !== 0 ? (lo & 0x400000 ? 1 : 2) : 0;
    default:
      return (hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0xfffff) | lo) !== 0 ? (hi & 0x80000 ? 1 : 2) : 0;
  }
}

// ---- Arithmetic kernels on values -------------------------------------------------
// A kernel receives unpacked, non-NaN operands and returns the result value;
// a host NaN result stands for the default NaN (the kernel has set IOC).

export type Kernel2 = (env: FPEnv, fmt: number, a: number, b: number) => number;

const isInf = (x: number): boolean => x === Infinity || x === -Infinity;
const negZero = (x: number): boolean => x === 0 && 1 / x < 0;
const signBit = (x: number): boolean => x < 0 || (x === 0 && 1 / x < 0);

/** FPAdd. */
export function kAdd(env: FPEnv, fmt: number, a: number, b: number): number {
  if (a - a !== 0 || b - b !== 0) {
    if (isInf(a) && isInf(b) && a !== b) {
      env.fpsr |= FPSR_IOC;
      return NaN;
    }
    return isInf(a) ? a : b;
  }
  const rnd = rmode(env);
  if (a === 0 && b === 0) return negZero(a) === negZero(b) ? a : rnd === Rnd.NEGINF ? -0 : 0;
  if (a >= 4.49423283715579e307 || a <= -4.49423283715579e307 || b >= 4.49423283715579e307 || b <= -4.49423283715579e307) {
    // From 2^1022 up the sum or TwoSum's intermediates could overflow: add
    // the halves. Halving is exact except for a
    // subnormal, which is then far below the other operand's last place and
    // only its sign matters.
    let x = a * 0.5, y = b * 0.5;
    if (x < 1e-300 && x > -1e-300 && a !== 0) x = a < 0 ? -1e-300 : 1e-300;
    if (y < 1e-300 && y > -1e-300 && b !== 0) y = b < 0 ? -1e-300 : 1e-300;
    const h = twoSum(x, y);
    if (h === 0) return rnd === Rnd.NEGINF ? -0 : 0;
    return roundDD(env, fmt, h, err, 1, rnd, fzOf(env, fmt));
  }
  const s = a + b;
  const bb = s - a;
  const e = a - (s - bb) + (b - bb);
  if (s === 0) return rnd === Rnd.NEGINF ? -0 : 0;
  return finish(env, fmt, s, e, rnd);
}

/** FPSub. */
export const kSub: Kernel2 = (env, fmt, a, b) => kAdd(env, fmt, a, -b);

function mulFinite(env: FPEnv, fmt: number, a: number, b: number, rnd: number): number {
  const p = a * b;
  if (fmt !== Fmt.D) return finish(env, fmt, p, 0, rnd); // exact in a double
  const ap = p < 0 ? -p : p, aa = a < 0 ? -a : a, ab = b < 0 ? -b : b;
  if (ap >= 2.5e-292 && ap < 1e300 && aa < 1e299 && ab < 1e299) {
    twoProd(a, b);
    return finish(env, fmt, p, err, rnd);
  }
  const ea = expOf(a), eb = expOf(b);
  const u = twoProd(ldexp(a, -ea), ldexp(b, -eb));
  return roundDD(env, fmt, u, err, ea + eb, rnd, fzOf(env, fmt));
}

/** FPMul. */
export function kMul(env: FPEnv, fmt: number, a: number, b: number): number {
  if (a - a !== 0 || b - b !== 0) {
    if (a === 0 || b === 0) {
      env.fpsr |= FPSR_IOC;
      return NaN;
    }
    return signBit(a) !== signBit(b) ? -Infinity : Infinity;
  }
  if (a === 0 || b === 0) return signBit(a) !== signBit(b) ? -0 : 0;
  return mulFinite(env, fmt, a, b, rmode(env));
}

/** FPMulX: as FPMul, but infinity times zero is 2.0 with the product's sign. */
export function kMulX(env: FPEnv, fmt: number, a: number, b: number): number {
  if (a - a !== 0 || b - b !== 0) {
    const s = signBit(a) !== signBit(b);
    if (a === 0 || b === 0) return s ? -2 : 2;
    return s ? -Infinity : Infinity;
  }
  if (a === 0 || b === 0) return signBit(a) !== signBit(b) ? -0 : 0;
  return mulFinite(env, fmt, a, b, rmode(env));
}

/** FPDiv. */
export function kDiv(env: FPEnv, fmt: number, a: number, b: number): number {
  const s = signBit(a) !== signBit(b);
  if (a - a !== 0) {
    if (b - b !== 0) {
      env.fpsr |= FPSR_IOC;
      return NaN;
    }
    return s ? -Infinity : Infinity;
  }
  if (b === 0) {
    if (a === 0) {
      env.fpsr |= FPSR_IOC;
      return NaN;
    }
    env.fpsr |= FPSR_DZC;
    return s ? -Infinity : Infinity;
  }
  if (a === 0 || b - b !== 0) return s ? -0 : 0;
  const rnd = rmode(env);
  let q = a / b;
  let k = 0;
  if (fmt === Fmt.D) {
    const aq = q < 0 ? -q : q, aa = a < 0 ? -a : a, ab = b < 0 ? -b : b;
    if (!(aq >= 1e-280 && aq < 1e299 && ab < 1e299 && aa >= 1e-250 && aa < 1e300)) {
      const ea = expOf(a), eb = expOf(b);
      a = ldexp(a, -ea);
      b = ldexp(b, -eb);
      q = a / b;
      k = ea - eb;
    }
  }
  // The sign of the remainder a - q*b, exactly: q*b = ph + pl, a - ph is exact (Sterbenz).
  const ph = twoProd(q, b);
  const d = a - ph;
  const rs = d > err ? 1 : d < err ? -1 : 0;
  if (rs === 0) return k === 0 ? finish(env, fmt, q, 0, rnd) : roundDD(env, fmt, q, 0, k, rnd, fzOf(env, fmt));
  // True quotient = q + t with sign(t) = sign(remainder) * sign(b); no ties in division.
  const t = (b < 0 ? -rs : rs) * (q < 0 ? -q : q) * 8.673617379884035e-19; // 2^-60
  if (k === 0) return finish(env, fmt, q, t, rnd);
  return roundDD(env, fmt, q, t, k, rnd, fzOf(env, fmt));
}

/** FPSqrt. */
export function kSqrt(env: FPEnv, fmt: number, a: number): number {
  if (a === 0 || a === Infinity) return a;
  if (a < 0) {
    env.fpsr |= FPSR_IOC;
    return NaN;
  }
  const rnd = rmode(env);
  let k = 0;
  // Keep a*a's partial products inside the double range (Dekker needs that).
  if (a < 1e-280) {
    a *= 1.0715086071862673e301; // 2^1000
    k = -500;
  } else if (a > 1e300) {
    a *= 7.888609052210118e-31; // 2^-100
    k = 50;
  }
  const r = Math.sqrt(a);
  const ph = twoProd(r, r);
  const d = a - ph;
  const rs = d > err ? 1 : d < err ? -1 : 0;
  const t = rs * r * 8.673617379884035e-19;
  if (k === 0) return finish(env, fmt, r, t, rnd);
  return roundDD(env, fmt, r, t, k, rnd, fzOf(env, fmt));
}

let eT4 = 0, eT3 = 0;
/**
 * The exact sum c + uh + ul (uh + ul an exact product) as a renormalised
 * expansion h2 + eT4 + eT3: h2 = RN(h2 + eT4), and eT3 below eT4's last
 * place (or eT4 = 0), so that eT3 only breaks ties and marks inexactness.
 */
function expand(c: number, uh: number, ul: number): number {
  const th = twoSum(c, uh);
  const tl = err;
  const vh = twoSum(tl, ul);
  const vl = err;
  const h = twoSum(th, vh);
  const t = err;
  const t2 = twoSum(t, vl);
  eT3 = err;
  const h2 = twoSum(h, t2);
  eT4 = err;
  return h2;
}

/**
 * FPMulAdd without the NaN handling: (c + a*b) * 2^scale, rounded once
 * (scale -1 gives the halving of FPRSqrtStepFused).
 */
export function kMulAdd(env: FPEnv, fmt: number, c: number, a: number, b: number, scale: number): number {
  const infA = isInf(c), infa = isInf(a), infb = isInf(b);
  const signP = signBit(a) !== signBit(b);
  if ((infa && b === 0) || (a === 0 && infb)) {
    env.fpsr |= FPSR_IOC;
    return NaN;
  }
  const infP = infa || infb;
  if (infA && infP && signBit(c) !== signP) {
    env.fpsr |= FPSR_IOC;
    return NaN;
  }
  if (infA) return c;
  if (infP) return signP ? -Infinity : Infinity;
  const rnd = rmode(env);
  const zeroP = a === 0 || b === 0;
  if (c === 0 && zeroP) return signBit(c) === signP ? c : rnd === Rnd.NEGINF ? -0 : 0;
  const fz = fzOf(env, fmt);
  if (zeroP) return scale === 0 ? c : roundDD(env, fmt, c, 0, scale, rnd, fz);
  if (fmt !== Fmt.D) {
    // a*b is exact in a double; so is the two-term sum c + a*b = s + e.
    const s = twoSum(c, a * b);
    if (s === 0) return rnd === Rnd.NEGINF ? -0 : 0;
    return scale === 0 ? finish(env, fmt, s, err, rnd) : roundDD(env, fmt, s, err, scale, rnd, fz);
  }
  if (c === 0) {
    if (scale === 0) return mulFinite(env, fmt, a, b, rnd);
    const ea0 = expOf(a), eb0 = expOf(b);
    const u0 = twoProd(ldexp(a, -ea0), ldexp(b, -eb0));
    return roundDD(env, fmt, u0, err, ea0 + eb0 + scale, rnd, fz);
  }
  // Fast path (round to nearest, everything well inside the double range):
  // the exact expansion c + a*b = h2 + t4 + t3 needs no scaling, and h2 is
  // the answer unless the tail is near half an ulp of it (possible tie).
  if (rnd === Rnd.TIEEVEN && scale === 0) {
    const p = a * b;
    const aa = a < 0 ? -a : a, ab = b < 0 ? -b : b, ap = p < 0 ? -p : p, ac = c < 0 ? -c : c;
    if (aa < 1e299 && ab < 1e299 && ap >= 2.5e-292 && ap < 1e300 && ac < 1e300) {
      twoProd(a, b);
      const h2 = expand(c, p, err);
      const t4 = eT4, t3 = eT3;
      const ah = h2 < 0 ? -h2 : h2;
      if (h2 === 0) return 0;
      if (ah > 4.5e-308) {
        // Below a quarter ulp of h2 (2^-55 relative, under the smaller half-ulp of a power of two): h2 is RN.
        const at4 = t4 < 0 ? -t4 : t4;
        if (at4 < ah * 2.7755575615628914e-17) {
          if (t4 !== 0 || t3 !== 0) env.fpsr |= FPSR_IXC;
          return h2;
        }
        const neg = h2 < 0;
        return roundExact(env, fmt, neg, ah, neg ? -t4 : t4, neg ? -t3 : t3, 0, rnd, fz);
      }
      // A result near the subnormal range: the scaled path below.
    }
  }
  // Double: scale a and b to [1, 2); the product uh + ul is exact; c joins at the product's scale.
  const ea = expOf(a), eb = expOf(b), ec = expOf(c);
  const uh = twoProd(ldexp(a, -ea), ldexp(b, -eb));
  const ul = err;
  const ep = ea + eb;
  if (ec - ep > 110) {
    // The product is far below c's last place: it only decides the direction of the tail.
    const mc = ldexp(c, -ec);
    const t = (uh < 0) === (mc < 0) ? 1.6069380442589903e-60 : -1.6069380442589903e-60; // 2^-199
    return roundExact(env, fmt, mc < 0, mc < 0 ? -mc : mc, t, 0, ec + scale, rnd, fz);
  }
  const cs = ep - ec > 110 ? (c < 0 ? -1.6069380442589903e-60 : 1.6069380442589903e-60) : ldexp(c, -ep);
  const h2 = expand(cs, uh, ul);
  const t4 = eT4, t3 = eT3;
  if (h2 === 0) return rnd === Rnd.NEGINF ? -0 : 0;
  const neg = h2 < 0;
  return roundExact(env, fmt, neg, neg ? -h2 : h2, neg ? -t4 : t4, neg ? -t3 : t3, ep + scale, rnd, fz);
}

/** FPMax (after NaN processing): the larger; of two zeros the positive one. */
export function kMax(_env: FPEnv, _fmt: number, a: number, b: number): number {
  if (a === 0 && b === 0) return negZero(a) && negZero(b) ? -0 : 0;
  return a > b ? a : b;
}

/** FPMin: the smaller; of two zeros the negative one. */
export function kMin(_env: FPEnv, _fmt: number, a: number, b: number): number {
  if (a === 0 && b === 0) return negZero(a) || negZero(b) ? -0 : 0;
  return a < b ? a : b;
}

/** FPRecipStepFused: 2 - a*b (the caller passes a negated), infinity times zero gives 2.0. */
export function kRecipStep(env: FPEnv, fmt: number, a: number, b: number): number {
  if ((isInf(a) && b === 0) || (a === 0 && isInf(b))) return 2;
  if (isInf(a) || isInf(b)) return signBit(a) !== signBit(b) ? -Infinity : Infinity;
  return kMulAdd(env, fmt, 2, a, b, 0);
}

/** FPRSqrtStepFused: (3 - a*b) / 2 (a passed negated), infinity times zero gives 1.5. */
export function kRSqrtStep(env: FPEnv, fmt: number, a: number, b: number): number {
  if ((isInf(a) && b === 0) || (a === 0 && isInf(b))) return 1.5;
  if (isInf(a) || isInf(b)) return signBit(a) !== signBit(b) ? -Infinity : Infinity;
  return kMulAdd(env, fmt, 3, a, b, -1);
}

// ---- Bit-level operations ---------------------------------------------------------
// Operands and results are bits: (lo, hi) with hi used for double only
// (pass 0 otherwise); a double result's bits 63:32 are in `rhi`.

/** A two-operand arithmetic op: FPUnpack both, FPProcessNaNs, then the kernel and FPRound. */
export function fpBin(env: FPEnv, fmt: number, alo: number, ahi: number, blo: number, bhi: number, k: Kernel2): number {
  const a = unpack(env, fmt, alo, ahi);
  const ta = ntype;
  const b = unpack(env, fmt, blo, bhi);
  const tb = ntype;
  if ((ta | tb) !== 0) return processNaNs(env, fmt, ta, alo, ahi, tb, blo, bhi);
  return pack(fmt, k(env, fmt, a, b));
}

/** FPMaxNum / FPMinNum: a single quiet NaN loses to a number; otherwise FPMax / FPMin. */
export function fpMinMaxNum(env: FPEnv, fmt: number, alo: number, ahi: number, blo: number, bhi: number, isMax: boolean): number {
  let a = unpack(env, fmt, alo, ahi);
  let ta = ntype;
  let b = unpack(env, fmt, blo, bhi);
  let tb = ntype;
  if (ta === 1 && tb !== 1) {
    a = isMax ? -Infinity : Infinity;
    ta = 0;
  } else if (tb === 1 && ta !== 1) {
    b = isMax ? -Infinity : Infinity;
    tb = 0;
  }
  if ((ta | tb) !== 0) return processNaNs(env, fmt, ta, alo, ahi, tb, blo, bhi);
  return pack(fmt, isMax ? kMax(env, fmt, a, b) : kMin(env, fmt, a, b));
}

/**
 * FPMulAdd(addend c, a, b) with its NaN rules: a quiet NaN addend with
 * infinity times zero gives the default NaN and Invalid Operation; NaNs are
 * processed in the order addend, a, b. The caller negates operands in bits
 * (FMSUB, FNMADD...) before the call, as the pseudocode's FPNeg does.
 * scale is 0, or -1 for the halved result of FRSQRTS.
 */
export function fpMulAdd(env: FPEnv, fmt: number, clo: number, chi: number, alo: number, ahi: number, blo: number, bhi: number): number {
  if (fmt === Fmt.D && (env.fpcr & (3 << FPCR_RMODE_SHIFT)) === 0) {
    const r = fmaDNearest(env, clo, chi, alo, ahi, blo, bhi);
    if (fmaOk) return r;
  }
  const c = unpack(env, fmt, clo, chi);
  const tc = ntype;
  const a = unpack(env, fmt, alo, ahi);
  const ta = ntype;
  const b = unpack(env, fmt, blo, bhi);
  const tb = ntype;
  if ((tc | ta | tb) !== 0) {
    if (tc === 1 && ((isInf(a) && b === 0) || (a === 0 && isInf(b)))) {
      env.fpsr |= FPSR_IOC;
      return defaultNaN(fmt);
    }
    if (tc === 2) return processNaN(env, fmt, 2, clo, chi);
    if (ta === 2) return processNaN(env, fmt, 2, alo, ahi);
    if (tb === 2) return processNaN(env, fmt, 2, blo, bhi);
    if (tc !== 0) return processNaN(env, fmt, 1, clo, chi);
    if (ta !== 0) return processNaN(env, fmt, 1, alo, ahi);
    return processNaN(env, fmt, 1, blo, bhi);
  }
  return pack(fmt, kMulAdd(env, fmt, c, a, b, 0));
}

const fmaF = new Float64Array(3);
const fmaI = new Int32Array(fmaF.buffer);
/** Whether the last fmaDNearest produced the result. */
let fmaOk = false;

/**
 * The common case of a double FPMulAdd, for speed: round to nearest, three
 * normal operands, everything well inside the double range (the conditions
 * of kMulAdd's fast path) and the exact c + a*b = h2 + t4 + t3 not within
 * reach of a tie. Then h2 is the result: t4 is a double below half an ulp of
 * h2 (a quarter ulp below a power of two when it points down), so its own
 * last place divides that half ulp, and t3 (below half an ulp of t4) cannot
 * carry t4 + t3 to it. FZ does not matter (no denormal input or output).
 * Sets fmaOk = false, with nothing changed, when the general path must decide.
 */
function fmaDNearest(env: FPEnv, clo: number, chi: number, alo: number, ahi: number, blo: number, bhi: number): number {
  fmaOk = false;
  const ec = chi & 0x7ff00000, ea = ahi & 0x7ff00000, eb = bhi & 0x7ff00000;
  if (ec === 0 || ea === 0 || eb === 0 || ec === 0x7ff00000 || ea === 0x7ff00000 || eb === 0x7ff00000) return 0;
  fmaI[0] = clo; fmaI[1] = chi; fmaI[2] = alo; fmaI[3] = ahi; fmaI[4] = blo; fmaI[5] = bhi;
  const c = fmaF[0], a = fmaF[1], b = fmaF[2];
  const p = a * b;
  const aa = a < 0 ? -a : a, ab = b < 0 ? -b : b, ap = p < 0 ? -p : p, ac = c < 0 ? -c : c;
  if (!(aa < 1e299 && ab < 1e299 && ap >= 2.5e-292 && ap < 1e300 && ac < 1e300)) return 0;
  if (env.fpsr & FPSR_IXC) {
    // IXC is sticky and already set, so only the rounded value matters. c + p = s + e1 exactly (TwoSum), and the
    // product's rounding error is at most 2^-53 |p|: when that bound keeps the exact sum clear of the rounding
    // boundaries of s (with a margin for the rounding of the bound itself), s is the result.
    const s = c + p;
    const bb = s - c;
    const e1 = c - (s - bb) + (p - bb);
    const bound = (e1 < 0 ? -e1 : e1) + ap * 1.1102230246251565e-16;
    fmaF[0] = s;
    const slo = fmaI[0], shi = fmaI[1];
    const se = (shi >>> 20) & 0x7ff;
    if (se > 1 && se < 0x7ff) {
      const half = POW2[se - 2];
      if (bound < half * 0.99 && (bound < half * 0.49 || (shi & 0xfffff) !== 0 || slo !== 0)) {
        rhi = shi;
        fmaOk = true;
        return slo;
      }
    }
  }
  twoProd(a, b);
  {
    // c + a*b = s + (e1 + e) exactly, with e the product's error (TwoProduct) and e1 the sum's (TwoSum). When
    // t = RN(e1 + e) is clear of the rounding boundaries of s (margin for t's own rounding), s is the result;
    // t is zero exactly when e1 + e is (no underflow here), which decides Inexact.
    const e = err;
    const s = c + p;
    const bb = s - c;
    const t = c - (s - bb) + (p - bb) + e;
    fmaF[0] = s;
    const slo = fmaI[0], shi = fmaI[1];
    const se = (shi >>> 20) & 0x7ff;
    if (se > 1 && se < 0x7ff) {
      const half = POW2[se - 2];
      const at = t < 0 ? -t : t;
      if (at < half * 0.999 && (at < half * 0.499 || (shi & 0xfffff) !== 0 || slo !== 0 || t < 0 === s < 0)) {
        if (t !== 0) env.fpsr |= FPSR_IXC;
        rhi = shi;
        fmaOk = true;
        return slo;
      }
    }
    err = e;
  }
  const h2 = expand(c, p, err);
  const t4 = eT4, t3 = eT3;
  if (!(h2 > 4.5e-308 || h2 < -4.5e-308)) return 0;
  fmaF[0] = h2;
  const lo = fmaI[0], hi = fmaI[1];
  const half = POW2[((hi >>> 20) & 0x7ff) - 2]; // half an ulp of h2: 2^(E - 1023 - 53)
  const at4 = t4 < 0 ? -t4 : t4;
  if (at4 >= half) return 0;
  if (at4 >= half * 0.5 && (hi & 0xfffff) === 0 && lo === 0 && t4 < 0 !== h2 < 0) return 0;
  if (t4 !== 0 || t3 !== 0) env.fpsr |= FPSR_IXC;
  rhi = hi;
  fmaOk = true;
  return lo;
}

// ---- Fast paths on host numbers, for the vector lane ops ---------------------------------
// Each takes the operands as host numbers (read through pe.vf64 / pe.vf32) and returns the result
// of the FP operation in round-to-nearest (the caller checks FPCR.RMode is 0) with FPSR.IXC set
// as the full operation would, or NaN, with nothing changed, when the operands or the result are
// outside the easy case: operands normal and finite, the exact result comfortably normal (so FZ,
// DN, underflow and overflow play no part), and the rounding provably the one the exact path does.
// Magnitudes are taken with Math.abs (branch-free: operand signs are unpredictable).
// The rounding test uses monotonicity of rounding: when RN(s + x1) = RN(s + x2) = s for x1 <= e <= x2,
// RN(s + e) = s as well.

/** FPMulAdd(c, a, b) of doubles (c + a * b, one rounding). */
export function fmaNearestD(env: FPEnv, c: number, a: number, b: number): number {
  const p = a * b;
  const aa = Math.abs(a), ab = Math.abs(b), ap = Math.abs(p), ac = Math.abs(c);
  if (!(aa >= MIN_D && aa < 1e299 && ab >= MIN_D && ab < 1e299 && ac >= MIN_D && ac < 1e300 && ap >= 2.5e-292 && ap < 1e300)) return NaN;
  // c + p = s + e1 exactly (TwoSum); the product's own error e has |e| <= 2^-53 |p|.
  const s = c + p;
  const as = Math.abs(s);
  if (!(as > 4.5e-308)) return NaN;
  const bb = s - c;
  const e1 = c - (s - bb) + (p - bb);
  if (env.fpsr & FPSR_IXC) {
    // IXC is sticky and already set: only the rounded value matters.
    const x = (Math.abs(e1) + ap * 1.1102230246251565e-16) * 1.000001;
    if (s + x === s && s - x === s) return s;
  }
  twoProd(a, b);
  // c + a*b = s + (e1 + e) exactly; t = RN(e1 + e) is zero exactly when e1 + e is (no underflow: both are
  // multiples of 2^-1074), and lies within a relative 2^-53 of it otherwise.
  const t = e1 + err;
  if (t === 0) return s;
  if (s + t * 0.99999 === s && s + t * 1.00001 === s) {
    env.fpsr |= FPSR_IXC;
    return s;
  }
  return NaN;
}

/** FPMul of doubles. */
export function mulNearestD(env: FPEnv, a: number, b: number): number {
  const p = a * b;
  const aa = Math.abs(a), ab = Math.abs(b), ap = Math.abs(p);
  if (!(aa >= MIN_D && aa < 1e299 && ab >= MIN_D && ab < 1e299 && ap >= 2.5e-292 && ap < 1e300)) return NaN;
  if ((env.fpsr & FPSR_IXC) === 0) {
    twoProd(a, b);
    if (err !== 0) env.fpsr |= FPSR_IXC;
  }
  return p;
}

/** FPAdd of doubles (FPSub: pass -b). */
export function addNearestD(env: FPEnv, a: number, b: number): number {
  const s = a + b;
  const aa = Math.abs(a), ab = Math.abs(b), as = Math.abs(s);
  if (!(aa >= MIN_D && aa < 4.49423283715579e307 && ab >= MIN_D && ab < 4.49423283715579e307 && as >= MIN_D)) return NaN;
  if ((env.fpsr & FPSR_IXC) === 0) {
    const bb = s - a;
    if (a - (s - bb) + (b - bb) !== 0) env.fpsr |= FPSR_IXC;
  }
  return s;
}

/** FPMulAdd(c, a, b) of singles: a * b is exact in a double; taken only when c + a * b is too. */
export function fmaNearestS(env: FPEnv, c: number, a: number, b: number): number {
  const p = a * b;
  const aa = Math.abs(a), ab = Math.abs(b), ac = Math.abs(c);
  if (!(aa >= MIN_S && aa < 1e30 && ab >= MIN_S && ab < 1e30 && ac >= MIN_S && ac < 3.4e38)) return NaN;
  const s = c + p;
  const as = Math.abs(s);
  if (!(as >= MIN_S && as < 3.4e38)) return NaN;
  const bb = s - c;
  if (c - (s - bb) + (p - bb) !== 0) return NaN;
  const r = Math.fround(s);
  if (r !== s) env.fpsr |= FPSR_IXC;
  return r;
}

/** FPMul of singles (the double product is exact). */
export function mulNearestS(env: FPEnv, a: number, b: number): number {
  const p = a * b;
  const aa = Math.abs(a), ab = Math.abs(b), ap = Math.abs(p);
  if (!(aa >= MIN_S && ab >= MIN_S && ap >= MIN_S && ap < 3.4e38)) return NaN;
  const r = Math.fround(p);
  if (r !== p) env.fpsr |= FPSR_IXC;
  return r;
}

/** FPAdd of singles (FPSub: pass -b); taken only when the double sum is exact. */
export function addNearestS(env: FPEnv, a: number, b: number): number {
  const s = a + b;
  const aa = Math.abs(a), ab = Math.abs(b), as = Math.abs(s);
  if (!(aa >= MIN_S && aa < 3.4e38 && ab >= MIN_S && ab < 3.4e38 && as >= MIN_S && as < 3.4e38)) return NaN;
  const bb = s - a;
  if (a - (s - bb) + (b - bb) !== 0) return NaN;
  const r = Math.fround(s);
  if (r !== s) env.fpsr |= FPSR_IXC;
  return r;
}

/** FPSqrt on bits. */
export function fpSqrt(env: FPEnv, fmt: number, lo: number, hi: number): number {
  const a = unpack(env, fmt, lo, hi);
  if (ntype !== 0) return processNaN(env, fmt, ntype, lo, hi);
  return pack(fmt, kSqrt(env, fmt, a));
}

/** NZCV of FPCompare: 0110 equal, 1000 less, 0010 greater, 0011 unordered. */
export function fpCompare(env: FPEnv, fmt: number, alo: number, ahi: number, blo: number, bhi: number, signalAll: boolean): number {
  const a = unpack(env, fmt, alo, ahi);
  const ta = ntype;
  const b = unpack(env, fmt, blo, bhi);
  const tb = ntype;
  if ((ta | tb) !== 0) {
    if (ta === 2 || tb === 2 || signalAll) env.fpsr |= FPSR_IOC;
    return 0b0011;
  }
  return a === b ? 0b0110 : a < b ? 0b1000 : 0b0010;
}

/** FPCompareEQ (cond 0), FPCompareGE (1), FPCompareGT (2); `abs` compares magnitudes (FACGE, FACGT). */
export function fpCompareCond(env: FPEnv, fmt: number, alo: number, ahi: number, blo: number, bhi: number, cond: number, abs: boolean): boolean {
  let a = unpack(env, fmt, alo, ahi);
  const ta = ntype;
  let b = unpack(env, fmt, blo, bhi);
  const tb = ntype;
  if ((ta | tb) !== 0) {
    if (cond !== 0 || ta === 2 || tb === 2) env.fpsr |= FPSR_IOC;
    return false;
  }
  if (abs) {
    if (a < 0) a = -a;
    if (b < 0) b = -b;
  }
  return cond === 0 ? a === b : cond === 1 ? a >= b : a > b;
}

/** FPRoundInt: to an integral value in the same format; `exact` (FRINTX) signals Inexact. */
export function fpRoundInt(env: FPEnv, fmt: number, lo: number, hi: number, rnd: number, exact: boolean): number {
  const x = unpack(env, fmt, lo, hi);
  if (ntype !== 0) return processNaN(env, fmt, ntype, lo, hi);
  if (x === 0 || x - x !== 0) return pack(fmt, x);
  const i = Math.floor(x);
  const e = fracOf(x, i);
  let r = i;
  if (e !== 0) {
    if (roundUp(rnd, i, e)) r = i + 1;
    if (exact) env.fpsr |= FPSR_IXC;
  }
  if (r === 0) r = x < 0 ? -0 : 0;
  return pack(fmt, r);
}

/**
 * v - RoundDown(v), exactly where it matters: it is exact except for v in
 * (-1, 0), where only its relation to 0 and 0.5 is needed (the roundUp
 * decisions), so a stand-in with that relation is returned.
 */
function fracOf(v: number, i: number): number {
  if (i !== -1 || v === -1) return v - i;
  return v > -0.5 ? 0.75 : v === -0.5 ? 0.5 : 0.25;
}

/** The round_up decision of FPRoundInt and FPToFixed for RoundDown(value) = i and error e in (0, 1). */
function roundUp(rnd: number, i: number, e: number): boolean {
  switch (rnd) {
    case Rnd.TIEEVEN:
      return e > 0.5 || (e === 0.5 && i % 2 !== 0);
    case Rnd.POSINF:
      return true;
    case Rnd.NEGINF:
      return false;
    case Rnd.ZERO:
      return i < 0;
    default: // TIEAWAY
      return e > 0.5 || (e === 0.5 && i >= 0);
  }
}

const TWO32 = 4294967296;
const TWO63 = 9223372036854775808;
const TWO64 = 18446744073709551616;

/**
 * FPToFixed: the value times 2^fbits rounded to an integer in mode rnd,
 * saturated to `size` (16, 32 or 64) bits, signed or unsigned (Invalid
 * Operation on saturation or NaN, else Inexact when rounded). Returns bits
 * 31:0 (a 16-bit result in bits 15:0); bits 63:32 in rhi.
 */
export function fpToFixed(env: FPEnv, fmt: number, lo: number, hi: number, fbits: number, unsigned: boolean, size: number, rnd: number): number {
  const is64 = size === 64;
  const x = unpack(env, fmt, lo, hi);
  if (ntype !== 0) {
    env.fpsr |= FPSR_IOC;
    rhi = 0;
    return 0;
  }
  const v = fbits === 0 ? x : x * POW2[fbits + 1074];
  const max = is64 ? (unsigned ? TWO64 : TWO63) : size === 32 ? (unsigned ? TWO32 : 2147483648) : unsigned ? 65536 : 32768;
  const min = unsigned ? 0 : -max;
  let r: number;
  if (v - v !== 0 || v >= max || v < min - 1) {
    r = v > 0 ? max : min - 1;
  } else {
    const i = Math.floor(v);
    const e = fracOf(v, i);
    r = e !== 0 && roundUp(rnd, i, e) ? i + 1 : i;
    if (r < max && r >= min) {
      if (e !== 0) env.fpsr |= FPSR_IXC;
      if (is64) {
        const h = Math.floor(r / TWO32);
        rhi = h | 0;
        return (r - h * TWO32) | 0;
      }
      rhi = 0;
      return r | 0;
    }
  }
  // Saturation.
  env.fpsr |= FPSR_IOC;
  if (r >= max) {
    if (is64) {
      rhi = unsigned ? -1 : 0x7fffffff;
      return -1;
    }
    rhi = 0;
    return size === 32 ? (unsigned ? -1 : 0x7fffffff) : unsigned ? 0xffff : 0x7fff;
  }
  if (is64) {
    rhi = unsigned ? 0 : -0x80000000;
    return 0;
  }
  rhi = 0;
  return unsigned ? 0 : size === 32 ? -0x80000000 : 0x8000;
}

/**
 * FixedToFP: the 16-, 32- or 64-bit integer (lo, hi), signed or unsigned, divided
 * by 2^fbits and rounded to fmt in mode rnd.
 */
export function fixedToFp(env: FPEnv, fmt: number, lo: number, hi: number, size: number, unsigned: boolean, fbits: number, rnd: number): number {
  let v: number, e = 0;
  if (size === 16) v = unsigned ? lo & 0xffff : (lo << 16) >> 16;
  else if (size === 32) v = unsigned ? lo >>> 0 : lo | 0;
  else {
    v = twoSum((unsigned ? hi >>> 0 : hi | 0) * TWO32, lo >>> 0);
    e = err;
  }
  if (v === 0) return pack(fmt, 0);
  if (fbits === 0) return pack(fmt, finish(env, fmt, v, e, rnd));
  return pack(fmt, roundDD(env, fmt, v, e, -fbits, rnd, fzOf(env, fmt)));
}

/** The NaN of format `from` converted to format `to` (FPConvertNaN): sign and top payload bits kept, quiet. */
function convertNaN(from: number, to: number, lo: number, hi: number): number {
  let sign: number, p19: number, p32: number; // payload below the quiet bit, as double fraction bits 50:32 and 31:0
  if (from === Fmt.D) {
    sign = hi >>> 31;
    p19 = hi & 0x7ffff;
    p32 = lo >>> 0;
  } else if (from === Fmt.S) {
    sign = lo >>> 31;
    const p = lo & 0x3fffff;
    p19 = p >>> 3;
    p32 = (p & 7) << 29;
  } else {
    sign = (lo >>> 15) & 1;
    p19 = (lo & 0x1ff) << 10;
    p32 = 0;
  }
  switch (to) {
    case Fmt.D:
      rhi = (sign << 31) | 0x7ff80000 | p19;
      return p32 | 0;
    case Fmt.S:
      return (sign << 31) | 0x7fc00000 | (p19 << 3) | (p32 >>> 29);
    default:
      return (sign << 15) | 0x7e00 | (p19 >>> 10);
  }
}

/**
 * FPConvert from format `from` to format `to` (H, S, D) in mode rnd
 * (FPUnpackCV and FPRoundCV: FZ16 does not apply; FPCR.AHP selects the
 * alternative half-precision format on the half side).
 */
export function fpConvert(env: FPEnv, from: number, to: number, lo: number, hi: number, rnd: number): number {
  const ahp = (env.fpcr & FPCR_AHP) !== 0;
  let x: number, t: number;
  if (from === Fmt.H) {
    lo &= 0xffff;
    if (ahp) {
      x = (lo & 0x7c00) === 0x7c00 ? ((lo & 0x3ff) + 1024) * 64 * (lo & 0x8000 ? -1 : 1) : H2D[lo];
      t = 0;
    } else {
      x = H2D[lo];
      t = nanType(Fmt.H, lo, 0);
    }
  } else {
    x = unpack(env, from, lo, hi);
    t = ntype;
  }
  const toAhp = to === Fmt.H && ahp;
  if (t !== 0) {
    if (toAhp) {
      env.fpsr |= FPSR_IOC;
      return (from === Fmt.D ? hi >>> 31 : from === Fmt.S ? lo >>> 31 : (lo >>> 15) & 1) << 15;
    }
    if (t === 2) env.fpsr |= FPSR_IOC;
    if (env.fpcr & FPCR_DN) return defaultNaN(to);
    return convertNaN(from, to, lo, hi);
  }
  if (x === 0) return pack(to, x);
  if (x - x !== 0) {
    if (toAhp) {
      env.fpsr |= FPSR_IOC;
      return x < 0 ? 0xffff : 0x7fff;
    }
    return pack(to, x);
  }
  if (toAhp) return h16(roundDD(env, Fmt.AHP, x, 0, 0, rnd, false));
  return pack(to, roundDD(env, to, x, 0, 0, rnd, to !== Fmt.H && (env.fpcr & FPCR_FZ) !== 0));
}
