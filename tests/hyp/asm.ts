/**
 * A tiny assembler for hypervisor tests: instruction words built from the
 * PE's own instruction table by name (tests/helpers/program.ts), so that
 * unit and system tests need no cross toolchain.
 */
import { ins } from '../helpers/program.js';
import { SYSREG_BY_NAME } from '../../src/arch/sysregs.js';

export const A = {
  movz: (rd: number, imm: number, hw = 0): number => ins('MOVW', { sf: 1, opc: 2, hw, imm16: imm, Rd: rd }),
  movk: (rd: number, imm: number, hw = 0): number => ins('MOVW', { sf: 1, opc: 3, hw, imm16: imm, Rd: rd }),
  /** MOVZ/MOVK sequence loading a 64-bit constant (always 4 instructions, so code layout is predictable). */
  mov64: (rd: number, v: bigint | number): number[] => {
    const b = BigInt.asUintN(64, BigInt(v));
    return [0, 1, 2, 3].map((hw) => (hw === 0 ? A.movz : A.movk)(rd, Number((b >> BigInt(16 * hw)) & 0xffffn), hw));
  },
  hvc: (imm = 0): number => ins('HVC', { imm16: imm }),
  smc: (imm = 0): number => ins('SMC', { imm16: imm }),
  brk: (imm = 0): number => ins('BRK', { imm16: imm }),
  wfi: (): number => ins('WFI', {}),
  wfe: (): number => ins('WFE', {}),
  nop: (): number => ins('HINT', { CRm: 0, op2: 0 }),
  isb: (): number => ins('BARRIER', { CRm: 15, op: 2 }),
  /** B to a word offset from this instruction. */
  b: (words: number): number => ins('B', { imm26: words & 0x3ffffff }),
  /** CBNZ Xt, word offset. */
  cbnz: (rt: number, words: number): number => ins('CBZ', { sf: 1, op: 1, imm19: words & 0x7ffff, Rt: rt }),
  addi: (rd: number, rn: number, imm: number): number => ins('ADD_imm', { sf: 1, op: 0, S: 0, sh: 0, imm12: imm, Rn: rn, Rd: rd }),
  subi: (rd: number, rn: number, imm: number): number => ins('ADD_imm', { sf: 1, op: 1, S: 0, sh: 0, imm12: imm, Rn: rn, Rd: rd }),
  /** LDR/STR (unsigned offset): size 0..3, opc 0 store, 1 load, 2 load signed to X, 3 load signed to W. */
  ldstU: (size: number, opc: number, rt: number, rn: number, byteOff = 0): number => ins('LDST_uimm', { size, opc, imm12: byteOff >> size, Rn: rn, Rt: rt }),
  ldstPost: (size: number, opc: number, rt: number, rn: number, imm: number): number => ins('LDST_post', { size, opc, imm9: imm & 0x1ff, Rn: rn, Rt: rt }),
  ldstPre: (size: number, opc: number, rt: number, rn: number, imm: number): number => ins('LDST_pre', { size, opc, imm9: imm & 0x1ff, Rn: rn, Rt: rt }),
  /** LDP/STP Xt/Wt (opc 2 = X, 0 = W, 1 = LDPSW): mode 'off' | 'pre' | 'post'. */
  ldstp: (opc: number, load: boolean, rt: number, rt2: number, rn: number, byteOff: number, mode: 'off' | 'pre' | 'post' = 'off'): number =>
    ins(mode === 'off' ? 'LDSTP_off' : mode === 'pre' ? 'LDSTP_pre' : 'LDSTP_post', { opc, L: load ? 1 : 0, imm7: (byteOff / (opc === 2 ? 8 : 4)) & 0x7f, Rt2: rt2, Rn: rn, Rt: rt }),
  mrs: (rt: number, name: string): number => {
    const r = SYSREG_BY_NAME.get(name)!;
    return ins('MRS', { o0: r.op0 - 2, op1: r.op1, CRn: r.crn, CRm: r.crm, op2: r.op2, Rt: rt });
  },
  msr: (name: string, rt: number): number => {
    const r = SYSREG_BY_NAME.get(name)!;
    return ins('MSR_reg', { o0: r.op0 - 2, op1: r.op1, CRn: r.crn, CRm: r.crm, op2: r.op2, Rt: rt });
  },
  /** SYS #op1, Cn, Cm, #op2, Xt (DC/IC/TLBI/AT). */
  sys: (op1: number, crn: number, crm: number, op2: number, rt: number): number => (0xd5080000 | (op1 << 16) | (crn << 12) | (crm << 8) | (op2 << 5) | rt) >>> 0,
  /** MSR S3_0_C12_C11_5 (ICC_SGI1R_EL1), Xt: encoded directly, the register is the vGIC's. */
  msrSgi1r: (rt: number): number => (0xd5180000 | (0 << 16) | (12 << 12) | (11 << 8) | (5 << 5) | rt) >>> 0,
  /** LDXR Xt, [Xn]. */
  ldxr: (rt: number, rn: number): number => (0xc85f7c00 | (rn << 5) | rt) >>> 0,
};

/** Little-endian bytes of instruction words. */
export function code(ws: number[]): Uint8Array {
  const b = new Uint8Array(ws.length * 4);
  const dv = new DataView(b.buffer);
  ws.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
  return b;
}
