/** The whole A64 instruction table nestvisor implements: every group's definitions, concatenated. */
import { InsnDef, InsnFlags, Op } from '../decoder.js';
import { spAlignmentChecked, spAlignmentFault } from '../exceptions.js';
import { branchInsns } from './branch.js';
import { exceptionInsns } from './exception.js';
import { dpImmInsns } from './dp_imm.js';
import { dpBitfieldInsns } from './dp_bitfield.js';
import { dpRegInsns } from './dp_reg.js';
import { ldstInsns } from './ldst.js';
import { ldstExclInsns } from './ldst_excl.js';
import { atomicInsns } from './atomic.js';
import { systemInsns } from './system.js';
import { sysregInsns } from './sysreg.js';
import { sysOpsInsns } from './sys_ops.js';
import { fpScalarInsns } from './fp_scalar.js';
import { simdFpInsns } from './simd_fp.js';
import { simdIntInsns } from './simd_int.js';
import { simdPermInsns } from './simd_perm.js';
import { ldstSimdInsns } from './ldst_simd.js';
import { cryptoInsns } from './crypto.js';

let table: InsnDef[] | null = null;

/** Index of the low half of SP in pe.x (slot 32). */
const SP_LO = 64;

/**
 * Adds the SP alignment check to a load/store whose base may be SP: with
 * SCTLR_ELx.SA/SA0 set, a memory access using SP as its base faults (EC 0x26)
 * if SP is not 16-byte aligned, before any address is formed. Decided at
 * decode time, so accesses based on other registers pay nothing.
 * Prefetches never fault.
 */
function withSpAlignmentCheck(def: InsnDef): InsnDef {
  if (!((def.flags ?? 0) & InsnFlags.Memory) || !/\bRn:5\b/.test(def.pattern) || def.name.startsWith('PRF')) return def;
  const build = def.build;
  return {
    ...def,
    build: (f, site): Op => {
      const op = build(f, site);
      if (f.Rn !== 31) return op;
      return (pe) => {
        if ((pe.x[SP_LO] & 15) !== 0 && spAlignmentChecked(pe)) spAlignmentFault(pe);
        op(pe);
      };
    },
  };
}

export function insnTable(): InsnDef[] {
  if (table === null) {
    table = [
      ...branchInsns,
      ...exceptionInsns,
      ...dpImmInsns,
      ...dpBitfieldInsns,
      ...dpRegInsns,
      ...ldstInsns,
      ...ldstExclInsns,
      ...atomicInsns,
      ...systemInsns,
      ...sysregInsns,
      ...sysOpsInsns,
      ...fpScalarInsns,
      ...simdFpInsns,
      ...simdIntInsns,
      ...simdPermInsns,
      ...ldstSimdInsns,
      ...cryptoInsns,
    ].map(withSpAlignmentCheck);
  }
  return table;
}
