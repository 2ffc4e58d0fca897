/**
 * A virtual machine: its memory slots, stage-2 tables and VMID, its vCPUs
 * (one host PE each), the PSCI state shared by its vCPUs, the optional vGIC,
 * and the round-robin scheduler (vm.run) that runs its vCPUs on the host
 * thread.
 *
 * Sharing between vCPUs is explicit and confined to this object: the slot
 * list, the stage-2 tables (mapped under this object's control), the power
 * states PSCI reads, and the system event. A vCPU touches another vCPU only
 * through CPU_ON (powerOn), kick and the clock alignment of the scheduler:
 * the seams where messages would go if vCPUs moved to worker threads.
 */
import { PE } from '../cpu/pe.js';
import type { RamRegion } from '../cpu/bus.js';
import { setTlbiDomain, tlbiIpaS2E1, tlbiVmallE1 } from '../cpu/mmu/tlbi.js';
import type { VirtualGic } from './vgic/types.js';
import { HypError } from './errors.js';
import type { VmConfig } from './attrs.js';
import { Stage2, S2_READ, S2_RWX, S2_EXEC, vtcrValue } from './mm/stage2.js';
import { Exit, HALTED, PREEMPTED, STAT_NAMES, StatName, SystemEventExit } from './exits.js';
import { PowerState, PsciVm } from './psci.js';
import { Slice, Vcpu, VcpuFeatures } from './vcpu.js';
import type { Hypervisor } from './hypervisor.js';
import { Reg } from './regs.js';
import { sr } from '../arch/sysregs.js';

const SR_VMPIDR = sr('VMPIDR_EL2');

const GIB = 1 << 30;
const MIB2 = 1 << 21;
const PAGE = 4096;

/** A memory slot as the VMM describes it. */
export interface MemoryRegion {
  /** Guest physical address (4 KiB aligned). */
  readonly gpa: number;
  /** Size in bytes (a multiple of 4 KiB); the backing buffer must be exactly this long. Default: memory.length. */
  readonly size?: number;
  /** The backing memory, owned by the VMM (which may read and write it; see writeMemory for code it changes). */
  readonly memory: Uint8Array;
  /** Guest writes fault to the VMM as 'mmio' write exits. */
  readonly readonly?: boolean;
  /** Map the whole slot in stage 2 now instead of on first touch. */
  readonly populate?: boolean;
}

/** A memory slot as the VM holds it. */
export interface MemSlot {
  readonly slot: number;
  readonly gpa: number;
  readonly size: number;
  readonly readonly: boolean;
  /** Host physical address of the backing buffer on the host bus. */
  readonly hpa: number;
  readonly memory: Uint8Array;
  readonly region: RamRegion;
}

export type VmRunResult = { readonly vcpu: Vcpu | null; readonly exit: Exit };

export class Vm {
  readonly stage2: Stage2;
  readonly vtcr: number;
  readonly vcpus: Vcpu[] = [];
  /** The slots, sorted by gpa. */
  private slots: MemSlot[] = [];
  gic: VirtualGic | null = null;
  /** The system event (SYSTEM_OFF/SYSTEM_RESET) once raised, and by whom. */
  event: SystemEventExit | null = null;
  eventVcpu: Vcpu | null = null;
  /** CNTVOFF_EL2 of every vCPU (so that all agree on the virtual count). */
  readonly cntvoffLo = 0;
  readonly cntvoffHi = 0;
  /** 2^ipaBits. */
  readonly ipaLimit: number;
  readonly forwardCount: number;
  private readonly forwardRanges: Float64Array;
  private rr = 0;
  private destroyed = false;
  private tlbiCount = 0;
  readonly psciView: PsciVm;

  constructor(readonly hv: Hypervisor, readonly id: number, readonly vmid: number, readonly config: VmConfig) {
    this.stage2 = new Stage2(hv.pool, config.ipaBits, vmid);
    this.vtcr = vtcrValue(this.stage2.geom, hv.features.paBits, hv.vmidBits === 16);
    this.ipaLimit = 2 ** config.ipaBits;
    this.forwardCount = config.forward.length;
    this.forwardRanges = new Float64Array(config.forward.flat());
    const irq = config.irqchip;
    if (irq !== null) this.setIrqchip(typeof irq.gic === 'function' ? irq.gic({ vcpus: config.vcpus }) : irq.gic);
    const vm = this;
    this.psciView = {
      get vcpuCount() { return vm.vcpus.length; },
      mpidrLo: (i) => vm.vcpus[i].pe.getSrLo(SR_VMPIDR) & 0xffffff,
      mpidrHi: (i) => vm.vcpus[i].pe.getSrHi(SR_VMPIDR) & 0xff,
      powerState: (i) => vm.vcpus[i].power,
      cpuOn: (i, eLo, eHi, cLo, cHi) => {
        const v = vm.vcpus[i];
        v.powerOn(eLo, eHi, cLo, cHi);
        vm.catchUpClock(v);
      },
    };
  }

  // ---- Configuration ------------------------------------------------------------

  /** Installs the in-kernel interrupt controller (before the vCPUs first run). */
  setIrqchip(gic: VirtualGic): void {
    if (this.gic !== null) throw new HypError('this VM already has an irqchip');
    if (gic === null || typeof gic !== 'object' || typeof gic.flush !== 'function') throw new HypError('setIrqchip: not a VirtualGic');
    this.gic = gic;
    gic.onKick = (i) => this.vcpus[i]?.kick();
    for (const v of this.vcpus) v.attachIrqchip(gic);
  }

  /** Drives an interrupt line of the vGIC (an SPI of a device, or a PPI of vCPU `vcpu`). */
  setIrqLevel(intid: number, level: boolean, vcpu?: number): void {
    if (this.gic === null) throw new HypError('setIrqLevel: this VM has no irqchip (see the irqchip attribute, or vcpu.setVirtualIrq)');
    this.gic.setIrqLevel(intid, level, vcpu);
  }

  /** Whether HVC/SMC function `fn` goes to the VMM. */
  forwards(fn: number): boolean {
    const r = this.forwardRanges;
    for (let i = 0; i < r.length; i += 2) if (fn >= r[i] && fn <= r[i + 1]) return true;
    return false;
  }

  /** Whether an access to `ipa` outside memory may go to the VMM ('mmio-ranges' attribute). */
  mmioAllowed(ipa: number): boolean {
    const ranges = this.config.mmioRanges;
    if (ranges === null) return true;
    for (const r of ranges) if (ipa >= r.gpa && ipa < r.gpa + r.size) return true;
    return false;
  }

  // ---- vCPUs ------------------------------------------------------------------

  createVcpu(features: VcpuFeatures = {}): Vcpu {
    this.checkAlive();
    if (features === null || typeof features !== 'object') throw new HypError('createVcpu: features must be an object');
    for (const k of Object.keys(features)) if (k !== 'poweredOff') throw new HypError(`createVcpu: unknown vCPU feature '${k}' (known: poweredOff)`);
    if (features.poweredOff !== undefined && typeof features.poweredOff !== 'boolean') throw new HypError('createVcpu: poweredOff must be a boolean');
    const index = this.vcpus.length;
    if (index >= this.config.vcpus) throw new HypError(`createVcpu: this VM was created for ${this.config.vcpus} vCPU(s) (the 'vcpus' attribute)`);
    const pe = new PE(this.hv.bus, this.config.features);
    const v = new Vcpu(this, index, pe, features);
    this.vcpus.push(v);
    if (this.gic !== null) v.attachIrqchip(this.gic);
    // TLBI ... IS by a vCPU reaches the other vCPUs of this VM (the Inner Shareable domain).
    setTlbiDomain(this.vcpus.map((c) => c.pe));
    this.catchUpClock(v);
    return v;
  }

  // ---- Memory ---------------------------------------------------------------------

  /**
   * Adds, replaces (same slot number) or, with `null`, removes memory slot
   * `slot`. The backing buffer is placed on the host bus at a host physical
   * address L0 chooses (congruent with gpa modulo 1 GiB, so that block
   * mappings are possible) and mapped in stage 2 on first touch (or now,
   * with populate). Removal unmaps it from stage 2 and invalidates the TLBs
   * of every vCPU by VMID/IPA. Overlapping another slot is refused.
   */
  setMemoryRegion(slot: number, region: MemoryRegion | null): void {
    this.checkAlive();
    if (!Number.isInteger(slot) || slot < 0 || slot > 0xffff) throw new HypError(`setMemoryRegion: slot ${String(slot)} is not an integer in 0..65535`);
    if (region === null || region.size === 0) {
      const old = this.slots.find((s) => s.slot === slot);
      if (old === undefined) throw new HypError(`setMemoryRegion: slot ${slot} does not exist`);
      this.removeSlot(old);
      return;
    }
    if (typeof region !== 'object') throw new HypError('setMemoryRegion: region must be { gpa, size?, memory, readonly? } or null');
    const { gpa, memory } = region;
    if (!(memory instanceof Uint8Array)) throw new HypError('setMemoryRegion: memory must be a Uint8Array');
    const size = region.size ?? memory.length;
    if (!Number.isSafeInteger(gpa) || gpa < 0 || gpa % PAGE !== 0) throw new HypError(`setMemoryRegion: gpa ${String(gpa)} is not a 4 KiB aligned guest physical address`);
    if (!Number.isSafeInteger(size) || size <= 0 || size % PAGE !== 0) throw new HypError(`setMemoryRegion: size ${String(size)} is not a positive multiple of 4 KiB`);
    if (memory.length !== size) throw new HypError(`setMemoryRegion: the buffer is ${memory.length} bytes but the slot is ${size}`);
    if (gpa + size > this.ipaLimit) throw new HypError(`setMemoryRegion: 0x${gpa.toString(16)}+0x${size.toString(16)} does not fit the ${this.config.ipaBits}-bit IPA space`);
    for (const s of this.slots) {
      if (s.slot !== slot && gpa < s.gpa + s.size && s.gpa < gpa + size) {
        throw new HypError(`setMemoryRegion: slot ${slot} at 0x${gpa.toString(16)}+0x${size.toString(16)} overlaps slot ${s.slot} at 0x${s.gpa.toString(16)}+0x${s.size.toString(16)}`);
      }
    }
    const g = this.gic;
    if (g !== null && (g.handlesMmio(gpa) || g.handlesMmio(gpa + size - 1))) throw new HypError(`setMemoryRegion: slot ${slot} overlaps the vGIC`);
    const old = this.slots.find((s) => s.slot === slot);
    if (old !== undefined) this.removeSlot(old);
    const hpa = this.hv.allocHostRange(size, gpa);
    let ram: RamRegion;
    try {
      ram = this.hv.bus.addRam(hpa, memory);
    } catch (e) {
      this.hv.freeHostRange(hpa);
      throw new HypError(`setMemoryRegion: ${(e as Error).message}`);
    }
    const s: MemSlot = { slot, gpa, size, readonly: region.readonly === true, hpa, memory, region: ram };
    this.slots.push(s);
    this.slots.sort((a, b) => a.gpa - b.gpa);
    if (region.populate) this.stage2.mapRange(gpa, hpa, size, s.readonly ? S2_READ | S2_EXEC : S2_RWX);
  }

  private removeSlot(s: MemSlot): void {
    this.slots = this.slots.filter((x) => x !== s);
    this.stage2.unmap(s.gpa, s.size);
    this.invalidateIpa(s.gpa, s.size);
    this.hv.bus.removeRam(s.region);
    // Decoded code from the old backing must not survive into whatever is placed at that host address later.
    this.hv.bus.invalidateCode(s.hpa, s.size);
    this.hv.freeHostRange(s.hpa);
  }

  /** The memory slots (sorted by gpa). */
  memorySlots(): readonly MemSlot[] {
    return this.slots;
  }

  /** The slot holding `ipa`, or null. */
  findSlot(ipa: number): MemSlot | null {
    const sl = this.slots;
    for (let i = 0; i < sl.length; i++) {
      const s = sl[i];
      if (ipa >= s.gpa && ipa < s.gpa + s.size) return s;
    }
    return null;
  }

  /**
   * Maps the page or block around `ipa` of `slot` (a stage-2 translation
   * fault): the largest of 1 GiB, 2 MiB, 4 KiB that lies inside the slot and
   * whose host address is aligned like its IPA.
   */
  mapFault(slot: MemSlot, ipa: number): void {
    const prot = slot.readonly ? S2_READ | S2_EXEC : S2_RWX;
    const delta = slot.hpa - slot.gpa;
    const st = this.stage2;
    for (const size of [GIB, MIB2]) {
      const shift = size === GIB ? 30 : 21;
      if (!st.blockAllowed(shift) || delta % size !== 0) continue;
      const base = ipa - (ipa % size);
      if (base < slot.gpa || base + size > slot.gpa + slot.size) continue;
      if (st.map(base, base + delta, shift, prot)) return;
      break; // something smaller is mapped there already: fall back to the page
    }
    const page = ipa - (ipa % PAGE);
    st.map(page, page + delta, 12, prot);
  }

  /** Drops the stage-2 mapping of the page holding `ipa` (it is mapped again on the next fault). */
  unmapIpaPage(ipa: number): void {
    const page = ipa - (ipa % PAGE);
    this.stage2.unmap(page, PAGE);
    this.invalidateIpa(page, PAGE);
  }

  /**
   * TLB maintenance after a stage-2 change, on every PE of the VM: TLBI
   * IPAS2E1 for the range, then TLBI VMALLE1 for the combined stage-1+2
   * entries (the sequence KVM's __kvm_tlb_flush_vmid_ipa issues).
   */
  private invalidateIpa(ipa: number, _size: number): void {
    this.tlbiCount++;
    const page = Math.floor(ipa / PAGE);
    const lo = page % 4294967296 | 0, hi = Math.floor(page / 4294967296) | 0;
    for (const v of this.vcpus) {
      tlbiIpaS2E1(v.pe, lo, hi, false);
      tlbiVmallE1(v.pe, false);
    }
  }

  /**
   * Copies `data` into guest memory at `gpa` (which must lie in slots) and
   * drops any decoded code it overwrites. A VMM that writes into a slot's
   * buffer directly after the guest ran code from it must use this (or
   * notifyWrite) so that no vCPU runs stale code.
   */
  writeMemory(gpa: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const s = this.findSlot(gpa + done);
      if (s === null) throw new HypError(`writeMemory: 0x${(gpa + done).toString(16)} is not guest memory`);
      const off = gpa + done - s.gpa;
      const n = Math.min(data.length - done, s.size - off);
      s.memory.set(data.subarray(done, done + n), off);
      this.hv.bus.invalidateCode(s.hpa + off, n);
      done += n;
    }
  }

  /** Reads guest memory at `gpa` (which must lie in slots). */
  readMemory(gpa: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const s = this.findSlot(gpa + done);
      if (s === null) throw new HypError(`readMemory: 0x${(gpa + done).toString(16)} is not guest memory`);
      const off = gpa + done - s.gpa;
      const n = Math.min(len - done, s.size - off);
      out.set(s.memory.subarray(off, off + n), done);
      done += n;
    }
    return out;
  }

  /** Tells L0 the VMM wrote [gpa, gpa+len) of a slot's buffer itself (drops decoded code there). */
  notifyWrite(gpa: number, len: number): void {
    for (const s of this.slots) {
      const a = Math.max(gpa, s.gpa), b = Math.min(gpa + len, s.gpa + s.size);
      if (a < b) this.hv.bus.invalidateCode(s.hpa + (a - s.gpa), b - a);
    }
  }

  // ---- Events -------------------------------------------------------------------

  raiseEvent(e: SystemEventExit, by: Vcpu): void {
    if (this.event === null) {
      this.event = e;
      this.eventVcpu = by;
    }
  }

  /** Clears a SYSTEM_RESET/SYSTEM_OFF event and resets every vCPU (vCPU 0 on at `entry`, the others off), for a VMM that reboots in place. */
  reset(entry: bigint): void {
    this.event = null;
    this.eventVcpu = null;
    for (const v of this.vcpus) {
      v.resetArch();
      v.power = v.index === 0 ? PowerState.On : PowerState.Off;
    }
    if (this.vcpus.length > 0) this.vcpus[0].setReg(Reg.PC, entry);
  }

  // ---- Scheduling ------------------------------------------------------------------

  /**
   * Runs the runnable vCPUs round robin, `quantum` instructions at a time,
   * until one has an exit for the VMM (returned with its vCPU), the budget
   * is spent ('preempted'), or every vCPU is off or waits with nothing that
   * can wake it ('halted'). When every vCPU sleeps, virtual time skips to the
   * next timer deadline. After each round the vCPUs' counters are brought
   * to the latest of them, so that all vCPUs agree on time.
   */
  run(opts: { budget?: number; idleSleep?: boolean } = {}): VmRunResult {
    this.checkAlive();
    if (this.event !== null) return { vcpu: this.eventVcpu, exit: this.event };
    const n = this.vcpus.length;
    if (n === 0) throw new HypError('vm.run: the VM has no vCPUs');
    let budget = opts.budget ?? 10_000_000;
    const q = this.config.quantum;
    for (;;) {
      let progress = false;
      for (let k = 0; k < n; k++) {
        const i = (this.rr + k) % n;
        const v = this.vcpus[i];
        const before = v.pe.icount;
        const c = v.runSlice(Math.max(1, Math.min(q, budget)));
        const used = v.pe.icount - before;
        budget -= used;
        if (c === Slice.Exit) {
          this.rr = (i + 1) % n;
          return { vcpu: v, exit: v.exit };
        }
        if (used > 0 || c === Slice.Preempted || c === Slice.Yield) progress = true;
      }
      this.alignClocks();
      if (!progress) {
        // Everyone is asleep or off: let time pass to the next timer deadline, or report that nothing can wake them.
        let ticks = Infinity;
        let sleepers = false;
        for (const v of this.vcpus) {
          if (v.power !== PowerState.On) continue;
          sleepers = true;
          if (v.wakeup()) {
            ticks = 0;
            break;
          }
          ticks = Math.min(ticks, v.pe.timer.ticksUntilNextDeadline());
        }
        if (!sleepers || ticks === Infinity) return { vcpu: null, exit: HALTED };
        if (ticks > 0 && opts.idleSleep) return { vcpu: null, exit: { reason: 'idle', ticks } };
        if (ticks > 0) this.advanceTime(ticks);
      }
      if (budget <= 0) return { vcpu: null, exit: PREEMPTED };
    }
  }

  /** Lets `ticks` counter ticks of virtual time pass on every vCPU (while they sleep). */
  advanceTime(ticks: number): void {
    for (const v of this.vcpus) v.pe.timer.skipTicks(ticks);
  }

  /** Brings every vCPU's counter up to the latest one (time never goes back). */
  private alignClocks(): void {
    let max = 0;
    for (const v of this.vcpus) max = Math.max(max, v.pe.timer.physicalCount());
    for (const v of this.vcpus) {
      const d = max - v.pe.timer.physicalCount();
      if (d > 0) v.pe.timer.skipTicks(d);
    }
  }

  /** A vCPU joining (created or powered on) starts at the VM's current time. */
  catchUpClock(v: Vcpu): void {
    let max = 0;
    for (const o of this.vcpus) if (o !== v) max = Math.max(max, o.pe.timer.physicalCount());
    const d = max - v.pe.timer.physicalCount();
    if (d > 0) v.pe.timer.skipTicks(d);
  }

  // ---- Statistics ---------------------------------------------------------------------

  /** Totals of the vCPUs' exit statistics, plus the VM's own (stage 2, TLB maintenance). */
  stats(): Record<StatName, number> & { 'stage2-tables': number; 'stage2-pages-4k': number; 'stage2-blocks-2m': number; 'stage2-blocks-1g': number; 'tlbi': number; slots: number } {
    const sum = new Float64Array(STAT_NAMES.length);
    for (const v of this.vcpus) {
      const r = v.rawStats;
      for (let i = 0; i < sum.length; i++) sum[i] += r[i];
    }
    const out: Record<string, number> = {};
    STAT_NAMES.forEach((name, i) => (out[name] = sum[i]));
    const c = this.stage2.counters;
    out['stage2-tables'] = c.tables;
    out['stage2-pages-4k'] = c.pages4k;
    out['stage2-blocks-2m'] = c.blocks2m;
    out['stage2-blocks-1g'] = c.blocks1g;
    out.tlbi = this.tlbiCount;
    out.slots = this.slots.length;
    return out as ReturnType<Vm['stats']>;
  }

  // ---- Teardown ------------------------------------------------------------------------

  /** Frees everything the VM holds: slots (off the host bus), stage-2 tables, VMID. */
  destroy(): void {
    if (this.destroyed) return;
    for (const s of [...this.slots]) this.removeSlot(s);
    this.stage2.destroy();
    this.destroyed = true;
    this.hv.vmDestroyed(this);
  }

  private checkAlive(): void {
    if (this.destroyed) throw new HypError(`VM ${this.id} has been destroyed`);
  }
}

