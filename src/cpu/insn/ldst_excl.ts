/**
 * Load/store exclusive and load-acquire/store-release, general registers:
 * LDXR/LDAXR, STXR/STLXR (B/H/W/X), LDXP/LDAXP, STXP/STLXP (W and X pairs),
 * LDAR/STLR (B/H/W/X). FEAT_LOR (LDLAR/STLLR) and FEAT_LRCPC (LDAPR) are not
 * implemented: their encodings stay unallocated.
 *
 * The local exclusive monitor holds a physical address and a size
 * (pe.exclPa, pe.exclSize; -1 when open). A load-exclusive arms it after its
 * load succeeds; a store-exclusive stores and reports 0 only if the monitor
 * is armed for the same address and size, and always leaves it open. Other
 * stores to the armed page and every exception entry also open it (pe.ts).
 *
 * All of these need natural alignment (pairs: the size of the pair) and
 * raise an alignment fault otherwise. The barrier semantics of acquire and
 * release are implicit: the PE performs accesses in program order.
 *
 * ISV: acquire/release single-register accesses report a full syndrome
 * (with AR=1); load/store exclusive report ISV=0, as the architecture
 * excludes them from instruction syndromes (and as QEMU does).
 */
import { InsnDef, InsnFlags, Op } from '../decoder.js';
import { dst, regName, src, srcSp } from './regs.js';
import { Ld, armMonitor, loadIss, loadValue, memBase, monitorPass, storeIss, storeValue } from './ldst_util.js';

const MEM = InsnFlags.Memory;
const SUFFIX = ['b', 'h', '', ''];

function ldxr(size: number, rt: number, rn: number): Op {
  const n = srcSp(rn), t = dst(rt);
  const bytes = 1 << size;
  const load = loadValue(size as Ld);
  return (pe) => {
    const lo = pe.x[n] >>> 0, hi = pe.x[n + 1] >>> 0;
    pe.dataIss = 0;
    pe.requireAligned(lo, hi, bytes, false);
    const v = load(pe, lo, hi), vh = pe.ldHi;
    armMonitor(pe, lo, hi, bytes);
    pe.x[t] = v;
    pe.x[t + 1] = vh;
  };
}

function stxr(size: number, rs: number, rt: number, rn: number): Op {
  const n = srcSp(rn), t = src(rt), s = dst(rs);
  const bytes = 1 << size;
  const store = storeValue(size);
  return (pe) => {
    const lo = pe.x[n] >>> 0, hi = pe.x[n + 1] >>> 0;
    pe.dataIss = 0;
    pe.requireAligned(lo, hi, bytes, true);
    let status = 1;
    if (monitorPass(pe, lo, hi, bytes)) {
      store(pe, lo, hi, t);
      status = 0;
    }
    pe.x[s] = status;
    pe.x[s + 1] = 0;
  };
}

/** LDXP/LDAXP: `sz` 0 for two W registers (8 bytes), 1 for two X registers (16 bytes). */
function ldxp(sz: number, rt: number, rt2: number, rn: number): Op {
  const n = srcSp(rn), t = dst(rt), t2 = dst(rt2);
  if (sz === 0) {
    return (pe) => {
      const lo = pe.x[n] >>> 0, hi = pe.x[n + 1] >>> 0;
      pe.dataIss = 0;
      pe.requireAligned(lo, hi, 8, false);
      const v1 = pe.ld64(lo, hi), v2 = pe.ldHi;
      armMonitor(pe, lo, hi, 8);
      pe.x[t2] = v2; pe.x[t2 + 1] = 0;
      pe.x[t] = v1; pe.x[t + 1] = 0;
    };
  }
  return (pe) => {
    const lo = pe.x[n] >>> 0, hi = pe.x[n + 1] >>> 0;
    pe.dataIss = 0;
    pe.requireAligned(lo, hi, 16, false);
    const v1 = pe.ld64(lo, hi), v1h = pe.ldHi;
    // 16-byte aligned, so lo + 8 neither carries nor leaves the page.
    const v2 = pe.ld64(lo + 8, hi), v2h = pe.ldHi;
    armMonitor(pe, lo, hi, 16);
    pe.x[t2] = v2; pe.x[t2 + 1] = v2h;
    pe.x[t] = v1; pe.x[t + 1] = v1h;
  };
}

function stxp(sz: number, rs: number, rt: number, rt2: number, rn: number): Op {
  const n = srcSp(rn), t = src(rt), t2 = src(rt2), s = dst(rs);
  if (sz === 0) {
    return (pe) => {
      const lo = pe.x[n] >>> 0, hi = pe.x[n + 1] >>> 0;
      pe.dataIss = 0;
      pe.requireAligned(lo, hi, 8, true);
      let status = 1;
      if (monitorPass(pe, lo, hi, 8)) {
        pe.st64(lo, hi, pe.x[t], pe.x[t2]);
        status = 0;
      }
      pe.x[s] = status;
      pe.x[s + 1] = 0;
    };
  }
  return (pe) => {
    const lo = pe.x[n] >>> 0, hi = pe.x[n + 1] >>> 0;
    pe.dataIss = 0;
    pe.requireAligned(lo, hi, 16, true);
    let status = 1;
    if (monitorPass(pe, lo, hi, 16)) {
      const v1 = pe.x[t], v1h = pe.x[t + 1], v2 = pe.x[t2], v2h = pe.x[t2 + 1];
      pe.st64(lo, hi, v1, v1h);
      pe.st64(lo + 8, hi, v2, v2h);
      status = 0;
    }
    pe.x[s] = status;
    pe.x[s + 1] = 0;
  };
}

function ldar(size: number, rt: number, rn: number): Op {
  const n = srcSp(rn), t = dst(rt);
  const bytes = 1 << size;
  const load = loadValue(size as Ld);
  const iss = loadIss(size as Ld, rt, true);
  return (pe) => {
    const lo = pe.x[n] >>> 0, hi = pe.x[n + 1] >>> 0;
    pe.dataIss = iss;
    pe.requireAligned(lo, hi, bytes, false);
    pe.x[t] = load(pe, lo, hi);
    pe.x[t + 1] = pe.ldHi;
  };
}

function stlr(size: number, rt: number, rn: number): Op {
  const n = srcSp(rn), t = src(rt);
  const bytes = 1 << size;
  const store = storeValue(size);
  const iss = storeIss(size, rt, true);
  return (pe) => {
    const lo = pe.x[n] >>> 0, hi = pe.x[n + 1] >>> 0;
    pe.dataIss = iss;
    pe.requireAligned(lo, hi, bytes, true);
    store(pe, lo, hi, t);
  };
}

const rw = (r: number, size: number): string => regName(r, size === 3);

export const ldstExclInsns: InsnDef[] = [
  {
    // o0 selects the release form (STLXR). Bits 14:10 (Rt2) should be ones; like QEMU, any value is accepted.
    name: 'STXR', pattern: 'size:2 001000 0 0 0 Rs:5 o0:1 xxxxx Rn:5 Rt:5', cls: 'ldst-excl', flags: MEM,
    build: (f) => stxr(f.size, f.Rs, f.Rt, f.Rn),
    disasm: (f) => `st${f.o0 ? 'l' : ''}xr${SUFFIX[f.size]} ${regName(f.Rs, 0)}, ${rw(f.Rt, f.size)}, ${memBase(f.Rn)}`,
  },
  {
    // o0 selects the acquire form (LDAXR). Rs and Rt2 should be ones; any value is accepted.
    name: 'LDXR', pattern: 'size:2 001000 0 1 0 xxxxx o0:1 xxxxx Rn:5 Rt:5', cls: 'ldst-excl', flags: MEM,
    build: (f) => ldxr(f.size, f.Rt, f.Rn),
    disasm: (f) => `ld${f.o0 ? 'a' : ''}xr${SUFFIX[f.size]} ${rw(f.Rt, f.size)}, ${memBase(f.Rn)}`,
  },
  {
    name: 'STXP', pattern: '1 sz:1 001000 0 0 1 Rs:5 o0:1 Rt2:5 Rn:5 Rt:5', cls: 'ldst-excl', flags: MEM,
    build: (f) => stxp(f.sz, f.Rs, f.Rt, f.Rt2, f.Rn),
    disasm: (f) => `st${f.o0 ? 'l' : ''}xp ${regName(f.Rs, 0)}, ${regName(f.Rt, f.sz)}, ${regName(f.Rt2, f.sz)}, ${memBase(f.Rn)}`,
  },
  {
    name: 'LDXP', pattern: '1 sz:1 001000 0 1 1 xxxxx o0:1 Rt2:5 Rn:5 Rt:5', cls: 'ldst-excl', flags: MEM,
    build: (f) => ldxp(f.sz, f.Rt, f.Rt2, f.Rn),
    disasm: (f) => `ld${f.o0 ? 'a' : ''}xp ${regName(f.Rt, f.sz)}, ${regName(f.Rt2, f.sz)}, ${memBase(f.Rn)}`,
  },
  {
    // o0=0 would be STLLR (FEAT_LOR): unallocated here. Bits 20:16 and 14:10 should be ones; like QEMU
    // and objdump, any value is accepted.
    name: 'STLR', pattern: 'size:2 001000 1 0 0 xxxxx 1 xxxxx Rn:5 Rt:5', cls: 'ldst-excl', flags: MEM,
    build: (f) => stlr(f.size, f.Rt, f.Rn),
    disasm: (f) => `stlr${SUFFIX[f.size]} ${rw(f.Rt, f.size)}, ${memBase(f.Rn)}`,
  },
  {
    name: 'LDAR', pattern: 'size:2 001000 1 1 0 xxxxx 1 xxxxx Rn:5 Rt:5', cls: 'ldst-excl', flags: MEM,
    build: (f) => ldar(f.size, f.Rt, f.Rn),
    disasm: (f) => `ldar${SUFFIX[f.size]} ${rw(f.Rt, f.size)}, ${memBase(f.Rn)}`,
  },
];
