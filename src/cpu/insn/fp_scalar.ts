/**
 * Scalar floating point: the FP data-processing group (FADD... FNMUL,
 * FMADD..., FABS, FNEG, FSQRT, FCVT, FRINT*, FCMP/FCMPE, FCCMP/FCCMPE,
 * FCSEL, FMOV register/immediate/general, conversions between FP and
 * integer or fixed point) and the AdvSIMD scalar FP instructions (three
 * same, two-register misc, pairwise, by element, shift by immediate).
 *
 * Semantics are in src/cpu/fp/ (softfloat.ts follows the Arm ARM's FP
 * pseudocode); an op here reads the operand bits, calls the element op and
 * writes the result. A scalar written to Hd/Sd/Dd zeroes the rest of the
 * 128-bit register. Half-precision arithmetic needs FEAT_FP16 ('fp16');
 * FCVT to and from half and the other base forms need 'fp'.
 */
import type { Fields, InsnDef, Op } from '../decoder.js';
import type { PE } from '../pe.js';
import { CONDS, dst, regName, src } from './regs.js';
import {
  Fmt, Rnd, fixedToFp, fpCompare, fpConvert, fpMulAdd, fpToFixed, rhi, rmode,
} from '../fp/softfloat.js';
import * as O from '../fp/ops.js';
import type { L1, L2, L3 } from '../fp/ops.js';
import { FPREG, elo, ehi, fmtOfType, vreg, wscalar } from '../fp/vregs.js';

const FP = 'fp';
const FP16 = 'fp16';

// ---- Op builders ------------------------------------------------------------------

/** Vd = f(Vn) on element 0 of format fmt. */
function s1(fmt: number, d: number, n: number, f: L1): Op {
  switch (fmt) {
    case Fmt.S:
      return (pe) => {
        if (!pe.fpEnabled) pe.fpTrap();
        const v = pe.v32, r = f(pe, Fmt.S, v[4 * n], 0);
        v[4 * d] = r;
        v[4 * d + 1] = v[4 * d + 2] = v[4 * d + 3] = 0;
      };
    case Fmt.D:
      return (pe) => {
        if (!pe.fpEnabled) pe.fpTrap();
        const v = pe.v32, r = f(pe, Fmt.D, v[4 * n], v[4 * n + 1]);
        v[4 * d] = r;
        v[4 * d + 1] = rhi;
        v[4 * d + 2] = v[4 * d + 3] = 0;
      };
    default:
      return (pe) => {
        if (!pe.fpEnabled) pe.fpTrap();
        wscalar(pe, Fmt.H, d, f(pe, Fmt.H, pe.v16[8 * n], 0), 0);
      };
  }
}

/** Vd = f(Vn, Vm) on element 0. */
function s2(fmt: number, d: number, n: number, m: number, f: L2): Op {
  switch (fmt) {
    case Fmt.S:
      return (pe) => {
        if (!pe.fpEnabled) pe.fpTrap();
        const v = pe.v32, r = f(pe, Fmt.S, v[4 * n], 0, v[4 * m], 0);
        v[4 * d] = r;
        v[4 * d + 1] = v[4 * d + 2] = v[4 * d + 3] = 0;
      };
    case Fmt.D:
      return (pe) => {
        if (!pe.fpEnabled) pe.fpTrap();
        const v = pe.v32, r = f(pe, Fmt.D, v[4 * n], v[4 * n + 1], v[4 * m], v[4 * m + 1]);
        v[4 * d] = r;
        v[4 * d + 1] = rhi;
        v[4 * d + 2] = v[4 * d + 3] = 0;
      };
    default:
      return (pe) => {
        if (!pe.fpEnabled) pe.fpTrap();
        const v = pe.v16;
        wscalar(pe, Fmt.H, d, f(pe, Fmt.H, v[8 * n], 0, v[8 * m], 0), 0);
      };
  }
}

/** Vd = f(Va, Vn, Vm) on element 0 (FPMulAdd order: accumulator first). */
function s3(fmt: number, d: number, a: number, n: number, m: number, f: L3): Op {
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    const r = f(pe, fmt, elo(pe, fmt, a, 0), ehi(pe, fmt, a, 0), elo(pe, fmt, n, 0), ehi(pe, fmt, n, 0), elo(pe, fmt, m, 0), ehi(pe, fmt, m, 0));
    wscalar(pe, fmt, d, r, rhi);
  };
}

const sz = (f: Fields): number => (f.sz ? Fmt.D : Fmt.S);

// ---- Definition helpers -------------------------------------------------------------

const defs: InsnDef[] = [];

/**
 * A scalar FP instruction in two encodings: ftype 0x (single/double, base
 * FP) and ftype 11 (half, FEAT_FP16). `pat` is the pattern with `TT` where
 * the two type bits go (`0 sz:1` or `11`).
 */
function fpPair(name: string, pat: string, build: (f: Fields, fmt: number) => Op, disasm: (f: Fields, fmt: number) => string, valid?: (f: Fields) => boolean): void {
  defs.push({
    name: `${name}_f`, pattern: pat.replace('TT', '0 sz:1'), cls: 'fp', feature: FP, valid,
    build: (f) => build(f, sz(f)), disasm: (f) => disasm(f, sz(f)),
  });
  defs.push({
    name: `${name}_fh`, pattern: pat.replace('TT', '11'), cls: 'fp', feature: FP16, valid,
    build: (f) => build(f, Fmt.H), disasm: (f) => disasm(f, Fmt.H),
  });
}

const b4 = (v: number): string => v.toString(2).padStart(4, '0');
const b5 = (v: number): string => v.toString(2).padStart(5, '0');
const b6 = (v: number): string => v.toString(2).padStart(6, '0');

// ---- FP data-processing (2 source) -------------------------------------------------------

const TWO_SRC: [string, number, L2][] = [
  ['FMUL', 0, O.FMUL], ['FDIV', 1, O.FDIV], ['FADD', 2, O.FADD], ['FSUB', 3, O.FSUB], ['FMAX', 4, O.FMAX],
  ['FMIN', 5, O.FMIN], ['FMAXNM', 6, O.FMAXNM], ['FMINNM', 7, O.FMINNM], ['FNMUL', 8, O.FNMUL],
];
for (const [mn, opc, f] of TWO_SRC) {
  fpPair(mn, `0001 1110 TT 1 Rm:5 ${b4(opc)} 10 Rn:5 Rd:5`, (x, fmt) => s2(fmt, x.Rd, x.Rn, x.Rm, f),
    (x, fmt) => `${mn.toLowerCase()} ${vreg(fmt, x.Rd)}, ${vreg(fmt, x.Rn)}, ${vreg(fmt, x.Rm)}`);
}

// ---- FP data-processing (3 source) -------------------------------------------------------

const THREE_SRC: [string, number, number][] = [['FMADD', 0, 0], ['FMSUB', 0, 1], ['FNMADD', 1, 0], ['FNMSUB', 1, 1]];
for (const [mn, o1, o0] of THREE_SRC) {
  // FMADD: a + n*m; FMSUB: a - n*m; FNMADD: -a - n*m; FNMSUB: -a + n*m (FPNeg before FPMulAdd).
  const negA = o1 === 1, negN = o1 !== o0;
  const f: L3 = (e, fmt, c, ch, a, ah, b, bh) =>
    fpMulAdd(e, fmt, negA ? O.negLo(fmt, c) : c, negA ? O.negHi(fmt, ch) : ch, negN ? O.negLo(fmt, a) : a, negN ? O.negHi(fmt, ah) : ah, b, bh);
  fpPair(mn, `0001 1111 TT ${o1} Rm:5 ${o0} Ra:5 Rn:5 Rd:5`, (x, fmt) => s3(fmt, x.Rd, x.Ra, x.Rn, x.Rm, f),
    (x, fmt) => `${mn.toLowerCase()} ${vreg(fmt, x.Rd)}, ${vreg(fmt, x.Rn)}, ${vreg(fmt, x.Rm)}, ${vreg(fmt, x.Ra)}`);
}

// ---- FP data-processing (1 source) -------------------------------------------------------

const ONE_SRC: [string, number, L1][] = [
  ['FMOV', 0, O.FMOV], ['FABS', 1, O.FABS], ['FNEG', 2, O.FNEG], ['FSQRT', 3, O.FSQRT],
  ['FRINTN', 8, O.frint(Rnd.TIEEVEN, false)], ['FRINTP', 9, O.frint(Rnd.POSINF, false)],
  ['FRINTM', 10, O.frint(Rnd.NEGINF, false)], ['FRINTZ', 11, O.frint(Rnd.ZERO, false)],
  ['FRINTA', 12, O.frint(Rnd.TIEAWAY, false)], ['FRINTX', 14, O.frint(-1, true)], ['FRINTI', 15, O.frint(-1, false)],
];
for (const [mn, opc, f] of ONE_SRC) {
  fpPair(mn, `0001 1110 TT 1 ${b6(opc)} 10000 Rn:5 Rd:5`, (x, fmt) => s1(fmt, x.Rd, x.Rn, f),
    (x, fmt) => `${mn.toLowerCase()} ${vreg(fmt, x.Rd)}, ${vreg(fmt, x.Rn)}`);
}

// FCVT between half, single and double (base FP, half included): ftype is the source, opc the destination.
defs.push({
  name: 'FCVT_f', pattern: '0001 1110 ftype:2 1 0001 opc:2 10000 Rn:5 Rd:5', cls: 'fp', feature: FP,
  valid: (f) => f.ftype !== 2 && f.opc !== 2 && f.ftype !== f.opc,
  build: (f) => {
    const from = fmtOfType(f.ftype), to = fmtOfType(f.opc), d = f.Rd, n = f.Rn;
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      const r = fpConvert(pe, from, to, elo(pe, from, n, 0), ehi(pe, from, n, 0), rmode(pe));
      wscalar(pe, to, d, r, rhi);
    };
  },
  disasm: (f) => `fcvt ${vreg(fmtOfType(f.opc), f.Rd)}, ${vreg(fmtOfType(f.ftype), f.Rn)}`,
});

// ---- FP compare ------------------------------------------------------------------------

function setNzcv(pe: PE, f: number): void {
  pe.n = f >>> 3;
  pe.z = (f >>> 2) & 1;
  pe.c = (f >>> 1) & 1;
  pe.v = f & 1;
}

for (const [mn, e] of [['FCMP', 0], ['FCMPE', 1]] as const) {
  fpPair(mn, `0001 1110 TT 1 Rm:5 001000 Rn:5 ${e} z:1 000`, (x, fmt) => {
    const n = x.Rn, m = x.Rm, zero = x.z === 1, sig = e === 1;
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      const blo = zero ? 0 : elo(pe, fmt, m, 0), bhi = zero ? 0 : ehi(pe, fmt, m, 0);
      setNzcv(pe, fpCompare(pe, fmt, elo(pe, fmt, n, 0), ehi(pe, fmt, n, 0), blo, bhi, sig));
    };
  }, (x, fmt) => `${mn.toLowerCase()} ${vreg(fmt, x.Rn)}, ${x.z ? '#0.0' : vreg(fmt, x.Rm)}`);
}

for (const [mn, e] of [['FCCMP', 0], ['FCCMPE', 1]] as const) {
  fpPair(mn, `0001 1110 TT 1 Rm:5 cond:4 01 Rn:5 ${e} nzcv:4`, (x, fmt) => {
    const n = x.Rn, m = x.Rm, cond = x.cond, nzcv = x.nzcv, sig = e === 1;
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      setNzcv(pe, pe.cond(cond) ? fpCompare(pe, fmt, elo(pe, fmt, n, 0), ehi(pe, fmt, n, 0), elo(pe, fmt, m, 0), ehi(pe, fmt, m, 0), sig) : nzcv);
    };
  }, (x, fmt) => `${mn.toLowerCase()} ${vreg(fmt, x.Rn)}, ${vreg(fmt, x.Rm)}, #${x.nzcv}, ${CONDS[x.cond]}`);
}

// ---- FP conditional select -------------------------------------------------------------

fpPair('FCSEL', '0001 1110 TT 1 Rm:5 cond:4 11 Rn:5 Rd:5', (x, fmt) => {
  const d = x.Rd, n = x.Rn, m = x.Rm, cond = x.cond;
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    const s = pe.cond(cond) ? n : m;
    wscalar(pe, fmt, d, elo(pe, fmt, s, 0), ehi(pe, fmt, s, 0));
  };
}, (x, fmt) => `fcsel ${vreg(fmt, x.Rd)}, ${vreg(fmt, x.Rn)}, ${vreg(fmt, x.Rm)}, ${CONDS[x.cond]}`);

// ---- FP immediate --------------------------------------------------------------------------

/** VFPExpandImm: bits of the 8-bit immediate expanded to format fmt (lo; hi word for double). */
export function vfpExpandImm(fmt: number, imm8: number): [number, number] {
  const s = imm8 >>> 7, b6 = (imm8 >>> 6) & 1, e54 = (imm8 >>> 4) & 3, f = imm8 & 15;
  switch (fmt) {
    case Fmt.H:
      return [(s << 15) | ((b6 ^ 1) << 14) | ((b6 ? 3 : 0) << 12) | (e54 << 10) | (f << 6), 0];
    case Fmt.S:
      return [((s << 31) | ((b6 ^ 1) << 30) | ((b6 ? 0x1f : 0) << 25) | (e54 << 23) | (f << 19)) | 0, 0];
    default:
      return [0, ((s << 31) | ((b6 ^ 1) << 30) | ((b6 ? 0xff : 0) << 22) | (e54 << 20) | (f << 16)) | 0];
  }
}

/** The value of an 8-bit FP immediate, for disassembly. */
export function fpImmValue(imm8: number): number {
  const [lo, hi] = vfpExpandImm(Fmt.D, imm8);
  const b = new DataView(new ArrayBuffer(8));
  b.setInt32(0, hi);
  b.setInt32(4, lo);
  return b.getFloat64(0);
}

const fmtImm = (v: number): string => {
  const s = v.toString();
  return /[.e]/.test(s) ? s : `${s}.0`;
};

fpPair('FMOV_imm', '0001 1110 TT 1 imm8:8 100 00000 Rd:5', (x, fmt) => {
  const [lo, hi] = vfpExpandImm(fmt, x.imm8);
  const d = x.Rd;
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    wscalar(pe, fmt, d, lo, hi);
  };
}, (x, fmt) => `fmov ${vreg(fmt, x.Rd)}, #${fmtImm(fpImmValue(x.imm8))}`);

// ---- Conversions between FP and integer -----------------------------------------------------

/** FCVT<r>S/U to a general register. */
const TO_INT: [string, number, number, number, boolean][] = [
  ['FCVTNS', 0, 0, Rnd.TIEEVEN, false], ['FCVTNU', 0, 1, Rnd.TIEEVEN, true],
  ['FCVTAS', 0, 4, Rnd.TIEAWAY, false], ['FCVTAU', 0, 5, Rnd.TIEAWAY, true],
  ['FCVTPS', 1, 0, Rnd.POSINF, false], ['FCVTPU', 1, 1, Rnd.POSINF, true],
  ['FCVTMS', 2, 0, Rnd.NEGINF, false], ['FCVTMU', 2, 1, Rnd.NEGINF, true],
  ['FCVTZS', 3, 0, Rnd.ZERO, false], ['FCVTZU', 3, 1, Rnd.ZERO, true],
];

function toGeneral(fmt: number, sf: number, d: number, n: number, fbits: number, rnd: number, unsigned: boolean): Op {
  const size = sf ? 64 : 32;
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    const r = fpToFixed(pe, fmt, elo(pe, fmt, n, 0), ehi(pe, fmt, n, 0), fbits, unsigned, size, rnd);
    pe.x[d] = r;
    pe.x[d + 1] = sf ? rhi : 0;
  };
}

function fromGeneral(fmt: number, sf: number, d: number, n: number, fbits: number, unsigned: boolean): Op {
  const size = sf ? 64 : 32;
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    const r = fixedToFp(pe, fmt, pe.x[n], pe.x[n + 1], size, unsigned, fbits, rmode(pe));
    wscalar(pe, fmt, d, r, rhi);
  };
}

for (const [mn, rm, opc, rnd, u] of TO_INT) {
  fpPair(`${mn}_gen`, `sf:1 0011110 TT 1 ${rm.toString(2).padStart(2, '0')} ${opc.toString(2).padStart(3, '0')} 000000 Rn:5 Rd:5`,
    (x, fmt) => toGeneral(fmt, x.sf, dst(x.Rd), x.Rn, 0, rnd, u),
    (x, fmt) => `${mn.toLowerCase()} ${regName(x.Rd, x.sf)}, ${vreg(fmt, x.Rn)}`);
}
for (const [mn, u] of [['SCVTF', false], ['UCVTF', true]] as const) {
  fpPair(`${mn}_gen`, `sf:1 0011110 TT 1 00 01${u ? 1 : 0} 000000 Rn:5 Rd:5`,
    (x, fmt) => fromGeneral(fmt, x.sf, x.Rd, src(x.Rn), 0, u),
    (x, fmt) => `${mn.toLowerCase()} ${vreg(fmt, x.Rd)}, ${regName(x.Rn, x.sf)}`);
}

// Fixed point: fbits = 64 - scale; the 32-bit forms need scale >= 32.
const fixValid = (f: Fields): boolean => f.sf === 1 || f.scale >= 32;
for (const [mn, opc, u] of [['FCVTZS', 0, false], ['FCVTZU', 1, true]] as const) {
  fpPair(`${mn}_fix`, `sf:1 0011110 TT 0 11 00${opc} scale:6 Rn:5 Rd:5`,
    (x, fmt) => toGeneral(fmt, x.sf, dst(x.Rd), x.Rn, 64 - x.scale, Rnd.ZERO, u),
    (x, fmt) => `${mn.toLowerCase()} ${regName(x.Rd, x.sf)}, ${vreg(fmt, x.Rn)}, #${64 - x.scale}`, fixValid);
}
for (const [mn, u] of [['SCVTF', false], ['UCVTF', true]] as const) {
  fpPair(`${mn}_fix`, `sf:1 0011110 TT 0 00 01${u ? 1 : 0} scale:6 Rn:5 Rd:5`,
    (x, fmt) => fromGeneral(fmt, x.sf, x.Rd, src(x.Rn), 64 - x.scale, u),
    (x, fmt) => `${mn.toLowerCase()} ${vreg(fmt, x.Rd)}, ${regName(x.Rn, x.sf)}, #${64 - x.scale}`, fixValid);
}

// FMOV (general): Wd<->Sn, Xd<->Dn, Xd<->Vn.D[1] (base FP); Wd/Xd<->Hn (FEAT_FP16).
defs.push({
  name: 'FMOV_gen', pattern: 'sf:1 0011110 ftype:2 1 rmode:2 11 op:1 000000 Rn:5 Rd:5', cls: 'fp', feature: FP,
  valid: (f) => (f.sf === 0 && f.ftype === 0 && f.rmode === 0) || (f.sf === 1 && f.ftype === 1 && f.rmode === 0) || (f.sf === 1 && f.ftype === 2 && f.rmode === 1),
  build: (f) => {
    const toFp = f.op === 1, top = f.ftype === 2, wide = f.sf === 1;
    if (toFp) {
      const d = f.Rd, n = src(f.Rn);
      if (top) return (pe) => {
        if (!pe.fpEnabled) pe.fpTrap();
        pe.v32[4 * d + 2] = pe.x[n];
        pe.v32[4 * d + 3] = pe.x[n + 1];
      };
      return (pe) => {
        if (!pe.fpEnabled) pe.fpTrap();
        wscalar(pe, wide ? Fmt.D : Fmt.S, d, pe.x[n], pe.x[n + 1]);
      };
    }
    const d = dst(f.Rd), n = f.Rn, off = top ? 2 : 0;
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      pe.x[d] = pe.v32[4 * n + off];
      pe.x[d + 1] = wide ? pe.v32[4 * n + off + 1] : 0;
    };
  },
  disasm: (f) => {
    const g = regName(f.op ? f.Rn : f.Rd, f.sf);
    const v = f.ftype === 2 ? `v${f.op ? f.Rd : f.Rn}.d[1]` : `${f.ftype === 1 ? 'd' : 's'}${f.op ? f.Rd : f.Rn}`;
    return f.op ? `fmov ${v}, ${g}` : `fmov ${g}, ${v}`;
  },
});
defs.push({
  name: 'FMOV_gen_h', pattern: 'sf:1 0011110 11 1 00 11 op:1 000000 Rn:5 Rd:5', cls: 'fp', feature: FP16,
  build: (f) => {
    if (f.op === 1) {
      const d = f.Rd, n = src(f.Rn);
      return (pe) => {
        if (!pe.fpEnabled) pe.fpTrap();
        wscalar(pe, Fmt.H, d, pe.x[n], 0);
      };
    }
    const d = dst(f.Rd), n = f.Rn;
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      pe.x[d] = pe.v16[8 * n];
      pe.x[d + 1] = 0;
    };
  },
  disasm: (f) => (f.op ? `fmov h${f.Rd}, ${regName(f.Rn, f.sf)}` : `fmov ${regName(f.Rd, f.sf)}, h${f.Rn}`),
});

// ---- AdvSIMD scalar -----------------------------------------------------------------------

/**
 * An AdvSIMD scalar FP instruction: `pat` for single/double with `a` (size<1>)
 * and `sz`, `patH` the FEAT_FP16 encoding.
 */
function simdPair(name: string, pat: string, patH: string | null, build: (f: Fields, fmt: number) => Op, disasm: (f: Fields, fmt: number) => string, validSd?: (f: Fields) => boolean): void {
  defs.push({ name, pattern: pat, cls: 'fp', feature: FP, valid: validSd, build: (f) => build(f, sz(f)), disasm: (f) => disasm(f, sz(f)) });
  if (patH !== null) defs.push({ name: `${name}_h`, pattern: patH, cls: 'fp', feature: FP16, build: (f) => build(f, Fmt.H), disasm: (f) => disasm(f, Fmt.H) });
}

// Three same (scalar): U, a (size<1>), opcode; half encoding opcode is the low 3 bits.
const SC3: [string, number, number, number, L2][] = [
  ['FMULX', 0, 0, 0b11011, O.FMULX], ['FCMEQ', 0, 0, 0b11100, O.FCMEQ], ['FRECPS', 0, 0, 0b11111, O.FRECPS],
  ['FRSQRTS', 0, 1, 0b11111, O.FRSQRTS], ['FCMGE', 1, 0, 0b11100, O.FCMGE], ['FACGE', 1, 0, 0b11101, O.FACGE],
  ['FABD', 1, 1, 0b11010, O.FABD], ['FCMGT', 1, 1, 0b11100, O.FCMGT], ['FACGT', 1, 1, 0b11101, O.FACGT],
];
for (const [mn, u, a, opc, f] of SC3) {
  simdPair(`${mn}_asisd`, `01 ${u} 11110 ${a} sz:1 1 Rm:5 ${b5(opc)} 1 Rn:5 Rd:5`, `01 ${u} 11110 ${a} 10 Rm:5 00 ${b5(opc).slice(2)} 1 Rn:5 Rd:5`,
    (x, fmt) => s2(fmt, x.Rd, x.Rn, x.Rm, f),
    (x, fmt) => `${mn.toLowerCase()} ${vreg(fmt, x.Rd)}, ${vreg(fmt, x.Rn)}, ${vreg(fmt, x.Rm)}`);
}

// Two-register misc (scalar).
const SC2: [string, number, number, number, L1][] = [
  ['FCVTNS', 0, 0, 0b11010, O.fcvtLane(Rnd.TIEEVEN, false, 0)], ['FCVTMS', 0, 0, 0b11011, O.fcvtLane(Rnd.NEGINF, false, 0)],
  ['FCVTAS', 0, 0, 0b11100, O.fcvtLane(Rnd.TIEAWAY, false, 0)], ['SCVTF', 0, 0, 0b11101, O.cvtfLane(false, 0)],
  ['FCVTPS', 0, 1, 0b11010, O.fcvtLane(Rnd.POSINF, false, 0)], ['FCVTZS', 0, 1, 0b11011, O.fcvtLane(Rnd.ZERO, false, 0)],
  ['FRECPE', 0, 1, 0b11101, O.FRECPE], ['FRECPX', 0, 1, 0b11111, O.FRECPX],
  ['FCMGT_zero', 0, 1, 0b01100, O.cmpZero(2, false)], ['FCMEQ_zero', 0, 1, 0b01101, O.cmpZero(0, false)],
  ['FCMLT_zero', 0, 1, 0b01110, O.cmpZero(2, true)],
  ['FCVTNU', 1, 0, 0b11010, O.fcvtLane(Rnd.TIEEVEN, true, 0)], ['FCVTMU', 1, 0, 0b11011, O.fcvtLane(Rnd.NEGINF, true, 0)],
  ['FCVTAU', 1, 0, 0b11100, O.fcvtLane(Rnd.TIEAWAY, true, 0)], ['UCVTF', 1, 0, 0b11101, O.cvtfLane(true, 0)],
  ['FCVTPU', 1, 1, 0b11010, O.fcvtLane(Rnd.POSINF, true, 0)], ['FCVTZU', 1, 1, 0b11011, O.fcvtLane(Rnd.ZERO, true, 0)],
  ['FRSQRTE', 1, 1, 0b11101, O.FRSQRTE],
  ['FCMGE_zero', 1, 1, 0b01100, O.cmpZero(1, false)], ['FCMLE_zero', 1, 1, 0b01101, O.cmpZero(1, true)],
];
for (const [mn, u, a, opc, f] of SC2) {
  const base = mn.replace('_zero', '').toLowerCase();
  const zero = mn.endsWith('_zero') ? ', #0.0' : '';
  simdPair(`${mn}_asisd`, `01 ${u} 11110 ${a} sz:1 10000 ${b5(opc)} 10 Rn:5 Rd:5`, `01 ${u} 11110 ${a} 111100 ${b5(opc)} 10 Rn:5 Rd:5`,
    (x, fmt) => s1(fmt, x.Rd, x.Rn, f),
    (x, fmt) => `${base} ${vreg(fmt, x.Rd)}, ${vreg(fmt, x.Rn)}${zero}`);
}

// FCVTXN Sd, Dn: double to single, rounding to odd.
defs.push({
  name: 'FCVTXN_asisd', pattern: '01 1 11110 0 1 10000 10110 10 Rn:5 Rd:5', cls: 'fp', feature: FP,
  build: (f) => {
    const d = f.Rd, n = f.Rn;
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      wscalar(pe, Fmt.S, d, fpConvert(pe, Fmt.D, Fmt.S, pe.v32[4 * n], pe.v32[4 * n + 1], Rnd.ODD), 0);
    };
  },
  disasm: (f) => `fcvtxn s${f.Rd}, d${f.Rn}`,
});

// Pairwise (scalar): the two elements of Vn.
const SCP: [string, number, number, L2][] = [
  ['FMAXNMP', 0, 0b01100, O.FMAXNM], ['FADDP', 0, 0b01101, O.FADD], ['FMAXP', 0, 0b01111, O.FMAX],
  ['FMINNMP', 1, 0b01100, O.FMINNM], ['FMINP', 1, 0b01111, O.FMIN],
];
for (const [mn, a, opc, f] of SCP) {
  simdPair(`${mn}_asisd`, `01 1 11110 ${a} sz:1 11000 ${b5(opc)} 10 Rn:5 Rd:5`, `01 0 11110 ${a} 0 11000 ${b5(opc)} 10 Rn:5 Rd:5`,
    (x, fmt) => {
      const d = x.Rd, n = x.Rn;
      return (pe) => {
        if (!pe.fpEnabled) pe.fpTrap();
        const r = f(pe, fmt, elo(pe, fmt, n, 0), ehi(pe, fmt, n, 0), elo(pe, fmt, n, 1), ehi(pe, fmt, n, 1));
        wscalar(pe, fmt, d, r, rhi);
      };
    },
    (x, fmt) => `${mn.toLowerCase()} ${vreg(fmt, x.Rd)}, v${x.Rn}.2${FPREG[fmt]}`);
}

// By element (scalar): index and Rm per size (half: H:L:M and Rm<3:0>; single: H:L, M:Rm; double: H, M:Rm with L = 0).
export function elemIndex(f: Fields, fmt: number): number {
  return fmt === Fmt.H ? (f.H << 2) | (f.L << 1) | f.M : fmt === Fmt.S ? (f.H << 1) | f.L : f.H;
}
export function elemReg(f: Fields, fmt: number): number {
  return fmt === Fmt.H ? f.Rm : (f.M << 4) | f.Rm;
}
const elemValid = (f: Fields): boolean => f.sz === 0 || f.L === 0;

const SCE: [string, number, number][] = [['FMLA', 0, 0b0001], ['FMLS', 0, 0b0101], ['FMUL', 0, 0b1001], ['FMULX', 1, 0b1001]];
for (const [mn, u, opc] of SCE) {
  simdPair(`${mn}_elem_asisd`, `01 ${u} 11111 1 sz:1 L:1 M:1 Rm:4 ${b4(opc)} H:1 0 Rn:5 Rd:5`, `01 ${u} 11111 00 L:1 M:1 Rm:4 ${b4(opc)} H:1 0 Rn:5 Rd:5`,
    (x, fmt) => {
      const d = x.Rd, n = x.Rn, m = elemReg(x, fmt), i = elemIndex(x, fmt);
      if (mn === 'FMLA' || mn === 'FMLS') {
        const f3 = mn === 'FMLA' ? O.FMLA : O.FMLS;
        return (pe) => {
          if (!pe.fpEnabled) pe.fpTrap();
          const r = f3(pe, fmt, elo(pe, fmt, d, 0), ehi(pe, fmt, d, 0), elo(pe, fmt, n, 0), ehi(pe, fmt, n, 0), elo(pe, fmt, m, i), ehi(pe, fmt, m, i));
          wscalar(pe, fmt, d, r, rhi);
        };
      }
      const f2 = mn === 'FMUL' ? O.FMUL : O.FMULX;
      return (pe) => {
        if (!pe.fpEnabled) pe.fpTrap();
        const r = f2(pe, fmt, elo(pe, fmt, n, 0), ehi(pe, fmt, n, 0), elo(pe, fmt, m, i), ehi(pe, fmt, m, i));
        wscalar(pe, fmt, d, r, rhi);
      };
    },
    (x, fmt) => `${mn.toLowerCase()} ${vreg(fmt, x.Rd)}, ${vreg(fmt, x.Rn)}, v${elemReg(x, fmt)}.${FPREG[fmt]}[${elemIndex(x, fmt)}]`,
    elemValid);
}

// Shift by immediate (scalar): fixed-point conversions. immh selects the size: 1xxx double, 01xx single, 001x half.
export function shiftFmt(immh: number): number {
  return immh >= 8 ? Fmt.D : immh >= 4 ? Fmt.S : Fmt.H;
}
/** fbits = 2 * esize - immh:immb. */
export function shiftFbits(immh: number, immb: number): number {
  const fmt = shiftFmt(immh);
  return (fmt === Fmt.D ? 128 : fmt === Fmt.S ? 64 : 32) - ((immh << 3) | immb);
}
const SCS: [string, number, number, boolean, boolean][] = [
  ['SCVTF', 0, 0b11100, false, true], ['FCVTZS', 0, 0b11111, false, false],
  ['UCVTF', 1, 0b11100, true, true], ['FCVTZU', 1, 0b11111, true, false],
];
for (const [mn, u, opc, uns, toFp] of SCS) {
  const build = (x: Fields): Op => {
    const fmt = shiftFmt(x.immh), fbits = shiftFbits(x.immh, x.immb);
    return s1(fmt, x.Rd, x.Rn, toFp ? O.cvtfLane(uns, fbits) : O.fcvtLane(Rnd.ZERO, uns, fbits));
  };
  const disasm = (x: Fields): string => {
    const fmt = shiftFmt(x.immh);
    return `${mn.toLowerCase()} ${vreg(fmt, x.Rd)}, ${vreg(fmt, x.Rn)}, #${shiftFbits(x.immh, x.immb)}`;
  };
  defs.push({ name: `${mn}_fix_asisd`, pattern: `01 ${u} 111110 immh:4 immb:3 ${b5(opc)} 1 Rn:5 Rd:5`, cls: 'fp', feature: FP, valid: (f) => f.immh >= 4, build, disasm });
  defs.push({ name: `${mn}_fix_asisd_h`, pattern: `01 ${u} 111110 immh:4 immb:3 ${b5(opc)} 1 Rn:5 Rd:5`.replace('immh:4', '001 ih:1'), cls: 'fp', feature: FP16,
    build: (x) => build({ ...x, immh: 2 | x.ih }), disasm: (x) => disasm({ ...x, immh: 2 | x.ih }) });
}

export const fpScalarInsns: InsnDef[] = defs;

