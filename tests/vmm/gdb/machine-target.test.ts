/**
 * Debugging a guest with the real GDB (Debian's gdb-multiarch) through the
 * CLI's gdb stub: `nestvisor run --default-guest -S -gdb tcp:127.0.0.1:0`,
 * then a batch of GDB commands against the ELF's symbols: a breakpoint at
 * printf_uart, reading the string argument through the guest's memory,
 * changing that memory and a register (the guest's output shows both),
 * stepping one instruction, deleting the breakpoint and running to the
 * guest's power-off (GDB sees the process exit).
 * Skipped visibly without gdb-multiarch; with CI=true it fails instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { VirtMachine } from '../../../src/vmm/machine.js';
import { MachineGdbTarget } from '../../../src/vmm/gdb/machine-target.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CLI = `${ROOT}dist/src/cli/main.js`;
const ELF = `${ROOT}tests/guests/hello/hello.elf`;
const haveGdb = spawnSync('gdb-multiarch', ['--version'], { stdio: 'ignore' }).status === 0;
if (!haveGdb && process.env.CI === 'true') test('gdb-multiarch is installed', () => assert.fail('CI=true but gdb-multiarch is missing (Debian package gdb-multiarch)'));

test('gdb-multiarch debugs the default guest: breakpoint, memory and register reads and writes, stepi, run to exit', { skip: haveGdb ? false : 'gdb-multiarch is not installed (Debian package gdb-multiarch)', timeout: 60_000 }, async () => {
  const vm = spawn(process.execPath, [CLI, 'run', '--default-guest', '-S', '-gdb', 'tcp:127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  vm.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  const port = await new Promise<number>((resolve, reject) => {
    vm.stderr.setEncoding('utf8').on('data', (s: string) => {
      err += s;
      const m = /gdb server on tcp:127\.0\.0\.1:(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    vm.on('exit', () => reject(new Error(`nestvisor exited before its gdb server listened:\n${err}`)));
  });
  const exited = new Promise<number | null>((resolve) => vm.on('exit', (code) => resolve(code)));
  const cmds = [
    'set pagination off',
    `target remote 127.0.0.1:${port}`,
    'p/x $pc',
    'break *printf_uart',
    'continue',
    'p/x $pc',
    'x/s $x0',
    "set {char}$x0 = 'J'",
    'set $first = $x0',
    'stepi',
    'p/x $pc',
    'continue',
    'set $x0 = $first',
    'delete',
    'continue',
  ];
  const gdb = spawnSync('gdb-multiarch', ['-nx', '-batch', ...cmds.flatMap((c) => ['-ex', c]), ELF], { encoding: 'utf8', timeout: 45_000 });
  const code = await exited;
  const ctx = `\n--- gdb stdout ---\n${gdb.stdout}\n--- gdb stderr ---\n${gdb.stderr}\n--- nestvisor stderr ---\n${err}\n--- guest output ---\n${out}`;
  const nm = spawnSync('aarch64-linux-gnu-nm', [ELF], { encoding: 'utf8' });
  const sym = (name: string): number => parseInt(new RegExp(`^([0-9a-f]+) [Tt] ${name}$`, 'm').exec(nm.stdout)![1], 16);
  const pcs = [...gdb.stdout.matchAll(/^\$\d+ = (0x[0-9a-f]+)$/gm)].map((m) => parseInt(m[1], 16));
  assert.deepEqual(pcs, [sym('_start'), sym('printf_uart'), sym('printf_uart') + 4], `PC at reset, at the breakpoint, one instruction later${ctx}`);
  assert.match(gdb.stdout, /"Hello from a bare-metal AArch64 guest on nestvisor!\\n"/, `x/s read the string through the guest's memory${ctx}`);
  assert.match(gdb.stdout, /exited normally/, `GDB saw the guest end${ctx}`);
  assert.equal(code, 0, ctx);
  // The memory write changed what the guest printed; the register write made it print the first line again.
  assert.deepEqual(out.split('\n').slice(0, 2), ['Jello from a bare-metal AArch64 guest on nestvisor!', 'Jello from a bare-metal AArch64 guest on nestvisor!'], ctx);
  assert.match(out, /fib\(90\) = 2880067194370816120/);
});

test('the machine as a GDB target: registers, virtual memory, a BRK breakpoint that stops the machine, single steps, the end', async () => {
  const nm = spawnSync('aarch64-linux-gnu-nm', [ELF], { encoding: 'utf8' });
  // Symbols from the ELF itself when binutils are there; the addresses are fixed by the guest's link script otherwise.
  const sym = (name: string, fallback: number): bigint => BigInt(nm.status === 0 ? parseInt(new RegExp(`^([0-9a-f]+) [Tt] ${name}$`, 'm').exec(nm.stdout)![1], 16) : fallback);
  const printfUart = sym('printf_uart', 0x40081150);
  let out = '';
  const m = new VirtMachine({ memBytes: 64 << 20, kernel: readFileSync(ELF), onSerial: (b) => (out += Buffer.from(b).toString('latin1')) });
  const t = new MachineGdbTarget(m);
  const stops: string[] = [];
  let next: (() => void) | null = null;
  t.onStop = (e) => {
    stops.push(e.kind === 'exited' ? `exited ${e.code}` : `${e.reason} cpu ${e.cpu}`);
    next?.();
  };
  const stopped = (): Promise<void> => new Promise((resolve) => (next = resolve));
  const run = m.run();
  const pc = (): bigint => new DataView(t.readRegister(0, 32)!.buffer).getBigUint64(0, true);
  assert.equal(t.cpus, 1);
  assert.equal(pc(), sym('_start', 0x40080000), 'paused at the entry');
  assert.equal(t.readRegisters(0).length, 33 * 8 + 4);
  assert.match(t.targetXml, /org\.gnu\.gdb\.aarch64\.core/);
  // The first instruction, read by virtual address (the MMU is off: VA = IPA).
  const first = t.readMemory(0, pc(), 4)!;
  assert.equal(first.length, 4);
  assert.equal(t.readMemory(0, 0x1000n, 4), null, 'no memory there');

  const original = [...t.readMemory(0, printfUart, 4)!];
  assert.ok(t.insertBreakpoint(printfUart));
  assert.deepEqual([...m.vm.readMemory(Number(printfUart), 4)], [0x00, 0x00, 0x20, 0xd4], 'memory holds BRK #0');
  assert.deepEqual([...t.readMemory(0, printfUart, 4)!], original, 'the debugger reads the original instruction');
  let s = stopped();
  t.resume(null);
  await s;
  assert.equal(stops.at(-1), 'breakpoint cpu 0');
  assert.equal(pc(), printfUart);
  assert.equal(out, '', 'stopped before printing');
  assert.ok(t.removeBreakpoint(printfUart));
  // Two single steps: one instruction each.
  for (let k = 1; k <= 2; k++) {
    s = stopped();
    t.resume(0);
    await s;
    assert.equal(stops.at(-1), 'step cpu 0');
    assert.equal(pc(), printfUart + BigInt(4 * k));
  }
  // Writing x0 (the string printf_uart prints) and memory, then running to the end.
  const x0 = new DataView(t.readRegister(0, 0)!.buffer).getBigUint64(0, true);
  assert.ok(t.writeMemory(0, x0, new TextEncoder().encode('J')));
  s = stopped();
  t.resume(null);
  await s;
  assert.equal(stops.at(-1), 'exited 0');
  assert.equal((await run).end, 'poweroff');
  assert.match(out, /^Jello from a bare-metal AArch64 guest/);
});
