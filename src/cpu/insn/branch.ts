/**
 * Branches: B, BL, B.cond, CBZ/CBNZ, TBZ/TBNZ, BR, BLR, RET (and the
 * pointer-authenticated register forms are not implemented: FEAT_PAuth is
 * not advertised, so they are unallocated).
 */
import { InsnDef, InsnFlags } from '../decoder.js';
import { CONDS, regName, sext, src, target } from './regs.js';

const BR = InsnFlags.Branch | InsnFlags.EndsBlock;
/** Conditional branches: the block goes on after them (InsnFlags.CondBranch). */
const CBR = BR | InsnFlags.CondBranch;

export const branchInsns: InsnDef[] = [
  {
    name: 'B', pattern: '000101 imm26:26', cls: 'branch', flags: BR,
    build: (f, site) => {
      const d = sext(f.imm26, 26) * 4 + site.off;
      return (pe) => pe.setPcPageRel(d);
    },
    disasm: (f, pc) => `b ${target(pc, sext(f.imm26, 26) * 4)}`,
  },
  {
    name: 'BL', pattern: '100101 imm26:26', cls: 'branch', flags: BR,
    build: (f, site) => {
      const d = sext(f.imm26, 26) * 4 + site.off;
      const off = site.off;
      return (pe) => {
        pe.writePageRel(60, off + 4);
        pe.setPcPageRel(d);
      };
    },
    disasm: (f, pc) => `bl ${target(pc, sext(f.imm26, 26) * 4)}`,
  },
  {
    name: 'B_cond', pattern: '0101010 0 imm19:19 0 cond:4', cls: 'branch', flags: CBR,
    build: (f, site) => {
      const d = sext(f.imm19, 19) * 4 + site.off;
      const c = f.cond;
      return (pe) => {
        if (pe.cond(c)) pe.branchTakenTo(d);
      };
    },
    disasm: (f, pc) => `b.${CONDS[f.cond]} ${target(pc, sext(f.imm19, 19) * 4)}`,
  },
  {
    name: 'CBZ', pattern: 'sf:1 011010 op:1 imm19:19 Rt:5', cls: 'branch', flags: CBR,
    build: (f, site) => {
      const d = sext(f.imm19, 19) * 4 + site.off;
      const t = src(f.Rt);
      const nz = f.op === 1;
      if (f.sf) return (pe) => { if (((pe.x[t] | pe.x[t + 1]) !== 0) === nz) pe.branchTakenTo(d); };
      return (pe) => { if ((pe.x[t] !== 0) === nz) pe.branchTakenTo(d); };
    },
    disasm: (f, pc) => `${f.op ? 'cbnz' : 'cbz'} ${regName(f.Rt, f.sf)}, ${target(pc, sext(f.imm19, 19) * 4)}`,
  },
  {
    name: 'TBZ', pattern: 'b5:1 011011 op:1 b40:5 imm14:14 Rt:5', cls: 'branch', flags: CBR,
    build: (f, site) => {
      const d = sext(f.imm14, 14) * 4 + site.off;
      const bit = (f.b5 << 5) | f.b40;
      const idx = src(f.Rt) + (bit >> 5);
      const m = 1 << (bit & 31);
      const nz = f.op === 1;
      return (pe) => { if (((pe.x[idx] & m) !== 0) === nz) pe.branchTakenTo(d); };
    },
    disasm: (f, pc) => `${f.op ? 'tbnz' : 'tbz'} ${regName(f.Rt, f.b5)}, #${(f.b5 << 5) | f.b40}, ${target(pc, sext(f.imm14, 14) * 4)}`,
  },
  {
    // BR, BLR, RET: opc 0000 (BR), 0001 (BLR), 0010 (RET); op2=11111, op3=000000, op4=00000.
    name: 'BR', pattern: '1101011 0 0 opc:2 11111 000000 Rn:5 00000', cls: 'branch', flags: BR,
    valid: (f) => f.opc !== 3,
    build: (f, site) => {
      const n = src(f.Rn);
      const off = site.off;
      if (f.opc === 1) {
        return (pe) => {
          const lo = pe.x[n], hi = pe.x[n + 1];
          pe.writePageRel(60, off + 4);
          pe.branchTo(lo, hi);
        };
      }
      return (pe) => pe.branchTo(pe.x[n], pe.x[n + 1]);
    },
    disasm: (f) => (f.opc === 0 ? `br ${regName(f.Rn, 1)}` : f.opc === 1 ? `blr ${regName(f.Rn, 1)}` : f.Rn === 30 ? 'ret' : `ret ${regName(f.Rn, 1)}`),
  },
];
