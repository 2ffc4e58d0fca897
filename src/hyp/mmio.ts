/**
 * The access a guest made when its data abort becomes MMIO emulation: from
 * the syndrome when ESR_EL2.ISV = 1 (SAS, SSE, SRT, SF, WnR), otherwise by
 * decoding the faulting instruction, which L0 reads through the guest's
 * stage 1 and stage 2 (KVM refuses ISV = 0 aborts; we emulate the integer
 * load/store forms a guest reasonably uses on device memory):
 *
 * - LDR/STR (all sizes, sign-extending loads) with unsigned offset, unscaled,
 *   unprivileged, register offset, pre-indexed and post-indexed addressing;
 * - LDP/STP/LDPSW/LDNP/STNP (offset, pre-, post-indexed).
 *
 * A pair becomes two MMIO accesses of the element size, at ea and ea + size,
 * in that order (two exits to the VMM), and the instruction completes after
 * the second: registers (Rt2 then Rt, as the PE does) and the base writeback
 * are written only then, so a failed access leaves the guest's registers
 * untouched. Everything else (SIMD&FP registers, exclusives, atomics,
 * accesses straddling a page) is refused with a message naming it.
 *
 * No BigInt: 64-bit values are (lo, hi) halves.
 */
import { SLOT_SP } from '../cpu/pe.js';

const TWO32 = 4294967296;

/** One emulated load or store (reused per vCPU). */
export class MmioAccess {
  /** Number of elements: 1, or 2 for a pair. */
  count = 1;
  /** Bytes per element: 1, 2, 4, 8. */
  size = 4;
  isWrite = false;
  /** Loads: sign-extend from `size`. */
  signExt = false;
  /** Loads: the destination is an X register (else a W register: bits 63:32 become zero). */
  sf = false;
  /** Transfer registers of element 0 and 1 (31 = XZR). */
  rt0 = 31;
  rt1 = 31;
  /** Base register to write back (0..30, 31 = SP), or -1; and its new value. */
  wb = -1;
  wbLo = 0;
  wbHi = 0;
  /** Virtual address of element 0 (known only for decoded instructions; -1 with ISV). */
  eaLo = 0;
  eaHi = 0;
  decoded = false;
  /** Element data: stores' values, loads' values as completed. [lo0, hi0, lo1, hi1]. */
  readonly data = new Int32Array(4);
  /** IPA of element 0. */
  ipa = 0;
  /** Element being performed. */
  index = 0;
}

/** Reads Xn (n < 31) or, for n = 31, XZR (0) or SP. `sp` gives the SP halves (the guest's, banked while L0 runs). */
export interface GuestRegs {
  x: Int32Array;
  spLo: number;
  spHi: number;
}

/** Fills `a` from an ISV = 1 syndrome; the caller reads store data. */
export function fromSyndrome(a: MmioAccess, esr: number): void {
  a.count = 1;
  a.size = 1 << ((esr >>> 22) & 3);
  a.signExt = ((esr >>> 21) & 1) !== 0;
  a.rt0 = (esr >>> 16) & 31;
  a.rt1 = 31;
  a.sf = ((esr >>> 15) & 1) !== 0;
  a.isWrite = ((esr >>> 6) & 1) !== 0;
  a.wb = -1;
  a.decoded = false;
  a.index = 0;
}

function sx(v: number, bits: number): number {
  return (v << (32 - bits)) >> (32 - bits);
}

let rLo = 0;
let rHi = 0;
/** (lo, hi) + a signed offset below 2^52 in magnitude, into rLo/rHi. */
function add64(lo: number, hi: number, off: number): void {
  const s = (lo >>> 0) + (off % TWO32);
  let h = (hi | 0) + Math.trunc(off / TWO32);
  if (s >= TWO32) h += 1;
  else if (s < 0) h -= 1;
  rLo = (s >>> 0) | 0;
  rHi = h | 0;
}

function base(r: GuestRegs, n: number): void {
  if (n === 31) {
    rLo = r.spLo;
    rHi = r.spHi;
  } else {
    rLo = r.x[2 * n];
    rHi = r.x[2 * n + 1];
  }
}

/**
 * Decodes the load/store `w` for MMIO emulation into `a` (registers from
 * `r` as they were at the fault). Returns null, or why it cannot be emulated.
 */
export function decodeInsn(a: MmioAccess, w: number, r: GuestRegs): string | null {
  w >>>= 0;
  a.decoded = true;
  a.index = 0;
  a.wb = -1;
  const op0 = (w >>> 27) & 7; // bits 29:27
  const v = (w >>> 26) & 1;
  const rt = w & 31, rn = (w >>> 5) & 31;
  if (op0 === 7 && ((w >>> 24) & 3) <= 1) {
    // Load/store register (immediate, register offset, unprivileged).
    if (v) return 'a SIMD&FP register load/store to MMIO';
    const size = w >>> 30, opc = (w >>> 22) & 3;
    if ((size === 3 && opc >= 2) || (size === 2 && opc === 3)) return `an unallocated or prefetch load/store encoding 0x${w.toString(16)}`;
    let off = 0;
    let mode = 0; // 0 offset, 1 post, 2 pre
    if ((w >>> 24) & 1) {
      off = ((w >>> 10) & 0xfff) << size;
    } else if (((w >>> 21) & 1) === 0) {
      off = sx((w >>> 12) & 0x1ff, 9);
      const k = (w >>> 10) & 3;
      mode = k === 1 ? 1 : k === 3 ? 2 : 0;
    } else if (((w >>> 10) & 3) === 2) {
      const rm = (w >>> 16) & 31, option = (w >>> 13) & 7, s = (w >>> 12) & 1;
      if ((option & 2) === 0) return `an unallocated register-offset extend in 0x${w.toString(16)}`;
      const mlo = rm === 31 ? 0 : r.x[2 * rm];
      const mhi = rm === 31 ? 0 : option === 2 ? 0 : option === 6 ? mlo >> 31 : r.x[2 * rm + 1];
      const sh = s ? size : 0;
      off = (mhi | 0) * TWO32 + (mlo >>> 0);
      off *= 2 ** sh;
      // Keep the offset exact: an index beyond 2^52 is not something a device driver computes.
      if (!Number.isSafeInteger(off)) return 'a register-offset index too large to emulate';
    } else {
      return 'an atomic memory operation (LDADD, SWP, CAS...) on MMIO';
    }
    base(r, rn);
    const bLo = rLo, bHi = rHi;
    add64(bLo, bHi, off);
    a.eaLo = mode === 1 ? bLo : rLo;
    a.eaHi = mode === 1 ? bHi : rHi;
    if (mode !== 0) {
      a.wb = rn;
      a.wbLo = rLo;
      a.wbHi = rHi;
    }
    a.count = 1;
    a.size = 1 << size;
    a.isWrite = opc === 0;
    a.signExt = opc >= 2;
    a.sf = opc === 2 || (opc === 1 && size === 3) || (opc === 0 && size === 3);
    a.rt0 = rt;
    a.rt1 = 31;
    return null;
  }
  if (op0 === 5) {
    // Load/store pair: bits 25:23 = 000 non-temporal offset, 001 post, 010 offset, 011 pre.
    if (v) return 'a SIMD&FP register pair load/store to MMIO';
    const mode = (w >>> 23) & 7;
    if (mode > 3) return `an unallocated load/store pair encoding 0x${w.toString(16)}`;
    const opc = w >>> 30, load = ((w >>> 22) & 1) === 1;
    if (opc === 3 || (opc === 1 && (!load || mode === 0))) return `an unallocated load/store pair encoding 0x${w.toString(16)}`;
    const esz = opc === 2 ? 8 : 4;
    const off = sx((w >>> 15) & 0x7f, 7) * esz;
    base(r, rn);
    const bLo = rLo, bHi = rHi;
    add64(bLo, bHi, off);
    const post = mode === 1;
    a.eaLo = post ? bLo : rLo;
    a.eaHi = post ? bHi : rHi;
    if (mode === 1 || mode === 3) {
      a.wb = rn;
      a.wbLo = rLo;
      a.wbHi = rHi;
    }
    a.count = 2;
    a.size = esz;
    a.isWrite = !load;
    a.signExt = opc === 1;
    a.sf = opc !== 0;
    a.rt0 = rt;
    a.rt1 = (w >>> 10) & 31;
    return null;
  }
  if (((w >>> 24) & 0x3f) === 0x08) return 'an exclusive or acquire/release load/store (LDXR, STXR, LDAXP...) on MMIO';
  if (op0 === 3 && ((w >>> 24) & 1) === 0) return 'a PC-relative literal load from MMIO';
  return `instruction 0x${w.toString(16).padStart(8, '0')} is not a load/store L0 can emulate on MMIO`;
}

/** Reads the store data of element `k` (register rt, 31 = XZR) into a.data, masked to the element size. */
export function readStoreData(a: MmioAccess, x: Int32Array, k: number): void {
  const rt = k === 0 ? a.rt0 : a.rt1;
  let lo = rt === 31 ? 0 : x[2 * rt];
  let hi = rt === 31 ? 0 : x[2 * rt + 1];
  if (a.size === 1) { lo &= 0xff; hi = 0; }
  else if (a.size === 2) { lo &= 0xffff; hi = 0; }
  else if (a.size === 4) hi = 0;
  a.data[2 * k] = lo;
  a.data[2 * k + 1] = hi;
}

/** Writes loaded element `k` (in a.data) to its register with the extension the instruction asks for. */
export function writeLoadResult(a: MmioAccess, x: Int32Array, k: number): void {
  const rt = k === 0 ? a.rt0 : a.rt1;
  if (rt === 31) return;
  let lo = a.data[2 * k], hi = a.data[2 * k + 1];
  switch (a.size) {
    case 1: lo = a.signExt ? (lo << 24) >> 24 : lo & 0xff; hi = a.signExt ? lo >> 31 : 0; break;
    case 2: lo = a.signExt ? (lo << 16) >> 16 : lo & 0xffff; hi = a.signExt ? lo >> 31 : 0; break;
    case 4: hi = a.signExt ? lo >> 31 : 0; break;
    default: break;
  }
  if (!a.sf) hi = 0;
  x[2 * rt] = lo | 0;
  x[2 * rt + 1] = hi | 0;
}

export { SLOT_SP };
