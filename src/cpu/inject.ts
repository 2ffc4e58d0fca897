/**
 * Exception injection by the hypervisor: while the PE is stopped at EL2 (after
 * `run()` returned `RunExit.El2`), L0 can make the guest take a synchronous
 * exception at EL1 when it resumes, the way KVM's inject_undef/inject_abt do:
 * the guest's return state moves into ELR_EL1/SPSR_EL1, and the EL2 return
 * state is pointed at the EL1 vector.
 */
import type { PE } from './pe.js';
import { sr } from '../arch/sysregs.js';
import { EC, ESR_IL, FSC } from '../arch/esr.js';
import { SPSR_PAN } from './pstate.js';

const ELR_EL2 = sr('ELR_EL2');
const SPSR_EL2 = sr('SPSR_EL2');
const ELR_EL1 = sr('ELR_EL1');
const SPSR_EL1 = sr('SPSR_EL1');
const ESR_EL1 = sr('ESR_EL1');
const FAR_EL1 = sr('FAR_EL1');
const VBAR_EL1 = sr('VBAR_EL1');
const SCTLR_EL1 = sr('SCTLR_EL1');

/**
 * Arranges for the guest to take a synchronous exception with syndrome `esr`
 * at EL1 on the next `eretFromEl2()`. `far` is written to FAR_EL1 when given.
 */
export function injectSyncToEl1(pe: PE, esr: number, far?: bigint): void {
  if (pe.el !== 2) throw new Error('injectSyncToEl1: the PE is not stopped at EL2');
  const spsr = pe.getSrLo(SPSR_EL2) >>> 0;
  const fromEl = (spsr >>> 2) & 3;
  const fromSpx = spsr & 1;
  pe.setSr(ELR_EL1, pe.getSrLo(ELR_EL2), pe.getSrHi(ELR_EL2));
  pe.setSr(SPSR_EL1, spsr, 0);
  pe.setSr(ESR_EL1, esr, 0);
  if (far !== undefined) pe.setSr(FAR_EL1, Number(far & 0xffffffffn) | 0, Number((far >> 32n) & 0xffffffffn) | 0);
  const offset = fromEl === 0 ? 0x400 : fromSpx ? 0x200 : 0;
  const vlo = ((pe.getSrLo(VBAR_EL1) & ~0x7ff) >>> 0) + offset;
  pe.setSr(ELR_EL2, vlo | 0, pe.getSrHi(VBAR_EL1));
  // EL1h with D, A, I, F masked; PAN set on entry when SCTLR_EL1.SPAN is 0.
  let pstate = (0xf << 6) | (1 << 2) | 1;
  if (spsr & SPSR_PAN || (pe.getSrLo(SCTLR_EL1) & (1 << 23)) === 0) pstate |= SPSR_PAN;
  pe.setSr(SPSR_EL2, pstate, 0);
}

/** Injects an Undefined Instruction exception (EC 0) at the trapped instruction. */
export function injectUndefined(pe: PE): void {
  injectSyncToEl1(pe, (EC.UNKNOWN << 26) | ESR_IL);
}

/**
 * Injects a synchronous external data abort (or instruction abort when
 * `instruction`) for address `far`, as KVM does for a guest access that no
 * memory or device backs.
 */
export function injectAbort(pe: PE, far: bigint, instruction = false): void {
  const fromLower = ((pe.getSrLo(SPSR_EL2) >>> 2) & 3) === 0;
  const ec = instruction ? (fromLower ? EC.IABT_LOWER : EC.IABT_CUR) : fromLower ? EC.DABT_LOWER : EC.DABT_CUR;
  injectSyncToEl1(pe, (ec << 26) | ESR_IL | FSC.SYNC_EXTERNAL, far);
}
