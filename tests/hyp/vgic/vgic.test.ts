/**
 * The virtual GICv3: distributor and redistributor registers, the interrupt
 * state machine (pending, active, enable, groups, priorities, edge and level
 * inputs), SGI targeting, SPI routing, list-register management in
 * flush/sync with a real PE whose guest code acknowledges and ends
 * interrupts through the ICV registers, underflow maintenance when more
 * interrupts wait than there are list registers, and hardware-mapped
 * interrupts with the physical deactivation hook.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PE } from '../../../src/cpu/pe.js';
import { VGicV3, GICD_BASE, GICR_BASE, GICR_STRIDE, defaultAffinity } from '../../../src/hyp/vgic/vgic.js';
import { HVC } from '../../helpers/program.js';
import { gicPe, lrState, mrs, msr, resume, runToEl2, x } from '../../cpu/gic/helpers.js';

const D = GICD_BASE;
const R = (v: number): number => GICR_BASE + GICR_STRIDE * v;
const SGI = (v: number): number => R(v) + 0x10000;
const r32 = (g: VGicV3, a: number): number => g.mmioRead(0, a, 4)[0];
const w32 = (g: VGicV3, a: number, v: number): void => g.mmioWrite(0, a, 4, v | 0, 0);

/** Enables the distributor's Group 1 and SPIs `ids` (priority `prio` each). */
function enableSpis(g: VGicV3, ids: number[], prio = 0xa0): void {
  w32(g, D + 0x0, 2);
  for (const id of ids) {
    w32(g, D + 0x100 + 4 * (id >> 5), 1 << (id & 31));
    g.mmioWrite(0, D + 0x400 + id, 1, prio, 0);
  }
}

/**
 * Guest entries until an exit other than a physical IRQ (which this minimal
 * L0 handles as the hypervisor core does: lower the line, sync, flush, resume).
 */
function enterUntil(g: VGicV3, pe: PE, vcpu = 0): { r: number | string; irqs: number } {
  let irqs = 0;
  for (;;) {
    const r = enter(g, pe, vcpu);
    if (r !== 'irq') return { r, irqs };
    irqs++;
    pe.irqLine = false;
    resume(pe);
  }
}

/** One guest entry: flush, run to the next exit to EL2, sync. */
function enter(g: VGicV3, pe: PE, vcpu = 0): number | string {
  g.flush(vcpu, pe);
  const r = runToEl2(pe);
  g.sync(vcpu, pe);
  return r;
}

test('distributor identification: CTLR (ARE, DS), TYPER, IIDR, PIDR2; RAZ/WI elsewhere', () => {
  const g = new VGicV3({ vcpus: 2, spis: 64 });
  assert.equal(r32(g, D + 0x0), 0x50);
  w32(g, D + 0x0, 0xffffffff);
  assert.equal(r32(g, D + 0x0), 0x53, 'EnableGrp0/1 writable, ARE and DS RAO/WI');
  const typer = r32(g, D + 0x4);
  assert.equal(typer & 0x1f, 2, 'ITLinesNumber: 96 INTIDs');
  assert.equal((typer >> 5) & 7, 1, 'CPUNumber');
  assert.equal((typer >>> 19) & 0x1f, 9, 'IDbits');
  assert.equal(r32(g, D + 0xffe8) & 0xf0, 0x30, 'PIDR2.ArchRev = 3');
  assert.equal(r32(g, D + 0x8) & 0xfff, 0x43b);
  assert.equal(r32(g, D + 0xc), 0, 'TYPER2');
  // Reserved and unimplemented registers, odd sizes and offsets: zero, no crash.
  for (const off of [0x10, 0x40, 0x800, 0xe00, 0xf00, 0x5000, 0x6000, 0x7ff8, 0xfff8 - 0x100]) {
    w32(g, D + off, -1);
    assert.equal(r32(g, D + off), 0, `0x${off.toString(16)}`);
  }
  assert.deepEqual(g.mmioRead(0, D + 0x2, 4), [0, 0]);
  g.mmioWrite(0, D + 0x3, 2, 0xffff, 0);
  // INTIDs 0-31 are the redistributors' with ARE = 1.
  w32(g, D + 0x100, -1);
  assert.equal(r32(g, D + 0x100), 0);
  // SPIs beyond ITLinesNumber.
  w32(g, D + 0x100 + 12, -1);
  assert.equal(r32(g, D + 0x100 + 12), 0);
});

test('distributor SPI registers: groups, enables, pending, active, priorities (byte access), config, IROUTER (64-bit)', () => {
  const g = new VGicV3({ vcpus: 2, spis: 64 });
  assert.equal(r32(g, D + 0x84), 0xffffffff, 'IGROUPR1: Group 1 at reset');
  w32(g, D + 0x84, 0x0000ffff);
  assert.equal(r32(g, D + 0x84), 0x0000ffff);
  w32(g, D + 0x104, 0b1010);
  w32(g, D + 0x104, 0b0100);
  assert.equal(r32(g, D + 0x104), 0b1110, 'ISENABLER sets');
  assert.equal(r32(g, D + 0x184), 0b1110, 'ICENABLER reads the same');
  w32(g, D + 0x184, 0b0010);
  assert.equal(r32(g, D + 0x104), 0b1100, 'ICENABLER clears');
  w32(g, D + 0x204, 0b1);
  assert.equal(r32(g, D + 0x284), 0b1, 'ISPENDR');
  w32(g, D + 0x284, 0b1);
  assert.equal(r32(g, D + 0x204), 0);
  w32(g, D + 0x304, 0b100);
  assert.equal(r32(g, D + 0x384), 0b100);
  w32(g, D + 0x384, 0b100);
  assert.equal(r32(g, D + 0x304), 0);
  g.mmioWrite(0, D + 0x400 + 33, 1, 0x80, 0);
  g.mmioWrite(0, D + 0x400 + 34, 1, 0x40, 0);
  assert.equal(r32(g, D + 0x420), 0x00408000);
  assert.deepEqual(g.mmioRead(0, D + 0x400 + 34, 1), [0x40, 0]);
  w32(g, D + 0x424, 0x11223344);
  assert.equal(r32(g, D + 0x424), 0x11223344);
  assert.equal(r32(g, D + 0x400), 0, 'SGI/PPI priorities are in the redistributor');
  w32(g, D + 0xc08, 0b1010);
  assert.equal(r32(g, D + 0xc08), 0b1010, 'ICFGR2: INTIDs 32, 33 edge');
  assert.equal(g.irqState(33)!.edge, true);
  g.mmioWrite(0, D + 0x6000 + 8 * 40, 8, 0x80010203, 0x4);
  assert.deepEqual(g.mmioRead(0, D + 0x6000 + 8 * 40, 8), [0x010203, 0x4], 'IRM RAZ (No1N), Aff3 in bits 39:32');
  w32(g, D + 0x6000 + 8 * 40 + 4, 0);
  assert.deepEqual(g.mmioRead(0, D + 0x6000 + 8 * 40, 8), [0x010203, 0]);
});

test('redistributors: TYPER (processor number, affinity, Last), WAKER, SGI frame registers, ICFGR0 read-only', () => {
  const g = new VGicV3({ vcpus: 3, spis: 32 });
  for (let v = 0; v < 3; v++) {
    const [lo, hi] = g.mmioRead(v, R(v) + 0x8, 8);
    assert.equal((lo >> 8) & 0xffff, v);
    assert.equal((lo >> 4) & 1, v === 2 ? 1 : 0, 'Last');
    assert.equal(hi, defaultAffinity(v));
    assert.equal(r32(g, R(v) + 0xffe8) & 0xf0, 0x30);
  }
  assert.equal(r32(g, R(1) + 0x14), 6, 'ProcessorSleep and ChildrenAsleep at reset');
  w32(g, R(1) + 0x14, 0);
  assert.equal(r32(g, R(1) + 0x14), 0);
  assert.equal(r32(g, R(0) + 0x14), 6, 'per redistributor');
  assert.equal(r32(g, SGI(1) + 0xc00), 0xaaaaaaaa, 'SGIs are edge');
  w32(g, SGI(1) + 0xc00, 0);
  assert.equal(r32(g, SGI(1) + 0xc00), 0xaaaaaaaa);
  assert.equal(r32(g, SGI(1) + 0xc04), 0, 'PPIs level at reset');
  w32(g, SGI(1) + 0xc04, 0x2 << 2 * (27 - 16));
  assert.equal(g.irqState(27, 1)!.edge, true);
  w32(g, SGI(1) + 0x100, 1 << 27);
  assert.equal(g.irqState(27, 1)!.enabled, true);
  assert.equal(g.irqState(27, 0)!.enabled, false, 'banked per vCPU');
  g.mmioWrite(0, SGI(1) + 0x400 + 27, 1, 0x30, 0);
  assert.equal(g.irqState(27, 1)!.priority, 0x30);
  assert.equal(r32(g, SGI(1) + 0x418), 0x30000000);
  w32(g, SGI(1) + 0x80, 0);
  assert.equal(g.irqState(3, 1)!.group, 0);
  w32(g, SGI(1) + 0xd00, -1);
  assert.equal(r32(g, SGI(1) + 0xd00), 0, 'IGRPMODR0 RAZ/WI with DS = 1');
  assert.equal(g.handlesMmio(R(2) + 0x1fffc), true);
  assert.equal(g.handlesMmio(R(3)), false);
});

test('level-sensitive SPI: pending while the input is high; EOI maintenance when the guest deactivates it; resampled', () => {
  const g = new VGicV3({ vcpus: 1, spis: 32 });
  enableSpis(g, [40]);
  const pe = gicPe([mrs(0, 'ICC_IAR1_EL1'), HVC(1), msr('ICC_EOIR1_EL1', 0), HVC(2)]);
  g.setIrqLevel(40, true);
  assert.equal(r32(g, D + 0x204), 1 << 8, 'ISPENDR1 bit for INTID 40');
  g.flush(0, pe);
  assert.equal(pe.readSysreg('ICH_LR0_EL2') >> 62n, 1n);
  assert.equal((pe.readSysreg('ICH_LR0_EL2') >> 41n) & 1n, 1n, 'EOI maintenance requested');
  assert.equal(runToEl2(pe), 1);
  g.sync(0, pe);
  assert.equal(x(pe, 0), 40);
  assert.equal(g.irqState(40)!.active, true);
  assert.equal(g.irqState(40)!.pending, true, 'the input is still high: active and pending');
  resume(pe);
  g.flush(0, pe);
  assert.equal(lrState(pe, 0), 3, 'pending and active');
  g.sync(0, pe);
  // The device lowers its line (say the guest's handler wrote to it): active only; the deactivation asks for maintenance.
  g.setIrqLevel(40, false);
  g.flush(0, pe);
  assert.equal(lrState(pe, 0), 2);
  assert.equal(runToEl2(pe), 'irq', 'the EOI maintenance interrupt makes the guest exit');
  assert.equal(pe.maintenanceIrq, true);
  assert.equal(Number(pe.readSysreg('ICH_MISR_EL2')) & 1, 1);
  g.sync(0, pe);
  pe.irqLine = false;
  assert.equal(pe.maintenanceIrq, false);
  assert.equal(g.irqState(40)!.active, false);
  assert.equal(g.irqState(40)!.pending, false);
  // Raised again before the next entry: pending again.
  g.setIrqLevel(40, true);
  assert.equal(g.hasPending(0), true);
});

test('edge-triggered SPI: a rising input latches once; ICPENDR clears an edge but not a high level input', () => {
  const g = new VGicV3({ vcpus: 1, spis: 32 });
  w32(g, D + 0xc08, 0x2 << 2 * (41 - 32));
  enableSpis(g, [41, 42]);
  g.setIrqLevel(41, true);
  g.setIrqLevel(41, true);
  g.setIrqLevel(41, false);
  assert.equal(g.irqState(41)!.pending, true, 'latched after the input fell');
  w32(g, D + 0x284, 1 << 9);
  assert.equal(g.irqState(41)!.pending, false);
  g.setIrqLevel(41, true);
  assert.equal(g.irqState(41)!.pending, true, 'a new rising edge');
  g.setIrqLevel(42, true);
  w32(g, D + 0x284, 1 << 10);
  assert.equal(g.irqState(42)!.pending, true, 'level: the input keeps it pending');
  // Flushed edges move to the LR; a guest acknowledge consumes them.
  const pe = gicPe([mrs(0, 'ICC_IAR1_EL1'), mrs(1, 'ICC_IAR1_EL1'), HVC(1)]);
  g.mmioWrite(0, D + 0x400 + 42, 1, 0x80, 0);
  assert.equal(enter(g, pe), 1);
  assert.equal(x(pe, 0), 42, '42 (priority 0x80) before 41 (0xa0)');
  assert.equal(x(pe, 1), 1023, '41 cannot preempt the running 42');
  assert.equal(g.irqState(41)!.pending, true, 'still pending (in the LR, folded back by sync)');
});

test('priorities decide what is acknowledged first; disabled interrupts and disabled groups stay out of the LRs', () => {
  const g = new VGicV3({ vcpus: 1, spis: 32 });
  enableSpis(g, [50, 51, 52]);
  g.mmioWrite(0, D + 0x400 + 50, 1, 0x90, 0);
  g.mmioWrite(0, D + 0x400 + 51, 1, 0x20, 0);
  g.mmioWrite(0, D + 0x400 + 52, 1, 0x50, 0);
  w32(g, D + 0x200 + 4, 0b111 << (50 - 32));
  const pe = gicPe([mrs(0, 'ICC_IAR1_EL1'), msr('ICC_EOIR1_EL1', 0), mrs(1, 'ICC_IAR1_EL1'), msr('ICC_EOIR1_EL1', 1), mrs(2, 'ICC_IAR1_EL1'), msr('ICC_EOIR1_EL1', 2), mrs(3, 'ICC_IAR1_EL1'), HVC(1)]);
  w32(g, D + 0x180 + 4, 1 << (52 - 32)); // disable 52
  const first = enterUntil(g, pe);
  assert.equal(first.r, 1);
  assert.equal(first.irqs, 2, 'level-sensitive: an EOI maintenance exit after each deactivation');
  assert.deepEqual([x(pe, 0), x(pe, 1), x(pe, 2), x(pe, 3)], [51, 50, 1023, 1023]);
  assert.equal(g.irqState(52)!.pending, true, 'still pending, disabled');
  w32(g, D + 0x100 + 4, 1 << (52 - 32));
  w32(g, D + 0x0, 0); // Group 1 disabled in the distributor
  assert.equal(g.hasPending(0), false);
  w32(g, D + 0x0, 2);
  assert.equal(g.hasPending(0), true);
  resume(pe);
  pe.pc = 0x4000_0000n;
  assert.equal(enterUntil(g, pe).r, 1);
  assert.equal(x(pe, 0), 52);
});

test('more pending interrupts than list registers: the highest priorities first, underflow maintenance brings L0 back to refill', () => {
  const g = new VGicV3({ vcpus: 1, spis: 32 });
  const ids = [33, 34, 35, 36, 37, 38];
  const prios = [0x60, 0x10, 0x50, 0x30, 0x20, 0x40];
  enableSpis(g, ids);
  ids.forEach((id, k) => g.mmioWrite(0, D + 0x400 + id, 1, prios[k], 0));
  w32(g, D + 0xc08, 0xaaaaaaaa); // INTIDs 32-47 edge
  for (const id of ids) g.setIrqLevel(id, true);
  const code: number[] = [];
  for (let k = 0; k < 6; k++) code.push(mrs(k, 'ICC_IAR1_EL1'), msr('ICC_EOIR1_EL1', k));
  const pe = gicPe([...code, HVC(1)]);
  const levels: boolean[] = [];
  pe.onMaintenance = (l) => levels.push(l);
  g.flush(0, pe);
  assert.equal(pe.readSysreg('ICH_HCR_EL2') & 3n, 3n, 'En and UIE');
  const inLrs = [0, 1, 2, 3].map((n) => Number(pe.readSysreg(`ICH_LR${n}_EL2`) & 0xffffn)).sort();
  assert.deepEqual(inLrs, [34, 36, 37, 38], 'the four highest priorities');
  // The guest handles three, leaving one valid LR: underflow, the maintenance interrupt (the vGIC raises the physical IRQ), an exit.
  assert.equal(runToEl2(pe), 'irq');
  assert.ok(levels.includes(true));
  g.sync(0, pe);
  pe.irqLine = false; // the hypervisor core's part in this unattached setup
  resume(pe);
  assert.equal(enter(g, pe), 1);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((k) => x(pe, k)), [34, 37, 36, 38, 35, 33], 'in priority order across the refill');
  assert.equal(g.hasPending(0), false);
});

test('SGIs: target list with Aff1 and RS, IRM (all but self), Group 0 requests, one pending state per target', () => {
  const aff = (v: number): number => (v < 2 ? v : 0x100 + (v - 2)); // vCPUs 0,1 in cluster 0; 2,3 in cluster 1
  const g = new VGicV3({ vcpus: 4, spis: 32, affinity: aff });
  const pend = (sgi: number): number[] => [0, 1, 2, 3].filter((v) => g.irqState(sgi, v)!.pending);
  g.sendSgi(0, (5n << 24n) | 0b10n); // SGI 5 to Aff 0.0.0.1
  assert.deepEqual(pend(5), [1]);
  g.sendSgi(0, (6n << 24n) | (1n << 16n) | 0b11n); // SGI 6 to 0.0.1.{0,1}
  assert.deepEqual(pend(6), [2, 3]);
  g.sendSgi(2, (7n << 24n) | (1n << 40n)); // IRM
  assert.deepEqual(pend(7), [0, 1, 3]);
  g.sendSgi(0, (8n << 24n) | (1n << 44n) | 1n); // RS = 1: Aff0 16 — nobody
  assert.deepEqual(pend(8), []);
  w32(g, SGI(1) + 0x80, ~(1 << 9));
  g.sendSgi(0, (9n << 24n) | 0b11n, 0); // Group 0 request: only where SGI 9 is Group 0
  assert.deepEqual(pend(9), [1]);
  g.sendSgi(0, (10n << 24n) | 0b11n, 1); // Group 1 request generates either group (DS = 1)
  assert.deepEqual(pend(10), [0, 1]);
  // Edge semantics: sending twice leaves one pending SGI; kicks name the targets.
  const kicks: number[] = [];
  g.onKick = (v) => kicks.push(v);
  w32(g, SGI(3) + 0x100, 1 << 6);
  w32(g, D, 2);
  g.sendSgi(0, (6n << 24n) | (1n << 16n) | 0b10n);
  assert.ok(kicks.includes(3));
  assert.equal(g.hasPending(3), true);
});

test('SPI routing: IROUTER selects the vCPU whose LRs receive it; an SPI active on one vCPU is not given to another', () => {
  const g = new VGicV3({ vcpus: 2, spis: 32 });
  enableSpis(g, [45]);
  g.mmioWrite(0, D + 0x6000 + 8 * 45, 8, 1, 0); // to vCPU 1 (Aff0 = 1)
  g.setIrqLevel(45, true);
  const pe0 = gicPe([mrs(0, 'ICC_IAR1_EL1'), HVC(1)]);
  const pe1 = gicPe([mrs(0, 'ICC_IAR1_EL1'), HVC(1)]);
  assert.equal(g.hasPending(0), false);
  assert.equal(g.hasPending(1), true);
  assert.equal(enter(g, pe0, 0), 1);
  assert.equal(x(pe0, 0), 1023);
  assert.equal(enter(g, pe1, 1), 1);
  assert.equal(x(pe1, 0), 45);
  // Now active on vCPU 1; rerouting to vCPU 0 does not move it.
  g.mmioWrite(0, D + 0x6000 + 8 * 45, 8, 0, 0);
  resume(pe0);
  pe0.pc = 0x4000_0000n;
  assert.equal(enter(g, pe0, 0), 1);
  assert.equal(x(pe0, 0), 1023);
  g.flush(1, pe1);
  assert.equal(lrState(pe1, 0) & 2, 2, 'still active on vCPU 1');
  g.sync(1, pe1);
});

test('hardware-mapped PPI: injected with HW = 1, the physical line masked while active, re-evaluated on deactivation', () => {
  const g = new VGicV3({ vcpus: 1, spis: 32 });
  const pe = gicPe([mrs(0, 'ICC_IAR1_EL1'), HVC(1), msr('ICC_EOIR1_EL1', 0), HVC(2)]);
  let source = true;
  g.attachVcpu(0, pe);
  g.mapHw(0, 27, 27, () => source);
  w32(g, D, 2);
  w32(g, SGI(0) + 0x100, 1 << 27);
  g.setIrqLevel(27, true, 0);
  assert.equal(pe.irqLine, true, 'asserted and not injected: a physical IRQ for L0');
  g.flush(0, pe);
  assert.equal(pe.irqLine, false, 'acknowledged by L0: masked');
  const lr0 = pe.readSysreg('ICH_LR0_EL2');
  assert.equal(lr0 >> 61n, 0b011n, 'pending, HW');
  assert.equal((lr0 >> 32n) & 0x1fffn, 27n, 'pINTID');
  assert.equal(runToEl2(pe), 1);
  g.sync(0, pe);
  assert.equal(x(pe, 0), 27);
  assert.equal(g.irqState(27)!.physActive, true);
  resume(pe);
  g.flush(0, pe);
  assert.equal(pe.readSysreg('ICH_LR0_EL2') >> 61n, 0b101n, 'active, HW');
  // The guest deactivates while the source is still asserted: a new physical interrupt, the guest exits.
  assert.equal(runToEl2(pe), 'irq');
  g.sync(0, pe);
  assert.equal(g.irqState(27)!.physActive, false);
  assert.equal(g.irqState(27)!.active, false);
  resume(pe);
  source = false;
  g.setIrqLevel(27, false, 0);
  assert.equal(pe.irqLine, false);
  assert.equal(enter(g, pe), 2);
  assert.equal(g.hasPending(0), false);
});

test('attachVcpu: the PE\'s virtual timer output drives PPI 27, the guest exits when it fires', () => {
  const g = new VGicV3({ vcpus: 1, spis: 32 });
  const B_SELF = 0x14000000;
  const pe = gicPe([B_SELF]);
  g.attachVcpu(0, pe);
  w32(g, D, 2);
  w32(g, SGI(0) + 0x100, 1 << 27);
  pe.writeSysreg('CNTV_CVAL_EL0', 100n);
  pe.writeSysreg('CNTV_CTL_EL0', 1n);
  g.flush(0, pe);
  assert.equal(runToEl2(pe, 100_000), 'irq');
  g.sync(0, pe);
  assert.equal(g.irqState(27)!.level, true);
  g.flush(0, pe);
  assert.equal(pe.virqLine, true);
  assert.equal(pe.irqLine, false);
});

test('hasPending (WFI wake-up) counts only what the virtual CPU interface could signal: group enabled in ICH_VMCR_EL2, above VPMR', () => {
  const g = new VGicV3({ vcpus: 1, spis: 32 });
  enableSpis(g, [35], 0xc0);
  g.setIrqLevel(35, true);
  assert.equal(g.hasPending(0), true, 'no PE bound yet: the distributor view');
  const pe = gicPe([HVC(1)]);
  g.flush(0, pe);
  g.sync(0, pe);
  assert.equal(g.hasPending(0), true, 'VPMR 0xf8 > 0xc0');
  pe.writeSysreg('ICH_VMCR_EL2', (0xc0n << 24n) | 2n);
  assert.equal(g.hasPending(0), false, 'VPMR 0xc0 masks priority 0xc0');
  pe.writeSysreg('ICH_VMCR_EL2', (0xf8n << 24n) | 1n);
  assert.equal(g.hasPending(0), false, 'VENG1 = 0');
  g.reset();
  pe.writeSysreg('ICH_VMCR_EL2', (0xf8n << 24n) | 2n);
  assert.equal(g.hasPending(0), false, 'reset: disabled');
});

test('flush skips idle interrupts four at a time: every way of becoming pending or active is still seen, at both ends of 960 SPIs', () => {
  // Regression test for the scan summary (VGicV3.hint): flush/hasPending no longer visit every SPI, only groups
  // marked since they were last found idle. Each step below first lets a flush find everything idle.
  const g = new VGicV3({ vcpus: 2, spis: 960 });
  const first = 32, last = 32 + 960 - 1;
  enableSpis(g, [first, 37, 500, last]);
  w32(g, SGI(1) + 0x100, 1 << 9); // SGI 9 of vCPU 1
  const pe0 = gicPe([]), pe1 = gicPe([]);
  const lrIntids = (pe: PE): number[] => [0, 1, 2, 3].filter((n) => lrState(pe, n) !== 0).map((n) => Number(pe.readSysreg(`ICH_LR${n}_EL2`) & 0xffffn));
  const idle = (): void => {
    for (const [v, pe] of [[0, pe0], [1, pe1]] as const) {
      g.flush(v, pe);
      assert.deepEqual(lrIntids(pe), [], `vCPU ${v} idle`);
      g.sync(v, pe);
      assert.equal(g.hasPending(v), false);
    }
  };
  const expect = (v: number, pe: PE, ids: number[], msg: string): void => {
    assert.equal(g.hasPending(v), ids.length > 0 && !ids.every((i) => g.irqState(i, v)!.active), msg);
    g.flush(v, pe);
    assert.deepEqual(lrIntids(pe).sort((a, b) => a - b), ids, msg);
    g.sync(v, pe);
  };
  idle();
  g.setIrqLevel(last, true); // level input (SPIs route to affinity 0 by default)
  expect(0, pe0, [last], 'level input of the last SPI');
  g.setIrqLevel(last, false);
  idle();
  w32(g, D + 0x200 + 4 * (first >> 5), 1 << (first & 31)); // ISPENDR
  expect(0, pe0, [first], 'ISPENDR of the first SPI');
  w32(g, D + 0x280 + 4 * (first >> 5), 1 << (first & 31)); // ICPENDR
  idle();
  w32(g, D + 0x300 + 4 * (500 >> 5), 1 << (500 & 31)); // ISACTIVER: active only, does not wake
  expect(0, pe0, [500], 'ISACTIVER');
  w32(g, D + 0x380 + 4 * (500 >> 5), 1 << (500 & 31));
  idle();
  g.mmioWrite(0, D + 0x6000 + 8 * 37, 8, 1, 0); // SPI 37 to vCPU 1, edge-triggered
  w32(g, D + 0xc00 + 4 * (37 >> 4), 2 << (2 * (37 & 15)));
  g.setIrqLevel(37, true);
  g.setIrqLevel(37, false);
  expect(0, pe0, [], 'routed to vCPU 1, not 0');
  expect(1, pe1, [37], 'edge of SPI 37 on vCPU 1');
  w32(g, D + 0x280 + 4 * (37 >> 5), 1 << (37 & 31)); // not acknowledged: still pending until ICPENDR
  g.sendSgi(0, (9n << 24n) | 2n);
  expect(1, pe1, [9], 'SGI 9 to vCPU 1');
  w32(g, SGI(1) + 0x280, 1 << 9); // GICR_ICPENDR0
  idle();
});
