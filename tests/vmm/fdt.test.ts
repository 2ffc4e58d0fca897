import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDtb, findNode, getCells, getNumber, getString, getStrings, getU32, node, parseDtb, prop, walk, type FdtNode } from '../../src/vmm/fdt.js';
import { ImageError } from '../../src/vmm/elf.js';
import { VIRT, virtDefaults, virtDtb, virtMpidr } from '../../src/vmm/virt-fdt.js';

const CI = process.env.CI === 'true';
const hasDtc = spawnSync('dtc', ['--version']).status === 0;

function sample(): FdtNode {
  return node('', { '#address-cells': prop.u32(2), '#size-cells': prop.u32(2), compatible: prop.strings('a,b', 'c') }, [
    node('memory@40000000', { device_type: prop.string('memory'), reg: prop.reg(2, 2, [0x4000_0000, 0x800_0000]) }),
    node('chosen', { bootargs: prop.string('console=ttyAMA0'), 'linux,initrd-start': prop.u64(0x1_2345_6789), flag: prop.empty() }),
  ]);
}

test('fdt: a tree survives build and parse unchanged', () => {
  const root = sample();
  const dtb = buildDtb(root, { memReserve: [{ address: 0x4800_0000, size: 0x1000 }], bootCpuid: 3 });
  const fdt = parseDtb(dtb);
  assert.deepEqual(fdt.root, root);
  assert.deepEqual(fdt.memReserve, [{ address: 0x4800_0000, size: 0x1000 }]);
  assert.equal(fdt.bootCpuid, 3);
  // Rebuilding gives the same bytes.
  assert.deepEqual(buildDtb(fdt.root, { memReserve: fdt.memReserve, bootCpuid: 3 }), dtb);
});

test('fdt: header fields, block layout and string deduplication follow the v17 format', () => {
  const root = node('', { a: prop.u32(1) }, [node('x', { a: prop.u32(2), bb: prop.u32(3) }), node('y', { bb: prop.u32(4) })]);
  const dtb = buildDtb(root);
  const dv = new DataView(dtb.buffer);
  assert.equal(dv.getUint32(0), 0xd00dfeed);
  assert.equal(dv.getUint32(4), dtb.length);
  assert.equal(dv.getUint32(16), 40); // off_mem_rsvmap right after the header
  assert.equal(dv.getUint32(20), 17);
  assert.equal(dv.getUint32(24), 16);
  const offStrings = dv.getUint32(12);
  const sizeStrings = dv.getUint32(32);
  assert.equal(new TextDecoder().decode(dtb.subarray(offStrings, offStrings + sizeStrings)), 'a\0bb\0');
  assert.equal(dv.getUint32(8), 40 + 16); // one empty reservation entry
  assert.equal(dv.getUint32(8) + dv.getUint32(36), offStrings);
});

test('fdt: property helpers encode big-endian cells, 64-bit values and string lists', () => {
  assert.deepEqual([...prop.u32(0x12345678)], [0x12, 0x34, 0x56, 0x78]);
  assert.deepEqual([...prop.u64(0x1_0000_0002)], [0, 0, 0, 1, 0, 0, 0, 2]);
  assert.deepEqual([...prop.u64(0xffff_ffff_ffff_ffffn)], Array(8).fill(0xff));
  assert.deepEqual(getCells(node('n', { r: prop.reg(2, 1, [0x1_0000_0000, 0x10]) }), 'r'), [1, 0, 0x10]);
  assert.deepEqual([...prop.strings('ab', 'c')], [0x61, 0x62, 0, 0x63, 0]);
  assert.equal(prop.empty().length, 0);
  assert.throws(() => prop.u32(-1), RangeError);
  assert.throws(() => prop.wide(1, 0x1_0000_0000), RangeError);
  const n = parseDtb(buildDtb(sample())).root.children[1];
  assert.equal(getString(n, 'bootargs'), 'console=ttyAMA0');
  assert.equal(getNumber(n, 'linux,initrd-start'), 0x1_2345_6789);
  assert.deepEqual(getStrings(parseDtb(buildDtb(sample())).root, 'compatible'), ['a,b', 'c']);
});

test('fdt: the builder refuses bad names and duplicate nodes', () => {
  assert.throws(() => buildDtb(node('', {}, [node('bad name')])), /bad node name/);
  assert.throws(() => buildDtb(node('', {}, [node('x'), node('x')])), /two nodes named 'x'/);
  assert.throws(() => buildDtb(node('', { 'bad prop!': prop.empty() })), /bad property name/);
  assert.throws(() => buildDtb(node('root')), /root node's name must be empty/);
});

const good = buildDtb(sample());
function mutate(fn: (b: Uint8Array, dv: DataView) => void, from = good): Uint8Array {
  const b = from.slice();
  fn(b, new DataView(b.buffer));
  return b;
}
const malformed: Array<[string, Uint8Array, RegExp]> = [
  ['bad magic', mutate((_b, dv) => dv.setUint32(0, 0xfeedface)), /bad magic 0xfeedface at offset 0 .*not a flattened device tree/],
  ['shorter than a header', good.subarray(0, 20), /truncated: 20 bytes is shorter than the 40-byte FDT header/],
  ['truncated blob', good.subarray(0, good.length - 8), /truncated: header totalsize is \d+ bytes but only \d+ are present/],
  ['struct block out of range', mutate((_b, dv) => dv.setUint32(8, 0x10000)), /structure block at offset 0x10000 .* is outside the blob/],
  ['strings block out of range', mutate((_b, dv) => dv.setUint32(32, 0x10000)), /strings block .* is outside the blob/],
  ['old version', mutate((_b, dv) => dv.setUint32(20, 15)), /version 15 is too old/],
  ['unknown token', mutate((_b, dv) => dv.setUint32(dv.getUint32(8), 7)), /unknown token 0x7 at 0x38/],
  ['property name offset out of range', mutate((_b, dv) => {
    // The root's first property: token, len, nameoff after the 8-byte root BEGIN_NODE.
    dv.setUint32(dv.getUint32(8) + 8 + 8, 0x1000);
  }), /name offset 0x1000 is outside the strings block/],
  ['unterminated tree', mutate((_b, dv) => {
    const end = dv.getUint32(8) + dv.getUint32(36);
    dv.setUint32(end - 8, 4); // the root's END_NODE becomes a NOP
  }), /FDT_END at .* with 1 node\(s\) still open/],
];
for (const [what, bytes, re] of malformed) {
  test(`fdt: malformed input is refused with a clear error: ${what}`, () => {
    assert.throws(() => parseDtb(bytes, 'user.dtb'), (e: unknown) => e instanceof ImageError && e.message.startsWith('user.dtb: ') && re.test(e.message), `expected ${re}`);
  });
}

function dtcToDts(dtb: Uint8Array, t: { skip(msg: string): void }): { dts: string; warnings: string } | null {
  if (!hasDtc) {
    if (CI) assert.fail('dtc is missing (Debian package device-tree-compiler); CI=true requires it');
    t.skip('dtc not installed (apt-get install device-tree-compiler)');
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), 'nestvisor-fdt-'));
  try {
    const f = join(dir, 'virt.dtb');
    writeFileSync(f, dtb);
    const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', f], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return { dts: r.stdout, warnings: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function fullMachine() {
  const d = virtDefaults(512 * 1024 * 1024, 2, 4);
  d.bootargs = 'console=ttyAMA0 earlycon';
  d.initrd = { start: 0x4800_0000, end: 0x4812_3456 };
  d.maintenanceIntid = VIRT.GIC_MAINT_INTID;
  d.pmuIntid = VIRT.PMU_INTID;
  d.rngSeed = new Uint8Array(32).fill(7);
  return d;
}

test('virt-fdt: the generated tree has the QEMU virt nodes with the board facts', () => {
  const fdt = parseDtb(virtDtb(fullMachine()));
  const r = fdt.root;
  const paths = [...walk(r)].map(([p]) => p);
  for (const p of ['/psci', '/memory@40000000', '/cpus/cpu@0', '/cpus/cpu@1', '/intc@8000000', '/timer', '/apb-pclk', '/pl011@9000000', '/pl031@9010000', '/virtio_mmio@a000000', '/virtio_mmio@a000600', '/chosen', '/pmu']) {
    assert.ok(paths.includes(p), `missing ${p}`);
  }
  const gicPh = getU32(findNode(r, '/intc@8000000')!, 'phandle');
  assert.equal(getU32(r, 'interrupt-parent'), gicPh);
  assert.equal(getU32(r, '#address-cells'), 2);
  assert.equal(getU32(r, '#size-cells'), 2);
  assert.deepEqual(getCells(findNode(r, '/memory@40000000')!, 'reg'), [0, 0x4000_0000, 0, 0x2000_0000]);
  const psci = findNode(r, '/psci')!;
  assert.deepEqual(getStrings(psci, 'compatible'), ['arm,psci-1.0', 'arm,psci-0.2']);
  assert.equal(getString(psci, 'method'), 'hvc');
  const cpu1 = findNode(r, '/cpus/cpu@1')!;
  assert.equal(getU32(cpu1, 'reg'), 1);
  assert.equal(getString(cpu1, 'enable-method'), 'psci');
  assert.equal(getString(cpu1, 'device_type'), 'cpu');
  const gic = findNode(r, '/intc@8000000')!;
  assert.deepEqual(getCells(gic, 'reg'), [0, 0x0800_0000, 0, 0x1_0000, 0, 0x080a_0000, 0, 0x4_0000]);
  assert.equal(getU32(gic, '#interrupt-cells'), 3);
  assert.ok(gic.props.has('interrupt-controller'));
  assert.deepEqual(getCells(gic, 'interrupts'), [1, 9, 4]); // maintenance: PPI 9 = INTID 25, level
  // Timer PPIs in binding order: secure phys 29, phys 30, virt 27, hyp phys 26, hyp virt 28.
  assert.deepEqual(getCells(findNode(r, '/timer')!, 'interrupts'), [1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4, 1, 12, 4]);
  const uart = findNode(r, '/pl011@9000000')!;
  assert.deepEqual(getCells(uart, 'interrupts'), [0, 1, 4]);
  assert.deepEqual(getStrings(uart, 'clock-names'), ['uartclk', 'apb_pclk']);
  const clkPh = getU32(findNode(r, '/apb-pclk')!, 'phandle');
  assert.deepEqual(getCells(uart, 'clocks'), [clkPh, clkPh]);
  assert.equal(getU32(findNode(r, '/apb-pclk')!, 'clock-frequency'), 24_000_000);
  assert.deepEqual(getCells(findNode(r, '/pl031@9010000')!, 'interrupts'), [0, 2, 4]);
  const v3 = findNode(r, '/virtio_mmio@a000600')!;
  assert.deepEqual(getCells(v3, 'interrupts'), [0, 19, 1]); // SPI 16+3, edge rising
  assert.deepEqual(getCells(v3, 'reg'), [0, 0x0a00_0600, 0, 0x200]);
  assert.ok(v3.props.has('dma-coherent'));
  // Highest transport first, as QEMU orders them.
  assert.ok(paths.indexOf('/virtio_mmio@a000600') < paths.indexOf('/virtio_mmio@a000000'));
  const chosen = findNode(r, '/chosen')!;
  assert.equal(getString(chosen, 'bootargs'), 'console=ttyAMA0 earlycon');
  assert.equal(getString(chosen, 'stdout-path'), '/pl011@9000000');
  assert.deepEqual(getCells(chosen, 'linux,initrd-start'), [0, 0x4800_0000]);
  assert.equal(getNumber(chosen, 'linux,initrd-end'), 0x4812_3456);
});

test('virt-fdt: CPU numbering follows QEMU virt MPIDRs (16 per cluster)', () => {
  assert.equal(virtMpidr(0), 0);
  assert.equal(virtMpidr(15), 15);
  assert.equal(virtMpidr(16), 0x100);
  const r = parseDtb(virtDtb(virtDefaults(256 << 20, 17))).root;
  assert.equal(getU32(findNode(r, '/cpus/cpu@100')!, 'reg'), 0x100);
});

test('virt-fdt: dtc decompiles the generated DTB without warnings', (t) => {
  for (const [d, nVirtio] of [[fullMachine(), 4], [virtDefaults(128 << 20, 1, 0), 0]] as const) {
    const out = dtcToDts(virtDtb(d), t);
    if (out === null) return;
    assert.equal(out.warnings, '', `dtc warnings:\n${out.warnings}`);
    assert.match(out.dts, /compatible = "arm,gic-v3";/);
    assert.equal((out.dts.match(/virtio_mmio@a000[0-9a-f]+ \{/g) ?? []).length, nVirtio);
  }
});

test('fdt: a DTB produced by dtc parses (reader against a real compiler)', (t) => {
  if (!hasDtc) {
    if (CI) assert.fail('dtc is missing (Debian package device-tree-compiler); CI=true requires it');
    t.skip('dtc not installed');
    return;
  }
  const src = '/dts-v1/;\n/memreserve/ 0x48000000 0x1000;\n/ { #address-cells = <2>; #size-cells = <2>; model = "m"; n@1 { reg = <0 1 0 2>; s = "a", "bc"; b; ph: p { x = /bits/ 64 <0x123456789>; }; }; q { r = <&ph>; }; };\n';
  const r = spawnSync('dtc', ['-I', 'dts', '-O', 'dtb', '-o', '-'], { input: src });
  assert.equal(r.status, 0, r.stderr?.toString());
  const fdt = parseDtb(new Uint8Array(r.stdout));
  assert.deepEqual(fdt.memReserve, [{ address: 0x4800_0000, size: 0x1000 }]);
  const n = findNode(fdt.root, '/n@1')!;
  assert.deepEqual(getStrings(n, 's'), ['a', 'bc']);
  assert.ok(n.props.has('b'));
  assert.equal(getNumber(findNode(fdt.root, '/n@1/p')!, 'x'), 0x123456789);
  assert.equal(getU32(findNode(fdt.root, '/q')!, 'r'), getU32(findNode(fdt.root, '/n@1/p')!, 'phandle'));
  assert.equal(getString(fdt.root, 'model'), 'm');
});
