/**
 * Integer Advanced SIMD (everything in the AdvSIMD data-processing space that
 * is not FP arithmetic), vector and scalar forms:
 * - three same (ADD ... UQRSHL, pairwise, logical and bitwise select);
 * - three different (long, wide and narrowing-high-half, multiply long,
 *   saturating doubling, PMULL) with the "2" upper-half variants;
 * - two-register miscellaneous (REV*, pairwise long adds, SUQADD/USQADD,
 *   CLS/CLZ/CNT/NOT/RBIT, (saturating) ABS/NEG, compares with zero, XTN and
 *   the saturating narrows, SHLL, URECPE/URSQRTE);
 * - across lanes (ADDV, SADDLV/UADDLV, SMAXV...);
 * - shift by immediate (right shifts with rounding/accumulate, SHL, SLI/SRI,
 *   saturating left shifts, narrowing shifts, SSHLL/USHLL);
 * - by element (MUL/MLA/MLS/SQDMULH/SQRDMULH, the long multiplies);
 * - modified immediate (MOVI/MVNI/ORR/BIC, FMOV vector immediate);
 * - copy (DUP, INS, UMOV, SMOV; scalar DUP).
 *
 * Lane semantics are in simd_lanes.ts; register plumbing in simd_util.ts.
 * Patterns cover only the integer opcodes of groups shared with FP
 * arithmetic (simd_fp.ts owns the rest). Saturation sets FPSR.QC; Q=0 forms
 * clear bits 127:64 of the destination.
 */
import { Fields, InsnDef, Op } from '../decoder.js';
import type { PE } from '../pe.js';
import { cls32, rbit32 } from './alu.js';
import { regName, src, dst } from './regs.js';
import {
  SameOp, ADD, SUB, SQADD, UQADD, SQSUB, UQSUB, CMGT, CMGE, CMHI, CMHS, CMEQ, CMTST, SSHL, USHL, SRSHL,
  URSHL, SQSHL, UQSHL, SQRSHL, UQRSHL, SHADD, UHADD, SRHADD, URHADD, SHSUB, UHSUB, SMAX, SMIN, UMAX, UMIN, SABD,
  UABD, SABA, UABA, MUL, MLA, MLS, PMUL, SQDMULH, SQRDMULH, abs64, sqabs64, sqneg64, suqadd64, usqadd64, clmul,
  smin, smax, umax,
} from './simd_lanes.js';
import {
  LA, LB, LC, LR, Lanes, view, getV, putV, putUpper, flushQc, sat, st, split, add64, sub64, neg64,
  sar64, shr64, shl64, rshr64, satS64, smul32, umul32, sqadd64, sqsub64, arr, vr, sr, velem, hexImm,
} from './simd_util.js';

const FP = 'fp';
type V = Lanes;

/** Zeroes scratch l. */
function zero(l: V): void {
  l.s32[0] = 0; l.s32[1] = 0; l.s32[2] = 0; l.s32[3] = 0;
}

// =====================================================================================
// Three same
// =====================================================================================

/**
 * An element-wise operation with three operands of one lane size: A from Vn,
 * B from Vm (or a broadcast element, `bIndex` >= 0), C the old Vd. `elems`
 * lanes; `scalar` writes lane 0 only and clears the rest.
 */
function mapOp(op: SameOp, size: number, elems: number, q: boolean, d: number, n: number, m: number, bIndex = -1, scalar = false): Op {
  if (size === 3) {
    const f = op.f64!;
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      getV(pe, n, LA); getV(pe, m, LB); getV(pe, d, LC);
      const a = LA.s32, b = LB.s32, c = LC.s32, r = LR.s32;
      if (scalar) zero(LR);
      for (let i = 0; i < elems; i++) {
        const j = bIndex >= 0 ? bIndex : i;
        r[2 * i] = f(a[2 * i], a[2 * i + 1], b[2 * j], b[2 * j + 1], c[2 * i], c[2 * i + 1]);
        r[2 * i + 1] = st.hi;
      }
      putV(pe, d, LR, q);
      flushQc(pe);
    };
  }
  const f = op.f(8 << size);
  const a = view(LA, size, op.signed), b = view(LB, size, op.signed), c = view(LC, size, op.signed), r = view(LR, size, op.signed);
  if (bIndex >= 0) {
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      getV(pe, n, LA); getV(pe, m, LB); getV(pe, d, LC);
      if (scalar) zero(LR);
      const bv = b[bIndex];
      for (let i = 0; i < elems; i++) r[i] = f(a[i], bv, c[i]);
      putV(pe, d, LR, q);
      flushQc(pe);
    };
  }
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    getV(pe, n, LA); getV(pe, m, LB); getV(pe, d, LC);
    if (scalar) zero(LR);
    for (let i = 0; i < elems; i++) r[i] = f(a[i], b[i], c[i]);
    putV(pe, d, LR, q);
    flushQc(pe);
  };
}

/** Pairwise: the lanes of Vm:Vn (Vn low) combined in adjacent pairs (ADDP, SMAXP...). Scalar ADDP: one pair of Vn. */
function pairOp(op: SameOp, size: number, elems: number, q: boolean, d: number, n: number, m: number): Op {
  const half = elems >> 1;
  if (size === 3) {
    const f = op.f64!;
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      getV(pe, n, LA); getV(pe, m, LB);
      const a = LA.s32, b = LB.s32, r = LR.s32;
      r[0] = f(a[0], a[1], a[2], a[3], 0, 0); r[1] = st.hi;
      r[2] = f(b[0], b[1], b[2], b[3], 0, 0); r[3] = st.hi;
      putV(pe, d, LR, true);
    };
  }
  const f = op.f(8 << size);
  const a = view(LA, size, op.signed), b = view(LB, size, op.signed), r = view(LR, size, op.signed);
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    getV(pe, n, LA); getV(pe, m, LB);
    for (let i = 0; i < half; i++) {
      r[i] = f(a[2 * i], a[2 * i + 1], 0);
      r[half + i] = f(b[2 * i], b[2 * i + 1], 0);
    }
    putV(pe, d, LR, q);
  };
}

/** The bitwise three-same operations on 32-bit words: size selects AND, BIC, ORR, ORN (U=0) or EOR, BSL, BIT, BIF (U=1). */
function logicOp(u: number, size: number, q: boolean, d: number, n: number, m: number): Op {
  const k = (u << 2) | size;
  const D = 4 * d, N = 4 * n, M = 4 * m;
  // A closure per operation with the words unrolled (word i of Vd depends only on word i of the sources).
  switch (k) {
    case 0: return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      const v = pe.v32;
      v[D] = v[N] & v[M]; v[D + 1] = v[N + 1] & v[M + 1];
      if (q) { v[D + 2] = v[N + 2] & v[M + 2]; v[D + 3] = v[N + 3] & v[M + 3]; } else v[D + 2] = v[D + 3] = 0;
    };
    case 1: return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      const v = pe.v32;
      v[D] = v[N] & ~v[M]; v[D + 1] = v[N + 1] & ~v[M + 1];
      if (q) { v[D + 2] = v[N + 2] & ~v[M + 2]; v[D + 3] = v[N + 3] & ~v[M + 3]; } else v[D + 2] = v[D + 3] = 0;
    };
    case 2: return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      const v = pe.v32;
      v[D] = v[N] | v[M]; v[D + 1] = v[N + 1] | v[M + 1];
      if (q) { v[D + 2] = v[N + 2] | v[M + 2]; v[D + 3] = v[N + 3] | v[M + 3]; } else v[D + 2] = v[D + 3] = 0;
    };
    case 3: return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      const v = pe.v32;
      v[D] = v[N] | ~v[M]; v[D + 1] = v[N + 1] | ~v[M + 1];
      if (q) { v[D + 2] = v[N + 2] | ~v[M + 2]; v[D + 3] = v[N + 3] | ~v[M + 3]; } else v[D + 2] = v[D + 3] = 0;
    };
    case 4: return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      const v = pe.v32;
      v[D] = v[N] ^ v[M]; v[D + 1] = v[N + 1] ^ v[M + 1];
      if (q) { v[D + 2] = v[N + 2] ^ v[M + 2]; v[D + 3] = v[N + 3] ^ v[M + 3]; } else v[D + 2] = v[D + 3] = 0;
    };
    case 5: return (pe) => { // BSL: Vd selects Vn (1) or Vm (0)
      if (!pe.fpEnabled) pe.fpTrap();
      const v = pe.v32;
      v[D] = (v[N] & v[D]) | (v[M] & ~v[D]); v[D + 1] = (v[N + 1] & v[D + 1]) | (v[M + 1] & ~v[D + 1]);
      if (q) { v[D + 2] = (v[N + 2] & v[D + 2]) | (v[M + 2] & ~v[D + 2]); v[D + 3] = (v[N + 3] & v[D + 3]) | (v[M + 3] & ~v[D + 3]); } else v[D + 2] = v[D + 3] = 0;
    };
    case 6: return (pe) => { // BIT: insert Vn where Vm is 1
      if (!pe.fpEnabled) pe.fpTrap();
      const v = pe.v32;
      v[D] = (v[N] & v[M]) | (v[D] & ~v[M]); v[D + 1] = (v[N + 1] & v[M + 1]) | (v[D + 1] & ~v[M + 1]);
      if (q) { v[D + 2] = (v[N + 2] & v[M + 2]) | (v[D + 2] & ~v[M + 2]); v[D + 3] = (v[N + 3] & v[M + 3]) | (v[D + 3] & ~v[M + 3]); } else v[D + 2] = v[D + 3] = 0;
    };
    default: return (pe) => { // BIF: insert Vn where Vm is 0
      if (!pe.fpEnabled) pe.fpTrap();
      const v = pe.v32;
      v[D] = (v[D] & v[M]) | (v[N] & ~v[M]); v[D + 1] = (v[D + 1] & v[M + 1]) | (v[N + 1] & ~v[M + 1]);
      if (q) { v[D + 2] = (v[D + 2] & v[M + 2]) | (v[N + 2] & ~v[M + 2]); v[D + 3] = (v[D + 3] & v[M + 3]) | (v[N + 3] & ~v[M + 3]); } else v[D + 2] = v[D + 3] = 0;
    };
  }
}

/**
 * ADD/SUB of 8-, 16- or 32-bit lanes on whole words (SWAR): the lanes' top
 * bits are added separately so that no carry crosses a lane.
 */
function addSubWordsOp(size: number, sub: boolean, q: boolean, d: number, n: number, m: number): Op {
  const words = q ? 4 : 2;
  const H = size === 0 ? 0x80808080 | 0 : size === 1 ? 0x80008000 | 0 : 0;
  const L = ~H;
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    const v = pe.v32, on = 4 * n, om = 4 * m, od = 4 * d;
    for (let i = 0; i < words; i++) {
      const a = v[on + i], b = v[om + i];
      if (H === 0) v[od + i] = sub ? a - b : a + b;
      else if (sub) v[od + i] = ((a | H) - (b & L)) ^ ((a ^ ~b) & H);
      else v[od + i] = ((a & L) + (b & L)) ^ ((a ^ b) & H);
    }
    if (!q) { v[od + 2] = 0; v[od + 3] = 0; }
  };
}

/** ADD/SUB .2D: two 64-bit lanes as word pairs (each lane's sources are read before it is written). */
function addSub2dOp(sub: boolean, d: number, n: number, m: number): Op {
  const D = 4 * d, N = 4 * n, M = 4 * m;
  if (sub) {
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      const v = pe.v32;
      let l = (v[N] >>> 0) - (v[M] >>> 0);
      v[D + 1] = (v[N + 1] - v[M + 1] - (l < 0 ? 1 : 0)) | 0;
      v[D] = l;
      l = (v[N + 2] >>> 0) - (v[M + 2] >>> 0);
      v[D + 3] = (v[N + 3] - v[M + 3] - (l < 0 ? 1 : 0)) | 0;
      v[D + 2] = l;
    };
  }
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    const v = pe.v32;
    let l = (v[N] >>> 0) + (v[M] >>> 0);
    v[D + 1] = (v[N + 1] + v[M + 1] + (l > 0xffffffff ? 1 : 0)) | 0;
    v[D] = l;
    l = (v[N + 2] >>> 0) + (v[M + 2] >>> 0);
    v[D + 3] = (v[N + 3] + v[M + 3] + (l > 0xffffffff ? 1 : 0)) | 0;
    v[D + 2] = l;
  };
}

interface SameDef {
  readonly mn: string;
  readonly u: number;
  readonly opcode: number;
  readonly op: SameOp;
  /** Allowed sizes (bit i: size i) of the vector form; size 3 needs Q=1. */
  readonly sizes: number;
  /** Allowed sizes of the scalar form (0: none). */
  readonly scalar: number;
  readonly pairwise?: boolean;
}

const ALL = 0b1111, NO64 = 0b0111, HS = 0b0110, D = 0b1000;

const SAME: SameDef[] = [
  { mn: 'shadd', u: 0, opcode: 0b00000, op: SHADD, sizes: NO64, scalar: 0 },
  { mn: 'uhadd', u: 1, opcode: 0b00000, op: UHADD, sizes: NO64, scalar: 0 },
  { mn: 'sqadd', u: 0, opcode: 0b00001, op: SQADD, sizes: ALL, scalar: ALL },
  { mn: 'uqadd', u: 1, opcode: 0b00001, op: UQADD, sizes: ALL, scalar: ALL },
  { mn: 'srhadd', u: 0, opcode: 0b00010, op: SRHADD, sizes: NO64, scalar: 0 },
  { mn: 'urhadd', u: 1, opcode: 0b00010, op: URHADD, sizes: NO64, scalar: 0 },
  { mn: 'shsub', u: 0, opcode: 0b00100, op: SHSUB, sizes: NO64, scalar: 0 },
  { mn: 'uhsub', u: 1, opcode: 0b00100, op: UHSUB, sizes: NO64, scalar: 0 },
  { mn: 'sqsub', u: 0, opcode: 0b00101, op: SQSUB, sizes: ALL, scalar: ALL },
  { mn: 'uqsub', u: 1, opcode: 0b00101, op: UQSUB, sizes: ALL, scalar: ALL },
  { mn: 'cmgt', u: 0, opcode: 0b00110, op: CMGT, sizes: ALL, scalar: D },
  { mn: 'cmhi', u: 1, opcode: 0b00110, op: CMHI, sizes: ALL, scalar: D },
  { mn: 'cmge', u: 0, opcode: 0b00111, op: CMGE, sizes: ALL, scalar: D },
  { mn: 'cmhs', u: 1, opcode: 0b00111, op: CMHS, sizes: ALL, scalar: D },
  { mn: 'sshl', u: 0, opcode: 0b01000, op: SSHL, sizes: ALL, scalar: D },
  { mn: 'ushl', u: 1, opcode: 0b01000, op: USHL, sizes: ALL, scalar: D },
  { mn: 'sqshl', u: 0, opcode: 0b01001, op: SQSHL, sizes: ALL, scalar: ALL },
  { mn: 'uqshl', u: 1, opcode: 0b01001, op: UQSHL, sizes: ALL, scalar: ALL },
  { mn: 'srshl', u: 0, opcode: 0b01010, op: SRSHL, sizes: ALL, scalar: D },
  { mn: 'urshl', u: 1, opcode: 0b01010, op: URSHL, sizes: ALL, scalar: D },
  { mn: 'sqrshl', u: 0, opcode: 0b01011, op: SQRSHL, sizes: ALL, scalar: ALL },
  { mn: 'uqrshl', u: 1, opcode: 0b01011, op: UQRSHL, sizes: ALL, scalar: ALL },
  { mn: 'smax', u: 0, opcode: 0b01100, op: SMAX, sizes: NO64, scalar: 0 },
  { mn: 'umax', u: 1, opcode: 0b01100, op: UMAX, sizes: NO64, scalar: 0 },
  { mn: 'smin', u: 0, opcode: 0b01101, op: SMIN, sizes: NO64, scalar: 0 },
  { mn: 'umin', u: 1, opcode: 0b01101, op: UMIN, sizes: NO64, scalar: 0 },
  { mn: 'sabd', u: 0, opcode: 0b01110, op: SABD, sizes: NO64, scalar: 0 },
  { mn: 'uabd', u: 1, opcode: 0b01110, op: UABD, sizes: NO64, scalar: 0 },
  { mn: 'saba', u: 0, opcode: 0b01111, op: SABA, sizes: NO64, scalar: 0 },
  { mn: 'uaba', u: 1, opcode: 0b01111, op: UABA, sizes: NO64, scalar: 0 },
  { mn: 'add', u: 0, opcode: 0b10000, op: ADD, sizes: ALL, scalar: D },
  { mn: 'sub', u: 1, opcode: 0b10000, op: SUB, sizes: ALL, scalar: D },
  { mn: 'cmtst', u: 0, opcode: 0b10001, op: CMTST, sizes: ALL, scalar: D },
  { mn: 'cmeq', u: 1, opcode: 0b10001, op: CMEQ, sizes: ALL, scalar: D },
  { mn: 'mla', u: 0, opcode: 0b10010, op: MLA, sizes: NO64, scalar: 0 },
  { mn: 'mls', u: 1, opcode: 0b10010, op: MLS, sizes: NO64, scalar: 0 },
  { mn: 'mul', u: 0, opcode: 0b10011, op: MUL, sizes: NO64, scalar: 0 },
  { mn: 'pmul', u: 1, opcode: 0b10011, op: PMUL, sizes: 0b0001, scalar: 0 },
  { mn: 'smaxp', u: 0, opcode: 0b10100, op: SMAX, sizes: NO64, scalar: 0, pairwise: true },
  { mn: 'umaxp', u: 1, opcode: 0b10100, op: UMAX, sizes: NO64, scalar: 0, pairwise: true },
  { mn: 'sminp', u: 0, opcode: 0b10101, op: SMIN, sizes: NO64, scalar: 0, pairwise: true },
  { mn: 'uminp', u: 1, opcode: 0b10101, op: UMIN, sizes: NO64, scalar: 0, pairwise: true },
  { mn: 'sqdmulh', u: 0, opcode: 0b10110, op: SQDMULH, sizes: HS, scalar: HS },
  { mn: 'sqrdmulh', u: 1, opcode: 0b10110, op: SQRDMULH, sizes: HS, scalar: HS },
  { mn: 'addp', u: 0, opcode: 0b10111, op: ADD, sizes: ALL, scalar: 0, pairwise: true },
];

const bits = (v: number, w: number): string => v.toString(2).padStart(w, '0');
const vecSizeOk = (sizes: number, size: number, q: number): boolean => ((sizes >> size) & 1) === 1 && (size !== 3 || q === 1);

function sameDefs(): InsnDef[] {
  const defs: InsnDef[] = [];
  for (const s of SAME) {
    const name = s.mn.toUpperCase();
    defs.push({
      name: `${name}_vec`, pattern: `0 Q:1 ${s.u} 01110 size:2 1 Rm:5 ${bits(s.opcode, 5)} 1 Rn:5 Rd:5`, cls: 'simd', feature: FP,
      valid: (f) => vecSizeOk(s.sizes, f.size, f.Q),
      build: (f) => {
        const elems = (f.Q ? 16 : 8) >> f.size;
        if ((s.op === ADD || s.op === SUB) && !s.pairwise && f.size < 3) return addSubWordsOp(f.size, s.op === SUB, f.Q === 1, f.Rd, f.Rn, f.Rm);
        if ((s.op === ADD || s.op === SUB) && !s.pairwise && f.size === 3 && f.Q === 1) return addSub2dOp(s.op === SUB, f.Rd, f.Rn, f.Rm);
        return s.pairwise ? pairOp(s.op, f.size, elems, f.Q === 1, f.Rd, f.Rn, f.Rm) : mapOp(s.op, f.size, elems, f.Q === 1, f.Rd, f.Rn, f.Rm);
      },
      disasm: (f) => `${s.mn} ${vr(f.Rd, f.size, f.Q)}, ${vr(f.Rn, f.size, f.Q)}, ${vr(f.Rm, f.size, f.Q)}`,
    });
    if (s.scalar !== 0) {
      defs.push({
        name: `${name}_sc`, pattern: `01 ${s.u} 11110 size:2 1 Rm:5 ${bits(s.opcode, 5)} 1 Rn:5 Rd:5`, cls: 'simd', feature: FP,
        valid: (f) => ((s.scalar >> f.size) & 1) === 1,
        build: (f) => mapOp(s.op, f.size, 1, false, f.Rd, f.Rn, f.Rm, -1, true),
        disasm: (f) => `${s.mn} ${sr(f.Rd, f.size)}, ${sr(f.Rn, f.size)}, ${sr(f.Rm, f.size)}`,
      });
    }
  }
  const LOGIC = [['and', 'bic', 'orr', 'orn'], ['eor', 'bsl', 'bit', 'bif']];
  for (const u of [0, 1]) {
    defs.push({
      name: u ? 'EOR_BSL_vec' : 'AND_ORR_vec', pattern: `0 Q:1 ${u} 01110 size:2 1 Rm:5 00011 1 Rn:5 Rd:5`, cls: 'simd', feature: FP,
      build: (f) => logicOp(u, f.size, f.Q === 1, f.Rd, f.Rn, f.Rm),
      disasm: (f) => {
        const t = f.Q ? '16b' : '8b';
        if (u === 0 && f.size === 2 && f.Rn === f.Rm) return `mov v${f.Rd}.${t}, v${f.Rn}.${t}`;
        return `${LOGIC[u][f.size]} v${f.Rd}.${t}, v${f.Rn}.${t}, v${f.Rm}.${t}`;
      },
    });
  }
  return defs;
}

// =====================================================================================
// Three different
// =====================================================================================

/** A widening lane function: (a, b, c) on e-bit sources with a 2e-bit accumulator c, for e <= 16. */
type W32 = (a: number, b: number, c: number) => number;
/** For e = 32: returns bits 31:0 of the 64-bit result (bits 63:32 in st.hi); c is the accumulator's halves. */
type W64 = (a: number, b: number, cl: number, ch: number) => number;

interface LongOp {
  readonly signed: boolean;
  readonly f: (e: number) => W32;
  readonly f64: W64;
}

/** SQDMULL of 32-bit lanes: 2 * a * b with the single overflow case a = b = -2^31. */
function sqdmull64(a: number, b: number): number {
  if (a === -0x80000000 && b === -0x80000000) return satS64(0);
  const lo = smul32(a, b);
  return shl64(lo, st.hi, 1);
}

const mulL = (signed: boolean) => (signed ? smul32 : umul32);

function longOps(signed: boolean): Record<string, LongOp> {
  const mul = mulL(signed);
  return {
    addl: { signed, f: () => (a, b) => a + b, f64: (a, b) => split(a + b) },
    subl: { signed, f: () => (a, b) => a - b, f64: (a, b) => split(a - b) },
    abal: { signed, f: () => (a, b, c) => c + Math.abs(a - b), f64: (a, b, cl, ch) => { const l = split(Math.abs(a - b)); return add64(cl, ch, l, st.hi); } },
    abdl: { signed, f: () => (a, b) => Math.abs(a - b), f64: (a, b) => split(Math.abs(a - b)) },
    mlal: { signed, f: () => (a, b, c) => c + a * b, f64: (a, b, cl, ch) => { const l = mul(a, b); return add64(cl, ch, l, st.hi); } },
    mlsl: { signed, f: () => (a, b, c) => c - a * b, f64: (a, b, cl, ch) => { const l = mul(a, b); return sub64(cl, ch, l, st.hi); } },
    mull: { signed, f: () => (a, b) => a * b, f64: (a, b) => mul(a, b) },
  };
}
const SL = longOps(true), UL = longOps(false);
const SQDMLAL: LongOp = {
  signed: true,
  f: () => (a, b, c) => sat(c + sat(2 * a * b, -0x80000000, 0x7fffffff), -0x80000000, 0x7fffffff),
  f64: (a, b, cl, ch) => { const l = sqdmull64(a, b); return sqadd64(cl, ch, l, st.hi); },
};
const SQDMLSL: LongOp = {
  signed: true,
  f: () => (a, b, c) => sat(c - sat(2 * a * b, -0x80000000, 0x7fffffff), -0x80000000, 0x7fffffff),
  f64: (a, b, cl, ch) => { const l = sqdmull64(a, b); return sqsub64(cl, ch, l, st.hi); },
};
const SQDMULL: LongOp = {
  signed: true,
  f: () => (a, b) => sat(2 * a * b, -0x80000000, 0x7fffffff),
  f64: (a, b) => sqdmull64(a, b),
};
const PMULL8: LongOp = { signed: false, f: () => (a, b) => clmul(a, b, 8), f64: () => 0 };

/**
 * A long operation: e-bit lanes of the low (part 0) or high (part 1) half of
 * Vn and Vm (or a broadcast element of Vm, bIndex >= 0), 2e-bit results in
 * Vd. `elems` result lanes (1 for the scalar forms, which clear the rest).
 */
function longOp(op: LongOp, size: number, part: number, d: number, n: number, m: number, bIndex = -1, scalar = false): Op {
  const elems = scalar ? 1 : 8 >> size;
  const off = part ? elems : 0;
  const a = view(LA, size, op.signed), b = view(LB, size, op.signed);
  if (size === 2) {
    const f = op.f64;
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      getV(pe, n, LA); getV(pe, m, LB); getV(pe, d, LC);
      const c = LC.s32, r = LR.s32;
      if (scalar) zero(LR);
      for (let i = 0; i < elems; i++) {
        r[2 * i] = f(a[off + i], b[bIndex >= 0 ? bIndex : off + i], c[2 * i], c[2 * i + 1]);
        r[2 * i + 1] = st.hi;
      }
      putV(pe, d, LR, true);
      flushQc(pe);
    };
  }
  const f = op.f(8 << size);
  const c = view(LC, size + 1, op.signed), r = view(LR, size + 1, op.signed);
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    getV(pe, n, LA); getV(pe, m, LB); getV(pe, d, LC);
    if (scalar) zero(LR);
    for (let i = 0; i < elems; i++) r[i] = f(a[off + i], b[bIndex >= 0 ? bIndex : off + i], c[i]);
    putV(pe, d, LR, !scalar);
    flushQc(pe);
  };
}

/**
 * PMULL/PMULL2 of 64-bit lanes (FEAT_PMULL): the 128-bit carry-less product of one doubleword of Vn and Vm.
 * Four bits of Vn's doubleword at a time (Horner's scheme, from the top nibble): a table of the products of
 * Vm's doubleword with every 4-bit polynomial, kept per instruction and rebuilt only when that doubleword
 * changes (folding loops such as CRC and GHASH multiply by a constant).
 */
function pmull64Op(part: number, d: number, n: number, m: number): Op {
  const o = part ? 2 : 0;
  const T = new Int32Array(48); // T[3k..3k+2]: bits 95:0 of b * k (carry-less), k = 0..15
  let T8: Int32Array | null = null; // the same for k = 0..255, built once the doubleword has stayed the same a while
  let tbl = 0, tbh = 0, have = false, same = 0;
  const build = (bl: number, bh: number): void => {
    T[3] = bl; T[4] = bh; T[5] = 0;
    for (let k = 2; k < 16; k++) {
      const h = 3 * (k >> 1), t = 3 * k;
      // T[k] = T[k >> 1] << 1, plus b when k is odd
      let w0 = T[h] << 1, w1 = (T[h + 1] << 1) | (T[h] >>> 31), w2 = (T[h + 2] << 1) | (T[h + 1] >>> 31);
      if (k & 1) { w0 ^= bl; w1 ^= bh; }
      T[t] = w0; T[t + 1] = w1; T[t + 2] = w2;
    }
    tbl = bl; tbh = bh; have = true; same = 0;
  };
  const build8 = (): Int32Array => {
    const U = T8 ?? new Int32Array(768);
    // b * k = (b * (k >> 4)) << 4 ^ b * (k & 15)
    for (let k = 0; k < 256; k++) {
      const h = 3 * (k >> 4), l = 3 * (k & 15), t = 3 * k;
      U[t] = (T[h] << 4) ^ T[l];
      U[t + 1] = ((T[h + 1] << 4) | (T[h] >>> 28)) ^ T[l + 1];
      U[t + 2] = ((T[h + 2] << 4) | (T[h + 1] >>> 28)) ^ T[l + 2];
    }
    return (T8 = U);
  };
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    const v = pe.v32;
    const al = v[4 * n + o], ah = v[4 * n + o + 1], bl = v[4 * m + o], bh = v[4 * m + o + 1];
    if (!have || bl !== tbl || bh !== tbh) build(bl, bh);
    // al * b and ah * b, 96 bits each
    let l0 = 0, l1 = 0, l2 = 0, h0 = 0, h1 = 0, h2 = 0;
    if (same < 16) {
      if (++same === 16) build8();
      for (let s = 28; s >= 0; s -= 4) {
        l2 = (l2 << 4) | (l1 >>> 28); l1 = (l1 << 4) | (l0 >>> 28); l0 <<= 4;
        h2 = (h2 << 4) | (h1 >>> 28); h1 = (h1 << 4) | (h0 >>> 28); h0 <<= 4;
        const kl = 3 * ((al >>> s) & 15), kh = 3 * ((ah >>> s) & 15);
        l0 ^= T[kl]; l1 ^= T[kl + 1]; l2 ^= T[kl + 2];
        h0 ^= T[kh]; h1 ^= T[kh + 1]; h2 ^= T[kh + 2];
      }
    } else {
      // A byte at a time (Vm's doubleword is the same as for the last 16 executions: a folding constant).
      // (Unrolled: constant shifts, and the first step needs no shift.)
      const U = T8 as Int32Array;
      let kl = 3 * (al >>> 24), kh = 3 * (ah >>> 24);
      l0 = U[kl]; l1 = U[kl + 1]; l2 = U[kl + 2];
      h0 = U[kh]; h1 = U[kh + 1]; h2 = U[kh + 2];
      kl = 3 * ((al >>> 16) & 255); kh = 3 * ((ah >>> 16) & 255);
      l2 = ((l2 << 8) | (l1 >>> 24)) ^ U[kl + 2]; l1 = ((l1 << 8) | (l0 >>> 24)) ^ U[kl + 1]; l0 = (l0 << 8) ^ U[kl];
      h2 = ((h2 << 8) | (h1 >>> 24)) ^ U[kh + 2]; h1 = ((h1 << 8) | (h0 >>> 24)) ^ U[kh + 1]; h0 = (h0 << 8) ^ U[kh];
      kl = 3 * ((al >>> 8) & 255); kh = 3 * ((ah >>> 8) & 255);
      l2 = ((l2 << 8) | (l1 >>> 24)) ^ U[kl + 2]; l1 = ((l1 << 8) | (l0 >>> 24)) ^ U[kl + 1]; l0 = (l0 << 8) ^ U[kl];
      h2 = ((h2 << 8) | (h1 >>> 24)) ^ U[kh + 2]; h1 = ((h1 << 8) | (h0 >>> 24)) ^ U[kh + 1]; h0 = (h0 << 8) ^ U[kh];
      kl = 3 * (al & 255); kh = 3 * (ah & 255);
      l2 = ((l2 << 8) | (l1 >>> 24)) ^ U[kl + 2]; l1 = ((l1 << 8) | (l0 >>> 24)) ^ U[kl + 1]; l0 = (l0 << 8) ^ U[kl];
      h2 = ((h2 << 8) | (h1 >>> 24)) ^ U[kh + 2]; h1 = ((h1 << 8) | (h0 >>> 24)) ^ U[kh + 1]; h0 = (h0 << 8) ^ U[kh];
    }
    v[4 * d] = l0; v[4 * d + 1] = l1 ^ h0; v[4 * d + 2] = l2 ^ h1; v[4 * d + 3] = h2;
  };
}

/** SADDW/UADDW/SSUBW/USUBW: 2e-bit lanes of Vn plus or minus the e-bit lanes of one half of Vm. */
function wideOp(signed: boolean, sub: boolean, size: number, part: number, d: number, n: number, m: number): Op {
  const elems = 8 >> size, off = part ? elems : 0;
  const b = view(LB, size, signed);
  if (size === 2) {
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      getV(pe, n, LA); getV(pe, m, LB);
      const a = LA.s32, r = LR.s32;
      for (let i = 0; i < 2; i++) {
        const bv = b[off + i], bh = signed ? bv >> 31 : 0;
        r[2 * i] = sub ? sub64(a[2 * i], a[2 * i + 1], bv, bh) : add64(a[2 * i], a[2 * i + 1], bv, bh);
        r[2 * i + 1] = st.hi;
      }
      putV(pe, d, LR, true);
    };
  }
  const a = view(LA, size + 1, signed), r = view(LR, size + 1, signed);
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    getV(pe, n, LA); getV(pe, m, LB);
    for (let i = 0; i < elems; i++) r[i] = sub ? a[i] - b[off + i] : a[i] + b[off + i];
    putV(pe, d, LR, true);
  };
}

/** ADDHN/SUBHN/RADDHN/RSUBHN: the high halves of 2e-bit sums or differences, into the low (part 0) or high half of Vd. */
function narrowHighOp(sub: boolean, round: boolean, size: number, part: number, d: number, n: number, m: number): Op {
  const elems = 8 >> size;
  const e = 8 << size;
  const r = view(LR, size, false);
  const rc = round ? 2 ** (e - 1) : 0;
  const store = (pe: PE): void => {
    if (part) putUpper(pe, d, LR);
    else putV(pe, d, LR, false);
  };
  if (size === 2) {
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      getV(pe, n, LA); getV(pe, m, LB);
      const a = LA.s32, b = LB.s32;
      for (let i = 0; i < 2; i++) {
        let lo = sub ? sub64(a[2 * i], a[2 * i + 1], b[2 * i], b[2 * i + 1]) : add64(a[2 * i], a[2 * i + 1], b[2 * i], b[2 * i + 1]);
        let hi = st.hi;
        if (round) { lo = add64(lo, hi, 0x80000000 | 0, 0); hi = st.hi; }
        r[i] = hi;
      }
      store(pe);
    };
  }
  const a = view(LA, size + 1, false), b = view(LB, size + 1, false);
  const div = 2 ** e;
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    getV(pe, n, LA); getV(pe, m, LB);
    for (let i = 0; i < elems; i++) r[i] = Math.floor(((sub ? a[i] - b[i] : a[i] + b[i]) + rc) / div);
    store(pe);
  };
}

function diffDefs(): InsnDef[] {
  const defs: InsnDef[] = [];
  const T = (size: number, q: number): string => arr(size, q);
  const long = (mn: string, u: number, opcode: number, op: LongOp, sizes: number): void => {
    defs.push({
      name: `${mn.toUpperCase()}_vec`, pattern: `0 Q:1 ${u} 01110 size:2 1 Rm:5 ${bits(opcode, 4)} 00 Rn:5 Rd:5`, cls: 'simd', feature: FP,
      valid: (f) => ((sizes >> f.size) & 1) === 1,
      build: (f) => longOp(op, f.size, f.Q, f.Rd, f.Rn, f.Rm),
      disasm: (f) => `${mn}${f.Q ? '2' : ''} v${f.Rd}.${T(f.size + 1, 1)}, ${vr(f.Rn, f.size, f.Q)}, ${vr(f.Rm, f.size, f.Q)}`,
    });
  };
  long('saddl', 0, 0b0000, SL.addl, NO64); long('uaddl', 1, 0b0000, UL.addl, NO64);
  long('ssubl', 0, 0b0010, SL.subl, NO64); long('usubl', 1, 0b0010, UL.subl, NO64);
  long('sabal', 0, 0b0101, SL.abal, NO64); long('uabal', 1, 0b0101, UL.abal, NO64);
  long('sabdl', 0, 0b0111, SL.abdl, NO64); long('uabdl', 1, 0b0111, UL.abdl, NO64);
  long('smlal', 0, 0b1000, SL.mlal, NO64); long('umlal', 1, 0b1000, UL.mlal, NO64);
  long('smlsl', 0, 0b1010, SL.mlsl, NO64); long('umlsl', 1, 0b1010, UL.mlsl, NO64);
  long('smull', 0, 0b1100, SL.mull, NO64); long('umull', 1, 0b1100, UL.mull, NO64);
  long('sqdmlal', 0, 0b1001, SQDMLAL, HS); long('sqdmlsl', 0, 0b1011, SQDMLSL, HS); long('sqdmull', 0, 0b1101, SQDMULL, HS);
  defs.push({
    name: 'PMULL_vec', pattern: '0 Q:1 0 01110 00 1 Rm:5 1110 00 Rn:5 Rd:5', cls: 'simd', feature: FP,
    build: (f) => longOp(PMULL8, 0, f.Q, f.Rd, f.Rn, f.Rm),
    disasm: (f) => `pmull${f.Q ? '2' : ''} v${f.Rd}.8h, ${vr(f.Rn, 0, f.Q)}, ${vr(f.Rm, 0, f.Q)}`,
  });
  defs.push({
    name: 'PMULL_vec_64', pattern: '0 Q:1 0 01110 11 1 Rm:5 1110 00 Rn:5 Rd:5', cls: 'simd', feature: 'pmull',
    build: (f) => pmull64Op(f.Q, f.Rd, f.Rn, f.Rm),
    disasm: (f) => `pmull${f.Q ? '2' : ''} v${f.Rd}.1q, ${vr(f.Rn, 3, f.Q)}, ${vr(f.Rm, 3, f.Q)}`,
  });
  const wide = (mn: string, u: number, opcode: number, sub: boolean): void => {
    defs.push({
      name: `${mn.toUpperCase()}_vec`, pattern: `0 Q:1 ${u} 01110 size:2 1 Rm:5 ${bits(opcode, 4)} 00 Rn:5 Rd:5`, cls: 'simd', feature: FP,
      valid: (f) => f.size !== 3,
      build: (f) => wideOp(u === 0, sub, f.size, f.Q, f.Rd, f.Rn, f.Rm),
      disasm: (f) => `${mn}${f.Q ? '2' : ''} v${f.Rd}.${T(f.size + 1, 1)}, v${f.Rn}.${T(f.size + 1, 1)}, ${vr(f.Rm, f.size, f.Q)}`,
    });
  };
  wide('saddw', 0, 0b0001, false); wide('uaddw', 1, 0b0001, false); wide('ssubw', 0, 0b0011, true); wide('usubw', 1, 0b0011, true);
  const narrow = (mn: string, u: number, opcode: number, sub: boolean): void => {
    defs.push({
      name: `${mn.toUpperCase()}_vec`, pattern: `0 Q:1 ${u} 01110 size:2 1 Rm:5 ${bits(opcode, 4)} 00 Rn:5 Rd:5`, cls: 'simd', feature: FP,
      valid: (f) => f.size !== 3,
      build: (f) => narrowHighOp(sub, u === 1, f.size, f.Q, f.Rd, f.Rn, f.Rm),
      disasm: (f) => `${mn}${f.Q ? '2' : ''} ${vr(f.Rd, f.size, f.Q)}, v${f.Rn}.${T(f.size + 1, 1)}, v${f.Rm}.${T(f.size + 1, 1)}`,
    });
  };
  narrow('addhn', 0, 0b0100, false); narrow('raddhn', 1, 0b0100, false); narrow('subhn', 0, 0b0110, true); narrow('rsubhn', 1, 0b0110, true);
  // Scalar: SQDMLAL, SQDMLSL, SQDMULL (Sd from Hn, Dd from Sn).
  const scal = (mn: string, opcode: number, op: LongOp): void => {
    defs.push({
      name: `${mn.toUpperCase()}_sc`, pattern: `01 0 11110 size:2 1 Rm:5 ${bits(opcode, 4)} 00 Rn:5 Rd:5`, cls: 'simd', feature: FP,
      valid: (f) => f.size === 1 || f.size === 2,
      build: (f) => longOp(op, f.size, 0, f.Rd, f.Rn, f.Rm, -1, true),
      disasm: (f) => `${mn} ${sr(f.Rd, f.size + 1)}, ${sr(f.Rn, f.size)}, ${sr(f.Rm, f.size)}`,
    });
  };
  scal('sqdmlal', 0b1001, SQDMLAL); scal('sqdmlsl', 0b1011, SQDMLSL); scal('sqdmull', 0b1101, SQDMULL);
  return defs;
}

// =====================================================================================
// Two-register miscellaneous
// =====================================================================================

type U32 = (a: number, c: number) => number;
type U64 = (al: number, ah: number, cl: number, ch: number) => number;

/** An element-wise unary operation (with the old destination lane c, for the accumulating forms). */
function unaryOp(size: number, elems: number, q: boolean, d: number, n: number, signedA: boolean, signedC: boolean, f: U32 | null, f64: U64 | null, scalar = false): Op {
  if (size === 3) {
    const g = f64!;
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      getV(pe, n, LA); getV(pe, d, LC);
      const a = LA.s32, c = LC.s32, r = LR.s32;
      if (scalar) zero(LR);
      for (let i = 0; i < elems; i++) {
        r[2 * i] = g(a[2 * i], a[2 * i + 1], c[2 * i], c[2 * i + 1]);
        r[2 * i + 1] = st.hi;
      }
      putV(pe, d, LR, q);
      flushQc(pe);
    };
  }
  const g = f!;
  const a = view(LA, size, signedA), c = view(LC, size, signedC), r = view(LR, size, signedA);
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    getV(pe, n, LA); getV(pe, d, LC);
    if (scalar) zero(LR);
    for (let i = 0; i < elems; i++) r[i] = g(a[i], c[i]);
    putV(pe, d, LR, q);
    flushQc(pe);
  };
}

/** REV16/REV32/REV64: reverse the e-bit elements inside each container of `cbytes` bytes. */
function revOp(size: number, cbytes: number, q: boolean, d: number, n: number): Op {
  const eb = 1 << size;
  const map: number[] = [];
  for (let i = 0; i < 16; i++) {
    const base = i - (i % cbytes), off = i % cbytes;
    const e = Math.floor(off / eb), within = off % eb;
    map.push(base + (cbytes / eb - 1 - e) * eb + within);
  }
  const bytes = q ? 16 : 8;
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    getV(pe, n, LA);
    const a = LA.u8, r = LR.u8;
    for (let i = 0; i < bytes; i++) r[i] = a[map[i]];
    putV(pe, d, LR, q);
  };
}

/** SADDLP/UADDLP/SADALP/UADALP: sums of adjacent e-bit lanes into 2e-bit lanes, accumulated when `acc`. */
function addlpOp(signed: boolean, acc: boolean, size: number, q: boolean, d: number, n: number): Op {
  const elems = (q ? 16 : 8) >> (size + 1);
  const a = view(LA, size, signed);
  if (size === 2) {
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      getV(pe, n, LA); getV(pe, d, LC);
      const c = LC.s32, r = LR.s32;
      for (let i = 0; i < elems; i++) {
        let lo = split(a[2 * i] + a[2 * i + 1]), hi = st.hi;
        if (acc) { lo = add64(lo, hi, c[2 * i], c[2 * i + 1]); hi = st.hi; }
        r[2 * i] = lo; r[2 * i + 1] = hi;
      }
      putV(pe, d, LR, q);
    };
  }
  const c = view(LC, size + 1, signed), r = view(LR, size + 1, signed);
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    getV(pe, n, LA); getV(pe, d, LC);
    for (let i = 0; i < elems; i++) r[i] = a[2 * i] + a[2 * i + 1] + (acc ? c[i] : 0);
    putV(pe, d, LR, q);
  };
}

/** XTN, SQXTN, UQXTN, SQXTUN: 2e-bit lanes of Vn narrowed into the low (part 0) or high half of Vd. kind: 0 XTN, 1 SQXTN, 2 UQXTN, 3 SQXTUN. */
function xtnOp(kind: number, size: number, part: number, d: number, n: number, scalar = false): Op {
  const elems = scalar ? 1 : 8 >> size;
  const e = 8 << size;
  const srcSigned = kind === 1 || kind === 3;
  const lo = kind === 1 ? smin(e) : 0, hi = kind === 1 ? smax(e) : umax(e);
  const r = view(LR, size, false);
  const store = (pe: PE): void => {
    if (part) putUpper(pe, d, LR);
    else putV(pe, d, LR, false);
    flushQc(pe);
  };
  if (size === 2) {
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      getV(pe, n, LA);
      if (scalar) zero(LR);
      const a = LA.s32;
      for (let i = 0; i < elems; i++) {
        const al = a[2 * i], ah = a[2 * i + 1];
        if (kind === 0) r[i] = al;
        else if (kind === 1) r[i] = ah === al >> 31 ? al : (st.qc = 1, ah < 0 ? 0x80000000 : 0x7fffffff);
        else if (kind === 2) r[i] = ah === 0 ? al : (st.qc = 1, 0xffffffff);
        else r[i] = ah === 0 ? al : (st.qc = 1, ah < 0 ? 0 : 0xffffffff);
      }
      store(pe);
    };
  }
  const a = view(LA, size + 1, srcSigned);
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    getV(pe, n, LA);
    if (scalar) zero(LR);
    for (let i = 0; i < elems; i++) r[i] = kind === 0 ? a[i] : sat(a[i], lo, hi);
    store(pe);
  };
}

/** SHLL/SHLL2: e-bit lanes of one half of Vn widened and shifted left by e. */
function shllOp(size: number, part: number, d: number, n: number): Op {
  const elems = 8 >> size, off = part ? elems : 0;
  const a = view(LA, size, false);
  if (size === 2) {
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      getV(pe, n, LA);
      const r = LR.s32;
      for (let i = 0; i < 2; i++) { r[2 * i] = 0; r[2 * i + 1] = a[off + i]; }
      putV(pe, d, LR, true);
    };
  }
  const r = view(LR, size + 1, false), mul = 2 ** (8 << size);
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    getV(pe, n, LA);
    for (let i = 0; i < elems; i++) r[i] = a[off + i] * mul;
    putV(pe, d, LR, true);
  };
}

/** UnsignedRecipEstimate's table step: a in [256, 512) to r in [256, 512). */
function recipEstimate(a: number): number {
  a = a * 2 + 1;
  const b = Math.floor(2 ** 19 / a);
  return Math.floor((b + 1) / 2);
}

/** UnsignedRSqrtEstimate's table step: a in [128, 512). */
function rsqrtEstimate(a: number): number {
  if (a < 256) a = a * 2 + 1;
  else {
    a = (a >> 1) << 1;
    a = (a + 1) * 2;
  }
  let b = 512;
  while (a * (b + 1) * (b + 1) < 2 ** 28) b++;
  return Math.floor((b + 1) / 2);
}

const URECPE: U32 = (a) => (a >>> 31 === 0 ? 0xffffffff : recipEstimate(a >>> 23) << 23);
const URSQRTE: U32 = (a) => (a >>> 30 === 0 ? 0xffffffff : rsqrtEstimate(a >>> 23) << 23);

const popcnt8 = (v: number): number => {
  v = v - ((v >> 1) & 0x55);
  v = (v & 0x33) + ((v >> 2) & 0x33);
  return (v + (v >> 4)) & 0x0f;
};

/** Compare-with-zero lane functions: 0 GT, 1 GE, 2 EQ, 3 LE, 4 LT. */
function cmzero(k: number): [U32, U64] {
  const f: U32 = (a) => {
    switch (k) {
      case 0: return a > 0 ? -1 : 0;
      case 1: return a >= 0 ? -1 : 0;
      case 2: return a === 0 ? -1 : 0;
      case 3: return a <= 0 ? -1 : 0;
      default: return a < 0 ? -1 : 0;
    }
  };
  const g: U64 = (l, h) => {
    let c: boolean;
    switch (k) {
      case 0: c = h > 0 || (h === 0 && l !== 0); break;
      case 1: c = h >= 0; break;
      case 2: c = (l | h) === 0; break;
      case 3: c = h < 0 || (l | h) === 0; break;
      default: c = h < 0;
    }
    const v = c ? -1 : 0;
    st.hi = v;
    return v;
  };
  return [f, g];
}

function miscDefs(): InsnDef[] {
  const defs: InsnDef[] = [];
  const vec = (name: string, u: number, opcode: number, valid: (f: Fields) => boolean, build: (f: Fields) => Op, disasm: (f: Fields) => string): void => {
    defs.push({ name, pattern: `0 Q:1 ${u} 01110 size:2 10000 ${bits(opcode, 5)} 10 Rn:5 Rd:5`, cls: 'simd', feature: FP, valid, build, disasm });
  };
  const scal = (name: string, u: number, opcode: number, valid: (f: Fields) => boolean, build: (f: Fields) => Op, disasm: (f: Fields) => string): void => {
    defs.push({ name, pattern: `01 ${u} 11110 size:2 10000 ${bits(opcode, 5)} 10 Rn:5 Rd:5`, cls: 'simd', feature: FP, valid, build, disasm });
  };
  const same2 = (mn: string) => (f: Fields): string => `${mn} ${vr(f.Rd, f.size, f.Q)}, ${vr(f.Rn, f.size, f.Q)}`;
  const elems = (f: Fields): number => (f.Q ? 16 : 8) >> f.size;
  const sizeQ = (f: Fields): boolean => f.size !== 3 || f.Q === 1;

  vec('REV64_vec', 0, 0b00000, (f) => f.size !== 3, (f) => revOp(f.size, 8, f.Q === 1, f.Rd, f.Rn), same2('rev64'));
  vec('REV32_vec', 1, 0b00000, (f) => f.size < 2, (f) => revOp(f.size, 4, f.Q === 1, f.Rd, f.Rn), same2('rev32'));
  vec('REV16_vec', 0, 0b00001, (f) => f.size === 0, (f) => revOp(0, 2, f.Q === 1, f.Rd, f.Rn), same2('rev16'));
  for (const [u, acc, mn] of [[0, false, 'saddlp'], [1, false, 'uaddlp'], [0, true, 'sadalp'], [1, true, 'uadalp']] as const) {
    vec(`${mn.toUpperCase()}_vec`, u, acc ? 0b00110 : 0b00010, (f) => f.size !== 3, (f) => addlpOp(u === 0, acc, f.size, f.Q === 1, f.Rd, f.Rn),
      (f) => `${mn} ${vr(f.Rd, f.size + 1, f.Q)}, ${vr(f.Rn, f.size, f.Q)}`);
  }
  // SUQADD: SignedSat(SInt(Vd) + UInt(Vn)); USQADD: UnsignedSat(UInt(Vd) + SInt(Vn)).
  const suq = (size: number, signedD: boolean): U32 => {
    const e = 8 << size;
    const lo = smin(e), hi = smax(e), uhi = umax(e);
    return signedD ? (a, c) => sat(c + a, lo, hi) : (a, c) => sat(c + a, 0, uhi);
  };
  for (const [u, mn] of [[0, 'suqadd'], [1, 'usqadd']] as const) {
    const f64 = u === 0 ? suqadd64 : usqadd64;
    vec(`${mn.toUpperCase()}_vec`, u, 0b00011, sizeQ, (f) => unaryOp(f.size, elems(f), f.Q === 1, f.Rd, f.Rn, u === 1, u === 0, f.size < 3 ? suq(f.size, u === 0) : null, f64), same2(mn));
    scal(`${mn.toUpperCase()}_sc`, u, 0b00011, () => true, (f) => unaryOp(f.size, 1, false, f.Rd, f.Rn, u === 1, u === 0, f.size < 3 ? suq(f.size, u === 0) : null, f64, true),
      (f) => `${mn} ${sr(f.Rd, f.size)}, ${sr(f.Rn, f.size)}`);
  }
  vec('CLS_vec', 0, 0b00100, (f) => f.size !== 3, (f) => {
    const k = 32 - (8 << f.size);
    return unaryOp(f.size, elems(f), f.Q === 1, f.Rd, f.Rn, true, true, (a) => cls32(a) - k, null);
  }, same2('cls'));
  vec('CLZ_vec', 1, 0b00100, (f) => f.size !== 3, (f) => {
    const k = 32 - (8 << f.size);
    return unaryOp(f.size, elems(f), f.Q === 1, f.Rd, f.Rn, false, false, (a) => Math.clz32(a) - k, null);
  }, same2('clz'));
  vec('CNT_vec', 0, 0b00101, (f) => f.size === 0, (f) => unaryOp(0, elems(f), f.Q === 1, f.Rd, f.Rn, false, false, popcnt8, null), same2('cnt'));
  vec('NOT_vec', 1, 0b00101, (f) => f.size < 2, (f) => {
    if (f.size === 0) return unaryOp(2, f.Q ? 4 : 2, f.Q === 1, f.Rd, f.Rn, false, false, (a) => ~a, null);
    return unaryOp(0, f.Q ? 16 : 8, f.Q === 1, f.Rd, f.Rn, false, false, (a) => rbit32(a) >>> 24, null);
  }, (f) => `${f.size ? 'rbit' : 'mvn'} v${f.Rd}.${f.Q ? '16b' : '8b'}, v${f.Rn}.${f.Q ? '16b' : '8b'}`);

  const absNeg: [string, number, number, (e: number) => U32, U64][] = [
    ['sqabs', 0, 0b00111, (e) => { const hi = smax(e); return (a) => sat(Math.abs(a), -hi - 1, hi); }, (l, h) => sqabs64(l, h)],
    ['sqneg', 1, 0b00111, (e) => { const hi = smax(e); return (a) => sat(-a, -hi - 1, hi); }, (l, h) => sqneg64(l, h)],
    ['abs', 0, 0b01011, () => (a) => Math.abs(a), (l, h) => abs64(l, h)],
    ['neg', 1, 0b01011, () => (a) => -a, (l, h) => neg64(l, h)],
  ];
  for (const [mn, u, opcode, f32, f64] of absNeg) {
    vec(`${mn.toUpperCase()}_vec`, u, opcode, sizeQ, (f) => unaryOp(f.size, elems(f), f.Q === 1, f.Rd, f.Rn, true, true, f.size < 3 ? f32(8 << f.size) : null, f64), same2(mn));
    scal(`${mn.toUpperCase()}_sc`, u, opcode, (f) => mn.startsWith('sq') || f.size === 3,
      (f) => unaryOp(f.size, 1, false, f.Rd, f.Rn, true, true, f.size < 3 ? f32(8 << f.size) : null, f64, true),
      (f) => `${mn} ${sr(f.Rd, f.size)}, ${sr(f.Rn, f.size)}`);
  }
  const cmz: [string, number, number, number][] = [['cmgt', 0, 0b01000, 0], ['cmge', 1, 0b01000, 1], ['cmeq', 0, 0b01001, 2], ['cmle', 1, 0b01001, 3], ['cmlt', 0, 0b01010, 4]];
  for (const [mn, u, opcode, k] of cmz) {
    const [f32, f64] = cmzero(k);
    vec(`${mn.toUpperCase()}_zero_vec`, u, opcode, sizeQ, (f) => unaryOp(f.size, elems(f), f.Q === 1, f.Rd, f.Rn, true, true, f32, f64), (f) => `${same2(mn)(f)}, #0`);
    scal(`${mn.toUpperCase()}_zero_sc`, u, opcode, (f) => f.size === 3, (f) => unaryOp(3, 1, false, f.Rd, f.Rn, true, true, null, f64, true), (f) => `${mn} ${sr(f.Rd, 3)}, ${sr(f.Rn, 3)}, #0`);
  }
  const xtn: [string, number, number, number][] = [['xtn', 0, 0b10010, 0], ['sqxtun', 1, 0b10010, 3], ['sqxtn', 0, 0b10100, 1], ['uqxtn', 1, 0b10100, 2]];
  for (const [mn, u, opcode, kind] of xtn) {
    vec(`${mn.toUpperCase()}_vec`, u, opcode, (f) => f.size !== 3, (f) => xtnOp(kind, f.size, f.Q, f.Rd, f.Rn),
      (f) => `${mn}${f.Q ? '2' : ''} ${vr(f.Rd, f.size, f.Q)}, v${f.Rn}.${arr(f.size + 1, 1)}`);
    if (kind !== 0) {
      scal(`${mn.toUpperCase()}_sc`, u, opcode, (f) => f.size !== 3, (f) => xtnOp(kind, f.size, 0, f.Rd, f.Rn, true),
        (f) => `${mn} ${sr(f.Rd, f.size)}, ${sr(f.Rn, f.size + 1)}`);
    }
  }
  vec('SHLL_vec', 1, 0b10011, (f) => f.size !== 3, (f) => shllOp(f.size, f.Q, f.Rd, f.Rn),
    (f) => `shll${f.Q ? '2' : ''} v${f.Rd}.${arr(f.size + 1, 1)}, ${vr(f.Rn, f.size, f.Q)}, #${8 << f.size}`);
  // URECPE / URSQRTE: size must be 10 (sz = 0); the size 1x encodings of this opcode otherwise belong to FP.
  for (const [mn, u, fn] of [['urecpe', 0, URECPE], ['ursqrte', 1, URSQRTE]] as const) {
    defs.push({
      name: `${mn.toUpperCase()}_vec`, pattern: `0 Q:1 ${u} 01110 10 10000 11100 10 Rn:5 Rd:5`, cls: 'simd', feature: FP,
      build: (f) => unaryOp(2, f.Q ? 4 : 2, f.Q === 1, f.Rd, f.Rn, false, false, fn, null),
      disasm: (f) => `${mn} ${vr(f.Rd, 2, f.Q)}, ${vr(f.Rn, 2, f.Q)}`,
    });
  }
  return defs;
}

// =====================================================================================
// Across lanes
// =====================================================================================

/** kind: 0 ADDV, 1 SADDLV/UADDLV, 2 MAXV, 3 MINV. */
function acrossOp(kind: number, signed: boolean, size: number, q: boolean, d: number, n: number): Op {
  const elems = (q ? 16 : 8) >> size;
  const a = view(LA, size, signed);
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    getV(pe, n, LA);
    let acc = a[0];
    for (let i = 1; i < elems; i++) {
      const x = a[i];
      if (kind <= 1) acc += x;
      else if (kind === 2) { if (x > acc) acc = x; } else if (x < acc) acc = x;
    }
    zero(LR);
    if (kind === 1) {
      if (size === 2) { LR.s32[0] = split(acc); LR.s32[1] = st.hi; } else view(LR, size + 1, signed)[0] = acc;
    } else view(LR, size, signed)[0] = acc;
    putV(pe, d, LR, true);
  };
}

function acrossDefs(): InsnDef[] {
  const defs: InsnDef[] = [];
  const list: [string, number, number, number][] = [
    ['saddlv', 0, 0b00011, 1], ['uaddlv', 1, 0b00011, 1], ['smaxv', 0, 0b01010, 2], ['umaxv', 1, 0b01010, 2],
    ['sminv', 0, 0b11010, 3], ['uminv', 1, 0b11010, 3], ['addv', 0, 0b11011, 0],
  ];
  for (const [mn, u, opcode, kind] of list) {
    defs.push({
      name: `${mn.toUpperCase()}_vec`, pattern: `0 Q:1 ${u} 01110 size:2 11000 ${bits(opcode, 5)} 10 Rn:5 Rd:5`, cls: 'simd', feature: FP,
      valid: (f) => f.size !== 3 && !(f.size === 2 && f.Q === 0),
      build: (f) => acrossOp(kind, u === 0, f.size, f.Q === 1, f.Rd, f.Rn),
      disasm: (f) => `${mn} ${sr(f.Rd, kind === 1 ? f.size + 1 : f.size)}, ${vr(f.Rn, f.size, f.Q)}`,
    });
  }
  // ADDP (scalar): Dd = the sum of the two doublewords of Vn.
  defs.push({
    name: 'ADDP_sc', pattern: '01 0 11110 11 11000 11011 10 Rn:5 Rd:5', cls: 'simd', feature: FP,
    build: (f) => {
      const d = f.Rd, n = f.Rn;
      return (pe) => {
        if (!pe.fpEnabled) pe.fpTrap();
        const v = pe.v32, o = 4 * n;
        const lo = add64(v[o], v[o + 1], v[o + 2], v[o + 3]);
        const od = 4 * d;
        v[od] = lo; v[od + 1] = st.hi; v[od + 2] = 0; v[od + 3] = 0;
      };
    },
    disasm: (f) => `addp d${f.Rd}, v${f.Rn}.2d`,
  });
  return defs;
}

// =====================================================================================
// Shift by immediate
// =====================================================================================

/** log2 of the element size in bytes from immh (its highest set bit), or -1 for immh = 0. */
const immhSize = (immh: number): number => (immh >= 8 ? 3 : immh >= 4 ? 2 : immh >= 2 ? 1 : immh === 1 ? 0 : -1);

type ShiftKind = 'sshr' | 'ushr' | 'ssra' | 'usra' | 'srshr' | 'urshr' | 'srsra' | 'ursra' | 'sri' | 'shl' | 'sli' | 'sqshlu' | 'sqshl' | 'uqshl';

/** The same-size shift-by-immediate lane functions; `sh` is the right or left shift amount. */
function shiftLane(kind: ShiftKind, e: number, sh: number): { signed: boolean; f: U32 } {
  const p = 2 ** sh;
  switch (kind) {
    case 'sshr': return { signed: true, f: (a) => Math.floor(a / p) };
    case 'ushr': return { signed: false, f: (a) => Math.floor(a / p) };
    case 'ssra': return { signed: true, f: (a, c) => c + Math.floor(a / p) };
    case 'usra': return { signed: false, f: (a, c) => c + Math.floor(a / p) };
    case 'srshr': return { signed: true, f: (a) => Math.floor((a + p / 2) / p) };
    case 'urshr': return { signed: false, f: (a) => Math.floor((a + p / 2) / p) };
    case 'srsra': return { signed: true, f: (a, c) => c + Math.floor((a + p / 2) / p) };
    case 'ursra': return { signed: false, f: (a, c) => c + Math.floor((a + p / 2) / p) };
    case 'sri': {
      const keep = 2 ** (e - sh);
      return { signed: false, f: (a, c) => Math.floor(a / p) + Math.floor(c / keep) * keep };
    }
    case 'shl': return { signed: false, f: (a) => a * p };
    case 'sli': {
      const m = 2 ** e;
      return { signed: false, f: (a, c) => ((a * p) % m) + (c % p) };
    }
    case 'sqshlu': return { signed: true, f: (a) => sat(a * p, 0, umax(e)) };
    case 'sqshl': return { signed: true, f: (a) => sat(a * p, smin(e), smax(e)) };
    default: return { signed: false, f: (a) => sat(a * p, 0, umax(e)) };
  }
}

function shiftLane64(kind: ShiftKind, sh: number): U64 {
  switch (kind) {
    case 'sshr': return (l, h) => sar64(l, h, sh);
    case 'ushr': return (l, h) => shr64(l, h, sh);
    case 'ssra': return (l, h, cl, ch) => { const x = sar64(l, h, sh); return add64(cl, ch, x, st.hi); };
    case 'usra': return (l, h, cl, ch) => { const x = shr64(l, h, sh); return add64(cl, ch, x, st.hi); };
    case 'srshr': return (l, h) => rshr64(l, h, sh, true);
    case 'urshr': return (l, h) => rshr64(l, h, sh, false);
    case 'srsra': return (l, h, cl, ch) => { const x = rshr64(l, h, sh, true); return add64(cl, ch, x, st.hi); };
    case 'ursra': return (l, h, cl, ch) => { const x = rshr64(l, h, sh, false); return add64(cl, ch, x, st.hi); };
    case 'sri': {
      // Keep the top sh bits of the destination.
      const ml = shr64(-1, -1, sh), mh = st.hi;
      return (l, h, cl, ch) => { const x = shr64(l, h, sh), xh = st.hi; st.hi = xh | (ch & ~mh); return x | (cl & ~ml); };
    }
    case 'shl': return (l, h) => shl64(l, h, sh);
    case 'sli': {
      const ml = shl64(-1, -1, sh), mh = st.hi;
      return (l, h, cl, ch) => { const x = shl64(l, h, sh), xh = st.hi; st.hi = xh | (ch & ~mh); return x | (cl & ~ml); };
    }
    case 'sqshlu': return (l, h) => {
      if (h < 0) { st.qc = 1; st.hi = 0; return 0; }
      return uqshl64(l, h, sh);
    };
    case 'sqshl': return (l, h) => sqshl64(l, h, sh);
    default: return (l, h) => uqshl64(l, h, sh);
  }
}

function sqshl64(l: number, h: number, s: number): number {
  if (s === 0) { st.hi = h; return l; }
  const rl = shl64(l, h, s), rh = st.hi;
  const bl = sar64(rl, rh, s);
  if (bl === (l | 0) && st.hi === (h | 0)) { st.hi = rh; return rl; }
  return satS64(h);
}

function uqshl64(l: number, h: number, s: number): number {
  if (s === 0) { st.hi = h; return l; }
  const rl = shl64(l, h, s), rh = st.hi;
  const bl = shr64(rl, rh, s);
  if (bl === (l | 0) && st.hi === (h | 0)) { st.hi = rh; return rl; }
  st.qc = 1;
  st.hi = -1;
  return -1;
}

const SHIFT_SAME: [ShiftKind, number, number, boolean][] = [
  // kind, U, opcode, left (shift amount = immh:immb - esize) rather than right (2*esize - immh:immb)
  ['sshr', 0, 0b00000, false], ['ushr', 1, 0b00000, false], ['ssra', 0, 0b00010, false], ['usra', 1, 0b00010, false],
  ['srshr', 0, 0b00100, false], ['urshr', 1, 0b00100, false], ['srsra', 0, 0b00110, false], ['ursra', 1, 0b00110, false],
  ['sri', 1, 0b01000, false], ['shl', 0, 0b01010, true], ['sli', 1, 0b01010, true], ['sqshlu', 1, 0b01100, true],
  ['sqshl', 0, 0b01110, true], ['uqshl', 1, 0b01110, true],
];

/** Narrowing shifts: (kind name, U, opcode, round, source signed, saturation: 0 none, 1 signed, 2 unsigned). */
const SHIFT_NARROW: [string, number, number, boolean, boolean, number][] = [
  ['shrn', 0, 0b10000, false, false, 0], ['rshrn', 0, 0b10001, true, false, 0],
  ['sqshrun', 1, 0b10000, false, true, 2], ['sqrshrun', 1, 0b10001, true, true, 2],
  ['sqshrn', 0, 0b10010, false, true, 1], ['sqrshrn', 0, 0b10011, true, true, 1],
  ['uqshrn', 1, 0b10010, false, false, 2], ['uqrshrn', 1, 0b10011, true, false, 2],
];

function shiftSameOp(kind: ShiftKind, size: number, sh: number, elems: number, q: boolean, d: number, n: number, scalar: boolean): Op {
  if (size === 3) return unaryOp(3, elems, q, d, n, true, true, null, shiftLane64(kind, sh), scalar);
  const { signed, f } = shiftLane(kind, 8 << size, sh);
  return unaryOp(size, elems, q, d, n, signed, signed, f, null, scalar);
}

/** Shift right narrow: 2e-bit source lanes (e = 8 << size) shifted right by sh (1..e), saturated per `satk`. */
function shiftNarrowOp(round: boolean, signed: boolean, satk: number, size: number, sh: number, part: number, d: number, n: number, scalar: boolean): Op {
  const elems = scalar ? 1 : 8 >> size;
  const e = 8 << size;
  const lo = satk === 1 ? smin(e) : 0, hi = satk === 1 ? smax(e) : umax(e);
  const r = view(LR, size, false);
  const store = (pe: PE): void => {
    if (part) putUpper(pe, d, LR);
    else putV(pe, d, LR, false);
    flushQc(pe);
  };
  if (size === 2) {
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      getV(pe, n, LA);
      if (scalar) zero(LR);
      const a = LA.s32;
      for (let i = 0; i < elems; i++) {
        const xl = round ? rshr64(a[2 * i], a[2 * i + 1], sh, signed) : signed ? sar64(a[2 * i], a[2 * i + 1], sh) : shr64(a[2 * i], a[2 * i + 1], sh);
        const xh = st.hi;
        if (satk === 0) r[i] = xl;
        else if (satk === 1) r[i] = xh === xl >> 31 ? xl : (st.qc = 1, xh < 0 ? 0x80000000 : 0x7fffffff);
        else r[i] = xh === 0 ? xl : (st.qc = 1, signed && xh < 0 ? 0 : 0xffffffff);
      }
      store(pe);
    };
  }
  const a = view(LA, size + 1, signed);
  const p = 2 ** sh, rc = round ? p / 2 : 0;
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    getV(pe, n, LA);
    if (scalar) zero(LR);
    for (let i = 0; i < elems; i++) {
      const x = Math.floor((a[i] + rc) / p);
      r[i] = satk === 0 ? x : sat(x, lo, hi);
    }
    store(pe);
  };
}

/** SSHLL/USHLL: e-bit lanes of one half of Vn widened and shifted left by sh (0..e-1). */
function shllImmOp(signed: boolean, size: number, sh: number, part: number, d: number, n: number): Op {
  const elems = 8 >> size, off = part ? elems : 0;
  const a = view(LA, size, signed);
  const p = 2 ** sh;
  if (size === 2) {
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      getV(pe, n, LA);
      const r = LR.s32;
      for (let i = 0; i < 2; i++) { r[2 * i] = split(a[off + i] * p); r[2 * i + 1] = st.hi; }
      putV(pe, d, LR, true);
    };
  }
  const r = view(LR, size + 1, signed);
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    getV(pe, n, LA);
    for (let i = 0; i < elems; i++) r[i] = a[off + i] * p;
    putV(pe, d, LR, true);
  };
}

function shiftDefs(): InsnDef[] {
  const defs: InsnDef[] = [];
  const amount = (f: Fields, left: boolean): number => {
    const e = 8 << immhSize(f.immh);
    const v = (f.immh << 3) | f.immb;
    return left ? v - e : 2 * e - v;
  };
  for (const [kind, u, opcode, left] of SHIFT_SAME) {
    const name = kind.toUpperCase();
    defs.push({
      name: `${name}_imm_vec`, pattern: `0 Q:1 ${u} 011110 immh:4 immb:3 ${bits(opcode, 5)} 1 Rn:5 Rd:5`, cls: 'simd', feature: FP,
      valid: (f) => f.immh !== 0 && !(f.immh >= 8 && f.Q === 0),
      build: (f) => {
        const size = immhSize(f.immh);
        return shiftSameOp(kind, size, amount(f, left), (f.Q ? 16 : 8) >> size, f.Q === 1, f.Rd, f.Rn, false);
      },
      disasm: (f) => {
        const size = immhSize(f.immh);
        return `${kind} ${vr(f.Rd, size, f.Q)}, ${vr(f.Rn, size, f.Q)}, #${amount(f, left)}`;
      },
    });
    const anySize = kind === 'sqshl' || kind === 'uqshl' || kind === 'sqshlu';
    defs.push({
      name: `${name}_imm_sc`, pattern: `01 ${u} 111110 immh:4 immb:3 ${bits(opcode, 5)} 1 Rn:5 Rd:5`, cls: 'simd', feature: FP,
      valid: (f) => (anySize ? f.immh !== 0 : f.immh >= 8),
      build: (f) => shiftSameOp(kind, immhSize(f.immh), amount(f, left), 1, false, f.Rd, f.Rn, true),
      disasm: (f) => {
        const size = immhSize(f.immh);
        return `${kind} ${sr(f.Rd, size)}, ${sr(f.Rn, size)}, #${amount(f, left)}`;
      },
    });
  }
  for (const [mn, u, opcode, round, signed, satk] of SHIFT_NARROW) {
    const name = mn.toUpperCase();
    defs.push({
      name: `${name}_vec`, pattern: `0 Q:1 ${u} 011110 immh:4 immb:3 ${bits(opcode, 5)} 1 Rn:5 Rd:5`, cls: 'simd', feature: FP,
      valid: (f) => f.immh !== 0 && f.immh < 8,
      build: (f) => shiftNarrowOp(round, signed, satk, immhSize(f.immh), amount(f, false), f.Q, f.Rd, f.Rn, false),
      disasm: (f) => {
        const size = immhSize(f.immh);
        return `${mn}${f.Q ? '2' : ''} ${vr(f.Rd, size, f.Q)}, v${f.Rn}.${arr(size + 1, 1)}, #${amount(f, false)}`;
      },
    });
    if (satk !== 0) {
      defs.push({
        name: `${name}_sc`, pattern: `01 ${u} 111110 immh:4 immb:3 ${bits(opcode, 5)} 1 Rn:5 Rd:5`, cls: 'simd', feature: FP,
        valid: (f) => f.immh !== 0 && f.immh < 8,
        build: (f) => shiftNarrowOp(round, signed, satk, immhSize(f.immh), amount(f, false), 0, f.Rd, f.Rn, true),
        disasm: (f) => {
          const size = immhSize(f.immh);
          return `${mn} ${sr(f.Rd, size)}, ${sr(f.Rn, size + 1)}, #${amount(f, false)}`;
        },
      });
    }
  }
  for (const [mn, u] of [['sshll', 0], ['ushll', 1]] as const) {
    defs.push({
      name: `${mn.toUpperCase()}_vec`, pattern: `0 Q:1 ${u} 011110 immh:4 immb:3 10100 1 Rn:5 Rd:5`, cls: 'simd', feature: FP,
      valid: (f) => f.immh !== 0 && f.immh < 8,
      build: (f) => shllImmOp(u === 0, immhSize(f.immh), amount(f, true), f.Q, f.Rd, f.Rn),
      disasm: (f) => {
        const size = immhSize(f.immh), sh = amount(f, true);
        const q2 = f.Q ? '2' : '';
        if (sh === 0) return `${u ? 'uxtl' : 'sxtl'}${q2} v${f.Rd}.${arr(size + 1, 1)}, ${vr(f.Rn, size, f.Q)}`;
        return `${mn}${q2} v${f.Rd}.${arr(size + 1, 1)}, ${vr(f.Rn, size, f.Q)}, #${sh}`;
      },
    });
  }
  return defs;
}

// =====================================================================================
// By element
// =====================================================================================

/** The element index and Vm of a by-element encoding with size 01 (H:L:M, Vm in 0..15) or 10 (H:L, M:Rm). */
function elemIndex(f: Fields): { index: number; m: number } {
  if (f.size === 1) return { index: (f.H << 2) | (f.L << 1) | f.M, m: f.Rm };
  return { index: (f.H << 1) | f.L, m: (f.M << 4) | f.Rm };
}

function elemDefs(): InsnDef[] {
  const defs: InsnDef[] = [];
  const same: [string, number, number, SameOp][] = [
    ['mla', 1, 0b0000, MLA], ['mls', 1, 0b0100, MLS], ['mul', 0, 0b1000, MUL], ['sqdmulh', 0, 0b1100, SQDMULH], ['sqrdmulh', 0, 0b1101, SQRDMULH],
  ];
  const elemName = (f: Fields): string => {
    const { index, m } = elemIndex(f);
    return velem(m, f.size, index);
  };
  for (const [mn, u, opcode, op] of same) {
    defs.push({
      name: `${mn.toUpperCase()}_elem`, pattern: `0 Q:1 ${u} 01111 size:2 L:1 M:1 Rm:4 ${bits(opcode, 4)} H:1 0 Rn:5 Rd:5`, cls: 'simd', feature: FP,
      valid: (f) => f.size === 1 || f.size === 2,
      build: (f) => {
        const { index, m } = elemIndex(f);
        return mapOp(op, f.size, (f.Q ? 16 : 8) >> f.size, f.Q === 1, f.Rd, f.Rn, m, index);
      },
      disasm: (f) => `${mn} ${vr(f.Rd, f.size, f.Q)}, ${vr(f.Rn, f.size, f.Q)}, ${elemName(f)}`,
    });
    if (op === SQDMULH || op === SQRDMULH) {
      defs.push({
        name: `${mn.toUpperCase()}_elem_sc`, pattern: `01 ${u} 11111 size:2 L:1 M:1 Rm:4 ${bits(opcode, 4)} H:1 0 Rn:5 Rd:5`, cls: 'simd', feature: FP,
        valid: (f) => f.size === 1 || f.size === 2,
        build: (f) => {
          const { index, m } = elemIndex(f);
          return mapOp(op, f.size, 1, false, f.Rd, f.Rn, m, index, true);
        },
        disasm: (f) => `${mn} ${sr(f.Rd, f.size)}, ${sr(f.Rn, f.size)}, ${elemName(f)}`,
      });
    }
  }
  const long: [string, number, number, LongOp, boolean][] = [
    ['smlal', 0, 0b0010, SL.mlal, false], ['umlal', 1, 0b0010, UL.mlal, false], ['smlsl', 0, 0b0110, SL.mlsl, false], ['umlsl', 1, 0b0110, UL.mlsl, false],
    ['smull', 0, 0b1010, SL.mull, false], ['umull', 1, 0b1010, UL.mull, false],
    ['sqdmlal', 0, 0b0011, SQDMLAL, true], ['sqdmlsl', 0, 0b0111, SQDMLSL, true], ['sqdmull', 0, 0b1011, SQDMULL, true],
  ];
  for (const [mn, u, opcode, op, hasScalar] of long) {
    defs.push({
      name: `${mn.toUpperCase()}_elem`, pattern: `0 Q:1 ${u} 01111 size:2 L:1 M:1 Rm:4 ${bits(opcode, 4)} H:1 0 Rn:5 Rd:5`, cls: 'simd', feature: FP,
      valid: (f) => f.size === 1 || f.size === 2,
      build: (f) => {
        const { index, m } = elemIndex(f);
        return longOp(op, f.size, f.Q, f.Rd, f.Rn, m, index);
      },
      disasm: (f) => `${mn}${f.Q ? '2' : ''} v${f.Rd}.${arr(f.size + 1, 1)}, ${vr(f.Rn, f.size, f.Q)}, ${elemName(f)}`,
    });
    if (hasScalar) {
      defs.push({
        name: `${mn.toUpperCase()}_elem_sc`, pattern: `01 ${u} 11111 size:2 L:1 M:1 Rm:4 ${bits(opcode, 4)} H:1 0 Rn:5 Rd:5`, cls: 'simd', feature: FP,
        valid: (f) => f.size === 1 || f.size === 2,
        build: (f) => {
          const { index, m } = elemIndex(f);
          return longOp(op, f.size, 0, f.Rd, f.Rn, m, index, true);
        },
        disasm: (f) => `${mn} ${sr(f.Rd, f.size + 1)}, ${sr(f.Rn, f.size)}, ${elemName(f)}`,
      });
    }
  }
  return defs;
}

// =====================================================================================
// Modified immediate
// =====================================================================================

/**
 * AdvSIMDExpandImm: the 64-bit immediate (lo, hi) for op, cmode and the
 * 8-bit abcdefgh, or null for the unallocated (op=1, cmode=1111, Q=0) case.
 */
export function expandImm(op: number, cmode: number, imm8: number, q: number): [number, number] | null {
  let w: number;
  switch (cmode >> 1) {
    case 0: w = imm8; break;
    case 1: w = imm8 << 8; break;
    case 2: w = imm8 << 16; break;
    case 3: w = imm8 << 24; break;
    case 4: w = (imm8 | (imm8 << 16)); return [w, w];
    case 5: w = ((imm8 << 8) | (imm8 << 24)); return [w, w];
    case 6:
      w = (cmode & 1) === 0 ? (imm8 << 8) | 0xff : (imm8 << 16) | 0xffff;
      break;
    default:
      if ((cmode & 1) === 0) {
        if (op === 0) { w = imm8 * 0x01010101; return [w | 0, w | 0]; }
        let lo = 0, hi = 0;
        for (let i = 0; i < 4; i++) if ((imm8 >> i) & 1) lo |= 0xff << (8 * i);
        for (let i = 0; i < 4; i++) if ((imm8 >> (i + 4)) & 1) hi |= 0xff << (8 * i);
        return [lo, hi];
      }
      if (op === 0) {
        // FMOV (single): aBbbbbbc defgh000 0...0 (VFPExpandImm for 32 bits)
        const a = (imm8 >> 7) & 1, b = (imm8 >> 6) & 1;
        const v = (a << 31) | ((b ? 0x1f : 0x20) << 25) | ((imm8 & 0x3f) << 19);
        return [v, v];
      }
      if (q === 0) return null;
      {
        const a = (imm8 >> 7) & 1, b = (imm8 >> 6) & 1;
        const hi = (a << 31) | ((b ? 0xff : 0x100) << 22) | ((imm8 & 0x3f) << 16);
        return [0, hi];
      }
  }
  return [w | 0, w | 0];
}

/** The FMOV immediate as a number (VFPExpandImm), for disassembly: (16 + efgh) / 16 * 2^exp. */
function fpImm8(imm8: number): number {
  const sign = imm8 & 0x80 ? -1 : 1;
  const b = (imm8 >> 6) & 1, cd = (imm8 >> 4) & 3;
  const exp = b ? cd - 3 : cd + 1;
  return sign * (16 + (imm8 & 15)) * 2 ** (exp - 4);
}

/** objdump's FMOV immediate: `1.000000000000000000e+00`. */
function fpImmText(x: number): string {
  return x.toExponential(18).replace(/e([+-])(\d)$/, (_m, sgn: string, dig: string) => `e${sgn}0${dig}`);
}

function modImmDef(): InsnDef {
  return {
    name: 'MOVI_etc', pattern: '0 Q:1 op:1 0111100000 a:1 b:1 c:1 cmode:4 0 1 d:1 e:1 f:1 g:1 h:1 Rd:5', cls: 'simd', feature: FP,
    valid: (f) => expandImm(f.op, f.cmode, imm8Of(f), f.Q) !== null,
    build: (f) => {
      const [lo, hi] = expandImm(f.op, f.cmode, imm8Of(f), f.Q)!;
      const d = f.Rd, q = f.Q === 1;
      const cm = f.cmode;
      // ORR (cmode 0xx1, 10x1 with op 0) and BIC (op 1) modify the register; MVNI (op 1, other cmodes but 1110/1111) inverts.
      const isLogic = (cm & 1) === 1 && cm < 12;
      const inv = f.op === 1 && cm < 14;
      const vl = inv ? ~lo : lo, vh = inv ? ~hi : hi;
      if (isLogic) {
        const bic = f.op === 1;
        return (pe) => {
          if (!pe.fpEnabled) pe.fpTrap();
          const v = pe.v32, o = 4 * d;
          if (bic) {
            v[o] &= ~lo; v[o + 1] &= ~hi;
            if (q) { v[o + 2] &= ~lo; v[o + 3] &= ~hi; } else { v[o + 2] = 0; v[o + 3] = 0; }
          } else {
            v[o] |= lo; v[o + 1] |= hi;
            if (q) { v[o + 2] |= lo; v[o + 3] |= hi; } else { v[o + 2] = 0; v[o + 3] = 0; }
          }
        };
      }
      return (pe) => {
        if (!pe.fpEnabled) pe.fpTrap();
        const v = pe.v32, o = 4 * d;
        v[o] = vl; v[o + 1] = vh;
        if (q) { v[o + 2] = vl; v[o + 3] = vh; } else { v[o + 2] = 0; v[o + 3] = 0; }
      };
    },
    disasm: (f) => {
      const imm8 = imm8Of(f), cm = f.cmode, d = f.Rd;
      if (cm === 15) {
        const x = fpImm8(imm8);
        return `fmov ${f.op ? `v${d}.2d` : vr(d, 2, f.Q)}, #${fpImmText(x)}`;
      }
      if (cm === 14) {
        if (f.op === 0) return `movi ${vr(d, 0, f.Q)}, ${hexImm(imm8)}`;
        const [lo, hi] = expandImm(1, 14, imm8, f.Q)!;
        const hex = `#0x${(hi >>> 0).toString(16).padStart(8, '0')}${(lo >>> 0).toString(16).padStart(8, '0')}`.replace(/^#0x0+(?=.)/, '#0x');
        return f.Q ? `movi v${d}.2d, ${hex}` : `movi d${d}, ${hex}`;
      }
      if (cm >= 12) return `${f.op ? 'mvni' : 'movi'} ${vr(d, 2, f.Q)}, ${hexImm(imm8)}, msl #${cm & 1 ? 16 : 8}`;
      const isLogic = (cm & 1) === 1;
      const mn = isLogic ? (f.op ? 'bic' : 'orr') : f.op ? 'mvni' : 'movi';
      const size = cm < 8 ? 2 : 1;
      const sh = 8 * ((cm >> 1) & (size === 2 ? 3 : 1));
      return `${mn} ${vr(d, size, f.Q)}, ${hexImm(imm8)}${sh ? `, lsl #${sh}` : ''}`;
    },
  };
}

const imm8Of = (f: Fields): number => (f.a << 7) | (f.b << 6) | (f.c << 5) | (f.d << 4) | (f.e << 3) | (f.f << 2) | (f.g << 1) | f.h;

// =====================================================================================
// Copy
// =====================================================================================

/** Lowest set bit of imm5 gives the element size (0..3), or -1 for xx000 0. */
const imm5Size = (imm5: number): number => (imm5 & 1 ? 0 : imm5 & 2 ? 1 : imm5 & 4 ? 2 : imm5 & 8 ? 3 : -1);
const imm5Index = (imm5: number): number => imm5 >> (imm5Size(imm5) + 1);

/** Reads lane i (8 << size bits) of Vn as (lo, hi) into st: returns lo (zero-extended), st.hi the high half. */
function readLane(pe: PE, n: number, size: number, i: number): number {
  switch (size) {
    case 0: st.hi = 0; return pe.v8[16 * n + i];
    case 1: st.hi = 0; return pe.v16[8 * n + i];
    case 2: st.hi = 0; return pe.v32[4 * n + i];
    default: st.hi = pe.v32[4 * n + 2 * i + 1]; return pe.v32[4 * n + 2 * i];
  }
}

function writeLane(pe: PE, d: number, size: number, i: number, lo: number, hi: number): void {
  switch (size) {
    case 0: pe.v8[16 * d + i] = lo; return;
    case 1: pe.v16[8 * d + i] = lo; return;
    case 2: pe.v32[4 * d + i] = lo; return;
    default: pe.v32[4 * d + 2 * i] = lo; pe.v32[4 * d + 2 * i + 1] = hi;
  }
}

function dupOp(size: number, q: boolean, d: number, get: (pe: PE) => number): Op {
  const o = 4 * d;
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    const lo = get(pe), hi = st.hi;
    // The element replicated over a doubleword (w0: bits 31:0, w1: bits 63:32), then written once or twice.
    const w0 = size === 0 ? Math.imul(lo & 0xff, 0x01010101) : size === 1 ? Math.imul(lo & 0xffff, 0x10001) : lo;
    const w1 = size === 3 ? hi : w0;
    const v = pe.v32;
    v[o] = w0; v[o + 1] = w1;
    if (q) { v[o + 2] = w0; v[o + 3] = w1; } else { v[o + 2] = 0; v[o + 3] = 0; }
  };
}

function copyDefs(): InsnDef[] {
  const defs: InsnDef[] = [];
  defs.push({
    name: 'DUP_elem', pattern: '0 Q:1 0 01110000 imm5:5 0 0000 1 Rn:5 Rd:5', cls: 'simd', feature: FP,
    valid: (f) => imm5Size(f.imm5) >= 0 && !(imm5Size(f.imm5) === 3 && f.Q === 0),
    build: (f) => {
      const size = imm5Size(f.imm5), idx = imm5Index(f.imm5), n = f.Rn;
      return dupOp(size, f.Q === 1, f.Rd, (pe) => readLane(pe, n, size, idx));
    },
    disasm: (f) => `dup ${vr(f.Rd, imm5Size(f.imm5), f.Q)}, ${velem(f.Rn, imm5Size(f.imm5), imm5Index(f.imm5))}`,
  });
  defs.push({
    name: 'DUP_gen', pattern: '0 Q:1 0 01110000 imm5:5 0 0001 1 Rn:5 Rd:5', cls: 'simd', feature: FP,
    valid: (f) => imm5Size(f.imm5) >= 0 && !(imm5Size(f.imm5) === 3 && f.Q === 0),
    build: (f) => {
      const size = imm5Size(f.imm5), n = src(f.Rn);
      return dupOp(size, f.Q === 1, f.Rd, (pe) => { st.hi = pe.x[n + 1]; return pe.x[n]; });
    },
    disasm: (f) => `dup ${vr(f.Rd, imm5Size(f.imm5), f.Q)}, ${regName(f.Rn, imm5Size(f.imm5) === 3)}`,
  });
  defs.push({
    name: 'INS_gen', pattern: '0 1 0 01110000 imm5:5 0 0011 1 Rn:5 Rd:5', cls: 'simd', feature: FP,
    valid: (f) => imm5Size(f.imm5) >= 0,
    build: (f) => {
      const size = imm5Size(f.imm5), idx = imm5Index(f.imm5), n = src(f.Rn), d = f.Rd;
      return (pe) => {
        if (!pe.fpEnabled) pe.fpTrap();
        writeLane(pe, d, size, idx, pe.x[n], pe.x[n + 1]);
      };
    },
    disasm: (f) => `mov ${velem(f.Rd, imm5Size(f.imm5), imm5Index(f.imm5))}, ${regName(f.Rn, imm5Size(f.imm5) === 3)}`,
  });
  defs.push({
    name: 'INS_elem', pattern: '0 1 1 01110000 imm5:5 0 imm4:4 1 Rn:5 Rd:5', cls: 'simd', feature: FP,
    valid: (f) => imm5Size(f.imm5) >= 0,
    build: (f) => {
      const size = imm5Size(f.imm5), di = imm5Index(f.imm5), si = f.imm4 >> size, n = f.Rn, d = f.Rd;
      return (pe) => {
        if (!pe.fpEnabled) pe.fpTrap();
        const lo = readLane(pe, n, size, si);
        writeLane(pe, d, size, di, lo, st.hi);
      };
    },
    disasm: (f) => {
      const size = imm5Size(f.imm5);
      return `mov ${velem(f.Rd, size, imm5Index(f.imm5))}, ${velem(f.Rn, size, f.imm4 >> size)}`;
    },
  });
  // SMOV: Q=0 to Wd from B/H lanes; Q=1 to Xd from B/H/S lanes.
  defs.push({
    name: 'SMOV', pattern: '0 Q:1 0 01110000 imm5:5 0 0101 1 Rn:5 Rd:5', cls: 'simd', feature: FP,
    valid: (f) => {
      const s = imm5Size(f.imm5);
      return s >= 0 && s < 2 + f.Q;
    },
    build: (f) => {
      const size = imm5Size(f.imm5), idx = imm5Index(f.imm5), n = f.Rn, d = dst(f.Rd), x = f.Q === 1;
      const k = 32 - (8 << size);
      return (pe) => {
        if (!pe.fpEnabled) pe.fpTrap();
        const v = (readLane(pe, n, size, idx) << k) >> k;
        pe.x[d] = v;
        pe.x[d + 1] = x ? v >> 31 : 0;
      };
    },
    disasm: (f) => `smov ${regName(f.Rd, f.Q)}, ${velem(f.Rn, imm5Size(f.imm5), imm5Index(f.imm5))}`,
  });
  // UMOV: Q=0 to Wd from B/H/S lanes; Q=1 to Xd from a D lane.
  defs.push({
    name: 'UMOV', pattern: '0 Q:1 0 01110000 imm5:5 0 0111 1 Rn:5 Rd:5', cls: 'simd', feature: FP,
    valid: (f) => {
      const s = imm5Size(f.imm5);
      return s >= 0 && (f.Q ? s === 3 : s < 3);
    },
    build: (f) => {
      const size = imm5Size(f.imm5), idx = imm5Index(f.imm5), n = f.Rn, d = dst(f.Rd);
      return (pe) => {
        if (!pe.fpEnabled) pe.fpTrap();
        pe.x[d] = readLane(pe, n, size, idx);
        pe.x[d + 1] = st.hi;
      };
    },
    disasm: (f) => {
      const s = imm5Size(f.imm5);
      return `${s >= 2 ? 'mov' : 'umov'} ${regName(f.Rd, f.Q)}, ${velem(f.Rn, s, imm5Index(f.imm5))}`;
    },
  });
  defs.push({
    name: 'DUP_elem_sc', pattern: '01 0 11110000 imm5:5 0 0000 1 Rn:5 Rd:5', cls: 'simd', feature: FP,
    valid: (f) => imm5Size(f.imm5) >= 0,
    build: (f) => {
      const size = imm5Size(f.imm5), idx = imm5Index(f.imm5), n = f.Rn, d = f.Rd;
      return (pe) => {
        if (!pe.fpEnabled) pe.fpTrap();
        const lo = readLane(pe, n, size, idx), hi = st.hi;
        const o = 4 * d;
        pe.v32[o] = 0; pe.v32[o + 1] = 0; pe.v32[o + 2] = 0; pe.v32[o + 3] = 0;
        writeLane(pe, d, size, 0, lo, hi);
      };
    },
    disasm: (f) => `mov ${sr(f.Rd, imm5Size(f.imm5))}, ${velem(f.Rn, imm5Size(f.imm5), imm5Index(f.imm5))}`,
  });
  return defs;
}

// =====================================================================================
// The table
// =====================================================================================

export const simdIntInsns: InsnDef[] = [
  ...sameDefs(),
  ...diffDefs(),
  ...miscDefs(),
  ...acrossDefs(),
  ...shiftDefs(),
  ...elemDefs(),
  modImmDef(),
  ...copyDefs(),
];
