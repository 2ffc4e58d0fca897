import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseRunArgs, parseSize, UsageError } from '../../src/cli/args.js';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('QEMU-style flags parse', () => {
  const a = parseRunArgs(['-M', 'virt', '-cpu', 'cortex-a57', '-m', '256M', '-kernel', 'x.elf', '-nographic', '-d', 'in_asm,int', '-D', 'log.txt']);
  assert.equal(a.kernel, 'x.elf');
  assert.equal(a.memBytes, 256 << 20);
  assert.equal(a.cpu, 'cortex-a57');
  assert.deepEqual([...a.log].sort(), ['in_asm', 'int']);
  assert.equal(a.logFile, 'log.txt');
});

test('kvmtool-style long forms are synonyms', () => {
  const a = parseRunArgs(['--kernel', 'x.elf', '--mem', '64']);
  assert.equal(a.kernel, 'x.elf');
  assert.equal(a.memBytes, 64 << 20, 'a plain number is MiB, as in QEMU and kvmtool');
});

test('clock flags: deterministic by default, -rtc clock=host for host time, -icount shift=N', () => {
  assert.equal(parseRunArgs(['-kernel', 'x']).clock, 'icount');
  assert.equal(parseRunArgs(['-kernel', 'x', '-rtc', 'base=utc,clock=host']).clock, 'host');
  const a = parseRunArgs(['-kernel', 'x', '-icount', 'shift=4']);
  assert.equal(a.clock, 'icount');
  assert.equal(a.icountShift, 4);
  assert.throws(() => parseRunArgs(['-kernel', 'x', '-icount', 'auto']), /-icount: 'auto' is not shift=N/);
  const b = parseRunArgs(['-kernel', 'x', '-icount', 'shift=3,sleep=off']);
  assert.equal(b.icountShift, 3);
  assert.equal(b.idleSleep, false);
  assert.equal(parseRunArgs(['-kernel', 'x', '-icount', 'sleep=on']).idleSleep, true);
  assert.equal(parseRunArgs(['-kernel', 'x']).idleSleep, undefined, 'decided by the console: on for a terminal or socket');
});

test('sizes', () => {
  assert.equal(parseSize('1G', '-m'), 1 << 30);
  assert.equal(parseSize('2048K', '-m'), 2 << 20);
  assert.throws(() => parseSize('512K', '-m'), /less than 1 MiB/);
});

test('Linux boot flags: -initrd, -append, -dtb, -smp, -M virt,gic-version=3, -drive + -device virtio-blk-device, -serial, -no-reboot', () => {
  const a = parseRunArgs(['-M', 'virt,gic-version=3', '-cpu', 'cortex-a57', '-smp', '2', '-m', '512M', '-kernel', 'Image', '-initrd', 'rd.gz', '-append', 'console=ttyAMA0 quiet',
    '-dtb', 'x.dtb', '-nographic', '-serial', 'file:/tmp/out.txt', '-drive', 'file=d.img,if=none,format=raw,id=hd0,readonly=on', '-device', 'virtio-blk-device,drive=hd0',
    '-drive', 'file=e.img,if=none,id=hd1', '-device', 'virtio-blk-device,drive=hd1', '-device', 'virtio-rng-device', '-no-reboot']);
  assert.equal(a.smp, 2);
  assert.equal(a.initrd, 'rd.gz');
  assert.equal(a.append, 'console=ttyAMA0 quiet');
  assert.equal(a.dtb, 'x.dtb');
  assert.deepEqual(a.serial, { kind: 'file', path: '/tmp/out.txt' });
  assert.deepEqual(a.disks, [{ path: 'd.img', readOnly: true }, { path: 'e.img', readOnly: false }]);
  assert.equal(a.rng, true);
  assert.equal(a.noReboot, true);
});

test('kvmtool-style Linux flags: --kernel --initrd --params --cpus --mem --disk --rng --console virtio', () => {
  const a = parseRunArgs(['--kernel', 'Image', '--initrd', 'rd', '--params', 'console=hvc0', '--cpus', '2', '--mem', '256', '--disk', 'a.img', '--rng', '--console', 'virtio']);
  assert.equal(a.kernel, 'Image');
  assert.equal(a.initrd, 'rd');
  assert.equal(a.append, 'console=hvc0');
  assert.equal(a.smp, 2);
  assert.equal(a.memBytes, 256 << 20);
  assert.deepEqual(a.disks, [{ path: 'a.img', readOnly: false }]);
  assert.equal(a.virtioConsole, true);
});

test('-serial socket forms: tcp and unix, server and client, QEMU\'s legacy spellings', () => {
  const serial = (v: string) => parseRunArgs(['-kernel', 'x', '-serial', v]).serial;
  assert.deepEqual(serial('tcp:127.0.0.1:4444,server=on'), { kind: 'socket', address: { host: '127.0.0.1', port: 4444 }, server: true, wait: true, nodelay: false });
  assert.deepEqual(serial('tcp:127.0.0.1:4444,server=on,wait=off'), { kind: 'socket', address: { host: '127.0.0.1', port: 4444 }, server: true, wait: false, nodelay: false });
  assert.deepEqual(serial('tcp::4444,server,nowait'), { kind: 'socket', address: { host: '', port: 4444 }, server: true, wait: false, nodelay: false });
  assert.deepEqual(serial('tcp::4444,server,nowait,nodelay'), { kind: 'socket', address: { host: '', port: 4444 }, server: true, wait: false, nodelay: true });
  assert.deepEqual(serial('tcp:[::1]:0,server=on,wait=on'), { kind: 'socket', address: { host: '::1', port: 0 }, server: true, wait: true, nodelay: false });
  assert.deepEqual(serial('tcp:localhost:4444'), { kind: 'socket', address: { host: 'localhost', port: 4444 }, server: false, wait: false, nodelay: false });
  assert.deepEqual(serial('unix:/tmp/nv.sock,server=on,wait=off'), { kind: 'socket', address: { path: '/tmp/nv.sock' }, server: true, wait: false, nodelay: false });
  assert.deepEqual(serial('unix:/tmp/a,,b.sock,server'), { kind: 'socket', address: { path: '/tmp/a,b.sock' }, server: true, wait: true, nodelay: false }, "',,' escapes a comma");
  assert.deepEqual(serial('unix:/tmp/nv.sock'), { kind: 'socket', address: { path: '/tmp/nv.sock' }, server: false, wait: false, nodelay: false });
});

test('network flags: -netdev user + -device virtio-net-device, -nic user, kvmtool --network', () => {
  const a = parseRunArgs(['-kernel', 'x', '-netdev', 'user,id=n0,hostfwd=tcp::2222-:22,hostfwd=udp:127.0.0.1:5353-10.0.2.15:53,dns=10.0.2.3,ipv6=off',
    '-device', 'virtio-net-device,netdev=n0,mac=52:54:00:00:00:01', '-nic', 'user,model=virtio-net-device', '--network', 'mode=user,guest_mac=52:54:00:00:00:03', '-nic', 'none']);
  assert.equal(a.nics.length, 3);
  assert.deepEqual([...a.nics[0].mac!], [0x52, 0x54, 0, 0, 0, 1]);
  assert.equal(a.nics[0].netdev.dns, '10.0.2.3');
  assert.deepEqual(a.nics[0].netdev.hostfwd.map((h) => [h.proto, h.hostPort, h.guestPort]), [['tcp', 2222, 22], ['udp', 5353, 53]]);
  assert.equal(a.nics[1].mac, undefined);
  assert.deepEqual(a.nics[1].netdev, { kind: 'user', hostfwd: [] });
  assert.deepEqual([...a.nics[2].mac!], [0x52, 0x54, 0, 0, 0, 3]);
  assert.equal(parseRunArgs(['-kernel', 'x']).nics.length, 0, 'no NIC unless asked for');
});

test('debugger flags: -s is -gdb tcp::1234, -gdb tcp:HOST:PORT or unix:PATH, -S starts paused', () => {
  assert.deepEqual(parseRunArgs(['-kernel', 'x', '-s', '-S']).gdb, { port: 1234 });
  assert.equal(parseRunArgs(['-kernel', 'x', '-s', '-S']).startPaused, true);
  assert.deepEqual(parseRunArgs(['-kernel', 'x', '-gdb', 'tcp:127.0.0.1:0']).gdb, { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseRunArgs(['-kernel', 'x', '-gdb', 'unix:/tmp/g.sock']).gdb, { path: '/tmp/g.sock' });
  assert.equal(parseRunArgs(['-kernel', 'x']).gdb, undefined);
});

const bad: Array<[string[], RegExp]> = [
  [['-kernel', 'x', '-cpu', 'cortex-a72'], /-cpu cortex-a72: unsupported CPU model/],
  [['-kernel', 'x', '-M', 'virt,gic-version=2'], /gic-version=2 is not supported/],
  [['-kernel', 'x', '-M', 'virt,secure=on'], /machine option 'secure' is not supported/],
  [['-kernel', 'x', '-serial', 'telnet::4444,server'], /-serial telnet::4444,server: not supported \(use stdio, file:PATH, tcp:HOST:PORT/],
  [['-kernel', 'x', '-serial', 'tcp:4444'], /-serial tcp:4444: expected tcp:HOST:PORT/],
  [['-kernel', 'x', '-serial', 'tcp::70000,server=on'], /port 70000 is not a port number/],
  [['-kernel', 'x', '-serial', 'tcp:localhost:0'], /port 0 is not a port number to connect to/],
  [['-kernel', 'x', '-serial', 'tcp::4444,wait=off'], /wait is only for a server \(add server=on\)/],
  [['-kernel', 'x', '-serial', 'tcp::4444,server=maybe'], /server=maybe is not on or off/],
  [['-kernel', 'x', '-serial', 'tcp::4444,server,reconnect=1'], /option 'reconnect' is not supported/],
  [['-kernel', 'x', '-serial', 'tcp::4444,server,wait,nowait'], /wait and nowait conflict/],
  [['-kernel', 'x', '-serial', 'unix:'], /-serial unix:: expected unix:PATH/],
  [['-kernel', 'x', '-drive', 'file=a.img,if=none,format=qcow2,id=a'], /format=qcow2 is not supported/],
  [['-kernel', 'x', '-drive', 'file=a.img,if=none,id=a'], /-drive id=a: not attached to a device/],
  [['-kernel', 'x', '-device', 'virtio-blk-device,drive=nope'], /no -drive with id=nope/],
  [['-kernel', 'x', '-device', 'virtio-net-device'], /-device virtio-net-device: netdev=ID is required/],
  [['-kernel', 'x', '-device', 'virtio-net-device,netdev=n0'], /no -netdev with id=n0/],
  [['-kernel', 'x', '-netdev', 'user,id=n0'], /-netdev id=n0: not attached to a NIC/],
  [['-kernel', 'x', '-netdev', 'tap,id=n0,ifname=tap0'], /type 'tap' is not supported/],
  [['-kernel', 'x', '-netdev', 'user'], /id=ID is required/],
  [['-kernel', 'x', '-netdev', 'user,id=n0,smb=/tmp', '-device', 'virtio-net-device,netdev=n0'], /option 'smb' is not supported/],
  [['-kernel', 'x', '-netdev', 'user,id=n0,hostfwd=tcp::22', '-device', 'virtio-net-device,netdev=n0'], /hostfwd=tcp::22: /],
  [['-kernel', 'x', '-netdev', 'user,id=n0,dns=10.0.2', '-device', 'virtio-net-device,netdev=n0'], /dns=10.0.2 is not an IPv4 address/],
  [['-kernel', 'x', '-netdev', 'user,id=n0', '-device', 'virtio-net-device,netdev=n0', '-device', 'virtio-net-device,netdev=n0'], /netdev 'n0' is already used/],
  [['-kernel', 'x', '-netdev', 'user,id=n0', '-device', 'virtio-net-device,netdev=n0,mac=01:02:03:04:05:06'], /multicast/],
  [['-kernel', 'x', '-nic', 'user,model=e1000'], /model=e1000 is not supported/],
  [['-kernel', 'x', '-nic', 'user,host=10.0.2.999'], /host=10.0.2.999 is not an IPv4 address/],
  [['-kernel', 'x', '-nic', 'user,net=10.0.0.0/31'], /net=10.0.0.0\/31 is not ADDRESS\[\/BITS\] with BITS at most 30/],
  [['-kernel', 'x', '-S'], /-S: the CPUs would never start: give -s or -gdb too/],
  [['-kernel', 'x', '-gdb', 'tcp:1234'], /-gdb tcp:1234: use tcp:\[HOST\]:PORT/],
  [['-kernel', 'x', '-s', '-gdb', 'tcp::2345'], /-gdb tcp::2345: conflicts with an earlier gdb \(tcp::1234\)/],
  [['-kernel', 'x', '--network', 'mode=tap'], /mode=tap is not supported/],
  [['-kernel', 'x', '--kernel', 'y'], /--kernel y: conflicts with an earlier kernel \(x\)/],
  [['--default-guest', '-kernel', 'x'], /--default-guest conflicts with -kernel/],
  [['-append', 'quiet', '--default-guest'], /-append is only allowed with -kernel/],
  [['-kernel', 'x', '--disk', 'a.img', '--disk', 'a.img'], /disk 'a.img' is given twice/],
  [['-kernel', 'x', '-smp', '64'], /at most 8 CPUs/],
  [['-kernel', 'x.elf', '-frobnicate'], /unsupported option '-frobnicate'/],
  [['-kernel'], /-kernel needs a value/],
  [['-kernel', 'x.elf', '-m', 'lots'], /-m: 'lots' is not a size/],
  [['-kernel', 'x.elf', '-M', 'sbsa-ref'], /the only machine is 'virt'/],
  [['-kernel', 'x.elf', '-d', 'cpu'], /-d: unknown log item 'cpu'/],
  [['-m', '64M'], /no guest given/],
];
for (const [argv, msg] of bad) {
  test(`bad command line is named: ${argv.join(' ')}`, () => {
    assert.throws(() => parseRunArgs(argv), (e: unknown) => e instanceof UsageError && msg.test(e.message));
  });
}

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('the CLI runs the default guest and reports how it ended', () => {
  const r = spawnSync(process.execPath, [cli, 'run', '--default-guest'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Hello from a bare-metal AArch64 guest/);
  assert.match(r.stderr, /guest poweroff after [\d,]+ instructions/);
});

test('the CLI exits with a clear message, not a stack trace, for a missing or malformed kernel', () => {
  const missing = spawnSync(process.execPath, [cli, 'run', '-kernel', '/nonexistent/guest.elf'], { encoding: 'utf8' });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^nestvisor: -kernel: no such file '\/nonexistent\/guest.elf'\n$/);
  const notElf = spawnSync(process.execPath, [cli, 'run', '-kernel', fileURLToPath(import.meta.url)], { encoding: 'utf8' });
  assert.equal(notElf.status, 2);
  assert.match(notElf.stderr, /^nestvisor: .*args\.test\.js: bad magic .*: not an arm64 Linux Image\n$/);
});

test('the CLI: a NIC on the default guest runs and exits (sockets closed); a host port in use is named with exit code 2', async () => {
  const ok = spawnSync(process.execPath, [cli, 'run', '--default-guest', '--stats', '-nic', 'user,hostfwd=tcp:127.0.0.1:0-:22'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stderr, /hostfwd tcp 127\.0\.0\.1:\d+ -> guest 10\.0\.2\.15:22/);
  assert.match(ok.stderr, /net0: sent 0 frames/, 'the bare-metal guest has no driver for the NIC');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const r = spawnSync(process.execPath, [cli, 'run', '--default-guest', '-netdev', `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:22`, '-device', 'virtio-net-device,netdev=n0'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `nestvisor: hostfwd tcp:127.0.0.1:${port}-10.0.2.15:22: cannot listen: the host port is in use\n`);
  } finally {
    server.close();
  }
});

test('the CLI: --exit-trace writes a Perfetto trace whose PL011 writes are the characters printed; a bad path is named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nestvisor-trace-'));
  try {
    const file = join(dir, 'exits.json');
    const r = spawnSync(process.execPath, [cli, 'run', '--default-guest', '--exit-trace', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /exit trace: [\d,]+ events in .*exits\.json; open it in ui\.perfetto\.dev/);
    const events = (JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: Array<{ name: string; args?: { ipa?: string } }> }).traceEvents;
    assert.equal(events.filter((e) => e.name === 'mmio-write' && e.args?.ipa === '0x9000000').length, r.stdout.length);
    assert.equal(events.filter((e) => e.name === 'system-event').length, 1, 'the PSCI SYSTEM_OFF that ended it');
    const bad = spawnSync(process.execPath, [cli, 'run', '--default-guest', '--exit-trace', join(dir, 'no', 'such', 'x.json')], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^nestvisor: --exit-trace .*x\.json: no such directory\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
