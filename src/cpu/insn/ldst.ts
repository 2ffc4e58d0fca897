/**
 * Loads and stores of general registers (the V=0 half of the A64
 * "Loads and Stores" group; the SIMD&FP forms with V=1 are not listed, so
 * they stay unallocated):
 * - load/store register: unsigned offset, unscaled (LDUR/STUR), pre- and
 *   post-indexed, register offset, unprivileged (LDTR/STTR), literal;
 * - PRFM/PRFUM (no operation, but valid encodings);
 * - load/store pair: LDP/STP/LDPSW (offset, pre, post) and LDNP/STNP.
 *
 * Single-register forms without writeback (including literal loads and
 * LDTR/STTR) set pe.dataIss to the syndrome a data abort reports (ISV=1);
 * pairs and writeback forms set 0. Writeback happens after the access
 * succeeded, so a fault changes no register.
 *
 * Field names Rn (base), Rt, Rt2 and Rm (index) are relied on by the
 * differential generator.
 */
import { Fields, InsnDef, InsnFlags, Op } from '../decoder.js';
import { dst, regName, sext, src, srcSp, target } from './regs.js';
import {
  Ea, Ext, Ld, carryHi, immEa, ldKind, ldstMnemonic, ldstSizeOpcValid, litEa, loadIss, loadOp, loadWbOp,
  memImm, memPost, memPre, prfop, regEa, storeIss, storeOp, storeWbOp, unprivileged,
} from './ldst_util.js';

const MEM = InsnFlags.Memory;
const NOP: Op = () => {};

/** A single-register load or store without writeback at `ea` (opc 0 stores, 1..3 loads). */
function single(size: number, opc: number, rt: number, ea: Ea): Op {
  if (opc === 0) return storeOp(size, src(rt), ea, storeIss(size, rt));
  const k = ldKind(size, opc);
  return loadOp(k, dst(rt), ea, loadIss(k, rt));
}

/** Pre- or post-indexed single-register access. */
function writeback(size: number, opc: number, rt: number, rn: number, imm: number, pre: boolean): Op {
  if (opc === 0) return storeWbOp(size, src(rt), srcSp(rn), imm, pre);
  return loadWbOp(ldKind(size, opc), dst(rt), srcSp(rn), imm, pre);
}

/**
 * The allocated (size, opc) pairs of the load/store-register forms. size=11
 * opc=10 is PRFM/PRFUM in the unsigned-offset, unscaled and register-offset
 * forms (separate, more specific definitions) and unallocated in the others.
 */
const validSizeOpc = (f: Fields): boolean => ldstSizeOpcValid(f.size, f.opc);

const EXT_NAMES = ['', '', 'uxtw', 'lsl', '', '', 'sxtw', 'sxtx'];

// ---- Load/store pair ----------------------------------------------------------

/** Pair kinds by opc: 00 W, 01 LDPSW, 10 X. */
const enum Pair {
  W = 0,
  SW = 1,
  X = 2,
}

/**
 * LDP/STP/LDPSW/LDNP/STNP. `mode`: 0 offset, 1 pre-indexed, 2 post-indexed.
 * Both elements are read before any register is written, Rt2 then Rt (so
 * Rt wins when Rt == Rt2, as on QEMU), then the base is written back (so the
 * address wins when Rt or Rt2 is Rn). ISV is 0 for pairs.
 */
function pairOp(opc: number, load: boolean, rt: number, rt2: number, rn: number, imm: number, mode: number): Op {
  const n = srcSp(rn);
  const wb = mode !== 0;
  const pre = mode !== 2; // the access address includes the offset
  const esz = opc === Pair.X ? 8 : 4;
  if (!load) {
    const t = src(rt), t2 = src(rt2);
    if (esz === 4) {
      return (pe) => {
        const blo = pe.x[n] >>> 0, bhi = pe.x[n + 1];
        const nlo = (blo + imm) >>> 0, nhi = carryHi(blo, bhi, imm);
        const a = pre ? nlo : blo, ah = (pre ? nhi : bhi) >>> 0;
        const v1 = pe.x[t], v2 = pe.x[t2];
        pe.dataIss = 0;
        pe.st32(a, ah, v1);
        pe.st32((a + 4) >>> 0, carryHi(a, ah, 4) >>> 0, v2);
        if (wb) { pe.x[n] = nlo; pe.x[n + 1] = nhi; }
      };
    }
    return (pe) => {
      const blo = pe.x[n] >>> 0, bhi = pe.x[n + 1];
      const nlo = (blo + imm) >>> 0, nhi = carryHi(blo, bhi, imm);
      const a = pre ? nlo : blo, ah = (pre ? nhi : bhi) >>> 0;
      const v1 = pe.x[t], v1h = pe.x[t + 1], v2 = pe.x[t2], v2h = pe.x[t2 + 1];
      pe.dataIss = 0;
      pe.st64(a, ah, v1, v1h);
      pe.st64((a + 8) >>> 0, carryHi(a, ah, 8) >>> 0, v2, v2h);
      if (wb) { pe.x[n] = nlo; pe.x[n + 1] = nhi; }
    };
  }
  const t = dst(rt), t2 = dst(rt2);
  if (opc === Pair.X) {
    return (pe) => {
      const blo = pe.x[n] >>> 0, bhi = pe.x[n + 1];
      const nlo = (blo + imm) >>> 0, nhi = carryHi(blo, bhi, imm);
      const a = pre ? nlo : blo, ah = (pre ? nhi : bhi) >>> 0;
      pe.dataIss = 0;
      const v1 = pe.ld64(a, ah), v1h = pe.ldHi;
      const v2 = pe.ld64((a + 8) >>> 0, carryHi(a, ah, 8) >>> 0), v2h = pe.ldHi;
      pe.x[t2] = v2; pe.x[t2 + 1] = v2h;
      pe.x[t] = v1; pe.x[t + 1] = v1h;
      if (wb) { pe.x[n] = nlo; pe.x[n + 1] = nhi; }
    };
  }
  const signed = opc === Pair.SW;
  return (pe) => {
    const blo = pe.x[n] >>> 0, bhi = pe.x[n + 1];
    const nlo = (blo + imm) >>> 0, nhi = carryHi(blo, bhi, imm);
    const a = pre ? nlo : blo, ah = (pre ? nhi : bhi) >>> 0;
    pe.dataIss = 0;
    const v1 = pe.ld32(a, ah);
    const v2 = pe.ld32((a + 4) >>> 0, carryHi(a, ah, 4) >>> 0);
    pe.x[t2] = v2; pe.x[t2 + 1] = signed ? v2 >> 31 : 0;
    pe.x[t] = v1; pe.x[t + 1] = signed ? v1 >> 31 : 0;
    if (wb) { pe.x[n] = nlo; pe.x[n + 1] = nhi; }
  };
}

function pairDisasm(f: Fields, mode: number, nontemporal: boolean): string {
  const scale = f.opc === Pair.X ? 3 : 2;
  const imm = sext(f.imm7, 7) * (1 << scale);
  const mn = nontemporal ? (f.L ? 'ldnp' : 'stnp') : f.opc === Pair.SW ? 'ldpsw' : f.L ? 'ldp' : 'stp';
  const wide = f.opc !== Pair.W;
  const regs = `${regName(f.Rt, wide)}, ${regName(f.Rt2, wide)}`;
  const mem = mode === 0 ? memImm(f.Rn, imm) : mode === 1 ? memPre(f.Rn, imm) : memPost(f.Rn, imm);
  return `${mn} ${regs}, ${mem}`;
}

function pairDef(name: string, modeBits: string, mode: number): InsnDef {
  const nontemporal = modeBits === '000';
  return {
    name, pattern: `opc:2 101 0 ${modeBits} L:1 imm7:7 Rt2:5 Rn:5 Rt:5`, cls: 'ldst', flags: MEM,
    // opc 11 is unallocated; opc 01 is LDPSW (L=1 only; L=0 is STGP, FEAT_MTE, not implemented);
    // the non-temporal forms have no 01.
    valid: (f) => f.opc !== 3 && (f.opc !== Pair.SW || (f.L === 1 && !nontemporal)),
    build: (f) => {
      const imm = sext(f.imm7, 7) * (f.opc === Pair.X ? 8 : 4);
      return pairOp(f.opc, f.L === 1, f.Rt, f.Rt2, f.Rn, imm, mode);
    },
    disasm: (f) => pairDisasm(f, mode, nontemporal),
  };
}

// ---- The table ----------------------------------------------------------------

export const ldstInsns: InsnDef[] = [
  {
    // size: 00 B, 01 H, 10 W, 11 X; opc: 00 STR, 01 LDR (zero-extend), 10 LDRS to 64, 11 LDRS to 32.
    name: 'LDST_uimm', pattern: 'size:2 111 0 01 opc:2 imm12:12 Rn:5 Rt:5', cls: 'ldst', flags: MEM,
    valid: validSizeOpc,
    build: (f) => single(f.size, f.opc, f.Rt, immEa(srcSp(f.Rn), f.imm12 << f.size)),
    disasm: (f) => {
      const { mn, wide } = ldstMnemonic('r', f.size, f.opc);
      return `${mn} ${regName(f.Rt, wide)}, ${memImm(f.Rn, f.imm12 << f.size)}`;
    },
  },
  {
    name: 'PRFM_uimm', pattern: '11 111 0 01 10 imm12:12 Rn:5 Rt:5', cls: 'ldst', flags: MEM,
    build: () => NOP,
    disasm: (f) => `prfm ${prfop(f.Rt)}, ${memImm(f.Rn, f.imm12 << 3)}`,
  },
  {
    name: 'LDST_unscaled', pattern: 'size:2 111 0 00 opc:2 0 imm9:9 00 Rn:5 Rt:5', cls: 'ldst', flags: MEM,
    valid: validSizeOpc,
    build: (f) => single(f.size, f.opc, f.Rt, immEa(srcSp(f.Rn), sext(f.imm9, 9))),
    disasm: (f) => {
      const { mn, wide } = ldstMnemonic('ur', f.size, f.opc);
      return `${mn} ${regName(f.Rt, wide)}, ${memImm(f.Rn, sext(f.imm9, 9))}`;
    },
  },
  {
    name: 'PRFUM', pattern: '11 111 0 00 10 0 imm9:9 00 Rn:5 Rt:5', cls: 'ldst', flags: MEM,
    build: () => NOP,
    disasm: (f) => `prfum ${prfop(f.Rt)}, ${memImm(f.Rn, sext(f.imm9, 9))}`,
  },
  {
    name: 'LDST_post', pattern: 'size:2 111 0 00 opc:2 0 imm9:9 01 Rn:5 Rt:5', cls: 'ldst', flags: MEM,
    valid: validSizeOpc,
    build: (f) => writeback(f.size, f.opc, f.Rt, f.Rn, sext(f.imm9, 9), false),
    disasm: (f) => {
      const { mn, wide } = ldstMnemonic('r', f.size, f.opc);
      return `${mn} ${regName(f.Rt, wide)}, ${memPost(f.Rn, sext(f.imm9, 9))}`;
    },
  },
  {
    name: 'LDST_pre', pattern: 'size:2 111 0 00 opc:2 0 imm9:9 11 Rn:5 Rt:5', cls: 'ldst', flags: MEM,
    valid: validSizeOpc,
    build: (f) => writeback(f.size, f.opc, f.Rt, f.Rn, sext(f.imm9, 9), true),
    disasm: (f) => {
      const { mn, wide } = ldstMnemonic('r', f.size, f.opc);
      return `${mn} ${regName(f.Rt, wide)}, ${memPre(f.Rn, sext(f.imm9, 9))}`;
    },
  },
  {
    // LDTR/STTR and friends: at EL1 (PSTATE.UAO=0) the access is checked with EL0's permissions.
    name: 'LDST_unpriv', pattern: 'size:2 111 0 00 opc:2 0 imm9:9 10 Rn:5 Rt:5', cls: 'ldst', flags: MEM,
    valid: validSizeOpc,
    build: (f) => unprivileged(single(f.size, f.opc, f.Rt, immEa(srcSp(f.Rn), sext(f.imm9, 9)))),
    disasm: (f) => {
      const { mn, wide } = ldstMnemonic('tr', f.size, f.opc);
      return `${mn} ${regName(f.Rt, wide)}, ${memImm(f.Rn, sext(f.imm9, 9))}`;
    },
  },
  {
    // Register offset: option 010 UXTW, 011 LSL, 110 SXTW, 111 SXTX (the others are unallocated);
    // S scales the index by the access size.
    name: 'LDST_reg', pattern: 'size:2 111 0 00 opc:2 1 Rm:5 option:3 S:1 10 Rn:5 Rt:5', cls: 'ldst', flags: MEM,
    valid: (f) => (f.option & 2) !== 0 && ldstSizeOpcValid(f.size, f.opc),
    build: (f) => single(f.size, f.opc, f.Rt, regEaOf(f, f.size)),
    disasm: (f) => {
      const { mn, wide } = ldstMnemonic('r', f.size, f.opc);
      return `${mn} ${regName(f.Rt, wide)}, ${regMem(f, f.size)}`;
    },
  },
  {
    name: 'PRFM_reg', pattern: '11 111 0 00 10 1 Rm:5 option:3 S:1 10 Rn:5 Rt:5', cls: 'ldst', flags: MEM,
    valid: (f) => (f.option & 2) !== 0,
    build: () => NOP,
    disasm: (f) => `prfm ${prfop(f.Rt)}, ${regMem(f, 3)}`,
  },
  {
    // Literal: opc 00 LDR Wt, 01 LDR Xt, 10 LDRSW Xt (11 is PRFM). A single-register load without
    // writeback, so it reports a full syndrome (ISV=1), as QEMU does.
    name: 'LDR_lit', pattern: 'opc:2 011 0 00 imm19:19 Rt:5', cls: 'ldst', flags: MEM,
    valid: (f) => f.opc !== 3,
    build: (f, site) => {
      const k = f.opc === 0 ? Ld.W : f.opc === 1 ? Ld.X : Ld.SWX;
      return loadOp(k, dst(f.Rt), litEa(site.off + sext(f.imm19, 19) * 4), loadIss(k, f.Rt));
    },
    disasm: (f, pc) => `${f.opc === 2 ? 'ldrsw' : 'ldr'} ${regName(f.Rt, f.opc !== 0)}, ${target(pc, sext(f.imm19, 19) * 4)}`,
  },
  {
    name: 'PRFM_lit', pattern: '11 011 0 00 imm19:19 Rt:5', cls: 'ldst', flags: MEM,
    build: () => NOP,
    disasm: (f, pc) => `prfm ${prfop(f.Rt)}, ${target(pc, sext(f.imm19, 19) * 4)}`,
  },
  pairDef('LDSTNP', '000', 0),
  pairDef('LDSTP_post', '001', 2),
  pairDef('LDSTP_off', '010', 0),
  pairDef('LDSTP_pre', '011', 1),
];

/** The effective address of the register-offset forms with access size 1 << size. */
function regEaOf(f: Fields, size: number): Ea {
  const ext = f.option === 2 ? Ext.UXTW : f.option === 6 ? Ext.SXTW : Ext.X;
  return regEa(srcSp(f.Rn), src(f.Rm), ext, f.S ? size : 0);
}

/** `[xn, xm{, lsl #s}]` / `[xn, wm, uxtw|sxtw {#s}]` / `[xn, xm, sxtx {#s}]`. */
function regMem(f: Fields, size: number): string {
  const wIndex = (f.option & 1) === 0;
  const base = `${regName(f.Rn, 1, true)}, ${regName(f.Rm, !wIndex)}`;
  const ext = EXT_NAMES[f.option];
  if (f.option === 3 && !f.S) return `[${base}]`;
  return `[${base}, ${ext}${f.S ? ` #${size}` : ''}]`;
}
