/**
 * Advanced SIMD vector floating point: three same (arithmetic, FMLA/FMLS,
 * compares, pairwise), two-register misc (FABS, FNEG, FSQRT, FRINT*,
 * conversions to and from integers, estimates, compares with zero, FCVTN,
 * FCVTL, FCVTXN), across lanes (FMAXV, FMINV, FMAXNMV, FMINNMV), by element
 * (FMLA, FMLS, FMUL, FMULX) and the fixed-point conversions of the
 * shift-by-immediate group. Half-precision forms need FEAT_FP16 ('fp16'),
 * except FCVTN/FCVTL, which are base FP.
 *
 * Every lane is computed into a scratch register (fp/vregs.ts) before Vd is
 * written, so Vd may alias a source; Q=0 forms zero bits 127:64 of Vd.
 * Element semantics are those of the scalar forms (fp/ops.ts).
 */
import type { Fields, InsnDef, Op } from '../decoder.js';
import { FPCR_RMODE_SHIFT, Fmt, Rnd, addNearestD, addNearestS, fmaNearestD, fmaNearestS, fpConvert, fpMulAdd, mulNearestD, mulNearestS, rhi, rmode } from '../fp/softfloat.js';
import * as O from '../fp/ops.js';
import type { L1, L2, L3 } from '../fp/ops.js';
import { FPREG, T32, arr, elo, ehi, lanesOf, tcommit, tput, wscalar } from '../fp/vregs.js';
import { elemIndex, elemReg, shiftFbits, shiftFmt } from './fp_scalar.js';

const FP = 'fp';
const FP16 = 'fp16';
const sz = (f: Fields): number => (f.sz ? Fmt.D : Fmt.S);
const b4 = (v: number): string => v.toString(2).padStart(4, '0');
const b5 = (v: number): string => v.toString(2).padStart(5, '0');

// ---- Lane loops --------------------------------------------------------------------

function v1(fmt: number, q: number, d: number, n: number, f: L1): Op {
  const L = lanesOf(fmt, q), wq = q === 1;
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    for (let i = 0; i < L; i++) tput(fmt, i, f(pe, fmt, elo(pe, fmt, n, i), ehi(pe, fmt, n, i)));
    tcommit(pe, d, wq);
  };
}

function v2(fmt: number, q: number, d: number, n: number, m: number, f: L2): Op {
  const kind = f === O.FADD ? 0 : f === O.FSUB ? 1 : f === O.FMUL ? 2 : -1;
  if (kind >= 0 && fmt === Fmt.D && q === 1) return v2FastD(d, n, m, kind, v2Loop(fmt, q, d, n, m, f));
  if (kind >= 0 && fmt === Fmt.S) return v2FastS(q, d, n, m, kind, v2Loop(fmt, q, d, n, m, f));
  return v2Loop(fmt, q, d, n, m, f);
}

function v2Loop(fmt: number, q: number, d: number, n: number, m: number, f: L2): Op {
  const L = lanesOf(fmt, q), wq = q === 1;
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    for (let i = 0; i < L; i++) tput(fmt, i, f(pe, fmt, elo(pe, fmt, n, i), ehi(pe, fmt, n, i), elo(pe, fmt, m, i), ehi(pe, fmt, m, i)));
    tcommit(pe, d, wq);
  };
}

/** Pairwise: the result lanes are op(pair) over the concatenation Vm:Vn, Vn's pairs first. */
function v2p(fmt: number, q: number, d: number, n: number, m: number, f: L2): Op {
  const L = lanesOf(fmt, q), h = L >> 1, wq = q === 1;
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    for (let i = 0; i < L; i++) {
      const r = i < h ? n : m, j = 2 * (i < h ? i : i - h);
      tput(fmt, i, f(pe, fmt, elo(pe, fmt, r, j), ehi(pe, fmt, r, j), elo(pe, fmt, r, j + 1), ehi(pe, fmt, r, j + 1)));
    }
    tcommit(pe, d, wq);
  };
}

const RM_MASK = 3 << FPCR_RMODE_SHIFT;

/**
 * FMLA/FMLS on double lanes, the hot case of matrix code: the lane loop
 * unrolled, first trying fmaNearestD on the lanes as host numbers (pe.vf64),
 * then, when a lane is outside its easy case, the exact fpMulAdd on bits for
 * every lane (redoing a lane only repeats its IXC). Same semantics as
 * v3(.., O.FMLA / O.FMLS); FMLS negates Vn's element first (FPNeg is exact).
 */
function v3FmlaD(q: number, d: number, n: number, m: number, idx: number, neg: boolean): Op {
  const wq = q === 1;
  const k0 = idx < 0 ? 0 : idx, k1 = idx < 0 ? 1 : idx;
  const sg = neg ? -1 : 1, hs = neg ? 0x80000000 | 0 : 0;
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    if ((pe.fpcr & RM_MASK) === 0) {
      const f = pe.vf64;
      const r0 = fmaNearestD(pe, f[2 * d], sg * f[2 * n], f[2 * m + k0]);
      if (r0 === r0) {
        if (!wq) {
          f[2 * d] = r0;
          f[2 * d + 1] = 0;
          return;
        }
        const r1 = fmaNearestD(pe, f[2 * d + 1], sg * f[2 * n + 1], f[2 * m + k1]);
        if (r1 === r1) {
          f[2 * d] = r0;
          f[2 * d + 1] = r1;
          return;
        }
      }
    }
    const v = pe.v32, D = 4 * d, N = 4 * n, M = 4 * m;
    const l0 = fpMulAdd(pe, Fmt.D, v[D], v[D + 1], v[N], v[N + 1] ^ hs, v[M + 2 * k0], v[M + 2 * k0 + 1]);
    const h0 = rhi;
    if (wq) {
      // Lane 0's result is held until lane 1 has read its operands (Vd may alias Vn or Vm).
      const l1 = fpMulAdd(pe, Fmt.D, v[D + 2], v[D + 3], v[N + 2], v[N + 3] ^ hs, v[M + 2 * k1], v[M + 2 * k1 + 1]);
      v[D + 2] = l1;
      v[D + 3] = rhi;
    } else v[D + 2] = v[D + 3] = 0;
    v[D] = l0;
    v[D + 1] = h0;
  };
}

/** FMLA/FMLS on single lanes: fmaNearestS on every lane (pe.vf32), else the general lane loop `slow`. */
function v3FmlaS(q: number, d: number, n: number, m: number, idx: number, neg: boolean, slow: Op): Op {
  const wq = q === 1;
  const sg = neg ? -1 : 1;
  const k0 = idx < 0 ? 0 : idx, k1 = idx < 0 ? 1 : idx, k2 = idx < 0 ? 2 : idx, k3 = idx < 0 ? 3 : idx;
  const D = 4 * d, N = 4 * n, M = 4 * m;
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    if ((pe.fpcr & RM_MASK) === 0) {
      const f = pe.vf32;
      const r0 = fmaNearestS(pe, f[D], sg * f[N], f[M + k0]);
      const r1 = fmaNearestS(pe, f[D + 1], sg * f[N + 1], f[M + k1]);
      if (r0 === r0 && r1 === r1) {
        if (!wq) {
          f[D] = r0; f[D + 1] = r1;
          pe.v32[D + 2] = pe.v32[D + 3] = 0;
          return;
        }
        const r2 = fmaNearestS(pe, f[D + 2], sg * f[N + 2], f[M + k2]);
        const r3 = fmaNearestS(pe, f[D + 3], sg * f[N + 3], f[M + k3]);
        if (r2 === r2 && r3 === r3) {
          f[D] = r0; f[D + 1] = r1; f[D + 2] = r2; f[D + 3] = r3;
          return;
        }
      }
    }
    slow(pe);
  };
}

/**
 * FADD (kind 0), FSUB (1), FMUL (2) on double lanes: addNearestD/mulNearestD
 * on both lanes (pe.vf64), else the general lane loop `slow`.
 */
function v2FastD(d: number, n: number, m: number, kind: number, slow: Op): Op {
  const D = 2 * d, N = 2 * n, M = 2 * m;
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    if ((pe.fpcr & RM_MASK) === 0) {
      const f = pe.vf64;
      const a0 = f[N], a1 = f[N + 1], b0 = f[M], b1 = f[M + 1];
      let r0: number, r1: number;
      if (kind === 2) {
        r0 = mulNearestD(pe, a0, b0);
        r1 = mulNearestD(pe, a1, b1);
      } else if (kind === 1) {
        r0 = addNearestD(pe, a0, -b0);
        r1 = addNearestD(pe, a1, -b1);
      } else {
        r0 = addNearestD(pe, a0, b0);
        r1 = addNearestD(pe, a1, b1);
      }
      if (r0 === r0 && r1 === r1) {
        f[D] = r0;
        f[D + 1] = r1;
        return;
      }
    }
    slow(pe);
  };
}

/** FADD (kind 0), FSUB (1), FMUL (2) on single lanes, as v2FastD. */
function v2FastS(q: number, d: number, n: number, m: number, kind: number, slow: Op): Op {
  const wq = q === 1;
  const D = 4 * d, N = 4 * n, M = 4 * m;
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    if ((pe.fpcr & RM_MASK) === 0) {
      const f = pe.vf32;
      let r0: number, r1: number, r2 = 0, r3 = 0;
      if (kind === 2) {
        r0 = mulNearestS(pe, f[N], f[M]);
        r1 = mulNearestS(pe, f[N + 1], f[M + 1]);
        if (wq) { r2 = mulNearestS(pe, f[N + 2], f[M + 2]); r3 = mulNearestS(pe, f[N + 3], f[M + 3]); }
      } else if (kind === 1) {
        r0 = addNearestS(pe, f[N], -f[M]);
        r1 = addNearestS(pe, f[N + 1], -f[M + 1]);
        if (wq) { r2 = addNearestS(pe, f[N + 2], -f[M + 2]); r3 = addNearestS(pe, f[N + 3], -f[M + 3]); }
      } else {
        r0 = addNearestS(pe, f[N], f[M]);
        r1 = addNearestS(pe, f[N + 1], f[M + 1]);
        if (wq) { r2 = addNearestS(pe, f[N + 2], f[M + 2]); r3 = addNearestS(pe, f[N + 3], f[M + 3]); }
      }
      if (r0 === r0 && r1 === r1 && r2 === r2 && r3 === r3) {
        f[D] = r0;
        f[D + 1] = r1;
        if (wq) {
          f[D + 2] = r2;
          f[D + 3] = r3;
        } else pe.v32[D + 2] = pe.v32[D + 3] = 0;
        return;
      }
    }
    slow(pe);
  };
}

/** Vd[i] = f(Vd[i], Vn[i], Vm[idx < 0 ? i : idx]). */
function v3(fmt: number, q: number, d: number, n: number, m: number, idx: number, f: L3): Op {
  if (fmt === Fmt.D && (f === O.FMLA || f === O.FMLS)) return v3FmlaD(q, d, n, m, idx, f === O.FMLS);
  if (fmt === Fmt.S && (f === O.FMLA || f === O.FMLS)) return v3FmlaS(q, d, n, m, idx, f === O.FMLS, v3Loop(fmt, q, d, n, m, idx, f));
  return v3Loop(fmt, q, d, n, m, idx, f);
}

function v3Loop(fmt: number, q: number, d: number, n: number, m: number, idx: number, f: L3): Op {
  const L = lanesOf(fmt, q), wq = q === 1;
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    for (let i = 0; i < L; i++) {
      const k = idx < 0 ? i : idx;
      tput(fmt, i, f(pe, fmt, elo(pe, fmt, d, i), ehi(pe, fmt, d, i), elo(pe, fmt, n, i), ehi(pe, fmt, n, i), elo(pe, fmt, m, k), ehi(pe, fmt, m, k)));
    }
    tcommit(pe, d, wq);
  };
}

/** Vd[i] = f(Vn[i], Vm[idx]). */
function v2e(fmt: number, q: number, d: number, n: number, m: number, idx: number, f: L2): Op {
  const L = lanesOf(fmt, q), wq = q === 1;
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    const blo = elo(pe, fmt, m, idx), bhi = ehi(pe, fmt, m, idx);
    for (let i = 0; i < L; i++) tput(fmt, i, f(pe, fmt, elo(pe, fmt, n, i), ehi(pe, fmt, n, i), blo, bhi));
    tcommit(pe, d, wq);
  };
}

// ---- Definitions -------------------------------------------------------------------

const defs: InsnDef[] = [];

/**
 * A vector FP instruction in its single/double encoding (`pat`, with Q, and
 * sz giving the element size; sz=1 needs Q=1) and its FEAT_FP16 encoding
 * (`patH`).
 */
function vecPair(name: string, pat: string, patH: string | null, build: (f: Fields, fmt: number) => Op, disasm: (f: Fields, fmt: number) => string, validSd: (f: Fields) => boolean = (f) => f.sz === 0 || f.Q === 1, validH?: (f: Fields) => boolean): void {
  defs.push({ name: `${name}_v`, pattern: pat, cls: 'simd', feature: FP, valid: validSd, build: (f) => build(f, sz(f)), disasm: (f) => disasm(f, sz(f)) });
  if (patH !== null) defs.push({ name: `${name}_vh`, pattern: patH, cls: 'simd', feature: FP16, valid: validH, build: (f) => build(f, Fmt.H), disasm: (f) => disasm(f, Fmt.H) });
}

const vr = (n: number, fmt: number, q: number): string => `v${n}.${arr(fmt, q)}`;

// Three same.
const V3S: [string, number, number, number, 'n' | 'p' | 'a', L2 | L3][] = [
  ['FMAXNM', 0, 0, 0b11000, 'n', O.FMAXNM], ['FMLA', 0, 0, 0b11001, 'a', O.FMLA], ['FADD', 0, 0, 0b11010, 'n', O.FADD],
  ['FMULX', 0, 0, 0b11011, 'n', O.FMULX], ['FCMEQ', 0, 0, 0b11100, 'n', O.FCMEQ], ['FMAX', 0, 0, 0b11110, 'n', O.FMAX],
  ['FRECPS', 0, 0, 0b11111, 'n', O.FRECPS],
  ['FMINNM', 0, 1, 0b11000, 'n', O.FMINNM], ['FMLS', 0, 1, 0b11001, 'a', O.FMLS], ['FSUB', 0, 1, 0b11010, 'n', O.FSUB],
  ['FMIN', 0, 1, 0b11110, 'n', O.FMIN], ['FRSQRTS', 0, 1, 0b11111, 'n', O.FRSQRTS],
  ['FMAXNMP', 1, 0, 0b11000, 'p', O.FMAXNM], ['FADDP', 1, 0, 0b11010, 'p', O.FADD], ['FMUL', 1, 0, 0b11011, 'n', O.FMUL],
  ['FCMGE', 1, 0, 0b11100, 'n', O.FCMGE], ['FACGE', 1, 0, 0b11101, 'n', O.FACGE], ['FMAXP', 1, 0, 0b11110, 'p', O.FMAX],
  ['FDIV', 1, 0, 0b11111, 'n', O.FDIV],
  ['FMINNMP', 1, 1, 0b11000, 'p', O.FMINNM], ['FABD', 1, 1, 0b11010, 'n', O.FABD], ['FCMGT', 1, 1, 0b11100, 'n', O.FCMGT],
  ['FACGT', 1, 1, 0b11101, 'n', O.FACGT], ['FMINP', 1, 1, 0b11110, 'p', O.FMIN],
];
for (const [mn, u, a, opc, kind, f] of V3S) {
  vecPair(mn, `0 Q:1 ${u} 01110 ${a} sz:1 1 Rm:5 ${b5(opc)} 1 Rn:5 Rd:5`, `0 Q:1 ${u} 01110 ${a} 10 Rm:5 00 ${b5(opc).slice(2)} 1 Rn:5 Rd:5`,
    (x, fmt) => kind === 'a' ? v3(fmt, x.Q, x.Rd, x.Rn, x.Rm, -1, f as L3) : kind === 'p' ? v2p(fmt, x.Q, x.Rd, x.Rn, x.Rm, f as L2) : v2(fmt, x.Q, x.Rd, x.Rn, x.Rm, f as L2),
    (x, fmt) => `${mn.toLowerCase()} ${vr(x.Rd, fmt, x.Q)}, ${vr(x.Rn, fmt, x.Q)}, ${vr(x.Rm, fmt, x.Q)}`);
}

// Two-register misc.
const V2M: [string, number, number, number, L1][] = [
  ['FRINTN', 0, 0, 0b11000, O.frint(Rnd.TIEEVEN, false)], ['FRINTM', 0, 0, 0b11001, O.frint(Rnd.NEGINF, false)],
  ['FCVTNS', 0, 0, 0b11010, O.fcvtLane(Rnd.TIEEVEN, false, 0)], ['FCVTMS', 0, 0, 0b11011, O.fcvtLane(Rnd.NEGINF, false, 0)],
  ['FCVTAS', 0, 0, 0b11100, O.fcvtLane(Rnd.TIEAWAY, false, 0)], ['SCVTF', 0, 0, 0b11101, O.cvtfLane(false, 0)],
  ['FCMGT_zero', 0, 1, 0b01100, O.cmpZero(2, false)], ['FCMEQ_zero', 0, 1, 0b01101, O.cmpZero(0, false)],
  ['FCMLT_zero', 0, 1, 0b01110, O.cmpZero(2, true)], ['FABS', 0, 1, 0b01111, O.FABS],
  ['FRINTP', 0, 1, 0b11000, O.frint(Rnd.POSINF, false)], ['FRINTZ', 0, 1, 0b11001, O.frint(Rnd.ZERO, false)],
  ['FCVTPS', 0, 1, 0b11010, O.fcvtLane(Rnd.POSINF, false, 0)], ['FCVTZS', 0, 1, 0b11011, O.fcvtLane(Rnd.ZERO, false, 0)],
  ['FRECPE', 0, 1, 0b11101, O.FRECPE],
  ['FRINTA', 1, 0, 0b11000, O.frint(Rnd.TIEAWAY, false)], ['FRINTX', 1, 0, 0b11001, O.frint(-1, true)],
  ['FCVTNU', 1, 0, 0b11010, O.fcvtLane(Rnd.TIEEVEN, true, 0)], ['FCVTMU', 1, 0, 0b11011, O.fcvtLane(Rnd.NEGINF, true, 0)],
  ['FCVTAU', 1, 0, 0b11100, O.fcvtLane(Rnd.TIEAWAY, true, 0)], ['UCVTF', 1, 0, 0b11101, O.cvtfLane(true, 0)],
  ['FCMGE_zero', 1, 1, 0b01100, O.cmpZero(1, false)], ['FCMLE_zero', 1, 1, 0b01101, O.cmpZero(1, true)],
  ['FNEG', 1, 1, 0b01111, O.FNEG], ['FRINTI', 1, 1, 0b11001, O.frint(-1, false)],
  ['FCVTPU', 1, 1, 0b11010, O.fcvtLane(Rnd.POSINF, true, 0)], ['FCVTZU', 1, 1, 0b11011, O.fcvtLane(Rnd.ZERO, true, 0)],
  ['FRSQRTE', 1, 1, 0b11101, O.FRSQRTE], ['FSQRT', 1, 1, 0b11111, O.FSQRT],
];
for (const [mn, u, a, opc, f] of V2M) {
  const base = mn.replace('_zero', '').toLowerCase();
  const zero = mn.endsWith('_zero') ? ', #0.0' : '';
  vecPair(mn, `0 Q:1 ${u} 01110 ${a} sz:1 10000 ${b5(opc)} 10 Rn:5 Rd:5`, `0 Q:1 ${u} 01110 ${a} 111100 ${b5(opc)} 10 Rn:5 Rd:5`,
    (x, fmt) => v1(fmt, x.Q, x.Rd, x.Rn, f),
    (x, fmt) => `${base} ${vr(x.Rd, fmt, x.Q)}, ${vr(x.Rn, fmt, x.Q)}${zero}`);
}

/**
 * FCVTN/FCVTXN (narrowing: the source's lanes to half-width lanes in the
 * lower half of Vd, upper half zeroed; the "2" forms with Q=1 write the
 * upper half and keep the lower) and FCVTL (widening from the lower or,
 * with Q=1, upper half of Vn).
 */
function narrow(from: number, q: number, d: number, n: number, rnd: number): Op {
  const to = from === Fmt.D ? Fmt.S : Fmt.H, L = from === Fmt.D ? 2 : 4, base = q ? L : 0;
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    const r0 = rnd < 0 ? rmode(pe) : rnd;
    if (q) {
      T32[0] = pe.v32[4 * d];
      T32[1] = pe.v32[4 * d + 1];
    }
    for (let i = 0; i < L; i++) tput(to, base + i, fpConvert(pe, from, to, elo(pe, from, n, i), ehi(pe, from, n, i), r0));
    tcommit(pe, d, q === 1);
  };
}

function widen(from: number, q: number, d: number, n: number): Op {
  const to = from === Fmt.S ? Fmt.D : Fmt.S, L = from === Fmt.S ? 2 : 4, base = q ? L : 0;
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    const r0 = rmode(pe);
    for (let i = 0; i < L; i++) {
      const r = fpConvert(pe, from, to, elo(pe, from, n, base + i), 0, r0);
      tput(to, i, r);
    }
    tcommit(pe, d, true);
  };
}

defs.push({
  name: 'FCVTN_v', pattern: '0 Q:1 0 01110 0 sz:1 10000 10110 10 Rn:5 Rd:5', cls: 'simd', feature: FP,
  build: (f) => narrow(f.sz ? Fmt.D : Fmt.S, f.Q, f.Rd, f.Rn, -1),
  disasm: (f) => `fcvtn${f.Q ? '2' : ''} v${f.Rd}.${f.sz ? (f.Q ? '4s' : '2s') : f.Q ? '8h' : '4h'}, v${f.Rn}.${f.sz ? '2d' : '4s'}`,
});
defs.push({
  name: 'FCVTXN_v', pattern: '0 Q:1 1 01110 0 1 10000 10110 10 Rn:5 Rd:5', cls: 'simd', feature: FP,
  build: (f) => narrow(Fmt.D, f.Q, f.Rd, f.Rn, Rnd.ODD),
  disasm: (f) => `fcvtxn${f.Q ? '2' : ''} v${f.Rd}.${f.Q ? '4s' : '2s'}, v${f.Rn}.2d`,
});
defs.push({
  name: 'FCVTL_v', pattern: '0 Q:1 0 01110 0 sz:1 10000 10111 10 Rn:5 Rd:5', cls: 'simd', feature: FP,
  build: (f) => widen(f.sz ? Fmt.S : Fmt.H, f.Q, f.Rd, f.Rn),
  disasm: (f) => `fcvtl${f.Q ? '2' : ''} v${f.Rd}.${f.sz ? '2d' : '4s'}, v${f.Rn}.${f.sz ? (f.Q ? '4s' : '2s') : f.Q ? '8h' : '4h'}`,
});

// Across lanes: Reduce() halves the vector recursively, op(lower half, upper half).
const VAL: [string, number, number, L2][] = [
  ['FMAXNMV', 0, 0b01100, O.FMAXNM], ['FMAXV', 0, 0b01111, O.FMAX], ['FMINNMV', 1, 0b01100, O.FMINNM], ['FMINV', 1, 0b01111, O.FMIN],
];
const red = new Int32Array(8);
function reduce(fmt: number, q: number, d: number, n: number, f: L2): Op {
  const L = lanesOf(fmt, q);
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    for (let i = 0; i < L; i++) red[i] = elo(pe, fmt, n, i);
    for (let w = L; w > 1; w >>= 1) for (let i = 0; i < w >> 1; i++) red[i] = f(pe, fmt, red[2 * i], 0, red[2 * i + 1], 0);
    wscalar(pe, fmt, d, red[0], 0);
  };
}
for (const [mn, a, opc, f] of VAL) {
  vecPair(mn, `0 Q:1 1 01110 ${a} sz:1 11000 ${b5(opc)} 10 Rn:5 Rd:5`, `0 Q:1 0 01110 ${a} 0 11000 ${b5(opc)} 10 Rn:5 Rd:5`,
    (x, fmt) => reduce(fmt, x.Q, x.Rd, x.Rn, f),
    (x, fmt) => `${mn.toLowerCase()} ${FPREG[fmt]}${x.Rd}, ${vr(x.Rn, fmt, x.Q)}`,
    (f) => f.Q === 1 && f.sz === 0);
}

// By element.
const VE: [string, number, number][] = [['FMLA', 0, 0b0001], ['FMLS', 0, 0b0101], ['FMUL', 0, 0b1001], ['FMULX', 1, 0b1001]];
for (const [mn, u, opc] of VE) {
  vecPair(`${mn}_elem`, `0 Q:1 ${u} 01111 1 sz:1 L:1 M:1 Rm:4 ${b4(opc)} H:1 0 Rn:5 Rd:5`, `0 Q:1 ${u} 01111 00 L:1 M:1 Rm:4 ${b4(opc)} H:1 0 Rn:5 Rd:5`,
    (x, fmt) => {
      const m = elemReg(x, fmt), i = elemIndex(x, fmt);
      if (mn === 'FMLA' || mn === 'FMLS') return v3(fmt, x.Q, x.Rd, x.Rn, m, i, mn === 'FMLA' ? O.FMLA : O.FMLS);
      return v2e(fmt, x.Q, x.Rd, x.Rn, m, i, mn === 'FMUL' ? O.FMUL : O.FMULX);
    },
    (x, fmt) => `${mn.toLowerCase()} ${vr(x.Rd, fmt, x.Q)}, ${vr(x.Rn, fmt, x.Q)}, v${elemReg(x, fmt)}.${FPREG[fmt]}[${elemIndex(x, fmt)}]`,
    (f) => f.sz === 0 || (f.L === 0 && f.Q === 1));
}

// Shift by immediate: fixed-point conversions.
const VSH: [string, number, number, boolean, boolean][] = [
  ['SCVTF', 0, 0b11100, false, true], ['FCVTZS', 0, 0b11111, false, false],
  ['UCVTF', 1, 0b11100, true, true], ['FCVTZU', 1, 0b11111, true, false],
];
for (const [mn, u, opc, uns, toFp] of VSH) {
  const build = (x: Fields): Op => {
    const fmt = shiftFmt(x.immh), fbits = shiftFbits(x.immh, x.immb);
    return v1(fmt, x.Q, x.Rd, x.Rn, toFp ? O.cvtfLane(uns, fbits) : O.fcvtLane(Rnd.ZERO, uns, fbits));
  };
  const disasm = (x: Fields): string => {
    const fmt = shiftFmt(x.immh);
    return `${mn.toLowerCase()} ${vr(x.Rd, fmt, x.Q)}, ${vr(x.Rn, fmt, x.Q)}, #${shiftFbits(x.immh, x.immb)}`;
  };
  defs.push({ name: `${mn}_fix_v`, pattern: `0 Q:1 ${u} 011110 immh:4 immb:3 ${b5(opc)} 1 Rn:5 Rd:5`, cls: 'simd', feature: FP,
    valid: (f) => f.immh >= 4 && (f.immh < 8 || f.Q === 1), build, disasm });
  defs.push({ name: `${mn}_fix_vh`, pattern: `0 Q:1 ${u} 011110 001 ih:1 immb:3 ${b5(opc)} 1 Rn:5 Rd:5`, cls: 'simd', feature: FP16,
    build: (x) => build({ ...x, immh: 2 | x.ih }), disasm: (x) => disasm({ ...x, immh: 2 | x.ih }) });
}

export const simdFpInsns: InsnDef[] = defs;
