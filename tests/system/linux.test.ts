/**
 * Debian's arm64 cloud kernel boots on nestvisor's virt machine (through the
 * command line, as a user would run it) with -smp 1 and -smp 2, to an init
 * script that:
 *  - prints /proc/cpuinfo (every CPU present),
 *  - runs busybox commands that exercise FP and SIMD (awk floating-point
 *    arithmetic, sort -n / sort -g, md5sum, sha256sum) whose outputs the test
 *    computes on the host,
 *  - mounts a virtio-blk disk (an ext2 image made here with mke2fs -d), reads
 *    the file the test put there, writes one, syncs, unmounts;
 *  - (-smp 1, with a virtio-net NIC on the user-mode network) gets an address
 *    with busybox udhcpc, pings the gateway, and fetches and posts data over
 *    HTTP to a server this test runs on the host's 127.0.0.1 (10.0.2.2 to the
 *    guest): TCP through the NAT both ways, checked byte for byte;
 *  - (-smp 1) starts a shell that answers commands typed on stdin (PL011 input);
 *  - powers off; the test then finds the guest's file in the image.
 *
 * Needs `npm run fetch-guests` (the kernel, busybox and modules in
 * .cache/guests) and mke2fs (Debian package e2fsprogs). Without them the
 * test is skipped, visibly; with CI=true it fails instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { readCpio, writeCpio, S_IFREG } from '../../src/vmm/cpio.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const cache = join(root, '.cache', 'guests');

function prerequisites(): string | null {
  if (!existsSync(join(cache, 'guests.json'))) return 'the Debian kernel and initramfs are not cached: run `npm run fetch-guests`';
  const g = JSON.parse(readFileSync(join(cache, 'guests.json'), 'utf8')) as { kernel: string; initrd: string };
  if (!existsSync(join(cache, g.kernel)) || !existsSync(join(cache, g.initrd))) return `${g.kernel} or ${g.initrd} is missing from .cache/guests: run \`npm run fetch-guests\``;
  if (spawnSync('sh', ['-c', 'command -v mke2fs || test -x /sbin/mke2fs || test -x /usr/sbin/mke2fs'], { stdio: 'ignore' }).status !== 0) return 'mke2fs is not installed (Debian package e2fsprogs)';
  return null;
}

const missing = prerequisites();
if (missing !== null && process.env.CI === 'true') {
  test('Linux system test prerequisites', () => assert.fail(`CI=true but ${missing}`));
}
const skip = missing !== null ? `skipped: ${missing}` : false;

// ---- What the guest computes, computed here too -------------------------------------------

const FOX = 'The quick brown fox jumps over the lazy dog';
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** awk 'BEGIN { s = 0; for (i = 1; i <= 2000; i++) s += 1 / i; printf "%.12f %.9e", s, s * s / 7 }' (Debian's busybox awk has no libm: no sqrt, no ^). */
function awkHarmonic(): string {
  let s = 0;
  for (let i = 1; i <= 2000; i++) s += 1 / i;
  const e = (s * s / 7).toExponential(9).replace(/e([+-])(\d)$/, 'e$10$2');
  return `${s.toFixed(12)} ${e}`;
}

/** The numbers awk prints: x = (x * 75 + 74) % 65537, starting from 1, 3000 of them. */
function lcg(): number[] {
  const out: number[] = [];
  let x = 1;
  for (let i = 0; i < 3000; i++) {
    x = (x * 75 + 74) % 65537;
    out.push(x);
  }
  return out;
}
const sortedNumeric = (): string => lcg().sort((a, b) => a - b).map((v) => `${v}\n`).join('');
/** Floating-point keys x / 7 printed with %.5f, sorted with sort -g. */
const floats = (): string[] => lcg().slice(0, 500).map((v) => (v / 7).toFixed(5));
const sortedFloats = (): string => floats().sort((a, b) => Number(a) - Number(b)).map((v) => `${v}\n`).join('');

/** What the guest fetches over HTTP: 300 KiB that md5sum checks (many TCP segments, several windows). */
const BLOB = Buffer.from(Array.from({ length: 300 * 1024 }, (_, i) => (i * 2654435761) >>> 24));
const POSTED = 'posted-by-the-guest';

/** The network part of /init (for a machine with a NIC): DHCP, ping, HTTP GET and POST to the host. */
const NET_SCRIPT = `if [ -e /sys/class/net/eth0 ]; then
  ip link set lo up
  ip link set eth0 up
  if udhcpc -i eth0 -n -q -t 5 -T 2 -s /etc/udhcpc.script >/dev/null 2>&1; then echo "T:dhcp=$(ip -4 addr show eth0 | awk '/inet /{print $2}')"; else echo "T:dhcp-failed"; fi
  echo "T:route=$(ip route | awk '/^default/{print $3}')"
  ping -c 2 -W 5 10.0.2.2 >/dev/null 2>&1 && echo "T:ping=ok"
  port=$(sed -n 's/.*nestvisor.port=\\([0-9]*\\).*/\\1/p' /proc/cmdline)
  echo "T:wget=$(wget -q -O - http://10.0.2.2:$port/blob | md5sum)"
  echo "T:post=$(wget -q -O - --post-data '${POSTED}' http://10.0.2.2:$port/echo)"
fi
`;

function initScript(modules: string, shell: boolean): string {
  return `#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
/bin/busybox --install -s 2>/dev/null
echo "T:init"
cat /proc/cpuinfo
echo "T:cpus=$(grep -c '^processor' /proc/cpuinfo)"
for m in ${modules}; do insmod "$m" || echo "T:insmod-failed $m"; done
echo "T:awk=$(awk 'BEGIN { s = 0; for (i = 1; i <= 2000; i++) s += 1 / i; printf "%.12f %.9e", s, s * s / 7 }')"
awk 'BEGIN { x = 1; for (i = 0; i < 3000; i++) { x = (x * 75 + 74) % 65537; print x } }' > /tmp/n
echo "T:sortn=$(sort -n /tmp/n | md5sum)"
echo "T:sortg=$(head -n 500 /tmp/n | awk '{ printf "%.5f\\n", $1 / 7 }' | sort -g | md5sum)"
echo "T:md5=$(printf '${FOX}' | md5sum)"
echo "T:sha256=$(printf '${FOX}' | sha256sum)"
echo "T:sha256n=$(sha256sum < /tmp/n)"
mkdir -p /mnt
if mount -t ext2 /dev/vda /mnt; then
  echo "T:host-file=$(cat /mnt/from-host.txt)"
  echo "guest-wrote-this-$(cat /proc/sys/kernel/random/boot_id | cut -c1-8)-on-$(grep -c '^processor' /proc/cpuinfo)-cpus" > /mnt/from-guest.txt
  cat /mnt/from-guest.txt | sed 's/^/T:guest-file=/'
  sync
  umount /mnt && echo "T:umounted"
else
  echo "T:mount-failed"
fi
${NET_SCRIPT}
${shell ? 'echo "T:shell"\nsh\necho "T:shell-exited"' : ''}
echo "T:poweroff"
poweroff -f
`;
}

function buildInitramfs(dir: string, shell: boolean): string {
  const g = JSON.parse(readFileSync(join(cache, 'guests.json'), 'utf8')) as { initrd: string };
  const entries = readCpio(gunzipSync(readFileSync(join(cache, g.initrd))), g.initrd);
  const init = entries.find((e) => e.name === 'init');
  assert.ok(init?.data, 'the cached initramfs has an /init');
  const modules = /for m in ([^;\n]*); do/.exec(new TextDecoder().decode(init.data))?.[1] ?? '';
  const out = entries.filter((e) => e.name !== 'init');
  out.push({ name: 'init', mode: S_IFREG | 0o755, data: new TextEncoder().encode(initScript(modules, shell)) });
  const path = join(dir, `initramfs-${shell ? 'shell' : 'plain'}.cpio.gz`);
  writeFileSync(path, gzipSync(writeCpio(out)));
  return path;
}

function makeDisk(dir: string, name: string, hostText: string): string {
  const content = join(dir, `${name}-content`);
  mkdirSync(content);
  writeFileSync(join(content, 'from-host.txt'), hostText);
  const img = join(dir, `${name}.img`);
  const r = spawnSync('sh', ['-c', `PATH="$PATH:/sbin:/usr/sbin" mke2fs -q -F -t ext2 -b 1024 -d "${content}" "${img}" 4M`], { encoding: 'utf8' });
  assert.equal(r.status, 0, `mke2fs failed: ${r.stderr}`);
  return img;
}

interface Run {
  code: number | null;
  out: string;
  err: string;
  seconds: number;
}

function boot(args: string[], onLine?: (line: string, write: (s: string) => void) => void): Promise<Run> {
  const t0 = performance.now();
  const p = spawn(process.execPath, [cli, 'run', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let pending = '';
  p.stdout.setEncoding('utf8');
  p.stderr.setEncoding('utf8');
  p.stdout.on('data', (s: string) => {
    out += s;
    pending += s;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).replace(/\r$/, '');
      pending = pending.slice(nl + 1);
      onLine?.(line, (t) => p.stdin.write(t));
    }
  });
  p.stderr.on('data', (s: string) => (err += s));
  const timer = setTimeout(() => p.kill('SIGKILL'), 240_000);
  return new Promise((resolve) => {
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

function tagged(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const r = /^T:([\w-]+)(?:=(.*))?\r?$/.exec(line);
    if (r) m.set(r[1], (r[2] ?? '').replace(/\s+-$/, '').trim());
  }
  return m;
}

/** An HTTP server on the host's loopback: GET /blob sends BLOB, POST /echo answers with the body it got. */
async function httpServer(): Promise<{ port: number; posts: string[]; close: () => Promise<void> }> {
  const posts: string[] = [];
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/blob') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BLOB.length });
      res.end(BLOB);
      return;
    }
    if (req.method === 'POST' && req.url === '/echo') {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => {
        posts.push(body);
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`host-got-${body}`);
      });
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { port, posts, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function bootAndCheck(smp: number, shell: boolean, net: boolean): Promise<void> {
  const g = JSON.parse(readFileSync(join(cache, 'guests.json'), 'utf8')) as { kernel: string };
  const dir = mkdtempSync(join(tmpdir(), `nestvisor-linux-${smp}-`));
  const http = net ? await httpServer() : null;
  try {
    const hostText = `hello from the host, smp ${smp}`;
    const disk = makeDisk(dir, 'disk', hostText);
    const initrd = buildInitramfs(dir, shell);
    let answered = '';
    const r = await boot(
      ['-M', 'virt,gic-version=3', '-cpu', 'cortex-a57', '-smp', String(smp), '-m', '512M', '-kernel', join(cache, g.kernel), '-initrd', initrd,
        '-append', `console=ttyAMA0 panic=-1${http ? ` nestvisor.port=${http.port}` : ''}`, '-nographic', '-no-reboot', '--stats',
        '-drive', `file=${disk},if=none,format=raw,id=hd0`, '-device', 'virtio-blk-device,drive=hd0',
        ...(net ? ['-netdev', 'user,id=n0', '-device', 'virtio-net-device,netdev=n0'] : [])],
      (line, write) => {
        if (line === 'T:shell') write('echo "answer-$((6 * 7))-from-$(uname -m)"\nexit\n');
        if (/^answer-/.test(line)) answered = line.trim();
      },
    );
    const t = tagged(r.out);
    const ctx = `\n--- stdout (tail) ---\n${r.out.slice(-3000)}\n--- stderr ---\n${r.err}`;
    assert.equal(r.code, 0, `exit code 0 after poweroff${ctx}`);
    assert.ok(t.has('init'), `the init script ran${ctx}`);
    assert.equal(t.get('cpus'), String(smp), `/proc/cpuinfo lists ${smp} CPU(s)${ctx}`);
    assert.equal((r.out.match(/^processor\s*: \d+/gm) ?? []).length, smp);
    assert.match(r.out, /^Features\s*: fp asimd/m);
    assert.ok(![...t.keys()].some((k) => k === 'insmod-failed'), `modules load${ctx}`);
    assert.equal(t.get('awk'), awkHarmonic(), 'awk floating-point arithmetic');
    assert.equal(t.get('sortn'), md5(sortedNumeric()), 'sort -n | md5sum');
    assert.equal(t.get('sortg'), md5(sortedFloats()), 'awk printf %f | sort -g | md5sum');
    assert.equal(t.get('md5'), md5(FOX));
    assert.equal(t.get('md5'), '9e107d9d372bb6826bd81d3542a419d6');
    assert.equal(t.get('sha256'), sha256(FOX));
    assert.equal(t.get('sha256n'), sha256(lcg().map((v) => `${v}\n`).join('')), 'sha256sum of 3000 lines');
    assert.equal(t.get('host-file'), hostText, `the guest reads the ext2 disk made here${ctx}`);
    assert.ok(t.has('umounted'), `the guest unmounts the disk${ctx}`);
    const guestLine = t.get('guest-file');
    assert.ok(guestLine !== undefined && /^guest-wrote-this-[0-9a-f]{8}-on-\d-cpus$/.test(guestLine), `guest file line: ${guestLine}`);
    // The file the guest wrote is in the image on the host: its bytes are in a data block of the ext2 image.
    const image = readFileSync(disk);
    assert.ok(image.includes(Buffer.from(guestLine + '\n')), 'the guest\'s file content reached the disk image');
    const dbg = spawnSync('sh', ['-c', `PATH="$PATH:/sbin:/usr/sbin" debugfs -R "cat /from-guest.txt" "${disk}" 2>/dev/null`], { encoding: 'utf8' });
    if (dbg.status === 0 && dbg.stdout !== '') assert.equal(dbg.stdout, guestLine + '\n', 'debugfs finds /from-guest.txt in the image');
    if (shell) {
      assert.equal(answered, 'answer-42-from-aarch64', `the shell answered a command typed on stdin${ctx}`);
      assert.ok(t.has('shell-exited'));
    }
    if (http) {
      assert.equal(t.get('dhcp'), '10.0.2.15/24', `udhcpc got QEMU's first address from the user network's DHCP server${ctx}`);
      assert.equal(t.get('route'), '10.0.2.2', 'the default route goes through the gateway');
      assert.equal(t.get('ping'), 'ok', `the gateway answers ping${ctx}`);
      assert.equal(t.get('wget'), createHash('md5').update(BLOB).digest('hex'), `the guest fetched ${BLOB.length} bytes from the host over TCP intact${ctx}`);
      assert.deepEqual(http.posts, [POSTED], 'the host server got the guest\'s POST body');
      assert.equal(t.get('post'), `host-got-${POSTED}`, 'and the guest got the answer');
    } else assert.ok(!t.has('dhcp') && !t.has('dhcp-failed'), 'no NIC, no network setup');
    assert.ok(t.has('poweroff'));
    assert.match(r.err, /guest poweroff after [\d,]+ instructions/);
    const insns = /after ([\d,]+) instructions in ([\d.]+) s/.exec(r.err);
    process.stdout.write(`# linux -smp ${smp}: ${insns?.[1]} instructions, ${insns?.[2]} s in the guest, ${r.seconds.toFixed(1)} s wall\n`);
  } finally {
    await http?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('Linux boots with -smp 1 to init: FP/SIMD userland, virtio-blk write reaches the image, DHCP/ping/HTTP over virtio-net, shell on stdin', { skip, timeout: 300_000 }, async () => {
  await bootAndCheck(1, true, true);
});

test('Linux boots with -smp 2: both CPUs in /proc/cpuinfo, the same userland results', { skip, timeout: 300_000 }, async () => {
  await bootAndCheck(2, false, false);
});
