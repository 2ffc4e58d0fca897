/**
 * WebAssembly emitters for the general-register loads and stores (the
 * closures of src/cpu/insn/ldst.ts and ldst_util.ts are the reference, the
 * JavaScript tier's jit/emit_ldst.ts the same list): unsigned offset,
 * unscaled, register offset, pre- and post-indexed, pairs, and the
 * prefetches. Each access goes through WasmBlock.tlbAccess; anything off
 * its fast path leaves the block before the instruction has any effect.
 */
import { Ld, ldKind, ldSize } from '../../insn/ldst_util.js';
import { dst, sext, src, srcSp } from '../../insn/regs.js';
import { SLOT_SP } from '../../pe.js';
import { W } from './encoder.js';
import { I, L, WasmBlock } from './block.js';
import type { WasmEmitter } from './emitters.js';

// Locals: L(0) address, L(1) base after writeback, L(2)/L(3) loaded values, L(4) second address;
// I(0)/I(1) TLB entry and host address, I(2)/I(3) the same for a pair's second element.

/** An access based on SP with SP not 16-byte aligned leaves for the closure, which applies SCTLR_ELx.SA. */
function spCheck(c: WasmBlock, rn: number, k: number): void {
  if (rn === 31) c.x32(2 * SLOT_SP).i32(15).op(W.i32_and).if(() => c.exit(k));
}

/** Pushes the value of a load of kind `kind` from arena address I(1), as the register's new 64 bits. */
function loadValue(c: WasmBlock, kind: Ld): void {
  c.get(I(1));
  switch (kind) {
    case Ld.B: c.mem(W.i64_load8_u, 0, 0); break;
    case Ld.H: c.mem(W.i64_load16_u, 1, 0); break;
    case Ld.W: c.mem(W.i64_load32_u, 2, 0); break;
    case Ld.X: c.mem(W.i64_load, 3, 0); break;
    case Ld.SBW: c.mem(W.i32_load8_s, 0, 0).op(W.i64_extend_i32_u); break;
    case Ld.SHW: c.mem(W.i32_load16_s, 1, 0).op(W.i64_extend_i32_u); break;
    case Ld.SBX: c.mem(W.i64_load8_s, 0, 0); break;
    case Ld.SHX: c.mem(W.i64_load16_s, 1, 0); break;
    case Ld.SWX: c.mem(W.i64_load32_s, 2, 0); break;
  }
}

const STORE = [W.i64_store8, W.i64_store16, W.i64_store32, W.i64_store];

/** A single-register access at the address in L(0) (opc 0 store, else a load of ldKind(size, opc)). */
function single(c: WasmBlock, size: number, opc: number, rt: number, k: number): void {
  if (opc === 0) {
    c.tlbAccess(true, size, L(0), I(0), I(1), k);
    c.get(I(1)).x64(src(rt)).mem(STORE[size], size, 0);
    return;
  }
  const kind = ldKind(size, opc);
  c.tlbAccess(false, ldSize(kind), L(0), I(0), I(1), k);
  c.setX64(dst(rt), () => loadValue(c, kind));
}

/** L(0) = base (slot n) + constant. */
function immEa(c: WasmBlock, n: number, imm: number): void {
  c.x64(n);
  if (imm !== 0) c.i64(imm).op(W.i64_add);
  c.set(L(0));
}

const uimm: WasmEmitter = (c, f, s) => {
  spCheck(c, f.Rn, s.k);
  immEa(c, srcSp(f.Rn), f.imm12 << f.size);
  single(c, f.size, f.opc, f.Rt, s.k);
  return true;
};

const unscaled: WasmEmitter = (c, f, s) => {
  spCheck(c, f.Rn, s.k);
  immEa(c, srcSp(f.Rn), sext(f.imm9, 9));
  single(c, f.size, f.opc, f.Rt, s.k);
  return true;
};

/** Register offset: base + ExtendReg(Rm, option) << (S ? size : 0), as regEa. */
const reg: WasmEmitter = (c, f, s) => {
  const m = src(f.Rm);
  spCheck(c, f.Rn, s.k);
  c.x64(srcSp(f.Rn));
  if (f.option === 2) c.x32(m).op(W.i64_extend_i32_u);
  else if (f.option === 6) c.x32(m).op(W.i64_extend_i32_s);
  else c.x64(m);
  if (f.S && f.size !== 0) c.i64(f.size).op(W.i64_shl);
  c.op(W.i64_add).set(L(0));
  single(c, f.size, f.opc, f.Rt, s.k);
  return true;
};

/**
 * Pre- or post-indexed: the access at base + imm (pre) or base (post), then
 * the base written back, after the loaded register (the address wins when
 * Rt == Rn); a store stores Rt as it was before the writeback.
 */
const writeback = (pre: boolean): WasmEmitter => (c, f, s) => {
  const n = srcSp(f.Rn);
  spCheck(c, f.Rn, s.k);
  c.x64(n).tee(L(0)).i64(sext(f.imm9, 9)).op(W.i64_add).set(L(1));
  if (pre) c.get(L(1)).set(L(0));
  single(c, f.size, f.opc, f.Rt, s.k);
  c.setX64(n, () => c.get(L(1)));
  return true;
};

/**
 * LDP/STP/LDPSW/LDNP/STNP (`mode` 0 offset, 1 pre-indexed, 2 post-indexed),
 * as pairOp: both elements pass the TLB before either is accessed, both
 * are read before any register is written (Rt2, then Rt), then the base is written back.
 */
const pair = (mode: number): WasmEmitter => (c, f, s) => {
  if (f.opc === 3 || (f.opc === 1 && f.L === 0)) return false;
  const esz = f.opc === 2 ? 8 : 4;
  const size = esz === 8 ? 3 : 2;
  const n = srcSp(f.Rn);
  spCheck(c, f.Rn, s.k);
  c.x64(n).tee(L(0)).i64(sext(f.imm7, 7) * esz).op(W.i64_add).set(L(1));
  if (mode !== 2) c.get(L(1)).set(L(0));
  c.get(L(0)).i64(esz).op(W.i64_add).set(L(4));
  const write = f.L === 0;
  c.tlbAccess(write, size, L(0), I(0), I(1), s.k);
  c.tlbAccess(write, size, L(4), I(2), I(3), s.k);
  if (write) {
    c.get(I(1)).x64(src(f.Rt)).mem(STORE[size], size, 0);
    c.get(I(3)).x64(src(f.Rt2)).mem(STORE[size], size, 0);
  } else {
    const load = size === 3 ? W.i64_load : f.opc === 1 ? W.i64_load32_s : W.i64_load32_u;
    c.get(I(1)).mem(load, size, 0).set(L(2));
    c.get(I(3)).mem(load, size, 0).set(L(3));
    c.setX64(dst(f.Rt2), () => c.get(L(3)));
    c.setX64(dst(f.Rt), () => c.get(L(2)));
  }
  if (mode !== 0) c.setX64(n, () => c.get(L(1)));
  return true;
};

const prefetch: WasmEmitter = () => true;

/**
 * LDAR/STLR: a plain access here (one PE runs at a time, so every access is
 * already ordered), but the address must be aligned to the size: otherwise
 * the closure raises the Alignment fault.
 */
const acquireRelease = (load: boolean): WasmEmitter => (c, f, s) => {
  spCheck(c, f.Rn, s.k);
  c.x64(srcSp(f.Rn)).set(L(0));
  if (f.size !== 0) c.get(L(0)).op(W.i32_wrap_i64).i32((1 << f.size) - 1).op(W.i32_and).if(() => c.exit(s.k));
  single(c, f.size, load ? 1 : 0, f.Rt, s.k);
  return true;
};

export const ldstEmitters: Record<string, WasmEmitter> = {
  LDST_uimm: uimm,
  LDST_unscaled: unscaled,
  LDST_reg: reg,
  LDST_pre: writeback(true),
  LDST_post: writeback(false),
  LDSTNP: pair(0),
  LDSTP_off: pair(0),
  LDSTP_pre: pair(1),
  LDSTP_post: pair(2),
  PRFM_uimm: prefetch,
  PRFUM: prefetch,
  PRFM_reg: prefetch,
  LDAR: acquireRelease(true),
  STLR: acquireRelease(false),
};
