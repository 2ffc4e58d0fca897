/**
 * WebAssembly emitters for branches (src/cpu/insn/branch.ts is the
 * reference). PC-relative branches return a WasmBranch for the compiler;
 * BR, BLR and RET leave with the target for PE.branchTo, which applies the
 * top-byte-ignore rule of TCR_EL1.
 */
import { sext, src } from '../../insn/regs.js';
import { W } from './encoder.js';
import { L, RET_BRANCH_TO, WasmBlock } from './block.js';
import type { WasmBranch, WasmEmitter } from './emitters.js';

/** X30 = page base + `delta` (BL and BLR's link). */
const link = (c: WasmBlock, delta: number): void => void c.setX64(60, () => c.pageRel(delta));

const b: WasmEmitter = (_c, f, s): WasmBranch => ({ pre: null, cond: null, delta: sext(f.imm26, 26) * 4 + s.off });

const bl: WasmEmitter = (c, f, s): WasmBranch => ({ pre: () => link(c, s.off + 4), cond: null, delta: sext(f.imm26, 26) * 4 + s.off });

const bcond: WasmEmitter = (c, f, s): WasmBranch => ({ pre: null, cond: () => void c.cond(f.cond), delta: sext(f.imm19, 19) * 4 + s.off });

const cbz: WasmEmitter = (c, f, s): WasmBranch => ({
  pre: null,
  cond: () => {
    if (f.sf) c.x64(src(f.Rt)).op(W.i64_eqz);
    else c.x32(src(f.Rt)).op(W.i32_eqz);
    if (f.op) c.op(W.i32_eqz);
  },
  delta: sext(f.imm19, 19) * 4 + s.off,
});

const tbz: WasmEmitter = (c, f, s): WasmBranch => ({
  pre: null,
  cond: () => {
    const bit = (f.b5 << 5) | f.b40;
    c.x64(src(f.Rt)).i64(1n << BigInt(bit)).op(W.i64_and, W.i64_eqz);
    if (f.op) c.op(W.i32_eqz);
  },
  delta: sext(f.imm14, 14) * 4 + s.off,
});

const br: WasmEmitter = (c, f, s) => {
  c.x64(src(f.Rn)).set(L(0));
  if (f.opc === 1) link(c, s.off + 4);
  c.setPc(() => c.get(L(0)));
  c.exit(RET_BRANCH_TO | (s.k + 1));
  return 'exit';
};

export const branchEmitters: Record<string, WasmEmitter> = { B: b, BL: bl, B_cond: bcond, CBZ: cbz, TBZ: tbz, BR: br };
