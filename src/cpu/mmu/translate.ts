/**
 * Address translation for data and instruction accesses of the EL1&0 regime:
 * stage 1 (when SCTLR_EL1.M is set) followed by stage 2 (when HCR_EL2.VM is
 * set). On success returns the physical address and sets pe.lastXlPerms,
 * pe.lastXlAsid and pe.lastXlSizeLog2 for the TLB; on failure raises the
 * fault (AArch64.TranslateAddress and its callers; the walk is walk.ts).
 *
 * Which privilege the permissions are for follows the TLB the PE has
 * selected (pe.tlb): the EL0 TLB means EL0 permissions (also for the
 * unprivileged loads and stores at EL1, which select it), the EL1-PAN TLB
 * means EL1 with PSTATE.PAN set. The TLB entry that the PE fills then holds
 * exactly the permissions of that privilege.
 */
import type { PE } from '../pe.js';
import { TlbIndex } from '../pe.js';
import { EC, ESR_IL } from '../../arch/esr.js';
import { sr } from '../../arch/sysregs.js';
import { takeException } from '../exceptions.js';
import { Access, XlResult, walk, combineS2Attr } from './walk.js';

export { Access, XlResult } from './walk.js';

const SR_HPFAR_EL2 = sr('HPFAR_EL2');
const SR_HCR_EL2 = sr('HCR_EL2');
const TWO32 = 4294967296;

const result = new XlResult();

/**
 * What the PE's TLBs may hold beyond plain 4K-page, untagged entries, so
 * that TLBI by VA knows when dropping one slot per TLB is not enough: an
 * entry from a block larger than 4K (the TLB holds its 4K pages one by one),
 * or from a VA whose top byte was ignored (TBI) and is not the sign
 * extension of VA[55]. Cleared when all TLBs are flushed by tlbi.ts.
 */
export class TlbShape {
  large = false;
  tagged = false;
}
const shapes = new WeakMap<PE, TlbShape>();

export function tlbShape(pe: PE): TlbShape {
  let s = shapes.get(pe);
  if (s === undefined) {
    s = new TlbShape();
    shapes.set(pe, s);
  }
  return s;
}

/** Translates VA (lo, hi) for `acc`, raising the fault as an exception. */
export function translate(pe: PE, lo: number, hi: number, acc: Access): number {
  const t = pe.tlb;
  const el0 = t === pe.tlbs[TlbIndex.EL0];
  const pan = t === pe.tlbs[TlbIndex.EL1_PAN];
  const r = result;
  const pa = walk(pe, lo, hi, acc, el0, pan, true, r);
  if (pa < 0) raiseFault(pe, lo, hi, acc, r);
  pe.lastXlPerms = r.perms;
  pe.lastXlAsid = r.asid;
  pe.lastXlSizeLog2 = r.sizeLog2;
  const hcr = pe.sr[2 * SR_HCR_EL2];
  const attr = hcr & 1 && !(hcr & (1 << 27)) ? combineS2Attr(r.attr, r.memattr2) : r.attr;
  pe.lastXlDevice = (attr & 0xf0) === 0;
  if (r.sizeLog2 > 12) tlbShape(pe).large = true;
  const top = (hi | 0) >> 23;
  if (top !== 0 && top !== -1) tlbShape(pe).tagged = true;
  return pa;
}

/** Raises the fault a walk recorded in `r`, for an access `acc` to VA (lo, hi). */
export function raiseFault(pe: PE, lo: number, hi: number, acc: Access, r: XlResult): never {
  if (!r.stage2) {
    // Stage-1 faults go to EL1 (or to EL2 from EL0 with HCR_EL2.TGE), ISV = 0.
    if (acc === Access.Exec) pe.instructionAbort(lo, hi, r.fsc);
    pe.dataAbort(lo, hi, r.fsc, acc === Access.Write, false);
  }
  raiseStage2Fault(pe, lo, hi, acc, r, true);
}

/**
 * Takes a stage-2 fault to EL2 (AArch64.Abort for a second-stage fault):
 * ESR_EL2 with EC 0x20/0x24, the FSC with its level, S1PTW, WnR, and for a
 * data abort on the access itself (not on a stage-1 walk) the instruction
 * syndrome (ISV and friends) from pe.dataIss when `withIss`; FAR_EL2 = VA;
 * HPFAR_EL2.FIPA = IPA[51:12] at bits [43:4].
 */
export function raiseStage2Fault(pe: PE, lo: number, hi: number, acc: Access, r: XlResult, withIss: boolean): never {
  const fipa = Math.floor(r.ipa / 4096) * 16;
  pe.setSr(SR_HPFAR_EL2, fipa % TWO32 | 0, Math.floor(fipa / TWO32) | 0);
  const s1ptw = r.s1ptw ? 1 << 7 : 0;
  if (acc === Access.Exec) {
    takeException(pe, 2, 0, (EC.IABT_LOWER << 26) | ESR_IL | s1ptw | r.fsc, lo, hi, true, lo, hi);
  }
  // WnR follows the access also for S1PTW faults (as QEMU reports it).
  let iss = r.fsc | s1ptw | (acc === Access.Write ? 1 << 6 : 0);
  if (withIss && !r.s1ptw) iss |= pe.dataIss;
  const [plo, phi] = pe.insnAddr();
  takeException(pe, 2, 0, (EC.DABT_LOWER << 26) | ESR_IL | iss, plo, phi, true, lo, hi);
}
