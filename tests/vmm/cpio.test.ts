import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { readCpio, writeCpio, S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, S_IFBLK } from '../../src/vmm/cpio.js';
import { buildInitramfs, busyboxInitramfs, moduleDepends, orderModules } from '../../src/vmm/initramfs.js';
import { ImageError } from '../../src/vmm/elf.js';

const CI = process.env.CI === 'true';
const hasCpio = spawnSync('cpio', ['--version']).status === 0;
const enc = new TextEncoder();

function cpioTool(args: string[], input: Uint8Array, t: { skip(m: string): void }): string | null {
  if (!hasCpio) {
    if (CI) assert.fail('cpio is missing (Debian package cpio); CI=true requires it');
    t.skip('cpio not installed (apt-get install cpio)');
    return null;
  }
  const r = spawnSync('cpio', args, { input, encoding: 'buffer' });
  assert.equal(r.status, 0, r.stderr.toString());
  return r.stdout.toString();
}

const entries = [
  { name: 'bin', mode: S_IFDIR | 0o755 },
  { name: 'bin/hello', mode: S_IFREG | 0o755, data: enc.encode('#!/bin/sh\necho hi\n') },
  { name: 'bin/sh', mode: S_IFLNK | 0o777, data: enc.encode('busybox') },
  { name: 'dev', mode: S_IFDIR | 0o755 },
  { name: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
  { name: 'dev/vda', mode: S_IFBLK | 0o660, rdevMajor: 254, rdevMinor: 0 },
  { name: 'odd', mode: S_IFREG | 0o644, data: enc.encode('x') },
];

test('cpio: newc layout: 110-byte ASCII headers, 4-byte alignment, mtime 0, trailer', () => {
  const a = writeCpio(entries);
  assert.equal(a.length % 4, 0);
  const text = new TextDecoder('latin1').decode(a);
  assert.ok(text.startsWith('070701'));
  // mtime field (6th) of the first entry is zero.
  assert.equal(text.slice(6 + 5 * 8, 6 + 6 * 8), '00000000');
  assert.ok(text.includes('TRAILER!!!\0'));
  // Reproducible.
  assert.deepEqual(writeCpio(entries), a);
});

test('cpio: our reader reads back names, modes, data, symlink targets and device numbers', () => {
  const back = readCpio(writeCpio(entries));
  assert.deepEqual(back.map((e) => e.name), entries.map((e) => e.name));
  for (const [i, e] of entries.entries()) {
    assert.equal(back[i].mode, e.mode);
    assert.deepEqual(back[i].data, e.data ?? new Uint8Array(0));
    assert.equal(back[i].rdevMajor, e.rdevMajor ?? 0);
    assert.equal(back[i].rdevMinor, e.rdevMinor ?? 0);
    assert.equal(back[i].mtime, 0);
  }
});

test('cpio: malformed archives are refused clearly', () => {
  const a = writeCpio(entries);
  assert.throws(() => readCpio(a.subarray(0, 200), 'initrd'), (e: unknown) => e instanceof ImageError && /initrd: .*(truncated|runs past the end)/.test(e.message));
  const b = a.slice();
  b[0] = 0x41;
  assert.throws(() => readCpio(b, 'initrd'), /initrd: bad magic 'A70701' at offset 0x0/);
  assert.throws(() => writeCpio([{ name: '../x', mode: S_IFREG }]), /bad entry name/);
  assert.throws(() => writeCpio([{ name: 'x', mode: 0o644 }]), /no file type/);
});

test('cpio: GNU cpio lists and verbosely describes our archive', (t) => {
  const a = writeCpio(entries);
  const list = cpioTool(['-t', '--quiet'], a, t);
  if (list === null) return;
  assert.deepEqual(list.trim().split('\n'), entries.map((e) => e.name));
  const verbose = cpioTool(['-tv', '--quiet'], a, t)!;
  assert.match(verbose, /^lrwxrwxrwx .* bin\/sh -> busybox$/m);
  assert.match(verbose, /^crw------- .* 5,\s+1 .* dev\/console$/m);
  assert.match(verbose, /^brw-rw---- .* 254,\s+0 .* dev\/vda$/m);
  assert.match(verbose, /^-rwxr-xr-x .* 18 .* bin\/hello$/m);
});

test('initramfs: parents are added, directories precede contents, gzip is decompressible', () => {
  const img = buildInitramfs([
    { type: 'file', path: '/usr/share/x/y.txt', data: 'y' },
    { type: 'symlink', path: 'sbin/init', target: '/bin/busybox' },
    { type: 'device', path: 'dev/null', kind: 'char', major: 1, minor: 3, mode: 0o666 },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
  ], { gzip: true });
  assert.equal(img[0], 0x1f);
  const back = readCpio(new Uint8Array(gunzipSync(img)));
  const names = back.map((e) => e.name);
  assert.deepEqual(names, ['dev', 'dev/null', 'sbin', 'sbin/init', 'tmp', 'usr', 'usr/share', 'usr/share/x', 'usr/share/x/y.txt']);
  assert.equal(back.find((e) => e.name === 'tmp')!.mode, S_IFDIR | 0o1777);
  assert.equal(back.find((e) => e.name === 'dev/null')!.mode & S_IFMT, S_IFCHR);
  assert.throws(() => buildInitramfs([{ type: 'file', path: 'a', data: '' }, { type: 'file', path: 'a/b', data: '' }]), /both a directory and a file/);
});

test('initramfs: the busybox layout has /init, /dev/console, applet links and modules; cpio extracts it', (t) => {
  const img = busyboxInitramfs({
    busybox: enc.encode('\x7fELF fake busybox'),
    init: '#!/bin/sh\necho hello\npoweroff -f\n',
    applets: ['sh', 'poweroff'],
    modules: [{ path: 'lib/modules/6.1/kernel/virtio.ko', data: enc.encode('ko') }],
  });
  const back = readCpio(img);
  const init = back.find((e) => e.name === 'init')!;
  assert.equal(init.mode, S_IFREG | 0o755);
  assert.equal(new TextDecoder().decode(init.data), '#!/bin/sh\necho hello\npoweroff -f\n');
  assert.equal(back.find((e) => e.name === 'dev/console')!.rdevMajor, 5);
  assert.equal(new TextDecoder().decode(back.find((e) => e.name === 'bin/sh')!.data), 'busybox');
  assert.ok(back.some((e) => e.name === 'lib/modules/6.1/kernel/virtio.ko'));
  const list = cpioTool(['-t', '--quiet'], img, t);
  if (list === null) return;
  assert.ok(list.split('\n').includes('init'));
  assert.ok(list.split('\n').includes('bin/busybox'));
});

test('initramfs: kernel modules are ordered by their .modinfo depends', () => {
  const ko = (name: string, deps: string) => ({ name, data: enc.encode(`\x7fELF...\0license=GPL\0depends=${deps}\0name=${name}\0`) });
  assert.deepEqual(moduleDepends(ko('virtio_blk', 'virtio,virtio_ring').data), ['virtio', 'virtio_ring']);
  assert.deepEqual(moduleDepends(ko('virtio', '').data), []);
  const { order, missing } = orderModules([ko('virtio_blk', 'virtio,virtio_ring'), ko('virtio-rng', 'virtio,rng-core,virtio_ring'), ko('virtio_mmio', 'virtio,virtio_ring'), ko('virtio_ring', 'virtio'), ko('virtio', '')]);
  const names = order.map((m) => m.name);
  assert.equal(names[0], 'virtio');
  assert.equal(names[1], 'virtio_ring');
  assert.ok(names.indexOf('virtio_mmio') > 1 && names.indexOf('virtio_blk') > 1);
  assert.deepEqual(missing, ['rng_core']);
});
