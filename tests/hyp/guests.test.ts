/**
 * Compiled test guests (tests/guests/hyp-*) under the hypervisor, with the
 * PL011 console served from 'mmio' exits by src/vmm/pl011.ts, as a VMM
 * would: SMP bring-up through PSCI, and MMIO emulation end to end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PhysicalBus } from '../../src/cpu/bus.js';
import { loadElf, parseElf } from '../../src/vmm/elf.js';
import { Pl011 } from '../../src/vmm/pl011.js';
import { Hypervisor, Reg, Vm, VmAttr, Exit, Vcpu } from '../../src/hyp/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const RAM = 0x4000_0000;
const UART = 0x0900_0000;

function guestVm(name: string, attrs: VmAttr[]): { vm: Vm; mem: Uint8Array; entry: bigint } {
  const elf = readFileSync(join(root, 'tests', 'guests', name, `${name}.elf`));
  const mem = new Uint8Array(16 << 20);
  // The loader writes through a bus; give it the VM's memory buffer at the guest address.
  const bus = new PhysicalBus();
  bus.addRam(RAM, mem);
  const img = parseElf(elf, name);
  loadElf(bus, img, name);
  const vm = new Hypervisor().createVm(attrs);
  vm.setMemoryRegion(0, { gpa: RAM, memory: mem });
  return { vm, mem, entry: img.entry };
}

/** A VMM loop: serves the PL011 and `extra` devices, returns the first other exit and the console text. */
function serve(vm: Vm, extra: (v: Vcpu, e: Exit & { reason: 'mmio' }) => boolean = () => false): { exit: Exit; out: string } {
  let out = '';
  const uart = new Pl011((b) => (out += String.fromCharCode(b)));
  for (let i = 0; i < 1_000_000; i++) {
    const { vcpu, exit } = vm.run();
    if (exit.reason === 'mmio' && vcpu !== null) {
      const a = Number(exit.addr);
      if (a >= UART && a < UART + 0x1000) {
        if (exit.isWrite) uart.write(a - UART, exit.size, Number(exit.data & 0xffffffffn), 0);
        else vcpu.completeMmio(uart.read(a - UART, exit.size, { value: 0 }));
        continue;
      }
      if (extra(vcpu, exit)) continue;
    }
    return { exit, out };
  }
  throw new Error('guest did not finish');
}

test('hyp-smp: CPU 0 starts three secondaries with PSCI CPU_ON; they print and CPU_OFF', () => {
  const { vm, entry } = guestVm('hyp-smp', [{ kind: 'vcpus', count: 4 }]);
  const v = [0, 1, 2, 3].map(() => vm.createVcpu());
  v[0].setReg(Reg.PC, entry);
  const { exit, out } = serve(vm);
  assert.deepEqual(exit, { reason: 'system-event', type: 'shutdown' }, out);
  const lines = out.trim().split('\n');
  assert.equal(lines[0], 'psci version 10001, CPU_ON feature 0');
  for (const cpu of [1, 2, 3]) {
    assert.ok(lines.includes(`CPU_ON(${cpu}) = 0`), out);
    assert.ok(lines.includes(`cpu ${cpu} up: mpidr=8000000${cpu} EL1 mmu=0`), out);
  }
  assert.ok(lines.includes('CPU_ON(1) again = -4, CPU_ON(9) = -2') || lines.includes('CPU_ON(1) again = 0, CPU_ON(9) = -2'), out);
  assert.equal(lines[lines.length - 1], '3 secondaries arrived, all off');
  assert.ok(!out.includes('returned!'));
  assert.deepEqual(v.map((c) => c.power), [0, 1, 1, 1]);
  const s = vm.stats();
  assert.ok(s['mmio-write'] > 100, 'console output went through MMIO exits');
  assert.equal(s['internal-error'], 0);
});

test('hyp-mmio: decoded MMIO, a read-only slot and a wild access caught by the guest', () => {
  const DEV = 0x0a00_0000;
  const ROM = 0x5000_0000;
  const { vm, entry } = guestVm('hyp-mmio', [{ kind: 'mmio-ranges', ranges: [{ gpa: UART, size: 0x1000 }, { gpa: DEV, size: 0x1000 }, { gpa: ROM, size: 0x1000 }] }]);
  const rom = new Uint8Array(0x1000);
  new DataView(rom.buffer).setUint32(0, 0x600dcafe, true);
  vm.setMemoryRegion(1, { gpa: ROM, memory: rom, readonly: true });
  const v = vm.createVcpu();
  v.setReg(Reg.PC, entry);
  const regs = new Map<number, bigint>();
  const romWrites: bigint[] = [];
  const { exit, out } = serve(vm, (vcpu, e) => {
    const a = Number(e.addr);
    if (a >= ROM && a < ROM + 0x1000) {
      romWrites.push(e.data);
      return true;
    }
    if (a < DEV || a >= DEV + 0x1000) return false;
    const base = (a - DEV) & ~7, shift = BigInt(8 * ((a - DEV) & 7));
    const mask = (1n << BigInt(8 * e.size)) - 1n;
    const old = regs.get(base) ?? 0n;
    if (e.isWrite) regs.set(base, (old & ~(mask << shift)) | ((e.data & mask) << shift));
    else vcpu.completeMmio((old >> shift) & mask);
    return true;
  });
  assert.deepEqual(exit, { reason: 'system-event', type: 'shutdown' }, out);
  assert.equal(out, [
    'writeback: base advanced by 16',
    'ldp: aaaa bbbb, ldr: 1111222233334444, ldrsb: -86, word at +16 of 8: aaaa',
    'rom: 600dcafe then 600dcafe',
    'wild read: aborts=1 esr=96000010 far=30000000',
    '',
  ].join('\n'));
  assert.deepEqual(romWrites, [0xdeadbeefn]);
  assert.deepEqual([regs.get(0), regs.get(0x10), regs.get(0x18)], [0x1111222233334444n, 0xaaaan, 0xbbbbn]);
  const s = vm.stats();
  assert.ok(s['mmio-decoded'] >= 4, `decoded ${s['mmio-decoded']}`);
  assert.equal(s['abort-injected'], 1);
});
