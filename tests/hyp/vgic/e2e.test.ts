/**
 * End to end: the bare-metal guest tests/guests/gic-timer (a GICv3 driver
 * in miniature: distributor, redistributor wake-up, CPU interface through
 * ICC_* system registers, virtual timer interrupts in both EOI modes, an
 * SGI to itself, the priority mask) runs
 *  - on nestvisor under a minimal L0 (tests/hyp/vgic/l0.ts: PE + bus + RAM +
 *    PL011 + VGicV3, flush/sync around pe.run), where the guest's ICC_*
 *    accesses reach the PE's virtual CPU interface (ICV_*) and its GIC
 *    accesses the vGIC;
 *  - on nestvisor under the hypervisor core (src/hyp: stage 2, MMIO exits,
 *    the SGI trap), with the vGIC as its irqchip, with and without
 *    attachVcpu (hardware-mapped timer interrupts);
 *  - under qemu-system-aarch64 -M virt,gic-version=3 at EL1 on QEMU's
 *    GICv3 (the physical CPU interface);
 * and every run must print tests/hyp/vgic/expected/gic-timer.txt.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { runWithVgic } from './l0.js';
import { Hypervisor } from '../../../src/hyp/index.js';
import { VGicV3 } from '../../../src/hyp/vgic/vgic.js';
import { parseElf } from '../../../src/vmm/elf.js';
import { VECTOR_IRQ } from '../../../src/cpu/exceptions.js';
import { TimerId } from '../../../src/cpu/timer.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const ELF = join(ROOT, 'tests', 'guests', 'gic-timer', 'gic-timer.elf');
const EXPECTED = join(ROOT, 'tests', 'hyp', 'vgic', 'expected', 'gic-timer.txt');
const lines = (s: string): string[] => s.replace(/\r/g, '').replace(/\n+$/, '').split('\n');

test('gic-timer on nestvisor under a minimal L0 with VGicV3 prints the expected lines', () => {
  assert.ok(existsSync(ELF), `${ELF} is missing: bash tests/guests/build.sh gic-timer`);
  const r = runWithVgic(readFileSync(ELF));
  assert.equal(r.exit, 'poweroff', `${r.message ?? ''}\n${r.output}`);
  assert.deepEqual(lines(r.output), lines(readFileSync(EXPECTED, 'utf8')));
  assert.equal(r.sgiTraps, 2, 'two ICC_SGI1R_EL1 writes trapped to L0');
  assert.equal(r.irqExits, 2, 'the two timer interrupts that fire while the guest spins exit to L0 (the others wake it from WFI)');
});

/** A virtual timer interrupt taken by the guest: the virtual count at the IRQ exception entry and the CVAL it fired for. */
interface TimerIrq { count: number; cval: number }

function runOnCore(attach: boolean, timerIrqs: TimerIrq[] = []): { output: string; exit: string; irqExits: number } {
  const img = parseElf(readFileSync(ELF));
  const hv = new Hypervisor();
  const vm = hv.createVm([{ kind: 'irqchip', gic: (info) => new VGicV3(info) }]);
  const mem = new Uint8Array(64 << 20);
  vm.setMemoryRegion(0, { gpa: 0x4000_0000, memory: mem });
  for (const s of img.segments) mem.set(s.data.subarray(0, s.fileSize), s.paddr - 0x4000_0000);
  const vcpu = vm.createVcpu();
  if (attach) (vm.gic as VGicV3).attachVcpu(0, vcpu.pe);
  vm.reset(img.entry);
  // Every IRQ the guest takes at EL1 while its virtual timer condition holds (enabled, ISTATUS) is a timer interrupt (the SGIs come later, with the timer off).
  vcpu.pe.onException = (pe, target, vector) => {
    if (target !== 1 || vector !== VECTOR_IRQ) return;
    const ctl = pe.timer.readCtl(TimerId.Virt);
    if ((ctl & 5) !== 5) return;
    timerIrqs.push({ count: pe.timer.liveCount(), cval: Number(pe.readSysreg('CNTV_CVAL_EL0')) });
  };
  let output = '';
  for (let i = 0; i < 10_000; i++) {
    const e = vcpu.run({ budget: 5_000_000 });
    if (e.reason === 'mmio') {
      // The PL011: DR at 0x0900_0000; FR (0x18) reads TXFE|RXFE.
      if (e.isWrite && e.addr === 0x0900_0000n) output += String.fromCharCode(Number(e.data & 0xffn));
      if (!e.isWrite) vcpu.completeMmio(e.addr === 0x0900_0018n ? 0x90n : 0n);
      continue;
    }
    if (e.reason === 'preempted') continue;
    return { output, exit: e.reason === 'system-event' ? e.type : e.reason, irqExits: vm.stats().irq };
  }
  return { output, exit: 'budget', irqExits: vm.stats().irq };
}

for (const attach of [false, true]) {
  test(`gic-timer on the hypervisor core with VGicV3 as its irqchip${attach ? ', timers hardware-mapped (attachVcpu)' : ''}`, () => {
    const r = runOnCore(attach);
    assert.equal(r.exit, 'shutdown', r.output);
    assert.deepEqual(lines(r.output), lines(readFileSync(EXPECTED, 'utf8')));
  });
}

test('gic-timer on the hypervisor core (attachVcpu): a virtual timer interrupt every 1 ms, 62500 counter ticks apart', () => {
  const PERIOD = 62_500; // the guest's CNTV_TVAL: 1 ms at 62.5 MHz
  const irqs: TimerIrq[] = [];
  const r = runOnCore(true, irqs);
  assert.equal(r.exit, 'shutdown', r.output);
  // 5 (EOImode 0) + 3 (EOImode 1) sleeping in WFI, then 2 spinning: ten interrupts, as the guest also reports.
  assert.equal(irqs.length, 10, JSON.stringify(irqs));
  for (const [i, q] of irqs.entries()) {
    // Taken once the deadline is reached and promptly after it: from WFI at the deadline, while spinning within the next block or two.
    const late = q.count - q.cval;
    assert.ok(late >= 0 && late < 16, `interrupt ${i}: taken ${late} ticks after its deadline`);
  }
  // The guest re-arms (TVAL = PERIOD) in its loop right after each interrupt, so consecutive interrupts of one
  // phase are PERIOD ticks apart plus the few instructions of the handler and the loop.
  const gaps = irqs.slice(1).map((q, i) => q.count - irqs[i].count);
  for (const i of [0, 1, 2, 3, 5, 6, 8]) {
    assert.ok(gaps[i] >= PERIOD && gaps[i] < PERIOD + 200, `gap ${i} -> ${i + 1}: ${gaps[i]} ticks (${JSON.stringify(gaps)})`);
  }
});

const QEMU = 'qemu-system-aarch64';
const haveQemu = spawnSync(QEMU, ['--version'], { stdio: 'ignore' }).status === 0;
test('gic-timer under QEMU (virt, gic-version=3) prints the same lines', { skip: haveQemu || process.env.CI === 'true' ? false : `${QEMU} not found` }, () => {
  const r = spawnSync(QEMU, ['-M', 'virt,gic-version=3', '-cpu', 'max,pauth=off', '-m', '128M', '-nographic', '-monitor', 'none', '-serial', 'stdio', '-kernel', ELF, '-no-reboot'], {
    encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'],
  });
  assert.equal(r.status, 0, r.stdout);
  assert.deepEqual(lines(r.stdout), lines(readFileSync(EXPECTED, 'utf8')));
});
