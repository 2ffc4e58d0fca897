/**
 * The loop program both compiled tiers are checked with (compile.test.ts,
 * wasm.test.ts): a running sum over an array of 64-bit words that
 * straddles a page (so that loads leave a compiled block for the TLB miss
 * path mid-loop), each word overwritten with the sum so far; and the
 * helpers that run a machine in slices and read back its state.
 */
import { RunExit } from '../../../src/cpu/pe.js';
import { MOVZ, RAM_BASE, ins, machine } from '../../helpers/program.js';

export type Machine = ReturnType<typeof machine>;

export const DATA = RAM_BASE + 0x1ff0;
export const COUNT = 1500;

/** x2 = running sum of the words at DATA, each overwritten with the sum so far; x1 counts down; x4 = csinc. Ends after its b.ne. */
export function sumLoop(): number[] {
  return [
    MOVZ(0, DATA & 0xffff), ins('MOVW', { sf: 1, opc: 3, hw: 1, imm16: DATA >>> 16, Rd: 0 }),
    MOVZ(1, COUNT),
    MOVZ(2, 0),
    // loop:
    ins('LDST_post', { size: 3, opc: 1, imm9: 8, Rn: 0, Rt: 3 }), // ldr x3, [x0], #8
    ins('ADD_sreg', { sf: 1, op: 0, S: 0, shift: 0, Rm: 3, imm6: 0, Rn: 2, Rd: 2 }), // add x2, x2, x3
    ins('LDST_unscaled', { size: 3, opc: 0, imm9: -8 & 0x1ff, Rn: 0, Rt: 2 }), // stur x2, [x0, #-8]
    ins('CSEL', { sf: 1, op: 0, o2: 1, Rm: 3, cond: 0, Rn: 3, Rd: 4 }), // csinc x4, x3, x3, eq
    ins('ADD_imm', { sf: 1, op: 1, S: 1, sh: 0, imm12: 1, Rn: 1, Rd: 1 }), // subs x1, x1, #1
    ins('B_cond', { imm19: -5 & 0x7ffff, cond: 1 }), // b.ne loop
  ];
}

/** The array's initial contents. */
export function fillData(m: Machine): void {
  for (let i = 0; i < COUNT; i++) m.bus.writeBytes(DATA + 8 * i, new Uint8Array([i & 0xff, (i * 7) & 0xff, 0, 0, 0, 0, 0, (i & 1) << 7]));
}

/** Runs in slices of `slice` instructions until the program's HVC; returns the instruction count after each slice. */
export function runSliced(m: Machine, slice: number): number[] {
  const counts: number[] = [];
  for (let guard = 0; guard < 1_000_000; guard++) {
    const exit = m.pe.run(slice);
    counts.push(m.pe.icount);
    if (exit === RunExit.El2) return counts;
  }
  throw new Error('the program did not reach its HVC');
}

/** X0..X(regs-1), PC, instruction count, NZCV and the array. */
export function state(m: Machine, regs = 5): unknown {
  const x = Array.from({ length: regs }, (_, i) => m.pe.getX(i).toString(16));
  return { regs: x, pc: m.pe.pc.toString(16), icount: m.pe.icount, nzcv: m.pe.getPstate() >>> 28, mem: Buffer.from(m.bus.readBytes(DATA, 8 * COUNT)).toString('hex') };
}
