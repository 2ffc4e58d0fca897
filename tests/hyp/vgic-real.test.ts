/**
 * L0 with the real VGicV3 (src/hyp/vgic/vgic.ts): the EL1 virtual timer,
 * hardware-mapped as PPI 27, interrupts a vCPU sleeping in WFI through the
 * GICv3 virtual CPU interface (ICC_IAR1_EL1 / ICC_EOIR1_EL1 as ICV_*), and
 * an SGI sent with ICC_SGI1R_EL1 (trapped to L0, handed to sendSgi) wakes
 * a second vCPU. The distributor and redistributor accesses stay in L0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor, Reg } from '../../src/hyp/index.js';
import { VGicV3 } from '../../src/hyp/vgic/vgic.js';
import { A } from './asm.js';
import { Image, RAM, SYSTEM_OFF, show } from './util.js';

const GICD = 0x0800_0000;
const GICR = 0x080a_0000;

test('real vGIC: virtual timer PPI 27 wakes vCPU 0; SGI 3 wakes vCPU 1', () => {
  const VEC = 0x800, FLAG = 0x2000;
  // IRQ handler: x20 = ICC_IAR1_EL1; mask the virtual timer; ICC_EOIR1_EL1 = x20; store x20 at FLAG + 8*aff0; ERET.
  const irq = [
    A.mrs(20, 'ICC_IAR1_EL1'),
    ...A.mov64(19, 3), A.msr('CNTV_CTL_EL0', 19),
    A.msr('ICC_EOIR1_EL1', 20),
    A.mrs(19, 'MPIDR_EL1'), 0x92401e73, 0xd37df273, // and x19, x19, #0xff; lsl x19, x19, #3
    ...A.mov64(18, RAM + FLAG), 0x8b130252, // add x18, x18, x19
    A.ldstU(3, 0, 20, 18, 0),
    0xd69f03e0,
  ];
  // Per-CPU GIC set-up: wake the redistributor (GICR_WAKER = 0), enable SGIs/PPIs 3 and 27 (GICR_ISENABLER0),
  // ICC_PMR_EL1 = 0xff, ICC_IGRPEN1_EL1 = 1. x1 = this CPU's redistributor base.
  const cpuSetup = [
    A.ldstU(2, 0, 31, 1, 0x14), // str wzr, [x1, #0x14]
    ...A.mov64(2, (1 << 27) | (1 << 3)), ...A.mov64(3, 0x10100), 0xb8236822, // str w2, [x1, x3]
    ...A.mov64(2, 0xff), A.msr('ICC_PMR_EL1', 2),
    ...A.mov64(2, 1), A.msr('ICC_IGRPEN1_EL1', 2), A.isb(),
    ...A.mov64(2, RAM + VEC), A.msr('VBAR_EL1', 2), A.isb(),
    0xd50342ff, // msr daifclr, #2
  ];
  const main = [
    ...A.mov64(1, GICD), ...A.mov64(2, 2), A.ldstU(2, 0, 2, 1, 0), // GICD_CTLR.EnableGrp1
    ...A.mov64(1, GICR), ...cpuSetup,
    ...A.mov64(1, 50_000), A.msr('CNTV_TVAL_EL0', 1), ...A.mov64(1, 1), A.msr('CNTV_CTL_EL0', 1),
    ...A.mov64(2, RAM + FLAG), A.wfi(), A.ldstU(3, 1, 3, 2, 0), A.cbnz(3, 2), A.b(-3),
    ...A.mov64(0, 0xc4000003), ...A.mov64(1, 1), ...A.mov64(2, RAM + 0x1000), ...A.mov64(3, 0), A.hvc(),
    // wait until vCPU 1 says it is ready (FLAG+16), then SGI 3 to it.
    ...A.mov64(2, RAM + FLAG + 16), A.wfe(), A.ldstU(3, 1, 3, 2, 0), 0xb4ffffc3, // cbz x3, -2
    ...A.mov64(4, (3 << 24) | 2), A.msrSgi1r(4),
    A.wfe(), ...A.mov64(0, 0xc4000004), ...A.mov64(1, 1), ...A.mov64(2, 0), A.hvc(), A.subi(0, 0, 1), A.cbnz(0, -14),
    ...A.mov64(0, SYSTEM_OFF), A.hvc(),
  ];
  const secondary = [
    ...A.mov64(1, GICR + 0x20000), ...cpuSetup,
    ...A.mov64(2, RAM + FLAG + 16), ...A.mov64(3, 1), A.ldstU(3, 0, 3, 2, 0), // ready
    ...A.mov64(2, RAM + FLAG + 8), A.wfi(), A.ldstU(3, 1, 3, 2, 0), A.cbnz(3, 2), A.b(-3),
    ...A.mov64(0, 0x84000002), A.hvc(),
  ];
  const img = new Image().at(0, main).at(0x1000, secondary).at(VEC + 0x280, irq);
  const hv = new Hypervisor();
  const vm = hv.createVm([{ kind: 'vcpus', count: 2 }, { kind: 'irqchip', gic: ({ vcpus }) => new VGicV3({ vcpus }) }]);
  vm.setMemoryRegion(0, { gpa: RAM, memory: img.mem });
  const v0 = vm.createVcpu();
  vm.createVcpu();
  v0.setReg(Reg.PC, BigInt(RAM));
  const r = vm.run({ budget: 50_000_000 });
  assert.equal(r.exit.reason, 'system-event', `${show(r.exit)} pc=0x${(r.vcpu ?? v0).getReg(Reg.PC).toString(16)}`);
  const dv = new DataView(img.mem.buffer);
  assert.equal(dv.getBigUint64(FLAG, true), 27n, 'vCPU 0 took the virtual timer interrupt');
  assert.equal(dv.getBigUint64(FLAG + 8, true), 3n, 'vCPU 1 took SGI 3');
  const s = vm.stats();
  assert.equal(s.sgi, 1);
  assert.ok(s['mmio-vgic'] >= 5);
  assert.equal(s['mmio-read'] + s['mmio-write'], 0);
});
