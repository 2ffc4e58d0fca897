/**
 * Data processing (register): ADD/SUB (shifted and extended register),
 * ADC/SBC, logical (shifted register), conditional select and compare,
 * multiply (MADD/MSUB, widening, high half), divide, variable shifts, bit
 * counting and reversal, CRC32.
 *
 * Ops are specialised at decode time: one closure per width and shift or
 * extend type, with register slots, shift constants and operand inversion
 * (the NOT(op2) of subtraction, BIC, ORN, EON) captured, so that no op tests
 * a decode-time constant.
 */
import { Fields, InsnDef, Op } from '../decoder.js';
import {
  adc32, adc64, asrHi, asrLo, below32, bswap32, clz64, cls32, cls64, crcUpdate, CRC32_TABLE, CRC32C_TABLE,
  lslHi, lslLo, lsrHi, lsrLo, madd64, maddl, msub64, msubl, nz32, nz64, rbit32, rev16, rorHi, rorLo,
  sdiv32, sdiv64, smaddl, smsubl, smulh64, udiv32, udiv64, umulh64,
} from './alu.js';
import { CONDS, dst, dstSp, hex, regName, src, srcSp } from './regs.js';

const SHIFTS = ['lsl', 'lsr', 'asr', 'ror'];
const EXTENDS = ['uxtb', 'uxth', 'uxtw', 'uxtx', 'sxtb', 'sxth', 'sxtw', 'sxtx'];

// ---- ADD/SUB (shifted register) ----------------------------------------------

function buildAddSubShifted(f: Fields): Op {
  const n = src(f.Rn), m = src(f.Rm), d = dst(f.Rd);
  // SUB is Rn + NOT(op2) + 1 (AddWithCarry).
  const inv = f.op ? -1 : 0, cin = f.op;
  const flags = f.S === 1;
  const s = f.imm6;
  if (f.sf) {
    if (s === 0) return (pe) => {
      const x = pe.x;
      adc64(pe, d, x[n], x[n + 1], x[m] ^ inv, x[m + 1] ^ inv, cin, flags);
    };
    const sa = s & 31, a = below32(s);
    switch (f.shift) {
      case 0: return (pe) => {
        const x = pe.x;
        const l = x[m], h = x[m + 1];
        adc64(pe, d, x[n], x[n + 1], lslLo(l, sa, a) ^ inv, lslHi(l, h, sa, a) ^ inv, cin, flags);
      };
      case 1: return (pe) => {
        const x = pe.x;
        const l = x[m], h = x[m + 1];
        adc64(pe, d, x[n], x[n + 1], lsrLo(l, h, sa, a) ^ inv, lsrHi(h, sa, a) ^ inv, cin, flags);
      };
      default: return (pe) => {
        const x = pe.x;
        const l = x[m], h = x[m + 1];
        adc64(pe, d, x[n], x[n + 1], asrLo(l, h, sa, a) ^ inv, asrHi(h, sa, a) ^ inv, cin, flags);
      };
    }
  }
  switch (f.shift) {
    case 0: return (pe) => adc32(pe, d, pe.x[n], (pe.x[m] << s) ^ inv, cin, flags);
    case 1: return (pe) => adc32(pe, d, pe.x[n], (pe.x[m] >>> s) ^ inv, cin, flags);
    default: return (pe) => adc32(pe, d, pe.x[n], (pe.x[m] >> s) ^ inv, cin, flags);
  }
}

/** The shift suffix of a shifted-register operand; LSL #0 is left out, other types print even with #0. */
const shiftSuffix = (f: Fields): string => (f.imm6 || f.shift ? `, ${SHIFTS[f.shift]} #${f.imm6}` : '');

function disasmAddSubShifted(f: Fields): string {
  const rd = regName(f.Rd, f.sf), rn = regName(f.Rn, f.sf), rm = regName(f.Rm, f.sf);
  const sh = shiftSuffix(f);
  if (f.S && f.Rd === 31) return `${f.op ? 'cmp' : 'cmn'} ${rn}, ${rm}${sh}`;
  if (f.op && f.Rn === 31) return `${f.S ? 'negs' : 'neg'} ${rd}, ${rm}${sh}`;
  return `${f.op ? 'sub' : 'add'}${f.S ? 's' : ''} ${rd}, ${rn}, ${rm}${sh}`;
}

// ---- ADD/SUB (extended register) ---------------------------------------------

/**
 * ExtendReg(Rm, option, imm3): the low 8/16/32/64 bits of Rm, zero- or
 * sign-extended, shifted left by 0..4. For the byte, halfword and word
 * extensions `k` is the number of bits above the field in a word (24, 16, 0).
 */
function buildAddSubExtended(f: Fields): Op {
  const n = srcSp(f.Rn), m = src(f.Rm);
  // The flag-setting forms write XZR for Rd=31; the others write SP.
  const d = f.S ? dst(f.Rd) : dstSp(f.Rd);
  const inv = f.op ? -1 : 0, cin = f.op;
  const flags = f.S === 1;
  const sh = f.imm3, cs = 31 - sh;
  const size = f.option & 3, signed = f.option >= 4;
  const k = size === 0 ? 24 : size === 1 ? 16 : 0;
  if (f.sf) {
    if (size === 3) return (pe) => {
      const x = pe.x;
      const l = x[m], h = x[m + 1];
      adc64(pe, d, x[n], x[n + 1], (l << sh) ^ inv, ((h << sh) | ((l >>> 1) >>> cs)) ^ inv, cin, flags);
    };
    if (signed) return (pe) => {
      const x = pe.x;
      const v = (x[m] << k) >> k;
      adc64(pe, d, x[n], x[n + 1], (v << sh) ^ inv, (((v >> 31) << sh) | ((v >>> 1) >>> cs)) ^ inv, cin, flags);
    };
    return (pe) => {
      const x = pe.x;
      const v = (x[m] << k) >>> k;
      adc64(pe, d, x[n], x[n + 1], (v << sh) ^ inv, ((v >>> 1) >>> cs) ^ inv, cin, flags);
    };
  }
  // 32-bit: only bits 31:0 of the extended value matter, so UXTW/UXTX/SXTW/SXTX all take Wm as it is.
  if (signed) return (pe) => adc32(pe, d, pe.x[n], (((pe.x[m] << k) >> k) << sh) ^ inv, cin, flags);
  return (pe) => adc32(pe, d, pe.x[n], (((pe.x[m] << k) >>> k) << sh) ^ inv, cin, flags);
}

function disasmAddSubExtended(f: Fields): string {
  const rd = regName(f.Rd, f.sf, !f.S), rn = regName(f.Rn, f.sf, true);
  const rm = regName(f.Rm, f.sf && (f.option & 3) === 3 ? 1 : 0);
  // With SP as Rd or Rn, the default extension (UXTX, or UXTW for 32-bit) prints as LSL.
  const isLsl = (f.Rd === 31 && !f.S) || f.Rn === 31 ? f.option === (f.sf ? 3 : 2) : false;
  const ext = isLsl ? (f.imm3 ? `, lsl #${f.imm3}` : '') : `, ${EXTENDS[f.option]}${f.imm3 ? ` #${f.imm3}` : ''}`;
  if (f.S && f.Rd === 31) return `${f.op ? 'cmp' : 'cmn'} ${rn}, ${rm}${ext}`;
  return `${f.op ? 'sub' : 'add'}${f.S ? 's' : ''} ${rd}, ${rn}, ${rm}${ext}`;
}

// ---- Logical (shifted register) ----------------------------------------------

/** Logical (shifted register), 64-bit: one closure per operation and shift type; `inv` (0 or -1) makes BIC, ORN, EON, BICS. */
const LOGIC64: readonly (readonly ((n: number, m: number, d: number, sa: number, a: number, inv: number) => Op)[])[] = [
  // AND
  [
    (n, m, d, sa, a, inv) => (pe) => { const x = pe.x; const rl = x[n] & (x[m] ^ inv), rh = x[n + 1] & (x[m + 1] ^ inv); x[d] = rl; x[d + 1] = rh; },
    (n, m, d, sa, a, inv) => (pe) => { const x = pe.x; const l = x[m], h = x[m + 1]; const rl = x[n] & (lslLo(l, sa, a) ^ inv), rh = x[n + 1] & (lslHi(l, h, sa, a) ^ inv); x[d] = rl; x[d + 1] = rh; },
    (n, m, d, sa, a, inv) => (pe) => { const x = pe.x; const l = x[m], h = x[m + 1]; const rl = x[n] & (lsrLo(l, h, sa, a) ^ inv), rh = x[n + 1] & (lsrHi(h, sa, a) ^ inv); x[d] = rl; x[d + 1] = rh; },
    (n, m, d, sa, a, inv) => (pe) => { const x = pe.x; const l = x[m], h = x[m + 1]; const rl = x[n] & (asrLo(l, h, sa, a) ^ inv), rh = x[n + 1] & (asrHi(h, sa, a) ^ inv); x[d] = rl; x[d + 1] = rh; },
    (n, m, d, sa, a, inv) => (pe) => { const x = pe.x; const l = x[m], h = x[m + 1]; const rl = x[n] & (rorLo(l, h, sa, a) ^ inv), rh = x[n + 1] & (rorHi(l, h, sa, a) ^ inv); x[d] = rl; x[d + 1] = rh; },
  ],
  // ORR
  [
    (n, m, d, sa, a, inv) => (pe) => { const x = pe.x; const rl = x[n] | (x[m] ^ inv), rh = x[n + 1] | (x[m + 1] ^ inv); x[d] = rl; x[d + 1] = rh; },
    (n, m, d, sa, a, inv) => (pe) => { const x = pe.x; const l = x[m], h = x[m + 1]; const rl = x[n] | (lslLo(l, sa, a) ^ inv), rh = x[n + 1] | (lslHi(l, h, sa, a) ^ inv); x[d] = rl; x[d + 1] = rh; },
    (n, m, d, sa, a, inv) => (pe) => { const x = pe.x; const l = x[m], h = x[m + 1]; const rl = x[n] | (lsrLo(l, h, sa, a) ^ inv), rh = x[n + 1] | (lsrHi(h, sa, a) ^ inv); x[d] = rl; x[d + 1] = rh; },
    (n, m, d, sa, a, inv) => (pe) => { const x = pe.x; const l = x[m], h = x[m + 1]; const rl = x[n] | (asrLo(l, h, sa, a) ^ inv), rh = x[n + 1] | (asrHi(h, sa, a) ^ inv); x[d] = rl; x[d + 1] = rh; },
    (n, m, d, sa, a, inv) => (pe) => { const x = pe.x; const l = x[m], h = x[m + 1]; const rl = x[n] | (rorLo(l, h, sa, a) ^ inv), rh = x[n + 1] | (rorHi(l, h, sa, a) ^ inv); x[d] = rl; x[d + 1] = rh; },
  ],
  // EOR
  [
    (n, m, d, sa, a, inv) => (pe) => { const x = pe.x; const rl = x[n] ^ (x[m] ^ inv), rh = x[n + 1] ^ (x[m + 1] ^ inv); x[d] = rl; x[d + 1] = rh; },
    (n, m, d, sa, a, inv) => (pe) => { const x = pe.x; const l = x[m], h = x[m + 1]; const rl = x[n] ^ (lslLo(l, sa, a) ^ inv), rh = x[n + 1] ^ (lslHi(l, h, sa, a) ^ inv); x[d] = rl; x[d + 1] = rh; },
    (n, m, d, sa, a, inv) => (pe) => { const x = pe.x; const l = x[m], h = x[m + 1]; const rl = x[n] ^ (lsrLo(l, h, sa, a) ^ inv), rh = x[n + 1] ^ (lsrHi(h, sa, a) ^ inv); x[d] = rl; x[d + 1] = rh; },
    (n, m, d, sa, a, inv) => (pe) => { const x = pe.x; const l = x[m], h = x[m + 1]; const rl = x[n] ^ (asrLo(l, h, sa, a) ^ inv), rh = x[n + 1] ^ (asrHi(h, sa, a) ^ inv); x[d] = rl; x[d + 1] = rh; },
    (n, m, d, sa, a, inv) => (pe) => { const x = pe.x; const l = x[m], h = x[m + 1]; const rl = x[n] ^ (rorLo(l, h, sa, a) ^ inv), rh = x[n + 1] ^ (rorHi(l, h, sa, a) ^ inv); x[d] = rl; x[d + 1] = rh; },
  ],
  // ANDS
  [
    (n, m, d, sa, a, inv) => (pe) => { const x = pe.x; const rl = x[n] & (x[m] ^ inv), rh = x[n + 1] & (x[m + 1] ^ inv); nz64(pe, rl, rh); x[d] = rl; x[d + 1] = rh; },
    (n, m, d, sa, a, inv) => (pe) => { const x = pe.x; const l = x[m], h = x[m + 1]; const rl = x[n] & (lslLo(l, sa, a) ^ inv), rh = x[n + 1] & (lslHi(l, h, sa, a) ^ inv); nz64(pe, rl, rh); x[d] = rl; x[d + 1] = rh; },
    (n, m, d, sa, a, inv) => (pe) => { const x = pe.x; const l = x[m], h = x[m + 1]; const rl = x[n] & (lsrLo(l, h, sa, a) ^ inv), rh = x[n + 1] & (lsrHi(h, sa, a) ^ inv); nz64(pe, rl, rh); x[d] = rl; x[d + 1] = rh; },
    (n, m, d, sa, a, inv) => (pe) => { const x = pe.x; const l = x[m], h = x[m + 1]; const rl = x[n] & (asrLo(l, h, sa, a) ^ inv), rh = x[n + 1] & (asrHi(h, sa, a) ^ inv); nz64(pe, rl, rh); x[d] = rl; x[d + 1] = rh; },
    (n, m, d, sa, a, inv) => (pe) => { const x = pe.x; const l = x[m], h = x[m + 1]; const rl = x[n] & (rorLo(l, h, sa, a) ^ inv), rh = x[n + 1] & (rorHi(l, h, sa, a) ^ inv); nz64(pe, rl, rh); x[d] = rl; x[d + 1] = rh; },
  ],
];

/** Logical (shifted register), 32-bit: LSL #0 is the plain register form. */
const LOGIC32: readonly (readonly ((n: number, m: number, d: number, s: number, cs: number, inv: number) => Op)[])[] = [
  // AND
  [
    (n, m, d, s, cs, inv) => (pe) => { const x = pe.x; x[d] = x[n] & ((x[m] << s) ^ inv); x[d + 1] = 0; },
    (n, m, d, s, cs, inv) => (pe) => { const x = pe.x; x[d] = x[n] & ((x[m] >>> s) ^ inv); x[d + 1] = 0; },
    (n, m, d, s, cs, inv) => (pe) => { const x = pe.x; x[d] = x[n] & ((x[m] >> s) ^ inv); x[d + 1] = 0; },
    (n, m, d, s, cs, inv) => (pe) => { const x = pe.x; x[d] = x[n] & (((x[m] >>> s) | (x[m] << cs)) ^ inv); x[d + 1] = 0; },
  ],
  // ORR
  [
    (n, m, d, s, cs, inv) => (pe) => { const x = pe.x; x[d] = x[n] | ((x[m] << s) ^ inv); x[d + 1] = 0; },
    (n, m, d, s, cs, inv) => (pe) => { const x = pe.x; x[d] = x[n] | ((x[m] >>> s) ^ inv); x[d + 1] = 0; },
    (n, m, d, s, cs, inv) => (pe) => { const x = pe.x; x[d] = x[n] | ((x[m] >> s) ^ inv); x[d + 1] = 0; },
    (n, m, d, s, cs, inv) => (pe) => { const x = pe.x; x[d] = x[n] | (((x[m] >>> s) | (x[m] << cs)) ^ inv); x[d + 1] = 0; },
  ],
  // EOR
  [
    (n, m, d, s, cs, inv) => (pe) => { const x = pe.x; x[d] = x[n] ^ ((x[m] << s) ^ inv); x[d + 1] = 0; },
    (n, m, d, s, cs, inv) => (pe) => { const x = pe.x; x[d] = x[n] ^ ((x[m] >>> s) ^ inv); x[d + 1] = 0; },
    (n, m, d, s, cs, inv) => (pe) => { const x = pe.x; x[d] = x[n] ^ ((x[m] >> s) ^ inv); x[d + 1] = 0; },
    (n, m, d, s, cs, inv) => (pe) => { const x = pe.x; x[d] = x[n] ^ (((x[m] >>> s) | (x[m] << cs)) ^ inv); x[d + 1] = 0; },
  ],
  // ANDS
  [
    (n, m, d, s, cs, inv) => (pe) => { const x = pe.x; const r = x[n] & ((x[m] << s) ^ inv); nz32(pe, r); x[d] = r; x[d + 1] = 0; },
    (n, m, d, s, cs, inv) => (pe) => { const x = pe.x; const r = x[n] & ((x[m] >>> s) ^ inv); nz32(pe, r); x[d] = r; x[d + 1] = 0; },
    (n, m, d, s, cs, inv) => (pe) => { const x = pe.x; const r = x[n] & ((x[m] >> s) ^ inv); nz32(pe, r); x[d] = r; x[d + 1] = 0; },
    (n, m, d, s, cs, inv) => (pe) => { const x = pe.x; const r = x[n] & (((x[m] >>> s) | (x[m] << cs)) ^ inv); nz32(pe, r); x[d] = r; x[d + 1] = 0; },
  ],
];

function buildLogicalShifted(f: Fields): Op {
  const n = src(f.Rn), m = src(f.Rm), d = dst(f.Rd);
  const inv = f.N ? -1 : 0;
  const s = f.imm6;
  if (f.sf) return LOGIC64[f.opc][s === 0 ? 0 : f.shift + 1](n, m, d, s & 31, below32(s), inv);
  return LOGIC32[f.opc][f.shift](n, m, d, s, 32 - s, inv);
}

function disasmLogicalShifted(f: Fields): string {
  const rd = regName(f.Rd, f.sf), rn = regName(f.Rn, f.sf), rm = regName(f.Rm, f.sf);
  const sh = shiftSuffix(f);
  if (f.opc === 1 && f.Rn === 31) {
    if (!f.N && !f.imm6 && !f.shift) return `mov ${rd}, ${rm}`;
    if (f.N) return `mvn ${rd}, ${rm}${sh}`;
  }
  if (f.opc === 3 && !f.N && f.Rd === 31) return `tst ${rn}, ${rm}${sh}`;
  const mn = [['and', 'orr', 'eor', 'ands'], ['bic', 'orn', 'eon', 'bics']][f.N][f.opc];
  return `${mn} ${rd}, ${rn}, ${rm}${sh}`;
}

// ---- Conditional select and compare ------------------------------------------

function buildCondSelect(f: Fields): Op {
  const n = src(f.Rn), m = src(f.Rm), d = dst(f.Rd);
  const c = f.cond;
  const kind = (f.op << 1) | f.o2;
  if (f.sf) {
    switch (kind) {
      case 0: // CSEL
        return (pe) => {
          const x = pe.x;
          const t = pe.cond(c) ? n : m;
          x[d] = x[t];
          x[d + 1] = x[t + 1];
        };
      case 1: // CSINC
        return (pe) => {
          const x = pe.x;
          if (pe.cond(c)) {
            x[d] = x[n];
            x[d + 1] = x[n + 1];
          } else {
            const l = x[m];
            x[d] = l + 1;
            x[d + 1] = x[m + 1] + (l === -1 ? 1 : 0);
          }
        };
      case 2: // CSINV
        return (pe) => {
          const x = pe.x;
          if (pe.cond(c)) {
            x[d] = x[n];
            x[d + 1] = x[n + 1];
          } else {
            x[d] = ~x[m];
            x[d + 1] = ~x[m + 1];
          }
        };
      default: // CSNEG
        return (pe) => {
          const x = pe.x;
          if (pe.cond(c)) {
            x[d] = x[n];
            x[d + 1] = x[n + 1];
          } else {
            const l = x[m];
            x[d] = -l;
            x[d + 1] = ~x[m + 1] + (l === 0 ? 1 : 0);
          }
        };
    }
  }
  switch (kind) {
    case 0:
      return (pe) => {
        pe.x[d] = pe.x[pe.cond(c) ? n : m];
        pe.x[d + 1] = 0;
      };
    case 1:
      return (pe) => {
        pe.x[d] = pe.cond(c) ? pe.x[n] : pe.x[m] + 1;
        pe.x[d + 1] = 0;
      };
    case 2:
      return (pe) => {
        pe.x[d] = pe.cond(c) ? pe.x[n] : ~pe.x[m];
        pe.x[d + 1] = 0;
      };
    default:
      return (pe) => {
        pe.x[d] = pe.cond(c) ? pe.x[n] : -pe.x[m];
        pe.x[d + 1] = 0;
      };
  }
}

function disasmCondSelect(f: Fields): string {
  const rd = regName(f.Rd, f.sf), rn = regName(f.Rn, f.sf), rm = regName(f.Rm, f.sf);
  const kind = (f.op << 1) | f.o2;
  const inv = CONDS[f.cond ^ 1];
  if (kind !== 0 && f.Rn === f.Rm && f.cond < 14) {
    if (kind === 1) return f.Rn === 31 ? `cset ${rd}, ${inv}` : `cinc ${rd}, ${rn}, ${inv}`;
    if (kind === 2) return f.Rn === 31 ? `csetm ${rd}, ${inv}` : `cinv ${rd}, ${rn}, ${inv}`;
    return `cneg ${rd}, ${rn}, ${inv}`;
  }
  return `${['csel', 'csinc', 'csinv', 'csneg'][kind]} ${rd}, ${rn}, ${rm}, ${CONDS[f.cond]}`;
}

/**
 * CCMP/CCMN: when the condition holds, NZCV from Rn - op2 (CCMP) or Rn + op2
 * (CCMN) by AddWithCarry; otherwise NZCV = the immediate nzcv. `imm` is -1
 * for the register form.
 */
function buildCondCompare(f: Fields, imm: number): Op {
  const n = src(f.Rn), m = src(imm < 0 ? f.Rm : 31);
  // Compares only set flags: the result goes to the XZR sink. (Resolved here, not at module load:
  // the register slot constants come from pe.ts, which imports the instruction table.)
  const SINK = dst(31);
  const c = f.cond;
  const fn = (f.nzcv >> 3) & 1, fz = (f.nzcv >> 2) & 1, fc = (f.nzcv >> 1) & 1, fv = f.nzcv & 1;
  const inv = f.op ? -1 : 0, cin = f.op;
  // An immediate is a constant operand: fold it (and its inversion) now.
  const il = imm < 0 ? 0 : imm ^ inv, ih = imm < 0 ? 0 : inv;
  if (imm >= 0) {
    if (f.sf) return (pe) => {
      if (pe.cond(c)) adc64(pe, SINK, pe.x[n], pe.x[n + 1], il, ih, cin, true);
      else { pe.n = fn; pe.z = fz; pe.c = fc; pe.v = fv; }
    };
    return (pe) => {
      if (pe.cond(c)) adc32(pe, SINK, pe.x[n], il, cin, true);
      else { pe.n = fn; pe.z = fz; pe.c = fc; pe.v = fv; }
    };
  }
  if (f.sf) return (pe) => {
    const x = pe.x;
    if (pe.cond(c)) adc64(pe, SINK, x[n], x[n + 1], x[m] ^ inv, x[m + 1] ^ inv, cin, true);
    else { pe.n = fn; pe.z = fz; pe.c = fc; pe.v = fv; }
  };
  return (pe) => {
    if (pe.cond(c)) adc32(pe, SINK, pe.x[n], pe.x[m] ^ inv, cin, true);
    else { pe.n = fn; pe.z = fz; pe.c = fc; pe.v = fv; }
  };
}

// ---- Data processing (1 source) ----------------------------------------------

function buildRev(f: Fields): Op {
  const n = src(f.Rn), d = dst(f.Rd);
  if (f.sf) {
    switch (f.opc) {
      case 0: // RBIT
        return (pe) => {
          const l = pe.x[n];
          pe.x[d] = rbit32(pe.x[n + 1]);
          pe.x[d + 1] = rbit32(l);
        };
      case 1: // REV16
        return (pe) => {
          pe.x[d] = rev16(pe.x[n]);
          pe.x[d + 1] = rev16(pe.x[n + 1]);
        };
      case 2: // REV32
        return (pe) => {
          pe.x[d] = bswap32(pe.x[n]);
          pe.x[d + 1] = bswap32(pe.x[n + 1]);
        };
      default: // REV
        return (pe) => {
          const l = pe.x[n];
          pe.x[d] = bswap32(pe.x[n + 1]);
          pe.x[d + 1] = bswap32(l);
        };
    }
  }
  switch (f.opc) {
    case 0:
      return (pe) => { pe.x[d] = rbit32(pe.x[n]); pe.x[d + 1] = 0; };
    case 1:
      return (pe) => { pe.x[d] = rev16(pe.x[n]); pe.x[d + 1] = 0; };
    default:
      return (pe) => { pe.x[d] = bswap32(pe.x[n]); pe.x[d + 1] = 0; };
  }
}

// ---- Data processing (2 source) ----------------------------------------------

function buildShiftV(f: Fields): Op {
  const n = src(f.Rn), m = src(f.Rm), d = dst(f.Rd);
  if (f.sf) {
    // The amount is Rm mod 64; the helpers take it as (amount & 31, below-32 mask).
    switch (f.op2) {
      case 0: return (pe) => {
        const x = pe.x;
        const s = x[m] & 63, sa = s & 31, a = (s - 32) >> 31;
        const l = x[n], h = x[n + 1];
        x[d] = lslLo(l, sa, a);
        x[d + 1] = lslHi(l, h, sa, a);
      };
      case 1: return (pe) => {
        const x = pe.x;
        const s = x[m] & 63, sa = s & 31, a = (s - 32) >> 31;
        const l = x[n], h = x[n + 1];
        x[d] = lsrLo(l, h, sa, a);
        x[d + 1] = lsrHi(h, sa, a);
      };
      case 2: return (pe) => {
        const x = pe.x;
        const s = x[m] & 63, sa = s & 31, a = (s - 32) >> 31;
        const l = x[n], h = x[n + 1];
        x[d] = asrLo(l, h, sa, a);
        x[d + 1] = asrHi(h, sa, a);
      };
      default: return (pe) => {
        const x = pe.x;
        const s = x[m] & 63, sa = s & 31, a = (s - 32) >> 31;
        const l = x[n], h = x[n + 1];
        x[d] = rorLo(l, h, sa, a);
        x[d + 1] = rorHi(l, h, sa, a);
      };
    }
  }
  // 32-bit: JavaScript shift counts are already taken mod 32, as the architecture's are for W registers.
  switch (f.op2) {
    case 0: return (pe) => { pe.x[d] = pe.x[n] << pe.x[m]; pe.x[d + 1] = 0; };
    case 1: return (pe) => { pe.x[d] = pe.x[n] >>> pe.x[m]; pe.x[d + 1] = 0; };
    case 2: return (pe) => { pe.x[d] = pe.x[n] >> pe.x[m]; pe.x[d + 1] = 0; };
    default: return (pe) => {
      const v = pe.x[n], s = pe.x[m];
      pe.x[d] = (v >>> s) | (v << -s);
      pe.x[d + 1] = 0;
    };
  }
}

function buildCrc(f: Fields): Op {
  const n = src(f.Rn), m = src(f.Rm), d = dst(f.Rd);
  const t = f.C ? CRC32C_TABLE : CRC32_TABLE;
  if (f.sz === 3) return (pe) => {
    pe.x[d] = crcUpdate(t, crcUpdate(t, pe.x[n], pe.x[m], 4), pe.x[m + 1], 4);
    pe.x[d + 1] = 0;
  };
  const bytes = 1 << f.sz;
  return (pe) => {
    pe.x[d] = crcUpdate(t, pe.x[n], pe.x[m], bytes);
    pe.x[d + 1] = 0;
  };
}

// ---- The table -------------------------------------------------------------------

export const dpRegInsns: InsnDef[] = [
  {
    // ADD, ADDS, SUB, SUBS (shifted register). Shift type ROR is reserved; 32-bit forms shift by at most 31.
    name: 'ADD_sreg', pattern: 'sf:1 op:1 S:1 01011 shift:2 0 Rm:5 imm6:6 Rn:5 Rd:5', cls: 'dp-reg',
    valid: (f) => f.shift !== 3 && (f.sf === 1 || f.imm6 < 32),
    build: buildAddSubShifted,
    disasm: disasmAddSubShifted,
  },
  {
    // ADD, ADDS, SUB, SUBS (extended register). opt must be 0 and the left shift at most 4.
    name: 'ADD_ereg', pattern: 'sf:1 op:1 S:1 01011 opt:2 1 Rm:5 option:3 imm3:3 Rn:5 Rd:5', cls: 'dp-reg',
    valid: (f) => f.opt === 0 && f.imm3 <= 4,
    build: buildAddSubExtended,
    disasm: disasmAddSubExtended,
  },
  {
    // ADC, ADCS, SBC, SBCS: AddWithCarry(Rn, op2 or NOT(op2), PSTATE.C).
    name: 'ADC', pattern: 'sf:1 op:1 S:1 11010000 Rm:5 000000 Rn:5 Rd:5', cls: 'dp-reg',
    build: (f): Op => {
      const n = src(f.Rn), m = src(f.Rm), d = dst(f.Rd);
      const inv = f.op ? -1 : 0;
      const flags = f.S === 1;
      if (f.sf) return (pe) => {
        const x = pe.x;
        adc64(pe, d, x[n], x[n + 1], x[m] ^ inv, x[m + 1] ^ inv, pe.c, flags);
      };
      return (pe) => adc32(pe, d, pe.x[n], pe.x[m] ^ inv, pe.c, flags);
    },
    disasm: (f) => {
      const rd = regName(f.Rd, f.sf), rm = regName(f.Rm, f.sf);
      if (f.op && f.Rn === 31) return `${f.S ? 'ngcs' : 'ngc'} ${rd}, ${rm}`;
      return `${f.op ? 'sbc' : 'adc'}${f.S ? 's' : ''} ${rd}, ${regName(f.Rn, f.sf)}, ${rm}`;
    },
  },
  {
    // AND, BIC, ORR, ORN, EOR, EON, ANDS, BICS (shifted register); 32-bit forms shift by at most 31.
    name: 'AND_sreg', pattern: 'sf:1 opc:2 01010 shift:2 N:1 Rm:5 imm6:6 Rn:5 Rd:5', cls: 'dp-reg',
    valid: (f) => f.sf === 1 || f.imm6 < 32,
    build: buildLogicalShifted,
    disasm: disasmLogicalShifted,
  },
  {
    // CSEL (op=0 o2=0), CSINC (0 1), CSINV (1 0), CSNEG (1 1).
    name: 'CSEL', pattern: 'sf:1 op:1 0 11010100 Rm:5 cond:4 0 o2:1 Rn:5 Rd:5', cls: 'dp-reg',
    build: buildCondSelect,
    disasm: disasmCondSelect,
  },
  {
    // CCMN (op=0), CCMP (op=1), register.
    name: 'CCMP_reg', pattern: 'sf:1 op:1 1 11010010 Rm:5 cond:4 0 0 Rn:5 0 nzcv:4', cls: 'dp-reg',
    build: (f) => buildCondCompare(f, -1),
    disasm: (f) => `${f.op ? 'ccmp' : 'ccmn'} ${regName(f.Rn, f.sf)}, ${regName(f.Rm, f.sf)}, #${hex(f.nzcv)}, ${CONDS[f.cond]}`,
  },
  {
    // CCMN (op=0), CCMP (op=1), immediate (imm5 zero-extended).
    name: 'CCMP_imm', pattern: 'sf:1 op:1 1 11010010 imm5:5 cond:4 1 0 Rn:5 0 nzcv:4', cls: 'dp-reg',
    build: (f) => buildCondCompare(f, f.imm5),
    disasm: (f) => `${f.op ? 'ccmp' : 'ccmn'} ${regName(f.Rn, f.sf)}, #${hex(f.imm5)}, #${hex(f.nzcv)}, ${CONDS[f.cond]}`,
  },
  {
    // MADD (o0=0), MSUB (o0=1): Ra +/- Rn * Rm.
    name: 'MADD', pattern: 'sf:1 00 11011 000 Rm:5 o0:1 Ra:5 Rn:5 Rd:5', cls: 'dp-reg',
    build: (f): Op => {
      const n = src(f.Rn), m = src(f.Rm), a = src(f.Ra), d = dst(f.Rd);
      if (f.sf) {
        if (f.o0) return (pe) => { const x = pe.x; msub64(pe, d, x[n], x[n + 1], x[m], x[m + 1], x[a], x[a + 1]); };
        return (pe) => { const x = pe.x; madd64(pe, d, x[n], x[n + 1], x[m], x[m + 1], x[a], x[a + 1]); };
      }
      if (f.o0) return (pe) => { pe.x[d] = pe.x[a] - Math.imul(pe.x[n], pe.x[m]); pe.x[d + 1] = 0; };
      return (pe) => { pe.x[d] = pe.x[a] + Math.imul(pe.x[n], pe.x[m]); pe.x[d + 1] = 0; };
    },
    disasm: (f) => {
      const rd = regName(f.Rd, f.sf), rn = regName(f.Rn, f.sf), rm = regName(f.Rm, f.sf);
      if (f.Ra === 31) return `${f.o0 ? 'mneg' : 'mul'} ${rd}, ${rn}, ${rm}`;
      return `${f.o0 ? 'msub' : 'madd'} ${rd}, ${rn}, ${rm}, ${regName(f.Ra, f.sf)}`;
    },
  },
  {
    // SMADDL, SMSUBL (U=0), UMADDL, UMSUBL (U=1): Xa +/- Wn * Wm, 64-bit only.
    name: 'SMADDL', pattern: '1 00 11011 U:1 01 Rm:5 o0:1 Ra:5 Rn:5 Rd:5', cls: 'dp-reg',
    build: (f): Op => {
      const n = src(f.Rn), m = src(f.Rm), a = src(f.Ra), d = dst(f.Rd);
      // One closure per helper keeps each call site monomorphic.
      switch ((f.U << 1) | f.o0) {
        case 0: return (pe) => { const x = pe.x; smaddl(pe, d, x[n], x[m], x[a], x[a + 1]); };
        case 1: return (pe) => { const x = pe.x; smsubl(pe, d, x[n], x[m], x[a], x[a + 1]); };
        case 2: return (pe) => { const x = pe.x; maddl(pe, d, x[n], x[m], x[a], x[a + 1]); };
        default: return (pe) => { const x = pe.x; msubl(pe, d, x[n], x[m], x[a], x[a + 1]); };
      }
    },
    disasm: (f) => {
      const p = f.U ? 'u' : 's';
      const rd = regName(f.Rd, 1), rn = regName(f.Rn, 0), rm = regName(f.Rm, 0);
      if (f.Ra === 31) return `${p}${f.o0 ? 'mnegl' : 'mull'} ${rd}, ${rn}, ${rm}`;
      return `${p}${f.o0 ? 'msubl' : 'maddl'} ${rd}, ${rn}, ${rm}, ${regName(f.Ra, 1)}`;
    },
  },
  {
    // SMULH (U=0), UMULH (U=1): bits 127:64 of the product. Ra is ignored (it should be 11111).
    name: 'SMULH', pattern: '1 00 11011 U:1 10 Rm:5 0 Ra:5 Rn:5 Rd:5', cls: 'dp-reg',
    build: (f): Op => {
      const n = src(f.Rn), m = src(f.Rm), d = dst(f.Rd);
      if (f.U) return (pe) => { const x = pe.x; umulh64(pe, d, x[n], x[n + 1], x[m], x[m + 1]); };
      return (pe) => { const x = pe.x; smulh64(pe, d, x[n], x[n + 1], x[m], x[m + 1]); };
    },
    disasm: (f) => `${f.U ? 'umulh' : 'smulh'} ${regName(f.Rd, 1)}, ${regName(f.Rn, 1)}, ${regName(f.Rm, 1)}`,
  },
  {
    // UDIV (o1=0), SDIV (o1=1). Division by zero gives 0; INT_MIN / -1 gives INT_MIN.
    name: 'UDIV', pattern: 'sf:1 0 0 11010110 Rm:5 00001 o1:1 Rn:5 Rd:5', cls: 'dp-reg',
    build: (f): Op => {
      const n = src(f.Rn), m = src(f.Rm), d = dst(f.Rd);
      if (f.sf) {
        if (f.o1) return (pe) => { const x = pe.x; sdiv64(pe, d, x[n], x[n + 1], x[m], x[m + 1]); };
        return (pe) => { const x = pe.x; udiv64(pe, d, x[n], x[n + 1], x[m], x[m + 1]); };
      }
      if (f.o1) return (pe) => { pe.x[d] = sdiv32(pe.x[n], pe.x[m]); pe.x[d + 1] = 0; };
      return (pe) => { pe.x[d] = udiv32(pe.x[n], pe.x[m]); pe.x[d + 1] = 0; };
    },
    disasm: (f) => `${f.o1 ? 'sdiv' : 'udiv'} ${regName(f.Rd, f.sf)}, ${regName(f.Rn, f.sf)}, ${regName(f.Rm, f.sf)}`,
  },
  {
    // LSLV, LSRV, ASRV, RORV: shift by Rm mod datasize.
    name: 'LSLV', pattern: 'sf:1 0 0 11010110 Rm:5 0010 op2:2 Rn:5 Rd:5', cls: 'dp-reg',
    build: buildShiftV,
    disasm: (f) => `${SHIFTS[f.op2]} ${regName(f.Rd, f.sf)}, ${regName(f.Rn, f.sf)}, ${regName(f.Rm, f.sf)}`,
  },
  {
    // CRC32B/H/W/X (C=0), CRC32CB/H/W/X (C=1); the X forms (sz=11) need sf=1, the others sf=0.
    name: 'CRC32', pattern: 'sf:1 0 0 11010110 Rm:5 010 C:1 sz:2 Rn:5 Rd:5', cls: 'dp-reg', feature: 'crc32',
    valid: (f) => (f.sz === 3) === (f.sf === 1),
    build: buildCrc,
    disasm: (f) => `crc32${f.C ? 'c' : ''}${'bhwx'[f.sz]} ${regName(f.Rd, 0)}, ${regName(f.Rn, 0)}, ${regName(f.Rm, f.sz === 3 ? 1 : 0)}`,
  },
  {
    // RBIT (opc=00), REV16 (01), REV32 (10, 64-bit) or REV (10, 32-bit), REV (11, 64-bit only).
    name: 'RBIT', pattern: 'sf:1 1 0 11010110 00000 0000 opc:2 Rn:5 Rd:5', cls: 'dp-reg',
    valid: (f) => f.sf === 1 || f.opc !== 3,
    build: buildRev,
    disasm: (f) => {
      const mn = f.sf ? ['rbit', 'rev16', 'rev32', 'rev'][f.opc] : ['rbit', 'rev16', 'rev'][f.opc];
      return `${mn} ${regName(f.Rd, f.sf)}, ${regName(f.Rn, f.sf)}`;
    },
  },
  {
    // CLZ (op=0), CLS (op=1).
    name: 'CLZ', pattern: 'sf:1 1 0 11010110 00000 00010 op:1 Rn:5 Rd:5', cls: 'dp-reg',
    build: (f): Op => {
      const n = src(f.Rn), d = dst(f.Rd);
      if (f.sf) {
        if (f.op) return (pe) => { pe.x[d] = cls64(pe.x[n], pe.x[n + 1]); pe.x[d + 1] = 0; };
        return (pe) => { pe.x[d] = clz64(pe.x[n], pe.x[n + 1]); pe.x[d + 1] = 0; };
      }
      if (f.op) return (pe) => { pe.x[d] = cls32(pe.x[n]); pe.x[d + 1] = 0; };
      return (pe) => { pe.x[d] = Math.clz32(pe.x[n]); pe.x[d + 1] = 0; };
    },
    disasm: (f) => `${f.op ? 'cls' : 'clz'} ${regName(f.Rd, f.sf)}, ${regName(f.Rn, f.sf)}`,
  },
];
