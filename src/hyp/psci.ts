/**
 * PSCI 1.1 (Arm DEN0022) and the SMCCC 1.1 architecture calls (Arm DEN0028)
 * as L0 answers them for a guest's HVC (or trapped SMC) with the function id
 * in w0 and arguments in x1..x3; the result goes to x0.
 *
 * The dispatcher is a pure function over a small view of the VM (PsciVm), so
 * that it can be tested with a fake. Power state changes that need the
 * scheduler (CPU_OFF, CPU_SUSPEND, SYSTEM_OFF, SYSTEM_RESET) come back as an
 * action for the caller; CPU_ON is done through the view.
 *
 * 32-bit function ids (bit 30 clear: SMC32/HVC32) take 32-bit arguments;
 * results are written sign-extended to 64 bits, as KVM does, so a guest
 * comparing w0 or x0 with -1 sees NOT_SUPPORTED either way.
 */
import { PSCI, PSCI_RET, PSCI_TOS_NOT_PRESENT_MP, PSCI_VERSION_1_1, SMCCC } from '../arch/psci.js';

export const enum PowerState {
  On = 0,
  Off = 1,
  OnPending = 2,
}

/** What the caller must do after the call. */
export const enum PsciAction {
  /** Result written to x0; resume the caller. */
  None = 0,
  /** CPU_OFF succeeded: the caller powers down (no return). */
  CpuOff = 1,
  /** CPU_SUSPEND: x0 = SUCCESS written; the caller sleeps as in WFI. */
  Suspend = 2,
  SystemOff = 3,
  SystemReset = 4,
  /** Not a PSCI/SMCCC architecture call: NOT_SUPPORTED written. */
  Unknown = 5,
}

export interface PsciVm {
  readonly vcpuCount: number;
  /** MPIDR_EL1 affinity fields of vCPU `i` as seen by the guest: Aff2..Aff0 in bits [23:0], Aff3 in bits [39:32] (so hi = Aff3). */
  mpidrLo(i: number): number;
  mpidrHi(i: number): number;
  powerState(i: number): PowerState;
  /** Powers vCPU `i` on at `entry` with context id `ctx` in x0 (both as lo/hi halves). */
  cpuOn(i: number, entryLo: number, entryHi: number, ctxLo: number, ctxHi: number): void;
}

/** SMCCC 1.1 as returned by SMCCC_VERSION. */
export const SMCCC_VERSION_1_1 = 0x10001;

/** The PSCI functions L0 implements (both calling conventions where PSCI defines them). */
const SUPPORTED = new Set<number>([
  PSCI.VERSION, PSCI.CPU_SUSPEND, PSCI.CPU_SUSPEND_32, PSCI.CPU_OFF, PSCI.CPU_ON, PSCI.CPU_ON_32,
  PSCI.AFFINITY_INFO, PSCI.AFFINITY_INFO_32, PSCI.MIGRATE_INFO_TYPE, PSCI.SYSTEM_OFF, PSCI.SYSTEM_RESET, PSCI.FEATURES,
  SMCCC.VERSION,
]);

/** Affinity fields compared by AFFINITY_INFO at each lowest affinity level (Aff0..Aff2 in lo, Aff3 in hi). */
const AFF_MASK_LO = [0xffffff, 0xffff00, 0xff0000, 0];

function ret(x: Int32Array, v: number): void {
  x[0] = v | 0;
  x[1] = (v | 0) >> 31;
}

/**
 * Handles function `fn` called by vCPU `caller`, whose general registers are
 * `x` (the PE's register file: Xn at [2n], [2n+1]).
 */
export function psciCall(vm: PsciVm, caller: number, fn: number, x: Int32Array): PsciAction {
  const wide = (fn & 0x40000000) !== 0;
  const a1lo = x[2], a1hi = wide ? x[3] : 0;
  switch (fn >>> 0) {
    case PSCI.VERSION:
      ret(x, PSCI_VERSION_1_1);
      return PsciAction.None;
    case SMCCC.VERSION:
      ret(x, SMCCC_VERSION_1_1);
      return PsciAction.None;
    case SMCCC.ARCH_FEATURES:
      // No architecture workarounds (SMCCC_ARCH_WORKAROUND_*) are offered.
      ret(x, PSCI_RET.NOT_SUPPORTED);
      return PsciAction.None;
    case PSCI.FEATURES: {
      const q = x[2] >>> 0;
      ret(x, SUPPORTED.has(q) ? PSCI_RET.SUCCESS : PSCI_RET.NOT_SUPPORTED);
      return PsciAction.None;
    }
    case PSCI.MIGRATE_INFO_TYPE:
      ret(x, PSCI_TOS_NOT_PRESENT_MP);
      return PsciAction.None;
    case PSCI.CPU_SUSPEND:
    case PSCI.CPU_SUSPEND_32:
      // Every power state is treated as standby (a WFI), as KVM does: the call returns SUCCESS on wake-up.
      ret(x, PSCI_RET.SUCCESS);
      return PsciAction.Suspend;
    case PSCI.CPU_OFF:
      return PsciAction.CpuOff;
    case PSCI.CPU_ON:
    case PSCI.CPU_ON_32: {
      const target = findByMpidr(vm, a1lo, a1hi, 0);
      if (target < 0) {
        ret(x, PSCI_RET.INVALID_PARAMETERS);
        return PsciAction.None;
      }
      const eLo = x[4], eHi = wide ? x[5] : 0, cLo = x[6], cHi = wide ? x[7] : 0;
      if ((eLo & 3) !== 0) {
        ret(x, PSCI_RET.INVALID_ADDRESS);
        return PsciAction.None;
      }
      const st = vm.powerState(target);
      if (st !== PowerState.Off) {
        ret(x, st === PowerState.On ? PSCI_RET.ALREADY_ON : PSCI_RET.ON_PENDING);
        return PsciAction.None;
      }
      vm.cpuOn(target, eLo, eHi, cLo, cHi);
      ret(x, PSCI_RET.SUCCESS);
      return PsciAction.None;
    }
    case PSCI.AFFINITY_INFO:
    case PSCI.AFFINITY_INFO_32: {
      const level = x[4] >>> 0;
      if ((wide && x[5] !== 0) || level > 3) {
        ret(x, PSCI_RET.INVALID_PARAMETERS);
        return PsciAction.None;
      }
      let found = false, on = false;
      for (let i = 0; i < vm.vcpuCount; i++) {
        if (!affMatch(vm, i, a1lo, a1hi, level)) continue;
        found = true;
        if (vm.powerState(i) !== PowerState.Off) on = true;
      }
      ret(x, !found ? PSCI_RET.INVALID_PARAMETERS : on ? 0 : 1);
      return PsciAction.None;
    }
    case PSCI.SYSTEM_OFF:
      return PsciAction.SystemOff;
    case PSCI.SYSTEM_RESET:
      return PsciAction.SystemReset;
    default:
      ret(x, PSCI_RET.NOT_SUPPORTED);
      return PsciAction.Unknown;
  }
}

function affMatch(vm: PsciVm, i: number, lo: number, hi: number, level: number): boolean {
  const m = AFF_MASK_LO[level];
  if (((vm.mpidrLo(i) ^ lo) & m) !== 0) return false;
  return level === 3 || ((vm.mpidrHi(i) ^ hi) & 0xff) === 0;
}

/** The vCPU whose affinity equals (lo, hi) at `level`, or -1. Bits outside the affinity fields must be zero. */
function findByMpidr(vm: PsciVm, lo: number, hi: number, level: number): number {
  if ((lo & ~0xffffff) !== 0 || (hi & ~0xff) !== 0) return -1;
  for (let i = 0; i < vm.vcpuCount; i++) if (affMatch(vm, i, lo, hi, level)) return i;
  return -1;
}
