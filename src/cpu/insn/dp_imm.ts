/**
 * Data processing, immediate: ADR/ADRP, ADD/SUB (immediate), logical
 * (immediate), MOVZ/MOVN/MOVK. (Bitfield and extract live in dp_bitfield.ts.)
 */
import { Fields, InsnDef, Op } from '../decoder.js';
import { adc32, adc64, decodeBitMasks, nz32, nz64 } from './alu.js';
import { dst, dstSp, hex, regName, sext, src, srcSp, target } from './regs.js';

/** The logical immediate's value (DecodeBitMasks wmask) as a 64-bit number, for disassembly. */
function logicalImm(f: Fields): bigint {
  const m = decodeBitMasks(f.N, f.imms, f.immr, true, f.sf ? 64 : 32)!;
  return (BigInt(m.whi >>> 0) << 32n) | BigInt(m.wlo >>> 0);
}

/**
 * True when MOVZ or MOVN could encode the value, which then is the preferred
 * disassembly (MoveWidePreferred); otherwise ORR from ZR prints as MOV.
 */
function moveWideFits(v: bigint, sf: number): boolean {
  const width = sf ? 64 : 32;
  const mask = (1n << BigInt(width)) - 1n;
  for (const x of [v, ~v & mask]) {
    for (let sh = 0; sh < width; sh += 16) if ((x & ~(0xffffn << BigInt(sh)) & mask) === 0n) return true;
  }
  return false;
}

export const dpImmInsns: InsnDef[] = [
  {
    name: 'ADR', pattern: 'op:1 immlo:2 10000 immhi:19 Rd:5', cls: 'dp-imm',
    build: (f, site) => {
      const d = dst(f.Rd);
      const imm = sext((f.immhi << 2) | f.immlo, 21);
      if (f.op === 0) {
        const delta = site.off + imm;
        return (pe) => pe.writePageRel(d, delta);
      }
      const delta = imm * 4096;
      return (pe) => pe.writePageRel(d, delta);
    },
    disasm: (f, pc) => {
      const imm = sext((f.immhi << 2) | f.immlo, 21);
      return f.op === 0 ? `adr ${regName(f.Rd, 1)}, ${target(pc, imm)}` : `adrp ${regName(f.Rd, 1)}, ${target(pc & ~0xfffn, imm * 4096)}`;
    },
  },
  {
    name: 'ADD_imm', pattern: 'sf:1 op:1 S:1 100010 sh:1 imm12:12 Rn:5 Rd:5', cls: 'dp-imm',
    build: (f) => {
      const n = srcSp(f.Rn);
      // Flag-setting forms write XZR for Rd=31; the others write SP.
      const d = f.S ? dst(f.Rd) : dstSp(f.Rd);
      const imm = f.sh ? f.imm12 << 12 : f.imm12;
      const flags = f.S === 1;
      if (f.sf) {
        if (f.op === 0) return (pe) => adc64(pe, d, pe.x[n], pe.x[n + 1], imm, 0, 0, flags);
        return (pe) => adc64(pe, d, pe.x[n], pe.x[n + 1], ~imm, -1, 1, flags);
      }
      if (f.op === 0) return (pe) => adc32(pe, d, pe.x[n], imm, 0, flags);
      return (pe) => adc32(pe, d, pe.x[n], ~imm, 1, flags);
    },
    disasm: (f) => {
      const mn = (f.op ? 'sub' : 'add') + (f.S ? 's' : '');
      const rd = regName(f.Rd, f.sf, !f.S);
      const rn = regName(f.Rn, f.sf, true);
      if (f.S && f.Rd === 31) return `${f.op ? 'cmp' : 'cmn'} ${rn}, #${hex(f.imm12)}${f.sh ? ', lsl #12' : ''}`;
      if (!f.op && !f.S && f.imm12 === 0 && !f.sh && (f.Rd === 31 || f.Rn === 31)) return `mov ${rd}, ${rn}`;
      return `${mn} ${rd}, ${rn}, #${hex(f.imm12)}${f.sh ? ', lsl #12' : ''}`;
    },
  },
  {
    name: 'MOVW', pattern: 'sf:1 opc:2 100101 hw:2 imm16:16 Rd:5', cls: 'dp-imm',
    // opc 01 is unallocated; 32-bit forms allow hw 0 and 1 only.
    valid: (f) => f.opc !== 1 && (f.sf === 1 || f.hw < 2),
    build: (f) => {
      const d = dst(f.Rd);
      const shift = f.hw * 16;
      const word = shift >= 32 ? 1 : 0;
      const part = (f.imm16 << (shift & 31)) | 0;
      const sf = f.sf;
      if (f.opc === 2) {
        // MOVZ
        return (pe) => {
          pe.x[d] = word ? 0 : part;
          pe.x[d + 1] = word ? part : 0;
        };
      }
      if (f.opc === 0) {
        // MOVN
        const lo = word ? -1 : ~part;
        const hi = sf ? (word ? ~part : -1) : 0;
        return (pe) => {
          pe.x[d] = lo;
          pe.x[d + 1] = hi;
        };
      }
      // MOVK keeps the other bits.
      const keep = ~(0xffff << (shift & 31));
      return (pe) => {
        if (word) pe.x[d + 1] = (pe.x[d + 1] & keep) | part;
        else {
          pe.x[d] = (pe.x[d] & keep) | part;
          if (!sf) pe.x[d + 1] = 0;
        }
      };
    },
    disasm: (f) => `${['movn', '', 'movz', 'movk'][f.opc]} ${regName(f.Rd, f.sf)}, #${hex(f.imm16)}${f.hw ? `, lsl #${f.hw * 16}` : ''}`,
  },
  {
    // AND, ORR, EOR, ANDS (immediate). The bitmask immediate comes from DecodeBitMasks(N, imms, immr);
    // N=1 is reserved for 32-bit forms, and so are the element patterns DecodeBitMasks rejects.
    name: 'AND_imm', pattern: 'sf:1 opc:2 100100 N:1 immr:6 imms:6 Rn:5 Rd:5', cls: 'dp-imm',
    valid: (f) => (f.sf === 1 || f.N === 0) && decodeBitMasks(f.N, f.imms, f.immr, true, f.sf ? 64 : 32) !== null,
    build: (f): Op => {
      const m = decodeBitMasks(f.N, f.imms, f.immr, true, f.sf ? 64 : 32)!;
      const n = src(f.Rn);
      // ANDS writes XZR for Rd=31; the others write SP.
      const d = f.opc === 3 ? dst(f.Rd) : dstSp(f.Rd);
      const il = m.wlo, ih = m.whi;
      switch (f.opc) {
        case 0:
          // The mask's high half is 0 for 32-bit forms, so AND needs no separate 32-bit closure.
          return (pe) => {
            pe.x[d] = pe.x[n] & il;
            pe.x[d + 1] = pe.x[n + 1] & ih;
          };
        case 1:
          if (f.sf) return (pe) => {
            pe.x[d] = pe.x[n] | il;
            pe.x[d + 1] = pe.x[n + 1] | ih;
          };
          return (pe) => {
            pe.x[d] = pe.x[n] | il;
            pe.x[d + 1] = 0;
          };
        case 2:
          if (f.sf) return (pe) => {
            pe.x[d] = pe.x[n] ^ il;
            pe.x[d + 1] = pe.x[n + 1] ^ ih;
          };
          return (pe) => {
            pe.x[d] = pe.x[n] ^ il;
            pe.x[d + 1] = 0;
          };
        default:
          if (f.sf) return (pe) => {
            const lo = pe.x[n] & il, hi = pe.x[n + 1] & ih;
            nz64(pe, lo, hi);
            pe.x[d] = lo;
            pe.x[d + 1] = hi;
          };
          return (pe) => {
            const r = pe.x[n] & il;
            nz32(pe, r);
            pe.x[d] = r;
            pe.x[d + 1] = 0;
          };
      }
    },
    disasm: (f) => {
      const v = logicalImm(f);
      const imm = hex(v);
      const rn = regName(f.Rn, f.sf);
      if (f.opc === 3 && f.Rd === 31) return `tst ${rn}, #${imm}`;
      const rd = regName(f.Rd, f.sf, f.opc !== 3);
      // MOVZ/MOVN cannot write SP, so ORR to SP from ZR is always MOV.
      if (f.opc === 1 && f.Rn === 31 && (f.Rd === 31 || !moveWideFits(v, f.sf))) return `mov ${rd}, #${imm}`;
      return `${['and', 'orr', 'eor', 'ands'][f.opc]} ${rd}, ${rn}, #${imm}`;
    },
  },
];
