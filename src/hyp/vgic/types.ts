/**
 * The contract between the hypervisor core (vcpu run loop, MMIO dispatch,
 * timers) and the virtual GICv3 (distributor and redistributor emulation plus
 * list-register management). The core calls these around every guest entry.
 */
import type { PE } from '../../cpu/pe.js';

export interface VirtualGic {
  /** Guest physical bases of the distributor (64 KiB) and the redistributor region (128 KiB per vCPU). */
  readonly distBase: number;
  readonly redistBase: number;
  /** Whether `gpa` falls in the distributor or a redistributor frame. */
  handlesMmio(gpa: number): boolean;
  /** An MMIO read by vCPU `vcpu` of `size` bytes (1, 2, 4, 8); returns [bits 31:0, bits 63:32]. */
  mmioRead(vcpu: number, gpa: number, size: number): [number, number];
  mmioWrite(vcpu: number, gpa: number, size: number, lo: number, hi: number): void;
  /** Drives the level of interrupt `intid` (an SPI, or a PPI/SGI of `vcpu`); edge-triggered interrupts pend on a rising level. */
  setIrqLevel(intid: number, level: boolean, vcpu?: number): void;
  /** Before entering vCPU `vcpu` on `pe`: program ICH_LR<n>_EL2, ICH_HCR_EL2 (and underflow/maintenance requests). */
  flush(vcpu: number, pe: PE): void;
  /** After leaving the guest: fold the list registers' state back (EOIed, active, pending). */
  sync(vcpu: number, pe: PE): void;
  /** Whether vCPU `vcpu` has an interrupt it could take (WFI wake-up condition). */
  hasPending(vcpu: number): boolean;
  /**
   * The guest wrote ICC_SGI1R_EL1 (trapped to EL2): generate the SGIs.
   * `group` (added, optional): 1 for ICC_SGI1R_EL1/ICC_ASGI1R_EL1 (the default), 0 for ICC_SGI0R_EL1.
   */
  sendSgi(fromVcpu: number, value: bigint, group?: number): void;
  /**
   * (Added, optional.) Connects vCPU `vcpu`'s PE: its EL1 timer outputs drive PPIs 27/30 as hardware-mapped
   * interrupts, and the vGIC drives pe.irqLine (the physical IRQ L0 receives: an asserted timer not yet injected,
   * or the maintenance interrupt), pe.gicHwDeactivate and pe.onMaintenance. Call once when the vCPU is created.
   */
  attachVcpu?(vcpu: number, pe: PE): void;
  /** (Added, optional.) Back to the reset state (a VM reboot): all interrupts disabled, inactive, not pending. */
  reset?(): void;
  /** Called when an interrupt becomes pending for a vCPU that may be sleeping (the scheduler wakes it). */
  onKick: ((vcpu: number) => void) | null;
}
