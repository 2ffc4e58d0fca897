/**
 * L0's side of the vGIC contract (src/hyp/vgic/types.ts), tested with a fake
 * VirtualGic: flush before each entry and sync after, MMIO in its range
 * routed to it (no exit), the EL1 virtual timer forwarded as PPI 27 to a
 * sleeping vCPU, ICC_SGI1R_EL1 trapped and handed to sendSgi, onKick waking
 * the target, hasPending as the WFI wake-up condition.
 *
 * The fake is a tiny GICv2-like controller: reading distBase + 0 acknowledges
 * the highest pending interrupt of the reading vCPU (1023 if none); it
 * asserts the vCPU's virtual IRQ input in flush while anything is pending.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PE } from '../../src/cpu/pe.js';
import type { VirtualGic } from '../../src/hyp/vgic/types.js';
import { Hypervisor, Reg } from '../../src/hyp/index.js';
import { A } from './asm.js';
import { Image, RAM, SYSTEM_OFF, show } from './util.js';

const GICD = 0x0800_0000;

class FakeGic implements VirtualGic {
  readonly distBase = GICD;
  readonly redistBase = 0x080a_0000;
  onKick: ((vcpu: number) => void) | null = null;
  readonly pending: Array<Set<number>>;
  readonly log: string[] = [];
  flushes = 0;
  syncs = 0;
  constructor(n: number) {
    this.pending = Array.from({ length: n }, () => new Set<number>());
  }
  handlesMmio(gpa: number): boolean {
    return gpa >= GICD && gpa < GICD + 0x10000;
  }
  mmioRead(vcpu: number, gpa: number, size: number): [number, number] {
    this.log.push(`read ${vcpu} +${(gpa - GICD).toString(16)}/${size}`);
    const p = [...this.pending[vcpu]].sort((a, b) => a - b);
    if (p.length === 0) return [1023, 0];
    this.pending[vcpu].delete(p[0]);
    return [p[0], 0];
  }
  mmioWrite(vcpu: number, gpa: number, size: number, lo: number): void {
    this.log.push(`write ${vcpu} +${(gpa - GICD).toString(16)}/${size}=${lo}`);
  }
  setIrqLevel(intid: number, level: boolean, vcpu = 0): void {
    this.log.push(`level ${intid} ${level} ${vcpu}`);
    if (level) {
      this.pending[vcpu].add(intid);
      this.onKick?.(vcpu);
    } else this.pending[vcpu].delete(intid);
  }
  flush(vcpu: number, pe: PE): void {
    this.flushes++;
    const want = this.pending[vcpu].size > 0;
    if (pe.virqLine !== want) {
      pe.virqLine = want;
      pe.irqCheck = true;
    }
  }
  sync(): void {
    this.syncs++;
  }
  hasPending(vcpu: number): boolean {
    return this.pending[vcpu].size > 0;
  }
  sendSgi(from: number, value: bigint): void {
    this.log.push(`sgi from ${from} value 0x${value.toString(16)}`);
    const intid = Number((value >> 24n) & 0xfn);
    for (let t = 0; t < 16; t++) {
      if ((value >> BigInt(t)) & 1n) {
        this.pending[t].add(intid);
        this.onKick?.(t);
      }
    }
  }
}

test('fake vGIC: a timer interrupt wakes vCPU 0 from WFI; an SGI wakes vCPU 1; GIC MMIO stays in L0', () => {
  const VEC = 0x800;
  const FLAG = 0x2000;
  // IRQ handler (current EL, SPx: VBAR + 0x280): x20 = acknowledged INTID (read GICD+0), mask the
  // virtual timer (CNTV_CTL = ENABLE|IMASK), store the INTID at FLAG + 8*aff0, ERET.
  const irq = [
    ...A.mov64(19, GICD), A.ldstU(2, 1, 20, 19, 0),
    ...A.mov64(19, 3), A.msr('CNTV_CTL_EL0', 19),
    A.mrs(19, 'MPIDR_EL1'), 0x92401e73, // and x19, x19, #0xff
    0xd37df273, // lsl x19, x19, #3
    ...A.mov64(18, RAM + FLAG), 0x8b130252, // add x18, x18, x19
    A.ldstU(3, 0, 20, 18, 0),
    0xd69f03e0,
  ];
  const main = [
    ...A.mov64(1, RAM + VEC), A.msr('VBAR_EL1', 1), A.isb(),
    ...A.mov64(1, 50_000), A.msr('CNTV_TVAL_EL0', 1), ...A.mov64(1, 1), A.msr('CNTV_CTL_EL0', 1),
    0xd50342ff, // msr daifclr, #2
    // wait for the timer IRQ: while (flag0 == 0) wfi
    ...A.mov64(2, RAM + FLAG),
    A.wfi(), A.ldstU(3, 1, 3, 2, 0), A.cbnz(3, 2), A.b(-3),
    // CPU_ON(1, secondary)
    ...A.mov64(0, 0xc4000003), ...A.mov64(1, 1), ...A.mov64(2, RAM + 0x1000), ...A.mov64(3, 0), A.hvc(),
    // SGI 5 to vCPU 1: ICC_SGI1R_EL1 = INTID 5 << 24 | target list bit 1 (Aff1.Aff2.Aff3 = 0)
    ...A.mov64(4, (5 << 24) | 2), A.msrSgi1r(4),
    // wait for vCPU 1 to power off: AFFINITY_INFO(1) == 1
    A.wfe(), ...A.mov64(0, 0xc4000004), ...A.mov64(1, 1), ...A.mov64(2, 0), A.hvc(), A.subi(0, 0, 1), A.cbnz(0, -14),
    ...A.mov64(0, SYSTEM_OFF), A.hvc(),
  ];
  const secondary = [
    ...A.mov64(1, RAM + VEC), A.msr('VBAR_EL1', 1), A.isb(),
    0xd50342ff, // msr daifclr, #2
    ...A.mov64(2, RAM + FLAG + 8),
    A.wfi(), A.ldstU(3, 1, 3, 2, 0), A.cbnz(3, 2), A.b(-3),
    ...A.mov64(0, 0x84000002), A.hvc(), // CPU_OFF
  ];
  const img = new Image().at(0, main).at(0x1000, secondary).at(VEC + 0x280, irq);
  const hv = new Hypervisor();
  const fake = new FakeGic(2);
  const vm = hv.createVm([{ kind: 'vcpus', count: 2 }, { kind: 'irqchip', gic: fake }]);
  vm.setMemoryRegion(0, { gpa: RAM, memory: img.mem });
  const v0 = vm.createVcpu();
  vm.createVcpu();
  v0.setReg(Reg.PC, BigInt(RAM));
  const r = vm.run();
  assert.equal(r.exit.reason, 'system-event', show(r.exit));
  const dv = new DataView(img.mem.buffer);
  assert.equal(dv.getBigUint64(FLAG, true), 27n, 'vCPU 0 acknowledged the virtual timer PPI');
  assert.equal(dv.getBigUint64(FLAG + 8, true), 5n, 'vCPU 1 acknowledged SGI 5');
  assert.ok(fake.log.includes('level 27 true 0'));
  assert.ok(fake.log.includes('level 27 false 0'), 'the masked timer output is forwarded as a falling level');
  assert.ok(fake.log.includes('sgi from 0 value 0x5000002'));
  assert.ok(fake.log.includes('read 0 +0/4') && fake.log.includes('read 1 +0/4'));
  assert.ok(fake.flushes > 0 && fake.flushes === fake.syncs, 'flush and sync pair around every entry');
  const s = vm.stats();
  assert.equal(s.sgi, 1);
  assert.equal(s['mmio-vgic'], 2);
  assert.equal(s['mmio-read'], 0, 'no GIC access went to the VMM');
  assert.ok(s.wfi >= 2);
  // The ID registers advertise the GIC system register interface with an irqchip.
  assert.equal((v0.getReg(Reg.named('ID_AA64PFR0_EL1')) >> 24n) & 0xfn, 1n);
});

test('an irqchip may be given as a factory, and memory may not overlap it', () => {
  const hv = new Hypervisor();
  let made = 0;
  const vm = hv.createVm([{ kind: 'vcpus', count: 3 }, { kind: 'irqchip', gic: (info) => { made = info.vcpus; return new FakeGic(info.vcpus); } }]);
  assert.equal(made, 3);
  assert.throws(() => vm.setMemoryRegion(0, { gpa: GICD, memory: new Uint8Array(0x1000) }), /vGIC/);
  assert.throws(() => vm.setIrqchip(new FakeGic(3)), /already has an irqchip/);
});
