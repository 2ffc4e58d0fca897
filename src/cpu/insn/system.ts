/**
 * System instructions: the HINT space (NOP, YIELD, WFE, WFI, SEV, SEVL and
 * the hints this PE treats as NOP), barriers, CLREX, MSR (immediate) to the
 * PSTATE fields, and ERET.
 *
 * The cache, TLB and address translation instructions (SYS/SYSL) are in
 * sys_ops.ts; MRS/MSR (register) in sysreg.ts.
 */
import { InsnDef, InsnFlags, Op } from '../decoder.js';
import type { PE } from '../pe.js';
import { EC, ESR_IL } from '../../arch/esr.js';
import { sr } from '../../arch/sysregs.js';
import { SPSR_IL, SPSR_M_AARCH32 } from '../pstate.js';
import { systemAccessTrap, wakeupPending } from '../exceptions.js';
import { HCR_TWE, HCR_TWI, SCTLR_NTWE, SCTLR_NTWI, SCTLR_UMA, sysEsr } from './sysreg.js';
import { hex } from './regs.js';

const END = InsnFlags.EndsBlock;
const BARRIER_OPTIONS: Record<number, string> = { 1: 'oshld', 2: 'oshst', 3: 'osh', 5: 'nshld', 6: 'nshst', 7: 'nsh', 9: 'ishld', 10: 'ishst', 11: 'ish', 13: 'ld', 14: 'st', 15: 'sy' };
const HINTS: Record<number, string> = { 0: 'nop', 1: 'yield', 2: 'wfe', 3: 'wfi', 4: 'sev', 5: 'sevl' };

const HCR_EL2 = sr('HCR_EL2');
const SCTLR_EL1 = sr('SCTLR_EL1');
const SPSR_EL1 = sr('SPSR_EL1');
const ELR_EL1 = sr('ELR_EL1');
const HCR_TGE = 1 << 27;

/** ESR of a trapped WFI (ti 0) or WFE (ti 1): EC 0x01, CV=1, COND=0b1110 (AArch64 instructions are unconditional). */
const wfxEsr = (ti: number): number => ((EC.WFX << 26) | ESR_IL | (1 << 24) | (0xe << 20) | ti) >>> 0;

/**
 * AArch64.CheckForWFxTrap: at EL0, SCTLR_EL1.nTWI/nTWE = 0 traps to EL1;
 * then HCR_EL2.TWI/TWE traps to EL2. Called only when the instruction would
 * otherwise wait (the traps apply only if the PE would enter a low-power state).
 */
function checkWfxTrap(pe: PE, wfe: boolean): void {
  const esr = wfxEsr(wfe ? 1 : 0);
  if (pe.el === 0 && (pe.sr[2 * SCTLR_EL1] & (wfe ? SCTLR_NTWE : SCTLR_NTWI)) === 0) systemAccessTrap(pe, 1, esr);
  if (pe.sr[2 * HCR_EL2] & (wfe ? HCR_TWE : HCR_TWI)) pe.syncException(2, esr, false);
}

const wfi: Op = (pe) => {
  // A pending interrupt (masked or not) makes WFI complete at once.
  if (wakeupPending(pe)) return;
  checkWfxTrap(pe, false);
  pe.waitForInterrupt();
};

const wfe: Op = (pe) => {
  // WFE consumes a set Event Register and continues; otherwise it waits like WFI (events from other PEs come with SMP).
  if (pe.eventRegister) {
    pe.eventRegister = false;
    return;
  }
  if (wakeupPending(pe)) return;
  checkWfxTrap(pe, true);
  pe.waitForInterrupt();
};

/**
 * IllegalExceptionReturn(spsr) for an ERET at EL1: AArch32 (not implemented),
 * a reserved mode, EL0 with SP_EL1 selected, a higher Exception level, or EL1
 * while HCR_EL2.TGE is set.
 */
export function illegalReturn(pe: PE, spsr: number): boolean {
  if (spsr & SPSR_M_AARCH32) return true;
  const m = spsr & 0xf;
  const target = m >>> 2;
  if (m & 2) return true;
  if (target === 0 && (m & 1) !== 0) return true;
  if (target > pe.el) return true;
  if (target === 1 && (pe.sr[2 * HCR_EL2] & HCR_TGE) !== 0) return true;
  return false;
}

/**
 * ERET at EL1 (AArch64.ExceptionReturn): PC from ELR_EL1, PSTATE from
 * SPSR_EL1. An illegal return keeps the Exception level and stack pointer
 * selection, restores the other fields, and sets PSTATE.IL, so that the next
 * instruction takes an Illegal Execution state exception. Clears the local
 * exclusive monitor and sets the Event Register.
 */
const eret: Op = (pe) => {
  if (pe.el === 0) pe.undefinedInstruction();
  const spsr = pe.sr[2 * SPSR_EL1] >>> 0;
  const lo = pe.sr[2 * ELR_EL1] >>> 0, hi = pe.sr[2 * ELR_EL1 + 1] >>> 0;
  pe.exclPa = -1;
  pe.eventRegister = true;
  if (illegalReturn(pe, spsr)) pe.setPstate(((spsr & ~0x1f) | (pe.el << 2) | pe.spsel | SPSR_IL) >>> 0);
  else pe.setPstate(spsr);
  pe.branchTo(lo, hi);
};

/** MSR (immediate) PSTATE field names by op1:op2. */
const PSTATE_FIELDS: Record<number, string> = { 0o03: 'uao', 0o04: 'pan', 0o05: 'spsel', 0o36: 'daifset', 0o37: 'daifclr' };

function buildMsrImm(op1: number, crm: number, op2: number): Op {
  const which = PSTATE_FIELDS[(op1 << 3) | op2];
  // The syndrome of a trapped MSR (immediate): Op0=0, CRn=4, Rt=0b11111, direction write.
  const esr = sysEsr(0, op1, 4, crm, op2, 31, 0);
  const el1Only = (f: Op): Op => (pe) => {
    if (pe.el === 0) pe.undefinedInstruction();
    f(pe);
  };
  // DAIFSet/DAIFClr at EL0 need SCTLR_EL1.UMA, else they trap to EL1.
  const daif = (f: Op): Op => (pe) => {
    if (pe.el === 0 && (pe.sr[2 * SCTLR_EL1] & SCTLR_UMA) === 0) systemAccessTrap(pe, 1, esr);
    f(pe);
  };
  switch (which) {
    case 'spsel': return el1Only((pe) => pe.setSpsel(crm & 1));
    case 'pan': return el1Only((pe) => { if (!pe.features.pan) pe.undefinedInstruction(); pe.setPan(crm & 1); });
    case 'uao': return el1Only((pe) => { if (!pe.features.uao) pe.undefinedInstruction(); pe.uao = crm & 1; });
    case 'daifset': return daif((pe) => pe.setDaif(pe.daif | crm));
    case 'daifclr': return daif((pe) => pe.setDaif(pe.daif & ~crm));
    default: return (pe) => pe.undefinedInstruction();
  }
}

export const systemInsns: InsnDef[] = [
  {
    // HINT #imm: CRm:op2. The hints with their own definitions below win over this one; every other hint
    // (YIELD, and the PAC, BTI, ESB, CSDB... ones of features this PE does not advertise) is a NOP.
    name: 'HINT', pattern: '11010101 00000011 0010 CRm:4 op2:3 11111', cls: 'system',
    build: () => () => {},
    disasm: (f) => HINTS[(f.CRm << 3) | f.op2] ?? `hint #${hex((f.CRm << 3) | f.op2)}`,
  },
  {
    name: 'WFI', pattern: '11010101 00000011 0010 0000 011 11111', cls: 'system', flags: END,
    build: () => wfi,
    disasm: () => 'wfi',
  },
  {
    name: 'WFE', pattern: '11010101 00000011 0010 0000 010 11111', cls: 'system', flags: END,
    build: () => wfe,
    disasm: () => 'wfe',
  },
  {
    // SEV signals an event to every PE (with a single PE, to itself).
    name: 'SEV', pattern: '11010101 00000011 0010 0000 100 11111', cls: 'system',
    build: () => (pe) => { pe.eventRegister = true; },
    disasm: () => 'sev',
  },
  {
    // SEVL signals an event to this PE.
    name: 'SEVL', pattern: '11010101 00000011 0010 0000 101 11111', cls: 'system',
    build: () => (pe) => { pe.eventRegister = true; },
    disasm: () => 'sevl',
  },
  {
    // DSB (op2 = 100), DMB (101), ISB (110); CRm is the option. op2 = 111 is SB (FEAT_SB, not advertised).
    // The PE is in-order and single-copy: barriers only end the block, so that context changes take effect.
    name: 'BARRIER', pattern: '11010101 00000011 0011 CRm:4 1 op:2 11111', cls: 'system', flags: END,
    valid: (f) => f.op !== 3,
    build: () => () => {},
    disasm: (f) => {
      if (f.op === 2) return f.CRm === 15 ? 'isb' : `isb #${hex(f.CRm)}`;
      if (f.op === 0 && f.CRm === 0) return 'ssbb';
      if (f.op === 0 && f.CRm === 4) return 'pssbb';
      return `${f.op === 0 ? 'dsb' : 'dmb'} ${BARRIER_OPTIONS[f.CRm] ?? `#${hex(f.CRm)}`}`;
    },
  },
  {
    name: 'CLREX', pattern: '11010101 00000011 0011 CRm:4 010 11111', cls: 'system',
    build: () => (pe) => { pe.exclPa = -1; },
    disasm: () => 'clrex',
  },
  {
    // MSR <pstatefield>, #imm: SPSel, PAN, UAO, DAIFSet, DAIFClr; other fields (SSBS, DIT, TCO, CFINV...) belong to
    // features this PE does not have and are UNDEFINED.
    name: 'MSR_imm', pattern: '11010101 00000 op1:3 0100 CRm:4 op2:3 11111', cls: 'system', flags: END,
    build: (f) => buildMsrImm(f.op1, f.CRm, f.op2),
    disasm: (f) => {
      const which = PSTATE_FIELDS[(f.op1 << 3) | f.op2];
      return which === undefined ? `msr s0_${f.op1}_c4_c${f.CRm}_${f.op2}, xzr` : `msr ${which}, #${hex(f.CRm)}`;
    },
  },
  {
    name: 'ERET', pattern: '11010110 10011111 00000011 11100000', cls: 'system', flags: InsnFlags.Branch | END,
    build: () => eret,
    disasm: () => 'eret',
  },
];
