/**
 * MRS and MSR (register): the system registers of EL0 and EL1, with the
 * architecture's access rules (the AArch64.SysRegRead / AArch64.SysRegWrite
 * accessor pseudocode of each register):
 *
 *  1. at EL0, a register that EL0 may not use is UNDEFINED; one whose EL0
 *     access an EL1 control disables (SCTLR_EL1.UCT, UMA, DZE, UCI;
 *     CNTKCTL_EL1.EL0*EN) traps to EL1 with EC 0x18 (AArch64.SystemAccessTrap);
 *  2. then the EL2 traps (HCR_EL2.TVM/TRVM/TID1/TID2/TID3/TACR/TIDCP,
 *     CNTHCTL_EL2.EL1PCTEN/EL1PCEN, MDCR_EL2.TDA/TDOSA/TDRA/TDE,
 *     CPTR_EL2.TCPAC) raise EC 0x18 to EL2, which ends pe.run() for L0;
 *  3. then the access itself.
 *
 * Registers of EL2 and EL3 (op1 = 4, 6) are UNDEFINED below EL2 (nested
 * virtualization will trap them instead). Read-only registers written and
 * write-only registers read are UNDEFINED, as are unknown encodings, except
 * the unallocated ID space (op0=3, op1=0, CRn=0, CRm=1..7), which reads as
 * zero, and the IMPLEMENTATION DEFINED space (CRn=11, 15), which
 * HCR_EL2.TIDCP traps to EL2.
 *
 * Other devices with system register interfaces (the GIC CPU interface, the
 * PMU) add theirs with `defineSysreg` before the first PE is built.
 */
import { InsnDef, InsnFlags, Op } from '../decoder.js';
import type { PE } from '../pe.js';
import { SYSREG_BY_NAME, SYSREG_BY_KEY, sysregKey, sysregGenericName, sr } from '../../arch/sysregs.js';
import { EC, ESR_IL } from '../../arch/esr.js';
import { systemAccessTrap } from '../exceptions.js';
import { dst, regName, src } from './regs.js';

/** What EL0 may do with a register: the result of an EL0 access rule. */
export const enum El0 {
  Undefined = 0,
  Allowed = 1,
  /** AArch64.SystemAccessTrap(EL1, 0x18). */
  TrapToEl1 = 2,
}

/** Writes the register's value to pe.x[d], pe.x[d+1]. */
export type SysregReader = (pe: PE, d: number) => void;
/** Writes (lo, hi) to the register. */
export type SysregWriter = (pe: PE, lo: number, hi: number) => void;

export interface SysregSpec {
  /** How MRS reads it; omitted: the stored value in pe.sr; null: write-only (reads are UNDEFINED). */
  read?: SysregReader | null;
  /** How MSR writes it; omitted: stores the value; null: read-only (writes are UNDEFINED). */
  write?: SysregWriter | null;
  /** EL0 access rules; omitted: UNDEFINED at EL0. */
  el0Read?: (pe: PE) => El0;
  el0Write?: (pe: PE) => El0;
  /** HCR_EL2 bits [31:0] any of which traps the read / write to EL2. */
  hcrRead?: number;
  hcrWrite?: number;
  /** Other conditions trapping the access to EL2. */
  trapRead?: (pe: PE) => boolean;
  trapWrite?: (pe: PE) => boolean;
  /** CPU feature the register needs (else the encoding is UNDEFINED). */
  feature?: 'pan' | 'uao' | 'lse' | 'crc32';
  /** MSR to it changes PSTATE, translation or interrupt state: it ends the decoded block. */
  endsBlock?: boolean;
}

interface Entry extends SysregSpec {
  readonly key: number;
  /** pe.sr index of the stored value, -1 if none. */
  readonly id: number;
}

const SPECS = new Map<number, Entry>();
/** Set once sysregInsns exists (the register set below is defined before it). */
let insnsReady = false;

// ---- Register ids and control bits ------------------------------------------

const HCR_EL2 = sr('HCR_EL2');
const SCTLR_EL1 = sr('SCTLR_EL1');
const CNTKCTL_EL1 = sr('CNTKCTL_EL1');
const CNTHCTL_EL2 = sr('CNTHCTL_EL2');
const MDCR_EL2 = sr('MDCR_EL2');
const CPTR_EL2 = sr('CPTR_EL2');
const MDSCR_EL1 = sr('MDSCR_EL1');
const CSSELR_EL1 = sr('CSSELR_EL1');
const OSLSR_EL1 = sr('OSLSR_EL1');

export const HCR_TWI = 1 << 13;
export const HCR_TWE = 1 << 14;
export const HCR_TID1 = 1 << 16;
export const HCR_TID2 = 1 << 17;
export const HCR_TID3 = 1 << 18;
export const HCR_TIDCP = 1 << 20;
export const HCR_TACR = 1 << 21;
export const HCR_TSW = 1 << 22;
export const HCR_TPC = 1 << 23;
export const HCR_TPU = 1 << 24;
export const HCR_TTLB = 1 << 25;
export const HCR_TVM = 1 << 26;
export const HCR_TDZ = 1 << 28;
export const HCR_TRVM = 1 << 30;

export const SCTLR_UMA = 1 << 9;
export const SCTLR_DZE = 1 << 14;
export const SCTLR_UCT = 1 << 15;
export const SCTLR_NTWI = 1 << 16;
export const SCTLR_NTWE = 1 << 18;
export const SCTLR_UCI = 1 << 26;

const CNTKCTL_EL0PCTEN = 1 << 0;
const CNTKCTL_EL0VCTEN = 1 << 1;
const CNTKCTL_EL0VTEN = 1 << 8;
const CNTKCTL_EL0PTEN = 1 << 9;
const CNTHCTL_EL1PCTEN = 1 << 0;
const CNTHCTL_EL1PCEN = 1 << 1;
const MDCR_TDE = 1 << 8;
const MDCR_TDA = 1 << 9;
const MDCR_TDOSA = 1 << 10;
const MDCR_TDRA = 1 << 11;
const CPTR_TCPAC = 1 << 31;
const MDSCR_TDCC = 1 << 12;

/** ESR_ELx.ISS of a trapped MSR/MRS/SYS (EC 0x18): Op0, Op2, Op1, CRn, Rt, CRm, Direction (1 = read). */
export function sysIss(op0: number, op1: number, crn: number, crm: number, op2: number, rt: number, read: number): number {
  return (op0 << 20) | (op2 << 17) | (op1 << 14) | (crn << 10) | (rt << 5) | (crm << 1) | read;
}
/** Full ESR value (EC 0x18, IL) for a trapped system instruction. */
export function sysEsr(op0: number, op1: number, crn: number, crm: number, op2: number, rt: number, read: number): number {
  return ((EC.SYS64 << 26) | ESR_IL | sysIss(op0, op1, crn, crm, op2, rt, read)) >>> 0;
}

const sctlr = (pe: PE): number => pe.sr[2 * SCTLR_EL1];
const hcr = (pe: PE): number => pe.sr[2 * HCR_EL2];

// ---- Accessor helpers ------------------------------------------------------------

const readStored = (id: number): SysregReader => (pe, d) => {
  pe.x[d] = pe.sr[2 * id];
  pe.x[d + 1] = pe.sr[2 * id + 1];
};
/** Stores (lo & mlo | set1, hi & mhi); calls pe.sysregChanged when `notify`. */
const writeStored = (id: number, mlo = -1, mhi = -1, set1 = 0, notify = false): SysregWriter =>
  notify
    ? (pe, lo, hi) => {
        pe.sr[2 * id] = (lo & mlo) | set1;
        pe.sr[2 * id + 1] = hi & mhi;
        pe.sysregChanged(id);
      }
    : (pe, lo, hi) => {
        pe.sr[2 * id] = (lo & mlo) | set1;
        pe.sr[2 * id + 1] = hi & mhi;
      };
const readConst = (lo: number, hi = 0): SysregReader => (pe, d) => {
  pe.x[d] = lo;
  pe.x[d + 1] = hi;
};
const readLo = (f: (pe: PE) => number): SysregReader => (pe, d) => {
  pe.x[d] = f(pe);
  pe.x[d + 1] = 0;
};

const allowed = (): El0 => El0.Allowed;
const SP_EL0_KEY = ((): number => {
  const i = SYSREG_BY_NAME.get('SP_EL0')!;
  return sysregKey(i.op0, i.op1, i.crn, i.crm, i.op2);
})();
const el0If = (cond: (pe: PE) => boolean) => (pe: PE): El0 => (cond(pe) ? El0.Allowed : El0.TrapToEl1);
const cntkctl = (mask: number) => el0If((pe) => (pe.sr[2 * CNTKCTL_EL1] & mask) !== 0);
const mdcr = (mask: number) => (pe: PE): boolean => (pe.sr[2 * MDCR_EL2] & (mask | MDCR_TDE)) !== 0;

/**
 * Adds (or replaces) the accessor of a named system register. Call before
 * the first PE is constructed: MSR forms of registers with `endsBlock` get
 * their own instruction definitions when the instruction table is built.
 */
export function defineSysreg(name: string, spec: SysregSpec): void {
  const info = SYSREG_BY_NAME.get(name);
  if (info === undefined) throw new Error(`unknown system register ${name}`);
  const key = sysregKey(info.op0, info.op1, info.crn, info.crm, info.op2);
  SPECS.set(key, { ...spec, key, id: info.id });
  if (insnsReady && spec.endsBlock && spec.write !== null) addEndingMsr(key, name);
}

/** The accessor of an encoding (for tests and the hypervisor's trap emulation). */
export function sysregSpec(key: number): SysregSpec | undefined {
  return lookup(key);
}

/**
 * How MRS of an encoding reads when it is a plain read, for the compiled
 * tiers: 'stored' with the pe.sr id when the read has no feature, trap or
 * special reader (`el0`: whether EL0 may read it, else UNDEFINED there);
 * 'sp_el0' for SP_EL0 (from PE.spBank, UNDEFINED while PSTATE.SP = 0 and at
 * EL0); null for any other (its closure runs).
 */
export function plainSysregRead(key: number): { kind: 'stored'; id: number; el0: boolean } | { kind: 'sp_el0' } | null {
  const e = lookup(key);
  if (e === undefined) return null;
  if (e.key === SP_EL0_KEY) return { kind: 'sp_el0' };
  if (e.read !== undefined || e.id < 0 || e.feature !== undefined || e.hcrRead !== undefined || e.trapRead !== undefined) return null;
  if (e.el0Read !== undefined && e.el0Read !== allowed) return null;
  return { kind: 'stored', id: e.id, el0: e.el0Read === allowed };
}

function lookup(key: number): Entry | undefined {
  const e = SPECS.get(key);
  if (e !== undefined) return e;
  // Unallocated encodings in the ID space (op0=3, op1=0, CRn=0, CRm=1..7) are RAZ, and trapped by HCR_EL2.TID3.
  const op0 = (key >> 14) & 3, op1 = (key >> 11) & 7, crn = (key >> 7) & 15, crm = (key >> 3) & 15;
  if (op0 === 3 && op1 === 0 && crn === 0 && crm >= 1 && crm <= 7) {
    return { key, id: -1, read: readConst(0), write: null, hcrRead: HCR_TID3 };
  }
  return undefined;
}

// ---- The register set -------------------------------------------------------------

const def = defineSysreg;
const stored = (name: string, spec: SysregSpec = {}, mlo = -1, mhi = -1, set1 = 0, notify = false): void =>
  def(name, { write: writeStored(sr(name), mlo, mhi, set1, notify), ...spec });

// Identification. MIDR/MPIDR read the virtualized values VPIDR_EL2/VMPIDR_EL2 below EL2.
def('MIDR_EL1', { read: readStored(sr('VPIDR_EL2')), write: null });
def('MPIDR_EL1', { read: readStored(sr('VMPIDR_EL2')), write: null });
def('REVIDR_EL1', { write: null, hcrRead: HCR_TID1 });
def('AIDR_EL1', { write: null, hcrRead: HCR_TID1 });
for (const r of SYSREG_BY_KEY.values()) {
  // ID group 3: every named register in op0=3, op1=0, CRn=0, CRm=1..7 reads its value in pe.sr (set by features.ts, else 0).
  if (r.op0 === 3 && r.op1 === 0 && r.crn === 0 && r.crm >= 1 && r.crm <= 7) def(r.name, { write: null, hcrRead: HCR_TID3 });
}
// Cache identification (TID2). CCSIDR_EL1 describes the cache CSSELR_EL1 selects: a 32 KiB 2-way L1 D/I, a 2 MiB 16-way L2 (64-byte lines).
def('CCSIDR_EL1', {
  write: null, hcrRead: HCR_TID2,
  read: readLo((pe) => {
    const sel = pe.sr[2 * CSSELR_EL1] & 0xf;
    // NumSets-1 [27:13], Associativity-1 [12:3], log2(line bytes)-4 [2:0].
    if (sel === 0 || sel === 1) return (255 << 13) | (1 << 3) | 2;
    if (sel === 2) return (2047 << 13) | (15 << 3) | 2;
    return 0;
  }),
});
def('CLIDR_EL1', { write: null, hcrRead: HCR_TID2 });
stored('CSSELR_EL1', { hcrRead: HCR_TID2, hcrWrite: HCR_TID2 }, 0xf, 0);
def('CTR_EL0', { write: null, hcrRead: HCR_TID2, el0Read: el0If((pe) => (sctlr(pe) & SCTLR_UCT) !== 0) });
// DCZID_EL0.DZP reads 1 where DC ZVA is prohibited: at EL0 without SCTLR_EL1.DZE, or with HCR_EL2.TDZ.
def('DCZID_EL0', {
  write: null, el0Read: allowed,
  read: readLo((pe) => (pe.sr[2 * sr('DCZID_EL0')] & 0xf) | ((pe.el === 0 && !(sctlr(pe) & SCTLR_DZE)) || hcr(pe) & HCR_TDZ ? 0x10 : 0)),
});

// EL1 system control. SCTLR_EL1 keeps its RES1 bits set and its RES0 bits clear for what this PE implements
// (no AArch32, no big-endian, no pointer authentication, no RAS).
const SCTLR_WMASK = 0x1f | (3 << 7) | SCTLR_UMA | (1 << 12) | SCTLR_DZE | SCTLR_UCT | SCTLR_NTWI | SCTLR_NTWE | (1 << 19) | SCTLR_UCI;
const SCTLR_RES1 = (1 << 11) | (1 << 20) | (1 << 22) | (1 << 28) | (1 << 29);
const SCTLR_SPAN = 1 << 23;
def('SCTLR_EL1', {
  hcrRead: HCR_TRVM, hcrWrite: HCR_TVM, endsBlock: true,
  write: (pe, lo) => {
    const span = pe.features.pan ? lo & SCTLR_SPAN : SCTLR_SPAN;
    pe.sr[2 * SCTLR_EL1] = (lo & SCTLR_WMASK) | SCTLR_RES1 | span;
    pe.sr[2 * SCTLR_EL1 + 1] = 0;
    pe.sysregChanged(SCTLR_EL1);
  },
});
stored('ACTLR_EL1', { hcrRead: HCR_TACR, hcrWrite: HCR_TACR });
const cpacrTrap = (pe: PE): boolean => (pe.sr[2 * CPTR_EL2] & CPTR_TCPAC) !== 0;
// CPACR_EL1.FPEN decides whether FP/SIMD traps: a write must recompute pe.fpEnabled (sysregChanged).
stored('CPACR_EL1', { trapRead: cpacrTrap, trapWrite: cpacrTrap, endsBlock: true }, (3 << 20) | (1 << 28), 0, 0, true);
for (const n of ['TTBR0_EL1', 'TTBR1_EL1', 'TCR_EL1', 'MAIR_EL1']) stored(n, { hcrRead: HCR_TRVM, hcrWrite: HCR_TVM, endsBlock: true }, -1, -1, 0, true);
stored('ESR_EL1', { hcrRead: HCR_TRVM, hcrWrite: HCR_TVM }, -1, 0);
stored('CONTEXTIDR_EL1', { hcrRead: HCR_TRVM, hcrWrite: HCR_TVM }, -1, 0);
for (const n of ['FAR_EL1', 'AFSR0_EL1', 'AFSR1_EL1', 'AMAIR_EL1']) stored(n, { hcrRead: HCR_TRVM, hcrWrite: HCR_TVM });
stored('SPSR_EL1', {}, -1, 0);
stored('ELR_EL1');
stored('VBAR_EL1', {}, ~0x7ff);
stored('PAR_EL1');
stored('TPIDR_EL1');
stored('TPIDR_EL0', { el0Read: allowed, el0Write: allowed });
stored('TPIDRRO_EL0', { el0Read: allowed });
// FPCR and FPSR: accessible at EL0; subject to the FP/SIMD enable traps (EC 0x07) of CPACR_EL1.FPEN and
// CPTR_EL2.TFP. FPCR keeps AHP, DN, FZ, RMode, FZ16 (trapped FP exceptions are not implemented, so the
// trap enables are RES0); FPSR keeps the cumulative flags IOC..IXC, IDC and QC.
const FPCR_MASK = 0x07c80000;
const FPSR_MASK = 0x0800009f;
def('FPCR', {
  el0Read: allowed,
  el0Write: allowed,
  read: (pe, d) => { if (!pe.fpEnabled) pe.fpTrap(); pe.x[d] = pe.fpcr; pe.x[d + 1] = 0; },
  write: (pe, lo) => { if (!pe.fpEnabled) pe.fpTrap(); pe.fpcr = lo & FPCR_MASK; },
});
def('FPSR', {
  el0Read: allowed,
  el0Write: allowed,
  read: (pe, d) => { if (!pe.fpEnabled) pe.fpTrap(); pe.x[d] = pe.fpsr; pe.x[d + 1] = 0; },
  write: (pe, lo) => { if (!pe.fpEnabled) pe.fpTrap(); pe.fpsr = lo & FPSR_MASK; },
});
stored('CNTKCTL_EL1', {}, 0x3ff, 0);

// ISR_EL1: pending interrupts as the EL1 software sees them: the virtual ones when HCR_EL2.IMO/FMO/AMO route the physical ones to EL2.
def('ISR_EL1', {
  write: null,
  read: readLo((pe) => {
    const h = hcr(pe);
    const i = h & (1 << 4) ? (h & (1 << 7)) !== 0 || pe.virqLine : pe.irqLine;
    const f = h & (1 << 3) ? (h & (1 << 6)) !== 0 || pe.vfiqLine : pe.fiqLine;
    const a = h & (1 << 5) ? (h & (1 << 8)) !== 0 : false;
    return (a ? 0x100 : 0) | (i ? 0x80 : 0) | (f ? 0x40 : 0);
  }),
});

// PSTATE fields as registers.
def('NZCV', {
  el0Read: allowed, el0Write: allowed,
  read: readLo((pe) => (pe.n << 31) | (pe.z << 30) | (pe.c << 29) | (pe.v << 28)),
  write: (pe, lo) => {
    pe.n = (lo >>> 31) & 1;
    pe.z = (lo >>> 30) & 1;
    pe.c = (lo >>> 29) & 1;
    pe.v = (lo >>> 28) & 1;
  },
});
const uma = el0If((pe) => (sctlr(pe) & SCTLR_UMA) !== 0);
def('DAIF', { el0Read: uma, el0Write: uma, endsBlock: true, read: readLo((pe) => pe.daif << 6), write: (pe, lo) => pe.setDaif((lo >>> 6) & 0xf) });
def('SPSel', { endsBlock: true, read: readLo((pe) => pe.spsel), write: (pe, lo) => pe.setSpsel(lo & 1) });
def('CurrentEL', { write: null, read: readLo((pe) => pe.el << 2) });
def('PAN', { feature: 'pan', endsBlock: true, read: readLo((pe) => pe.pan << 22), write: (pe, lo) => pe.setPan((lo >>> 22) & 1) });
def('UAO', {
  feature: 'uao', endsBlock: true, read: readLo((pe) => pe.uao << 23),
  write: (pe, lo) => {
    pe.uao = (lo >>> 23) & 1;
  },
});
// SP_EL0 is accessible at EL1 only while EL1 uses SP_EL1 (PSTATE.SP = 1); otherwise the access is UNDEFINED.
// (plainSysregRead describes this read for the compiled tiers: keep the two in step.)
def('SP_EL0', {
  read: (pe, d) => {
    if (pe.spsel === 0) pe.undefinedInstruction();
    pe.x[d] = pe.spBank[0];
    pe.x[d + 1] = pe.spBank[1];
  },
  write: (pe, lo, hi) => {
    if (pe.spsel === 0) pe.undefinedInstruction();
    pe.spBank[0] = lo;
    pe.spBank[1] = hi;
  },
});

// Generic timer (the counter and timer logic is in ../timer.ts). EL0 access per CNTKCTL_EL1; EL1 and EL0 access to the
// physical counter and timer per CNTHCTL_EL2.EL1PCTEN / EL1PCEN.
const pctTrap = (pe: PE): boolean => (pe.sr[2 * CNTHCTL_EL2] & CNTHCTL_EL1PCTEN) === 0;
const ptTrap = (pe: PE): boolean => (pe.sr[2 * CNTHCTL_EL2] & CNTHCTL_EL1PCEN) === 0;
// CNTFRQ_EL0 is writable only at the highest implemented Exception level, EL2 here.
def('CNTFRQ_EL0', { write: null, el0Read: el0If((pe) => (pe.sr[2 * CNTKCTL_EL1] & (CNTKCTL_EL0PCTEN | CNTKCTL_EL0VCTEN)) !== 0) });
def('CNTPCT_EL0', { write: null, el0Read: cntkctl(CNTKCTL_EL0PCTEN), trapRead: pctTrap, read: (pe, d) => pe.timer.readCount(false, d) });
def('CNTVCT_EL0', { write: null, el0Read: cntkctl(CNTKCTL_EL0VCTEN), read: (pe, d) => pe.timer.readCount(true, d) });
for (const [t, p, el0, trap] of [[0, 'CNTP', CNTKCTL_EL0PTEN, ptTrap], [1, 'CNTV', CNTKCTL_EL0VTEN, undefined]] as const) {
  const rule = cntkctl(el0);
  const common: SysregSpec = { el0Read: rule, el0Write: rule, trapRead: trap, trapWrite: trap, endsBlock: true };
  def(`${p}_CTL_EL0`, { ...common, read: readLo((pe) => pe.timer.readCtl(t)), write: (pe, lo) => pe.timer.writeCtl(t, lo) });
  def(`${p}_CVAL_EL0`, { ...common, write: (pe, lo, hi) => pe.timer.writeCval(t, lo, hi) });
  def(`${p}_TVAL_EL0`, {
    ...common,
    read: (pe, d) => {
      const v = pe.timer.readTval(t);
      pe.x[d] = v;
      pe.x[d + 1] = 0; // TVAL is a signed 32-bit value in bits 31:0; bits 63:32 are RES0
    },
    write: (pe, lo) => pe.timer.writeTval(t, lo),
  });
}

// Debug registers (self-hosted debug is not implemented: the registers hold their values). MDCR_EL2 traps.
const tda = mdcr(MDCR_TDA), tdosa = mdcr(MDCR_TDOSA), tdra = mdcr(MDCR_TDRA);
for (const n of ['MDSCR_EL1', 'MDCCINT_EL1', 'OSDTRRX_EL1', 'OSDTRTX_EL1', 'OSECCR_EL1']) stored(n, { trapRead: tda, trapWrite: tda });
for (let i = 0; i < 6; i++) for (const k of ['DBGBVR', 'DBGBCR']) stored(`${k}${i}_EL1`, { trapRead: tda, trapWrite: tda });
for (let i = 0; i < 4; i++) for (const k of ['DBGWVR', 'DBGWCR']) stored(`${k}${i}_EL1`, { trapRead: tda, trapWrite: tda });
const DBGCLAIM = sr('DBGCLAIMSET_EL1');
def('DBGCLAIMSET_EL1', { trapRead: tda, trapWrite: tda, read: readConst(0xff), write: (pe, lo) => { pe.sr[2 * DBGCLAIM] |= lo & 0xff; } });
def('DBGCLAIMCLR_EL1', { trapRead: tda, trapWrite: tda, read: readStored(DBGCLAIM), write: (pe, lo) => { pe.sr[2 * DBGCLAIM] &= ~(lo & 0xff); } });
def('DBGAUTHSTATUS_EL1', { write: null, trapRead: tda, read: readConst(0) });
def('MDCCSR_EL0', { write: null, trapRead: tda, read: readConst(0), el0Read: el0If((pe) => (pe.sr[2 * MDSCR_EL1] & MDSCR_TDCC) === 0) });
def('MDRAR_EL1', { write: null, trapRead: tdra, read: readConst(0) });
// OS lock: OSLAR_EL1 (write-only) sets OSLSR_EL1.OSLK; OSLSR_EL1.OSLM = 0b10 (OS lock implemented).
def('OSLAR_EL1', { read: null, trapWrite: tdosa, write: (pe, lo) => { pe.sr[2 * OSLSR_EL1] = (lo & 1) << 1; } });
def('OSLSR_EL1', { write: null, trapRead: tdosa, read: readLo((pe) => 0x8 | (pe.sr[2 * OSLSR_EL1] & 2)) });
stored('OSDLR_EL1', { trapRead: tdosa, trapWrite: tdosa }, 1, 0);
stored('DBGPRCR_EL1', { trapRead: tdosa, trapWrite: tdosa }, 1, 0);

// ---- Instructions -------------------------------------------------------------

/** The IMPLEMENTATION DEFINED space (op0=1 or 3, CRn=11 or 15): trapped by HCR_EL2.TIDCP, else UNDEFINED. */
export function isImpdef(op0: number, crn: number): boolean {
  return op0 !== 2 && (crn === 11 || crn === 15);
}

function impdefOrUndef(op0: number, crn: number, esr: number): Op {
  if (isImpdef(op0, crn)) {
    return (pe) => {
      if (hcr(pe) & HCR_TIDCP) pe.syncException(2, esr, false);
      pe.undefinedInstruction();
    };
  }
  return (pe) => pe.undefinedInstruction();
}

/** Builds the op of MRS Xt, <reg> (AArch64.SysRegRead with the checks above). */
export function buildMrs(op0: number, op1: number, crn: number, crm: number, op2: number, rt: number): Op {
  const key = sysregKey(op0, op1, crn, crm, op2);
  const esr = sysEsr(op0, op1, crn, crm, op2, rt, 1);
  const e = lookup(key);
  if (e === undefined || e.read === null) return impdefOrUndef(op0, crn, esr);
  const read = e.read ?? readStored(e.id);
  return guarded(e.feature, e.el0Read, e.hcrRead ?? 0, e.trapRead, esr, (pe) => read(pe, dst(rt)));
}

/** Builds the op of MSR <reg>, Xt (AArch64.SysRegWrite with the checks above). */
export function buildMsr(op0: number, op1: number, crn: number, crm: number, op2: number, rt: number): Op {
  const key = sysregKey(op0, op1, crn, crm, op2);
  const esr = sysEsr(op0, op1, crn, crm, op2, rt, 0);
  const e = lookup(key);
  if (e === undefined || e.write === null) return impdefOrUndef(op0, crn, esr);
  const write = e.write ?? writeStored(e.id);
  const t = src(rt);
  return guarded(e.feature, e.el0Write, e.hcrWrite ?? 0, e.trapWrite, esr, (pe) => write(pe, pe.x[t], pe.x[t + 1]));
}

/**
 * Wraps an access with the checks in architectural priority order: feature,
 * EL0 (UNDEFINED or trapped to EL1), EL2 traps, then the access.
 */
function guarded(feature: SysregSpec['feature'], el0: ((pe: PE) => El0) | undefined, hcrMask: number, trap: ((pe: PE) => boolean) | undefined, esr: number, access: Op): Op {
  if (feature === undefined && hcrMask === 0 && trap === undefined) {
    if (el0 === undefined) return (pe) => { if (pe.el === 0) pe.undefinedInstruction(); access(pe); };
    return (pe) => { if (pe.el === 0) el0Check(pe, el0, esr); access(pe); };
  }
  return (pe) => {
    if (feature !== undefined && !pe.features[feature]) pe.undefinedInstruction();
    if (pe.el === 0) {
      if (el0 === undefined) pe.undefinedInstruction();
      else el0Check(pe, el0, esr);
    }
    if ((pe.sr[2 * HCR_EL2] & hcrMask) !== 0 || (trap !== undefined && trap(pe))) pe.syncException(2, esr, false);
    access(pe);
  };
}

function el0Check(pe: PE, el0: (pe: PE) => El0, esr: number): void {
  const r = el0(pe);
  if (r === El0.Allowed) return;
  if (r === El0.Undefined) pe.undefinedInstruction();
  systemAccessTrap(pe, 1, esr);
}

const sysregName = (op0: number, op1: number, crn: number, crm: number, op2: number): string => sysregGenericName(sysregKey(op0, op1, crn, crm, op2)).toLowerCase();

const MRS_MSR_TAIL = 'op1:3 CRn:4 CRm:4 op2:3 Rt:5';

export const sysregInsns: InsnDef[] = [
  {
    name: 'MRS', pattern: `11010101 0011 o0:1 ${MRS_MSR_TAIL}`, cls: 'system',
    build: (f) => buildMrs(2 + f.o0, f.op1, f.CRn, f.CRm, f.op2, f.Rt),
    disasm: (f) => `mrs ${regName(f.Rt, 1)}, ${sysregName(2 + f.o0, f.op1, f.CRn, f.CRm, f.op2)}`,
  },
  {
    // MSR to most registers does not end the block; the ones that change PSTATE, translation or interrupts have their own definitions below.
    name: 'MSR_reg', pattern: `11010101 0001 o0:1 ${MRS_MSR_TAIL}`, cls: 'system',
    build: (f) => buildMsr(2 + f.o0, f.op1, f.CRn, f.CRm, f.op2, f.Rt),
    disasm: (f) => `msr ${sysregName(2 + f.o0, f.op1, f.CRn, f.CRm, f.op2)}, ${regName(f.Rt, 1)}`,
  },
];

const bits = (v: number, n: number): string => v.toString(2).padStart(n, '0');

/** An MSR definition for one register whose writes end the block (more specific than MSR_reg, so the decoder prefers it). */
function addEndingMsr(key: number, name: string): void {
  const op0 = (key >> 14) & 3, op1 = (key >> 11) & 7, crn = (key >> 7) & 15, crm = (key >> 3) & 15, op2 = key & 7;
  const defName = `MSR_${name}`;
  const i = sysregInsns.findIndex((d) => d.name === defName);
  if (i >= 0) sysregInsns.splice(i, 1);
  sysregInsns.push({
    name: defName,
    pattern: `11010101 0001 ${op0 & 1} ${bits(op1, 3)} ${bits(crn, 4)} ${bits(crm, 4)} ${bits(op2, 3)} Rt:5`,
    cls: 'system', flags: InsnFlags.EndsBlock,
    build: (f) => buildMsr(op0, op1, crn, crm, op2, f.Rt),
    disasm: (f) => `msr ${name.toLowerCase()}, ${regName(f.Rt, 1)}`,
  });
}
// Definitions for the registers defined above with endsBlock (defineSysreg ran before sysregInsns existed).
for (const e of SPECS.values()) {
  const info = SYSREG_BY_KEY.get(e.key);
  if (e.endsBlock && e.write !== null && info !== undefined) addEndingMsr(e.key, info.name);
}
insnsReady = true;
