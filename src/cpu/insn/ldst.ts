/**
 * Loads and stores, general registers: the unsigned-offset form.
 */
import { InsnDef, InsnFlags } from '../decoder.js';
import { hex, regName, srcSp } from './regs.js';

const MEM = InsnFlags.Memory;

export const ldstInsns: InsnDef[] = [
  {
    // size: 00 B, 01 H, 10 W, 11 X; opc: 00 STR, 01 LDR (zero-extend), 10 LDRS to 64, 11 LDRS to 32.
    name: 'LDST_uimm', pattern: 'size:2 111 0 01 opc:2 imm12:12 Rn:5 Rt:5', cls: 'ldst', flags: MEM,
    valid: (f) => !(f.opc >= 2 && f.size === 3) && !(f.opc === 3 && f.size === 2),
    build: (f) => {
      const n = srcSp(f.Rn);
      const t = 2 * f.Rt; // Rt=31 is XZR for both loads (discarded: sink) and stores (zero)
      const ld = f.opc !== 0;
      const td = f.Rt === 31 ? 66 : t;
      const off = f.imm12 << f.size;
      const addr = (pe: import('../pe.js').PE): number => {
        const s = (pe.x[n] >>> 0) + off;
        pe.eaHi = (pe.x[n + 1] + (s > 0xffffffff ? 1 : 0)) >>> 0;
        return s >>> 0;
      };
      if (!ld) {
        switch (f.size) {
          case 0: return (pe) => { const a = addr(pe); pe.st8(a, pe.eaHi, pe.x[t]); };
          case 1: return (pe) => { const a = addr(pe); pe.st16(a, pe.eaHi, pe.x[t]); };
          case 2: return (pe) => { const a = addr(pe); pe.st32(a, pe.eaHi, pe.x[t]); };
          default: return (pe) => { const a = addr(pe); pe.st64(a, pe.eaHi, pe.x[t], pe.x[t + 1]); };
        }
      }
      const signed = f.opc >= 2;
      const to32 = f.opc === 3;
      switch (f.size) {
        case 0:
          if (!signed) return (pe) => { const a = addr(pe); pe.x[td] = pe.ld8(a, pe.eaHi); pe.x[td + 1] = 0; };
          return (pe) => { const a = addr(pe); const v = (pe.ld8(a, pe.eaHi) << 24) >> 24; pe.x[td] = v; pe.x[td + 1] = to32 ? 0 : v >> 31; };
        case 1:
          if (!signed) return (pe) => { const a = addr(pe); pe.x[td] = pe.ld16(a, pe.eaHi); pe.x[td + 1] = 0; };
          return (pe) => { const a = addr(pe); const v = (pe.ld16(a, pe.eaHi) << 16) >> 16; pe.x[td] = v; pe.x[td + 1] = to32 ? 0 : v >> 31; };
        case 2:
          if (!signed) return (pe) => { const a = addr(pe); pe.x[td] = pe.ld32(a, pe.eaHi); pe.x[td + 1] = 0; };
          return (pe) => { const a = addr(pe); const v = pe.ld32(a, pe.eaHi); pe.x[td] = v; pe.x[td + 1] = v >> 31; };
        default:
          return (pe) => { const a = addr(pe); pe.x[td] = pe.ld64(a, pe.eaHi); pe.x[td + 1] = pe.ldHi; };
      }
    },
    disasm: (f) => {
      const mn = f.opc === 0 ? 'str' : f.opc === 1 ? 'ldr' : 'ldrs';
      const suffix = ['b', 'h', f.opc >= 2 ? 'w' : '', ''][f.size];
      const wide = f.size === 3 || f.opc === 2;
      const off = f.imm12 << f.size;
      return `${mn}${suffix} ${regName(f.Rt, wide)}, [${regName(f.Rn, 1, true)}${off ? `, #${hex(off)}` : ''}]`;
    },
  },
];
