import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseRunArgs, parseSize, UsageError } from '../../src/cli/args.js';

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
});

test('sizes', () => {
  assert.equal(parseSize('1G', '-m'), 1 << 30);
  assert.equal(parseSize('2048K', '-m'), 2 << 20);
  assert.throws(() => parseSize('512K', '-m'), /less than 1 MiB/);
});

const bad: Array<[string[], RegExp]> = [
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
  assert.match(notElf.stderr, /^nestvisor: .*args\.test\.js: not an ELF file \(bad magic\)\n$/);
});
