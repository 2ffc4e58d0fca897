/**
 * A virtual CPU: one host PE that runs the guest's EL1/EL0, and the EL2
 * software (this file) that handles what the PE hands to EL2.
 *
 * Entry: program nothing more than the vGIC's list registers (flush), ERET
 * with the state in ELR_EL2/SPSR_EL2 (pe.eretFromEl2), pe.run(budget).
 * Exit: RunExit.El2 with ESR_EL2, FAR_EL2, HPFAR_EL2, ELR_EL2, SPSR_EL2 and
 * pe.el2Vector; vGIC sync; then the handlers below, as KVM's
 * handle_exit/kvm_handle_guest_abort/kvm_handle_sys_reg do:
 *
 * - EC 0x16 HVC, 0x17 SMC (trapped by HCR_EL2.TSC; its preferred return is
 *   the SMC itself, so ELR advances by 4): PSCI/SMCCC, or a 'hypercall' exit;
 * - EC 0x24 data abort / 0x20 instruction abort from stage 2: lazy mapping
 *   of memory slots, MMIO (vGIC or 'mmio' exit), injected external aborts;
 * - EC 0x18 system register traps (TID3 ID registers, ICC_SGI1R_EL1,
 *   set/way cache maintenance, TACR and friends);
 * - EC 0x01 WFI/WFE (HCR_EL2.TWI/TWE);
 * - IRQ: a timer output (the host's timer PPI) rose while the guest ran.
 *
 * Hot paths (the run loop, HVC, stage-2 faults) use no BigInt; exits to the
 * VMM build BigInt values at the API edge.
 */
import { PE, RunExit, SLOT_SP } from '../cpu/pe.js';
import { VECTOR_IRQ, VECTOR_SYNC, VECTOR_FIQ } from '../cpu/exceptions.js';
import { injectAbort, injectUndefined } from '../cpu/inject.js';
import { sysregSpec } from '../cpu/insn/sysreg.js';
import { Access, XlResult, walk } from '../cpu/mmu/walk.js';
import { TimerId } from '../cpu/timer.js';
import { EC } from '../arch/esr.js';
import { SYSREG_BY_KEY, sr, sysregKey } from '../arch/sysregs.js';
import { HypError } from './errors.js';
import { Exit, HALTED, PREEMPTED, Stat, STAT_NAMES, StatName } from './exits.js';
import { MmioAccess, decodeInsn, fromSyndrome, readStoreData, writeLoadResult } from './mmio.js';
import { PowerState, PsciAction, psciCall } from './psci.js';
import { CORE_ELR_EL1, CORE_PC, CORE_PSTATE, CORE_SPSR_EL1, CORE_SP_EL0, CORE_SP_EL1, RegId, checkRegId, regName } from './regs.js';
import type { Vm } from './vm.js';
import type { VirtualGic } from './vgic/types.js';

const TWO32 = 4294967296;

const SR_ESR_EL2 = sr('ESR_EL2');
const SR_ELR_EL2 = sr('ELR_EL2');
const SR_SPSR_EL2 = sr('SPSR_EL2');
const SR_FAR_EL2 = sr('FAR_EL2');
const SR_HPFAR_EL2 = sr('HPFAR_EL2');
const SR_HCR_EL2 = sr('HCR_EL2');
const SR_MDCR_EL2 = sr('MDCR_EL2');
const SR_VMPIDR_EL2 = sr('VMPIDR_EL2');
const SR_VPIDR_EL2 = sr('VPIDR_EL2');
const SR_ELR_EL1 = sr('ELR_EL1');
const SR_SPSR_EL1 = sr('SPSR_EL1');

/** HCR_EL2 as L0 runs guests (KVM's HCR_GUEST_FLAGS): bits 31:0. */
export const HCR_GUEST_LO = (
  (1 << 0) | // VM: stage 2 on
  (1 << 1) | // SWIO: set/way invalidate becomes clean+invalidate
  (1 << 2) | // PTW: stage-1 walks to Device memory fault
  (1 << 3) | (1 << 4) | (1 << 5) | // FMO, IMO, AMO: physical interrupts to EL2, virtual ones to EL1
  (1 << 9) | // FB: broadcast TLBI/IC within the Inner Shareable domain
  (1 << 10) | // BSU = Inner Shareable
  (1 << 13) | (1 << 14) | // TWI, TWE
  (1 << 18) | // TID3: ID registers (answered from the VM's feature set)
  (1 << 19) | // TSC: SMC
  (1 << 20) | // TIDCP: IMPLEMENTATION DEFINED registers (injected UNDEFINED)
  (1 << 21) | // TACR: ACTLR_EL1
  (1 << 22) | // TSW: set/way cache maintenance
  (1 << 31) // RW: EL1 is AArch64
) | 0;
const HCR_VI = 1 << 7;
const MDCR_TDE = 1 << 8;

/** ICC_SGI1R_EL1 (op0 3, op1 0, CRn 12, CRm 11, op2 5): SGI generation, trapped with HCR_EL2.IMO. */
const KEY_ICC_SGI1R = sysregKey(3, 0, 12, 11, 5);
const KEY_ICC_ASGI1R = sysregKey(3, 0, 12, 11, 6);
const KEY_ICC_SGI0R = sysregKey(3, 0, 12, 11, 7);

/** PPIs of the EL1 timers on the virt board. */
export const PPI_PHYS_TIMER = 30;
export const PPI_VIRT_TIMER = 27;

/** Results of one slice of running (internal to the scheduler). */
export const enum Slice {
  /** Keep going (internal only). */
  Continue = 0,
  /** An exit for the VMM is in vcpu.exit. */
  Exit = 1,
  /** The instruction budget is spent. */
  Preempted = 2,
  /** WFI (or CPU_SUSPEND) with nothing pending. */
  Sleep = 3,
  /** WFE: let the other vCPUs run. */
  Yield = 4,
  /** Powered off. */
  Off = 5,
}

const enum MmioState {
  None = 0,
  /** An 'mmio' read exit is out: the VMM must completeMmio. */
  AwaitRead = 1,
  /** An 'mmio' write exit is out: the next run continues. */
  AwaitWrite = 2,
}

/** Per-vCPU options (vm.createVcpu). */
export interface VcpuFeatures {
  /** Start powered off, waiting for PSCI CPU_ON (KVM_ARM_VCPU_POWER_OFF). Default: on for vCPU 0, off for the others. */
  readonly poweredOff?: boolean;
}

export class Vcpu {
  readonly pe: PE;
  /** The last exit for the VMM (valid after Slice.Exit). */
  exit: Exit = HALTED;
  power: PowerState;
  /** In WFI/CPU_SUSPEND, waiting for a wake-up event. */
  sleeping = false;
  private kicked = false;
  /** Timer output levels last given to the vGIC (bit TimerId.Phys, bit TimerId.Virt). */
  private told = 0;
  /** The granule under the exclusive monitor when the last slice ended, and its bytes (parkExclusive). */
  private parkedExclusive = -1;
  private readonly parkedBytes = new Uint8Array(16);
  private readonly counters = new Float64Array(STAT_NAMES.length);
  private readonly mmio = new MmioAccess();
  private mmioState = MmioState.None;
  private mmioCompleted = false;
  private readonly xl = new XlResult();
  private debugBreakpoints = false;
  /**
   * Whether L0 forwards this PE's timer outputs to the vGIC itself (and
   * drives pe.irqLine for them). False once an irqchip that wires timers
   * itself (VGicV3.attachVcpu: hardware-mapped timer PPIs) is attached.
   */
  private ownTimers = true;

  constructor(readonly vm: Vm, readonly index: number, pe: PE, features: VcpuFeatures) {
    this.pe = pe;
    this.power = (features.poweredOff ?? index > 0) ? PowerState.Off : PowerState.On;
    pe.timer.onChange = (t, level) => this.timerChanged(t, level);
    this.resetArch();
  }

  // ---- State ---------------------------------------------------------------

  /** MPIDR_EL1 the guest reads: Aff0 = index mod 16, Aff1 = index / 16 (KVM's layout), bit 31 RES1. */
  get mpidrAff(): number {
    return ((this.index & 15) | ((this.index >> 4) << 8)) >>> 0;
  }

  /** Architectural reset: EL1h, MMU off, DAIF masked, EL1 registers at their reset values; EL2 controls as L0 runs guests. */
  resetArch(): void {
    const pe = this.pe;
    pe.reset();
    this.programEl2();
    if (this.ownTimers) pe.irqLine = false;
    pe.virqLine = false;
    this.told = 0;
    this.mmioState = MmioState.None;
    this.sleeping = false;
    pe.timer.update();
    this.syncTimers();
  }

  /** Writes the EL2 registers that configure the guest's world on this PE. */
  programEl2(): void {
    const pe = this.pe, vm = this.vm;
    const set = (name: string, lo: number, hi: number): void => {
      const id = sr(name);
      pe.setSr(id, lo | 0, hi | 0);
      pe.sysregChanged(id);
    };
    set('HCR_EL2', HCR_GUEST_LO, 0);
    const [vtLo, vtHi] = vm.stage2.vttbr();
    set('VTTBR_EL2', vtLo, vtHi);
    set('VTCR_EL2', vm.vtcr, 0);
    set('VPIDR_EL2', vm.config.features.midr >>> 0, 0);
    set('VMPIDR_EL2', (0x80000000 | this.mpidrAff) >>> 0, 0);
    set('CNTVOFF_EL2', vm.cntvoffLo, vm.cntvoffHi);
    // EL1 may use the physical counter and timer (CNTHCTL_EL2.EL1PCTEN, EL1PCEN).
    set('CNTHCTL_EL2', 3, 0);
    // CPTR_EL2: RES1 bits, no FP/SIMD trap (each vCPU owns its PE's registers; no lazy switching needed).
    set('CPTR_EL2', 0x33ff, 0);
    set('MDCR_EL2', this.debugBreakpoints ? MDCR_TDE : 0, 0);
    set('CNTFRQ_EL0', vm.config.features.cntfrq >>> 0, 0);
  }

  /** Statistics of this vCPU by counter name. */
  stats(): Record<StatName, number> {
    const out = {} as Record<StatName, number>;
    STAT_NAMES.forEach((n, i) => (out[n] = this.counters[i]));
    return out;
  }
  /** Raw counters (indexed like STAT_NAMES), for the VM's totals. */
  get rawStats(): Float64Array {
    return this.counters;
  }

  /**
   * Called at each counted event (an exit and what L0 did with it, a WFI, a
   * wake-up...) with the counter's index in STAT_NAMES and what it concerns:
   * the IPA of an MMIO access, the function id of an HVC/SMC, the ESR_EL2 of
   * a system-register trap, else -1. For tracers (vmm/exit-trace.ts); while
   * it is null an event costs one array increment.
   */
  onStat: ((vcpu: Vcpu, stat: number, arg: number) => void) | null = null;

  private count(s: Stat, arg = -1): void {
    this.counters[s]++;
    if (this.onStat !== null) this.onStat(this, s, arg);
  }

  // ---- Registers (API edge: BigInt) ---------------------------------------------

  /** Whether the PE is stopped at EL2 (after an exit): the guest's PC/PSTATE are then in ELR_EL2/SPSR_EL2 and its SPs banked. */
  private get atEl2(): boolean {
    return this.pe.el === 2;
  }

  getReg(id: RegId | number): bigint {
    const r = checkRegId(id);
    const pe = this.pe;
    if (r.kind === 'core') {
      if (r.index <= 30) return pe.getX(r.index);
      switch (r.index) {
        case CORE_PC: return this.atEl2 ? pe.readSysreg('ELR_EL2') : pe.pc;
        case CORE_PSTATE: return this.atEl2 ? pe.readSysreg('SPSR_EL2') : BigInt(pe.getPstate());
        case CORE_SP_EL0: return this.spBank(0);
        case CORE_SP_EL1: return this.spBank(1);
        case CORE_ELR_EL1: return pe.readSysreg('ELR_EL1');
        case CORE_SPSR_EL1: return pe.readSysreg('SPSR_EL1');
      }
      throw new HypError(`register ${regName(id)} cannot be read`);
    }
    const name = r.name;
    const info = SYSREG_BY_KEY.get(r.key)!;
    if (info.op0 === 3 && info.op1 === 0 && info.crn === 0 && info.crm >= 1) {
      const v = this.vm.config.idRegs[name] ?? [0, 0];
      return (BigInt(v[1] >>> 0) << 32n) | BigInt(v[0] >>> 0);
    }
    switch (name) {
      case 'MIDR_EL1': return pe.readSysreg('VPIDR_EL2');
      case 'MPIDR_EL1': return pe.readSysreg('VMPIDR_EL2');
      case 'CNTPCT_EL0': return BigInt(pe.timer.physicalCount());
      case 'CNTVCT_EL0': return BigInt.asUintN(64, BigInt(pe.timer.physicalCount()) - pe.readSysreg('CNTVOFF_EL2'));
      case 'CNTP_CTL_EL0': return BigInt(pe.timer.readCtl(TimerId.Phys));
      case 'CNTV_CTL_EL0': return BigInt(pe.timer.readCtl(TimerId.Virt));
      case 'CNTP_TVAL_EL0': return BigInt.asUintN(64, BigInt(pe.timer.readTval(TimerId.Phys)));
      case 'CNTV_TVAL_EL0': return BigInt.asUintN(64, BigInt(pe.timer.readTval(TimerId.Virt)));
    }
    return pe.readSysreg(name);
  }

  setReg(id: RegId | number, value: bigint): void {
    if (typeof value !== 'bigint') throw new HypError(`setReg(${regName(id)}): the value must be a bigint`);
    const r = checkRegId(id);
    const v = BigInt.asUintN(64, value);
    const pe = this.pe;
    const lo = Number(v & 0xffffffffn) | 0, hi = Number(v >> 32n) | 0;
    if (r.kind === 'core') {
      if (r.index <= 30) return pe.setX(r.index, v);
      switch (r.index) {
        case CORE_PC:
          if (this.atEl2) pe.setSr(SR_ELR_EL2, lo, hi);
          else pe.pc = v;
          return;
        case CORE_PSTATE: {
          const m = Number(v & 0xfn);
          if (hi !== 0 || (lo & 0x10) !== 0 || (m !== 0 && m !== 4 && m !== 5)) throw new HypError(`setReg(pstate, 0x${v.toString(16)}): only AArch64 EL0t, EL1t and EL1h are allowed`);
          if (this.atEl2) pe.setSr(SR_SPSR_EL2, lo, 0);
          else pe.setPstate(lo >>> 0);
          return;
        }
        case CORE_SP_EL0: return this.setSpBank(0, lo, hi);
        case CORE_SP_EL1: return this.setSpBank(1, lo, hi);
        case CORE_ELR_EL1: pe.setSr(SR_ELR_EL1, lo, hi); return;
        case CORE_SPSR_EL1: pe.setSr(SR_SPSR_EL1, lo, hi); return;
      }
      throw new HypError(`register ${regName(id)} cannot be written`);
    }
    const info = SYSREG_BY_KEY.get(r.key)!;
    if (info.op0 === 3 && info.op1 === 0 && info.crn === 0) {
      if (info.name === 'MPIDR_EL1') {
        pe.setSr(SR_VMPIDR_EL2, (lo | 0x80000000) | 0, hi);
        return;
      }
      throw new HypError(`setReg(${info.name}): identification registers are fixed by the 'cpu-features' attribute`);
    }
    if (['CNTPCT_EL0', 'CNTVCT_EL0', 'CTR_EL0', 'DCZID_EL0', 'CLIDR_EL1', 'CCSIDR_EL1', 'AIDR_EL1', 'REVIDR_EL1', 'ISR_EL1', 'CNTFRQ_EL0'].includes(info.name)) {
      throw new HypError(`setReg(${info.name}): read-only register`);
    }
    pe.writeSysreg(info.name, v);
  }

  /** The guest's SP_EL0 (bank 0) or SP_EL1 (bank 1), wherever it lives now. */
  private spBank(b: number): bigint {
    const pe = this.pe;
    const live = !this.atEl2 && (pe.spsel ? pe.el : 0) === b;
    const lo = live ? pe.x[2 * SLOT_SP] : pe.spBank[2 * b];
    const hi = live ? pe.x[2 * SLOT_SP + 1] : pe.spBank[2 * b + 1];
    return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  }
  private setSpBank(b: number, lo: number, hi: number): void {
    const pe = this.pe;
    if (!this.atEl2 && (pe.spsel ? pe.el : 0) === b) {
      pe.x[2 * SLOT_SP] = lo;
      pe.x[2 * SLOT_SP + 1] = hi;
    } else {
      pe.spBank[2 * b] = lo;
      pe.spBank[2 * b + 1] = hi;
    }
  }

  /** Writes x0..x3 after a 'hypercall' exit (SMCCC results). */
  setHypercallResult(...values: bigint[]): void {
    if (values.length > 4) throw new HypError('setHypercallResult: SMCCC returns at most 4 values (x0..x3)');
    values.forEach((v, i) => this.pe.setX(i, BigInt.asUintN(64, v)));
  }

  /** Guest debugging: with `breakpoints`, BRK instructions exit to the VMM ('debug') instead of reaching the guest (MDCR_EL2.TDE). */
  setGuestDebug(opts: { breakpoints: boolean }): void {
    this.debugBreakpoints = opts.breakpoints;
    const v = opts.breakpoints ? MDCR_TDE : 0;
    this.pe.setSr(SR_MDCR_EL2, v, 0);
    this.pe.sysregChanged(SR_MDCR_EL2);
  }

  /**
   * Drives the vCPU's virtual IRQ line directly (HCR_EL2.VI), for VMs without
   * an irqchip (as KVM_IRQ_LINE does without an in-kernel GIC).
   */
  setVirtualIrq(level: boolean): void {
    const lo = this.pe.getSrLo(SR_HCR_EL2);
    this.pe.setSr(SR_HCR_EL2, level ? lo | HCR_VI : lo & ~HCR_VI, this.pe.getSrHi(SR_HCR_EL2));
    this.pe.sysregChanged(SR_HCR_EL2);
    if (level) this.kick();
  }

  /** Wakes the vCPU if it sleeps in WFI (an interrupt became pending for it). */
  kick(): void {
    this.kicked = true;
  }

  // ---- MMIO completion (API) ---------------------------------------------------

  /** Supplies the value of the pending MMIO read (the low `size` bytes are used). */
  completeMmio(value: bigint | number): void {
    if (this.mmioState !== MmioState.AwaitRead) throw new HypError(`vCPU ${this.index}: completeMmio without a pending MMIO read`);
    const v = BigInt.asUintN(64, typeof value === 'number' ? BigInt(value) : value);
    const k = this.mmio.index;
    this.mmio.data[2 * k] = Number(v & 0xffffffffn) | 0;
    this.mmio.data[2 * k + 1] = Number(v >> 32n) | 0;
    this.mmioCompleted = true;
  }

  /** Refuses the pending MMIO access: the guest takes a synchronous external abort at the instruction instead. */
  failMmio(): void {
    if (this.mmioState === MmioState.None) throw new HypError(`vCPU ${this.index}: failMmio without a pending MMIO access`);
    this.mmioState = MmioState.None;
    this.injectAbortAtFar(false);
  }

  // ---- Running --------------------------------------------------------------

  /**
   * Runs this vCPU alone until an exit the VMM must see, the budget is spent
   * ('preempted') or it halts. While it sleeps in WFI with a timer armed, its
   * time skips to the timer's deadline (the idle loop of a one-vCPU VM); with
   * no timer armed and nothing pending, returns 'halted'. vm.run() is the
   * scheduler for several vCPUs.
   */
  run(opts: { budget?: number } = {}): Exit {
    let budget = opts.budget ?? 10_000_000;
    for (;;) {
      const before = this.pe.icount;
      const c = this.runSlice(budget);
      budget -= this.pe.icount - before;
      switch (c) {
        case Slice.Exit: return this.exit;
        case Slice.Off: return HALTED;
        case Slice.Sleep: {
          const t = this.pe.timer.ticksUntilNextDeadline();
          if (t === Infinity) return HALTED;
          this.pe.timer.skipTicks(t);
          break;
        }
        default:
          if (budget <= 0) return PREEMPTED;
      }
    }
  }

  /** Runs for up to `budget` instructions; see Slice. */
  runSlice(budget: number): Slice {
    if (this.vm.event !== null) {
      this.exit = this.vm.event;
      return Slice.Exit;
    }
    if (this.power !== PowerState.On) return Slice.Off;
    this.resumeExclusive();
    const c = this.runGuest(budget);
    this.parkExclusive();
    return c;
  }

  /**
   * The PE's exclusive monitor sees only its own stores. Between two slices
   * of this vCPU, other vCPUs, the VMM and devices may write the granule a
   * load-exclusive armed, which must make the store-exclusive fail (the
   * global monitor of the architecture). So when a slice ends with the
   * monitor armed, the granule's bytes are kept (this PE's own stores to it
   * would have cleared the monitor, so they are the bytes the load-exclusive
   * read), and the next slice starts with the monitor cleared
   * (ClearExclusiveLocal) if they changed. Clearing it at every slice
   * instead would livelock a load/store-exclusive pair that a slice boundary
   * always splits; comparing values is what QEMU does for every
   * store-exclusive.
   */
  private parkExclusive(): void {
    const pa = this.pe.exclPa;
    this.parkedExclusive = -1;
    if (pa < 0) return;
    const r = this.pe.bus.findRam(pa);
    const size = this.pe.exclSize;
    if (r === null || pa + size > r.base + r.size) return void (this.pe.exclPa = -1);
    this.parkedBytes.set(r.bytes.subarray(pa - r.base, pa - r.base + size));
    this.parkedExclusive = pa;
  }

  private resumeExclusive(): void {
    const pa = this.pe.exclPa;
    if (pa < 0) return;
    const r = pa === this.parkedExclusive ? this.pe.bus.findRam(pa) : null;
    if (r !== null) {
      const b = r.bytes, o = pa - r.base;
      let same = true;
      for (let k = 0; k < this.pe.exclSize; k++) same &&= b[o + k] === this.parkedBytes[k];
      if (same) return;
    }
    this.pe.exclPa = -1;
  }

  /** The body of runSlice: runs the guest for up to `budget` instructions. */
  private runGuest(budget: number): Slice {
    if (this.mmioState !== MmioState.None) {
      const c = this.continueMmio();
      if (c !== Slice.Continue) return c;
    }
    if (this.sleeping && !this.wakeup()) return Slice.Sleep;
    const pe = this.pe;
    const gic = this.vm.gic;
    let left = budget;
    for (;;) {
      const start = pe.icount;
      if (pe.el === 2) pe.eretFromEl2();
      if (gic !== null) gic.flush(this.index, pe);
      const r = pe.run(left);
      if (gic !== null) gic.sync(this.index, pe);
      // Timer levels that changed while the guest ran (KVM's kvm_timer_sync_user on every exit).
      if (this.ownTimers && ((pe.timer.physOutput ? 1 : 0) | (pe.timer.virtOutput ? 2 : 0)) !== this.told) this.syncTimers();
      left -= pe.icount - start;
      if (r === RunExit.El2) {
        left--;
        this.count(Stat.Exits);
        const c = this.handleEl2();
        if (c !== Slice.Continue) return c;
        if (left <= 0) return Slice.Preempted;
        continue;
      }
      if (r === RunExit.Wfi) {
        // WFI without the TWI trap (not used by L0, but a PE may report it): the same as a trapped WFI, already past it.
        pe.waiting = false;
        this.count(Stat.Wfi);
        this.sleeping = true;
        if (!this.wakeup()) return Slice.Sleep;
        if (left <= 0) return Slice.Preempted;
        continue;
      }
      return Slice.Preempted;
    }
  }

  /** Whether a wake-up event is pending; clears `sleeping` if so. Also pushes timer levels into the vGIC. */
  wakeup(): boolean {
    const pe = this.pe;
    pe.timer.update();
    this.syncTimers();
    const gic = this.vm.gic;
    let pending = this.kicked || (pe.getSrLo(SR_HCR_EL2) & HCR_VI) !== 0;
    if (!pending) pending = gic !== null ? gic.hasPending(this.index) : pe.timer.virtOutput || pe.timer.physOutput;
    if (!pending) return false;
    this.kicked = false;
    this.sleeping = false;
    this.count(Stat.Wakeup);
    return true;
  }

  // ---- Timers ------------------------------------------------------------------

  /**
   * The PE's EL1 timer outputs as the host GIC would see them: a rising
   * output while the guest runs raises the PE's physical IRQ (routed to EL2
   * by HCR_EL2.IMO), so the guest exits and L0 forwards the level to the vGIC
   * (syncTimers); until the output falls, it stays "active" and does not
   * interrupt again.
   */
  private timerChanged(t: TimerId, level: boolean): void {
    if (!this.ownTimers || (t !== TimerId.Phys && t !== TimerId.Virt)) return;
    if (level && (this.told & (1 << t)) === 0) {
      this.pe.irqLine = true;
      this.pe.irqCheck = true;
    }
  }

  /**
   * Connects an irqchip: one that offers attachVcpu (the VGicV3) wires the
   * timers as hardware-mapped PPIs and owns pe.irqLine; otherwise L0 keeps
   * forwarding timer levels with setIrqLevel.
   */
  attachIrqchip(gic: VirtualGic): void {
    const attach = (gic as VirtualGic & { attachVcpu?: (vcpu: number, pe: PE) => void }).attachVcpu;
    if (typeof attach === 'function') {
      this.ownTimers = false;
      this.pe.irqLine = false;
      attach.call(gic, this.index, this.pe);
    } else {
      this.told = 0;
      this.syncTimers();
    }
  }

  /** Gives the vGIC the timer levels it has not seen (PPI 30 physical, 27 virtual) and lowers the host line. */
  syncTimers(): void {
    if (!this.ownTimers) return;
    const pe = this.pe;
    const lv = (pe.timer.physOutput ? 1 << TimerId.Phys : 0) | (pe.timer.virtOutput ? 1 << TimerId.Virt : 0);
    const changed = lv ^ this.told;
    if (changed !== 0) {
      const gic = this.vm.gic;
      if (gic !== null) {
        if (changed & (1 << TimerId.Phys)) gic.setIrqLevel(PPI_PHYS_TIMER, (lv & (1 << TimerId.Phys)) !== 0, this.index);
        if (changed & (1 << TimerId.Virt)) gic.setIrqLevel(PPI_VIRT_TIMER, (lv & (1 << TimerId.Virt)) !== 0, this.index);
      }
      this.told = lv;
    }
    pe.irqLine = false;
  }

  // ---- Exit handling ---------------------------------------------------------------

  private handleEl2(): Slice {
    const pe = this.pe;
    const vec = pe.el2Vector;
    if (vec === VECTOR_IRQ) {
      this.count(Stat.Irq);
      this.syncTimers();
      return Slice.Continue;
    }
    if (vec !== VECTOR_SYNC) {
      if (vec === VECTOR_FIQ) {
        pe.fiqLine = false;
        return Slice.Continue;
      }
      return this.internalError('SError exception taken to EL2');
    }
    const esr = pe.sr[2 * SR_ESR_EL2];
    switch (esr >>> 26) {
      case EC.HVC64:
        this.count(Stat.Hvc, pe.x[0] >>> 0);
        return this.handleHypercall(esr, false);
      case EC.SMC64:
        this.count(Stat.Smc, pe.x[0] >>> 0);
        this.advancePc();
        return this.handleHypercall(esr, true);
      case EC.DABT_LOWER:
        return this.handleDataAbort(esr);
      case EC.IABT_LOWER:
        return this.handleInsnAbort(esr);
      case EC.SYS64:
        this.count(Stat.Sysreg, esr >>> 0);
        return this.handleSysreg(esr);
      case EC.WFX:
        this.advancePc();
        if (esr & 1) {
          this.count(Stat.Wfe);
          return Slice.Yield;
        }
        this.count(Stat.Wfi);
        this.sleeping = true;
        return this.wakeup() ? Slice.Continue : Slice.Sleep;
      case EC.BRK64:
        if (this.debugBreakpoints) {
          this.count(Stat.Debug);
          this.exit = { reason: 'debug', kind: 'breakpoint', pc: pe.readSysreg('ELR_EL2'), imm: esr & 0xffff };
          return Slice.Exit;
        }
        break;
    }
    // Anything else L0 does not handle (KVM's kvm_handle_unknown_ec): UNDEFINED for the guest.
    this.count(Stat.UndefInjected);
    injectUndefined(pe);
    return Slice.Continue;
  }

  /** ELR_EL2 += 4: the trapped instruction was emulated. */
  private advancePc(): void {
    const sr = this.pe.sr;
    const lo = (sr[2 * SR_ELR_EL2] >>> 0) + 4;
    sr[2 * SR_ELR_EL2] = lo | 0;
    if (lo > 0xffffffff) sr[2 * SR_ELR_EL2 + 1] = (sr[2 * SR_ELR_EL2 + 1] + 1) | 0;
  }

  private internalError(message: string): Slice {
    this.count(Stat.InternalError);
    this.exit = { reason: 'internal-error', message: `vCPU ${this.index}: ${message}` };
    return Slice.Exit;
  }

  // ---- HVC / SMC ------------------------------------------------------------------

  private handleHypercall(esr: number, smc: boolean): Slice {
    const pe = this.pe;
    const x = pe.x;
    const fn = x[0] >>> 0;
    const imm = esr & 0xffff;
    const vm = this.vm;
    if (vm.forwardCount !== 0 && vm.forwards(fn)) {
      this.count(Stat.HypercallExit);
      const args: bigint[] = [];
      for (let i = 1; i <= 6; i++) args.push(pe.getX(i));
      this.exit = { reason: 'hypercall', conduit: smc ? 'smc' : 'hvc', imm, functionId: fn, args };
      return Slice.Exit;
    }
    if (imm !== 0) {
      // SMCCC calls use #0; other immediates are not calls L0 knows.
      x[0] = -1;
      x[1] = -1;
      this.count(Stat.HypercallUnknown);
      return Slice.Continue;
    }
    const action = psciCall(vm.psciView, this.index, fn, x);
    switch (action) {
      case PsciAction.None:
        this.count(Stat.Psci);
        return Slice.Continue;
      case PsciAction.Unknown:
        this.count(Stat.HypercallUnknown);
        return Slice.Continue;
      case PsciAction.CpuOff:
        this.count(Stat.Psci);
        this.power = PowerState.Off;
        this.sleeping = false;
        return Slice.Off;
      case PsciAction.Suspend:
        this.count(Stat.Psci);
        this.sleeping = true;
        return this.wakeup() ? Slice.Continue : Slice.Sleep;
      case PsciAction.SystemOff:
      case PsciAction.SystemReset:
        this.count(Stat.SystemEvent);
        vm.raiseEvent({ reason: 'system-event', type: action === PsciAction.SystemOff ? 'shutdown' : 'reset' }, this);
        this.exit = vm.event!;
        return Slice.Exit;
    }
    return Slice.Continue;
  }

  /** PSCI CPU_ON: this vCPU starts at entry with the context id in x0, MMU off, EL1h, DAIF masked. */
  powerOn(entryLo: number, entryHi: number, ctxLo: number, ctxHi: number): void {
    this.resetArch();
    const pe = this.pe;
    pe.pcLo = entryLo >>> 0;
    pe.pcHi = entryHi >>> 0;
    pe.x[0] = ctxLo;
    pe.x[1] = ctxHi;
    this.power = PowerState.On;
  }

  // ---- Stage-2 aborts ---------------------------------------------------------------

  /** The faulting IPA: HPFAR_EL2.FIPA (IPA[51:12] in bits [43:4]) with FAR_EL2[11:0]. */
  private faultIpa(): number {
    const sr = this.pe.sr;
    const hlo = sr[2 * SR_HPFAR_EL2] >>> 0, hhi = sr[2 * SR_HPFAR_EL2 + 1] & 0xfff;
    const page = (hlo >>> 4) + hhi * 0x10000000;
    return page * 4096 + (sr[2 * SR_FAR_EL2] & 0xfff);
  }

  private injectAbortAtFar(instruction: boolean): void {
    this.count(Stat.AbortInjected);
    injectAbort(this.pe, this.pe.readSysreg('FAR_EL2'), instruction);
  }

  private handleInsnAbort(esr: number): Slice {
    const fsc = esr & 0x3f;
    const ipa = this.faultIpa();
    const t = fsc & 0x3c;
    if (t === 0x04 || t === 0x08) {
      const slot = this.vm.findSlot(ipa);
      if (slot !== null) {
        this.vm.mapFault(slot, ipa);
        this.count(Stat.Stage2Fault, ipa);
        return Slice.Continue;
      }
    }
    // Executing from outside memory (or from a device): a synchronous external abort on the fetch.
    this.injectAbortAtFar(true);
    return Slice.Continue;
  }

  private handleDataAbort(esr: number): Slice {
    const fsc = esr & 0x3f;
    const t = fsc & 0x3c;
    const s1ptw = (esr & (1 << 7)) !== 0;
    const write = (esr & (1 << 6)) !== 0;
    const ipa = this.faultIpa();
    const vm = this.vm;
    if (ipa >= vm.ipaLimit) {
      this.injectAbortAtFar(false);
      return Slice.Continue;
    }
    const slot = vm.findSlot(ipa);
    if (t === 0x04 || t === 0x08) {
      if (slot !== null) {
        vm.mapFault(slot, ipa);
        this.count(Stat.Stage2Fault, ipa);
        return Slice.Continue;
      }
      // A stage-1 table walk into something that is not memory: the walk takes an external abort.
      if (s1ptw) {
        this.injectAbortAtFar(false);
        return Slice.Continue;
      }
      return this.mmioAccess(esr, ipa);
    }
    if (t === 0x0c && slot !== null && slot.readonly && write && !s1ptw) return this.mmioAccess(esr, ipa);
    if (t === 0x0c && slot !== null) {
      // A permission fault L0 did not ask for (a stale mapping): drop it and let the fault map it again.
      vm.unmapIpaPage(ipa);
      return Slice.Continue;
    }
    this.injectAbortAtFar(false);
    return Slice.Continue;
  }

  /** The guest's SP while the PE is at EL2 (banked by the exception entry), per SPSR_EL2.M. */
  private guestSpBankIndex(): number {
    const m = this.pe.sr[2 * SR_SPSR_EL2] & 0xf;
    return m & 1 ? m >>> 2 : 0;
  }

  /** Emulates a data access to `ipa` that no memory backs (or a write to a read-only slot). */
  private mmioAccess(esr: number, ipa: number): Slice {
    const vm = this.vm;
    const gic = vm.gic;
    const toGic = gic !== null && gic.handlesMmio(ipa);
    if (!toGic && !vm.mmioAllowed(ipa)) {
      this.injectAbortAtFar(false);
      return Slice.Continue;
    }
    const a = this.mmio;
    const pe = this.pe;
    if (esr & (1 << 24)) {
      fromSyndrome(a, esr);
      a.ipa = ipa;
    } else {
      this.count(Stat.MmioDecoded);
      const why = this.decodeFaulting(a);
      if (why !== null) return this.internalError(`cannot emulate the MMIO access at IPA 0x${ipa.toString(16)} (PC 0x${pe.readSysreg('ELR_EL2').toString(16)}): ${why}`);
      // Element addresses: the IPA page of the fault plus the VA's page offset; the whole access must lie in that page.
      const farLo = pe.sr[2 * SR_FAR_EL2] >>> 0, farHi = pe.sr[2 * SR_FAR_EL2 + 1];
      const endLo = (a.eaLo >>> 0) + a.count * a.size - 1;
      if ((a.eaHi | 0) !== (farHi | 0) || (a.eaLo >>> 12) !== (farLo >>> 12) || endLo >>> 12 !== a.eaLo >>> 12) {
        return this.internalError(`cannot emulate the MMIO access at IPA 0x${ipa.toString(16)}: the ${a.count * a.size}-byte access at VA 0x${((a.eaHi >>> 0) * TWO32 + (a.eaLo >>> 0)).toString(16)} does not lie within the faulting page`);
      }
      a.ipa = ipa - (ipa % 4096) + ((a.eaLo >>> 0) & 0xfff);
    }
    a.index = 0;
    if (a.isWrite) for (let k = 0; k < a.count; k++) readStoreData(a, pe.x, k);
    if (toGic) {
      this.count(Stat.MmioVgic, a.ipa);
      for (let k = 0; k < a.count; k++) {
        const addr = a.ipa + k * a.size;
        if (a.isWrite) gic!.mmioWrite(this.index, addr, a.size, a.data[2 * k], a.data[2 * k + 1]);
        else {
          const [lo, hi] = gic!.mmioRead(this.index, addr, a.size);
          a.data[2 * k] = lo;
          a.data[2 * k + 1] = hi;
        }
      }
      this.finishMmio();
      return Slice.Continue;
    }
    return this.mmioExit();
  }

  /** Reads the faulting instruction through the guest's stage 1 and stage 2 and decodes it. */
  private decodeFaulting(a: MmioAccess): string | null {
    const pe = this.pe;
    const sr = pe.sr;
    const elo = sr[2 * SR_ELR_EL2], ehi = sr[2 * SR_ELR_EL2 + 1];
    const el0 = ((sr[2 * SR_SPSR_EL2] >>> 2) & 3) === 0;
    const pa = walk(pe, elo, ehi, Access.Exec, el0, false, true, this.xl);
    if (pa < 0) return `the instruction at the PC could not be read (fault status 0x${this.xl.fsc.toString(16)})`;
    const r = pe.bus.findRam(pa);
    if (r === null || pa + 4 > r.base + r.size) return 'the instruction at the PC is not in memory';
    const w = r.view.getInt32(pa - r.base, true);
    const b = this.guestSpBankIndex();
    return decodeInsn(a, w, { x: pe.x, spLo: pe.spBank[2 * b], spHi: pe.spBank[2 * b + 1] });
  }

  /** Builds the 'mmio' exit of element a.index. */
  private mmioExit(): Slice {
    const a = this.mmio;
    const k = a.index;
    const addr = BigInt(a.ipa + k * a.size);
    if (a.isWrite) {
      this.count(Stat.MmioWrite, a.ipa + k * a.size);
      const data = (BigInt(a.data[2 * k + 1] >>> 0) << 32n) | BigInt(a.data[2 * k] >>> 0);
      this.exit = { reason: 'mmio', addr, size: a.size as 1 | 2 | 4 | 8, isWrite: true, data };
      this.mmioState = MmioState.AwaitWrite;
    } else {
      this.count(Stat.MmioRead, a.ipa + k * a.size);
      this.exit = { reason: 'mmio', addr, size: a.size as 1 | 2 | 4 | 8, isWrite: false, data: 0n };
      this.mmioState = MmioState.AwaitRead;
      this.mmioCompleted = false;
    }
    return Slice.Exit;
  }

  /** Next run after an 'mmio' exit: the next element, or the end of the instruction. */
  private continueMmio(): Slice {
    const a = this.mmio;
    if (this.mmioState === MmioState.AwaitRead && !this.mmioCompleted) {
      throw new HypError(`vCPU ${this.index}: the MMIO read of ${a.size} bytes at 0x${(a.ipa + a.index * a.size).toString(16)} was not completed: call completeMmio(value) (or failMmio()) before running again`);
    }
    this.mmioState = MmioState.None;
    a.index++;
    if (a.index < a.count) return this.mmioExit();
    this.finishMmio();
    return Slice.Continue;
  }

  /** Completes the emulated instruction: loaded registers (Rt2 then Rt), base writeback, PC + 4. */
  private finishMmio(): void {
    const a = this.mmio;
    const pe = this.pe;
    if (!a.isWrite) {
      if (a.count === 2) writeLoadResult(a, pe.x, 1);
      writeLoadResult(a, pe.x, 0);
    }
    if (a.wb >= 0) {
      if (a.wb === 31) {
        const b = this.guestSpBankIndex();
        pe.spBank[2 * b] = a.wbLo;
        pe.spBank[2 * b + 1] = a.wbHi;
      } else {
        pe.x[2 * a.wb] = a.wbLo;
        pe.x[2 * a.wb + 1] = a.wbHi;
      }
    }
    this.advancePc();
  }

  // ---- System register traps ------------------------------------------------------

  private handleSysreg(esr: number): Slice {
    const pe = this.pe;
    const read = (esr & 1) === 1;
    const rt = (esr >>> 5) & 31;
    const crm = (esr >>> 1) & 15, crn = (esr >>> 10) & 15, op1 = (esr >>> 14) & 7, op2 = (esr >>> 17) & 7, op0 = (esr >>> 20) & 3;
    const key = sysregKey(op0, op1, crn, crm, op2);
    const x = pe.x;
    if (op0 === 3 && op1 === 0 && crn === 0 && crm >= 1) {
      // HCR_EL2.TID3: the ID registers of the VM's configured feature set (unnamed encodings read as zero).
      if (!read) return this.undef();
      this.count(Stat.IdReg);
      const info = SYSREG_BY_KEY.get(key);
      const v = info !== undefined ? this.vm.config.idRegs[info.name] : undefined;
      if (rt !== 31) {
        x[2 * rt] = v !== undefined ? v[0] : 0;
        x[2 * rt + 1] = v !== undefined ? v[1] : 0;
      }
      this.advancePc();
      return Slice.Continue;
    }
    if (key === KEY_ICC_SGI1R || key === KEY_ICC_ASGI1R || key === KEY_ICC_SGI0R) {
      const gic = this.vm.gic;
      if (read || gic === null) return this.undef();
      this.count(Stat.Sgi);
      // The guest is Non-secure with only Group 1: SGI1R generates SGIs; ASGI1R/SGI0R writes are ignored.
      if (key === KEY_ICC_SGI1R) gic.sendSgi(this.index, rt === 31 ? 0n : pe.getX(rt));
      this.advancePc();
      return Slice.Continue;
    }
    if (op0 === 1 && op1 === 0 && crn === 7 && (crm === 6 || crm === 10 || crm === 14) && op2 === 2) {
      // DC ISW/CSW/CISW (HCR_EL2.TSW): caches are not modelled, so set/way maintenance has nothing to do.
      this.count(Stat.SetWay);
      this.advancePc();
      return Slice.Continue;
    }
    // Registers trapped for other reasons (HCR_EL2.TACR, MDCR_EL2.TDE...): perform the access as the PE would untrapped.
    const spec = sysregSpec(key);
    const info = SYSREG_BY_KEY.get(key);
    if (spec !== undefined && (op1 !== 4 && op1 !== 6)) {
      if (read && spec.read !== null) {
        const d = rt === 31 ? 2 * 33 : 2 * rt;
        if (spec.read !== undefined) spec.read(pe, d);
        else if (info !== undefined) {
          x[d] = pe.sr[2 * info.id];
          x[d + 1] = pe.sr[2 * info.id + 1];
        }
        this.advancePc();
        return Slice.Continue;
      }
      if (!read && spec.write !== null) {
        const lo = rt === 31 ? 0 : x[2 * rt], hi = rt === 31 ? 0 : x[2 * rt + 1];
        if (spec.write !== undefined) spec.write(pe, lo, hi);
        else if (info !== undefined) pe.setSr(info.id, lo, hi);
        this.advancePc();
        return Slice.Continue;
      }
    }
    return this.undef();
  }

  private undef(): Slice {
    this.count(Stat.UndefInjected);
    injectUndefined(this.pe);
    return Slice.Continue;
  }
}

