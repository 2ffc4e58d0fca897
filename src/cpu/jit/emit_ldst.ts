/**
 * Emitters for the general-register loads and stores (src/cpu/insn/ldst.ts
 * and ldst_util.ts are the reference): unsigned offset, unscaled, pre- and
 * post-indexed, register offset, pairs (LDP/STP/LDPSW/LDNP/STNP), and the
 * prefetches (no operation). Unprivileged, literal, exclusive and atomic
 * forms run their closures.
 */
import type { Fields } from '../decoder.js';
import { Ld, ldKind, ldSize } from '../insn/ldst_util.js';
import { regSize } from '../insn/ldst_simd.js';
import { dst, sext, src, srcSp } from '../insn/regs.js';
import { Emitter, lit } from './emit.js';
import { emitLoad, emitLoadPair, emitStore, emitStorePair, emitVectorAccess } from './mem.js';

/**
 * A load/store based on SP with SP not 16-byte aligned leaves for the
 * closure, which applies the SP alignment check (insn/table.ts).
 */
const spCheck = (rn: number, k: number): string => (rn === 31 ? `if ((x[64] & 15) !== 0) return ${k};` : '');

/** `const a, ah` = base slot `n` + signed constant `imm`. */
function immEa(n: number, imm: number): string {
  if (imm === 0) return `const a = x[${n}] >>> 0, ah = x[${n + 1}];`;
  return `const s = (x[${n}] >>> 0) + ${lit(imm)}; const a = s >>> 0, ah = (x[${n + 1}] + (s > 4294967295 ? 1 : s < 0 ? -1 : 0)) | 0;`;
}

/** Writes a loaded value (locals vl, vh) of kind `k` into slot `t`. */
function writeLoaded(kind: Ld, t: number): string {
  switch (kind) {
    case Ld.B: case Ld.H: case Ld.W: return `x[${t}] = vl; x[${t + 1}] = 0;`;
    case Ld.X: return `x[${t}] = vl; x[${t + 1}] = vh;`;
    case Ld.SBW: return `x[${t}] = (vl << 24) >> 24; x[${t + 1}] = 0;`;
    case Ld.SHW: return `x[${t}] = (vl << 16) >> 16; x[${t + 1}] = 0;`;
    case Ld.SBX: return `const v = (vl << 24) >> 24; x[${t}] = v; x[${t + 1}] = v >> 31;`;
    case Ld.SHX: return `const v = (vl << 16) >> 16; x[${t}] = v; x[${t + 1}] = v >> 31;`;
    case Ld.SWX: return `x[${t}] = vl; x[${t + 1}] = vl >> 31;`;
  }
}

/** A single-register access without writeback; `ea` declares a and ah. */
function single(size: number, opc: number, rt: number, ea: string, k: number): string {
  if (opc === 0) {
    const t = src(rt);
    return ea + emitStore(size, k, `x[${t}]`, `x[${t + 1}]`);
  }
  const kind = ldKind(size, opc);
  return `${ea} let vl = 0, vh = 0; ${emitLoad(ldSize(kind), k)} ${writeLoaded(kind, dst(rt))}`;
}

const uimm: Emitter = (f, s) => spCheck(f.Rn, s.k) + single(f.size, f.opc, f.Rt, immEa(srcSp(f.Rn), f.imm12 << f.size), s.k);

const unscaled: Emitter = (f, s) => spCheck(f.Rn, s.k) + single(f.size, f.opc, f.Rt, immEa(srcSp(f.Rn), sext(f.imm9, 9)), s.k);

/** Register offset: `const a, ah` = base + ExtendReg(Rm, option) << sh, as regEa. */
function regEaSource(f: Fields, sh: number): string {
  const n = srcSp(f.Rn), m = src(f.Rm);
  const mhi = f.option === 2 ? '0' : f.option === 6 ? `(ml >> 31)` : `x[${m + 1}]`;
  let ea = `const ml = x[${m}], mh = ${mhi};`;
  ea += sh === 0 ? 'const ol = ml >>> 0, oh = mh;' : `const ol = (ml << ${sh}) >>> 0, oh = (mh << ${sh}) | (ml >>> ${32 - sh});`;
  return ea + `const s = (x[${n}] >>> 0) + ol; const a = s >>> 0, ah = (x[${n + 1}] + oh + (s > 4294967295 ? 1 : 0)) | 0;`;
}

const reg: Emitter = (f, s) => spCheck(f.Rn, s.k) + single(f.size, f.opc, f.Rt, regEaSource(f, f.S ? f.size : 0), s.k);

/**
 * Pre- or post-indexed: the access at base + imm (pre) or base (post), then
 * the base written back; for loads after the register (the address wins when
 * Rt == Rn); a store stores Rt as it was before writeback. ISV is 0.
 */
const writeback = (pre: boolean): Emitter => (f, s) => {
  const n = srcSp(f.Rn), imm = sext(f.imm9, 9);
  let code = spCheck(f.Rn, s.k);
  code += `const bl = x[${n}] >>> 0, bh = x[${n + 1}]; const s = bl + ${lit(imm)}; const nl = s | 0, nh = (bh + (s > 4294967295 ? 1 : s < 0 ? -1 : 0)) | 0;`;
  code += pre ? 'const a = nl >>> 0, ah = nh;' : 'const a = bl, ah = bh;';
  if (f.opc === 0) {
    const t = src(f.Rt);
    code += emitStore(f.size, s.k, `x[${t}]`, `x[${t + 1}]`);
  } else {
    const kind = ldKind(f.size, f.opc);
    code += `let vl = 0, vh = 0; ${emitLoad(ldSize(kind), s.k)} { ${writeLoaded(kind, dst(f.Rt))} }`;
  }
  return code + `x[${n}] = nl; x[${n + 1}] = nh;`;
};

/**
 * LDP/STP/LDPSW/LDNP/STNP (`mode` 0 offset, 1 pre-indexed, 2 post-indexed),
 * as pairOp: both elements are read before any register is written (Rt2,
 * then Rt), then the base is written back.
 */
const pair = (mode: number): Emitter => (f, s) => {
  const esz = f.opc === 2 ? 8 : 4;
  const imm = sext(f.imm7, 7) * esz;
  const n = srcSp(f.Rn);
  const size = esz === 8 ? 3 : 2;
  let code = spCheck(f.Rn, s.k);
  code += `const bl = x[${n}] >>> 0, bh = x[${n + 1}]; const s = bl + ${lit(imm)}; const nl = s | 0, nh = (bh + (s > 4294967295 ? 1 : s < 0 ? -1 : 0)) | 0;`;
  code += mode !== 2 ? 'const a1 = nl >>> 0, ah1 = nh;' : 'const a1 = bl, ah1 = bh;';
  code += `const s2 = a1 + ${esz}; const a2 = s2 >>> 0, ah2 = (ah1 + (s2 > 4294967295 ? 1 : 0)) | 0;`;
  if (f.L === 0) {
    const t = src(f.Rt), t2 = src(f.Rt2);
    code += `const v1 = x[${t}], v1h = x[${t + 1}], v2 = x[${t2}], v2h = x[${t2 + 1}];`;
    code += emitStorePair(size, s.k, 'v1', 'v1h', 'v2', 'v2h');
  } else {
    const t = dst(f.Rt), t2 = dst(f.Rt2);
    code += 'let v1 = 0, v1h = 0, v2 = 0, v2h = 0;';
    code += emitLoadPair(size, s.k);
    if (esz === 8) code += `x[${t2}] = v2; x[${t2 + 1}] = v2h; x[${t}] = v1; x[${t + 1}] = v1h;`;
    else if (f.opc === 1) code += `x[${t2}] = v2; x[${t2 + 1}] = v2 >> 31; x[${t}] = v1; x[${t + 1}] = v1 >> 31;`;
    else code += `x[${t2}] = v2; x[${t2 + 1}] = 0; x[${t}] = v1; x[${t + 1}] = 0;`;
  }
  if (mode !== 0) code += `x[${n}] = nl; x[${n + 1}] = nh;`;
  return code;
};

const prefetch: Emitter = () => '';

/**
 * LDR/STR (SIMD&FP) of S, D and Q registers with `ea` (B and H forms run
 * their closures). With FP disabled (CPACR_EL1/CPTR_EL2) the closure takes the trap.
 */
function vector(f: Fields, ea: string, k: number): string | null {
  const size = regSize(f.size, f.opc);
  if (size < 2) return null;
  return `if (!pe.fpEnabled) return ${k};` + spCheck(f.Rn, k) + ea + emitVectorAccess((f.opc & 1) === 1, size, f.Rt, k);
}

const vUimm: Emitter = (f, s) => vector(f, immEa(srcSp(f.Rn), f.imm12 << Math.max(regSize(f.size, f.opc), 0)), s.k);
const vUnscaled: Emitter = (f, s) => vector(f, immEa(srcSp(f.Rn), sext(f.imm9, 9)), s.k);
const vReg: Emitter = (f, s) => vector(f, regEaSource(f, f.S ? Math.max(regSize(f.size, f.opc), 0) : 0), s.k);

export const ldstEmitters: Record<string, Emitter> = {
  LDST_uimm: uimm,
  LDST_unscaled: unscaled,
  LDST_reg: reg,
  LDST_pre: writeback(true),
  LDST_post: writeback(false),
  LDSTNP: pair(0),
  LDSTP_off: pair(0),
  LDSTP_pre: pair(1),
  LDSTP_post: pair(2),
  PRFM_uimm: prefetch,
  PRFUM: prefetch,
  PRFM_reg: prefetch,
  LDST_V_uimm: vUimm,
  LDST_V_unscaled: vUnscaled,
  LDST_V_reg: vReg,
};
