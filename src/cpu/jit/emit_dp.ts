/**
 * Emitters for data processing: ADR/ADRP, ADD/SUB (immediate, shifted and
 * extended register), ADC/SBC, MOVZ/MOVN/MOVK, logical (immediate and
 * shifted register), bitfield moves (SBFM/BFM/UBFM, hence LSL/LSR/ASR/SXTW/
 * UBFX...), CSEL and friends, CCMP/CCMN, MADD/MSUB, variable shifts. Each
 * mirrors the closure of the same name in src/cpu/insn (the reference).
 */
import { decodeBitMasks } from '../insn/alu.js';
import { dst, dstSp, sext, src, srcSp } from '../insn/regs.js';
import { Emitter, add32, add64, condExpr, lit, nz32, nz64, shift32, shift64 } from './emit.js';

const adr: Emitter = (f, s) => {
  const d = dst(f.Rd);
  const imm = sext((f.immhi << 2) | f.immlo, 21);
  const delta = f.op === 0 ? s.off + imm : imm * 4096;
  return `const s = pe.blockLo - (pe.blockLo & 4095) + ${lit(delta)}; x[${d}] = s | 0; x[${d + 1}] = (pe.blockHi + Math.floor(s / 4294967296)) | 0;`;
};

const addImm: Emitter = (f) => {
  const n = srcSp(f.Rn);
  const d = f.S ? dst(f.Rd) : dstSp(f.Rd);
  const imm = f.sh ? f.imm12 << 12 : f.imm12;
  const flags = f.S === 1;
  if (f.sf) {
    if (!flags) {
      // Plain ADD/SUB of a constant: one carry test.
      const v = f.op ? -imm : imm;
      if (v === 0) return `x[${d}] = x[${n}]; x[${d + 1}] = x[${n + 1}];`;
      return `const s = (x[${n}] >>> 0) + ${lit(v)}; x[${d}] = s | 0; x[${d + 1}] = (x[${n + 1}] + (s > 4294967295 ? 1 : s < 0 ? -1 : 0)) | 0;`;
    }
    if (f.op === 0) return add64(d, `x[${n}]`, `x[${n + 1}]`, lit(imm), '0', '0', true);
    return add64(d, `x[${n}]`, `x[${n + 1}]`, lit(~imm), '-1', '1', true);
  }
  if (f.op === 0) return add32(d, `x[${n}]`, lit(imm), '0', flags);
  return add32(d, `x[${n}]`, lit(~imm), '1', flags);
};

const movw: Emitter = (f) => {
  const d = dst(f.Rd);
  const shift = f.hw * 16;
  const word = shift >= 32;
  const part = (f.imm16 << (shift & 31)) | 0;
  if (f.opc === 2) return `x[${d}] = ${word ? 0 : lit(part)}; x[${d + 1}] = ${word ? lit(part) : 0};`;
  if (f.opc === 0) {
    const lo = word ? -1 : ~part;
    const hi = f.sf ? (word ? ~part : -1) : 0;
    return `x[${d}] = ${lit(lo)}; x[${d + 1}] = ${lit(hi)};`;
  }
  const keep = ~(0xffff << (shift & 31));
  if (word) return `x[${d + 1}] = (x[${d + 1}] & ${lit(keep)}) | ${lit(part)};`;
  return `x[${d}] = (x[${d}] & ${lit(keep)}) | ${lit(part)};${f.sf ? '' : ` x[${d + 1}] = 0;`}`;
};

const LOGIC_OPS = ['&', '|', '^', '&'];

const andImm: Emitter = (f) => {
  const m = decodeBitMasks(f.N, f.imms, f.immr, true, f.sf ? 64 : 32)!;
  const n = src(f.Rn);
  const d = f.opc === 3 ? dst(f.Rd) : dstSp(f.Rd);
  const op = LOGIC_OPS[f.opc];
  if (f.sf) {
    let s = `const rl = x[${n}] ${op} ${lit(m.wlo | 0)}, rh = x[${n + 1}] ${op} ${lit(m.whi | 0)};`;
    if (f.opc === 3) s += nz64('rl', 'rh');
    return s + `x[${d}] = rl; x[${d + 1}] = rh;`;
  }
  let s = `const r = x[${n}] ${op} ${lit(m.wlo | 0)};`;
  if (f.opc === 3) s += nz32('r');
  return s + `x[${d}] = r; x[${d + 1}] = 0;`;
};

/** SBFM/BFM/UBFM: ROR(src, immr) under the wmask/tmask of DecodeBitMasks, as buildBitfield. */
const bitfield: Emitter = (f) => {
  const m = decodeBitMasks(f.N, f.imms, f.immr, false, f.sf ? 64 : 32)!;
  const n = src(f.Rn), d = dst(f.Rd);
  const r = f.immr, S = f.imms;
  const ml = (m.wlo & m.tlo) | 0, mh = (m.whi & m.thi) | 0;
  const sw = n + (S >> 5), sl = 31 - (S & 31);
  const ntl = ~m.tlo | 0, nth = ~m.thi | 0;
  if (f.sf) {
    const [rl, rh] = shift64(3, r, 'l', 'h');
    let s = `const l = x[${n}], h = x[${n + 1}];`;
    switch (f.opc) {
      case 0:
        s += `const sg = (x[${sw}] << ${sl}) >> 31; const vl = (sg & ${lit(ntl)}) | (${rl} & ${lit(ml)}), vh = (sg & ${lit(nth)}) | (${rh} & ${lit(mh)});`;
        break;
      case 1: {
        const wl = m.wlo | 0, wh = m.whi | 0, tl = m.tlo | 0, th = m.thi | 0;
        s += `const dl = x[${d}], dh = x[${d + 1}]; const bl = (dl & ${lit(~wl)}) | (${rl} & ${lit(wl)}), bh = (dh & ${lit(~wh)}) | (${rh} & ${lit(wh)});`;
        s += `const vl = (dl & ${lit(ntl)}) | (bl & ${lit(tl)}), vh = (dh & ${lit(nth)}) | (bh & ${lit(th)});`;
        break;
      }
      default:
        s += `const vl = ${rl} & ${lit(ml)}, vh = ${rh} & ${lit(mh)};`;
    }
    return s + `x[${d}] = vl; x[${d + 1}] = vh;`;
  }
  const rot = shift32(3, r, 'v');
  let s = `const v = x[${n}];`;
  switch (f.opc) {
    case 0:
      s += `const sg = (v << ${sl}) >> 31; x[${d}] = (sg & ${lit(ntl)}) | (${rot} & ${lit(ml)});`;
      break;
    case 1: {
      const wl = m.wlo | 0, tl = m.tlo | 0;
      s += `const dl = x[${d}]; const bl = (dl & ${lit(~wl)}) | (${rot} & ${lit(wl)}); x[${d}] = (dl & ${lit(ntl)}) | (bl & ${lit(tl)});`;
      break;
    }
    default:
      s += `x[${d}] = ${rot} & ${lit(ml)};`;
  }
  return s + `x[${d + 1}] = 0;`;
};

const addShifted: Emitter = (f) => {
  const n = src(f.Rn), m = src(f.Rm), d = dst(f.Rd);
  const flags = f.S === 1;
  const inv = f.op ? ' ^ -1' : '';
  const cin = f.op ? '1' : '0';
  if (f.sf) {
    const [sl, sh] = shift64(f.shift, f.imm6, 'ml', 'mh');
    return `const ml = x[${m}], mh = x[${m + 1}];` + add64(d, `x[${n}]`, `x[${n + 1}]`, `${sl}${inv}`, `${sh}${inv}`, cin, flags);
  }
  return `const mv = x[${m}];` + add32(d, `x[${n}]`, `${shift32(f.shift, f.imm6, 'mv')}${inv}`, cin, flags);
};

const addExtended: Emitter = (f) => {
  const n = srcSp(f.Rn), m = src(f.Rm);
  const d = f.S ? dst(f.Rd) : dstSp(f.Rd);
  const flags = f.S === 1;
  const inv = f.op ? ' ^ -1' : '';
  const cin = f.op ? '1' : '0';
  const sh = f.imm3;
  const size = f.option & 3, signed = f.option >= 4;
  const k = size === 0 ? 24 : size === 1 ? 16 : 0;
  if (f.sf) {
    // The extended value (el, eh), then shifted left by 0..4.
    let s: string;
    if (size === 3) s = `const el = x[${m}], eh = x[${m + 1}];`;
    else if (signed) s = `const el = (x[${m}] << ${k}) >> ${k}, eh = el >> 31;`;
    else s = `const el = (x[${m}] << ${k}) >>> ${k}, eh = 0;`;
    const [ol, oh] = shift64(0, sh, 'el', 'eh');
    return s + add64(d, `x[${n}]`, `x[${n + 1}]`, `${ol}${inv}`, `${oh}${inv}`, cin, flags);
  }
  const ext = `(((x[${m}] << ${k}) ${signed ? '>>' : '>>>'} ${k}) << ${sh})`;
  return add32(d, `x[${n}]`, `${ext}${inv}`, cin, flags);
};

const adc: Emitter = (f) => {
  const n = src(f.Rn), m = src(f.Rm), d = dst(f.Rd);
  const inv = f.op ? ' ^ -1' : '';
  if (f.sf) return add64(d, `x[${n}]`, `x[${n + 1}]`, `x[${m}]${inv}`, `x[${m + 1}]${inv}`, 'pe.c', f.S === 1);
  return add32(d, `x[${n}]`, `x[${m}]${inv}`, 'pe.c', f.S === 1);
};

const andShifted: Emitter = (f) => {
  const n = src(f.Rn), m = src(f.Rm), d = dst(f.Rd);
  const inv = f.N ? ' ^ -1' : '';
  const op = LOGIC_OPS[f.opc];
  if (f.sf) {
    const [sl, sh] = shift64(f.shift, f.imm6, 'ml', 'mh');
    let s = `const ml = x[${m}], mh = x[${m + 1}]; const rl = x[${n}] ${op} (${sl}${inv}), rh = x[${n + 1}] ${op} (${sh}${inv});`;
    if (f.opc === 3) s += nz64('rl', 'rh');
    return s + `x[${d}] = rl; x[${d + 1}] = rh;`;
  }
  let s = `const mv = x[${m}]; const r = x[${n}] ${op} (${shift32(f.shift, f.imm6, 'mv')}${inv});`;
  if (f.opc === 3) s += nz32('r');
  return s + `x[${d}] = r; x[${d + 1}] = 0;`;
};

/**
 * CSEL, CSINC, CSINV, CSNEG without a branch: both candidates are computed
 * and a mask selects one (a branch V8 never saw taken would cost a
 * deoptimization the first time it is; see mem.ts).
 */
const csel: Emitter = (f) => {
  const n = src(f.Rn), m = src(f.Rm), d = dst(f.Rd);
  const kind = (f.op << 1) | f.o2;
  let s = `const c = ${condExpr(f.cond)} ? -1 : 0;`;
  if (f.sf) {
    switch (kind) {
      case 0: s += `const el = x[${m}], eh = x[${m + 1}];`; break;
      case 1: s += `const ml = x[${m}]; const el = (ml + 1) | 0, eh = (x[${m + 1}] + (ml === -1 ? 1 : 0)) | 0;`; break;
      case 2: s += `const el = ~x[${m}], eh = ~x[${m + 1}];`; break;
      default: s += `const ml = x[${m}]; const el = -ml | 0, eh = (~x[${m + 1}] + (ml === 0 ? 1 : 0)) | 0;`;
    }
    return s + `x[${d}] = (x[${n}] & c) | (el & ~c); x[${d + 1}] = (x[${n + 1}] & c) | (eh & ~c);`;
  }
  const other = [`x[${m}]`, `(x[${m}] + 1)`, `~x[${m}]`, `-x[${m}]`][kind];
  return s + `x[${d}] = (x[${n}] & c) | (${other} & ~c); x[${d + 1}] = 0;`;
};

/** CCMP/CCMN (register when `reg`, else immediate imm5): NZCV from the comparison or the immediate, without a branch. */
const ccmp = (reg: boolean): Emitter => (f) => {
  const n = src(f.Rn);
  const inv = f.op ? -1 : 0;
  const cin = f.op ? '1' : '0';
  let cmp: string;
  if (reg) {
    const m = src(f.Rm);
    const i = f.op ? ' ^ -1' : '';
    cmp = f.sf ? add64(-1, `x[${n}]`, `x[${n + 1}]`, `x[${m}]${i}`, `x[${m + 1}]${i}`, cin, 'locals') : add32(-1, `x[${n}]`, `x[${m}]${i}`, cin, 'locals');
  } else {
    const il = f.imm5 ^ inv;
    cmp = f.sf ? add64(-1, `x[${n}]`, `x[${n + 1}]`, lit(il), lit(inv), cin, 'locals') : add32(-1, `x[${n}]`, lit(il), cin, 'locals');
  }
  const nzcv = f.nzcv;
  return `const t = ${condExpr(f.cond)}; ${cmp} pe.n = t ? fn : ${(nzcv >> 3) & 1}; pe.z = t ? fz : ${(nzcv >> 2) & 1}; pe.c = t ? fc : ${(nzcv >> 1) & 1}; pe.v = t ? fv : ${nzcv & 1};`;
};

/** MADD/MSUB: the 64-bit product's low half from 32x32 partial products (H.umulHi for the carry word). */
const madd: Emitter = (f) => {
  const n = src(f.Rn), m = src(f.Rm), a = src(f.Ra), d = dst(f.Rd);
  if (!f.sf) {
    return `x[${d}] = x[${a}] ${f.o0 ? '-' : '+'} Math.imul(x[${n}], x[${m}]); x[${d + 1}] = 0;`;
  }
  let s = `const nl = x[${n}], nh = x[${n + 1}], ml = x[${m}], mh = x[${m + 1}];`;
  s += 'const pl = Math.imul(nl, ml), ph = H.umulHi(nl, ml) + Math.imul(nl, mh) + Math.imul(nh, ml);';
  if (f.Ra === 31) {
    if (f.o0 === 0) return s + `x[${d}] = pl; x[${d + 1}] = ph | 0;`;
    return s + `x[${d}] = -pl | 0; x[${d + 1}] = (~ph + (pl === 0 ? 1 : 0)) | 0;`;
  }
  if (f.o0 === 0) return s + `const al = x[${a}], ah = x[${a + 1}]; const t = (al >>> 0) + (pl >>> 0); x[${d}] = t | 0; x[${d + 1}] = (ah + ph + (t > 4294967295 ? 1 : 0)) | 0;`;
  return s + `const al = x[${a}], ah = x[${a + 1}]; const t = (al >>> 0) - (pl >>> 0); x[${d}] = t | 0; x[${d + 1}] = (ah - ph - (t < 0 ? 1 : 0)) | 0;`;
};

/** LSLV/LSRV/ASRV/RORV: the amount is Rm modulo the register width. */
const shiftVar: Emitter = (f) => {
  const n = src(f.Rn), m = src(f.Rm), d = dst(f.Rd);
  if (!f.sf) {
    const v = `x[${n}]`;
    const amt = `(x[${m}] & 31)`;
    const e = [`${v} << ${amt}`, `${v} >>> ${amt}`, `${v} >> ${amt}`, `((${v} >>> c) | (${v} << (32 - c)))`][f.op2];
    return f.op2 === 3 ? `const c = ${amt}; x[${d}] = ${e}; x[${d + 1}] = 0;` : `x[${d}] = ${e}; x[${d + 1}] = 0;`;
  }
  // 64-bit: amount c in 0..63; sa = c & 31 and A = -1 when c < 32 (the branch-free forms of alu.ts).
  let s = `const l = x[${n}], h = x[${n + 1}], c = x[${m}] & 63, sa = c & 31, A = (c - 32) >> 31;`;
  switch (f.op2) {
    case 0:
      s += 'const vl = (l << sa) & A, vh = (((h << sa) | ((l >>> 1) >>> (31 - sa))) & A) | ((l << sa) & ~A);';
      break;
    case 1:
      s += 'const vl = (((l >>> sa) | ((h << 1) << (31 - sa))) & A) | ((h >>> sa) & ~A), vh = (h >>> sa) & A;';
      break;
    case 2:
      s += 'const vl = (((l >>> sa) | ((h << 1) << (31 - sa))) & A) | ((h >> sa) & ~A), vh = ((h >> sa) & A) | ((h >> 31) & ~A);';
      break;
    default:
      s += 'const p = (l & A) | (h & ~A), q = (h & A) | (l & ~A); const vl = (p >>> sa) | ((q << 1) << (31 - sa)), vh = (q >>> sa) | ((p << 1) << (31 - sa));';
  }
  return s + `x[${d}] = vl; x[${d + 1}] = vh;`;
};

export const dpEmitters: Record<string, Emitter> = {
  ADR: adr,
  ADD_imm: addImm,
  MOVW: movw,
  AND_imm: andImm,
  BFM: bitfield,
  ADD_sreg: addShifted,
  ADD_ereg: addExtended,
  ADC: adc,
  AND_sreg: andShifted,
  CSEL: csel,
  CCMP_reg: ccmp(true),
  CCMP_imm: ccmp(false),
  MADD: madd,
  LSLV: shiftVar,
};
