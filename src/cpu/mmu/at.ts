/**
 * Address translation instructions (AT, SYS with CRn = 7): S1E1R/W, S1E0R/W,
 * S1E1RP/WP (FEAT_PAN2), and the EL2 forms S12E1R/W, S12E0R/W, writing
 * PAR_EL1 (AArch64.AT_S1E1 / AArch64.AT_S12 and AArch64.EncodePAR).
 *
 * Faults of the translation are reported in PAR_EL1 (F = 1, FST, PTW, S)
 * instead of being taken, except for a stage-2 fault on the stage-1 walk of
 * a stage-1-only AT executed with stage 2 enabled, which is taken to EL2 as
 * a data abort with S1PTW set.
 */
import type { PE } from '../pe.js';
import { sr } from '../../arch/sysregs.js';
import { FSC } from '../../arch/esr.js';
import { PAR_F, PAR_FST_SHIFT, PAR_PTW, PAR_S, PAR_SH_SHIFT, PAR_RES1, PAR_HI_ATTR_SHIFT, HCR_VM, HCR_TGE } from '../../arch/vmsa.js';
import { Access, XlResult, walk, combineS2Attr } from './walk.js';
import { raiseStage2Fault } from './translate.js';

const SR_PAR_EL1 = sr('PAR_EL1');
const SR_HCR_EL2 = sr('HCR_EL2');
const TWO32 = 4294967296;
/** PAR_EL1.NS (bit 9) for a successful translation: the EL1&0 regime here is Non-secure. */
const PAR_NS = 1 << 9;

const result = new XlResult();

/**
 * Translates VA (valo, vahi) as AT would and returns PAR_EL1 as [lo, hi]
 * without writing it. `el0` selects EL0 permissions, `pan` applies
 * PSTATE.PAN, `write` checks write permission, `s12` includes stage 2 of
 * the output (AT S12*). Raises only the S1PTW case described above.
 */
export function atTranslate(pe: PE, valo: number, vahi: number, write: boolean, el0: boolean, pan: boolean, s12: boolean): [number, number] {
  const r = result;
  const acc = write ? Access.Write : Access.Read;
  const pa = walk(pe, valo, vahi, acc, el0, pan, s12, r);
  if (pa < 0) {
    if (r.stage2 && !s12) raiseStage2Fault(pe, valo, vahi, acc, r, false);
    const lo = PAR_F | (r.fsc << PAR_FST_SHIFT) | (r.s1ptw ? PAR_PTW : 0) | (r.stage2 ? PAR_S : 0) | PAR_RES1;
    return [lo, 0];
  }
  const hcr = pe.getSrLo(SR_HCR_EL2);
  const attr = s12 && hcr & HCR_VM && !(hcr & HCR_TGE) ? combineS2Attr(r.attr, r.memattr2) : r.attr;
  // Device and Normal Non-cacheable memory is reported Outer Shareable.
  const sh = (attr & 0xf0) === 0 || attr === 0x44 ? 2 : r.sh;
  const lo = ((pa % TWO32) & ~0xfff) | (sh << PAR_SH_SHIFT) | PAR_NS | PAR_RES1;
  const hi = (Math.floor(pa / TWO32) & 0xfffff) | (attr << PAR_HI_ATTR_SHIFT);
  return [lo | 0, hi | 0];
}

/** Executes AT <op> with operands op1, CRm, op2 and Xt = (valo, vahi), writing PAR_EL1. */
export function atExecute(pe: PE, op1: number, crm: number, op2: number, valo: number, vahi: number): void {
  let par: [number, number];
  const write = (op2 & 1) !== 0;
  if (op1 === 0 && crm === 8 && op2 < 4) {
    // S1E1R, S1E1W, S1E0R, S1E0W: PSTATE.PAN does not apply.
    par = atTranslate(pe, valo, vahi, write, op2 >= 2, false, false);
  } else if (op1 === 0 && crm === 9 && op2 < 2) {
    // S1E1RP, S1E1WP: as S1E1R/W with PSTATE.PAN applied.
    par = atTranslate(pe, valo, vahi, write, false, pe.pan !== 0, false);
  } else if (op1 === 4 && crm === 8 && op2 >= 4) {
    // S12E1R, S12E1W, S12E0R, S12E0W.
    par = atTranslate(pe, valo, vahi, write, op2 >= 6, false, true);
  } else {
    // The EL2 and EL3 regimes are not translated by this PE: report a level-0 Translation fault.
    par = [PAR_F | (FSC.TRANSLATION << PAR_FST_SHIFT) | PAR_RES1, 0];
  }
  pe.setSr(SR_PAR_EL1, par[0], par[1]);
}
