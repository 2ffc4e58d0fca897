/**
 * Advanced SIMD permutes: ZIP1/ZIP2, UZP1/UZP2, TRN1/TRN2, EXT, and the table
 * lookups TBL/TBX with one to four table registers (wrapping modulo 32).
 * Each instruction is a byte permutation computed at decode time (or, for
 * TBL/TBX, per index byte at run time).
 */
import { InsnDef, Op } from '../decoder.js';
import { LA, LB, LR, getV, putV, vr } from './simd_util.js';

const FP = 'fp';

/**
 * A two-source byte permutation: result byte i is byte map[i] of Vn (0..15)
 * or Vm (16..31). `bytes` result bytes (8 clears the upper half).
 */
function permOp(map: number[], q: boolean, d: number, n: number, m: number): Op {
  const bytes = q ? 16 : 8;
  const src = Int8Array.from(map);
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    getV(pe, n, LA);
    getV(pe, m, LB);
    const a = LA.u8, b = LB.u8, r = LR.u8;
    for (let i = 0; i < bytes; i++) {
      const k = src[i];
      r[i] = k < 16 ? a[k] : b[k - 16];
    }
    putV(pe, d, LR, q);
  };
}

/** Byte maps of ZIP/UZP/TRN for lanes of 8 << size bits in 8 or 16 bytes. op: the opcode field (001 UZP1 ... 111 ZIP2). */
function permMap(op: number, size: number, q: boolean): number[] {
  const eb = 1 << size;
  const elems = (q ? 16 : 8) >> size;
  const half = elems >> 1;
  const part = op >> 2; // 1 for the "2" forms
  // Element index e of the concatenation Vm:Vn (Vn first): source element, 0..2*elems-1.
  const srcElem: number[] = [];
  for (let i = 0; i < elems; i++) {
    switch (op & 3) {
      case 1: // UZP: even (part 0) or odd elements of the concatenation
        srcElem.push(2 * i + part);
        break;
      case 2: { // TRN: pairs (n[2j+part], m[2j+part])
        const j = i >> 1;
        srcElem.push((i & 1) === 0 ? 2 * j + part : elems + 2 * j + part);
        break;
      }
      default: { // ZIP: interleave the low (part 0) or high halves
        const j = (i >> 1) + part * half;
        srcElem.push((i & 1) === 0 ? j : elems + j);
      }
    }
  }
  const map: number[] = [];
  for (let i = 0; i < elems; i++) {
    const e = srcElem[i];
    const fromM = e >= elems;
    const idx = fromM ? e - elems : e;
    for (let k = 0; k < eb; k++) map.push((fromM ? 16 : 0) + idx * eb + k);
  }
  return map;
}

const PERM_NAMES = ['', 'uzp1', 'trn1', 'zip1', '', 'uzp2', 'trn2', 'zip2'];

/** TBL/TBX: each byte of Vm indexes the table Vn..Vn+len (bytes 0..16*(len+1)-1); out of range gives 0 (TBL) or keeps Vd (TBX). */
function tblOp(len: number, tbx: boolean, q: boolean, d: number, n: number, m: number): Op {
  const regs: number[] = [];
  for (let i = 0; i <= len; i++) regs.push((n + i) & 31);
  const limit = 16 * (len + 1);
  const bytes = q ? 16 : 8;
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    const v8 = pe.v8;
    getV(pe, m, LB);
    const idx = LB.u8, r = LR.u8;
    for (let i = 0; i < bytes; i++) {
      const k = idx[i];
      if (k < limit) r[i] = v8[16 * regs[k >> 4] + (k & 15)];
      else r[i] = tbx ? v8[16 * d + i] : 0;
    }
    putV(pe, d, LR, q);
  };
}

export const simdPermInsns: InsnDef[] = [
  {
    name: 'ZIP_UZP_TRN', pattern: '0 Q:1 001110 size:2 0 Rm:5 0 opcode:3 10 Rn:5 Rd:5', cls: 'simd', feature: FP,
    valid: (f) => (f.opcode & 3) !== 0 && !(f.size === 3 && f.Q === 0),
    build: (f) => permOp(permMap(f.opcode, f.size, f.Q === 1), f.Q === 1, f.Rd, f.Rn, f.Rm),
    disasm: (f) => `${PERM_NAMES[f.opcode]} ${vr(f.Rd, f.size, f.Q)}, ${vr(f.Rn, f.size, f.Q)}, ${vr(f.Rm, f.size, f.Q)}`,
  },
  {
    // EXT: bytes imm4.. of the concatenation Vm:Vn; with Q=0 the index must be below 8.
    name: 'EXT', pattern: '0 Q:1 101110 00 0 Rm:5 0 imm4:4 0 Rn:5 Rd:5', cls: 'simd', feature: FP,
    valid: (f) => f.Q === 1 || f.imm4 < 8,
    build: (f) => {
      const bytes = f.Q ? 16 : 8;
      const map: number[] = [];
      for (let i = 0; i < bytes; i++) {
        const k = f.imm4 + i;
        map.push(k < bytes ? k : 16 + (k - bytes));
      }
      return permOp(map, f.Q === 1, f.Rd, f.Rn, f.Rm);
    },
    disasm: (f) => `ext ${vr(f.Rd, 0, f.Q)}, ${vr(f.Rn, 0, f.Q)}, ${vr(f.Rm, 0, f.Q)}, #${f.imm4}`,
  },
  {
    name: 'TBL_TBX', pattern: '0 Q:1 001110 000 Rm:5 0 len:2 op:1 00 Rn:5 Rd:5', cls: 'simd', feature: FP,
    build: (f) => tblOp(f.len, f.op === 1, f.Q === 1, f.Rd, f.Rn, f.Rm),
    disasm: (f) => {
      // objdump writes a range for three or more registers without wrap-around.
      const l: string[] = [];
      for (let i = 0; i <= f.len; i++) l.push(`v${(f.Rn + i) & 31}.16b`);
      const list = f.len >= 2 && f.Rn + f.len <= 31 ? `${l[0]}-${l[f.len]}` : l.join(', ');
      return `${f.op ? 'tbx' : 'tbl'} ${vr(f.Rd, 0, f.Q)}, {${list}}, ${vr(f.Rm, 0, f.Q)}`;
    },
  },
];
