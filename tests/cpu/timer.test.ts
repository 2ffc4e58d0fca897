/**
 * The generic timer: the deterministic counter, CNTVOFF_EL2, CTL/CVAL/TVAL
 * semantics through MRS/MSR, the outputs and onChange, the deadline the run
 * loop uses, fast-forwarding while the PE sleeps, and the host-time mode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhysicalBus } from '../../src/cpu/bus.js';
import { PE, RunExit } from '../../src/cpu/pe.js';
import { TimerId } from '../../src/cpu/timer.js';
import { SYSREG_BY_NAME } from '../../src/arch/sysregs.js';

const BASE = 0x4000_0000;
const NOP = 0xd503201f;
const B_SELF = 0x14000000;
const WFI = 0xd503207f;

function regFields(name: string): number {
  const r = SYSREG_BY_NAME.get(name)!;
  return ((r.op0 & 1) << 19) | (r.op1 << 16) | (r.crn << 12) | (r.crm << 8) | (r.op2 << 5);
}
const mrs = (rt: number, name: string): number => (0xd5300000 | regFields(name) | rt) >>> 0;
const msr = (name: string, rt: number): number => (0xd5100000 | regFields(name) | rt) >>> 0;

function machine(code: number[]): PE {
  const bus = new PhysicalBus();
  bus.addRam(BASE, 1 << 20);
  const pe = new PE(bus);
  bus.writeBytes(BASE, new Uint8Array(new Uint32Array([...code, B_SELF].map((w) => w >>> 0)).buffer));
  pe.pc = BigInt(BASE);
  return pe;
}

test('CNTPCT/CNTVCT follow retired instructions; MRS sees the live count inside a block', () => {
  const pe = machine([NOP, NOP, NOP, NOP, NOP, NOP, NOP, mrs(0, 'CNTPCT_EL0'), NOP, NOP, NOP, mrs(1, 'CNTVCT_EL0')]);
  pe.writeSysreg('CNTVOFF_EL2', 2n);
  pe.run(12);
  // 0.625 ticks per instruction: 7 instructions before the first MRS, 11 before the second.
  assert.equal(pe.getX(0), BigInt(Math.floor(7 * 0.625)));
  assert.equal(pe.getX(1), BigInt(Math.floor(11 * 0.625) - 2));
});

test('CNTVCT wraps modulo 2^64 when CNTVOFF_EL2 exceeds the count', () => {
  const pe = machine([NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP, mrs(1, 'CNTVCT_EL0')]);
  pe.writeSysreg('CNTVOFF_EL2', 10n);
  pe.run(9);
  assert.equal(pe.getX(1), (1n << 64n) - 5n);
});

test('CNTV: ISTATUS once the count reaches CVAL, output with ENABLE and !IMASK, deadline and onChange', () => {
  const pe = machine([msr('CNTV_CVAL_EL0', 1), msr('CNTV_CTL_EL0', 2), mrs(3, 'CNTV_CTL_EL0'), mrs(4, 'CNTV_TVAL_EL0'), B_SELF]);
  const changes: Array<[TimerId, boolean]> = [];
  pe.timer.onChange = (t, l) => changes.push([t, l]);
  pe.setX(1, 100n);
  pe.setX(2, 1n); // ENABLE
  pe.run(4);
  assert.equal(pe.getX(3), 1n, 'enabled, condition not met');
  const tval = Number(BigInt.asIntN(32, pe.getX(4)));
  assert.equal(pe.getX(4) >> 32n, 0n, 'bits 63:32 of TVAL are RES0');
  assert.ok(tval > 90 && tval <= 100, `TVAL ${tval}`);
  // Count 100 at icount 160 (0.625 ticks per instruction).
  assert.equal(pe.timer.deadline, 160);
  assert.equal(pe.timer.virtOutput, false);
  pe.run(200);
  assert.equal(pe.timer.virtOutput, true);
  assert.deepEqual(changes, [[TimerId.Virt, true]]);
  assert.equal(pe.timer.deadline, Infinity);
  // IMASK drops the output but ISTATUS stays.
  pe.writeSysreg('CNTV_CTL_EL0', 3n);
  assert.equal(pe.timer.virtOutput, false);
  assert.equal(pe.timer.readCtl(TimerId.Virt), 7);
  // Disabling clears everything.
  pe.writeSysreg('CNTV_CTL_EL0', 0n);
  assert.equal(pe.timer.readCtl(TimerId.Virt), 0);
});

test('TVAL writes set CVAL = count + SignExtend(TVAL); TVAL reads the signed 32-bit difference', () => {
  const pe = machine([NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP, msr('CNTP_TVAL_EL0', 1), mrs(2, 'CNTP_CVAL_EL0'), mrs(3, 'CNTP_TVAL_EL0'), msr('CNTP_CTL_EL0', 4), mrs(5, 'CNTP_CTL_EL0'), NOP]);
  pe.setX(1, 0xfffffffdn); // -3 as a 32-bit value; bits 63:32 ignored
  pe.setX(4, 1n);
  pe.run(14);
  const countAt8 = Math.floor(8 * 0.625); // 5
  assert.equal(pe.getX(2), BigInt(countAt8 - 3));
  const countAt10 = Math.floor(10 * 0.625); // 6
  assert.equal(BigInt.asIntN(32, pe.getX(3)), BigInt(countAt8 - 3 - countAt10));
  assert.equal(pe.getX(5), 5n, 'ENABLE and ISTATUS');
  assert.equal(pe.timer.physOutput, true);
});

test('TVAL writes below zero wrap CVAL through 2^64', () => {
  const pe = machine([msr('CNTP_TVAL_EL0', 1), mrs(2, 'CNTP_CVAL_EL0'), NOP]);
  pe.setX(1, 0x80000000n); // -2^31
  pe.run(2);
  assert.equal(pe.getX(2), (1n << 64n) - (1n << 31n));
});

test('CNTHCTL_EL2.EL1PCTEN and EL1PCEN trap the physical counter and timer to EL2', () => {
  let pe = machine([mrs(0, 'CNTPCT_EL0')]);
  pe.writeSysreg('CNTHCTL_EL2', 2n);
  assert.equal(pe.run(3), RunExit.El2);
  pe = machine([mrs(0, 'CNTP_CTL_EL0')]);
  pe.writeSysreg('CNTHCTL_EL2', 1n);
  assert.equal(pe.run(3), RunExit.El2);
  pe = machine([mrs(0, 'CNTVCT_EL0'), mrs(1, 'CNTV_CTL_EL0'), NOP]);
  pe.writeSysreg('CNTHCTL_EL2', 0n);
  assert.equal(pe.run(3), RunExit.Budget, 'the virtual counter and timer are not trapped');
});

test('WFI with a timer armed: the caller learns the deadline and fast-forwards', () => {
  const pe = machine([msr('CNTV_CVAL_EL0', 1), msr('CNTV_CTL_EL0', 2), WFI, mrs(3, 'CNTV_CTL_EL0'), B_SELF]);
  pe.setX(1, 1_000_000n);
  pe.setX(2, 1n);
  assert.equal(pe.run(100), RunExit.Wfi);
  const ticks = pe.timer.ticksUntilNextDeadline();
  assert.ok(ticks > 999_990 && ticks <= 1_000_000, `ticks ${ticks}`);
  assert.equal(pe.timer.nextDeadlineIcount, 1_600_000);
  pe.timer.skipTo(pe.timer.nextDeadlineIcount);
  assert.equal(pe.timer.virtOutput, true);
  assert.ok(pe.timer.physicalCount() >= 1_000_000);
  pe.waiting = false;
  pe.run(2);
  assert.equal(pe.getX(3), 5n);
  assert.ok(pe.icount < 100, 'instructions were not charged for the sleep');
});

test('host-time mode: the counter follows performance.now() and stays monotonic across mode changes', async () => {
  const pe = machine([NOP]);
  pe.icount = 1000;
  const before = pe.timer.physicalCount();
  pe.timer.setMode('host');
  const c0 = pe.timer.physicalCount();
  assert.ok(c0 >= before);
  await new Promise((r) => setTimeout(r, 20));
  const c1 = pe.timer.physicalCount();
  // 62.5 MHz: 20 ms is 1.25 M ticks.
  assert.ok(c1 - c0 > 1_000_000, `advanced ${c1 - c0}`);
  pe.timer.setMode('icount');
  assert.ok(pe.timer.physicalCount() >= c1);
  // An armed timer in host mode makes the run loop look again within a few thousand instructions.
  pe.timer.setMode('host');
  pe.writeSysreg('CNTV_CVAL_EL0', BigInt(pe.timer.physicalCount() + 1_000_000_000));
  pe.writeSysreg('CNTV_CTL_EL0', 1n);
  assert.ok(pe.timer.deadline > pe.icount && pe.timer.deadline < pe.icount + 100_000);
});

test('TVAL written through the API (L0 restoring state) sets CVAL from the count', () => {
  const pe = machine([NOP]);
  pe.icount = 1600; // count 1000
  pe.writeSysreg('CNTV_TVAL_EL0', 500n);
  assert.equal(pe.readSysreg('CNTV_CVAL_EL0'), 1500n);
  pe.writeSysreg('CNTV_CTL_EL0', 1n);
  assert.equal(pe.timer.deadline, 2400);
});
