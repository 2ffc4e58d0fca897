/**
 * What vcpu.run() and vm.run() return: a tagged union on `reason`, in the
 * spirit of KVM's kvm_run exit reasons and cloud-hypervisor's VmExit.
 * BigInt is used here only: this is the API edge.
 */

/**
 * A guest access to guest-physical `addr` that no memory backs (or a write to
 * a read-only slot). For a read, the VMM supplies the value with
 * vcpu.completeMmio(value) before running the vCPU again (or refuses it with
 * vcpu.failMmio(), which injects an external abort). `data` is the value
 * written (zero-extended from `size` bytes) for a write, 0n for a read.
 * A load/store pair appears as two exits of the element size, at addr and
 * addr + size.
 */
export interface MmioExit {
  readonly reason: 'mmio';
  readonly addr: bigint;
  readonly size: 1 | 2 | 4 | 8;
  readonly isWrite: boolean;
  readonly data: bigint;
}

/** PSCI SYSTEM_OFF ('shutdown') or SYSTEM_RESET ('reset'). Running any vCPU of the VM again returns it again. */
export interface SystemEventExit {
  readonly reason: 'system-event';
  readonly type: 'shutdown' | 'reset';
}

/**
 * An HVC or SMC whose function id (w0) the VMM asked for with the
 * 'hypercalls' attribute. The PC is already past the instruction; the VMM
 * writes results with vcpu.setHypercallResult(...) or setReg(x0..x3).
 */
export interface HypercallExit {
  readonly reason: 'hypercall';
  readonly conduit: 'hvc' | 'smc';
  /** The instruction's immediate (#imm16). */
  readonly imm: number;
  readonly functionId: number;
  /** x1..x6. */
  readonly args: readonly bigint[];
}

/** A BRK instruction while guest debugging is on (vcpu.setGuestDebug): PC points at the BRK. */
export interface DebugExit {
  readonly reason: 'debug';
  readonly kind: 'breakpoint';
  readonly pc: bigint;
  readonly imm: number;
}

/** L0 could not emulate what the guest did (the vCPU stays at the instruction). */
export interface InternalErrorExit {
  readonly reason: 'internal-error';
  readonly message: string;
}

/** The instruction budget of this run() is spent. */
export interface PreemptedExit {
  readonly reason: 'preempted';
}

/** The vCPU (or, from vm.run, every vCPU) waits for an interrupt and nothing can wake it, or it is powered off. */
export interface HaltedExit {
  readonly reason: 'halted';
}

/**
 * From vm.run({ idleSleep: true }) only: every running vCPU waits and the
 * next timer fires in `ticks` counter ticks. The caller lets that much host
 * time pass (or less, if input arrives) and calls vm.advanceTime (QEMU's
 * `-icount sleep=on`).
 */
export interface IdleExit {
  readonly reason: 'idle';
  readonly ticks: number;
}

export type Exit = MmioExit | SystemEventExit | HypercallExit | DebugExit | InternalErrorExit | PreemptedExit | HaltedExit | IdleExit;

export const PREEMPTED: PreemptedExit = Object.freeze({ reason: 'preempted' });
export const HALTED: HaltedExit = Object.freeze({ reason: 'halted' });

/** Per-vCPU exit statistics (kvm_stat-like), by counter index. */
export const STAT_NAMES = [
  'exits', // every exception taken to EL2
  'hvc',
  'smc',
  'psci',
  'hypercall-unknown', // HVC/SMC function ids answered NOT_SUPPORTED
  'hypercall-exit', // forwarded to the VMM
  'mmio-read',
  'mmio-write',
  'mmio-decoded', // ISV = 0 accesses decoded from the instruction
  'mmio-vgic',
  'stage2-fault', // lazy stage-2 mappings made on a fault
  'sysreg', // EC 0x18 traps
  'id-reg', // of which ID register reads (HCR_EL2.TID3)
  'sgi',
  'set-way',
  'wfi',
  'wfe',
  'irq', // physical interrupt exits (timer)
  'wakeup',
  'abort-injected',
  'undef-injected',
  'internal-error',
  'debug',
  'system-event',
] as const;
export type StatName = (typeof STAT_NAMES)[number];

export const enum Stat {
  Exits, Hvc, Smc, Psci, HypercallUnknown, HypercallExit, MmioRead, MmioWrite, MmioDecoded, MmioVgic, Stage2Fault,
  Sysreg, IdReg, Sgi, SetWay, Wfi, Wfe, Irq, Wakeup, AbortInjected, UndefInjected, InternalError, Debug, SystemEvent,
}
