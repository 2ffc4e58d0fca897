/**
 * Emitters for branches (src/cpu/insn/branch.ts is the reference). The
 * PC-relative ones return a BranchEmit so that the compiler can turn a
 * branch to the block's own start into a loop; BR/BLR/RET set PC directly.
 */
import { sext, src } from '../insn/regs.js';
import { BranchEmit, Emitter, condExpr } from './emit.js';

/** Writes page base + `delta` to X30 (BL and BLR's link). */
const link = (delta: number): string =>
  `const s = pe.blockLo - (pe.blockLo & 4095) + ${delta}; x[60] = s | 0; x[61] = (pe.blockHi + Math.floor(s / 4294967296)) | 0;`;

const b: Emitter = (f, s): BranchEmit => ({ pre: '', cond: 'true', delta: sext(f.imm26, 26) * 4 + s.off });

const bl: Emitter = (f, s): BranchEmit => ({ pre: link(s.off + 4), cond: 'true', delta: sext(f.imm26, 26) * 4 + s.off });

const bcond: Emitter = (f, s): BranchEmit => ({ pre: '', cond: condExpr(f.cond), delta: sext(f.imm19, 19) * 4 + s.off });

const cbz: Emitter = (f, s): BranchEmit => {
  const t = src(f.Rt);
  const test = f.sf ? `(x[${t}] | x[${t + 1}])` : `x[${t}]`;
  return { pre: '', cond: `${test} ${f.op ? '!==' : '==='} 0`, delta: sext(f.imm19, 19) * 4 + s.off };
};

const tbz: Emitter = (f, s): BranchEmit => {
  const bit = (f.b5 << 5) | f.b40;
  const idx = src(f.Rt) + (bit >> 5);
  return { pre: '', cond: `(x[${idx}] & ${(1 << (bit & 31)) | 0}) ${f.op ? '!==' : '==='} 0`, delta: sext(f.imm14, 14) * 4 + s.off };
};

const br: Emitter = (f, s) => {
  const n = src(f.Rn);
  if (f.opc === 1) return `const tl = x[${n}], th = x[${n + 1}]; ${link(s.off + 4)} pe.branchTo(tl, th);`;
  return `pe.branchTo(x[${n}], x[${n + 1}]);`;
};

export const branchEmitters: Record<string, Emitter> = { B: b, BL: bl, B_cond: bcond, CBZ: cbz, TBZ: tbz, BR: br };
