/**
 * WebAssembly emitters for system instructions without side effects here:
 * the hints (NOP, YIELD, PACIASP/AUTIASP and BTI without their features...)
 * and barriers (one PE runs at a time, so memory is always ordered; ISB's
 * context synchronization is the end of its block), and MRS of registers
 * whose read is a plain load (insn/sysreg.ts plainSysregRead: TPIDR_EL1,
 * SP_EL0, ELR_EL1...). Anything the read must check first (EL0, PSTATE.SP
 * for SP_EL0) leaves for the closure, which raises the exception.
 */
import { sysregKey } from '../../../arch/sysregs.js';
import { plainSysregRead } from '../../insn/sysreg.js';
import { dst } from '../../insn/regs.js';
import { W } from './encoder.js';
import { Scratch, WasmBlock } from './block.js';
import type { WasmEmitter } from './emitters.js';

/** Pushes PSTATE.EL | PSTATE.SP << 2 (the run loop writes it before each call). */
const mode = (c: WasmBlock): WasmBlock => c.i32(0).mem(W.i32_load, 2, c.scratch + Scratch.MODE);

const mrs: WasmEmitter = (c, f, s) => {
  const r = plainSysregRead(sysregKey(2 + f.o0, f.op1, f.CRn, f.CRm, f.op2));
  if (r === null) return false;
  if (r.kind === 'sp_el0' || !r.el0) mode(c).i32(3).op(W.i32_and, W.i32_eqz).if(() => c.exit(s.k));
  if (r.kind === 'sp_el0') {
    mode(c).i32(4).op(W.i32_and, W.i32_eqz).if(() => c.exit(s.k));
    c.setX64(dst(f.Rt), () => c.i32(0).mem(W.i64_load, 3, c.spBankHost));
  } else c.setX64(dst(f.Rt), () => c.i32(0).mem(W.i64_load, 3, c.srHost + 8 * r.id));
  return true;
};

export const systemEmitters: Record<string, WasmEmitter> = {
  HINT: () => true,
  BARRIER: () => true,
  MRS: mrs,
};
