/**
 * SYS and SYSL: cache maintenance (DC, IC), address translation (AT) and TLB
 * maintenance (TLBI) for the EL1&0 regime.
 *
 * The PE has no caches, so data cache maintenance by VA only translates its
 * address (and can fault as the architecture says: DC IVAC needs write
 * permission, the others read permission; the fault reports ESR.CM = 1 and
 * WnR = 1); by set/way it does nothing. DC ZVA writes zeros to the block
 * DCZID_EL0 describes. IC invalidates decoded blocks. Access rules follow
 * the pseudocode of each instruction: EL0 may use DC CVAC/CVAU/CVAP/CIVAC and
 * IC IVAU only with SCTLR_EL1.UCI and DC ZVA only with SCTLR_EL1.DZE (else
 * they trap to EL1 with EC 0x18), and nothing else here; then HCR_EL2.TPC,
 * TPU, TSW, TDZ and TTLB trap to EL2.
 */
import { FSC } from '../../arch/esr.js';
import { InsnDef, InsnFlags, Op } from '../decoder.js';
import type { PE } from '../pe.js';
import { EC } from '../../arch/esr.js';
import { sr } from '../../arch/sysregs.js';
import { ExceptionTaken, systemAccessTrap } from '../exceptions.js';
import { tlbiExecute } from '../mmu/tlbi.js';
import { atExecute } from '../mmu/at.js';
import { HCR_TDZ, HCR_TPC, HCR_TPU, HCR_TSW, HCR_TTLB, SCTLR_DZE, SCTLR_UCI, isImpdef, sysEsr, HCR_TIDCP } from './sysreg.js';
import { regName, src } from './regs.js';
import { tlbPa } from './ldst_util.js';

const HCR_EL2 = sr('HCR_EL2');
const SCTLR_EL1 = sr('SCTLR_EL1');
const DCZID_EL0 = sr('DCZID_EL0');
const CTR_EL0 = sr('CTR_EL0');
const ESR_EL1 = sr('ESR_EL1');
const ESR_EL2 = sr('ESR_EL2');

/** EL0 rule of an instruction: 0 UNDEFINED, else the SCTLR_EL1 bit that enables it at EL0. */
interface SysOp {
  readonly name: string;
  /** SCTLR_EL1 bit enabling EL0 use (trap to EL1 when clear); 0: UNDEFINED at EL0. */
  readonly el0: number;
  /** HCR_EL2 bits trapping it to EL2. */
  readonly hcr: number;
  /** Whether the mnemonic takes Xt. */
  readonly hasRt: boolean;
  /** CPU feature the operation needs; without it the encoding is unallocated (UNDEFINED before any trap). */
  readonly feature?: 'dpb';
  readonly run: (pe: PE, lo: number, hi: number, op1: number, crm: number, op2: number) => void;
}

/**
 * Translates the address of a cache maintenance instruction. A fault is
 * reported as the data abort the translation raises, with ESR.CM and ESR.WnR
 * set as the architecture says for cache maintenance.
 */
function translateForMaintenance(pe: PE, lo: number, hi: number, write: boolean): number {
  pe.dataIss = 0;
  // A page the TLB holds with the permission needed translates without a fault (Linux cleans and invalidates by VA in loops).
  const pa = tlbPa(pe, lo, hi, write);
  if (pa >= 0) return pa;
  try {
    return pe.translateData(lo, hi, write);
  } catch (e) {
    if (e === ExceptionTaken) {
      const id = pe.el === 2 ? ESR_EL2 : ESR_EL1;
      const esr = pe.sr[2 * id];
      const ec = esr >>> 26;
      if (ec === EC.DABT_CUR || ec === EC.DABT_LOWER) pe.sr[2 * id] = esr | (1 << 8) | (1 << 6);
    }
    throw e;
  }
}

const nothing = (): void => {};
const dcVa = (write: boolean) => (pe: PE, lo: number, hi: number): void => {
  translateForMaintenance(pe, lo, hi, write);
};

/** DC ZVA: zeros the naturally aligned block of 4 << DCZID_EL0.BS bytes holding the address, as a write. */
function dcZva(pe: PE, lo: number, hi: number): void {
  const size = 4 << (pe.sr[2 * DCZID_EL0] & 0xf);
  const base = (lo & ~(size - 1)) >>> 0;
  pe.dataIss = 0;
  // A page the TLB holds for writing, as Normal memory, needs no walk: Linux clears pages with DC ZVA, 64
  // instructions a page, and each used to walk the tables (5% of a boot). Otherwise the translation may fault,
  // and DC ZVA to any type of Device memory takes an Alignment fault (FAR is the address given).
  if (tlbPa(pe, base, hi, true, true) < 0) {
    pe.translateData(base, hi, true);
    if (pe.lastXlDevice) pe.dataAbort(lo, hi, FSC.ALIGNMENT, true, false);
  }
  for (let k = 0; k < size; k += 8) pe.st64((base + k) >>> 0, hi, 0, 0);
}

/** IC IVAU: drops decoded code in the instruction cache line (CTR_EL0.IminLine words) holding the address. */
function icIvau(pe: PE, lo: number, hi: number): void {
  const pa = translateForMaintenance(pe, lo, hi, false);
  const line = 4 << (pe.sr[2 * CTR_EL0] & 0xf);
  pe.invalidateCode(pa - (pa % line), line);
}

/** Keyed by op1 << 7 | CRm << 3 | op2 (CRn = 7). */
const CRN7: Map<number, SysOp> = new Map([
  [(0 << 7) | (1 << 3) | 0, { name: 'ic ialluis', el0: 0, hcr: HCR_TPU, hasRt: false, run: (pe: PE) => pe.invalidateAllCode() }],
  [(0 << 7) | (5 << 3) | 0, { name: 'ic iallu', el0: 0, hcr: HCR_TPU, hasRt: false, run: (pe: PE) => pe.invalidateAllCode() }],
  [(3 << 7) | (5 << 3) | 1, {
    name: 'ic ivau', el0: SCTLR_UCI, hcr: HCR_TPU, hasRt: true,
    run: icIvau,
  }],
  [(0 << 7) | (6 << 3) | 1, { name: 'dc ivac', el0: 0, hcr: HCR_TPC, hasRt: true, run: dcVa(true) }],
  [(0 << 7) | (6 << 3) | 2, { name: 'dc isw', el0: 0, hcr: HCR_TSW, hasRt: true, run: nothing }],
  [(0 << 7) | (10 << 3) | 2, { name: 'dc csw', el0: 0, hcr: HCR_TSW, hasRt: true, run: nothing }],
  [(0 << 7) | (14 << 3) | 2, { name: 'dc cisw', el0: 0, hcr: HCR_TSW, hasRt: true, run: nothing }],
  [(3 << 7) | (4 << 3) | 1, { name: 'dc zva', el0: SCTLR_DZE, hcr: HCR_TDZ, hasRt: true, run: dcZva }],
  [(3 << 7) | (10 << 3) | 1, { name: 'dc cvac', el0: SCTLR_UCI, hcr: HCR_TPC, hasRt: true, run: dcVa(false) }],
  [(3 << 7) | (11 << 3) | 1, { name: 'dc cvau', el0: SCTLR_UCI, hcr: HCR_TPU, hasRt: true, run: dcVa(false) }],
  // DC CVAP exists with FEAT_DPB (ID_AA64ISAR1_EL1.DPB).
  [(3 << 7) | (12 << 3) | 1, { name: 'dc cvap', el0: SCTLR_UCI, hcr: HCR_TPC, hasRt: true, feature: 'dpb', run: dcVa(false) }],
  [(3 << 7) | (14 << 3) | 1, { name: 'dc civac', el0: SCTLR_UCI, hcr: HCR_TPC, hasRt: true, run: dcVa(false) }],
  ...['s1e1r', 's1e1w', 's1e0r', 's1e0w'].map((n, op2): [number, SysOp] => [(0 << 7) | (8 << 3) | op2, {
    name: `at ${n}`, el0: 0, hcr: 0, hasRt: true,
    run: (pe, lo, hi, op1, crm, o2) => atExecute(pe, op1, crm, o2, lo, hi),
  }]),
]);

const TLBI_NAMES: Record<number, string> = { 0: 'vmalle1', 1: 'vae1', 2: 'aside1', 3: 'vaae1', 5: 'vale1', 7: 'vaale1' };

/** The TLBI operations of EL1 (op1 = 0; CRm = 3 Inner Shareable, 7 local). */
function tlbiOp(op1: number, crm: number, op2: number): SysOp | undefined {
  if (op1 !== 0 || (crm !== 3 && crm !== 7) || TLBI_NAMES[op2] === undefined) return undefined;
  return {
    name: `tlbi ${TLBI_NAMES[op2]}${crm === 3 ? 'is' : ''}`, el0: 0, hcr: HCR_TTLB, hasRt: op2 !== 0,
    run: (pe, lo, hi) => tlbiExecute(pe, op1, crm, op2, lo, hi),
  };
}

function lookupSys(op1: number, crn: number, crm: number, op2: number): SysOp | undefined {
  if (crn === 7) return CRN7.get((op1 << 7) | (crm << 3) | op2);
  if (crn === 8) return tlbiOp(op1, crm, op2);
  return undefined;
}

/** Builds SYS #op1, Cn, Cm, #op2, Xt (and SYSL, none of whose encodings is allocated here). */
function buildSys(l: number, op1: number, crn: number, crm: number, op2: number, rt: number): Op {
  const esr = sysEsr(1, op1, crn, crm, op2, rt, l);
  const op = l === 0 ? lookupSys(op1, crn, crm, op2) : undefined;
  if (op === undefined) {
    if (isImpdef(1, crn)) {
      return (pe) => {
        if (pe.sr[2 * HCR_EL2] & HCR_TIDCP) pe.syncException(2, esr, false);
        pe.undefinedInstruction();
      };
    }
    return (pe) => pe.undefinedInstruction();
  }
  const t = src(rt);
  const { el0, hcr, run, feature } = op;
  return (pe) => {
    if (feature !== undefined && !pe.features[feature]) pe.undefinedInstruction();
    if (pe.el === 0) {
      if (el0 === 0) pe.undefinedInstruction();
      if ((pe.sr[2 * SCTLR_EL1] & el0) === 0) systemAccessTrap(pe, 1, esr);
    }
    if (pe.sr[2 * HCR_EL2] & hcr) pe.syncException(2, esr, false);
    run(pe, pe.x[t], pe.x[t + 1], op1, crm, op2);
  };
}

function disasmSys(l: number, op1: number, crn: number, crm: number, op2: number, rt: number): string {
  const op = l === 0 ? lookupSys(op1, crn, crm, op2) : undefined;
  if (op !== undefined) return op.hasRt || rt !== 31 ? `${op.name}, ${regName(rt, 1)}` : op.name;
  if (l) return `sysl ${regName(rt, 1)}, #${op1}, C${crn}, C${crm}, #${op2}`;
  return `sys #${op1}, C${crn}, C${crm}, #${op2}${rt === 31 ? '' : `, ${regName(rt, 1)}`}`;
}

const TAIL = 'CRm:4 op2:3 Rt:5';

export const sysOpsInsns: InsnDef[] = [
  {
    name: 'SYS', pattern: `11010101 00001 op1:3 CRn:4 ${TAIL}`, cls: 'system',
    build: (f) => buildSys(0, f.op1, f.CRn, f.CRm, f.op2, f.Rt),
    disasm: (f) => disasmSys(0, f.op1, f.CRn, f.CRm, f.op2, f.Rt),
  },
  {
    name: 'SYSL', pattern: `11010101 00101 op1:3 CRn:4 ${TAIL}`, cls: 'system',
    build: (f) => buildSys(1, f.op1, f.CRn, f.CRm, f.op2, f.Rt),
    disasm: (f) => disasmSys(1, f.op1, f.CRn, f.CRm, f.op2, f.Rt),
  },
  {
    // DC and AT (CRn = 7): translate an address.
    name: 'SYS_DC_AT', pattern: `11010101 00001 op1:3 0111 ${TAIL}`, cls: 'system', flags: InsnFlags.Memory,
    build: (f) => buildSys(0, f.op1, 7, f.CRm, f.op2, f.Rt),
    disasm: (f) => disasmSys(0, f.op1, 7, f.CRm, f.op2, f.Rt),
  },
  {
    name: 'DC_ZVA', pattern: '11010101 00001 011 0111 0100 001 Rt:5', cls: 'system', flags: InsnFlags.Memory,
    build: (f) => buildSys(0, 3, 7, 4, 1, f.Rt),
    disasm: (f) => `dc zva, ${regName(f.Rt, 1)}`,
  },
  {
    // IC (CRn = 7, CRm = 1 or 5): drops decoded code, so it ends the block.
    name: 'SYS_IC', pattern: '11010101 00001 op1:3 0111 0 c:1 01 op2:3 Rt:5', cls: 'system', flags: InsnFlags.EndsBlock,
    build: (f) => buildSys(0, f.op1, 7, (f.c << 2) | 1, f.op2, f.Rt),
    disasm: (f) => disasmSys(0, f.op1, 7, (f.c << 2) | 1, f.op2, f.Rt),
  },
  {
    name: 'TLBI', pattern: `11010101 00001 op1:3 1000 ${TAIL}`, cls: 'system', flags: InsnFlags.EndsBlock,
    build: (f) => buildSys(0, f.op1, 8, f.CRm, f.op2, f.Rt),
    disasm: (f) => disasmSys(0, f.op1, 8, f.CRm, f.op2, f.Rt),
  },
];
