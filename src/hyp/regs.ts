/**
 * Register ids for vcpu.getReg / vcpu.setReg, in the spirit of KVM's
 * KVM_GET_ONE_REG / KVM_SET_ONE_REG ids: a number whose top bits say the
 * class and whose low bits say the register.
 *
 * - Core registers (class CORE): x0..x30 (indexes 0..30), SP_EL0 (31), PC
 *   (32), PSTATE (33, in the SPSR layout), SP_EL1 (34), ELR_EL1 (35),
 *   SPSR_EL1 (36).
 * - System registers (class SYS): the MRS/MSR encoding op0:op1:CRn:CRm:op2
 *   packed as in the instruction's bits [20:5] (arch/sysregs.ts sysregKey).
 *
 * `Reg.x(3)`, `Reg.PC`, `Reg.sys(3, 0, 2, 0, 0)`, `Reg.named('TTBR0_EL1')`
 * build ids; `regName(id)` names one; `checkRegId` refuses what is not a
 * register a guest has (unknown encodings, EL2/EL3 registers, ids outside the
 * classes) with a HypError.
 */
import { HypError } from './errors.js';
import { SYSREG_BY_KEY, SYSREG_BY_NAME, sysregKey } from '../arch/sysregs.js';

export type RegId = number & { readonly __regId?: never };

export const REG_CLASS_CORE = 0x1000_0000;
export const REG_CLASS_SYS = 0x2000_0000;
const CLASS_MASK = 0xf000_0000;

export const CORE_SP_EL0 = 31;
export const CORE_PC = 32;
export const CORE_PSTATE = 33;
export const CORE_SP_EL1 = 34;
export const CORE_ELR_EL1 = 35;
export const CORE_SPSR_EL1 = 36;
const CORE_NAMES: Record<number, string> = { 31: 'sp_el0', 32: 'pc', 33: 'pstate', 34: 'sp_el1', 35: 'elr_el1', 36: 'spsr_el1' };

/**
 * System registers that are views of PSTATE or aliases of core registers
 * (use the core ids), or that L0 computes (the counters).
 */
const SYS_REDIRECT: Record<string, number | string> = {
  SP_EL0: CORE_SP_EL0,
  SP_EL1: CORE_SP_EL1,
  ELR_EL1: CORE_ELR_EL1,
  SPSR_EL1: CORE_SPSR_EL1,
  NZCV: 'a PSTATE field: use Reg.PSTATE',
  DAIF: 'a PSTATE field: use Reg.PSTATE',
  SPSel: 'a PSTATE field: use Reg.PSTATE',
  CurrentEL: 'a PSTATE field: use Reg.PSTATE',
  PAN: 'a PSTATE field: use Reg.PSTATE',
  UAO: 'a PSTATE field: use Reg.PSTATE',
};

export const Reg = {
  x(n: number): RegId {
    if (!Number.isInteger(n) || n < 0 || n > 30) throw new HypError(`x${n} is not a general register (x0..x30)`);
    return (REG_CLASS_CORE | n) as RegId;
  },
  SP_EL0: (REG_CLASS_CORE | CORE_SP_EL0) as RegId,
  SP_EL1: (REG_CLASS_CORE | CORE_SP_EL1) as RegId,
  PC: (REG_CLASS_CORE | CORE_PC) as RegId,
  PSTATE: (REG_CLASS_CORE | CORE_PSTATE) as RegId,
  ELR_EL1: (REG_CLASS_CORE | CORE_ELR_EL1) as RegId,
  SPSR_EL1: (REG_CLASS_CORE | CORE_SPSR_EL1) as RegId,
  /** A system register by its encoding. */
  sys(op0: number, op1: number, crn: number, crm: number, op2: number): RegId {
    const ok = (v: number, max: number): boolean => Number.isInteger(v) && v >= 0 && v <= max;
    if (!ok(op0, 3) || !ok(op1, 7) || !ok(crn, 15) || !ok(crm, 15) || !ok(op2, 7)) throw new HypError(`S${op0}_${op1}_C${crn}_C${crm}_${op2} is not a system register encoding`);
    return (REG_CLASS_SYS | sysregKey(op0, op1, crn, crm, op2)) as RegId;
  },
  /** A register by name: x0..x30, sp_el0, sp_el1, pc, pstate, elr_el1, spsr_el1, or a system register name (TTBR0_EL1). */
  named(name: string): RegId {
    const lower = name.toLowerCase();
    const m = /^x(\d+)$/.exec(lower);
    if (m) return Reg.x(Number(m[1]));
    for (const [k, v] of Object.entries(CORE_NAMES)) if (v === lower) return (REG_CLASS_CORE | Number(k)) as RegId;
    if (lower === 'sp') throw new HypError(`'sp' is ambiguous: use sp_el0 or sp_el1`);
    const info = SYSREG_BY_NAME.get(name) ?? SYSREG_BY_NAME.get(name.toUpperCase());
    if (info === undefined) throw new HypError(`unknown register name '${name}'`);
    const redirect = SYS_REDIRECT[info.name];
    if (typeof redirect === 'number') return (REG_CLASS_CORE | redirect) as RegId;
    return Reg.sys(info.op0, info.op1, info.crn, info.crm, info.op2);
  },
} as const;

/** The decoded form of a register id. */
export type RegRef = { kind: 'core'; index: number } | { kind: 'sys'; key: number; name: string };

/** Validates `id` and says what it names; a HypError for anything a guest does not have. */
export function checkRegId(id: number): RegRef {
  if (!Number.isInteger(id) || id < 0) throw new HypError(`register id ${String(id)} is not valid`);
  const cls = (id & CLASS_MASK) >>> 0;
  const low = id & ~CLASS_MASK;
  if (cls === REG_CLASS_CORE) {
    if (low <= 36) return { kind: 'core', index: low };
    throw new HypError(`register id 0x${id.toString(16)}: no core register ${low}`);
  }
  if (cls === REG_CLASS_SYS) {
    if (low > 0xffff) throw new HypError(`register id 0x${id.toString(16)}: not a system register encoding`);
    const op1 = (low >> 11) & 7;
    const info = SYSREG_BY_KEY.get(low);
    if (info === undefined) throw new HypError(`register id 0x${id.toString(16)} (${encName(low)}): unknown system register`);
    if (op1 === 4 || op1 === 6) throw new HypError(`register id 0x${id.toString(16)} (${info.name}): EL2/EL3 registers belong to the hypervisor, not to the guest`);
    const redirect = SYS_REDIRECT[info.name];
    if (typeof redirect === 'number') return { kind: 'core', index: redirect };
    if (typeof redirect === 'string') throw new HypError(`register ${info.name} is ${redirect}`);
    return { kind: 'sys', key: low, name: info.name };
  }
  throw new HypError(`register id 0x${id.toString(16)}: unknown register class`);
}

function encName(key: number): string {
  return `S${(key >> 14) & 3}_${(key >> 11) & 7}_C${(key >> 7) & 15}_C${(key >> 3) & 15}_${key & 7}`;
}

/** A readable name for a register id (never throws). */
export function regName(id: number): string {
  const cls = (id & CLASS_MASK) >>> 0;
  const low = id & ~CLASS_MASK;
  if (cls === REG_CLASS_CORE) return low <= 30 ? `x${low}` : (CORE_NAMES[low] ?? `core#${low}`);
  if (cls === REG_CLASS_SYS) return SYSREG_BY_KEY.get(low)?.name ?? encName(low);
  return `reg#0x${id.toString(16)}`;
}
