/**
 * An exact reference model of the Arm FP pseudocode for the unit tests,
 * written independently of src/cpu/fp: values are exact rationals m * 2^e
 * with BigInt m (tests may use BigInt), FPRound works on the integer
 * significand, division and square root carry a sticky bit. Bits are
 * BigInt too (half, single and double alike).
 */

export interface Fmt {
  E: number;
  F: number;
  N: number;
}
export const H: Fmt = { E: 5, F: 10, N: 16 };
export const S: Fmt = { E: 8, F: 23, N: 32 };
export const D: Fmt = { E: 11, F: 52, N: 64 };
export const FMTS = [H, S, D];

export const IOC = 1, DZC = 2, OFC = 4, UFC = 8, IXC = 16, IDC = 128;
export const RN = 0, RP = 1, RM = 2, RZ = 3, RA = 4, RO = 5;

export interface Ctl {
  rnd: number;
  fz: boolean; // FZ for S/D, FZ16 for H (the caller decides)
  dn: boolean;
  idc: boolean; // whether flushing an input sets IDC (not for half)
}

export interface Val {
  kind: 'zero' | 'num' | 'inf' | 'qnan' | 'snan';
  sign: number;
  m: bigint; // value = m * 2^e for num
  e: number;
  bits: bigint;
}

const bias = (f: Fmt): number => (1 << (f.E - 1)) - 1;

/** FPUnpack. */
export function unpack(f: Fmt, bits: bigint, c: Ctl, flags: { v: number }): Val {
  const sign = Number((bits >> BigInt(f.N - 1)) & 1n);
  const exp = Number((bits >> BigInt(f.F)) & BigInt((1 << f.E) - 1));
  const frac = bits & ((1n << BigInt(f.F)) - 1n);
  if (exp === (1 << f.E) - 1) {
    if (frac === 0n) return { kind: 'inf', sign, m: 0n, e: 0, bits };
    return { kind: (frac >> BigInt(f.F - 1)) & 1n ? 'qnan' : 'snan', sign, m: 0n, e: 0, bits };
  }
  if (exp === 0) {
    if (frac === 0n) return { kind: 'zero', sign, m: 0n, e: 0, bits };
    if (c.fz) {
      if (c.idc) flags.v |= IDC;
      return { kind: 'zero', sign, m: 0n, e: 0, bits };
    }
    return { kind: 'num', sign, m: frac, e: 1 - bias(f) - f.F, bits };
  }
  return { kind: 'num', sign, m: frac | (1n << BigInt(f.F)), e: exp - bias(f) - f.F, bits };
}

const bitlen = (m: bigint): number => m.toString(2).length;

export const zero = (f: Fmt, sign: number): bigint => BigInt(sign) << BigInt(f.N - 1);
export const inf = (f: Fmt, sign: number): bigint => zero(f, sign) | (BigInt((1 << f.E) - 1) << BigInt(f.F));
export const defaultNaN = (f: Fmt): bigint => (BigInt((1 << f.E) - 1) << BigInt(f.F)) | (1n << BigInt(f.F - 1));

/** FPRound of (-1)^sign * m * 2^e (m > 0), with `sticky` meaning a nonzero amount below m's last bit. */
export function round(f: Fmt, sign: number, m: bigint, e: number, c: Ctl, flags: { v: number }, sticky = false): bigint {
  if (sticky) {
    m = (m << 2n) | 1n;
    e -= 2;
  }
  const emin = 1 - bias(f);
  const ev = bitlen(m) - 1 + e; // exponent of the exact value
  if (ev < emin && c.fz) {
    flags.v |= UFC;
    return zero(f, sign);
  }
  let q = Math.max(ev, emin) - f.F;
  const shift = e - q;
  let base: bigint, rem = 0n, half = 0n;
  if (shift >= 0) base = m << BigInt(shift);
  else {
    base = m >> BigInt(-shift);
    rem = m & ((1n << BigInt(-shift)) - 1n);
    half = 1n << BigInt(-shift - 1);
  }
  let up = false;
  if (rem !== 0n) {
    flags.v |= IXC;
    if (ev < emin) flags.v |= UFC;
    switch (c.rnd) {
      case RN: up = rem > half || (rem === half && (base & 1n) === 1n); break;
      case RP: up = sign === 0; break;
      case RM: up = sign === 1; break;
      case RA: up = rem >= half; break;
      case RO: if ((base & 1n) === 0n) base |= 1n; break;
    }
  }
  if (up) base += 1n;
  if (base === 1n << BigInt(f.F + 1)) {
    base >>= 1n;
    q++;
  }
  const exp = q + f.F;
  if (exp > bias(f)) {
    flags.v |= OFC | IXC;
    const toInf = c.rnd === RN || c.rnd === RA || (c.rnd === RP && sign === 0) || (c.rnd === RM && sign === 1);
    return toInf ? inf(f, sign) : zero(f, sign) | ((BigInt((1 << f.E) - 2) << BigInt(f.F)) | ((1n << BigInt(f.F)) - 1n));
  }
  const biased = base >= 1n << BigInt(f.F) ? BigInt(exp + bias(f)) : 0n;
  return zero(f, sign) | (biased << BigInt(f.F)) | (base & ((1n << BigInt(f.F)) - 1n));
}

function quiet(f: Fmt, v: Val, c: Ctl, flags: { v: number }): bigint {
  if (v.kind === 'snan') flags.v |= IOC;
  if (c.dn) return defaultNaN(f);
  return v.bits | (1n << BigInt(f.F - 1));
}

/** FPProcessNaNs over any number of operands; null if none is a NaN. */
export function nans(f: Fmt, ops: Val[], c: Ctl, flags: { v: number }): bigint | null {
  for (const v of ops) if (v.kind === 'snan') return quiet(f, v, c, flags);
  for (const v of ops) if (v.kind === 'qnan') return quiet(f, v, c, flags);
  return null;
}

/** Exact sum of signed values; returns [sign, m, e] with m >= 0. */
function exactAdd(s1: number, m1: bigint, e1: number, s2: number, m2: bigint, e2: number): [number, bigint, number] {
  const e = Math.min(e1, e2);
  const a = (s1 ? -1n : 1n) * (m1 << BigInt(e1 - e));
  const b = (s2 ? -1n : 1n) * (m2 << BigInt(e2 - e));
  const r = a + b;
  return [r < 0n ? 1 : 0, r < 0n ? -r : r, e];
}

export function add(f: Fmt, a: bigint, b: bigint, c: Ctl, flags: { v: number }, negB = false): bigint {
  const x = unpack(f, a, c, flags), y = unpack(f, b, c, flags);
  const n = nans(f, [x, y], c, flags);
  if (n !== null) return n;
  const ys = negB ? y.sign ^ 1 : y.sign;
  if (x.kind === 'inf' && y.kind === 'inf' && x.sign !== ys) {
    flags.v |= IOC;
    return defaultNaN(f);
  }
  if (x.kind === 'inf') return inf(f, x.sign);
  if (y.kind === 'inf') return inf(f, ys);
  if (x.kind === 'zero' && y.kind === 'zero' && x.sign === ys) return zero(f, x.sign);
  const [s, m, e] = exactAdd(x.sign, x.m, x.e, ys, y.m, y.e);
  if (m === 0n) return zero(f, c.rnd === RM ? 1 : 0);
  return round(f, s, m, e, c, flags);
}

export function mul(f: Fmt, a: bigint, b: bigint, c: Ctl, flags: { v: number }, mulx = false): bigint {
  const x = unpack(f, a, c, flags), y = unpack(f, b, c, flags);
  const n = nans(f, [x, y], c, flags);
  if (n !== null) return n;
  const s = x.sign ^ y.sign;
  if ((x.kind === 'inf' && y.kind === 'zero') || (x.kind === 'zero' && y.kind === 'inf')) {
    if (mulx) return round(f, s, 1n, 1, c, flags);
    flags.v |= IOC;
    return defaultNaN(f);
  }
  if (x.kind === 'inf' || y.kind === 'inf') return inf(f, s);
  if (x.kind === 'zero' || y.kind === 'zero') return zero(f, s);
  return round(f, s, x.m * y.m, x.e + y.e, c, flags);
}

export function div(f: Fmt, a: bigint, b: bigint, c: Ctl, flags: { v: number }): bigint {
  const x = unpack(f, a, c, flags), y = unpack(f, b, c, flags);
  const n = nans(f, [x, y], c, flags);
  if (n !== null) return n;
  const s = x.sign ^ y.sign;
  if ((x.kind === 'inf' && y.kind === 'inf') || (x.kind === 'zero' && y.kind === 'zero')) {
    flags.v |= IOC;
    return defaultNaN(f);
  }
  if (x.kind === 'inf' || y.kind === 'zero') {
    if (y.kind === 'zero' && x.kind !== 'inf') flags.v |= DZC;
    return inf(f, s);
  }
  if (x.kind === 'zero' || y.kind === 'inf') return zero(f, s);
  const K = 2 * f.F + 8 + bitlen(y.m);
  const num = x.m << BigInt(K);
  const q = num / y.m, r = num % y.m;
  return round(f, s, q, x.e - y.e - K, c, flags, r !== 0n);
}

function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  // Newton's method from above: decreases monotonically to floor(sqrt(n)).
  let x = 1n << BigInt((bitlen(n) >> 1) + 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

export function sqrt(f: Fmt, a: bigint, c: Ctl, flags: { v: number }): bigint {
  const x = unpack(f, a, c, flags);
  const n = nans(f, [x], c, flags);
  if (n !== null) return n;
  if (x.kind === 'zero') return zero(f, x.sign);
  if (x.sign === 1) {
    flags.v |= IOC;
    return defaultNaN(f);
  }
  if (x.kind === 'inf') return inf(f, 0);
  let m = x.m, e = x.e;
  const K = 2 * (f.F + 8);
  m <<= BigInt(K);
  e -= K;
  if (e & 1) {
    m <<= 1n;
    e -= 1;
  }
  const r = isqrt(m);
  return round(f, 0, r, e / 2, c, flags, r * r !== m);
}

/** FPMulAdd(addend, op1, op2); `halve` for FRSQRTS's (3 + x*y)/2 is not needed here. */
export function fma(f: Fmt, addend: bigint, a: bigint, b: bigint, c: Ctl, flags: { v: number }): bigint {
  const z = unpack(f, addend, c, flags), x = unpack(f, a, c, flags), y = unpack(f, b, c, flags);
  const infZero = (x.kind === 'inf' && y.kind === 'zero') || (x.kind === 'zero' && y.kind === 'inf');
  if (z.kind === 'qnan' && infZero) {
    flags.v |= IOC;
    return defaultNaN(f);
  }
  const n = nans(f, [z, x, y], c, flags);
  if (n !== null) return n;
  const sp = x.sign ^ y.sign;
  const infP = x.kind === 'inf' || y.kind === 'inf';
  const zeroP = x.kind === 'zero' || y.kind === 'zero';
  if (infZero || (z.kind === 'inf' && infP && z.sign !== sp)) {
    flags.v |= IOC;
    return defaultNaN(f);
  }
  if (z.kind === 'inf') return inf(f, z.sign);
  if (infP) return inf(f, sp);
  if (z.kind === 'zero' && zeroP && z.sign === sp) return zero(f, z.sign);
  const pm = zeroP ? 0n : x.m * y.m, pe = zeroP ? 0 : x.e + y.e;
  const zm = z.kind === 'zero' ? 0n : z.m;
  const [s, m, e] = exactAdd(z.sign, zm, z.kind === 'zero' ? pe : z.e, sp, pm, pe);
  if (m === 0n) return zero(f, c.rnd === RM ? 1 : 0);
  return round(f, s, m, e, c, flags);
}
