/**
 * Exception-generating instructions: SVC, HVC, SMC, BRK, HLT, and the
 * DCPS/ERET forms that are not allowed below EL2 here.
 */
import { InsnDef, InsnFlags } from '../decoder.js';
import { EC, ESR_IL } from '../../arch/esr.js';
import { sr } from '../../arch/sysregs.js';
import { hex } from './regs.js';

const END = InsnFlags.EndsBlock;
const HCR_EL2 = sr('HCR_EL2');
const HCR_TSC = 1 << 19;
const HCR_TGE = 1 << 27;
const MDCR_EL2 = sr('MDCR_EL2');
const MDCR_TDE = 1 << 8;
/** HCR_EL2.HCD is bit 29: HVC is UNDEFINED at EL1 when set. */
const HCR_HCD = 1 << 29;

export const exceptionInsns: InsnDef[] = [
  {
    name: 'SVC', pattern: '11010100 000 imm16:16 000 01', cls: 'exception', flags: END,
    build: (f) => {
      const esr = (EC.SVC64 << 26) | ESR_IL | f.imm16;
      return (pe) => pe.syncException(pe.el === 0 && pe.getSrLo(HCR_EL2) & HCR_TGE ? 2 : Math.max(pe.el, 1), esr, true);
    },
    disasm: (f) => `svc #${hex(f.imm16)}`,
  },
  {
    name: 'HVC', pattern: '11010100 000 imm16:16 000 10', cls: 'exception', flags: END,
    build: (f) => {
      const esr = (EC.HVC64 << 26) | ESR_IL | f.imm16;
      return (pe) => {
        if (pe.el === 0 || (pe.el === 1 && pe.getSrLo(HCR_EL2) & HCR_HCD)) pe.undefinedInstruction();
        // HVC ends its block, so the exception is entered without a throw (the common hypercall path).
        pe.syncExceptionAtBlockEnd(2, esr, true);
      };
    },
    disasm: (f) => `hvc #${hex(f.imm16)}`,
  },
  {
    name: 'SMC', pattern: '11010100 000 imm16:16 000 11', cls: 'exception', flags: END,
    build: (f) => {
      // With no EL3, SMC is UNDEFINED unless HCR_EL2.TSC traps it to EL2 (which takes priority at EL1).
      const esr = (EC.SMC64 << 26) | ESR_IL | f.imm16;
      return (pe) => {
        if (pe.el === 1 && pe.getSrLo(HCR_EL2) & HCR_TSC) pe.syncException(2, esr, false);
        pe.undefinedInstruction();
      };
    },
    disasm: (f) => `smc #${hex(f.imm16)}`,
  },
  {
    name: 'BRK', pattern: '11010100 001 imm16:16 000 00', cls: 'exception', flags: END,
    build: (f) => {
      const esr = (EC.BRK64 << 26) | ESR_IL | f.imm16;
      // AArch64.SoftwareBreakpoint: routed to EL2 from EL0/EL1 when HCR_EL2.TGE (from EL0) or MDCR_EL2.TDE is set.
      return (pe) => pe.syncException((pe.el === 0 && pe.getSrLo(HCR_EL2) & HCR_TGE) || (pe.el < 2 && pe.getSrLo(MDCR_EL2) & MDCR_TDE) ? 2 : Math.max(pe.el, 1), esr, false);
    },
    disasm: (f) => `brk #${hex(f.imm16)}`,
  },
  {
    // HLT is for halting debug, which this PE does not have: UNDEFINED.
    name: 'HLT', pattern: '11010100 010 imm16:16 000 00', cls: 'exception', flags: END,
    build: () => (pe) => pe.undefinedInstruction(),
    disasm: (f) => `hlt #${hex(f.imm16)}`,
  },
];
