/**
 * Loads and stores of SIMD&FP registers (the V=1 half of the A64 "Loads and
 * Stores" group):
 * - LDR/STR B/H/S/D/Q: unsigned offset, unscaled (LDUR/STUR), pre- and
 *   post-indexed, register offset; LDR (literal) S/D/Q;
 * - LDP/STP/LDNP/STNP of S/D/Q (offset, pre, post, non-temporal);
 * - the structure forms: LD1-LD4/ST1-ST4 (multiple structures), LD1-LD4/
 *   ST1-ST4 (single structure, one lane), LD1R-LD4R (load and replicate),
 *   without offset or post-indexed by an immediate (Rm=31: the number of
 *   bytes transferred) or by a register.
 *
 * A load of a B/H/S/D register clears the rest of the 128 bits; a Q=0
 * structure load clears the upper 64 bits of every register it writes.
 * Register lists wrap modulo 32. All of these report ISV=0 in a data abort
 * (pe.dataIss = 0). Writeback happens after every access succeeded.
 *
 * Field names Rn (base), Rt, Rt2 and Rm (index) are relied on by the
 * differential generator.
 */
import { Fields, InsnDef, InsnFlags, Op } from '../decoder.js';
import type { PE } from '../pe.js';
import { regName, sext, src, srcSp, target } from './regs.js';
import { Ea, Ext, carryHi, immEa, litEa, memImm, memPost, memPre, regEa } from './ldst_util.js';

const MEM = InsnFlags.Memory;
const ET = ['b', 'h', 's', 'd'];
const ARR = ['8b', '16b', '4h', '8h', '2s', '4s', '1d', '2d'];

// ---- Whole-register accesses -------------------------------------------------------

/** Loads 1 << sz bytes (sz 0..4: B, H, S, D, Q) into Vt, clearing the rest. */
function loadReg(pe: PE, t: number, sz: number, lo: number, hi: number): void {
  const v = pe.v32, o = 4 * t;
  switch (sz) {
    case 0: { const b = pe.ld8(lo, hi); v[o] = b; v[o + 1] = 0; v[o + 2] = 0; v[o + 3] = 0; return; }
    case 1: { const h = pe.ld16(lo, hi); v[o] = h; v[o + 1] = 0; v[o + 2] = 0; v[o + 3] = 0; return; }
    case 2: { const w = pe.ld32(lo, hi); v[o] = w; v[o + 1] = 0; v[o + 2] = 0; v[o + 3] = 0; return; }
    case 3: { const l = pe.ld64(lo, hi); v[o] = l; v[o + 1] = pe.ldHi; v[o + 2] = 0; v[o + 3] = 0; return; }
    default: {
      const l0 = pe.ld64(lo, hi), h0 = pe.ldHi;
      const l1 = pe.ld64((lo + 8) >>> 0, carryHi(lo, hi, 8) >>> 0);
      v[o] = l0; v[o + 1] = h0; v[o + 2] = l1; v[o + 3] = pe.ldHi;
    }
  }
}

/** Stores the low 1 << sz bytes of Vt. */
function storeReg(pe: PE, t: number, sz: number, lo: number, hi: number): void {
  const v = pe.v32, o = 4 * t;
  switch (sz) {
    case 0: pe.st8(lo, hi, pe.v8[16 * t]); return;
    case 1: pe.st16(lo, hi, pe.v16[8 * t]); return;
    case 2: pe.st32(lo, hi, v[o]); return;
    case 3: pe.st64(lo, hi, v[o], v[o + 1]); return;
    default: {
      const a = v[o], b = v[o + 1], c = v[o + 2], d = v[o + 3];
      pe.st64(lo, hi, a, b);
      pe.st64((lo + 8) >>> 0, carryHi(lo, hi, 8) >>> 0, c, d);
    }
  }
}

/**
 * loadReg for sz 2..4 (S, D, Q): an access inside one page hitting the read
 * TLB takes one lookup (the conditions of pe.ld64, with the Device-memory
 * alignment test at the access size, so an unaligned Device access still
 * faults); anything else goes through loadReg (pe.ld*) as before.
 */
function loadFast(pe: PE, t: number, sz: number, lo: number, hi: number): void {
  const v = pe.v32, o = 4 * t;
  const tl = pe.tlb;
  const i = (lo >>> 12) & 1023;
  const mask = (1 << sz) - 1;
  if (tl.rTag[i] === ((lo >>> 12) | (hi << 20)) && tl.rTagHi[i] === hi >>> 12 && (lo & 0xfff) <= 0x1000 - (1 << sz) && (lo & mask & tl.dev[i]) === 0) {
    const dv = tl.view[i];
    const a = tl.off[i] + (lo & 0xfff);
    if (sz === 4) {
      v[o] = dv.getInt32(a, true); v[o + 1] = dv.getInt32(a + 4, true); v[o + 2] = dv.getInt32(a + 8, true); v[o + 3] = dv.getInt32(a + 12, true);
    } else if (sz === 3) {
      v[o] = dv.getInt32(a, true); v[o + 1] = dv.getInt32(a + 4, true); v[o + 2] = 0; v[o + 3] = 0;
    } else {
      v[o] = dv.getInt32(a, true); v[o + 1] = 0; v[o + 2] = 0; v[o + 3] = 0;
    }
    return;
  }
  loadReg(pe, t, sz, lo, hi);
}

/**
 * storeReg for sz 2..4 (S, D, Q): a store inside one page hitting the write
 * TLB takes one lookup, as in pe.st64 (the write TLB never holds pages with
 * decoded code; the exclusive monitor is cleared as pe.touchExclusive does);
 * anything else goes through storeReg (pe.st*) as before.
 */
function storeFast(pe: PE, t: number, sz: number, lo: number, hi: number): void {
  const v = pe.v32, o = 4 * t;
  const tl = pe.tlb;
  const i = (lo >>> 12) & 1023;
  const mask = (1 << sz) - 1;
  if (tl.wTag[i] === ((lo >>> 12) | (hi << 20)) && tl.wTagHi[i] === hi >>> 12 && (lo & 0xfff) <= 0x1000 - (1 << sz) && (lo & mask & tl.dev[i]) === 0) {
    const dv = tl.view[i];
    const a = tl.off[i] + (lo & 0xfff);
    dv.setInt32(a, v[o], true);
    if (sz >= 3) {
      dv.setInt32(a + 4, v[o + 1], true);
      if (sz === 4) {
        dv.setInt32(a + 8, v[o + 2], true);
        dv.setInt32(a + 12, v[o + 3], true);
      }
    }
    const x = pe.exclPa;
    if (x >= 0 && tl.pa[i] === x - (x % 4096)) pe.exclPa = -1;
    return;
  }
  storeReg(pe, t, sz, lo, hi);
}

/** loadFast for Q (sz 4), the common case, without the size tests. */
function loadQ(pe: PE, t: number, lo: number, hi: number): void {
  const tl = pe.tlb;
  const i = (lo >>> 12) & 1023;
  if (tl.rTag[i] === ((lo >>> 12) | (hi << 20)) && tl.rTagHi[i] === hi >>> 12 && (lo & 0xfff) <= 0xff0 && (lo & 15 & tl.dev[i]) === 0) {
    const dv = tl.view[i], v = pe.v32, o = 4 * t;
    const a = tl.off[i] + (lo & 0xfff);
    v[o] = dv.getInt32(a, true); v[o + 1] = dv.getInt32(a + 4, true); v[o + 2] = dv.getInt32(a + 8, true); v[o + 3] = dv.getInt32(a + 12, true);
    return;
  }
  loadReg(pe, t, 4, lo, hi);
}

/** storeFast for Q (sz 4), the common case, without the size tests. */
function storeQ(pe: PE, t: number, lo: number, hi: number): void {
  const tl = pe.tlb;
  const i = (lo >>> 12) & 1023;
  if (tl.wTag[i] === ((lo >>> 12) | (hi << 20)) && tl.wTagHi[i] === hi >>> 12 && (lo & 0xfff) <= 0xff0 && (lo & 15 & tl.dev[i]) === 0) {
    const dv = tl.view[i], v = pe.v32, o = 4 * t;
    const a = tl.off[i] + (lo & 0xfff);
    dv.setInt32(a, v[o], true); dv.setInt32(a + 4, v[o + 1], true); dv.setInt32(a + 8, v[o + 2], true); dv.setInt32(a + 12, v[o + 3], true);
    const x = pe.exclPa;
    if (x >= 0 && tl.pa[i] === x - (x % 4096)) pe.exclPa = -1;
    return;
  }
  storeReg(pe, t, 4, lo, hi);
}

/** The register size (0..4) of the load/store-register encodings (size, opc), or -1 if unallocated. */
export function regSize(size: number, opc: number): number {
  if ((opc & 2) === 0) return size;
  return size === 0 ? 4 : -1;
}

const SZ_NAMES = 'bhsdq';
const isLoad = (opc: number): boolean => (opc & 1) === 1;

function singleOp(load: boolean, sz: number, t: number, ea: Ea): Op {
  if (sz === 4) {
    if (load) {
      return (pe) => {
        if (!pe.fpEnabled) pe.fpTrap();
        const a = ea(pe);
        pe.dataIss = 0;
        loadQ(pe, t, a, pe.eaHi);
      };
    }
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      const a = ea(pe);
      pe.dataIss = 0;
      storeQ(pe, t, a, pe.eaHi);
    };
  }
  if (sz >= 2) {
    // S, D, Q: one TLB lookup on the fast path (closures of their own, so each calls one function).
    if (load) {
      return (pe) => {
        if (!pe.fpEnabled) pe.fpTrap();
        const a = ea(pe);
        pe.dataIss = 0;
        loadFast(pe, t, sz, a, pe.eaHi);
      };
    }
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      const a = ea(pe);
      pe.dataIss = 0;
      storeFast(pe, t, sz, a, pe.eaHi);
    };
  }
  if (load) {
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      const a = ea(pe);
      pe.dataIss = 0;
      loadReg(pe, t, sz, a, pe.eaHi);
    };
  }
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    const a = ea(pe);
    pe.dataIss = 0;
    storeReg(pe, t, sz, a, pe.eaHi);
  };
}

function writebackOp(load: boolean, sz: number, t: number, rn: number, imm: number, pre: boolean): Op {
  const n = srcSp(rn);
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    const blo = pe.x[n] >>> 0, bhi = pe.x[n + 1];
    const nlo = (blo + imm) >>> 0, nhi = carryHi(blo, bhi, imm);
    pe.dataIss = 0;
    const a = pre ? nlo : blo, ah = (pre ? nhi : bhi) >>> 0;
    if (sz === 4) {
      if (load) loadQ(pe, t, a, ah);
      else storeQ(pe, t, a, ah);
    } else if (sz >= 2) {
      if (load) loadFast(pe, t, sz, a, ah);
      else storeFast(pe, t, sz, a, ah);
    } else if (load) loadReg(pe, t, sz, a, ah);
    else storeReg(pe, t, sz, a, ah);
    pe.x[n] = nlo;
    pe.x[n + 1] = nhi;
  };
}

const EXT_NAMES = ['', '', 'uxtw', 'lsl', '', '', 'sxtw', 'sxtx'];

/** `[xn, xm{, lsl #s}]` / `[xn, wm, uxtw|sxtw {#s}]` / `[xn, xm, sxtx {#s}]`. */
function regMem(f: Fields, scale: number): string {
  const wIndex = (f.option & 1) === 0;
  const base = `${regName(f.Rn, 1, true)}, ${regName(f.Rm, !wIndex)}`;
  if (f.option === 3 && !f.S) return `[${base}]`;
  return `[${base}, ${EXT_NAMES[f.option]}${f.S ? ` #${scale}` : ''}]`;
}

// ---- Pairs ------------------------------------------------------------------------------

/** LDP/STP/LDNP/STNP of S (opc 00), D (01) or Q (10) registers. mode: 0 offset, 1 pre, 2 post. */
function pairOp(load: boolean, sz: number, t: number, t2: number, rn: number, imm: number, mode: number): Op {
  const n = srcSp(rn);
  const wb = mode !== 0, pre = mode !== 2;
  const bytes = 1 << sz;
  if (load) {
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      const blo = pe.x[n] >>> 0, bhi = pe.x[n + 1];
      const nlo = (blo + imm) >>> 0, nhi = carryHi(blo, bhi, imm);
      const a = pre ? nlo : blo, ah = (pre ? nhi : bhi) >>> 0;
      pe.dataIss = 0;
      // Both are read before either register is written (a fault on the second changes nothing).
      const v = pe.v32, o = 4 * t;
      const s0 = v[o], s1 = v[o + 1], s2 = v[o + 2], s3 = v[o + 3];
      loadReg(pe, t, sz, a, ah);
      try {
        loadReg(pe, t2, sz, (a + bytes) >>> 0, carryHi(a, ah, bytes) >>> 0);
      } catch (e) {
        v[o] = s0; v[o + 1] = s1; v[o + 2] = s2; v[o + 3] = s3;
        throw e;
      }
      if (wb) { pe.x[n] = nlo; pe.x[n + 1] = nhi; }
    };
  }
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    const blo = pe.x[n] >>> 0, bhi = pe.x[n + 1];
    const nlo = (blo + imm) >>> 0, nhi = carryHi(blo, bhi, imm);
    const a = pre ? nlo : blo, ah = (pre ? nhi : bhi) >>> 0;
    pe.dataIss = 0;
    storeReg(pe, t, sz, a, ah);
    storeReg(pe, t2, sz, (a + bytes) >>> 0, carryHi(a, ah, bytes) >>> 0);
    if (wb) { pe.x[n] = nlo; pe.x[n + 1] = nhi; }
  };
}

function pairDef(name: string, modeBits: string, mode: number): InsnDef {
  const nt = modeBits === '000';
  return {
    name, pattern: `opc:2 101 1 ${modeBits} L:1 imm7:7 Rt2:5 Rn:5 Rt:5`, cls: 'ldst', flags: MEM, feature: 'fp',
    valid: (f) => f.opc !== 3,
    build: (f) => {
      const sz = 2 + f.opc;
      return pairOp(f.L === 1, sz, f.Rt, f.Rt2, f.Rn, sext(f.imm7, 7) << sz, mode);
    },
    disasm: (f) => {
      const sz = 2 + f.opc;
      const imm = sext(f.imm7, 7) << sz;
      const mn = nt ? (f.L ? 'ldnp' : 'stnp') : f.L ? 'ldp' : 'stp';
      const r = SZ_NAMES[sz];
      const mem = mode === 0 ? memImm(f.Rn, imm) : mode === 1 ? memPre(f.Rn, imm) : memPost(f.Rn, imm);
      return `${mn} ${r}${f.Rt}, ${r}${f.Rt2}, ${mem}`;
    },
  };
}

// ---- Structures -------------------------------------------------------------------------

/** Loads one element of 8 << size bits into lane `i` of Vr. */
function ldElem(pe: PE, r: number, size: number, i: number, lo: number, hi: number): void {
  switch (size) {
    case 0: pe.v8[16 * r + i] = pe.ld8(lo, hi); return;
    case 1: pe.v16[8 * r + i] = pe.ld16(lo, hi); return;
    case 2: pe.v32[4 * r + i] = pe.ld32(lo, hi); return;
    default: { const l = pe.ld64(lo, hi); pe.v32[4 * r + 2 * i] = l; pe.v32[4 * r + 2 * i + 1] = pe.ldHi; }
  }
}

function stElem(pe: PE, r: number, size: number, i: number, lo: number, hi: number): void {
  switch (size) {
    case 0: pe.st8(lo, hi, pe.v8[16 * r + i]); return;
    case 1: pe.st16(lo, hi, pe.v16[8 * r + i]); return;
    case 2: pe.st32(lo, hi, pe.v32[4 * r + i]); return;
    default: pe.st64(lo, hi, pe.v32[4 * r + 2 * i], pe.v32[4 * r + 2 * i + 1]);
  }
}

/** Clears bits 127:64 of Vr. */
function clearUpper(pe: PE, r: number): void {
  pe.v32[4 * r + 2] = 0;
  pe.v32[4 * r + 3] = 0;
}

/** The (rpt, selem) of the multiple-structure opcodes, or null if unallocated. */
function multiShape(opcode: number): [number, number] | null {
  switch (opcode) {
    case 0b0000: return [1, 4];
    case 0b0010: return [4, 1];
    case 0b0100: return [1, 3];
    case 0b0110: return [3, 1];
    case 0b0111: return [1, 1];
    case 0b1000: return [1, 2];
    case 0b1010: return [2, 1];
    default: return null;
  }
}

/**
 * Post-index writeback of the structure forms: Rm=31 adds the transfer size,
 * another Rm adds Xm. `wb` false: no writeback.
 */
type Post = (pe: PE) => void;
function postIndex(wb: boolean, rn: number, rm: number, bytes: number): Post | null {
  if (!wb) return null;
  const n = srcSp(rn);
  if (rm === 31) {
    return (pe) => {
      const blo = pe.x[n] >>> 0;
      pe.x[n + 1] = carryHi(blo, pe.x[n + 1], bytes);
      pe.x[n] = (blo + bytes) | 0;
    };
  }
  const m = src(rm);
  return (pe) => {
    const s = (pe.x[n] >>> 0) + (pe.x[m] >>> 0);
    pe.x[n + 1] = (pe.x[n + 1] + pe.x[m + 1] + (s > 0xffffffff ? 1 : 0)) | 0;
    pe.x[n] = s | 0;
  };
}

function multiOp(f: Fields, wb: boolean): Op {
  const [rpt, selem] = multiShape(f.opcode)!;
  const load = f.L === 1, q = f.Q === 1, size = f.size;
  const n = srcSp(f.Rn), t = f.Rt;
  const elems = (q ? 16 : 8) >> size, ebytes = 1 << size;
  const bytes = (q ? 16 : 8) * rpt * selem;
  const post = postIndex(wb, f.Rn, f.Rm, bytes);
  const regs: number[] = [];
  for (let i = 0; i < rpt * selem; i++) regs.push((t + i) & 31);
  if (selem === 1) {
    // LD1/ST1 with 1-4 registers: each register is a contiguous 8 or 16 bytes (little-endian lanes).
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      let lo = pe.x[n] >>> 0, hi = pe.x[n + 1] >>> 0;
      pe.dataIss = 0;
      const v = pe.v32;
      for (let r = 0; r < regs.length; r++) {
        const o = 4 * regs[r];
        for (let k = 0; k < (q ? 2 : 1); k++) {
          if (load) {
            v[o + 2 * k] = pe.ld64(lo, hi);
            v[o + 2 * k + 1] = pe.ldHi;
          } else pe.st64(lo, hi, v[o + 2 * k], v[o + 2 * k + 1]);
          hi = carryHi(lo, hi, 8) >>> 0;
          lo = (lo + 8) >>> 0;
        }
        if (load && !q) clearUpper(pe, regs[r]);
      }
      if (post !== null) post(pe);
    };
  }
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    let lo = pe.x[n] >>> 0, hi = pe.x[n + 1] >>> 0;
    pe.dataIss = 0;
    for (let e = 0; e < elems; e++) {
      for (let s = 0; s < selem; s++) {
        if (load) ldElem(pe, regs[s], size, e, lo, hi);
        else stElem(pe, regs[s], size, e, lo, hi);
        hi = carryHi(lo, hi, ebytes) >>> 0;
        lo = (lo + ebytes) >>> 0;
      }
    }
    if (load && !q) for (let s = 0; s < selem; s++) clearUpper(pe, regs[s]);
    if (post !== null) post(pe);
  };
}

/** The register list `{v0.16b, v1.16b}` / `{v0.16b-v3.16b}` (a range for 3 or more without wrap-around), `{v0.s, v1.s}` for lanes. */
function regList(t: number, count: number, suffix: string): string {
  if (count > 2 && t + count - 1 <= 31) return `{v${t}.${suffix}-v${t + count - 1}.${suffix}}`;
  const l: string[] = [];
  for (let i = 0; i < count; i++) l.push(`v${(t + i) & 31}.${suffix}`);
  return `{${l.join(', ')}}`;
}

function postDisasm(f: Fields, wb: boolean, bytes: number): string {
  const base = `[${regName(f.Rn, 1, true)}]`;
  if (!wb) return base;
  return f.Rm === 31 ? `${base}, #${bytes}` : `${base}, ${regName(f.Rm, 1)}`;
}

function multiDef(name: string, wb: boolean): InsnDef {
  return {
    name,
    pattern: wb ? '0 Q:1 0011001 L:1 0 Rm:5 opcode:4 size:2 Rn:5 Rt:5' : '0 Q:1 0011000 L:1 000000 opcode:4 size:2 Rn:5 Rt:5',
    cls: 'ldst', flags: MEM, feature: 'fp',
    // 64-bit lanes in a 64-bit register list are reserved for LD2-LD4/ST2-ST4.
    valid: (f) => {
      const s = multiShape(f.opcode);
      return s !== null && !(f.size === 3 && f.Q === 0 && s[1] !== 1);
    },
    build: (f) => multiOp(f, wb),
    disasm: (f) => {
      const [rpt, selem] = multiShape(f.opcode)!;
      const mn = `${f.L ? 'ld' : 'st'}${selem}`;
      return `${mn} ${regList(f.Rt, rpt * selem, ARR[2 * f.size + f.Q])}, ${postDisasm(f, wb, (f.Q ? 16 : 8) * rpt * selem)}`;
    },
  };
}

/** Element size (log2 bytes) and index of a single-structure encoding, or null if unallocated; replicate forms return index -1. */
function singleShape(f: Fields): { scale: number; index: number } | null {
  switch (f.opcode >> 1) {
    case 0: return { scale: 0, index: (f.Q << 3) | (f.S << 2) | f.size };
    case 1:
      if (f.size & 1) return null;
      return { scale: 1, index: (f.Q << 2) | (f.S << 1) | (f.size >> 1) };
    case 2:
      if (f.size & 2) return null;
      if ((f.size & 1) === 0) return { scale: 2, index: (f.Q << 1) | f.S };
      if (f.S) return null;
      return { scale: 3, index: f.Q };
    default:
      if (f.L === 0 || f.S === 1) return null;
      return { scale: f.size, index: -1 };
  }
}

function singleStructOp(f: Fields, wb: boolean): Op {
  const { scale, index } = singleShape(f)!;
  const selem = (((f.opcode & 1) << 1) | f.R) + 1;
  const load = f.L === 1, q = f.Q === 1;
  const n = srcSp(f.Rn);
  const ebytes = 1 << scale;
  const post = postIndex(wb, f.Rn, f.Rm, selem * ebytes);
  const regs: number[] = [];
  for (let i = 0; i < selem; i++) regs.push((f.Rt + i) & 31);
  if (index < 0) {
    // LD1R-LD4R: load one element per register and replicate it to every lane.
    const elems = (q ? 16 : 8) >> scale;
    return (pe) => {
      if (!pe.fpEnabled) pe.fpTrap();
      let lo = pe.x[n] >>> 0, hi = pe.x[n + 1] >>> 0;
      pe.dataIss = 0;
      for (let s = 0; s < selem; s++) {
        const r = regs[s];
        ldElem(pe, r, scale, 0, lo, hi);
        switch (scale) {
          case 0: { const b = pe.v8[16 * r]; for (let i = 1; i < elems; i++) pe.v8[16 * r + i] = b; break; }
          case 1: { const h = pe.v16[8 * r]; for (let i = 1; i < elems; i++) pe.v16[8 * r + i] = h; break; }
          case 2: { const w = pe.v32[4 * r]; for (let i = 1; i < elems; i++) pe.v32[4 * r + i] = w; break; }
          default: if (q) { pe.v32[4 * r + 2] = pe.v32[4 * r]; pe.v32[4 * r + 3] = pe.v32[4 * r + 1]; }
        }
        if (!q) clearUpper(pe, r);
        hi = carryHi(lo, hi, ebytes) >>> 0;
        lo = (lo + ebytes) >>> 0;
      }
      if (post !== null) post(pe);
    };
  }
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    let lo = pe.x[n] >>> 0, hi = pe.x[n + 1] >>> 0;
    pe.dataIss = 0;
    for (let s = 0; s < selem; s++) {
      if (load) ldElem(pe, regs[s], scale, index, lo, hi);
      else stElem(pe, regs[s], scale, index, lo, hi);
      hi = carryHi(lo, hi, ebytes) >>> 0;
      lo = (lo + ebytes) >>> 0;
    }
    if (post !== null) post(pe);
  };
}

function singleStructDef(name: string, wb: boolean): InsnDef {
  return {
    name,
    pattern: wb ? '0 Q:1 0011011 L:1 R:1 Rm:5 opcode:3 S:1 size:2 Rn:5 Rt:5' : '0 Q:1 0011010 L:1 R:1 00000 opcode:3 S:1 size:2 Rn:5 Rt:5',
    cls: 'ldst', flags: MEM, feature: 'fp',
    valid: (f) => singleShape(f) !== null,
    build: (f) => singleStructOp(f, wb),
    disasm: (f) => {
      const { scale, index } = singleShape(f)!;
      const selem = (((f.opcode & 1) << 1) | f.R) + 1;
      const bytes = selem << scale;
      if (index < 0) return `ld${selem}r ${regList(f.Rt, selem, ARR[2 * scale + f.Q])}, ${postDisasm(f, wb, bytes)}`;
      return `${f.L ? 'ld' : 'st'}${selem} ${regList(f.Rt, selem, ET[scale])}[${index}], ${postDisasm(f, wb, bytes)}`;
    },
  };
}

// ---- The table -------------------------------------------------------------------------

/** Validity of the (size, opc) pair of the load/store-register encodings. */
const validRegSize = (f: Fields): boolean => regSize(f.size, f.opc) >= 0;
const scaleOf = (f: Fields): number => regSize(f.size, f.opc);
const ldMn = (f: Fields, base: string): string => `${isLoad(f.opc) ? 'ld' : 'st'}${base}`;
const vName = (f: Fields): string => `${SZ_NAMES[scaleOf(f)]}${f.Rt}`;

export const ldstSimdInsns: InsnDef[] = [
  {
    // size:opc: 00:x0/x1 B, 01 H, 10 S, 11 D (opc<0> 0 store, 1 load); size 00 with opc 1x is Q.
    name: 'LDST_V_uimm', pattern: 'size:2 111 1 01 opc:2 imm12:12 Rn:5 Rt:5', cls: 'ldst', flags: MEM, feature: 'fp',
    valid: validRegSize,
    build: (f) => singleOp(isLoad(f.opc), scaleOf(f), f.Rt, immEa(srcSp(f.Rn), f.imm12 << scaleOf(f))),
    disasm: (f) => `${ldMn(f, 'r')} ${vName(f)}, ${memImm(f.Rn, f.imm12 << scaleOf(f))}`,
  },
  {
    name: 'LDST_V_unscaled', pattern: 'size:2 111 1 00 opc:2 0 imm9:9 00 Rn:5 Rt:5', cls: 'ldst', flags: MEM, feature: 'fp',
    valid: validRegSize,
    build: (f) => singleOp(isLoad(f.opc), scaleOf(f), f.Rt, immEa(srcSp(f.Rn), sext(f.imm9, 9))),
    disasm: (f) => `${ldMn(f, 'ur')} ${vName(f)}, ${memImm(f.Rn, sext(f.imm9, 9))}`,
  },
  {
    name: 'LDST_V_post', pattern: 'size:2 111 1 00 opc:2 0 imm9:9 01 Rn:5 Rt:5', cls: 'ldst', flags: MEM, feature: 'fp',
    valid: validRegSize,
    build: (f) => writebackOp(isLoad(f.opc), scaleOf(f), f.Rt, f.Rn, sext(f.imm9, 9), false),
    disasm: (f) => `${ldMn(f, 'r')} ${vName(f)}, ${memPost(f.Rn, sext(f.imm9, 9))}`,
  },
  {
    name: 'LDST_V_pre', pattern: 'size:2 111 1 00 opc:2 0 imm9:9 11 Rn:5 Rt:5', cls: 'ldst', flags: MEM, feature: 'fp',
    valid: validRegSize,
    build: (f) => writebackOp(isLoad(f.opc), scaleOf(f), f.Rt, f.Rn, sext(f.imm9, 9), true),
    disasm: (f) => `${ldMn(f, 'r')} ${vName(f)}, ${memPre(f.Rn, sext(f.imm9, 9))}`,
  },
  {
    // Register offset: option 010 UXTW, 011 LSL, 110 SXTW, 111 SXTX; S scales the index by the access size.
    name: 'LDST_V_reg', pattern: 'size:2 111 1 00 opc:2 1 Rm:5 option:3 S:1 10 Rn:5 Rt:5', cls: 'ldst', flags: MEM, feature: 'fp',
    valid: (f) => (f.option & 2) !== 0 && validRegSize(f),
    build: (f) => {
      const ext = f.option === 2 ? Ext.UXTW : f.option === 6 ? Ext.SXTW : Ext.X;
      return singleOp(isLoad(f.opc), scaleOf(f), f.Rt, regEa(srcSp(f.Rn), src(f.Rm), ext, f.S ? scaleOf(f) : 0));
    },
    disasm: (f) => `${ldMn(f, 'r')} ${vName(f)}, ${regMem(f, scaleOf(f))}`,
  },
  {
    // Literal: opc 00 S, 01 D, 10 Q.
    name: 'LDR_V_lit', pattern: 'opc:2 011 1 00 imm19:19 Rt:5', cls: 'ldst', flags: MEM, feature: 'fp',
    valid: (f) => f.opc !== 3,
    build: (f, site) => singleOp(true, 2 + f.opc, f.Rt, litEa(site.off + sext(f.imm19, 19) * 4)),
    disasm: (f, pc) => `ldr ${SZ_NAMES[2 + f.opc]}${f.Rt}, ${target(pc, sext(f.imm19, 19) * 4)}`,
  },
  pairDef('LDSTNP_V', '000', 0),
  pairDef('LDSTP_V_post', '001', 2),
  pairDef('LDSTP_V_off', '010', 0),
  pairDef('LDSTP_V_pre', '011', 1),
  multiDef('LDST_multi', false),
  multiDef('LDST_multi_post', true),
  singleStructDef('LDST_single', false),
  singleStructDef('LDST_single_post', true),
];
