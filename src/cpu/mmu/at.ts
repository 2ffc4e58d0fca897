/** Address translation instructions (AT S1E1R and friends). (Placeholder until the MMU work lands.) */
import type { PE } from '../pe.js';

/** Executes AT <op> with operands op1, CRm, op2 and Xt = (valo, vahi), writing PAR_EL1. */
export function atExecute(_pe: PE, _op1: number, _crm: number, _op2: number, _valo: number, _vahi: number): void {}
