/**
 * System test: an IPI between two vCPUs with the real vGIC (VGicV3).
 * The bare-metal guest tests/guests/hyp-ipi (CPU 0 starts CPU 1 with PSCI
 * CPU_ON; both set up their GICv3 redistributor and CPU interface; 100
 * SGI ping-pongs sent with ICC_SGI1R_EL1 by affinity, taken with
 * ICC_IAR1_EL1 / ICC_EOIR1_EL1 while the receiver sleeps in WFI; a broadcast
 * SGI (IRM) that powers CPU 1 off) runs
 *  - under the hypervisor (src/hyp) with 2 vCPUs and VGicV3 as the
 *    irqchip, its PL011 served from 'mmio' exits as a VMM would;
 *  - under qemu-system-aarch64 -M virt,gic-version=3 -smp 2, to check the
 *    guest itself (skipped visibly without QEMU, failing with CI=true);
 * and both must print tests/hyp/expected/hyp-ipi.txt.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pl011 } from '../../src/vmm/pl011.js';
import { ipiGuestVm, show } from './util.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ELF = join(ROOT, 'tests', 'guests', 'hyp-ipi', 'hyp-ipi.elf');
const EXPECTED = join(ROOT, 'tests', 'hyp', 'expected', 'hyp-ipi.txt');
const UART = 0x0900_0000;
const lines = (s: string): string[] => s.replace(/\r/g, '').replace(/\n+$/, '').split('\n');

test('hyp-ipi: 100 SGI round trips between two vCPUs through the real vGIC', () => {
  const { vm, v0, v1 } = ipiGuestVm();
  let out = '';
  const uart = new Pl011((b) => (out += String.fromCharCode(b)));
  let exit = null;
  for (let i = 0; i < 1_000_000 && exit === null; i++) {
    const { vcpu, exit: e } = vm.run();
    if (e.reason === 'mmio' && vcpu !== null) {
      const a = Number(e.addr);
      assert.ok(a >= UART && a < UART + 0x1000, `mmio exit outside the PL011: ${show(e)}`);
      if (e.isWrite) uart.write(a - UART, e.size, Number(e.data & 0xffffffffn), 0);
      else vcpu.completeMmio(uart.read(a - UART, e.size, { value: 0 }));
      continue;
    }
    if (e.reason === 'preempted') continue;
    exit = e;
  }
  assert.deepEqual(exit, { reason: 'system-event', type: 'shutdown' }, out);
  assert.deepEqual(lines(out), lines(readFileSync(EXPECTED, 'utf8')));
  assert.equal(v1.power, 1, 'vCPU 1 is off (CPU_OFF)');
  const s0 = v0.stats(), s1 = v1.stats();
  // 100 pings and the broadcast from vCPU 0, 100 pongs from vCPU 1: every ICC_SGI1R_EL1 write trapped to L0.
  assert.equal(s0.sgi, 101);
  assert.equal(s1.sgi, 100);
  // Both slept in WFI waiting for the other's SGI (the exact count depends on the scheduling).
  assert.ok(s0.wfi >= 1 && s1.wfi >= 1, `wfi: vCPU 0 ${s0.wfi}, vCPU 1 ${s1.wfi}`);
  assert.ok(s1.wakeup >= 1);
  // Distributor and redistributor accesses stayed in L0; only the console exited.
  assert.ok(s0['mmio-vgic'] > 0 && s1['mmio-vgic'] > 0);
  const s = vm.stats();
  assert.equal(s['undef-injected'] + s['abort-injected'] + s['internal-error'], 0);
});

const QEMU = 'qemu-system-aarch64';
const haveQemu = spawnSync(QEMU, ['--version'], { stdio: 'ignore' }).status === 0;
test('hyp-ipi under QEMU (virt, gic-version=3, -smp 2) prints the same lines', { skip: haveQemu || process.env.CI === 'true' ? false : `${QEMU} not found` }, () => {
  const r = spawnSync(QEMU, ['-M', 'virt,gic-version=3', '-cpu', 'max,pauth=off', '-smp', '2', '-m', '128M', '-nographic', '-monitor', 'none', '-serial', 'stdio', '-kernel', ELF, '-no-reboot'], {
    encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'],
  });
  assert.equal(r.error, undefined, `${QEMU}: ${String(r.error)}`);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.deepEqual(lines(r.stdout), lines(readFileSync(EXPECTED, 'utf8')));
});
