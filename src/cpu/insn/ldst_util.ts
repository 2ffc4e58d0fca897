/**
 * Shared pieces of the general-register load/store groups (ldst.ts,
 * ldst_excl.ts, atomic.ts): effective-address builders, access builders
 * specialised per size and extension, the data-abort syndrome (ISS) each
 * access reports, the exclusive monitor, and disassembly helpers.
 *
 * Addresses are (lo, hi) uint32 halves. An effective-address function
 * returns bits 31:0 and leaves bits 63:32 in pe.eaHi.
 */
import type { Op } from '../decoder.js';
import type { PE } from '../pe.js';
import { TlbIndex } from '../pe.js';
import { regName } from './regs.js';
import { TLB_MASK } from '../tlb.js';

/** Computes an effective address: returns bits 31:0, leaves bits 63:32 in pe.eaHi. */
export type Ea = (pe: PE) => number;

/**
 * What a load does with the value: the access size and how it extends into
 * the destination (the opc field of the load/store encodings, resolved).
 */
export const enum Ld {
  B = 0, // LDRB: zero-extend 8 -> W (X bits 63:32 zero)
  H = 1, // LDRH
  W = 2, // LDR Wt
  X = 3, // LDR Xt
  SBW = 4, // LDRSB Wt
  SHW = 5, // LDRSH Wt
  SBX = 6, // LDRSB Xt
  SHX = 7, // LDRSH Xt
  SWX = 8, // LDRSW Xt
}

/** The load kind for a load/store-register encoding with `size` and `opc` (opc >= 1). */
export function ldKind(size: number, opc: number): Ld {
  if (opc === 1) return size as Ld;
  if (opc === 2) return size === 0 ? Ld.SBX : size === 1 ? Ld.SHX : Ld.SWX;
  return size === 0 ? Ld.SBW : Ld.SHW;
}

/** log2 of the access size of a load kind. */
export const ldSize = (k: Ld): number => (k <= Ld.X ? k : k === Ld.SBW || k === Ld.SBX ? 0 : k === Ld.SWX ? 2 : 1);
/** Whether the load sign-extends. */
export const ldSigned = (k: Ld): boolean => k >= Ld.SBW;
/** Whether the destination is an X register. */
export const ldWide = (k: Ld): boolean => k === Ld.X || k >= Ld.SBX;

/** The allocated (size, opc) pairs of the load/store register forms (PRFM excluded). */
export const ldstSizeOpcValid = (size: number, opc: number): boolean => !(size === 3 && opc >= 2) && !(size === 2 && opc === 3);

/**
 * ESR_ELx.ISS bits 24:14 of a data abort on a single general-register access
 * without writeback: ISV, SAS (log2 size), SSE (sign-extending load), SRT
 * (Rt), SF (64-bit register), AR (acquire/release).
 */
export function dataIss(sizeLog2: number, sse: boolean, rt: number, sf: boolean, ar: boolean): number {
  return (1 << 24) | (sizeLog2 << 22) | (sse ? 1 << 21 : 0) | (rt << 16) | (sf ? 1 << 15 : 0) | (ar ? 1 << 14 : 0);
}
/** The ISS of a load of kind `k` into Rt. */
export const loadIss = (k: Ld, rt: number, ar = false): number => dataIss(ldSize(k), ldSigned(k), rt, ldWide(k), ar);
/** The ISS of a store of 1 << size bytes from Rt. */
export const storeIss = (size: number, rt: number, ar = false): number => dataIss(size, false, rt, size === 3, ar);

// ---- Effective addresses -------------------------------------------------------

/** Base register (index `n`, already resolved for SP) plus a signed constant. */
export function immEa(n: number, imm: number): Ea {
  if (imm === 0) {
    return (pe) => {
      pe.eaHi = pe.x[n + 1] >>> 0;
      return pe.x[n] >>> 0;
    };
  }
  return (pe) => {
    const s = (pe.x[n] >>> 0) + imm;
    pe.eaHi = (pe.x[n + 1] + (s > 0xffffffff ? 1 : s < 0 ? -1 : 0)) >>> 0;
    return s >>> 0;
  };
}

/** Index extension of the register-offset forms: UXTW, LSL (UXTX), SXTW, SXTX. */
export const enum Ext {
  UXTW = 0,
  SXTW = 1,
  X = 2,
}

/**
 * Base plus an extended and shifted index register (ExtendReg): `m` is the
 * index register's slot (31 reads zero), `sh` the shift (0..3).
 */
export function regEa(n: number, m: number, ext: Ext, sh: number): Ea {
  const rsh = 32 - sh;
  return (pe) => {
    const mlo = pe.x[m];
    const mhi = ext === Ext.UXTW ? 0 : ext === Ext.SXTW ? mlo >> 31 : pe.x[m + 1];
    const olo = (mlo << sh) >>> 0;
    const ohi = sh === 0 ? mhi : (mhi << sh) | (mlo >>> rsh);
    const s = (pe.x[n] >>> 0) + olo;
    pe.eaHi = (pe.x[n + 1] + ohi + (s > 0xffffffff ? 1 : 0)) >>> 0;
    return s >>> 0;
  };
}

/** PC-relative (literal) address: the instruction's page base plus `delta`. */
export function litEa(delta: number): Ea {
  return (pe) => {
    const s = pe.blockLo - (pe.blockLo & 0xfff) + delta;
    pe.eaHi = (pe.blockHi + Math.floor(s / 4294967296)) >>> 0;
    return s >>> 0;
  };
}

/** Address bits 63:32 after adding `imm` to (lo, hi): used by the writeback forms. */
export const carryHi = (lo: number, hi: number, imm: number): number => {
  const s = (lo >>> 0) + imm;
  return (hi + (s > 0xffffffff ? 1 : s < 0 ? -1 : 0)) | 0;
};

// ---- Single-register accesses without writeback ---------------------------------------------

/** A load of kind `k` from `ea` into the register at slot index `t` (the sink for XZR). */
export function loadOp(k: Ld, t: number, ea: Ea, iss: number): Op {
  switch (k) {
    case Ld.B: return (pe) => { const a = ea(pe); pe.dataIss = iss; pe.x[t] = pe.ld8(a, pe.eaHi); pe.x[t + 1] = 0; };
    case Ld.H: return (pe) => { const a = ea(pe); pe.dataIss = iss; pe.x[t] = pe.ld16(a, pe.eaHi); pe.x[t + 1] = 0; };
    case Ld.W: return (pe) => { const a = ea(pe); pe.dataIss = iss; pe.x[t] = pe.ld32(a, pe.eaHi); pe.x[t + 1] = 0; };
    case Ld.X: return (pe) => { const a = ea(pe); pe.dataIss = iss; pe.x[t] = pe.ld64(a, pe.eaHi); pe.x[t + 1] = pe.ldHi; };
    case Ld.SBW: return (pe) => { const a = ea(pe); pe.dataIss = iss; pe.x[t] = (pe.ld8(a, pe.eaHi) << 24) >> 24; pe.x[t + 1] = 0; };
    case Ld.SHW: return (pe) => { const a = ea(pe); pe.dataIss = iss; pe.x[t] = (pe.ld16(a, pe.eaHi) << 16) >> 16; pe.x[t + 1] = 0; };
    case Ld.SBX: return (pe) => { const a = ea(pe); pe.dataIss = iss; const v = (pe.ld8(a, pe.eaHi) << 24) >> 24; pe.x[t] = v; pe.x[t + 1] = v >> 31; };
    case Ld.SHX: return (pe) => { const a = ea(pe); pe.dataIss = iss; const v = (pe.ld16(a, pe.eaHi) << 16) >> 16; pe.x[t] = v; pe.x[t + 1] = v >> 31; };
    case Ld.SWX: return (pe) => { const a = ea(pe); pe.dataIss = iss; const v = pe.ld32(a, pe.eaHi); pe.x[t] = v; pe.x[t + 1] = v >> 31; };
  }
}

/** A store of 1 << size bytes of the register at slot index `t` (31 reads zero) to `ea`. */
export function storeOp(size: number, t: number, ea: Ea, iss: number): Op {
  switch (size) {
    case 0: return (pe) => { const a = ea(pe); pe.dataIss = iss; pe.st8(a, pe.eaHi, pe.x[t] & 0xff); };
    case 1: return (pe) => { const a = ea(pe); pe.dataIss = iss; pe.st16(a, pe.eaHi, pe.x[t] & 0xffff); };
    case 2: return (pe) => { const a = ea(pe); pe.dataIss = iss; pe.st32(a, pe.eaHi, pe.x[t]); };
    default: return (pe) => { const a = ea(pe); pe.dataIss = iss; pe.st64(a, pe.eaHi, pe.x[t], pe.x[t + 1]); };
  }
}

// ---- Single-register accesses with writeback ------------------------------------------------

/**
 * Pre- or post-indexed load. The base (slot `n`, SP for 31) is written after
 * the access succeeds; with Rt == Rn (CONSTRAINED UNPREDICTABLE) the
 * written-back address wins, as on QEMU. ISV is 0 for writeback forms.
 */
export function loadWbOp(k: Ld, t: number, n: number, imm: number, pre: boolean): Op {
  const load = loadValue(k);
  return (pe) => {
    const blo = pe.x[n] >>> 0, bhi = pe.x[n + 1];
    const nlo = (blo + imm) >>> 0;
    const nhi = carryHi(blo, bhi, imm);
    pe.dataIss = 0;
    const v = pre ? load(pe, nlo, nhi >>> 0) : load(pe, blo, bhi >>> 0);
    pe.x[t] = v;
    pe.x[t + 1] = pe.ldHi;
    pe.x[n] = nlo;
    pe.x[n + 1] = nhi;
  };
}

/** Pre- or post-indexed store; the value stored is Rt before writeback (also when Rt == Rn). */
export function storeWbOp(size: number, t: number, n: number, imm: number, pre: boolean): Op {
  const store = storeValue(size);
  return (pe) => {
    const blo = pe.x[n] >>> 0, bhi = pe.x[n + 1];
    const nlo = (blo + imm) >>> 0;
    const nhi = carryHi(blo, bhi, imm);
    pe.dataIss = 0;
    if (pre) store(pe, nlo, nhi >>> 0, t);
    else store(pe, blo, bhi >>> 0, t);
    pe.x[n] = nlo;
    pe.x[n + 1] = nhi;
  };
}

/** Loads a value of kind `k`: returns bits 31:0 of the extended result and leaves bits 63:32 in pe.ldHi. */
export type LoadValue = (pe: PE, lo: number, hi: number) => number;

export function loadValue(k: Ld): LoadValue {
  switch (k) {
    case Ld.B: return (pe, lo, hi) => { const v = pe.ld8(lo, hi); pe.ldHi = 0; return v; };
    case Ld.H: return (pe, lo, hi) => { const v = pe.ld16(lo, hi); pe.ldHi = 0; return v; };
    case Ld.W: return (pe, lo, hi) => { const v = pe.ld32(lo, hi); pe.ldHi = 0; return v; };
    case Ld.X: return (pe, lo, hi) => pe.ld64(lo, hi);
    case Ld.SBW: return (pe, lo, hi) => { const v = (pe.ld8(lo, hi) << 24) >> 24; pe.ldHi = 0; return v; };
    case Ld.SHW: return (pe, lo, hi) => { const v = (pe.ld16(lo, hi) << 16) >> 16; pe.ldHi = 0; return v; };
    case Ld.SBX: return (pe, lo, hi) => { const v = (pe.ld8(lo, hi) << 24) >> 24; pe.ldHi = v >> 31; return v; };
    case Ld.SHX: return (pe, lo, hi) => { const v = (pe.ld16(lo, hi) << 16) >> 16; pe.ldHi = v >> 31; return v; };
    case Ld.SWX: return (pe, lo, hi) => { const v = pe.ld32(lo, hi); pe.ldHi = v >> 31; return v; };
  }
}

/** Stores 1 << size bytes of the register at slot index `t`. */
export type StoreValue = (pe: PE, lo: number, hi: number, t: number) => void;

export function storeValue(size: number): StoreValue {
  switch (size) {
    case 0: return (pe, lo, hi, t) => pe.st8(lo, hi, pe.x[t] & 0xff);
    case 1: return (pe, lo, hi, t) => pe.st16(lo, hi, pe.x[t] & 0xffff);
    case 2: return (pe, lo, hi, t) => pe.st32(lo, hi, pe.x[t]);
    default: return (pe, lo, hi, t) => pe.st64(lo, hi, pe.x[t], pe.x[t + 1]);
  }
}

// ---- Unprivileged accesses (LDTR/STTR) --------------------------------------------------------

/**
 * Runs `inner` as an unprivileged access: at EL1 with PSTATE.UAO=0 the access
 * uses EL0's permissions, so it goes through the EL0 TLB (and the slow path
 * sees that TLB selected). At EL0, or with UAO=1, it is an ordinary access.
 * The TLB selection is recomputed afterwards, also when the access faults
 * (the exception entry has then already selected the new EL's TLB).
 */
export function unprivileged(inner: Op): Op {
  return (pe) => {
    if (pe.el !== 1 || pe.uao !== 0) {
      inner(pe);
      return;
    }
    pe.tlb = pe.tlbs[TlbIndex.EL0];
    try {
      inner(pe);
    } finally {
      pe.updateTlbSelection();
    }
  };
}

// ---- The exclusive monitor ------------------------------------------------------------

/**
 * Physical address of VA (lo, hi) when the current TLB holds its page for
 * reading (or writing): the translation is known to succeed with that
 * permission. -1 otherwise. `normal`: only a page of Normal memory counts.
 */
export function tlbPa(pe: PE, lo: number, hi: number, write: boolean, normal = false): number {
  const t = pe.tlb;
  const i = (lo >>> 12) & TLB_MASK;
  const tag = (lo >>> 12) | (hi << 20);
  const hit = write ? t.wTag[i] === tag && t.wTagHi[i] === hi >>> 12 : t.rTag[i] === tag && t.rTagHi[i] === hi >>> 12;
  return hit && (!normal || t.dev[i] === 0) ? t.pa[i] + (lo & 0xfff) : -1;
}

/**
 * Physical address of VA (lo, hi) for the exclusive monitor: from the current
 * TLB when it holds the page, else by translation (which may fault).
 */
export function physAddr(pe: PE, lo: number, hi: number, write: boolean): number {
  const pa = tlbPa(pe, lo, hi, write);
  return pa >= 0 ? pa : pe.translateData(lo, hi, write);
}

/** Marks (lo, hi) as exclusive for `size` bytes (after the load-exclusive succeeded). */
export function armMonitor(pe: PE, lo: number, hi: number, size: number): void {
  const pa = physAddr(pe, lo, hi, false);
  pe.exclPa = pa;
  pe.exclSize = size;
}

/**
 * The store-exclusive check (AArch64.ExclusiveMonitorsPass): true if the local
 * monitor is armed for exactly this physical address and size. Clears the
 * monitor in every case. The address is translated for writing only when the
 * monitor is armed, so a failing store-exclusive with an open monitor never
 * faults on translation (an IMPLEMENTATION DEFINED ordering the architecture allows).
 */
export function monitorPass(pe: PE, lo: number, hi: number, size: number): boolean {
  if (pe.exclPa < 0) return false;
  const armed = pe.exclPa, armedSize = pe.exclSize;
  const pa = physAddr(pe, lo, hi, true);
  pe.exclPa = -1;
  return pa === armed && size === armedSize;
}

// ---- Disassembly ----------------------------------------------------------------

/** `[xn, #imm]`, or `[xn]` when imm is 0 (immediates in decimal, as objdump prints them). */
export const memImm = (n: number, imm: number): string => (imm === 0 ? `[${regName(n, 1, true)}]` : `[${regName(n, 1, true)}, #${imm}]`);
export const memBase = (n: number): string => `[${regName(n, 1, true)}]`;
export const memPre = (n: number, imm: number): string => `[${regName(n, 1, true)}, #${imm}]!`;
export const memPost = (n: number, imm: number): string => `[${regName(n, 1, true)}], #${imm}`;

const PRF_TYPE = ['pld', 'pli', 'pst'];
const PRF_TARGET = ['l1', 'l2', 'l3'];
/** PRFM's prefetch operation operand: `pldl1keep`, or `#0xNN` for unallocated values. */
export function prfop(rt: number): string {
  const type = rt >> 3, target = (rt >> 1) & 3;
  if (type === 3 || target === 3) return `#0x${rt.toString(16).padStart(2, '0')}`;
  return `${PRF_TYPE[type]}${PRF_TARGET[target]}${rt & 1 ? 'strm' : 'keep'}`;
}

/** Mnemonic and destination-register width of a load/store-register encoding (size, opc). */
export function ldstMnemonic(base: string, size: number, opc: number): { mn: string; wide: boolean } {
  const suffix = ['b', 'h', '', ''][size];
  if (opc === 0) return { mn: `st${base}${suffix}`, wide: size === 3 };
  if (opc === 1) return { mn: `ld${base}${suffix}`, wide: size === 3 };
  return { mn: `ld${base}s${size === 2 ? 'w' : suffix}`, wide: opc === 2 };
}
