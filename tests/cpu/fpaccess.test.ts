/** FP/SIMD access control: CPACR_EL1.FPEN and CPTR_EL2.TFP traps, FPCR/FPSR, and a lazy FP context switch. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunExit } from '../../src/cpu/pe.js';
import { PhysicalBus } from '../../src/cpu/bus.js';
import { PE } from '../../src/cpu/pe.js';
import { HVC, ins, MOVZ, RAM_BASE, words } from '../helpers/program.js';

/** FMOV Dd, Xn */
const FMOV_D_X = (d: number, n: number): number => ins('FMOV_gen', { sf: 1, ftype: 1, rmode: 0, op: 1, Rn: n, Rd: d });
/** FMOV Xd, Dn */
const FMOV_X_D = (d: number, n: number): number => ins('FMOV_gen', { sf: 1, ftype: 1, rmode: 0, op: 0, Rn: n, Rd: d });
const MSR = (op1: number, crn: number, crm: number, op2: number, rt: number): number => ins('MSR_reg', { o0: 1, op1, CRn: crn, CRm: crm, op2, Rt: rt });
const MRS = (op1: number, crn: number, crm: number, op2: number, rt: number): number => ins('MRS', { o0: 1, op1, CRn: crn, CRm: crm, op2, Rt: rt });
const ERET = (): number => ins('ERET', {});
const CPACR = [0, 1, 0, 2] as const;
const FPCR = [3, 4, 4, 0] as const;
const FPSR = [3, 4, 4, 1] as const;

function setup(code: number[]) {
  const bus = new PhysicalBus();
  bus.addRam(RAM_BASE, 1 << 20);
  const pe = new PE(bus, { fp: true });
  bus.writeBytes(RAM_BASE, words(code));
  const vbar = RAM_BASE + 0x800;
  // Synchronous exception from the current EL (offset 0x200): a lazy FP switch that enables FP and returns.
  bus.writeBytes(vbar + 0x200, words([MOVZ(9, 0x30, 1), MSR(...CPACR, 9), ERET()]));
  pe.writeSysreg('VBAR_EL1', BigInt(vbar));
  pe.pc = BigInt(RAM_BASE);
  return { pe, bus };
}

test('with CPACR_EL1.FPEN=0 an FP instruction traps to EL1 with EC 0x07; a lazy switch enables FP and the instruction re-runs', () => {
  const { pe } = setup([FMOV_D_X(0, 1), FMOV_X_D(2, 0), HVC(0)]);
  pe.setX(1, 0x4009_21fb_5444_2d18n);
  assert.equal(pe.run(1000), RunExit.El2);
  assert.equal(Number(pe.readSysreg('ESR_EL2')) & 0xffff, 0, 'ended at the program HVC');
  assert.equal(Number(pe.readSysreg('ESR_EL1')) >>> 26, 0x07, 'the first FP instruction trapped with EC 0x07');
  assert.equal(pe.readSysreg('ELR_EL1'), BigInt(RAM_BASE), 'the trap returns to the FP instruction');
  assert.equal(pe.getX(2), 0x4009_21fb_5444_2d18n, 'the value made the round trip through D0');
});

test('CPTR_EL2.TFP traps FP from EL1 to EL2 with EC 0x07', () => {
  const { pe } = setup([FMOV_D_X(0, 1), HVC(0)]);
  pe.writeSysreg('CPACR_EL1', 3n << 20n);
  pe.writeSysreg('CPTR_EL2', 1n << 10n);
  assert.equal(pe.run(100), RunExit.El2);
  assert.equal(Number(pe.readSysreg('ESR_EL2')) >>> 26, 0x07);
  assert.equal(pe.readSysreg('ELR_EL2'), BigInt(RAM_BASE));
});

test('FPCR keeps only AHP, DN, FZ, RMode, FZ16; FPSR keeps the cumulative flags and QC', () => {
  const { pe } = setup([MSR(...FPCR, 1), MSR(...FPSR, 1), MRS(...FPCR, 2), MRS(...FPSR, 3), HVC(0)]);
  pe.writeSysreg('CPACR_EL1', 3n << 20n);
  pe.setX(1, 0xffff_ffff_ffff_ffffn);
  assert.equal(pe.run(100), RunExit.El2);
  assert.equal(pe.getX(2), 0x07c8_0000n);
  assert.equal(pe.getX(3), 0x0800_009fn);
});

test('FPCR access also traps with FP disabled', () => {
  const { pe } = setup([MRS(...FPCR, 2), HVC(0)]);
  pe.writeSysreg('CPACR_EL1', 0n);
  pe.writeSysreg('CPTR_EL2', 1n << 10n);
  assert.equal(pe.run(100), RunExit.El2);
  // The vector enables FPEN but CPTR_EL2.TFP still traps: the second attempt goes to EL2.
  assert.equal(Number(pe.readSysreg('ESR_EL2')) >>> 26, 0x07);
});
