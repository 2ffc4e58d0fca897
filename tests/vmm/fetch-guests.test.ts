import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initScript, parseKernelDepends, readAr } from '../../src/cli/fetch-guests.js';

test('fetch-guests: the versioned kernel package is read from apt-cache depends', () => {
  const out = 'linux-image-cloud-arm64:arm64\n  Depends: linux-image-6.1.0-56-cloud-arm64:arm64\n  Recommends: foo\n';
  assert.equal(parseKernelDepends(out), 'linux-image-6.1.0-56-cloud-arm64');
  assert.equal(parseKernelDepends('x\n  Depends: libc6\n'), null);
});

test('fetch-guests: the ar reader splits a .deb into its members', () => {
  const enc = new TextEncoder();
  const member = (name: string, data: string) => {
    const h = `${name}/`.padEnd(16) + '0'.padEnd(12) + '0'.padEnd(6) + '0'.padEnd(6) + '100644'.padEnd(8) + String(data.length).padEnd(10) + '`\n';
    return h + data + (data.length & 1 ? '\n' : '');
  };
  const ar = enc.encode('!<arch>\n' + member('debian-binary', '2.0\n') + member('data.tar.xz', 'abc'));
  const ms = readAr(ar);
  assert.deepEqual(ms.map((m) => m.name), ['debian-binary', 'data.tar.xz']);
  assert.equal(new TextDecoder().decode(ms[1].data), 'abc');
  assert.throws(() => readAr(enc.encode('nope')), /not an ar archive/);
  assert.throws(() => readAr(ar.subarray(0, 80)), /runs past the end/);
});

test('fetch-guests: /init mounts the pseudo file systems, loads the modules in order and powers off', () => {
  const s = initScript(['/lib/modules/x/virtio.ko', '/lib/modules/x/virtio_mmio.ko']);
  assert.ok(s.startsWith('#!/bin/sh\n'));
  for (const re of [/mount -t proc proc \/proc/, /mount -t sysfs sysfs \/sys/, /mount -t devtmpfs/, /cat \/proc\/cpuinfo/, /for m in \/lib\/modules\/x\/virtio.ko \/lib\/modules\/x\/virtio_mmio.ko; do/, /poweroff -f\n$/]) assert.match(s, re);
});
