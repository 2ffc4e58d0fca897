/**
 * Bitfield moves SBFM, BFM, UBFM (and with them the aliases ASR/LSR/LSL
 * (immediate), SXTB/SXTH/SXTW, UXTB/UXTH, SBFX/UBFX, SBFIZ/UBFIZ, BFI/BFXIL,
 * BFC), and EXTR (with its alias ROR (immediate)).
 *
 * The bitfield ops follow the architecture's formulation: with wmask and
 * tmask from DecodeBitMasks(N, imms, immr, FALSE),
 *   bot = (dst AND NOT wmask) OR (ROR(src, immr) AND wmask)
 *   top = Replicate(src<imms>) (SBFM), dst (BFM) or zeros (UBFM)
 *   result = (top AND NOT tmask) OR (bot AND tmask)
 * with the masks and the rotation's constants folded at decode time.
 */
import { Fields, InsnDef, Op } from '../decoder.js';
import { below32, decodeBitMasks, rorHi, rorLo } from './alu.js';
import { dst, regName, src } from './regs.js';

/** BFXPreferred: whether SBFM/UBFM disassemble as SBFX/UBFX rather than a shift or extend alias. */
function bfxPreferred(sf: number, uns: number, imms: number, immr: number): boolean {
  if (imms < immr) return false;
  if (imms === (sf ? 63 : 31)) return false;
  if (immr === 0) {
    if (sf === 0 && (imms === 7 || imms === 15)) return false;
    if (sf === 1 && uns === 0 && (imms === 7 || imms === 15 || imms === 31)) return false;
  }
  return true;
}

function bitfieldDisasm(f: Fields): string {
  const size = f.sf ? 64 : 32;
  const rd = regName(f.Rd, f.sf), rn = regName(f.Rn, f.sf);
  const { immr, imms } = f;
  const top = size - 1;
  switch (f.opc) {
    case 0: // SBFM
      if (imms === top) return `asr ${rd}, ${rn}, #${immr}`;
      if (imms < immr) return `sbfiz ${rd}, ${rn}, #${(size - immr) % size}, #${imms + 1}`;
      if (bfxPreferred(f.sf, 0, imms, immr)) return `sbfx ${rd}, ${rn}, #${immr}, #${imms - immr + 1}`;
      if (immr === 0 && imms === 7) return `sxtb ${rd}, ${regName(f.Rn, 0)}`;
      if (immr === 0 && imms === 15) return `sxth ${rd}, ${regName(f.Rn, 0)}`;
      if (immr === 0 && imms === 31) return `sxtw ${rd}, ${regName(f.Rn, 0)}`;
      break;
    case 1: // BFM
      if (imms < immr) {
        if (f.Rn === 31) return `bfc ${rd}, #${(size - immr) % size}, #${imms + 1}`;
        return `bfi ${rd}, ${rn}, #${(size - immr) % size}, #${imms + 1}`;
      }
      return `bfxil ${rd}, ${rn}, #${immr}, #${imms - immr + 1}`;
    case 2: // UBFM
      if (imms !== top && imms + 1 === immr) return `lsl ${rd}, ${rn}, #${top - imms}`;
      if (imms === top) return `lsr ${rd}, ${rn}, #${immr}`;
      if (imms < immr) return `ubfiz ${rd}, ${rn}, #${(size - immr) % size}, #${imms + 1}`;
      if (bfxPreferred(f.sf, 1, imms, immr)) return `ubfx ${rd}, ${rn}, #${immr}, #${imms - immr + 1}`;
      if (immr === 0 && imms === 7) return `uxtb ${rd}, ${rn}`;
      if (immr === 0 && imms === 15) return `uxth ${rd}, ${rn}`;
      break;
  }
  return `${['sbfm', 'bfm', 'ubfm'][f.opc]} ${rd}, ${rn}, #${immr}, #${imms}`;
}

function buildBitfield(f: Fields): Op {
  const m = decodeBitMasks(f.N, f.imms, f.immr, false, f.sf ? 64 : 32)!;
  const n = src(f.Rn), d = dst(f.Rd);
  const r = f.immr;
  const S = f.imms;
  // bot AND tmask for the zeroing forms: ROR(src, R) AND (wmask AND tmask).
  const ml = m.wlo & m.tlo, mh = m.whi & m.thi;
  // The sign bit src<S> lives in word S >> 5 of the source, at bit S & 31.
  const sw = n + (S >> 5), sl = 31 - (S & 31);
  const ntl = ~m.tlo, nth = ~m.thi;
  if (f.sf) {
    const sa = r & 31, a = below32(r);
    switch (f.opc) {
      case 0:
        return (pe) => {
          const x = pe.x;
          const l = x[n], h = x[n + 1];
          const sign = (x[sw] << sl) >> 31;
          x[d] = (sign & ntl) | (rorLo(l, h, sa, a) & ml);
          x[d + 1] = (sign & nth) | (rorHi(l, h, sa, a) & mh);
        };
      case 1: {
        const wl = m.wlo, wh = m.whi, tl = m.tlo, th = m.thi;
        return (pe) => {
          const x = pe.x;
          const l = x[n], h = x[n + 1];
          const dl = x[d], dh = x[d + 1];
          const bl = (dl & ~wl) | (rorLo(l, h, sa, a) & wl);
          const bh = (dh & ~wh) | (rorHi(l, h, sa, a) & wh);
          x[d] = (dl & ntl) | (bl & tl);
          x[d + 1] = (dh & nth) | (bh & th);
        };
      }
      default:
        return (pe) => {
          const x = pe.x;
          const l = x[n], h = x[n + 1];
          x[d] = rorLo(l, h, sa, a) & ml;
          x[d + 1] = rorHi(l, h, sa, a) & mh;
        };
    }
  }
  // 32-bit: ROR(v, r) = (v >>> r) | (v << (32 - r)), which is v for r = 0 too (shift counts are mod 32).
  const cr = 32 - r;
  switch (f.opc) {
    case 0:
      return (pe) => {
        const x = pe.x;
        const v = x[n];
        const sign = (v << sl) >> 31;
        x[d] = (sign & ntl) | (((v >>> r) | (v << cr)) & ml);
        x[d + 1] = 0;
      };
    case 1: {
      const wl = m.wlo, tl = m.tlo;
      return (pe) => {
        const x = pe.x;
        const v = x[n];
        const dl = x[d];
        const bl = (dl & ~wl) | (((v >>> r) | (v << cr)) & wl);
        x[d] = (dl & ntl) | (bl & tl);
        x[d + 1] = 0;
      };
    }
    default:
      return (pe) => {
        const v = pe.x[n];
        pe.x[d] = ((v >>> r) | (v << cr)) & ml;
        pe.x[d + 1] = 0;
      };
  }
}

export const dpBitfieldInsns: InsnDef[] = [
  {
    // SBFM (opc 00), BFM (01), UBFM (10). N must equal sf; 32-bit forms need immr, imms < 32.
    name: 'BFM', pattern: 'sf:1 opc:2 100110 N:1 immr:6 imms:6 Rn:5 Rd:5', cls: 'dp-imm',
    valid: (f) => f.opc !== 3 && f.N === f.sf && (f.sf === 1 || (f.immr < 32 && f.imms < 32)),
    build: buildBitfield,
    disasm: bitfieldDisasm,
  },
  {
    // EXTR: bits lsb+datasize-1 .. lsb of Rn:Rm. N must equal sf; 32-bit forms need imms < 32.
    name: 'EXTR', pattern: 'sf:1 00 100111 N:1 0 Rm:5 imms:6 Rn:5 Rd:5', cls: 'dp-imm',
    valid: (f) => f.N === f.sf && (f.sf === 1 || f.imms < 32),
    build: (f): Op => {
      const n = src(f.Rn), m = src(f.Rm), d = dst(f.Rd);
      const r = f.imms & 31, cr = 31 - r;
      if (f.sf === 0) {
        return (pe) => {
          pe.x[d] = (pe.x[m] >>> r) | ((pe.x[n] << 1) << cr);
          pe.x[d + 1] = 0;
        };
      }
      // The 128-bit value Rn:Rm as words w3:w2:w1:w0; the result starts at word lsb >> 5.
      if (f.imms < 32) {
        return (pe) => {
          const x = pe.x;
          const w0 = x[m], w1 = x[m + 1], w2 = x[n];
          x[d] = (w0 >>> r) | ((w1 << 1) << cr);
          x[d + 1] = (w1 >>> r) | ((w2 << 1) << cr);
        };
      }
      return (pe) => {
        const x = pe.x;
        const w1 = x[m + 1], w2 = x[n], w3 = x[n + 1];
        x[d] = (w1 >>> r) | ((w2 << 1) << cr);
        x[d + 1] = (w2 >>> r) | ((w3 << 1) << cr);
      };
    },
    disasm: (f) => {
      const rd = regName(f.Rd, f.sf), rn = regName(f.Rn, f.sf);
      if (f.Rn === f.Rm) return `ror ${rd}, ${rn}, #${f.imms}`;
      return `extr ${rd}, ${rn}, ${regName(f.Rm, f.sf)}, #${f.imms}`;
    },
  },
];
