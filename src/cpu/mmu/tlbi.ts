/** TLB maintenance (TLBI) for the EL1&0 regime. (Placeholder until the MMU work lands: invalidates everything, which the architecture allows.) */
import type { PE } from '../pe.js';

/** Executes TLBI <op> with operands op1, CRm, op2 (the SYS encoding) and Xt = (valo, vahi). */
export function tlbiExecute(pe: PE, _op1: number, _crm: number, _op2: number, _valo: number, _vahi: number): void {
  pe.flushTlbs();
}
