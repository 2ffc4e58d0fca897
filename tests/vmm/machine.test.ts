/**
 * The virt machine (src/vmm/machine.ts) on the hypervisor: the bus dispatches
 * by address with offsets only and refuses overlaps; the bundled bare-metal
 * guest (an ELF64 image) runs to PSCI SYSTEM_OFF with its PL011 output; RAM
 * too small and a missing disk are clear errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MmioBus, VirtMachine, EXIT_CODES } from '../../src/vmm/machine.js';
import { ImageError } from '../../src/vmm/elf.js';
import type { MmioDevice } from '../../src/cpu/bus.js';

const hello = fileURLToPath(new URL('../../../tests/guests/hello/hello.elf', import.meta.url));

test('machine bus: devices see offsets; overlapping ranges are refused', () => {
  const seen: number[] = [];
  const dev = (name: string): MmioDevice => ({ name, read: (off) => { seen.push(off); return 0; }, write: () => {} });
  const bus = new MmioBus();
  bus.add(0x0900_0000, 0x1000, dev('a'));
  bus.add(0x0a00_0000, 0x200, dev('b'));
  const e = bus.find(0x0a00_0070)!;
  assert.equal(e.dev.name, 'b');
  assert.equal(0x0a00_0070 - e.base, 0x70);
  assert.equal(bus.find(0x0a00_0200), null);
  assert.throws(() => bus.add(0x0900_0800, 0x1000, dev('c')), /c at 0x9000800\+0x1000 overlaps a/);
});

test('machine: the bundled ELF guest runs on the hypervisor and powers off', async () => {
  let out = '';
  const m = new VirtMachine({ memBytes: 64 << 20, kernel: readFileSync(hello), onSerial: (b) => (out += Buffer.from(b).toString('latin1')) });
  const r = await m.run({ maxInsns: 10_000_000 });
  assert.equal(r.end, 'poweroff', r.message);
  assert.equal(EXIT_CODES[r.end], 0);
  assert.match(out, /Hello from a bare-metal AArch64 guest/);
});

test('machine: an instruction budget ends the run with its own end and exit code', async () => {
  const m = new VirtMachine({ memBytes: 64 << 20, kernel: readFileSync(hello) });
  const r = await m.run({ maxInsns: 100 });
  assert.equal(r.end, 'budget');
  assert.equal(EXIT_CODES.budget, 4);
});

test('machine: too little RAM and a missing disk are clear errors', () => {
  assert.throws(() => new VirtMachine({ memBytes: 8 << 20, kernel: readFileSync(hello) }), (e: unknown) => e instanceof ImageError && /8 MiB of RAM is too small/.test(e.message));
  assert.throws(() => new VirtMachine({ memBytes: 64 << 20, kernel: readFileSync(hello), disks: [{ path: '/nonexistent/disk.img' }] }), (e: unknown) => e instanceof ImageError && /disk '\/nonexistent\/disk.img': no such file/.test(e.message));
});

test('machine: with -no-reboot the kernel and initrd buffers are not kept once loaded', async () => {
  // A boot of Linux holds tens of MiB of image (the decompressed Image, the initrd): with noReboot
  // nothing needs them after loading, and nothing (not even a device's error callback) may keep them.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  let kernelRef: WeakRef<Uint8Array> | null = null;
  const m = ((): VirtMachine => {
    const kernel = new Uint8Array(readFileSync(hello));
    kernelRef = new WeakRef(kernel);
    return new VirtMachine({ memBytes: 64 << 20, kernel, noReboot: true, onWarning: () => {} });
  })();
  for (let i = 0; i < 3 && kernelRef!.deref() !== undefined; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  assert.equal(kernelRef!.deref(), undefined, 'the kernel buffer was collected');
  const r = await m.run({ maxInsns: 10_000_000 });
  assert.equal(r.end, 'poweroff', r.message);
});
