import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { PhysicalBus } from '../../src/cpu/bus.js';
import { ImageError } from '../../src/vmm/elf.js';
import { loadLinux, loadRaw, parseLinuxImage, planLinuxBoot } from '../../src/vmm/linux-image.js';

const MiB = 1 << 20;

/** A synthetic arm64 Image: header as booting.rst describes, with the given fields. */
function image(o: { textOffset?: number; imageSize?: number; flags?: number; efi?: boolean; length?: number } = {}): Uint8Array {
  const b = new Uint8Array(o.length ?? 0x10000);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, o.efi ? 0x91005a4d : 0x14000010, true); // "MZ" (add x13, x18, #0x16) or b +0x40
  dv.setBigUint64(0x08, BigInt(o.textOffset ?? 0), true);
  dv.setBigUint64(0x10, BigInt(o.imageSize ?? 0x30000), true);
  dv.setBigUint64(0x18, BigInt(o.flags ?? 0b1010), true);
  dv.setUint32(0x38, 0x644d5241, true);
  for (let i = 0x40; i < b.length; i++) b[i] = i & 0xff;
  return b;
}

test('linux-image: header fields are decoded (text_offset, image_size, flags, EFI stub)', () => {
  const k = parseLinuxImage(image({ textOffset: 0x80000, imageSize: 0x123000, flags: 0b0100, efi: true }));
  assert.equal(k.header.textOffset, 0x80000);
  assert.equal(k.header.imageSize, 0x123000);
  assert.equal(k.header.pageSize, 16384);
  assert.equal(k.header.anywhere, false);
  assert.equal(k.header.efiStub, true);
  assert.equal(k.compression, 'none');
  const k2 = parseLinuxImage(image());
  assert.equal(k2.header.pageSize, 4096);
  assert.equal(k2.header.anywhere, true);
  assert.equal(k2.header.efiStub, false);
});

test('linux-image: a pre-3.17 kernel (image_size 0) gets text_offset 0x80000', () => {
  const k = parseLinuxImage(image({ textOffset: 0, imageSize: 0, flags: 0 }));
  assert.equal(k.header.legacy, true);
  assert.equal(k.header.textOffset, 0x80000);
  assert.ok(k.header.imageSize >= 0x10000);
});

test('linux-image: a gzip-compressed Image (Image.gz) is decompressed', () => {
  const raw = image();
  const k = parseLinuxImage(new Uint8Array(gzipSync(raw)));
  assert.equal(k.compression, 'gzip');
  assert.deepEqual(k.bytes, raw);
});

test('linux-image: an EFI zboot image with a gzip payload is decompressed', () => {
  const raw = image();
  const gz = new Uint8Array(gzipSync(raw));
  const z = new Uint8Array(0x100 + gz.length);
  const dv = new DataView(z.buffer);
  z.set([0x4d, 0x5a, 0, 0, ...new TextEncoder().encode('zimg')]);
  dv.setUint32(8, 0x100, true);
  dv.setUint32(12, gz.length, true);
  z.set(new TextEncoder().encode('gzip'), 0x18);
  z.set(gz, 0x100);
  const k = parseLinuxImage(z);
  assert.equal(k.compression, 'efi-zboot-gzip');
  assert.deepEqual(k.bytes, raw);
  z.set(new TextEncoder().encode('zstd'), 0x18);
  assert.throws(() => parseLinuxImage(z, 'vmlinuz'), /vmlinuz: EFI zboot kernel compressed with 'zstd'/);
});

function mutated(fn: (dv: DataView, b: Uint8Array) => void): Uint8Array {
  const b = image();
  fn(new DataView(b.buffer), b);
  return b;
}
const bad: Array<[string, Uint8Array, RegExp]> = [
  ['truncated header', image().subarray(0, 40), /truncated: 40 bytes is shorter than the 64-byte arm64 Image header/],
  ['not arm64 (bad magic)', mutated((dv) => dv.setUint32(0x38, 0x12345678, true)), /bad magic 0x12345678 at offset 0x38 .*not an arm64 Linux Image/],
  ['big-endian kernel', mutated((dv) => dv.setBigUint64(0x18, 0b1011n, true)), /big-endian kernel/],
  ['ELF vmlinux', mutated((_dv, b) => b.set([0x7f, 0x45, 0x4c, 0x46])), /ELF file \(vmlinux\?\)/],
  ['x86 bzImage', (() => { const b = new Uint8Array(0x400); b.set(new TextEncoder().encode('HdrS'), 0x202); return b; })(), /x86 kernel \(bzImage\)/],
  ['32-bit ARM zImage', (() => { const b = new Uint8Array(0x400); new DataView(b.buffer).setUint32(0x24, 0x016f2818, true); return b; })(), /32-bit ARM zImage/],
  ['code0 not a branch', mutated((dv) => dv.setUint32(0, 0xd503201f, true)), /code0 0xd503201f .* neither a branch nor an EFI "MZ" stub/],
  ['corrupt gzip', new Uint8Array(gzipSync(image())).subarray(0, 100), /gzip-compressed kernel .* does not decompress/],
  ['image_size smaller than the file', image({ imageSize: 0x1000 }), /image_size 0x1000 is smaller than the Image file/],
];
for (const [what, bytes, re] of bad) {
  test(`linux-image: refused with a clear error: ${what}`, () => {
    assert.throws(() => parseLinuxImage(bytes, 'vmlinuz'), (e: unknown) => e instanceof ImageError && e.message.startsWith('vmlinuz: ') && re.test(e.message), `expected ${re}`);
  });
}

const RAM = { base: 0x4000_0000, size: 128 * MiB };

test('linux-image: kernel at a 2 MiB aligned base + text_offset, DTB and initrd after it on 2 MiB boundaries', () => {
  const h = parseLinuxImage(image({ textOffset: 0x80000, imageSize: 0x1ab_0000 })).header;
  const l = planLinuxBoot(h, RAM, { initrdSize: 0x12345 });
  assert.equal(l.kernelAddr, 0x4008_0000);
  assert.equal(l.kernelEnd, 0x4008_0000 + 0x1ab_0000);
  assert.equal(l.dtbAddr % (2 * MiB), 0);
  assert.ok(l.dtbAddr >= l.kernelEnd);
  assert.ok(l.dtbAddr - l.kernelAddr < 512 * MiB, 'DTB within 512 MiB of the kernel (older kernels)');
  assert.equal(l.initrdStart, l.dtbAddr + 2 * MiB);
  assert.equal(l.initrdEnd, l.initrdStart! + 0x12345);
  // RAM not 2 MiB aligned: the base rounds up.
  const l2 = planLinuxBoot(h, { base: 0x4010_0000, size: 128 * MiB });
  assert.equal(l2.kernelAddr, 0x4020_0000 + 0x80000);
});

test('linux-image: too little RAM says how much the kernel needs', () => {
  const h = parseLinuxImage(image({ imageSize: 0x1ab_0000 })).header;
  assert.throws(() => planLinuxBoot(h, { base: 0x4000_0000, size: 32 * MiB }, { initrdSize: 4 * MiB }, 'vmlinuz'),
    /vmlinuz: kernel needs at least 50 MiB of RAM .* but the VM has 32 MiB: give -m 64M or more/);
});

test('linux-image: loadLinux copies kernel (zeroing to image_size), DTB and initrd; x0 = DTB', () => {
  const k = parseLinuxImage(image({ imageSize: 0x30000 }));
  const bus = new PhysicalBus();
  const ram = bus.addRam(RAM.base, 64 * MiB);
  ram.bytes.fill(0xee);
  const initrd = new Uint8Array(5000).fill(0x42);
  const l = planLinuxBoot(k.header, { base: RAM.base, size: 64 * MiB }, { initrdSize: initrd.length });
  const dtb = new Uint8Array(64).fill(0xd7);
  const r = loadLinux(bus, l, { kernel: k, dtb, initrd });
  assert.deepEqual(r, { pc: l.kernelAddr, x0: l.dtbAddr });
  assert.deepEqual(bus.readBytes(l.kernelAddr, k.bytes.length), k.bytes);
  assert.ok(bus.readBytes(l.kernelAddr + k.bytes.length, 0x30000 - k.bytes.length).every((x) => x === 0), 'BSS zeroed');
  assert.deepEqual(bus.readBytes(l.dtbAddr, 64), dtb);
  assert.deepEqual(bus.readBytes(l.initrdStart!, initrd.length), initrd);
  assert.throws(() => loadLinux(bus, l, { kernel: k, dtb }), /planned for a different initrd size/);
  assert.throws(() => loadLinux(bus, l, { kernel: k, dtb: new Uint8Array(3 * MiB), initrd }), /at most 2 MiB/);
});

test('linux-image: the raw-binary loader checks that the image fits in RAM', () => {
  const bus = new PhysicalBus();
  bus.addRam(RAM.base, MiB);
  loadRaw(bus, 0x4000_1000, new Uint8Array([1, 2, 3]), { base: RAM.base, size: MiB });
  assert.deepEqual(bus.readBytes(0x4000_1000, 3), new Uint8Array([1, 2, 3]));
  assert.throws(() => loadRaw(bus, 0x400f_fff0, new Uint8Array(32), { base: RAM.base, size: MiB }, 'fw.bin'), /fw.bin: 32 bytes at 0x400ffff0 do not fit in guest RAM 0x40000000-0x40100000/);
});

test('linux-image: Debian\'s arm64 kernel, when fetched (npm run fetch-guests), is an uncompressed little-endian 4K Image', (t) => {
  const dir = new URL('../../../.cache/guests/', import.meta.url);
  const f = existsSync(dir) ? readdirSync(dir).find((n) => n.startsWith('vmlinuz-')) : undefined;
  if (f === undefined) {
    t.skip('no kernel in .cache/guests (npm run fetch-guests)');
    return;
  }
  const k = parseLinuxImage(new Uint8Array(readFileSync(new URL(f, dir))), f);
  assert.equal(k.compression, 'none');
  assert.equal(k.header.pageSize, 4096);
  assert.equal(k.header.efiStub, true);
  assert.ok(k.header.imageSize > k.bytes.length);
});

test('linux-image: a truncated EFI-stub Image is refused (its PE/COFF sections run past the end of the file)', () => {
  // An EFI-stub Image with a PE header at 0x40 and one section of 0x8000 bytes at 0x1000.
  const k = image({ efi: true, length: 0x9000 });
  const dv = new DataView(k.buffer);
  dv.setUint32(0x3c, 0x40, true);
  dv.setUint32(0x40, 0x00004550, true); // "PE\0\0"
  dv.setUint16(0x40 + 6, 1, true); // NumberOfSections
  dv.setUint16(0x40 + 20, 0, true); // SizeOfOptionalHeader
  const sec = 0x40 + 24;
  dv.setUint32(sec + 16, 0x8000, true); // SizeOfRawData
  dv.setUint32(sec + 20, 0x1000, true); // PointerToRawData
  assert.equal(parseLinuxImage(k).header.efiStub, true, 'the whole file parses');
  assert.throws(() => parseLinuxImage(k.subarray(0, 0x5000), 'vmlinuz'), (e: unknown) => e instanceof ImageError && /^vmlinuz: truncated: the file is 20480 bytes but its PE\/COFF sections end at 36864/.test(e.message));
});
