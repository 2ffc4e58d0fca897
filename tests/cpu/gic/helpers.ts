/**
 * Helpers for the GIC CPU interface tests: MRS/MSR encodings by register
 * name (from the instruction table), list register values, and a PE with
 * HCR_EL2.IMO/FMO set, the virtual interface enabled and exception vectors
 * that exit to L0 with a recognisable HVC.
 */
import { PE, RunExit } from '../../../src/cpu/pe.js';
import { SYSREG_BY_NAME } from '../../../src/arch/sysregs.js';
import { ins, machine, HVC, RAM_BASE, words } from '../../helpers/program.js';

function enc(name: string): { o0: number; op1: number; CRn: number; CRm: number; op2: number } {
  const r = SYSREG_BY_NAME.get(name);
  if (r === undefined) throw new Error(`unknown register ${name}`);
  return { o0: r.op0 - 2, op1: r.op1, CRn: r.crn, CRm: r.crm, op2: r.op2 };
}
export const mrs = (rt: number, name: string): number => ins('MRS', { ...enc(name), Rt: rt });
export const msr = (name: string, rt: number): number => ins('MSR_reg', { ...enc(name), Rt: rt });

export const HCR_FMO = 1n << 3n;
export const HCR_IMO = 1n << 4n;
export const HCR_RW = 1n << 31n;

/** ICH_LR<n>_EL2 value. state: 0 invalid, 1 pending, 2 active, 3 both. */
export function lr(o: { state: number; vintid: number; prio?: number; group?: number; hw?: boolean; pintid?: number; eoi?: boolean }): bigint {
  let v = BigInt(o.vintid >>> 0);
  v |= BigInt(o.state & 3) << 62n;
  if (o.hw) v |= (1n << 61n) | (BigInt(o.pintid ?? 0) << 32n);
  else if (o.eoi) v |= 1n << 41n;
  v |= BigInt(o.group ?? 1) << 60n;
  v |= BigInt(o.prio ?? 0xa0) << 48n;
  return v;
}
export const lrState = (pe: PE, n: number): number => Number(pe.readSysreg(`ICH_LR${n}_EL2`) >> 62n);

/** ICH_VMCR_EL2 value from fields. */
export function vmcr(o: { eng0?: boolean; eng1?: boolean; pmr?: number; bpr0?: number; bpr1?: number; eoim?: boolean; cbpr?: boolean }): bigint {
  let v = 0n;
  if (o.eng0) v |= 1n;
  if (o.eng1 ?? true) v |= 2n;
  if (o.cbpr) v |= 1n << 4n;
  if (o.eoim) v |= 1n << 9n;
  v |= BigInt(o.bpr1 ?? 3) << 18n;
  v |= BigInt(o.bpr0 ?? 2) << 21n;
  v |= BigInt(o.pmr ?? 0xf8) << 24n;
  return v;
}

export const VBAR = RAM_BASE + 0x8000;
/** HVC immediates the vectors use (current EL with SP_ELx): sync, IRQ, FIQ. */
export const VEC_SYNC = 0x5100;
export const VEC_IRQ = 0x5180;
export const VEC_FIQ = 0x5200;
export const DONE = 0xd0e;

/**
 * A PE running `code` at EL1h (then HVC #DONE), with HCR_EL2 = RW|IMO|FMO,
 * ICH_HCR_EL2.En, ICH_VMCR_EL2 with Group 1 enabled and PMR 0xf8, and
 * vectors at VBAR whose current-EL SPx sync/IRQ/FIQ entries execute HVC
 * #VEC_SYNC/#VEC_IRQ/#VEC_FIQ. Interrupts start masked (PSTATE.DAIF = 0xf).
 */
export function gicPe(code: number[], opts: { hcr?: bigint } = {}): PE {
  const { pe, bus } = machine([...code, HVC(DONE)]);
  bus.writeBytes(VBAR + 0x200, words([HVC(VEC_SYNC)]));
  bus.writeBytes(VBAR + 0x280, words([HVC(VEC_IRQ)]));
  bus.writeBytes(VBAR + 0x300, words([HVC(VEC_FIQ)]));
  pe.writeSysreg('VBAR_EL1', BigInt(VBAR));
  pe.writeSysreg('HCR_EL2', opts.hcr ?? HCR_RW | HCR_IMO | HCR_FMO);
  pe.writeSysreg('ICH_HCR_EL2', 1n);
  pe.writeSysreg('ICH_VMCR_EL2', vmcr({}));
  return pe;
}

/** Runs until the next exit to EL2; returns the HVC immediate (or -EC for other synchronous exits, or 'irq'/'fiq'). */
export function runToEl2(pe: PE, budget = 10_000): number | string {
  const r = pe.run(budget);
  if (r !== RunExit.El2) return `exit ${r}`;
  if (pe.el2Vector === 0x80) return 'irq';
  if (pe.el2Vector === 0x100) return 'fiq';
  const esr = Number(pe.readSysreg('ESR_EL2'));
  if (esr >>> 26 === 0x16) return esr & 0xffff;
  return -(esr >>> 26);
}

/** Resumes after an HVC exit (ELR_EL2 already points after it). */
export function resume(pe: PE): void {
  pe.eretFromEl2();
}

export const x = (pe: PE, n: number): number => Number(pe.getX(n));
