/**
 * The virtual GICv3 of a VM (L0's emulation of the distributor and the
 * redistributors, and the list-register management that feeds the PE's
 * virtual CPU interface), after KVM's vgic (arch/arm64/kvm/vgic/).
 *
 * What the guest sees (GIC architecture IHI 0069):
 *  - a distributor at `distBase` (64 KiB) with affinity routing always on and
 *    a single Security state (GICD_CTLR.ARE = DS = 1, RAO/WI): GICD_CTLR
 *    (EnableGrp0, EnableGrp1), TYPER (ITLinesNumber for the SPIs, CPUNumber,
 *    IDbits = 10, A3V, No1N), IIDR, TYPER2, and per SPI IGROUPR,
 *    IS/ICENABLER, IS/ICPENDR, IS/ICACTIVER, IPRIORITYR (byte accessible),
 *    ICFGR, IROUTER (64-bit); IGRPMODR, NSACR, ITARGETSR, SGIR and the
 *    registers of INTIDs 0-31 are RAZ/WI as the architecture says for
 *    ARE = DS = 1; ID registers with PIDR2.ArchRev = 3;
 *  - one redistributor per vCPU at redistBase + 0x20000 * vcpu: the RD frame
 *    (GICR_CTLR, IIDR, TYPER with Processor_Number, affinity and Last, WAKER
 *    with ProcessorSleep / ChildrenAsleep, PIDR2) and the SGI frame at
 *    +64 KiB (IGROUPR0, IS/ICENABLER0, IS/ICPENDR0, IS/ICACTIVER0,
 *    IPRIORITYR0-7, ICFGR0 (SGIs: edge, read-only), ICFGR1 (PPIs)).
 *  Unimplemented or reserved registers read as zero and ignore writes.
 *
 * Interrupt state (per INTID, private ones per vCPU): enable, group,
 * priority (8 bits stored; the CPU interface implements 5), edge/level,
 * the pending latch (edges, ISPENDR, SGIs), the input level, active, and
 * for SPIs the IROUTER affinity. An interrupt is pending when its latch is
 * set or, level-sensitive, its input is high.
 *
 * Around each guest entry (the VirtualGic contract):
 *  - flush(): the interrupts a vCPU could take (pending, enabled, group
 *    enabled) and those active on it, active ones first then by priority,
 *    go into ICH_LR<n>_EL2; if more are waiting than there are list
 *    registers, ICH_HCR_EL2.UIE asks for an underflow maintenance interrupt
 *    so that L0 gets back control to refill. Level-sensitive interrupts
 *    without a hardware mapping ask for an EOI maintenance interrupt (LR.EOI)
 *    so that their input is resampled when the guest deactivates them;
 *  - sync(): the list registers' state is folded back (KVM's
 *    vgic_v3_fold_lr_state): active, and the pending state of edge and
 *    hardware interrupts that the guest has not acknowledged yet.
 *
 * Hardware-mapped interrupts (`mapHw`, used by `attachVcpu` for the EL1
 * virtual and physical timers, PPIs 27 and 30): the source is a line L0
 * sees as a physical interrupt. When L0 injects it (flush) it "acknowledges"
 * the physical interrupt, which then stays active — masked — while the guest
 * handles the virtual one in an LR with HW = 1, pINTID = the source. The
 * guest's deactivation deactivates the physical interrupt too (the PE calls
 * pe.gicHwDeactivate), and L0 re-evaluates the source: still asserted, it is
 * a new physical interrupt. An asserted, unmasked source, and the
 * maintenance interrupt, raise the PE's physical IRQ (pe.irqLine), which
 * HCR_EL2.IMO routes to EL2: the guest exits and L0 flushes again.
 */
import type { PE } from '../../cpu/pe.js';
import { TimerId } from '../../cpu/timer.js';
import { sr } from '../../arch/sysregs.js';
import {
  NUM_LRS, LR_STATE_PENDING, LR_STATE_ACTIVE, LR_HW, LR_GROUP, LR_EOI, LR_PINTID_MASK, HCR_EN, HCR_UIE, HCR_TC, HCR_TALL0, HCR_TALL1,
  HCR_TSEI, HCR_TDIR, PRIO_MASK, VMCR_VENG0, VMCR_VENG1, VMCR_VPMR_SHIFT,
} from '../../cpu/gic/regs.js';
import type { VirtualGic } from './types.js';

export const GICD_BASE = 0x0800_0000;
export const GICD_SIZE = 0x1_0000;
export const GICR_BASE = 0x080a_0000;
export const GICR_STRIDE = 0x2_0000;

/** PPIs of the virt board. */
export const PPI_MAINTENANCE = 25;
export const PPI_VIRT_TIMER = 27;
export const PPI_PHYS_TIMER = 30;

export interface VGicOptions {
  /** Number of vCPUs (redistributors). */
  readonly vcpus: number;
  /** Number of SPIs (INTIDs 32 .. 32+spis-1), a multiple of 32, at most 988; default 256 (as QEMU's virt). */
  readonly spis?: number;
  readonly distBase?: number;
  readonly redistBase?: number;
  /**
   * The affinity of vCPU n as MPIDR_EL1 reports it, packed Aff3:Aff2:Aff1:Aff0
   * in bits 31:0; default KVM's layout (Aff0 = n mod 16, Aff1 = n / 16).
   */
  readonly affinity?: (vcpu: number) => number;
}

export interface AttachOptions {
  /** Map the EL1 physical timer (PPI 30) as a hardware interrupt too (default true; the virtual timer, PPI 27, always is). */
  readonly mapPhysTimer?: boolean;
}

/** KVM's vCPU affinity: Aff0 = n & 15, Aff1 = (n >> 4) & 0xff, Aff2 = (n >> 12) & 0xff. */
export function defaultAffinity(n: number): number {
  return ((n & 15) | (((n >> 4) & 0xff) << 8) | (((n >> 12) & 0xff) << 16)) >>> 0;
}

const IIDR = 0x4e00043b; // Implementer Arm (0x43B), ProductID 'N'
const PIDR2 = 0x3b; // ArchRev 3 (GICv3), JEP106 bits
/** Peripheral and component ID registers at 0xFFD0..0xFFFC (PIDR4-7, PIDR0-3, CIDR0-3). */
const ID_REGS = [0x44, 0, 0, 0, 0x92, 0xb4, PIDR2, 0, 0x0d, 0xf0, 0x05, 0xb1];

const SR_ICH_HCR = sr('ICH_HCR_EL2');
const SR_LR: readonly number[] = Array.from({ length: NUM_LRS }, (_, n) => sr(`ICH_LR${n}_EL2`));
/** ICH_HCR_EL2 bits L0 may have set for its own reasons (trap controls) that flush keeps. */
const HCR_KEEP = HCR_TC | HCR_TALL0 | HCR_TALL1 | HCR_TSEI | HCR_TDIR;

/** A hardware mapping: the virtual interrupt's source is physical interrupt `pintid`; `resample` reads the source's level now. */
interface HwMap {
  readonly slot: number;
  readonly vcpu: number;
  readonly intid: number;
  readonly pintid: number;
  readonly resample: (() => boolean) | null;
}

export class VGicV3 implements VirtualGic {
  readonly distBase: number;
  readonly redistBase: number;
  readonly nrVcpus: number;
  readonly nrSpis: number;
  onKick: ((vcpu: number) => void) | null = null;

  // Per interrupt, indexed by slot(): private ones (32 per vCPU) then the SPIs.
  private readonly enabled: Uint8Array;
  private readonly group: Uint8Array;
  private readonly priority: Uint8Array;
  private readonly edge: Uint8Array;
  private readonly pendLatch: Uint8Array;
  private readonly level: Uint8Array;
  private readonly active: Uint8Array;
  /** 1 for a hardware-mapped interrupt (see hw). */
  private readonly isHw: Uint8Array;
  /** For hardware-mapped interrupts: the physical interrupt is active (acknowledged by L0, deactivated by the guest). */
  private readonly physActive: Uint8Array;
  /** The vCPU whose list registers hold the interrupt, -1 if none. */
  private readonly owner: Int16Array;
  /** 1 where owner >= 0 (kept with setOwner), so that scans can skip idle interrupts four at a time. */
  private readonly owned: Uint8Array;
  /**
   * 32-bit views of pendLatch, level, active and owned: four interrupts per
   * word. flush() and hasPending() skip a word that is zero in all of them
   * (nothing pending, asserted, active or in a list register), so a vCPU
   * entry does not walk every SPI one by one.
   */
  private readonly pend32: Uint32Array;
  private readonly level32: Uint32Array;
  private readonly active32: Uint32Array;
  private readonly owned32: Uint32Array;
  /**
   * One bit per group of four slots (bit g & 31 of word g >> 5): set by mark()
   * whenever an interrupt of the group becomes pending, asserted, active or
   * owned, cleared by the scans when they find the group idle. A clear bit
   * means the group is idle, so a scan reads one bit per 4 interrupts and one
   * word per 128.
   */
  private readonly hint: Uint32Array;
  /** SPI routing (GICD_IROUTER<n>): Aff2:Aff1:Aff0 in bits 23:0, Aff3 in bits 31:24 (packed like `affinity`). */
  private readonly route: Uint32Array;

  private ctlr = 0; // GICD_CTLR.EnableGrp0 (bit 0), EnableGrp1 (bit 1)
  private readonly waker: Uint8Array; // GICR_WAKER.ProcessorSleep per vCPU
  private readonly affinity: (vcpu: number) => number;
  /** Slot in each of a vCPU's list registers after flush, -1 for none. */
  private readonly lrSlot: Int32Array;
  private readonly hw: HwMap[] = [];
  private readonly hwBySlot = new Map<number, HwMap>();
  private readonly pes: Array<PE | null>;
  /** vCPUs whose pe.irqLine this vGIC drives (attachVcpu). */
  private readonly ownsIrqLine: Uint8Array;

  /** Scratch for flush: candidate slots and their sort keys. */
  private cand = new Int32Array(64);
  private candKey = new Float64Array(64);

  constructor(opts: VGicOptions) {
    const n = opts.vcpus;
    if (!(n >= 1 && n <= 512)) throw new RangeError(`VGicV3: ${n} vCPUs`);
    const spis = opts.spis ?? 256;
    if (spis < 0 || spis > 988 || spis % 32 !== 0) throw new RangeError(`VGicV3: ${spis} SPIs (a multiple of 32, at most 988)`);
    this.nrVcpus = n;
    this.nrSpis = spis;
    this.distBase = opts.distBase ?? GICD_BASE;
    this.redistBase = opts.redistBase ?? GICR_BASE;
    this.affinity = opts.affinity ?? defaultAffinity;
    const total = 32 * n + spis;
    this.enabled = new Uint8Array(total);
    this.group = new Uint8Array(total);
    this.priority = new Uint8Array(total);
    this.edge = new Uint8Array(total);
    this.pendLatch = new Uint8Array(total);
    this.level = new Uint8Array(total);
    this.active = new Uint8Array(total);
    this.isHw = new Uint8Array(total);
    this.physActive = new Uint8Array(total);
    this.owner = new Int16Array(total);
    this.owned = new Uint8Array(total);
    // total = 32 * vcpus + spis is a multiple of 4 (spis is a multiple of 32), and so is every group's first slot.
    this.pend32 = new Uint32Array(this.pendLatch.buffer);
    this.level32 = new Uint32Array(this.level.buffer);
    this.active32 = new Uint32Array(this.active.buffer);
    this.owned32 = new Uint32Array(this.owned.buffer);
    this.hint = new Uint32Array(Math.ceil(total / 128));
    this.route = new Uint32Array(spis);
    this.waker = new Uint8Array(n);
    this.lrSlot = new Int32Array(n * NUM_LRS);
    this.pes = new Array<PE | null>(n).fill(null);
    this.ownsIrqLine = new Uint8Array(n);
    this.reset();
  }

  /** The reset state: everything disabled, Group 1 (as KVM's GICv3), priority 0, SGIs edge, PPIs and SPIs level, redistributors asleep. */
  reset(): void {
    this.ctlr = 0;
    this.enabled.fill(0);
    this.group.fill(1);
    this.priority.fill(0);
    this.edge.fill(0);
    this.pendLatch.fill(0);
    this.active.fill(0);
    this.physActive.fill(0);
    this.owner.fill(-1);
    this.owned.fill(0);
    this.hint.fill(0);
    this.route.fill(0);
    this.waker.fill(1);
    this.lrSlot.fill(-1);
    for (let v = 0; v < this.nrVcpus; v++) for (let i = 0; i < 16; i++) this.edge[32 * v + i] = 1;
  }

  // ---- Interrupt identities ---------------------------------------------------

  /** Slot of `intid` (for INTIDs 0-31, of `vcpu`'s private interrupts); -1 if not implemented. */
  slot(intid: number, vcpu = 0): number {
    if (intid < 32) return intid >= 0 && vcpu >= 0 && vcpu < this.nrVcpus ? 32 * vcpu + intid : -1;
    return intid < 32 + this.nrSpis ? 32 * this.nrVcpus + intid - 32 : -1;
  }
  private intidOf(s: number): number {
    const p = 32 * this.nrVcpus;
    return s < p ? s & 31 : s - p + 32;
  }
  /** The vCPU an interrupt goes to: its owner for a private one, the IROUTER target for an SPI (-1: none). */
  private target(s: number): number {
    const p = 32 * this.nrVcpus;
    if (s < p) return s >> 5;
    const aff = this.route[s - p];
    for (let v = 0; v < this.nrVcpus; v++) if (this.affinity(v) === aff) return v;
    return -1;
  }

  private pending(s: number): boolean {
    return this.pendLatch[s] !== 0 || (this.level[s] !== 0 && this.edge[s] === 0 && this.isHw[s] === 0);
  }
  private groupEnabled(s: number): boolean {
    return (this.ctlr & (this.group[s] ? 2 : 1)) !== 0;
  }
  /** Pending, enabled, and its group enabled in GICD_CTLR: the interrupt can be forwarded to a CPU interface. */
  private deliverable(s: number): boolean {
    return this.pending(s) && this.enabled[s] !== 0 && this.groupEnabled(s);
  }

  private setOwner(s: number, v: number): void {
    this.owner[s] = v;
    this.owned[s] = v >= 0 ? 1 : 0;
    if (v >= 0) this.mark(s);
  }
  /** Slot `s` may have become pending, asserted, active or owned: its group is no longer known idle. */
  private mark(s: number): void {
    this.hint[s >> 7] |= 1 << ((s >> 2) & 31);
  }
  /**
   * The first busy group of four slots at or after `s0` (a multiple of 4) and
   * before `end`: some interrupt in it is pending, asserted, active or in a
   * list register. Returns `end` if there is none.
   */
  private nextBusy4(s0: number, end: number): number {
    const p = this.pend32, l = this.level32, a = this.active32, o = this.owned32, h = this.hint;
    for (let g = s0 >> 2, ge = end >> 2; g < ge; g++) {
      const bits = h[g >> 5] >>> (g & 31);
      if (bits === 0) {
        g |= 31; // nothing marked in the rest of this hint word
        continue;
      }
      if ((bits & 1) === 0) continue;
      if ((p[g] | l[g] | a[g] | o[g]) !== 0) return g << 2;
      h[g >> 5] &= ~(1 << (g & 31));
    }
    return end;
  }
  /** The first group of four slots at or after `s0` and before `end` with a pending latch or an asserted input, or `end`. */
  private nextPending4(s0: number, end: number): number {
    const p = this.pend32, l = this.level32, h = this.hint;
    for (let g = s0 >> 2, ge = end >> 2; g < ge; g++) {
      const bits = h[g >> 5] >>> (g & 31);
      if (bits === 0) {
        g |= 31;
        continue;
      }
      if ((bits & 1) !== 0 && (p[g] | l[g]) !== 0) return g << 2;
    }
    return end;
  }

  private kick(v: number): void {
    if (v >= 0 && this.onKick !== null) this.onKick(v);
  }
  /** After a change that may have made `s` deliverable. */
  private changed(s: number): void {
    if (this.isHw[s]) this.updatePhysIrq(s >> 5);
    if (this.deliverable(s)) this.kick(this.owner[s] >= 0 ? this.owner[s] : this.target(s));
  }

  // ---- Inputs --------------------------------------------------------------------

  setIrqLevel(intid: number, level: boolean, vcpu = 0): void {
    const s = this.slot(intid, vcpu);
    if (s < 0) return;
    const l = level ? 1 : 0;
    // Edge-triggered: a rising input sets the pending latch. Level: the input is the pending state.
    if (this.edge[s] && !this.isHw[s] && l && !this.level[s]) this.pendLatch[s] = 1;
    this.level[s] = l;
    if (l) this.mark(s);
    this.changed(s);
  }

  /**
   * The guest wrote ICC_SGI1R_EL1 (`group` 1, the default; also ICC_ASGI1R_EL1)
   * or ICC_SGI0R_EL1 (`group` 0): INTID [27:24], TargetList [15:0] with
   * Aff1 [23:16], Aff2 [39:32], Aff3 [55:48], RS [47:44], or IRM [40] for
   * every PE but the sender. As a GIC with DS = 1, a Group 1 request
   * generates the SGI whatever its group, a Group 0 request only Group 0 SGIs.
   */
  sendSgi(fromVcpu: number, value: bigint, group = 1): void {
    const lo = Number(value & 0xffffffffn) >>> 0;
    const hi = Number((value >> 32n) & 0xffffffffn) >>> 0;
    const intid = (lo >>> 24) & 0xf;
    const list = lo & 0xffff;
    const irm = (hi >>> 8) & 1;
    const rs = (hi >>> 12) & 0xf;
    const upper = (((hi >>> 16) & 0xff) << 24) | ((hi & 0xff) << 16) | (((lo >>> 16) & 0xff) << 8);
    for (let v = 0; v < this.nrVcpus; v++) {
      if (irm) {
        if (v === fromVcpu) continue;
      } else {
        const aff = this.affinity(v);
        if ((aff & 0xffffff00) >>> 0 !== upper >>> 0) continue;
        const a0 = aff & 0xff;
        if (a0 >> 4 !== rs || (list & (1 << (a0 & 15))) === 0) continue;
      }
      const s = 32 * v + intid;
      if (group === 0 && this.group[s] !== 0) continue;
      this.pendLatch[s] = 1;
      this.mark(s);
      this.changed(s);
    }
  }

  // ---- Hardware mapping and the physical interrupt for L0 ----------------------------

  /**
   * Maps private interrupt `intid` of `vcpu` to physical interrupt `pintid`
   * (KVM's kvm_vgic_map_phys_irq): it is injected with HW = 1, and the
   * guest's deactivation re-evaluates the source with `resample` (or the last
   * level given to setIrqLevel).
   */
  mapHw(vcpu: number, intid: number, pintid: number, resample: (() => boolean) | null = null): void {
    const s = this.slot(intid, vcpu);
    if (s < 0 || intid >= 32) throw new RangeError(`mapHw: INTID ${intid} of vCPU ${vcpu}`);
    const m: HwMap = { slot: s, vcpu, intid, pintid: pintid & LR_PINTID_MASK, resample };
    const old = this.hwBySlot.get(s);
    if (old !== undefined) this.hw.splice(this.hw.indexOf(old), 1);
    this.hw.push(m);
    this.hwBySlot.set(s, m);
    this.isHw[s] = 1;
    this.updatePhysIrq(vcpu);
  }

  /**
   * Connects vCPU `vcpu`'s PE: its EL1 virtual timer output drives PPI 27
   * and its physical timer output PPI 30 (setIrqLevel), both hardware-mapped
   * (pINTID 27 and 30); the guest's deactivation of a HW interrupt comes back
   * through pe.gicHwDeactivate; and the vGIC drives pe.irqLine, the physical
   * IRQ L0 receives (routed to EL2 by HCR_EL2.IMO): an asserted timer not
   * yet injected, or the maintenance interrupt. Replaces pe.timer.onChange,
   * pe.gicHwDeactivate and pe.onMaintenance (earlier handlers are chained).
   */
  attachVcpu(vcpu: number, pe: PE, opts: AttachOptions = {}): void {
    this.bindPe(vcpu, pe);
    this.ownsIrqLine[vcpu] = 1;
    this.mapHw(vcpu, PPI_VIRT_TIMER, PPI_VIRT_TIMER, () => pe.timer.virtOutput);
    if (opts.mapPhysTimer ?? true) this.mapHw(vcpu, PPI_PHYS_TIMER, PPI_PHYS_TIMER, () => pe.timer.physOutput);
    const prev = pe.timer.onChange;
    pe.timer.onChange = (t, level) => {
      if (t === TimerId.Virt) this.setIrqLevel(PPI_VIRT_TIMER, level, vcpu);
      else if (t === TimerId.Phys) this.setIrqLevel(PPI_PHYS_TIMER, level, vcpu);
      if (prev !== null) prev(t, level);
    };
    this.setIrqLevel(PPI_VIRT_TIMER, pe.timer.virtOutput, vcpu);
    this.setIrqLevel(PPI_PHYS_TIMER, pe.timer.physOutput, vcpu);
    this.updatePhysIrq(vcpu);
  }

  /** Hooks the PE's deactivation and maintenance outputs (done by flush for a PE never attached). */
  private bindPe(vcpu: number, pe: PE): void {
    if (this.pes[vcpu] === pe) return;
    this.pes[vcpu] = pe;
    const prevDeact = pe.gicHwDeactivate;
    pe.gicHwDeactivate = (pintid) => {
      this.hwDeactivated(vcpu, pintid);
      if (prevDeact !== null) prevDeact(pintid);
    };
    const prevMaint = pe.onMaintenance;
    pe.onMaintenance = (level) => {
      this.maintenanceChanged(vcpu, level);
      if (prevMaint !== null) prevMaint(level);
    };
  }

  /** Whether hardware-mapped `m`'s physical interrupt is pending for L0: asserted, not active, and deliverable in the guest. */
  private physLine(m: HwMap): boolean {
    const s = m.slot;
    return this.level[s] !== 0 && this.physActive[s] === 0 && this.enabled[s] !== 0 && this.groupEnabled(s);
  }

  /** Whether L0 has a physical interrupt pending for `vcpu`: an asserted hardware-mapped source not yet injected, or the maintenance interrupt. */
  physIrqPending(vcpu: number): boolean {
    const pe = this.pes[vcpu];
    if (pe !== null && pe.maintenanceIrq) return true;
    for (const m of this.hw) if (m.vcpu === vcpu && this.physLine(m)) return true;
    return false;
  }

  /** Recomputes pe.irqLine of an attached vCPU. */
  private updatePhysIrq(vcpu: number): void {
    const pe = this.pes[vcpu];
    if (pe === null || !this.ownsIrqLine[vcpu]) return;
    const line = this.physIrqPending(vcpu);
    if (line !== pe.irqLine) {
      pe.irqLine = line;
      pe.irqCheck = true;
      if (line) this.kick(vcpu);
    }
  }

  private maintenanceChanged(vcpu: number, level: boolean): void {
    const pe = this.pes[vcpu];
    if (pe === null) return;
    if (this.ownsIrqLine[vcpu]) this.updatePhysIrq(vcpu);
    else if (level && !pe.irqLine) {
      // Not attached: raise the physical IRQ so that the guest exits; the hypervisor core lowers it.
      pe.irqLine = true;
      pe.irqCheck = true;
    }
  }

  /** The guest deactivated a HW = 1 interrupt: the physical interrupt is deactivated and its source re-evaluated. */
  private hwDeactivated(vcpu: number, pintid: number): void {
    for (const m of this.hw) {
      if (m.vcpu !== vcpu || m.pintid !== pintid) continue;
      const s = m.slot;
      this.physActive[s] = 0;
      this.active[s] = 0;
      if (m.resample !== null) this.level[s] = m.resample() ? 1 : 0;
      this.mark(s);
      this.updatePhysIrq(vcpu);
      if (this.physLine(m)) this.kick(vcpu);
    }
  }

  // ---- List registers ---------------------------------------------------------------

  private considerCandidate(s: number, v: number, n: number): number {
    const act = this.active[s] !== 0;
    if (!act && !this.deliverable(s)) {
      if (this.owner[s] === v) this.setOwner(s, -1);
      return n;
    }
    if (n === this.cand.length) {
      const c = new Int32Array(2 * n), k = new Float64Array(2 * n);
      c.set(this.cand);
      k.set(this.candKey);
      this.cand = c;
      this.candKey = k;
    }
    this.cand[n] = s;
    // Active first (KVM's vgic_sort_ap_list), then priority, then INTID.
    this.candKey[n] = (act ? 0 : 1 << 20) + this.priority[s] * 2048 + this.intidOf(s);
    return n + 1;
  }

  flush(vcpu: number, pe: PE): void {
    this.bindPe(vcpu, pe);
    // L0 acknowledges the asserted hardware-mapped sources: the physical interrupt becomes active, the virtual one pending.
    for (const m of this.hw) {
      if (m.vcpu === vcpu && this.physLine(m)) {
        this.physActive[m.slot] = 1;
        this.pendLatch[m.slot] = 1;
        this.mark(m.slot);
      }
    }
    // Groups of four idle interrupts (see nextBusy4) would not be candidates: skipped.
    let n = 0;
    const base = 32 * vcpu;
    for (let s0 = this.nextBusy4(base, base + 32); s0 < base + 32; s0 = this.nextBusy4(s0 + 4, base + 32)) {
      for (let s = s0; s < s0 + 4; s++) n = this.considerCandidate(s, vcpu, n);
    }
    const p = 32 * this.nrVcpus;
    const end = p + this.nrSpis;
    for (let s0 = this.nextBusy4(p, end); s0 < end; s0 = this.nextBusy4(s0 + 4, end)) {
      for (let s = s0; s < s0 + 4; s++) {
        const o = this.owner[s];
        if (o === vcpu || (o < 0 && (this.active[s] || this.deliverable(s)) && this.target(s) === vcpu)) n = this.considerCandidate(s, vcpu, n);
      }
    }
    // Selection sort of the few best (n is small in practice).
    const used = Math.min(n, NUM_LRS);
    for (let i = 0; i < used; i++) {
      let best = i;
      for (let j = i + 1; j < n; j++) if (this.candKey[j] < this.candKey[best]) best = j;
      if (best !== i) {
        const cs = this.cand[i], ck = this.candKey[i];
        this.cand[i] = this.cand[best];
        this.candKey[i] = this.candKey[best];
        this.cand[best] = cs;
        this.candKey[best] = ck;
      }
    }
    const srr = pe.sr;
    for (let i = 0; i < NUM_LRS; i++) {
      const id = SR_LR[i];
      if (i >= used) {
        srr[2 * id] = srr[2 * id + 1] = 0;
        this.lrSlot[vcpu * NUM_LRS + i] = -1;
        continue;
      }
      const s = this.cand[i];
      const pend = this.pending(s) && this.enabled[s] !== 0 && this.groupEnabled(s);
      let hi = (this.priority[s] << 16) | (this.group[s] ? LR_GROUP : 0);
      if (pend) hi |= LR_STATE_PENDING;
      if (this.active[s]) hi |= LR_STATE_ACTIVE;
      if (this.isHw[s]) {
        hi |= LR_HW | this.hwBySlot.get(s)!.pintid;
        // A HW = 1 LR must not be pending and active: the physical interrupt is masked until deactivation, so keep the pending part here.
        if (this.active[s]) hi &= ~LR_STATE_PENDING;
        else this.pendLatch[s] = 0;
      } else if (this.edge[s]) {
        if (pend) this.pendLatch[s] = 0; // the LR holds the edge's pending state now
      } else {
        hi |= LR_EOI; // level-sensitive: resample the input when the guest deactivates it
      }
      srr[2 * id] = this.intidOf(s);
      srr[2 * id + 1] = hi;
      this.setOwner(s, vcpu);
      this.lrSlot[vcpu * NUM_LRS + i] = s;
    }
    for (let i = used; i < n; i++) if (!this.active[this.cand[i]] && this.owner[this.cand[i]] === vcpu) this.setOwner(this.cand[i], -1);
    // Underflow maintenance when interrupts are left waiting; EOIcount restarts.
    const hcr = srr[2 * SR_ICH_HCR] & HCR_KEEP;
    srr[2 * SR_ICH_HCR] = hcr | HCR_EN | (n > NUM_LRS ? HCR_UIE : 0);
    srr[2 * SR_ICH_HCR + 1] = 0;
    pe.gic.update();
    this.updatePhysIrq(vcpu);
  }

  sync(vcpu: number, pe: PE): void {
    const srr = pe.sr;
    for (let i = 0; i < NUM_LRS; i++) {
      const s = this.lrSlot[vcpu * NUM_LRS + i];
      if (s < 0) continue;
      this.lrSlot[vcpu * NUM_LRS + i] = -1;
      const id = SR_LR[i];
      const hi = srr[2 * id + 1];
      const pend = (hi & LR_STATE_PENDING) !== 0;
      const act = (hi & LR_STATE_ACTIVE) !== 0;
      if (this.isHw[s]) {
        // Still pending: not acknowledged yet; the physical interrupt stays active. Deactivated: the hook already ran.
        if (pend) this.pendLatch[s] = 1;
        this.active[s] = act ? 1 : 0;
      } else {
        this.active[s] = act ? 1 : 0;
        if (this.edge[s]) {
          if (pend) this.pendLatch[s] = 1;
        } else if (!pend) {
          this.pendLatch[s] = 0; // acknowledged: a software-pended level interrupt is consumed
        }
      }
      if (!pend && !act && this.owner[s] === vcpu) this.setOwner(s, -1);
      this.mark(s);
      // The LR's contents are back in the distributor state: clear it so that a re-entry without flush cannot deliver twice.
      srr[2 * id] = srr[2 * id + 1] = 0;
    }
    srr[2 * SR_ICH_HCR] &= ~(HCR_UIE | (0x1f << 27));
    pe.gic.update();
    this.updatePhysIrq(vcpu);
  }

  /**
   * The WFI wake-up condition (KVM's kvm_vgic_vcpu_pending_irq): an
   * interrupt the vCPU's CPU interface could signal — pending, enabled, its
   * group enabled in the distributor and in ICH_VMCR_EL2 (VENG0/1), and
   * above the priority mask (VPMR) — or a physical interrupt for L0.
   */
  hasPending(vcpu: number): boolean {
    const pe = this.pes[vcpu];
    let vmcr = -1;
    if (pe !== null) {
      if (pe.virqLine || pe.vfiqLine) return true;
      vmcr = pe.gic.vmcr;
    }
    if (this.physIrqPending(vcpu)) return true;
    // Only pending interrupts wake: groups of four with no pending latch and no input asserted are skipped.
    const base = 32 * vcpu;
    for (let s0 = this.nextPending4(base, base + 32); s0 < base + 32; s0 = this.nextPending4(s0 + 4, base + 32)) {
      for (let s = s0; s < s0 + 4; s++) if (this.wakes(s, vmcr)) return true;
    }
    const p = 32 * this.nrVcpus;
    const end = p + this.nrSpis;
    for (let s0 = this.nextPending4(p, end); s0 < end; s0 = this.nextPending4(s0 + 4, end)) {
      for (let s = s0; s < s0 + 4; s++) {
        if (this.wakes(s, vmcr) && (this.owner[s] === vcpu || (this.owner[s] < 0 && this.target(s) === vcpu))) return true;
      }
    }
    return false;
  }

  /** Whether `s` is deliverable and, given ICH_VMCR_EL2 `vmcr` (-1: unknown), not masked by the virtual CPU interface. */
  private wakes(s: number, vmcr: number): boolean {
    if (!this.deliverable(s) || this.active[s]) return false;
    if (vmcr === -1) return true;
    if ((vmcr & (this.group[s] ? VMCR_VENG1 : VMCR_VENG0)) === 0) return false;
    return (this.priority[s] & PRIO_MASK) < ((vmcr >>> VMCR_VPMR_SHIFT) & 0xff);
  }

  // ---- MMIO ----------------------------------------------------------------------------

  handlesMmio(gpa: number): boolean {
    if (gpa >= this.distBase && gpa < this.distBase + GICD_SIZE) return true;
    return gpa >= this.redistBase && gpa < this.redistBase + GICR_STRIDE * this.nrVcpus;
  }

  mmioRead(vcpu: number, gpa: number, size: number): [number, number] {
    void vcpu;
    if (size === 8) return [this.read32(gpa) >>> 0, this.read32(gpa + 4) >>> 0];
    const v = this.read32(gpa & ~3) >>> 0;
    if (size === 4) return (gpa & 3) === 0 ? [v, 0] : [0, 0];
    const shift = 8 * (gpa & 3);
    return [(v >>> shift) & (size === 1 ? 0xff : 0xffff), 0];
  }

  mmioWrite(vcpu: number, gpa: number, size: number, lo: number, hi: number): void {
    void vcpu;
    if (size === 8) {
      this.write32(gpa, lo | 0, 0xffffffff);
      this.write32(gpa + 4, hi | 0, 0xffffffff);
      return;
    }
    if (size === 4) {
      if ((gpa & 3) === 0) this.write32(gpa, lo | 0, 0xffffffff);
      return;
    }
    // Byte and halfword writes: only the byte-accessible registers (IPRIORITYR) take them; elsewhere they are ignored.
    const shift = 8 * (gpa & 3);
    const mask = ((size === 1 ? 0xff : 0xffff) << shift) >>> 0;
    this.write32(gpa & ~3, (lo << shift) | 0, mask);
  }

  /** A 32-bit register read at `gpa` (4-byte aligned). */
  private read32(gpa: number): number {
    if (gpa >= this.distBase && gpa < this.distBase + GICD_SIZE) return this.distRead(gpa - this.distBase);
    const off = gpa - this.redistBase;
    if (off < 0 || off >= GICR_STRIDE * this.nrVcpus) return 0;
    const v = Math.floor(off / GICR_STRIDE);
    const f = off % GICR_STRIDE;
    return f < 0x10000 ? this.rdRead(v, f) : this.sgiRead(v, f - 0x10000);
  }

  /** A 32-bit register write at `gpa`; `mask` selects the bytes written (sub-word writes). */
  private write32(gpa: number, val: number, mask: number): void {
    if (gpa >= this.distBase && gpa < this.distBase + GICD_SIZE) {
      this.distWrite(gpa - this.distBase, val, mask);
      return;
    }
    const off = gpa - this.redistBase;
    if (off < 0 || off >= GICR_STRIDE * this.nrVcpus) return;
    const v = Math.floor(off / GICR_STRIDE);
    const f = off % GICR_STRIDE;
    if (f < 0x10000) this.rdWrite(v, f, val, mask);
    else this.sgiWrite(v, f - 0x10000, val, mask);
  }

  // Bit-per-interrupt registers over 32 INTIDs starting at slot `s0` (n of them implemented).
  private bits(arr: Uint8Array, s0: number, n: number): number {
    let r = 0;
    for (let k = 0; k < n; k++) if (arr[s0 + k]) r |= 1 << k;
    return r;
  }
  private pendingBits(s0: number, n: number): number {
    let r = 0;
    for (let k = 0; k < n; k++) if (this.pending(s0 + k) || (this.isHw[s0 + k] && this.level[s0 + k] && !this.physActive[s0 + k])) r |= 1 << k;
    return r;
  }
  private priorities(s0: number): number {
    return (this.priority[s0] | (this.priority[s0 + 1] << 8) | (this.priority[s0 + 2] << 16) | (this.priority[s0 + 3] << 24)) >>> 0;
  }
  private setPriorities(s0: number, val: number, mask: number): void {
    for (let k = 0; k < 4; k++) if ((mask >>> (8 * k)) & 0xff) this.priority[s0 + k] = (val >>> (8 * k)) & 0xff;
  }
  private config(s0: number, n: number): number {
    let r = 0;
    for (let k = 0; k < n; k++) if (this.edge[s0 + k]) r |= 2 << (2 * k);
    return r >>> 0;
  }

  /**
   * The registers shared by the distributor (SPIs) and the SGI frame
   * (INTIDs 0-31): IGROUPR, IS/ICENABLER, IS/ICPENDR, IS/ICACTIVER, IPRIORITYR,
   * ICFGR at their offsets, for the 32 INTIDs from slot `s0` of which `n`
   * exist. `cfgWritable` tells which ICFGR halves may be written.
   */
  private bankRead(off: number, s0: number, n: number): number {
    switch (off & ~0x7f) {
      case 0x080: return this.bits(this.group, s0, n);
      case 0x100:
      case 0x180: return this.bits(this.enabled, s0, n);
      case 0x200:
      case 0x280: return this.pendingBits(s0, n);
      case 0x300:
      case 0x380: return this.bits(this.active, s0, n);
      default: return 0;
    }
  }
  private bankWrite(off: number, s0: number, n: number, val: number): void {
    const kind = off & ~0x7f;
    for (let k = 0; k < n; k++) {
      const set = (val >>> k) & 1;
      const s = s0 + k;
      switch (kind) {
        case 0x080:
          if (this.group[s] !== set) {
            this.group[s] = set;
            this.changed(s);
          }
          break;
        case 0x100:
          if (set && !this.enabled[s]) {
            this.enabled[s] = 1;
            this.changed(s);
          }
          break;
        case 0x180:
          if (set && this.enabled[s]) {
            this.enabled[s] = 0;
            this.changed(s);
          }
          break;
        case 0x200:
          if (set) {
            this.pendLatch[s] = 1;
            this.mark(s);
            this.changed(s);
          }
          break;
        case 0x280:
          // Clears the latch; a level-sensitive interrupt whose input is high stays pending.
          if (set) this.pendLatch[s] = 0;
          break;
        case 0x300:
          if (set) {
            this.active[s] = 1;
            this.mark(s);
          }
          break;
        case 0x380:
          if (set) {
            this.active[s] = 0;
            if (this.isHw[s] && this.physActive[s]) {
              // Clearing the active state of a HW interrupt deactivates the physical one.
              this.physActive[s] = 0;
              const m = this.hwBySlot.get(s)!;
              if (m.resample !== null) this.level[s] = m.resample() ? 1 : 0;
              this.mark(s);
              this.changed(s);
            }
          }
          break;
      }
    }
  }

  private distRead(off: number): number {
    const p = 32 * this.nrVcpus;
    if (off === 0x0000) return this.ctlr | (1 << 4) | (1 << 6); // ARE, DS: RAO
    if (off === 0x0004) {
      const itLines = (32 + this.nrSpis) / 32 - 1;
      return (itLines | ((Math.min(this.nrVcpus, 8) - 1) << 5) | (9 << 19) | (1 << 24) | (1 << 25)) >>> 0;
    }
    if (off === 0x0008) return IIDR;
    if (off >= 0x0080 && off < 0x0400) {
      const n = (off & 0x7f) >> 2; // register index
      if (n === 0 || 32 * n >= 32 + this.nrSpis) return 0; // INTIDs 0-31 belong to the redistributors
      return this.bankRead(off, p + 32 * (n - 1), 32);
    }
    if (off >= 0x0400 && off < 0x0800) {
      const intid = off - 0x400;
      if (intid < 32 || intid >= 32 + this.nrSpis) return 0;
      return this.priorities(p + intid - 32);
    }
    if (off >= 0x0c00 && off < 0x0d00) {
      const intid = (off - 0xc00) * 4;
      if (intid < 32 || intid >= 32 + this.nrSpis) return 0;
      return this.config(p + intid - 32, 16);
    }
    if (off >= 0x6100 && off < 0x8000) {
      const intid = (off - 0x6000) >> 3;
      if (intid >= 32 + this.nrSpis) return 0;
      const r = this.route[intid - 32];
      return off & 4 ? (r >>> 24) & 0xff : r & 0xffffff;
    }
    if (off >= 0xffd0) return ID_REGS[(off - 0xffd0) >> 2];
    return 0;
  }

  private distWrite(off: number, val: number, mask: number): void {
    const p = 32 * this.nrVcpus;
    if (off >= 0x0400 && off < 0x0800) {
      const intid = off - 0x400;
      if (intid >= 32 && intid < 32 + this.nrSpis) this.setPriorities(p + intid - 32, val, mask);
      return;
    }
    if (mask !== 0xffffffff) return; // only IPRIORITYR is byte accessible
    if (off === 0x0000) {
      const old = this.ctlr;
      this.ctlr = val & 3;
      if (this.ctlr & ~old) for (let v = 0; v < this.nrVcpus; v++) if (this.hasPending(v)) this.kick(v);
      for (const m of this.hw) this.updatePhysIrq(m.vcpu);
      return;
    }
    if (off >= 0x0080 && off < 0x0400) {
      const n = (off & 0x7f) >> 2;
      if (n === 0 || 32 * n >= 32 + this.nrSpis) return;
      this.bankWrite(off, p + 32 * (n - 1), 32, val);
      return;
    }
    if (off >= 0x0c00 && off < 0x0d00) {
      const intid = (off - 0xc00) * 4;
      if (intid < 32 || intid >= 32 + this.nrSpis) return;
      for (let k = 0; k < 16; k++) this.edge[p + intid - 32 + k] = (val >>> (2 * k + 1)) & 1;
      return;
    }
    if (off >= 0x6100 && off < 0x8000) {
      const intid = (off - 0x6000) >> 3;
      if (intid >= 32 + this.nrSpis) return;
      const i = intid - 32;
      // GICD_IROUTER: Aff0-2 in bits 23:0, Aff3 in bits 39:32; IRM (bit 31) is RAZ/WI (No1N = 1).
      if (off & 4) this.route[i] = ((this.route[i] & 0xffffff) | ((val & 0xff) << 24)) >>> 0;
      else this.route[i] = ((this.route[i] & 0xff000000) | (val & 0xffffff)) >>> 0;
      const s = p + i;
      if (this.deliverable(s)) this.kick(this.target(s));
    }
  }

  /** Redistributor RD frame. */
  private rdRead(v: number, off: number): number {
    switch (off) {
      case 0x0000: return 0; // GICR_CTLR: no LPIs, no pending writes
      case 0x0004: return IIDR;
      case 0x0008: return (((v & 0xffff) << 8) | (v === this.nrVcpus - 1 ? 1 << 4 : 0)) >>> 0; // Processor_Number, Last
      case 0x000c: return this.affinity(v) >>> 0; // Affinity_Value: Aff3.Aff2.Aff1.Aff0
      case 0x0014: return this.waker[v] ? 6 : 0; // ProcessorSleep, ChildrenAsleep
      default:
        if (off >= 0xffd0) return ID_REGS[(off - 0xffd0) >> 2];
        return 0;
    }
  }
  private rdWrite(v: number, off: number, val: number, mask: number): void {
    if (mask !== 0xffffffff) return;
    if (off === 0x0014) this.waker[v] = (val >>> 1) & 1;
  }

  /** Redistributor SGI frame (INTIDs 0-31 of vCPU v). */
  private sgiRead(v: number, off: number): number {
    const s0 = 32 * v;
    if (off >= 0x0080 && off < 0x0400) return (off & 0x7f) === 0 ? this.bankRead(off, s0, 32) : 0;
    if (off >= 0x0400 && off < 0x0420) return this.priorities(s0 + off - 0x400);
    if (off === 0x0c00) return this.config(s0, 16);
    if (off === 0x0c04) return this.config(s0 + 16, 16);
    if (off >= 0xffd0) return ID_REGS[(off - 0xffd0) >> 2];
    return 0;
  }
  private sgiWrite(v: number, off: number, val: number, mask: number): void {
    const s0 = 32 * v;
    if (off >= 0x0400 && off < 0x0420) {
      this.setPriorities(s0 + off - 0x400, val, mask);
      return;
    }
    if (mask !== 0xffffffff) return;
    if (off >= 0x0080 && off < 0x0400) {
      if ((off & 0x7f) === 0) this.bankWrite(off, s0, 32, val);
      return;
    }
    // GICR_ICFGR1 (PPIs): Int_config bits; ICFGR0 (SGIs) is read-only, always edge.
    if (off === 0x0c04) for (let k = 0; k < 16; k++) this.edge[s0 + 16 + k] = (val >>> (2 * k + 1)) & 1;
  }

  /** Debugging and tests: a snapshot of one interrupt's state. */
  irqState(intid: number, vcpu = 0): { enabled: boolean; group: number; priority: number; edge: boolean; pending: boolean; active: boolean; level: boolean; hw: boolean; physActive: boolean; owner: number } | null {
    const s = this.slot(intid, vcpu);
    if (s < 0) return null;
    return {
      enabled: this.enabled[s] !== 0, group: this.group[s], priority: this.priority[s], edge: this.edge[s] !== 0, pending: this.pending(s),
      active: this.active[s] !== 0, level: this.level[s] !== 0, hw: this.isHw[s] !== 0, physActive: this.physActive[s] !== 0, owner: this.owner[s],
    };
  }
}
