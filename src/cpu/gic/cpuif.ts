/**
 * The GICv3 CPU interface of the PE, virtual part (GIC architecture
 * specification IHI 0069, chapters 6 "Virtual interrupt handling and
 * prioritization", 11 "The GIC virtual CPU interface" pseudocode, 12 the
 * ICH_* and ICV_* registers).
 *
 * State lives in the PE's EL2 register file (`pe.sr`), so that L0 reads and
 * writes it with pe.readSysreg/writeSysreg (or pe.setSr followed by
 * `pe.gic.update()` on a path that avoids BigInt):
 *
 *  - ICH_LR<n>_EL2 (n < NUM_LRS): State [63:62], HW [61], Group [60],
 *    Priority [55:48], pINTID [44:32] (with HW=0: bit 41 is EOI, the request
 *    for a maintenance interrupt on deactivation), vINTID [31:0];
 *  - ICH_AP0R0_EL2 / ICH_AP1R0_EL2: the active priorities (PREbits = 5: 32
 *    group priorities, one register per group; AP<g>R1..3 are not implemented);
 *  - ICH_HCR_EL2, ICH_VMCR_EL2 (the guest-visible state of the virtual CPU
 *    interface: VPMR, VBPR0/1, VEOIM, VENG0/1, VCBPR, VFIQEn, VAckCtl);
 *  - ICH_VTR_EL2 (read-only), ICH_MISR_EL2, ICH_EISR_EL2, ICH_ELRSR_EL2
 *    (read-only, recomputed by `update()` whenever anything they depend on
 *    changes, so that a plain register read sees them).
 *
 * `update()` derives the virtual interrupt signals (pe.virqLine: the highest
 * priority pending Group 1 LR can be signalled; pe.vfiqLine: Group 0) and the
 * maintenance interrupt (pe.maintenanceIrq, pe.onMaintenance: ICH_HCR_EL2.En
 * and a non-zero ICH_MISR_EL2; PPI 25 for L0). A guest deactivation of a
 * HW=1 list register calls pe.gicHwDeactivate(pINTID): L0 deactivates its
 * physical source.
 *
 * Implementation choices (IMPLEMENTATION DEFINED in the architecture):
 * 4 list registers, 5 bits of virtual priority (PRIbits) and of preemption
 * (PREbits), 16-bit INTIDs (IDbits = 0), A3V = 1, no SEIs, no direct vLPI
 * injection (nV4 = 1), ICH_HCR_EL2.TDIR supported (TDS = 1). System
 * register access only (ICC_SRE_EL1.SRE reads as 1), so ICH_VMCR_EL2.VFIQEn
 * is RES1: Group 0 virtual interrupts are virtual FIQs.
 *
 * No BigInt anywhere: registers are 32-bit halves in pe.sr.
 */
import type { PE } from '../pe.js';
import { sr } from '../../arch/sysregs.js';
import {
  NUM_LRS, PRIO_MASK, APR_SHIFT, MIN_BPR0, MIN_BPR1, INTID_SPURIOUS, LPI_BASE, LR_STATE_PENDING, LR_STATE_ACTIVE, LR_HW, LR_GROUP, LR_EOI,
  LR_PINTID_MASK, LR_HI_MASK, HCR_EN, HCR_UIE, HCR_LRENPIE, HCR_NPIE, HCR_VGRP0EIE, HCR_VGRP0DIE, HCR_VGRP1EIE, HCR_VGRP1DIE,
  HCR_EOICOUNT_SHIFT, HCR_MASK, VMCR_VENG0, VMCR_VENG1, VMCR_VACKCTL, VMCR_VFIQEN, VMCR_VCBPR, VMCR_VEOIM, VMCR_VBPR1_SHIFT,
  VMCR_VBPR0_SHIFT, VMCR_VPMR_SHIFT, MISR_EOI, MISR_U, MISR_LRENP, MISR_NP, MISR_VGRP0E, MISR_VGRP0D, MISR_VGRP1E, MISR_VGRP1D, VTR_VALUE,
} from './regs.js';
export * from './regs.js';
// The ICC_* and ICV_* accessors, registered with the CPU interface (before any PE builds its instruction table).
import './icv.js';

const SR_HCR = sr('ICH_HCR_EL2');
const SR_VTR = sr('ICH_VTR_EL2');
const SR_MISR = sr('ICH_MISR_EL2');
const SR_EISR = sr('ICH_EISR_EL2');
const SR_ELRSR = sr('ICH_ELRSR_EL2');
const SR_VMCR = sr('ICH_VMCR_EL2');
const SR_AP0R0 = sr('ICH_AP0R0_EL2');
const SR_AP1R0 = sr('ICH_AP1R0_EL2');
/** pe.sr ids of ICH_LR<n>_EL2, n < 16 (only the first NUM_LRS are implemented). */
const SR_LR: readonly number[] = Array.from({ length: 16 }, (_, n) => sr(`ICH_LR${n}_EL2`));
/** Ids of the AP registers beyond those implemented (kept at zero). */
const SR_AP_UNIMPL: readonly number[] = [1, 2, 3].flatMap((n) => [sr(`ICH_AP0R${n}_EL2`), sr(`ICH_AP1R${n}_EL2`)]);
const ICH_IDS: ReadonlySet<number> = new Set([SR_HCR, SR_VTR, SR_MISR, SR_EISR, SR_ELRSR, SR_VMCR, ...SR_LR, ...[0, 1, 2, 3].flatMap((n) => [sr(`ICH_AP0R${n}_EL2`), sr(`ICH_AP1R${n}_EL2`)])]);
const ICH_MIN = Math.min(...ICH_IDS);
const ICH_MAX = Math.max(...ICH_IDS);

/** Index of the lowest set bit of a non-zero 32-bit value. */
function ctz(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** ICH_VMCR_EL2 with its RES0 bits clear, VFIQEn RES1, VPMR to the implemented bits and the binary points at least their minimum. */
function sanitizeVmcr(v: number): number {
  let bpr0 = (v >>> VMCR_VBPR0_SHIFT) & 7;
  let bpr1 = (v >>> VMCR_VBPR1_SHIFT) & 7;
  if (bpr0 < MIN_BPR0) bpr0 = MIN_BPR0;
  if (bpr1 < MIN_BPR1) bpr1 = MIN_BPR1;
  const vpmr = (v >>> VMCR_VPMR_SHIFT) & PRIO_MASK;
  return (v & (VMCR_VENG0 | VMCR_VENG1 | VMCR_VACKCTL | VMCR_VCBPR | VMCR_VEOIM)) | VMCR_VFIQEN | (bpr1 << VMCR_VBPR1_SHIFT) | (bpr0 << VMCR_VBPR0_SHIFT) | (vpmr << VMCR_VPMR_SHIFT);
}

export class GicCpuInterface {
  /** Last computed ICH_MISR_EL2 (also in pe.sr). */
  misr = 0;

  constructor(private readonly pe: PE) {}

  /** Reset values: ICH_* zero except VTR (and VMCR's RES1/minimum fields); no virtual interrupt, no maintenance. */
  reset(): void {
    const s = this.pe.sr;
    for (const id of ICH_IDS) s[2 * id] = s[2 * id + 1] = 0;
    s[2 * SR_VMCR] = sanitizeVmcr(0);
    this.pe.virqLine = this.pe.vfiqLine = false;
    this.pe.maintenanceIrq = false;
    this.update();
  }

  /** After a write to any system register through pe.writeSysreg (or an MSR that notifies): sanitizes and recomputes for ICH_*. */
  sysregChanged(id: number): void {
    if (id < ICH_MIN || id > ICH_MAX || !ICH_IDS.has(id)) return;
    const s = this.pe.sr;
    if (id === SR_HCR) {
      s[2 * id] &= HCR_MASK;
      s[2 * id + 1] = 0;
    } else if (id === SR_VMCR) {
      s[2 * id] = sanitizeVmcr(s[2 * id]);
      s[2 * id + 1] = 0;
    } else if (id === SR_AP0R0 || id === SR_AP1R0) {
      s[2 * id + 1] = 0;
    } else if (SR_AP_UNIMPL.includes(id)) {
      s[2 * id] = s[2 * id + 1] = 0;
    } else {
      const n = SR_LR.indexOf(id);
      if (n >= NUM_LRS) s[2 * id] = s[2 * id + 1] = 0;
      else if (n >= 0) {
        let hi = s[2 * id + 1] & LR_HI_MASK;
        // With HW = 0, pINTID holds only the EOI bit (bits 40:32 and 44:42 are RES0).
        if ((hi & LR_HW) === 0) hi &= ~(LR_PINTID_MASK & ~LR_EOI);
        s[2 * id + 1] = hi;
      }
    }
    // VTR, MISR, EISR, ELRSR are read-only: update() rewrites them.
    this.update();
  }

  // ---- Derived state ----------------------------------------------------------

  /**
   * Recomputes ICH_MISR/EISR/ELRSR_EL2 and VTR, the virtual IRQ/FIQ signals
   * and the maintenance interrupt. Called after every ICH_* and ICV_* write and
   * acknowledge; L0 calls it after writing ICH_* with pe.setSr.
   */
  update(): void {
    const pe = this.pe;
    const s = pe.sr;
    const hcr = s[2 * SR_HCR];
    const vmcr = s[2 * SR_VMCR];
    let eisr = 0, elrsr = 0, valid = 0, pending = 0;
    let best = -1, bestPrio = 0x100;
    for (let n = 0; n < NUM_LRS; n++) {
      const hi = s[2 * SR_LR[n] + 1];
      const state = hi >>> 30;
      if (state === 0) {
        // ICH_EISR_EL2: an invalid LR with HW = 0 and EOI = 1 (a deactivation that asked for maintenance); ICH_ELRSR_EL2: the other invalid LRs.
        if ((hi & (LR_HW | LR_EOI)) === LR_EOI) eisr |= 1 << n;
        else elrsr |= 1 << n;
        continue;
      }
      valid++;
      if (state !== 1) continue;
      pending++;
      // HighestPriorityVirtualInterrupt: pending LRs of enabled groups, lowest priority value, lowest index on ties.
      if ((hi & LR_GROUP ? vmcr & VMCR_VENG1 : vmcr & VMCR_VENG0) === 0) continue;
      const prio = (hi >>> 16) & PRIO_MASK;
      if (prio < bestPrio) {
        bestPrio = prio;
        best = n;
      }
    }
    let misr = 0;
    if (eisr !== 0) misr |= MISR_EOI;
    if (hcr & HCR_UIE && valid <= 1) misr |= MISR_U;
    if (hcr & HCR_LRENPIE && hcr >>> HCR_EOICOUNT_SHIFT !== 0) misr |= MISR_LRENP;
    if (hcr & HCR_NPIE && pending === 0) misr |= MISR_NP;
    if (hcr & HCR_VGRP0EIE && vmcr & VMCR_VENG0) misr |= MISR_VGRP0E;
    if (hcr & HCR_VGRP0DIE && !(vmcr & VMCR_VENG0)) misr |= MISR_VGRP0D;
    if (hcr & HCR_VGRP1EIE && vmcr & VMCR_VENG1) misr |= MISR_VGRP1E;
    if (hcr & HCR_VGRP1DIE && !(vmcr & VMCR_VENG1)) misr |= MISR_VGRP1D;
    s[2 * SR_MISR] = misr;
    s[2 * SR_MISR + 1] = 0;
    s[2 * SR_EISR] = eisr;
    s[2 * SR_EISR + 1] = 0;
    s[2 * SR_ELRSR] = elrsr;
    s[2 * SR_ELRSR + 1] = 0;
    s[2 * SR_VTR] = VTR_VALUE;
    s[2 * SR_VTR + 1] = 0;
    this.misr = misr;

    // CanSignalVirtualInterrupt: the interface is enabled, the candidate is above VPMR and its group priority above the running priority.
    let virq = false, vfiq = false;
    if (best >= 0 && hcr & HCR_EN && this.canSignal(s[2 * SR_LR[best] + 1], vmcr)) {
      if (s[2 * SR_LR[best] + 1] & LR_GROUP) virq = true;
      else vfiq = true; // ICH_VMCR_EL2.VFIQEn is RES1
    }
    if (virq !== pe.virqLine || vfiq !== pe.vfiqLine) {
      pe.virqLine = virq;
      pe.vfiqLine = vfiq;
      pe.irqCheck = true;
    }
    const maint = (hcr & HCR_EN) !== 0 && misr !== 0;
    if (maint !== pe.maintenanceIrq) {
      pe.maintenanceIrq = maint;
      if (pe.onMaintenance !== null) pe.onMaintenance(maint);
    }
  }

  /** Index of the highest priority pending LR of an enabled group, -1 if none (HighestPriorityVirtualInterrupt). */
  hppvi(): number {
    const s = this.pe.sr;
    const vmcr = s[2 * SR_VMCR];
    let best = -1, bestPrio = 0x100;
    for (let n = 0; n < NUM_LRS; n++) {
      const hi = s[2 * SR_LR[n] + 1];
      if (hi >>> 30 !== 1) continue;
      if ((hi & LR_GROUP ? vmcr & VMCR_VENG1 : vmcr & VMCR_VENG0) === 0) continue;
      const prio = (hi >>> 16) & PRIO_MASK;
      if (prio < bestPrio) {
        bestPrio = prio;
        best = n;
      }
    }
    return best;
  }

  /** The mask that keeps the group priority bits of a priority of `group` (ICV_BPR0, or BPR1, or BPR0 with VCBPR). */
  groupPriorityMask(group: number, vmcr: number): number {
    if (group === 0 || vmcr & VMCR_VCBPR) return (0xff << (((vmcr >>> VMCR_VBPR0_SHIFT) & 7) + 1)) & 0xff;
    return (0xff << ((vmcr >>> VMCR_VBPR1_SHIFT) & 7)) & 0xff;
  }

  /** The running priority (VirtualHighestActivePriority): the highest set active priority bit of either group, 0xff when idle. */
  runningPriority(): number {
    const s = this.pe.sr;
    const ap = s[2 * SR_AP0R0] | s[2 * SR_AP1R0];
    return ap === 0 ? 0xff : ctz(ap) << APR_SHIFT;
  }

  /** Whether the pending LR (bits 63:32 `hi`) can be signalled: ICH_HCR_EL2.En, priority above VPMR, group priority above the running priority. */
  private canSignal(hi: number, vmcr: number): boolean {
    if ((this.pe.sr[2 * SR_HCR] & HCR_EN) === 0) return false;
    const prio = (hi >>> 16) & PRIO_MASK;
    if (prio >= ((vmcr >>> VMCR_VPMR_SHIFT) & PRIO_MASK)) return false;
    const rpr = this.runningPriority();
    if (rpr === 0xff) return true;
    const mask = this.groupPriorityMask(hi & LR_GROUP ? 1 : 0, vmcr);
    return (prio & mask) < (rpr & mask);
  }

  // ---- ICV register operations (called by the MRS/MSR accessors in icv.ts) -------

  /** ICV_IAR0/1_EL1 read (VirtualReadIAR0/1): acknowledges the interrupt that can be signalled, if it is of `group`. */
  acknowledge(group: number): number {
    const s = this.pe.sr;
    const n = this.hppvi();
    if (n < 0) return INTID_SPURIOUS;
    const id = SR_LR[n];
    const hi = s[2 * id + 1];
    if ((hi & LR_GROUP ? 1 : 0) !== group) return INTID_SPURIOUS;
    const vmcr = s[2 * SR_VMCR];
    if (!this.canSignal(hi, vmcr)) return INTID_SPURIOUS;
    const intid = s[2 * id] & 0xffffff;
    if (intid >= 1020 && intid <= 1023) {
      // A special INTID in an LR: the LR goes from pending to invalid and the INTID is returned.
      s[2 * id + 1] = hi & ~LR_STATE_PENDING;
    } else {
      // VirtualAcknowledge: pending -> active, and the group priority's active priority bit is set.
      s[2 * id + 1] = (hi & ~LR_STATE_PENDING) | LR_STATE_ACTIVE;
      const bit = (((hi >>> 16) & PRIO_MASK) & this.groupPriorityMask(group, vmcr)) >>> APR_SHIFT;
      const ap = group === 0 ? SR_AP0R0 : SR_AP1R0;
      s[2 * ap] |= 1 << bit;
    }
    this.update();
    return intid;
  }

  /** ICV_HPPIR0/1_EL1 read: the highest priority pending interrupt if it is of `group` (no priority masking), else 1023. */
  highestPending(group: number): number {
    const n = this.hppvi();
    if (n < 0) return INTID_SPURIOUS;
    const hi = this.pe.sr[2 * SR_LR[n] + 1];
    if ((hi & LR_GROUP ? 1 : 0) !== group) return INTID_SPURIOUS;
    return this.pe.sr[2 * SR_LR[n]] & 0xffffff;
  }

  /**
   * VirtualPriorityDrop: clears the highest active priority bit (Group 0 first
   * when both groups have the same one). Returns false if no priority was active.
   */
  private priorityDrop(): boolean {
    const s = this.pe.sr;
    const ap0 = s[2 * SR_AP0R0], ap1 = s[2 * SR_AP1R0];
    if ((ap0 | ap1) === 0) return false;
    const b0 = ap0 === 0 ? 32 : ctz(ap0);
    const b1 = ap1 === 0 ? 32 : ctz(ap1);
    if (b0 <= b1) s[2 * SR_AP0R0] = ap0 & (ap0 - 1);
    else s[2 * SR_AP1R0] = ap1 & (ap1 - 1);
    return true;
  }

  /** The LR holding `intid` in the active (or active and pending) state, -1 if none (FindActiveVirtualInterrupt). */
  private findActive(intid: number): number {
    const s = this.pe.sr;
    for (let n = 0; n < NUM_LRS; n++) {
      if (s[2 * SR_LR[n] + 1] & LR_STATE_ACTIVE && (s[2 * SR_LR[n]] & 0xffffff) === intid) return n;
    }
    return -1;
  }

  private incrementEoiCount(): void {
    const s = this.pe.sr;
    const hcr = s[2 * SR_HCR];
    const count = ((hcr >>> HCR_EOICOUNT_SHIFT) + 1) & 0x1f;
    s[2 * SR_HCR] = (hcr & ~(0x1f << HCR_EOICOUNT_SHIFT)) | (count << HCR_EOICOUNT_SHIFT);
  }

  /**
   * VirtualDeactivate: clears the LR's active state; for HW = 1 the physical
   * interrupt pINTID is deactivated too (pe.gicHwDeactivate). With HW = 0 and
   * EOI = 1 the now-invalid LR shows in ICH_EISR_EL2 (update()).
   */
  private deactivate(n: number): void {
    const s = this.pe.sr;
    const id = SR_LR[n];
    const hi = s[2 * id + 1] & ~LR_STATE_ACTIVE;
    s[2 * id + 1] = hi;
    if (hi & LR_HW) {
      const pintid = hi & LR_PINTID_MASK;
      if (pintid < 1020 && this.pe.gicHwDeactivate !== null) this.pe.gicHwDeactivate(pintid);
    }
  }

  /** ICV_EOIR0/1_EL1 write (VirtualWriteEOIR0/1): priority drop, and with VEOIM = 0 deactivation. */
  endOfInterrupt(group: number, value: number): void {
    const intid = value & 0xffffff;
    if (intid >= 1020 && intid <= 1023) return;
    // No active priority: CONSTRAINED UNPREDICTABLE whether the LRs are looked at; they are not.
    if (!this.priorityDrop()) return;
    const s = this.pe.sr;
    if ((s[2 * SR_VMCR] & VMCR_VEOIM) === 0 || intid >= LPI_BASE) {
      const n = this.findActive(intid);
      if (n < 0) {
        // A deactivation of an interrupt not in the LRs: counted for L0 (ICH_HCR_EL2.EOIcount, LRENP maintenance).
        if (intid < LPI_BASE) this.incrementEoiCount();
      } else if ((s[2 * SR_LR[n] + 1] & LR_GROUP ? 1 : 0) === group) {
        this.deactivate(n);
      }
    }
    this.update();
  }

  /** ICV_DIR_EL1 write (VirtualWriteDIR): deactivation when VEOIM = 1 (with VEOIM = 0 the write is ignored). */
  deactivateInterrupt(value: number): void {
    const intid = value & 0xffffff;
    if (intid >= 1020) return;
    const s = this.pe.sr;
    if ((s[2 * SR_VMCR] & VMCR_VEOIM) === 0) return;
    const n = this.findActive(intid);
    if (n < 0) this.incrementEoiCount();
    else this.deactivate(n);
    this.update();
  }

  // ---- ICV_* views of ICH_VMCR_EL2 ---------------------------------------------

  get vmcr(): number {
    return this.pe.sr[2 * SR_VMCR];
  }
  /** Writes ICH_VMCR_EL2 from a guest register write (sanitized), then recomputes. */
  setVmcr(v: number): void {
    this.pe.sr[2 * SR_VMCR] = sanitizeVmcr(v);
    this.pe.sr[2 * SR_VMCR + 1] = 0;
    this.update();
  }
  /** ICH_HCR_EL2 bits 31:0 (the trap controls TC, TALL0/1, TDIR are read by the accessors). */
  get hcr(): number {
    return this.pe.sr[2 * SR_HCR];
  }
  /** ICV_AP<group>R0_EL1 (an alias of ICH_AP<group>R0_EL2). */
  readAp(group: number): number {
    return this.pe.sr[2 * (group === 0 ? SR_AP0R0 : SR_AP1R0)];
  }
  writeAp(group: number, v: number): void {
    const id = group === 0 ? SR_AP0R0 : SR_AP1R0;
    this.pe.sr[2 * id] = v;
    this.pe.sr[2 * id + 1] = 0;
    this.update();
  }
}

/** pe.sr id of ICH_LR<n>_EL2. */
export function lrId(n: number): number {
  return SR_LR[n];
}

