/**
 * FEAT_LSE atomics: CAS, CASP, LD<op> (ADD, CLR, EOR, SET, SMAX, SMIN, UMAX,
 * UMIN) and SWP, each with acquire (A) and release (R/L) variants and B/H/W/X
 * sizes; ST<op> is LD<op> with Rt = XZR (an alias, disassembled as such when
 * there is no acquire).
 *
 * Each is a read-modify-write of one naturally aligned location (an
 * alignment fault otherwise, reported as a write, as QEMU does). The old
 * value, zero-extended from the access size, goes to Rt (Rs for CAS); the
 * operation works on the sized value. Registers are written only after the
 * store succeeded, so a fault leaves them unchanged. The PE runs one
 * instruction at a time, so the read and write are trivially atomic.
 * Atomic instructions report ISV=0 in a data abort.
 */
import { InsnDef, InsnFlags, Op } from '../decoder.js';
import type { PE } from '../pe.js';
import { dst, regName, src, srcSp } from './regs.js';
import { Ld, loadValue, memBase, physAddr } from './ldst_util.js';

const MEM = InsnFlags.Memory;
const SUFFIX = ['b', 'h', '', ''];

/** The LD<op> operations by the o3:opc field (0b1000 is SWP). */
const enum AOp {
  ADD = 0,
  CLR = 1,
  EOR = 2,
  SET = 3,
  SMAX = 4,
  SMIN = 5,
  UMAX = 6,
  UMIN = 7,
  SWP = 8,
}
const AOP_NAMES = ['add', 'clr', 'eor', 'set', 'smax', 'smin', 'umax', 'umin'];

/** Stores the low 1 << size bytes of `v` (sizes 0..2). */
function storeSmall(pe: PE, size: number, lo: number, hi: number, v: number): void {
  if (size === 0) pe.st8(lo, hi, v & 0xff);
  else if (size === 1) pe.st16(lo, hi, v & 0xffff);
  else pe.st32(lo, hi, v);
}

/** LD<op>/SWP on a byte, halfword or word. */
function atomicSmall(op: AOp, size: number, rs: number, rt: number, rn: number): Op {
  const n = srcSp(rn), s = src(rs), t = dst(rt);
  const bytes = 1 << size;
  const load = loadValue(size as Ld);
  const bits = 8 << size;
  const sh = 32 - bits; // for sign extension of the sized value
  const mask = size === 2 ? -1 : (1 << bits) - 1;
  return (pe) => {
    const lo = pe.x[n] >>> 0, hi = pe.x[n + 1] >>> 0;
    pe.dataIss = 0;
    pe.requireAligned(lo, hi, bytes, true);
    const opnd = pe.x[s];
    const old = load(pe, lo, hi) >>> 0;
    let r: number;
    switch (op) {
      case AOp.ADD: r = old + opnd; break;
      case AOp.CLR: r = old & ~opnd; break;
      case AOp.EOR: r = old ^ opnd; break;
      case AOp.SET: r = old | opnd; break;
      case AOp.SMAX: r = (old << sh) >> sh >= (opnd << sh) >> sh ? old : opnd; break;
      case AOp.SMIN: r = (old << sh) >> sh <= (opnd << sh) >> sh ? old : opnd; break;
      case AOp.UMAX: r = old >= (opnd & mask) >>> 0 ? old : opnd; break;
      case AOp.UMIN: r = old <= (opnd & mask) >>> 0 ? old : opnd; break;
      default: r = opnd; break;
    }
    storeSmall(pe, size, lo, hi, r | 0);
    pe.x[t] = old;
    pe.x[t + 1] = 0;
  };
}

/** LD<op>/SWP on a doubleword. */
function atomic64(op: AOp, rs: number, rt: number, rn: number): Op {
  const n = srcSp(rn), s = src(rs), t = dst(rt);
  return (pe) => {
    const lo = pe.x[n] >>> 0, hi = pe.x[n + 1] >>> 0;
    pe.dataIss = 0;
    pe.requireAligned(lo, hi, 8, true);
    const slo = pe.x[s], shi = pe.x[s + 1];
    const olo = pe.ld64(lo, hi), ohi = pe.ldHi;
    let rlo: number, rhi: number;
    switch (op) {
      case AOp.ADD: {
        const sum = (olo >>> 0) + (slo >>> 0);
        rlo = sum | 0;
        rhi = (ohi + shi + (sum > 0xffffffff ? 1 : 0)) | 0;
        break;
      }
      case AOp.CLR: rlo = olo & ~slo; rhi = ohi & ~shi; break;
      case AOp.EOR: rlo = olo ^ slo; rhi = ohi ^ shi; break;
      case AOp.SET: rlo = olo | slo; rhi = ohi | shi; break;
      case AOp.SMAX: case AOp.SMIN: case AOp.UMAX: case AOp.UMIN: {
        // Compare the high halves (signed or unsigned), then the low halves unsigned.
        const signed = op === AOp.SMAX || op === AOp.SMIN;
        const ah = signed ? ohi : ohi >>> 0, bh = signed ? shi : shi >>> 0;
        const oldGe = ah > bh || (ah === bh && olo >>> 0 >= slo >>> 0);
        const oldLe = ah < bh || (ah === bh && olo >>> 0 <= slo >>> 0);
        const keepOld = op === AOp.SMAX || op === AOp.UMAX ? oldGe : oldLe;
        rlo = keepOld ? olo : slo;
        rhi = keepOld ? ohi : shi;
        break;
      }
      default: rlo = slo; rhi = shi; break;
    }
    pe.st64(lo, hi, rlo, rhi);
    pe.x[t] = olo;
    pe.x[t + 1] = ohi;
  };
}

/**
 * CAS: compares the sized memory value with Rs; if equal, stores Rt. Rs gets
 * the old value. The location is checked for write permission first, so a
 * failing compare on a read-only page still faults (as a write).
 */
function cas(size: number, rs: number, rt: number, rn: number): Op {
  const n = srcSp(rn), sIn = src(rs), sOut = dst(rs), t = src(rt);
  const bytes = 1 << size;
  if (size === 3) {
    return (pe) => {
      const lo = pe.x[n] >>> 0, hi = pe.x[n + 1] >>> 0;
      pe.dataIss = 0;
      pe.requireAligned(lo, hi, 8, true);
      physAddr(pe, lo, hi, true);
      const olo = pe.ld64(lo, hi), ohi = pe.ldHi;
      if (olo === pe.x[sIn] && ohi === pe.x[sIn + 1]) pe.st64(lo, hi, pe.x[t], pe.x[t + 1]);
      pe.x[sOut] = olo;
      pe.x[sOut + 1] = ohi;
    };
  }
  const load = loadValue(size as Ld);
  const mask = size === 2 ? -1 : (1 << (8 << size)) - 1;
  return (pe) => {
    const lo = pe.x[n] >>> 0, hi = pe.x[n + 1] >>> 0;
    pe.dataIss = 0;
    pe.requireAligned(lo, hi, bytes, true);
    physAddr(pe, lo, hi, true);
    const old = load(pe, lo, hi);
    if (old === (pe.x[sIn] & mask)) storeSmall(pe, size, lo, hi, pe.x[t]);
    pe.x[sOut] = old;
    pe.x[sOut + 1] = 0;
  };
}

/**
 * CASP: compares the pair at [Xn] (Rs at the lower address) with <Rs, Rs+1>;
 * if equal, stores <Rt, Rt+1>. <Rs, Rs+1> get the old pair. `sz` 0: W
 * registers (8 bytes), 1: X registers (16 bytes); aligned to the pair's size.
 */
function casp(sz: number, rs: number, rt: number, rn: number): Op {
  const n = srcSp(rn);
  const s1 = src(rs), s2 = src(rs + 1), d1 = dst(rs), d2 = dst(rs + 1);
  const t1 = src(rt), t2 = src(rt + 1);
  if (sz === 0) {
    return (pe) => {
      const lo = pe.x[n] >>> 0, hi = pe.x[n + 1] >>> 0;
      pe.dataIss = 0;
      pe.requireAligned(lo, hi, 8, true);
      physAddr(pe, lo, hi, true);
      const o1 = pe.ld64(lo, hi), o2 = pe.ldHi;
      if (o1 === pe.x[s1] && o2 === pe.x[s2]) pe.st64(lo, hi, pe.x[t1], pe.x[t2]);
      pe.x[d1] = o1; pe.x[d1 + 1] = 0;
      pe.x[d2] = o2; pe.x[d2 + 1] = 0;
    };
  }
  return (pe) => {
    const lo = pe.x[n] >>> 0, hi = pe.x[n + 1] >>> 0;
    pe.dataIss = 0;
    pe.requireAligned(lo, hi, 16, true);
    physAddr(pe, lo, hi, true);
    // 16-byte aligned: the second doubleword is in the same page, no carry.
    const o1 = pe.ld64(lo, hi), o1h = pe.ldHi;
    const o2 = pe.ld64(lo + 8, hi), o2h = pe.ldHi;
    if (o1 === pe.x[s1] && o1h === pe.x[s1 + 1] && o2 === pe.x[s2] && o2h === pe.x[s2 + 1]) {
      const v1 = pe.x[t1], v1h = pe.x[t1 + 1], v2 = pe.x[t2], v2h = pe.x[t2 + 1];
      pe.st64(lo, hi, v1, v1h);
      pe.st64(lo + 8, hi, v2, v2h);
    }
    pe.x[d1] = o1; pe.x[d1 + 1] = o1h;
    pe.x[d2] = o2; pe.x[d2 + 1] = o2h;
  };
}

const ar = (f: Record<string, number>): string => `${f.A ? 'a' : ''}${f.R ? 'l' : ''}`;
const rw = (r: number, size: number): string => regName(r, size === 3);

function ldOpDef(op: AOp): InsnDef {
  const name = AOP_NAMES[op];
  return {
    name: `LD${name.toUpperCase()}`, pattern: `size:2 111 0 00 A:1 R:1 1 Rs:5 0 ${op.toString(2).padStart(3, '0')} 00 Rn:5 Rt:5`,
    cls: 'atomic', flags: MEM, feature: 'lse',
    build: (f) => (f.size === 3 ? atomic64(op, f.Rs, f.Rt, f.Rn) : atomicSmall(op, f.size, f.Rs, f.Rt, f.Rn)),
    disasm: (f) => {
      // ST<op> is the preferred disassembly when the result is discarded and there is no acquire.
      if (f.Rt === 31 && f.A === 0) return `st${name}${f.R ? 'l' : ''}${SUFFIX[f.size]} ${rw(f.Rs, f.size)}, ${memBase(f.Rn)}`;
      return `ld${name}${ar(f)}${SUFFIX[f.size]} ${rw(f.Rs, f.size)}, ${rw(f.Rt, f.size)}, ${memBase(f.Rn)}`;
    },
  };
}

export const atomicInsns: InsnDef[] = [
  ldOpDef(AOp.ADD),
  ldOpDef(AOp.CLR),
  ldOpDef(AOp.EOR),
  ldOpDef(AOp.SET),
  ldOpDef(AOp.SMAX),
  ldOpDef(AOp.SMIN),
  ldOpDef(AOp.UMAX),
  ldOpDef(AOp.UMIN),
  {
    name: 'SWP', pattern: 'size:2 111 0 00 A:1 R:1 1 Rs:5 1 000 00 Rn:5 Rt:5', cls: 'atomic', flags: MEM, feature: 'lse',
    build: (f) => (f.size === 3 ? atomic64(AOp.SWP, f.Rs, f.Rt, f.Rn) : atomicSmall(AOp.SWP, f.size, f.Rs, f.Rt, f.Rn)),
    disasm: (f) => `swp${ar(f)}${SUFFIX[f.size]} ${rw(f.Rs, f.size)}, ${rw(f.Rt, f.size)}, ${memBase(f.Rn)}`,
  },
  {
    // The L bit (22) is acquire, o0 (15) release.
    name: 'CAS', pattern: 'size:2 001000 1 A:1 1 Rs:5 R:1 11111 Rn:5 Rt:5', cls: 'atomic', flags: MEM, feature: 'lse',
    build: (f) => cas(f.size, f.Rs, f.Rt, f.Rn),
    disasm: (f) => `cas${ar(f)}${SUFFIX[f.size]} ${rw(f.Rs, f.size)}, ${rw(f.Rt, f.size)}, ${memBase(f.Rn)}`,
  },
  {
    // Rs and Rt must be even (odd values are treated as unallocated, as on QEMU).
    name: 'CASP', pattern: '0 sz:1 001000 0 A:1 1 Rs:5 R:1 11111 Rn:5 Rt:5', cls: 'atomic', flags: MEM, feature: 'lse',
    valid: (f) => (f.Rs & 1) === 0 && (f.Rt & 1) === 0,
    build: (f) => casp(f.sz, f.Rs, f.Rt, f.Rn),
    disasm: (f) =>
      `casp${ar(f)} ${regName(f.Rs, f.sz)}, ${regName(f.Rs + 1, f.sz)}, ${regName(f.Rt, f.sz)}, ${regName(f.Rt + 1, f.sz)}, ${memBase(f.Rn)}`,
  },
];
