/**
 * Exception entry (AArch64.TakeException) and the interrupt check done at
 * block boundaries. Exceptions to EL1 are taken by the PE; exceptions to EL2
 * end `run()` and leave the syndrome for L0.
 */
import type { PE } from './pe.js';
import { RunExit } from './pe.js';
import { sr } from '../arch/sysregs.js';
import { DAIF_A, DAIF_F, DAIF_I } from './pstate.js';
import { EC, ESR_IL } from '../arch/esr.js';

/** Thrown (as a value, not an Error) after an exception has been entered; caught by the run loop. */
export const ExceptionTaken: { readonly name: string } = Object.freeze({ name: 'ExceptionTaken' });

/** Vector offsets by exception type. */
export const VECTOR_SYNC = 0x000;
export const VECTOR_IRQ = 0x080;
export const VECTOR_FIQ = 0x100;
export const VECTOR_SERROR = 0x180;

const SCTLR_EL1 = sr('SCTLR_EL1');
const VBAR_EL1 = sr('VBAR_EL1');
const ESR_EL1 = sr('ESR_EL1');
const ELR_EL1 = sr('ELR_EL1');
const SPSR_EL1 = sr('SPSR_EL1');
const FAR_EL1 = sr('FAR_EL1');
const ESR_EL2 = sr('ESR_EL2');
const ELR_EL2 = sr('ELR_EL2');
const SPSR_EL2 = sr('SPSR_EL2');
const FAR_EL2 = sr('FAR_EL2');
const HCR_EL2 = sr('HCR_EL2');

/** HCR_EL2 bits the interrupt logic reads (all in bits 31:0). */
export const HCR_FMO = 1 << 3;
export const HCR_IMO = 1 << 4;
export const HCR_AMO = 1 << 5;
export const HCR_VF = 1 << 6;
export const HCR_VI = 1 << 7;
export const HCR_VSE = 1 << 8;
export const HCR_TGE = 1 << 27;

/**
 * Enters an exception at `target` (1 or 2) with vector type `vector`.
 * `esr` is the syndrome (ignored for interrupts), (retLo, retHi) the preferred
 * return address, and (farLo, farHi) the fault address when `hasFar`.
 */
export function takeException(pe: PE, target: number, vector: number, esr: number, retLo: number, retHi: number, hasFar: boolean, farLo: number, farHi: number): never {
  enterException(pe, target, vector, esr, retLo, retHi, hasFar, farLo, farHi);
  throw ExceptionTaken;
}

/**
 * The exception entry of takeException without the unwinding throw, for an
 * instruction that is the last of its block (pe.syncExceptionAtBlockEnd):
 * the run loop sees pe.exitReason after the block. A JavaScript throw costs
 * about half a microsecond, which an HVC round trip cannot afford.
 */
export function enterException(pe: PE, target: number, vector: number, esr: number, retLo: number, retHi: number, hasFar: boolean, farLo: number, farHi: number): void {
  if (pe.onException !== null) pe.onException(pe, target, vector, esr, (BigInt(retHi >>> 0) << 32n) | BigInt(retLo >>> 0));
  const spsr = pe.getPstate();
  pe.exclPa = -1;
  if (target === 2) {
    if (vector === VECTOR_SYNC) pe.setSr(ESR_EL2, esr, 0);
    pe.setSr(ELR_EL2, retLo, retHi);
    pe.setSr(SPSR_EL2, spsr, 0);
    if (hasFar) pe.setSr(FAR_EL2, farLo, farHi);
    pe.el2Vector = vector;
    pe.saveSp();
    pe.el = 2;
    pe.spsel = 1;
    pe.waiting = false;
    pe.exitReason = RunExit.El2;
    return;
  }
  const from = pe.el;
  if (vector === VECTOR_SYNC) pe.setSr(ESR_EL1, esr, 0);
  pe.setSr(ELR_EL1, retLo, retHi);
  pe.setSr(SPSR_EL1, spsr, 0);
  if (hasFar) pe.setSr(FAR_EL1, farLo, farHi);
  const base = from === 0 ? 0x400 : pe.spsel ? 0x200 : 0;
  const vlo = pe.getSrLo(VBAR_EL1) & ~0x7ff;
  const vhi = pe.getSrHi(VBAR_EL1);
  pe.saveSp();
  pe.el = 1;
  pe.spsel = 1;
  pe.loadSp();
  pe.daif = 0xf;
  pe.ss = 0;
  pe.il = 0;
  // FEAT_UAO: PSTATE.UAO is cleared on exception entry.
  pe.uao = 0;
  // SCTLR_EL1.SPAN == 0 sets PSTATE.PAN on exception entry to EL1.
  if ((pe.getSrLo(SCTLR_EL1) & (1 << 23)) === 0) pe.pan = 1;
  pe.updateTlbSelection();
  pe.pcLo = ((vlo >>> 0) + base + vector) >>> 0;
  pe.pcHi = vhi >>> 0;
  pe.waiting = false;
  pe.irqCheck = true;
}

/**
 * Takes a pending, unmasked interrupt, if any (AArch64 interrupt masking and
 * routing for a PE whose EL2 is L0: physical interrupts routed by
 * HCR_EL2.IMO/FMO/AMO go to EL2 whatever PSTATE says; virtual ones go to EL1).
 * Clears `pe.waiting` when anything is pending, masked or not, as WFI wakes.
 */
export function checkInterrupts(pe: PE): void {
  const hcr = pe.getSrLo(HCR_EL2);
  const virq = (hcr & HCR_VI) !== 0 || pe.virqLine;
  const vfiq = (hcr & HCR_VF) !== 0 || pe.vfiqLine;
  const vse = (hcr & HCR_VSE) !== 0;
  const irq = pe.irqLine, fiq = pe.fiqLine;
  if (!(irq || fiq || virq || vfiq || vse)) {
    if (pe.il) illegalExecutionState(pe);
    return;
  }
  const inGuest = pe.el < 2;
  // Physical interrupts routed to EL2.
  if (inGuest && ((irq && (hcr & HCR_IMO)) || (fiq && (hcr & HCR_FMO)))) {
    pe.waiting = false;
    takeException(pe, 2, irq && hcr & HCR_IMO ? VECTOR_IRQ : VECTOR_FIQ, 0, pe.pcLo, pe.pcHi, false, 0, 0);
  }
  const imo = (hcr & HCR_IMO) !== 0, fmo = (hcr & HCR_FMO) !== 0, amo = (hcr & HCR_AMO) !== 0;
  const wantFiq = (fiq && !fmo) || (vfiq && fmo);
  const wantIrq = (irq && !imo) || (virq && imo);
  const wantSe = vse && amo;
  if (wantFiq || wantIrq || wantSe) pe.waiting = false;
  if (wantSe && !(pe.daif & DAIF_A)) {
    pe.setSr(HCR_EL2, hcr & ~HCR_VSE, pe.getSrHi(HCR_EL2));
    takeException(pe, 1, VECTOR_SERROR, 0, pe.pcLo, pe.pcHi, false, 0, 0);
  }
  if (wantFiq && !(pe.daif & DAIF_F)) takeException(pe, 1, VECTOR_FIQ, 0, pe.pcLo, pe.pcHi, false, 0, 0);
  if (wantIrq && !(pe.daif & DAIF_I)) takeException(pe, 1, VECTOR_IRQ, 0, pe.pcLo, pe.pcHi, false, 0, 0);
  if (pe.il) illegalExecutionState(pe);
}

/**
 * The Illegal Execution state exception (EC 0x0E): after an illegal exception
 * return PSTATE.IL is set, and the next instruction the PE attempts to execute
 * takes this exception instead (checked at the block boundary the exception
 * return ends). Taken to EL1, or to EL2 from EL0 with HCR_EL2.TGE set.
 */
export function illegalExecutionState(pe: PE): never {
  const target = pe.el === 0 && pe.getSrLo(HCR_EL2) & HCR_TGE ? 2 : Math.max(pe.el, 1);
  takeException(pe, target, VECTOR_SYNC, (EC.ILLEGAL_STATE << 26) | ESR_IL, pe.pcLo, pe.pcHi, false, 0, 0);
}

/**
 * AArch64.SystemAccessTrap(EL1 or EL2, ec): a trapped system instruction with
 * syndrome `esr`, preferred return address the instruction itself. A trap
 * "to EL1" from EL0 goes to EL2 when HCR_EL2.TGE is set.
 */
export function systemAccessTrap(pe: PE, target: number, esr: number): never {
  if (target === 1 && pe.el === 0 && pe.getSrLo(HCR_EL2) & HCR_TGE) target = 2;
  pe.syncException(target, esr, false);
}

/**
 * Whether a WFI/WFE wake-up event is pending: any interrupt the PE would
 * take or that is pending but masked by PSTATE (masked interrupts still wake
 * a PE from WFI). The same condition that clears `pe.waiting` in
 * checkInterrupts.
 */
export function wakeupPending(pe: PE): boolean {
  const hcr = pe.getSrLo(HCR_EL2);
  if (pe.irqLine || pe.fiqLine) return true;
  const virq = (hcr & HCR_VI) !== 0 || pe.virqLine;
  const vfiq = (hcr & HCR_VF) !== 0 || pe.vfiqLine;
  return (virq && (hcr & HCR_IMO) !== 0) || (vfiq && (hcr & HCR_FMO) !== 0) || ((hcr & HCR_VSE) !== 0 && (hcr & HCR_AMO) !== 0);
}

/**
 * Whether a load/store with SP as its base register must check SP
 * alignment (SCTLR_EL1.SA at EL1, SA0 at EL0).
 */
export function spAlignmentChecked(pe: PE): boolean {
  return (pe.getSrLo(SCTLR_EL1) & (pe.el === 0 ? 1 << 4 : 1 << 3)) !== 0;
}

/**
 * The SP alignment fault (EC 0x26): a load or store whose base register is
 * SP, with SP[3:0] != 0 and the check enabled (spAlignmentChecked). The
 * check is on SP itself, before any offset or writeback. Taken to EL1 (EL2
 * from EL0 with HCR_EL2.TGE); FAR is not written.
 */
export function spAlignmentFault(pe: PE): never {
  systemAccessTrap(pe, 1, ((EC.SP_ALIGN << 26) | ESR_IL) >>> 0);
}
