// Cross-check of the generated device tree against a real Linux: QEMU's virt
// board booted with OUR DTB (-dtb) must bring up both CPUs through PSCI and
// probe the GIC, timer, PL011, PL031 and virtio-mmio transports. Runs when
// `npm run fetch-guests` has cached the Debian kernel and qemu-system-aarch64
// is installed; skipped (visibly) otherwise, and failed when CI=true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { virtDefaults, virtDtb } from '../../src/vmm/virt-fdt.js';

const cache = fileURLToPath(new URL('../../../.cache/guests/', import.meta.url));

test('virt-fdt: Linux boots on qemu-system-aarch64 -M virt with our DTB and finds every device', { timeout: 600_000 }, (t) => {
  const manifest = join(cache, 'guests.json');
  const ci = process.env.CI === 'true';
  if (!existsSync(manifest)) {
    assert.ok(!ci, 'CI=true: the Debian guests must be cached (.ci/run runs npm run fetch-guests)');
    return t.skip('no guests cached (npm run fetch-guests)');
  }
  if (spawnSync('qemu-system-aarch64', ['--version']).status !== 0) {
    assert.ok(!ci, 'CI=true: qemu-system-aarch64 is required');
    return t.skip('qemu-system-aarch64 not installed');
  }
  const m = JSON.parse(readFileSync(manifest, 'utf8')) as { kernel: string; initrd: string };
  const dir = mkdtempSync(join(tmpdir(), 'nestvisor-qemu-'));
  try {
    const d = virtDefaults(256 << 20, 2, 32);
    d.bootargs = 'console=ttyAMA0 panic=-1';
    writeFileSync(join(dir, 'virt.dtb'), virtDtb(d));
    writeFileSync(join(dir, 'disk.img'), new Uint8Array(4 << 20));
    const r = spawnSync('qemu-system-aarch64', ['-M', 'virt,gic-version=3', '-cpu', 'max', '-smp', '2', '-m', '256M', '-nographic', '-no-reboot',
      '-kernel', join(cache, m.kernel), '-initrd', join(cache, m.initrd), '-append', d.bootargs!, '-dtb', join(dir, 'virt.dtb'),
      '-drive', `if=none,file=${join(dir, 'disk.img')},format=raw,id=d0`, '-device', 'virtio-blk-device,drive=d0', '-device', 'virtio-rng-device'],
    { encoding: 'utf8', timeout: 540_000 });
    const out = r.stdout;
    assert.equal(r.status, 0, out.slice(-3000));
    for (const re of [/psci: PSCIv\d/, /smp: Brought up 1 node, 2 CPUs/, /GICv3: CPU1: found redistributor 1/, /arch_timer: cp15 timer\(s\) running/,
      /ttyAMA0 at MMIO 0x9000000/, /rtc-pl031 9010000.pl031: registered as rtc0/, /\[vda\] 8192 512-byte logical blocks/, /nestvisor-init: userspace is up/, /reboot: Power down/]) {
      assert.match(out, re);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
