import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PhysicalBus } from '../../src/cpu/bus.js';
import { ImageError, loadElf, parseElf } from '../../src/vmm/elf.js';
import { runBareMetal } from '../../src/vmm/baremetal.js';

const hello = new Uint8Array(readFileSync(new URL('../../../tests/guests/hello/hello.elf', import.meta.url)));

test('the bundled guest parses as an AArch64 executable with its entry at the virt RAM base', () => {
  const img = parseElf(hello, 'hello.elf');
  assert.equal(img.entry, 0x40080000n);
  assert.ok(img.segments.length >= 1);
});

test('the bundled guest runs to PSCI SYSTEM_OFF and prints its greeting', () => {
  const r = runBareMetal(hello, { ramSize: 16 << 20 });
  assert.equal(r.exit, 'poweroff', r.message);
  assert.match(r.output, /^Hello from a bare-metal AArch64 guest on nestvisor!\n/);
  assert.match(r.output, /running at EL1/);
  assert.match(r.output, /fib\(90\) = 2880067194370816120/);
});

function corrupt(fn: (b: Uint8Array, dv: DataView) => void): Uint8Array {
  const b = hello.slice();
  fn(b, new DataView(b.buffer));
  return b;
}

const cases: Array<[string, Uint8Array, RegExp]> = [
  ['not an ELF', new TextEncoder().encode('MZ this is not an arm64 image'), /not an ELF file/],
  ['truncated header', hello.subarray(0, 40), /truncated ELF header/],
  ['32-bit class', corrupt((b) => { b[4] = 1; }), /not a 64-bit ELF/],
  ['big-endian', corrupt((b) => { b[5] = 2; }), /not a little-endian ELF/],
  ['x86-64 machine', corrupt((_b, dv) => dv.setUint16(18, 62, true)), /e_machine is 62, not EM_AARCH64/],
  ['shared object', corrupt((_b, dv) => dv.setUint16(16, 3, true)), /e_type is 3, not ET_EXEC/],
  ['program headers past the end', corrupt((_b, dv) => dv.setBigUint64(32, 1n << 40n, true)), /program headers .* run past the end/],
  ['truncated segment', hello.subarray(0, 0x1100), /runs past the end of the file .*truncated image/],
];

for (const [what, bytes, msg] of cases) {
  test(`a malformed image is refused with a clear error: ${what}`, () => {
    assert.throws(() => parseElf(bytes, 'guest.elf'), (e: unknown) => e instanceof ImageError && msg.test(e.message) && e.message.startsWith('guest.elf: '));
  });
}

test('an image that does not fit in guest RAM names the segment and the RAM', () => {
  const bus = new PhysicalBus();
  bus.addRam(0x4000_0000, 0x10000); // 64 KiB: the image is linked at 0x4008_0000
  assert.throws(() => loadElf(bus, parseElf(hello, 'hello.elf'), 'hello.elf'), /hello.elf: segment at 0x40080000\+0x[0-9a-f]+ does not fit in guest RAM \(0x40000000-0x40010000\)/);
});
