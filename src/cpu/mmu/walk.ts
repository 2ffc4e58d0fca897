/**
 * The VMSAv8-64 translation table walker for the EL1&0 regime: stage 1
 * (AArch64.S1Translate / AArch64.S1Walk, TTBR0_EL1/TTBR1_EL1 under TCR_EL1)
 * and stage 2 (AArch64.S2Translate / AArch64.S2Walk, VTTBR_EL2 under
 * VTCR_EL2), including stage 2 of the stage-1 walk's own descriptor reads.
 *
 * The walker never raises: it returns the output address, or -1 after
 * recording the fault (status code with level, stage, S1PTW, faulting IPA)
 * in an `XlResult`. translate.ts raises the exception for memory accesses;
 * at.ts turns the record into PAR_EL1.
 *
 * Addresses: virtual addresses arrive as (lo, hi) 32-bit halves; IPAs and
 * PAs are numbers below 2^52 (exact in doubles). Descriptors are read from
 * RAM as two 32-bit halves. No hardware Access flag or dirty state update
 * (TCR_EL1.HA/HD and VTCR_EL2.HA/HD read as 0).
 */
import type { PE } from '../pe.js';
import type { PhysicalBus } from '../bus.js';
import { FSC } from '../../arch/esr.js';
import { sr } from '../../arch/sysregs.js';
import {
  PS_BITS, TXSZ_MIN, TXSZ_MAX, tg0Log2, tg1Log2, s1StartLevel, s2StartLevel, levelShift, blockAllowed,
  TCR_EPD0, TCR_EPD1, TCR_A1, TCR_HI_AS, TCR_HI_TBI0, TCR_HI_TBI1,
  SCTLR_M, SCTLR_WXN, HCR_VM, HCR_DC, HCR_TGE,
  D_AF, D_AP1, D_AP2, D_NG, D2_S2AP_R, D2_S2AP_W,
  DH_PXN, DH_UXN, DH_PXNTABLE, DH_UXNTABLE, DH_APTABLE0, DH_APTABLE1,
  PERM_R, PERM_W, PERM_X,
} from '../../arch/vmsa.js';

export const enum Access {
  Read = 0,
  Write = 1,
  Exec = 2,
}

/** The outcome of one translation. Reused: valid until the next walk into the same object. */
export class XlResult {
  /** Permissions (PERM_R/W/X) the privilege that asked has on the page, stage 1 and 2 combined. */
  perms = 0;
  /** ASID for a non-global stage-1 entry, -1 for global. */
  asid = -1;
  /** Log2 of the size of the block or page (the smaller of the two stages). */
  sizeLog2 = 12;
  /** Stage-1 memory attributes as a MAIR_EL1 byte, and shareability SH[1:0] (for PAR_EL1). */
  attr = 0;
  sh = 0;
  /** Stage-2 results of the last stage-2 walk: permissions, block size, MemAttr[3:0]. */
  perms2 = 0;
  size2 = 0;
  memattr2 = 0;
  /** The fault: status code with its level (DFSC/IFSC), or -1 for success. */
  fsc = -1;
  /** True when the fault was found at stage 2. */
  stage2 = false;
  /** True for a stage-2 fault on a stage-1 table walk. */
  s1ptw = false;
  /** For a stage-2 fault, the IPA being translated (the descriptor's, when s1ptw). */
  ipa = 0;
}

const TWO32 = 4294967296;
/** POW2[n] = 2^n for n up to 64. */
const POW2: readonly number[] = Array.from({ length: 65 }, (_, n) => 2 ** n);

const SR_SCTLR_EL1 = sr('SCTLR_EL1');
const SR_TCR_EL1 = sr('TCR_EL1');
const SR_TTBR0_EL1 = sr('TTBR0_EL1');
const SR_TTBR1_EL1 = sr('TTBR1_EL1');
const SR_MAIR_EL1 = sr('MAIR_EL1');
const SR_HCR_EL2 = sr('HCR_EL2');
const SR_VTTBR_EL2 = sr('VTTBR_EL2');
const SR_VTCR_EL2 = sr('VTCR_EL2');

// The last descriptor read, as halves.
let dLo = 0;
let dHi = 0;

/** Reads the 64-bit descriptor at physical `pa` into dLo/dHi; false if `pa` is not RAM (an external abort on the walk). */
function readDesc(bus: PhysicalBus, pa: number): boolean {
  const r = bus.findRam(pa);
  if (r === null || pa + 8 > r.base + r.size) return false;
  const o = pa - r.base;
  dLo = r.view.getInt32(o, true);
  dHi = r.view.getInt32(o + 4, true);
  return true;
}

/**
 * Output address field of a descriptor or translation table base register:
 * bits [47:shift], plus OA[51:48] from bits [15:12] for 64K-granule
 * descriptors with 52-bit output (FEAT_LPA).
 */
function outAddr(lo: number, hi: number, shift: number, lpaDesc: boolean): number {
  let a: number;
  if (shift >= 32) a = (hi & 0xffff & ~((1 << (shift - 32)) - 1)) * TWO32;
  else a = (hi & 0xffff) * TWO32 + ((lo & ~((1 << shift) - 1)) >>> 0);
  if (lpaDesc) a += ((lo >>> 12) & 0xf) * POW2[48];
  return a;
}

/** Base address of a translation table base register (TTBRn_EL1, VTTBR_EL2): BADDR aligned to the initial table, BADDR[51:48] in bits [5:2] with 52-bit 64K tables. */
function baseAddr(lo: number, hi: number, align: number, lpa: boolean): number {
  if (!lpa) return outAddr(lo, hi, align, false);
  return outAddr(lo, hi, Math.max(align, 6), false) + ((lo >>> 2) & 0xf) * POW2[48];
}

/** Most entries of PE.s2PtwCache before it starts over. */
const S2_PTW_CACHE_MAX = 4096;

function fault(out: XlResult, fsc: number, stage2: boolean, s1ptw: boolean, ipa: number): number {
  out.fsc = fsc;
  out.stage2 = stage2;
  out.s1ptw = s1ptw;
  out.ipa = ipa;
  return -1;
}

/**
 * Stage-2 translation of `ipa` for an access by `el0` (EL0 or EL1
 * privilege) under VTTBR_EL2 = (vtLo, vtHi) and VTCR_EL2 = vtcr
 * (AArch64.S2Translate). `s1ptw` marks a read of a stage-1 descriptor.
 * Returns the PA, or -1 with the fault recorded (stage2 = true). On success
 * sets out.perms2, out.size2 and out.memattr2.
 *
 * Exported so that L0 can walk a guest hypervisor's stage-2 tables too.
 *
 * XN is taken as the two-bit FEAT_XNX field (bits 54:53): 00 executable at
 * EL0 and EL1, 01 not at EL1, 10 at neither, 11 not at EL0. Without
 * FEAT_XNX bit 53 is RES0, so this agrees with ARMv8.0 for any table that
 * respects RES0.
 */
export function s2Walk(bus: PhysicalBus, paBits: number, vtLo: number, vtHi: number, vtcr: number, ipa: number, acc: Access, el0: boolean, s1ptw: boolean, out: XlResult): number {
  const g = tg0Log2((vtcr >>> 14) & 3);
  const stride = g - 3;
  const t0sz = vtcr & 63;
  const inputBits = 64 - t0sz;
  let level = s2StartLevel((vtcr >>> 6) & 3, g);
  const ps = Math.min(PS_BITS[(vtcr >>> 16) & 7], paBits);
  const lpa = g === 16 && ps === 52;
  // AArch64.S2InvalidSL, AArch64.S2InconsistentSL, the T0SZ limits and
  // AArch64.IPAIsOutOfRange: a Translation fault at level 0.
  if (level < 0 || t0sz < TXSZ_MIN || inputBits > paBits) return fault(out, FSC.TRANSLATION, true, s1ptw, ipa);
  if ((level === 0 && g === 12 && paBits < 44) || (level === 1 && g === 14 && paBits < 42) || (level === 1 && g === 16 && paBits < 44)) {
    return fault(out, FSC.TRANSLATION, true, s1ptw, ipa);
  }
  let shift = levelShift(level, g);
  let bits = inputBits - shift;
  // The initial lookup resolves at least 1 bit and at most stride + 4 bits (16 concatenated tables).
  if (bits < 1 || bits > stride + 4 || ipa >= POW2[inputBits]) return fault(out, FSC.TRANSLATION, true, s1ptw, ipa);
  let base = baseAddr(vtLo, vtHi, bits + 3, lpa);
  if (base >= POW2[ps]) return fault(out, FSC.ADDR_SIZE, true, s1ptw, ipa);
  for (;;) {
    const idx = Math.floor(ipa / POW2[shift]) % POW2[bits];
    if (!readDesc(bus, base + idx * 8)) return fault(out, FSC.SYNC_EXTERNAL_WALK + level, true, s1ptw, ipa);
    const lo = dLo, hi = dHi;
    if ((lo & 1) === 0) return fault(out, FSC.TRANSLATION + level, true, s1ptw, ipa);
    if (level < 3 && (lo & 2) !== 0) {
      // Table descriptor: the next level's table (stage-2 tables carry no hierarchical attributes).
      const next = outAddr(lo, hi, g, lpa);
      if (next >= POW2[ps]) return fault(out, FSC.ADDR_SIZE + level, true, s1ptw, ipa);
      base = next;
      level++;
      shift -= stride;
      bits = stride;
      continue;
    }
    if (level === 3 ? (lo & 2) === 0 : !blockAllowed(level, g, lpa)) return fault(out, FSC.TRANSLATION + level, true, s1ptw, ipa);
    const oa = outAddr(lo, hi, shift, lpa);
    if (oa >= POW2[ps]) return fault(out, FSC.ADDR_SIZE + level, true, s1ptw, ipa);
    if ((lo & D_AF) === 0) return fault(out, FSC.ACCESS_FLAG + level, true, s1ptw, ipa);
    const xn = (hi >>> 21) & 3;
    const x = el0 ? xn <= 1 : xn === 0 || xn === 3;
    const perms = (lo & D2_S2AP_R ? PERM_R : 0) | (lo & D2_S2AP_W ? PERM_W : 0) | (x ? PERM_X : 0);
    // Stage-1 walks read their descriptors.
    const need = s1ptw ? PERM_R : acc === Access.Write ? PERM_W : acc === Access.Exec ? PERM_X : PERM_R;
    if ((perms & need) === 0) return fault(out, FSC.PERMISSION + level, true, s1ptw, ipa);
    out.perms2 = perms;
    out.size2 = shift;
    out.memattr2 = (lo >>> 2) & 15;
    return oa + (ipa % POW2[shift]);
  }
}

/**
 * Stage-1 translation of VA (lo, hi) for the EL1&0 regime
 * (AArch64.S1Translate): TTBR selection by VA[55], TBI, the TxSZ range,
 * EPDn, the walk with hierarchical permissions, and the permission check
 * for `el0` (EL0 privilege, including unprivileged loads and stores at EL1)
 * with `pan` (PSTATE.PAN for privileged data accesses). When `s2` is set,
 * descriptor reads go through stage 2 (faults there have s1ptw set).
 * Returns the IPA, or -1 with the fault recorded.
 */
function s1Walk(pe: PE, vlo: number, vhi: number, acc: Access, el0: boolean, pan: boolean, s2: boolean, out: XlResult): number {
  const srr = pe.sr;
  const tcrLo = srr[2 * SR_TCR_EL1], tcrHi = srr[2 * SR_TCR_EL1 + 1];
  const paBits = pe.features.paBits;
  const upper = (vhi >>> 23) & 1; // VA[55] selects TTBR1_EL1
  let txsz: number, g: number, ttbr: number, tbi: number, epd: number;
  if (upper) {
    txsz = (tcrLo >>> 16) & 63;
    g = tg1Log2((tcrLo >>> 30) & 3);
    ttbr = SR_TTBR1_EL1;
    tbi = tcrHi & TCR_HI_TBI1;
    epd = tcrLo & TCR_EPD1;
  } else {
    txsz = tcrLo & 63;
    g = tg0Log2((tcrLo >>> 14) & 3);
    ttbr = SR_TTBR0_EL1;
    tbi = tcrHi & TCR_HI_TBI0;
    epd = tcrLo & TCR_EPD0;
  }
  // TxSZ outside the implemented range: a level-0 Translation fault (the
  // IMPLEMENTATION DEFINED choice QEMU makes too).
  if (txsz < TXSZ_MIN || txsz > TXSZ_MAX) return fault(out, FSC.TRANSLATION, false, false, 0);
  // AArch64.VAIsOutOfRange: VA[top:inputBits] must all equal VA[55], top = 55 with TBI, else 63.
  const inputBits = 64 - txsz;
  const ext = upper ? -1 : 0;
  const h = tbi ? (vhi & 0x00ffffff) | (ext & ~0x00ffffff) : vhi | 0;
  if (inputBits >= 32 ? h >> (inputBits - 32) !== ext : h !== ext || (vlo | 0) >> inputBits !== ext) return fault(out, FSC.TRANSLATION, false, false, 0);
  if (epd) return fault(out, FSC.TRANSLATION, false, false, 0);

  const stride = g - 3;
  let level = s1StartLevel(inputBits, g);
  let shift = levelShift(level, g);
  let bits = inputBits - shift;
  const ps = Math.min(PS_BITS[tcrHi & 7], paBits);
  const lpa = g === 16 && ps === 52;
  let base = baseAddr(srr[2 * ttbr], srr[2 * ttbr + 1], bits + 3, lpa);
  if (base >= POW2[ps]) return fault(out, FSC.ADDR_SIZE, false, false, 0);
  const va = (vhi & 0xffff) * TWO32 + (vlo >>> 0); // VA[47:0]: the bits any lookup indexes with

  let vtLo = 0, vtHi = 0, vtcr = 0;
  if (s2) {
    vtLo = srr[2 * SR_VTTBR_EL2];
    vtHi = srr[2 * SR_VTTBR_EL2 + 1];
    vtcr = srr[2 * SR_VTCR_EL2];
  }
  let tbl = 0; // accumulated APTable/UXNTable/PXNTable (in high-half bit positions)
  for (;;) {
    const idx = Math.floor(va / POW2[shift]) % POW2[bits];
    let da = base + idx * 8;
    if (s2) {
      // Stage 2 of the descriptor's IPA: from the PE's cache of successful descriptor-read translations
      // (PE.s2PtwCache, emptied with the TLBs), else by a walk whose fault is the s1ptw stage-2 fault.
      const ipaPage = Math.floor(da / 4096);
      const hit = pe.s2PtwCache.get(ipaPage);
      if (hit !== undefined) da = hit + (da % 4096);
      else {
        const pa = s2Walk(pe.bus, paBits, vtLo, vtHi, vtcr, da, Access.Read, el0, true, out);
        if (pa < 0) return -1;
        if (pe.s2PtwCache.size >= S2_PTW_CACHE_MAX) pe.s2PtwCache.clear();
        pe.s2PtwCache.set(ipaPage, pa - (pa % 4096));
        da = pa;
      }
    }
    if (!readDesc(pe.bus, da)) return fault(out, FSC.SYNC_EXTERNAL_WALK + level, false, false, 0);
    const lo = dLo, hi = dHi;
    if ((lo & 1) === 0) return fault(out, FSC.TRANSLATION + level, false, false, 0);
    if (level < 3 && (lo & 2) !== 0) {
      const next = outAddr(lo, hi, g, lpa);
      if (next >= POW2[ps]) return fault(out, FSC.ADDR_SIZE + level, false, false, 0);
      tbl |= hi & (DH_PXNTABLE | DH_UXNTABLE | DH_APTABLE0 | DH_APTABLE1);
      base = next;
      level++;
      shift -= stride;
      bits = stride;
      continue;
    }
    if (level === 3 ? (lo & 2) === 0 : !blockAllowed(level, g, lpa)) return fault(out, FSC.TRANSLATION + level, false, false, 0);
    const oa = outAddr(lo, hi, shift, lpa);
    if (oa >= POW2[ps]) return fault(out, FSC.ADDR_SIZE + level, false, false, 0);
    // No hardware Access flag update: AF = 0 is an Access flag fault (before permissions).
    if ((lo & D_AF) === 0) return fault(out, FSC.ACCESS_FLAG + level, false, false, 0);

    // AArch64.S1ComputePermissions: AP[2:1] limited by APTable, XN by UXNTable/PXNTable.
    const userAcc = (lo & D_AP1) !== 0 && (tbl & DH_APTABLE0) === 0; // AP[1]: EL0 access
    const ro = (lo & D_AP2) !== 0 || (tbl & DH_APTABLE1) !== 0; // AP[2]: read-only
    const wxn = (srr[2 * SR_SCTLR_EL1] & SCTLR_WXN) !== 0;
    let perms: number;
    if (el0) {
      const w = userAcc && !ro;
      const x = (hi & DH_UXN) === 0 && (tbl & DH_UXNTABLE) === 0 && !(wxn && w);
      perms = (userAcc ? PERM_R : 0) | (w ? PERM_W : 0) | (x ? PERM_X : 0);
    } else {
      // EL1 never executes a page EL0 can write (AP = 01); PAN removes data access to EL0-accessible pages.
      const x = (hi & DH_PXN) === 0 && (tbl & DH_PXNTABLE) === 0 && !(userAcc && !ro) && !(wxn && !ro);
      perms = pan && userAcc ? 0 : ro ? PERM_R : PERM_R | PERM_W;
      if (x) perms |= PERM_X;
    }
    const need = acc === Access.Write ? PERM_W : acc === Access.Exec ? PERM_X : PERM_R;
    if ((perms & need) === 0) return fault(out, FSC.PERMISSION + level, false, false, 0);

    out.perms = perms;
    out.sizeLog2 = shift;
    if (lo & D_NG) {
      const asidReg = tcrLo & TCR_A1 ? SR_TTBR1_EL1 : SR_TTBR0_EL1;
      out.asid = (srr[2 * asidReg + 1] >>> 16) & (tcrHi & TCR_HI_AS ? 0xffff : 0xff);
    } else {
      out.asid = -1;
    }
    const ai = (lo >>> 2) & 7;
    out.attr = ai < 4 ? (srr[2 * SR_MAIR_EL1] >>> (8 * ai)) & 0xff : (srr[2 * SR_MAIR_EL1 + 1] >>> (8 * (ai - 4))) & 0xff;
    out.sh = (lo >>> 8) & 3;
    return oa + (va % POW2[shift]);
  }
}

/**
 * Translates VA (lo, hi) in the EL1&0 regime as the PE's current
 * configuration says (AArch64.FullTranslate): stage 1 when SCTLR_EL1.M is
 * set (and HCR_EL2.DC/TGE are clear), then, when HCR_EL2.VM is set and
 * `s2final`, stage 2 of the output. Stage 2 always applies to the stage-1
 * walk's own descriptor reads when enabled. `el0` and `pan` give the
 * privilege the permissions are computed for. Returns the output address
 * (PA, or IPA when !s2final), or -1 with the fault in `out`.
 */
export function walk(pe: PE, lo: number, hi: number, acc: Access, el0: boolean, pan: boolean, s2final: boolean, out: XlResult): number {
  const srr = pe.sr;
  const hcr = srr[2 * SR_HCR_EL2];
  const s1 = (srr[2 * SR_SCTLR_EL1] & SCTLR_M) !== 0 && (hcr & (HCR_DC | HCR_TGE)) === 0;
  const s2 = (hcr & HCR_VM) !== 0 && (hcr & HCR_TGE) === 0;
  out.fsc = -1;
  out.stage2 = false;
  out.s1ptw = false;
  let ipa: number;
  if (s1) {
    ipa = s1Walk(pe, lo, hi, acc, el0, pan, s2, out);
    if (ipa < 0) return -1;
  } else {
    // AArch64.S1DisabledOutput: VA = IPA, VA[top:PAMax] must be zero (top = 55 with TBI).
    const paBits = pe.features.paBits;
    const tcrHi = srr[2 * SR_TCR_EL1 + 1];
    const tbi = (hi >>> 23) & 1 ? tcrHi & TCR_HI_TBI1 : tcrHi & TCR_HI_TBI0;
    const h = tbi ? hi & 0x00ffffff : hi >>> 0;
    if (paBits < 64 && h >>> (paBits - 32) !== 0) return fault(out, FSC.ADDR_SIZE, false, false, 0);
    ipa = (h & 0xfffff) * TWO32 + (lo >>> 0);
    out.perms = PERM_R | PERM_W | PERM_X;
    out.asid = -1;
    out.sizeLog2 = 12;
    // Data accesses are Device-nGnRnE, or Normal write-back with HCR_EL2.DC; instruction fetches Normal.
    out.attr = hcr & HCR_DC || acc === Access.Exec ? 0xff : 0x00;
    out.sh = hcr & HCR_DC ? 3 : 2;
  }
  if (!s2 || !s2final) return ipa;
  const pa = s2Walk(pe.bus, pe.features.paBits, srr[2 * SR_VTTBR_EL2], srr[2 * SR_VTTBR_EL2 + 1], srr[2 * SR_VTCR_EL2], ipa, acc, el0, false, out);
  if (pa < 0) return -1;
  out.perms &= out.perms2;
  if (out.size2 < out.sizeLog2) out.sizeLog2 = out.size2;
  return pa;
}

/**
 * The MAIR-style attribute byte of a stage 1 + stage 2 result
 * (S2CombineS1MemAttrs, simplified): Device at either stage gives the
 * stronger Device type; otherwise the stage-1 Normal attributes stand
 * (stage-2 cacheability downgrades are not modelled).
 */
export function combineS2Attr(s1attr: number, memattr2: number): number {
  const s1dev = (s1attr & 0xf0) === 0;
  if ((memattr2 & 0xc) !== 0) return s1attr; // stage 2 Normal
  const s2type = (memattr2 & 3) << 2; // Device-nGnRnE 0x00 .. Device-GRE 0x0c
  if (!s1dev) return s2type;
  return Math.min(s1attr & 0x0c, s2type);
}
