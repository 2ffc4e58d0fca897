/**
 * The GICv3 virtual CPU interface of the PE: L0 programs ICH_*_EL2 with
 * pe.writeSysreg, EL1 code uses the ICV_* registers with MRS/MSR (the ICC_*
 * encodings with HCR_EL2.IMO/FMO set). Acknowledge, EOI and deactivation in
 * both EOI modes, priorities, preemption and binary points, the priority
 * mask, HW list registers and the physical deactivation hook, the virtual
 * IRQ/FIQ signals, maintenance interrupt conditions and the traps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HVC, MOVZ, words } from '../../helpers/program.js';
import { SYSREG_BY_NAME, sr } from '../../../src/arch/sysregs.js';
import { DONE, HCR_IMO, HCR_RW, VBAR, VEC_FIQ, VEC_IRQ, VEC_SYNC, gicPe, lr, lrState, mrs, msr, resume, runToEl2, vmcr, x } from './helpers.js';

const misr = (pe: ReturnType<typeof gicPe>): number => Number(pe.readSysreg('ICH_MISR_EL2'));

test('ICH_VTR_EL2 describes 4 list registers, 5 priority and preemption bits, 16-bit INTIDs; it is read-only', () => {
  const pe = gicPe([]);
  const vtr = pe.readSysreg('ICH_VTR_EL2');
  assert.equal(vtr & 0x1fn, 3n, 'ListRegs = 4');
  assert.equal((vtr >> 29n) & 7n, 4n, 'PRIbits = 5');
  assert.equal((vtr >> 26n) & 7n, 4n, 'PREbits = 5');
  assert.equal((vtr >> 23n) & 7n, 0n, 'IDbits: 16 bits');
  assert.equal((vtr >> 19n) & 1n, 1n, 'TDS');
  pe.writeSysreg('ICH_VTR_EL2', 0n);
  assert.equal(pe.readSysreg('ICH_VTR_EL2'), vtr);
  // ICH_VMCR_EL2: VFIQEn RES1, binary points at least their minimum, VPMR's unimplemented bits clear.
  pe.writeSysreg('ICH_VMCR_EL2', 0xff000000n);
  assert.equal(pe.readSysreg('ICH_VMCR_EL2'), (0xf8n << 24n) | (2n << 21n) | (3n << 18n) | 8n);
});

test('acknowledge and EOI (EOImode 0): IAR1 returns the vINTID and activates it, RPR follows, EOIR1 drops priority and deactivates', () => {
  const pe = gicPe([
    mrs(0, 'ICC_HPPIR1_EL1'),
    mrs(1, 'ICC_IAR1_EL1'),
    mrs(2, 'ICC_RPR_EL1'),
    mrs(3, 'ICC_IAR1_EL1'),
    HVC(1),
    msr('ICC_EOIR1_EL1', 1),
    mrs(4, 'ICC_RPR_EL1'),
  ]);
  pe.writeSysreg('ICH_LR0_EL2', lr({ state: 1, vintid: 42, prio: 0xa0 }));
  assert.equal(pe.readSysreg('ICH_ELRSR_EL2'), 0b1110n);
  assert.equal(pe.virqLine, true, 'a pending Group 1 interrupt above PMR signals a virtual IRQ');
  assert.equal(runToEl2(pe), 1);
  assert.equal(x(pe, 0), 42, 'HPPIR1');
  assert.equal(x(pe, 1), 42, 'IAR1');
  assert.equal(x(pe, 2), 0xa0, 'running priority');
  assert.equal(x(pe, 3), 1023, 'nothing else pending: spurious');
  assert.equal(lrState(pe, 0), 2, 'active');
  assert.equal(pe.readSysreg('ICH_AP1R0_EL2'), 1n << BigInt(0xa0 >> 3));
  assert.equal(pe.virqLine, false);
  resume(pe);
  assert.equal(runToEl2(pe), DONE);
  assert.equal(x(pe, 4), 0xff, 'idle priority after EOI');
  assert.equal(lrState(pe, 0), 0, 'deactivated');
  assert.equal(pe.readSysreg('ICH_AP1R0_EL2'), 0n);
  assert.equal(pe.readSysreg('ICH_ELRSR_EL2'), 0b1111n);
});

test('a signalled virtual IRQ is taken at EL1 when PSTATE.I is clear, and ISR_EL1 shows it', () => {
  const pe = gicPe([mrs(5, 'ISR_EL1'), HVC(1)]);
  pe.writeSysreg('ICH_LR2_EL2', lr({ state: 1, vintid: 27 }));
  assert.equal(runToEl2(pe), 1, 'masked by PSTATE.I');
  assert.equal(x(pe, 5), 0x80, 'ISR_EL1.I');
  resume(pe);
  pe.daif = 0;
  pe.irqCheck = true;
  assert.equal(runToEl2(pe), VEC_IRQ, 'IRQ vector (current EL, SP_ELx)');
  assert.equal(pe.readSysreg('ELR_EL1'), BigInt(0x4000_0008));
});

test('the priority mask: only priorities strictly higher (lower values) than VPMR are signalled or acknowledged; HPPIR ignores it', () => {
  const pe = gicPe([mrs(0, 'ICC_IAR1_EL1'), mrs(1, 'ICC_HPPIR1_EL1'), HVC(1), mrs(2, 'ICC_PMR_EL1'), mrs(3, 'ICC_IAR1_EL1')]);
  pe.writeSysreg('ICH_VMCR_EL2', vmcr({ pmr: 0xa0 }));
  pe.writeSysreg('ICH_LR0_EL2', lr({ state: 1, vintid: 33, prio: 0xa0 }));
  assert.equal(pe.virqLine, false);
  assert.equal(runToEl2(pe), 1);
  assert.equal(x(pe, 0), 1023);
  assert.equal(x(pe, 1), 33);
  pe.writeSysreg('ICH_VMCR_EL2', vmcr({ pmr: 0xa8 }));
  assert.equal(pe.virqLine, true);
  resume(pe);
  assert.equal(runToEl2(pe), DONE);
  assert.equal(x(pe, 2), 0xa8);
  assert.equal(x(pe, 3), 33);
});

test('ICV_PMR_EL1 writes keep the implemented bits and recompute the virtual IRQ', () => {
  const pe = gicPe([msr('ICC_PMR_EL1', 0), HVC(1), mrs(1, 'ICC_PMR_EL1'), msr('ICC_PMR_EL1', 2), HVC(2)]);
  pe.setX(0, 0x10n);
  pe.setX(2, 0xffn);
  pe.writeSysreg('ICH_LR0_EL2', lr({ state: 1, vintid: 40, prio: 0x80 }));
  assert.equal(pe.virqLine, true);
  assert.equal(runToEl2(pe), 1);
  assert.equal(pe.virqLine, false, 'PMR 0x10 masks priority 0x80');
  resume(pe);
  assert.equal(runToEl2(pe), 2);
  assert.equal(x(pe, 1), 0x10);
  assert.equal(pe.readSysreg('ICH_VMCR_EL2') >> 24n, 0xf8n, 'PMR 0xff stores 0xf8');
  assert.equal(pe.virqLine, true);
});

test('group enables, ICH_HCR_EL2.En and group mismatches', () => {
  const pe = gicPe([mrs(0, 'ICC_IAR1_EL1'), mrs(1, 'ICC_IAR0_EL1'), HVC(1)]);
  pe.writeSysreg('ICH_LR0_EL2', lr({ state: 1, vintid: 50 }));
  pe.writeSysreg('ICH_VMCR_EL2', vmcr({ eng1: false }));
  assert.equal(pe.virqLine, false, 'VENG1 = 0');
  pe.writeSysreg('ICH_VMCR_EL2', vmcr({}));
  assert.equal(pe.virqLine, true);
  pe.writeSysreg('ICH_HCR_EL2', 0n);
  assert.equal(pe.virqLine, false, 'En = 0');
  assert.equal(runToEl2(pe), 1);
  assert.equal(x(pe, 0), 1023, 'no acknowledge while the interface is disabled');
  pe.writeSysreg('ICH_HCR_EL2', 1n);
  // IAR0 of a Group 1 interrupt: spurious, and the interrupt stays pending.
  resume(pe);
  pe.pc = 0x4000_0004n;
  assert.equal(runToEl2(pe), 1);
  assert.equal(x(pe, 1), 1023);
  assert.equal(lrState(pe, 0), 1);
});

test('Group 0 interrupts are virtual FIQs (VFIQEn is RES1), acknowledged through IAR0 and EOIR0', () => {
  const pe = gicPe([mrs(0, 'ICC_IAR1_EL1'), mrs(1, 'ICC_IAR0_EL1'), msr('ICC_EOIR0_EL1', 1), HVC(1)]);
  pe.writeSysreg('ICH_VMCR_EL2', vmcr({ eng0: true }));
  pe.writeSysreg('ICH_LR1_EL2', lr({ state: 1, vintid: 7, group: 0, prio: 0x10 }));
  assert.equal(pe.vfiqLine, true);
  assert.equal(pe.virqLine, false);
  assert.equal(runToEl2(pe), 1);
  assert.equal(x(pe, 0), 1023);
  assert.equal(x(pe, 1), 7);
  assert.equal(lrState(pe, 1), 0);
  // Taken as an FIQ when PSTATE.F is clear.
  pe.writeSysreg('ICH_LR1_EL2', lr({ state: 1, vintid: 7, group: 0, prio: 0x10 }));
  resume(pe);
  pe.daif = 0;
  pe.irqCheck = true;
  assert.equal(runToEl2(pe), VEC_FIQ);
});

test('preemption: a pending interrupt preempts only with a higher group priority; BPR1 sets the group priority bits', () => {
  // Acknowledge A (0x60), then look at B (0x40) under two binary points.
  const pe = gicPe([mrs(0, 'ICC_IAR1_EL1'), HVC(1), mrs(1, 'ICC_IAR1_EL1'), mrs(2, 'ICC_RPR_EL1'), msr('ICC_EOIR1_EL1', 1), mrs(3, 'ICC_RPR_EL1'), msr('ICC_EOIR1_EL1', 0), mrs(4, 'ICC_RPR_EL1'), HVC(2)]);
  pe.writeSysreg('ICH_LR0_EL2', lr({ state: 1, vintid: 100, prio: 0x60 }));
  assert.equal(runToEl2(pe), 1);
  assert.equal(x(pe, 0), 100);
  pe.writeSysreg('ICH_LR1_EL2', lr({ state: 1, vintid: 101, prio: 0x40 }));
  assert.equal(pe.virqLine, true, 'BPR1 = 3: group priority 0x40 < 0x60');
  pe.writeSysreg('ICH_VMCR_EL2', vmcr({ bpr1: 6 }));
  assert.equal(pe.virqLine, false, 'BPR1 = 6: both in group priority 0x40');
  pe.writeSysreg('ICH_LR1_EL2', lr({ state: 1, vintid: 101, prio: 0x20 }));
  assert.equal(pe.virqLine, true, 'BPR1 = 6: 0x00 < 0x40');
  pe.writeSysreg('ICH_VMCR_EL2', vmcr({}));
  pe.writeSysreg('ICH_LR1_EL2', lr({ state: 1, vintid: 101, prio: 0x60 }));
  assert.equal(pe.virqLine, false, 'equal priority never preempts');
  pe.writeSysreg('ICH_LR1_EL2', lr({ state: 1, vintid: 101, prio: 0x40 }));
  resume(pe);
  assert.equal(runToEl2(pe), 2);
  assert.equal(x(pe, 1), 101, 'nested acknowledge');
  assert.equal(x(pe, 2), 0x40);
  assert.equal(x(pe, 3), 0x60, 'EOI of the inner one drops to the outer priority');
  assert.equal(x(pe, 4), 0xff);
  assert.equal(lrState(pe, 0), 0);
  assert.equal(lrState(pe, 1), 0);
});

test('the highest priority pending LR wins; the lowest index on equal priorities', () => {
  const pe = gicPe([mrs(0, 'ICC_IAR1_EL1'), mrs(1, 'ICC_IAR1_EL1'), mrs(2, 'ICC_IAR1_EL1'), HVC(1)]);
  pe.writeSysreg('ICH_LR0_EL2', lr({ state: 1, vintid: 60, prio: 0x90 }));
  pe.writeSysreg('ICH_LR1_EL2', lr({ state: 1, vintid: 61, prio: 0x30 }));
  pe.writeSysreg('ICH_LR2_EL2', lr({ state: 1, vintid: 62, prio: 0x30 }));
  assert.equal(runToEl2(pe), 1);
  // 61 is acknowledged, then 62 has the same group priority as the running one: spurious.
  assert.equal(x(pe, 0), 61);
  assert.equal(x(pe, 1), 1023);
  assert.equal(x(pe, 2), 1023);
  assert.equal(lrState(pe, 2), 1);
});

test('binary point registers: minimum values, CBPR makes BPR1 read BPR0+1 and ignore writes; CTLR fields', () => {
  const pe = gicPe([
    msr('ICC_BPR0_EL1', 31), mrs(0, 'ICC_BPR0_EL1'),
    msr('ICC_BPR1_EL1', 31), mrs(1, 'ICC_BPR1_EL1'),
    mrs(2, 'ICC_CTLR_EL1'),
    MOVZ(9, 1), msr('ICC_CTLR_EL1', 9),
    MOVZ(9, 5), msr('ICC_BPR0_EL1', 9),
    MOVZ(9, 7), msr('ICC_BPR1_EL1', 9), mrs(3, 'ICC_BPR1_EL1'),
    mrs(4, 'ICC_CTLR_EL1'),
    MOVZ(9, 2), msr('ICC_CTLR_EL1', 9), mrs(5, 'ICC_CTLR_EL1'),
  ]);
  assert.equal(runToEl2(pe), DONE);
  assert.equal(x(pe, 0), 2, 'BPR0 minimum 7 - PREbits');
  assert.equal(x(pe, 1), 3, 'BPR1 minimum');
  assert.equal(x(pe, 2), (4 << 8) | (1 << 15), 'CTLR: PRIbits 5, IDbits 16, A3V');
  assert.equal(x(pe, 3), 6, 'CBPR: BPR1 reads BPR0 + 1');
  assert.equal((pe.readSysreg('ICH_VMCR_EL2') >> 18n) & 7n, 3n, 'BPR1 write ignored with CBPR');
  assert.equal(x(pe, 4), (4 << 8) | (1 << 15) | 1);
  assert.equal(x(pe, 5), (4 << 8) | (1 << 15) | 2, 'EOImode');
  assert.equal((pe.readSysreg('ICH_VMCR_EL2') >> 9n) & 1n, 1n, 'VEOIM');
});

test('EOImode 1: EOIR only drops the priority, DIR deactivates; DIR is ignored with EOImode 0', () => {
  const pe = gicPe([
    mrs(0, 'ICC_IAR1_EL1'), msr('ICC_DIR_EL1', 0), HVC(1),
    MOVZ(9, 2), msr('ICC_CTLR_EL1', 9),
    msr('ICC_EOIR1_EL1', 0), mrs(1, 'ICC_RPR_EL1'), HVC(2),
    msr('ICC_DIR_EL1', 0), HVC(3),
  ]);
  pe.writeSysreg('ICH_LR3_EL2', lr({ state: 1, vintid: 77 }));
  assert.equal(runToEl2(pe), 1);
  assert.equal(x(pe, 0), 77);
  assert.equal(lrState(pe, 3), 2, 'DIR with EOImode 0 does nothing');
  resume(pe);
  assert.equal(runToEl2(pe), 2);
  assert.equal(x(pe, 1), 0xff, 'priority dropped');
  assert.equal(lrState(pe, 3), 2, 'still active');
  resume(pe);
  assert.equal(runToEl2(pe), 3);
  assert.equal(lrState(pe, 3), 0);
});

test('HW list registers: deactivation calls pe.gicHwDeactivate(pINTID), by EOIR (EOImode 0) or DIR (EOImode 1)', () => {
  const calls: number[] = [];
  const pe = gicPe([
    mrs(0, 'ICC_IAR1_EL1'), msr('ICC_EOIR1_EL1', 0), HVC(1),
    MOVZ(9, 2), msr('ICC_CTLR_EL1', 9),
    mrs(0, 'ICC_IAR1_EL1'), msr('ICC_EOIR1_EL1', 0), HVC(2),
    msr('ICC_DIR_EL1', 0), HVC(3),
  ]);
  pe.gicHwDeactivate = (p) => calls.push(p);
  pe.writeSysreg('ICH_LR0_EL2', lr({ state: 1, vintid: 27, hw: true, pintid: 27 }));
  assert.equal(runToEl2(pe), 1);
  assert.equal(x(pe, 0), 27);
  assert.deepEqual(calls, [27]);
  assert.equal(pe.readSysreg('ICH_EISR_EL2'), 0n, 'HW LRs never request EOI maintenance');
  assert.equal(pe.readSysreg('ICH_ELRSR_EL2') & 1n, 1n);
  pe.writeSysreg('ICH_LR0_EL2', lr({ state: 1, vintid: 27, hw: true, pintid: 30 }));
  resume(pe);
  assert.equal(runToEl2(pe), 2);
  assert.deepEqual(calls, [27], 'EOImode 1: no deactivation yet');
  resume(pe);
  assert.equal(runToEl2(pe), 3);
  assert.deepEqual(calls, [27, 30]);
});

test('maintenance: EOI (LR EOI bit), ICH_EISR_EL2, the output and its callback', () => {
  const levels: boolean[] = [];
  const pe = gicPe([mrs(0, 'ICC_IAR1_EL1'), msr('ICC_EOIR1_EL1', 0), HVC(1)]);
  pe.onMaintenance = (l) => levels.push(l);
  pe.writeSysreg('ICH_LR1_EL2', lr({ state: 1, vintid: 33, eoi: true }));
  assert.equal(pe.maintenanceIrq, false);
  assert.equal(runToEl2(pe), 1);
  assert.equal(pe.readSysreg('ICH_EISR_EL2'), 0b10n);
  assert.equal(pe.readSysreg('ICH_ELRSR_EL2'), 0b1101n);
  assert.equal(misr(pe), 1, 'MISR.EOI');
  assert.equal(pe.maintenanceIrq, true);
  // L0 empties the LR: the condition goes away.
  pe.writeSysreg('ICH_LR1_EL2', 0n);
  assert.equal(pe.maintenanceIrq, false);
  assert.deepEqual(levels, [true, false]);
});

test('maintenance: underflow (UIE with at most one valid LR) and no pending (NPIE)', () => {
  const pe = gicPe([]);
  pe.writeSysreg('ICH_LR0_EL2', lr({ state: 1, vintid: 40 }));
  pe.writeSysreg('ICH_LR1_EL2', lr({ state: 2, vintid: 41 }));
  pe.writeSysreg('ICH_HCR_EL2', 1n | 2n | 8n);
  assert.equal(misr(pe), 0);
  pe.writeSysreg('ICH_LR0_EL2', 0n);
  assert.equal(misr(pe), 2 | 8, 'one valid LR, none pending');
  assert.equal(pe.maintenanceIrq, true);
  pe.writeSysreg('ICH_LR1_EL2', lr({ state: 3, vintid: 41 }));
  assert.equal(misr(pe), 2 | 8, 'pending and active is not the pending state');
  pe.writeSysreg('ICH_LR1_EL2', lr({ state: 1, vintid: 41 }));
  assert.equal(misr(pe), 2);
  pe.writeSysreg('ICH_HCR_EL2', 2n);
  assert.equal(misr(pe), 2, 'MISR is computed with En = 0');
  assert.equal(pe.maintenanceIrq, false, 'but the interrupt is not asserted');
});

test('maintenance: EOIcount for EOIs of interrupts not in the LRs, with LRENPIE', () => {
  const pe = gicPe([msr('ICC_EOIR1_EL1', 0), HVC(1), msr('ICC_EOIR1_EL1', 0), HVC(2)]);
  pe.setX(0, 99n);
  pe.writeSysreg('ICH_HCR_EL2', 1n | 4n);
  pe.writeSysreg('ICH_AP1R0_EL2', 1n << 10n); // an interrupt of priority 0x50 is active but L0 keeps it outside the LRs
  assert.equal(runToEl2(pe), 1);
  assert.equal(pe.readSysreg('ICH_AP1R0_EL2'), 0n);
  assert.equal(pe.readSysreg('ICH_HCR_EL2') >> 27n, 1n);
  assert.equal(misr(pe), 4, 'LRENP');
  assert.equal(pe.maintenanceIrq, true);
  // Without an active priority the EOI is ignored.
  resume(pe);
  assert.equal(runToEl2(pe), 2);
  assert.equal(pe.readSysreg('ICH_HCR_EL2') >> 27n, 1n);
});

test('maintenance: VGrp0/1 enabled and disabled conditions follow ICV_IGRPEN<n>_EL1 writes', () => {
  const pe = gicPe([MOVZ(1, 1), msr('ICC_IGRPEN0_EL1', 1), HVC(1), msr('ICC_IGRPEN1_EL1', 31), mrs(2, 'ICC_IGRPEN1_EL1'), HVC(2)]);
  pe.writeSysreg('ICH_HCR_EL2', 1n | (0xfn << 4n));
  assert.equal(misr(pe), 0x20 | 0x40, 'VGrp0D, VGrp1E');
  assert.equal(runToEl2(pe), 1);
  assert.equal(misr(pe), 0x10 | 0x40, 'VGrp0E, VGrp1E');
  resume(pe);
  assert.equal(runToEl2(pe), 2);
  assert.equal(x(pe, 2), 0);
  assert.equal(misr(pe), 0x10 | 0x80, 'VGrp0E, VGrp1D');
});

test('active priority registers are readable and writable through ICV_AP1R0_EL1 and drive the running priority', () => {
  const pe = gicPe([mrs(0, 'ICC_AP1R0_EL1'), msr('ICC_AP1R0_EL1', 1), mrs(2, 'ICC_RPR_EL1'), HVC(1)]);
  pe.writeSysreg('ICH_AP1R0_EL2', 0x80000000n);
  pe.setX(1, 0x100n);
  assert.equal(runToEl2(pe), 1);
  assert.equal(x(pe, 0), 0x80000000);
  assert.equal(x(pe, 2), 8 << 3);
  assert.equal(pe.readSysreg('ICH_AP1R0_EL2'), 0x100n);
});

test('a special INTID in a list register is returned by IAR and the LR becomes invalid', () => {
  const pe = gicPe([mrs(0, 'ICC_IAR1_EL1'), HVC(1)]);
  pe.writeSysreg('ICH_LR0_EL2', lr({ state: 1, vintid: 1023 }));
  assert.equal(runToEl2(pe), 1);
  assert.equal(x(pe, 0), 1023);
  assert.equal(lrState(pe, 0), 0);
  assert.equal(pe.readSysreg('ICH_AP1R0_EL2'), 0n);
});

test('traps: ICH_HCR_EL2.TALL1/TALL0/TC/TDIR and the SGI registers trap to EL2 with EC 0x18', () => {
  const esrOf = (name: string, rt: number, read: number): number => {
    const r = SYSREG_BY_NAME.get(name)!;
    return ((0x18 << 26) | (1 << 25) | (r.op0 << 20) | (r.op2 << 17) | (r.op1 << 14) | (r.crn << 10) | (rt << 5) | (r.crm << 1) | read) >>> 0;
  };
  const cases: Array<[number, number, string, number, number]> = [
    [mrs(3, 'ICC_IAR1_EL1'), 1 << 12, 'ICC_IAR1_EL1', 3, 1],
    [msr('ICC_EOIR0_EL1', 4), 1 << 11, 'ICC_EOIR0_EL1', 4, 0],
    [mrs(5, 'ICC_PMR_EL1'), 1 << 10, 'ICC_PMR_EL1', 5, 1],
    [msr('ICC_DIR_EL1', 6), 1 << 14, 'ICC_DIR_EL1', 6, 0],
    [msr('ICC_SGI1R_EL1', 7), 0, 'ICC_SGI1R_EL1', 7, 0],
    [msr('ICC_SGI0R_EL1', 7), 0, 'ICC_SGI0R_EL1', 7, 0],
    [msr('ICC_ASGI1R_EL1', 7), 0, 'ICC_ASGI1R_EL1', 7, 0],
  ];
  for (const [insn, ichHcr, name, rt, read] of cases) {
    const pe = gicPe([insn]);
    pe.writeSysreg('ICH_HCR_EL2', BigInt(1 | ichHcr));
    assert.equal(runToEl2(pe), -0x18, name);
    assert.equal(Number(pe.readSysreg('ESR_EL2')), esrOf(name, rt, read), `${name} syndrome`);
    assert.equal(pe.readSysreg('ELR_EL2'), 0x4000_0000n, 'preferred return: the instruction');
  }
  // TALL1 traps even when the access would be physical (IMO = 0).
  const pe = gicPe([mrs(3, 'ICC_IAR1_EL1')], { hcr: HCR_RW });
  pe.writeSysreg('ICH_HCR_EL2', BigInt(1 << 12));
  assert.equal(runToEl2(pe), -0x18);
});

test('without IMO/FMO the physical interface is not implemented: UNDEFINED at EL1; EL0 accesses are UNDEFINED; ICC_SRE_EL1 reads 7', () => {
  const pe = gicPe([mrs(0, 'ICC_SRE_EL1'), msr('ICC_SRE_EL1', 31), mrs(1, 'ICC_SRE_EL1'), HVC(1), mrs(2, 'ICC_IAR1_EL1')], { hcr: HCR_RW });
  assert.equal(runToEl2(pe), 1);
  assert.equal(x(pe, 0), 7);
  assert.equal(x(pe, 1), 7);
  resume(pe);
  assert.equal(runToEl2(pe), VEC_SYNC);
  assert.equal(Number(pe.readSysreg('ESR_EL1')) >>> 26, 0, 'EC 0: UNDEFINED');
  // Group 1 virtual with IMO, Group 0 physical without FMO.
  const pe2 = gicPe([mrs(0, 'ICC_IAR1_EL1'), mrs(1, 'ICC_IAR0_EL1')], { hcr: HCR_RW | HCR_IMO });
  assert.equal(runToEl2(pe2), VEC_SYNC);
  assert.equal(pe2.readSysreg('ELR_EL1'), 0x4000_0004n);
  // ICV registers beyond the implemented APRs are UNDEFINED.
  const pe3 = gicPe([mrs(0, 'ICC_AP1R1_EL1')]);
  assert.equal(runToEl2(pe3), VEC_SYNC);
  // At EL0 every ICC/ICV register is UNDEFINED (taken to EL1 from the lower EL).
  const pe4 = gicPe([mrs(0, 'ICC_IAR1_EL1')]);
  pe4.bus.writeBytes(VBAR + 0x400, words([HVC(0x5400)]));
  pe4.setPstate(0);
  assert.equal(runToEl2(pe4), 0x5400);
  assert.equal(Number(pe4.readSysreg('ESR_EL1')) >>> 26, 0);
});

test('L0 writes through pe.setSr followed by pe.gic.update() (no BigInt) give the same signals', () => {
  const pe = gicPe([]);
  const id = sr('ICH_LR0_EL2');
  pe.setSr(id, 55, (1 << 30) | (1 << 28) | (0x80 << 16));
  assert.equal(pe.virqLine, false);
  pe.gic.update();
  assert.equal(pe.virqLine, true);
  assert.equal(pe.readSysreg('ICH_ELRSR_EL2'), 0b1110n);
});
