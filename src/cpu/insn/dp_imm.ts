/**
 * Data processing, immediate: ADR/ADRP, ADD/SUB (immediate), MOVZ/MOVN/MOVK.
 * (Logical immediate, bitfield and extract live in their own files.)
 */
import { InsnDef } from '../decoder.js';
import { adc32, adc64 } from './alu.js';
import { dst, dstSp, hex, regName, sext, srcSp, target } from './regs.js';

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
];
