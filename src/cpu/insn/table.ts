/** The whole A64 instruction table nestvisor implements: every group's definitions, concatenated. */
import type { InsnDef } from '../decoder.js';
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
import { fpScalarInsns } from './fp_scalar.js';
import { simdFpInsns } from './simd_fp.js';
import { simdIntInsns } from './simd_int.js';
import { simdPermInsns } from './simd_perm.js';
import { ldstSimdInsns } from './ldst_simd.js';
import { cryptoInsns } from './crypto.js';
import { sysOpsInsns } from './sys_ops.js';

let table: InsnDef[] | null = null;

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
    ];
  }
  return table;
}
