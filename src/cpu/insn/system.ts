/**
 * System instructions: the HINT space, barriers, CLREX.
 */
import { InsnDef, InsnFlags } from '../decoder.js';

const END = InsnFlags.EndsBlock;
const HINTS: Record<number, string> = { 0: 'nop', 1: 'yield', 2: 'wfe', 3: 'wfi', 4: 'sev', 5: 'sevl' };

export const systemInsns: InsnDef[] = [
  {
    // HINT #imm: CRm:op2. WFE/WFI end the block; every other hint (including PAC and BTI ones) is a NOP.
    name: 'HINT', pattern: '11010101 00000011 0010 CRm:4 op2:3 11111', cls: 'system',
    build: (f) => {
      const imm = (f.CRm << 3) | f.op2;
      if (imm === 3) return (pe) => pe.waitForInterrupt();
      return () => {};
    },
    disasm: (f) => HINTS[(f.CRm << 3) | f.op2] ?? `hint #${(f.CRm << 3) | f.op2}`,
  },
  {
    // DSB, DMB, ISB (CRm is the option). ISB ends the block so that context changes take effect.
    name: 'BARRIER', pattern: '11010101 00000011 0011 CRm:4 1 op:2 11111', cls: 'system', flags: END,
    valid: (f) => f.op !== 0,
    build: () => () => {},
    disasm: (f) => `${['', 'dsb', 'dmb', 'isb'][f.op]}${f.op === 3 ? '' : ` #${f.CRm}`}`,
  },
  {
    name: 'CLREX', pattern: '11010101 00000011 0011 CRm:4 010 11111', cls: 'system',
    build: () => (pe) => { pe.exclPa = -1; },
    disasm: () => 'clrex',
  },
];
