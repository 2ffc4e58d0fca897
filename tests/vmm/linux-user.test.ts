// The Linux user-mode runner (src/vmm/linux-user.ts) against qemu-aarch64:
// tests/guests/glibc-fp (static glibc: printf with floating point, the IFUNC
// string functions on many lengths and alignments, qsort of doubles, libm,
// conversions, binary128 long double) must print byte for byte what it
// prints under `qemu-aarch64 -cpu max`, and a few known lines (so that two
// equally broken runs cannot pass). qemu-aarch64 comes from QEMU_AARCH64 or
// PATH; without it the comparison is skipped visibly, and fails when CI=true.
// Also: the runner's own checks (auxv, exit status, faults, unknown syscalls)
// with small hand-assembled programs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { linuxHwcaps, runLinuxUser } from '../../src/vmm/linux-user.js';
import { PE } from '../../src/cpu/pe.js';
import { PhysicalBus } from '../../src/cpu/bus.js';
import { cpuModel } from '../../src/cpu/features.js';

const elfPath = fileURLToPath(new URL('../../../tests/guests/glibc-fp/glibc-fp.elf', import.meta.url));
const ENV = ['LANG=C', 'PATH=/usr/bin:/bin'];

function runNv(): ReturnType<typeof runLinuxUser> {
  return runLinuxUser(readFileSync(elfPath), { argv: ['glibc-fp.elf'], env: ENV, name: 'glibc-fp.elf', exePath: elfPath });
}

let nvCache: ReturnType<typeof runLinuxUser> | undefined;
const nv = (): ReturnType<typeof runLinuxUser> => (nvCache ??= runNv());

test('linux-user: glibc-fp runs to exit 0 under nestvisor with the known lines', { timeout: 300_000 }, () => {
  assert.ok(existsSync(elfPath), `${elfPath} is missing (bash tests/guests/build.sh glibc-fp)`);
  const r = nv();
  const text = new TextDecoder().decode(r.stdout);
  assert.equal(r.exit, 'exit', r.message);
  assert.equal(r.status, 0);
  assert.equal(new TextDecoder().decode(r.stderr), '');
  const lines = text.split('\n');
  assert.equal(lines[0], 'glibc-fp: start');
  assert.equal(lines.at(-2), 'glibc-fp: done');
  for (const want of [
    'pf 2: 1.000000|1.000|1.000000e+00|1.0000000000e+00|1|1|0x1p+0|      1.0000|1.00e+00    |+1',
    'pf 8: 3.141593|3.142|3.141593e+00|3.1415926536e+00|3.14159|3.1415926535897931|0x1.921fb54442d18p+1|      3.1416|3.14e+00    |+3.14159',
    'pf inf: inf -inf inf -inf | nan: nan -nan',
    'special: -inf nan inf inf 0 nan',
    'rounding: -3 -2 -3 -2 3 2 4 -4',
    'long double: 0.333333333333333333333333333333333 1.4142135623730950488016887242097 1.0000000000e+310 1.63498390018489286507716949818 0x1.5555555555555555555555555555p-2',
  ])
    assert.ok(lines.includes(want), `missing line: ${want}`);
  assert.match(text, /^qsort: n=5000 sorted=1 /m);
  assert.match(text, /^m 10 x=3.7999999999999998 sin=-0.61185789094271892 cos=-0.79096771191441684 /m);
  assert.match(text, /^strtod: hash=[0-9a-f]{8} 0.10000000000000001 9.9998886718268301e-321 12$/m);
  assert.equal(lines.filter((l) => l.startsWith('str len ')).length, 7);
  assert.ok(!text.includes('round trip failed'));
});

test('linux-user: glibc-fp prints byte for byte what it prints under qemu-aarch64 -cpu max', { timeout: 300_000 }, (t) => {
  const qemu = process.env.QEMU_AARCH64 ?? 'qemu-aarch64';
  const ci = process.env.CI === 'true';
  if (spawnSync(qemu, ['--version']).status !== 0) {
    assert.ok(!ci, `CI=true: ${qemu} is required (apt-get install qemu-user, or set QEMU_AARCH64)`);
    return t.skip(`${qemu} not installed (apt-get install qemu-user, or set QEMU_AARCH64)`);
  }
  const envObj = Object.fromEntries(ENV.map((e) => e.split('=') as [string, string]));
  const q = spawnSync(qemu, ['-cpu', 'max', '-0', 'glibc-fp.elf', elfPath], { env: envObj, maxBuffer: 64 << 20, timeout: 120_000 });
  assert.equal(q.status, 0, `qemu-aarch64 failed: ${q.stderr}`);
  const r = nv();
  assert.equal(r.status, 0, r.message);
  const a = Buffer.from(r.stdout);
  const b = q.stdout;
  if (!a.equals(b)) {
    const al = a.toString('utf8').split('\n'), bl = b.toString('utf8').split('\n');
    const i = al.findIndex((l, k) => l !== bl[k]);
    assert.fail(`stdout differs first at line ${i + 1}:\n  nestvisor: ${al[i]}\n  qemu:      ${bl[i]}`);
  }
});

test('linux-user: AT_HWCAP follows the ID registers (no CPUID: MIDR_EL1 at EL0 is not emulated)', () => {
  const hw = (model: string): number => linuxHwcaps(new PE(new PhysicalBus(), cpuModel(model))).hwcap;
  // FP ASIMD AES PMULL SHA1 SHA2 CRC32 ATOMICS FPHP ASIMDHP, and DCPOP (bit 16) from ID_AA64ISAR1_EL1.DPB
  assert.equal(hw('max'), (1 << 16) | 0b111_1111_1011);
  // cortex-a57: no ATOMICS, no FPHP/ASIMDHP, no DCPOP
  assert.equal(hw('cortex-a57'), 0b000_1111_1011);
  assert.equal(hw('max') & (1 << 11), 0);
});

// ---- Small hand-made programs -------------------------------------------------

/** A minimal ELF64 ET_EXEC with one RX segment at 0x400000 holding `code` (entry at its start). */
function tinyElf(code: number[]): Uint8Array {
  const hdr = 64, ph = 56;
  const body = new Uint8Array(hdr + ph + code.length * 4);
  const dv = new DataView(body.buffer);
  body.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, 183, true);
  dv.setUint32(20, 1, true);
  const base = 0x400000;
  dv.setBigUint64(24, BigInt(base + hdr + ph), true);
  dv.setBigUint64(32, BigInt(hdr), true);
  dv.setUint16(52, hdr, true);
  dv.setUint16(54, ph, true);
  dv.setUint16(56, 1, true);
  dv.setUint32(hdr, 1, true); // PT_LOAD
  dv.setUint32(hdr + 4, 5, true); // R X
  dv.setBigUint64(hdr + 16, BigInt(base), true);
  dv.setBigUint64(hdr + 24, BigInt(base), true);
  dv.setBigUint64(hdr + 32, BigInt(body.length), true);
  dv.setBigUint64(hdr + 40, BigInt(body.length), true);
  code.forEach((w, i) => dv.setUint32(hdr + ph + 4 * i, w >>> 0, true));
  return body;
}
const movz = (rd: number, imm: number): number => (0xd2800000 | (imm << 5) | rd) >>> 0;
const SVC0 = 0xd4000001;

test('linux-user: write and exit_group; the exit code is the status', () => {
  // write(1, sp-string?) -- write the 8 bytes of argc..: instead write from the ELF header ("\x7fELF")
  const code = [movz(0, 1), 0xd2a00801 /* movz x1, #0x40, lsl #16 = 0x400000 */, movz(2, 4), movz(8, 64), SVC0, movz(0, 42), movz(8, 94), SVC0];
  const r = runLinuxUser(tinyElf(code));
  assert.equal(r.exit, 'exit');
  assert.equal(r.status, 42);
  assert.deepEqual([...r.stdout], [0x7f, 0x45, 0x4c, 0x46]);
});

test('linux-user: a store to a read-only page is SIGSEGV (status 139); an unknown system call is -ENOSYS with a message', () => {
  const diags: string[] = [];
  // x8 = 4000 (unknown), svc; x0 must be -38; then store x0 to 0x400000 (read-only code) -> SIGSEGV
  const code = [movz(8, 4000), SVC0, 0xd2a00801, 0xf9000020 /* str x0, [x1] */];
  const r = runLinuxUser(tinyElf(code), { onDiagnostic: (l) => diags.push(l) });
  assert.equal(r.exit, 'signal');
  assert.equal(r.signal, 11);
  assert.equal(r.status, 139);
  assert.match(r.message ?? '', /SIGSEGV.*PC 0x400084.*address 0x400000/);
  assert.ok(diags.some((d) => /unsupported system call 4000/.test(d)), diags.join('\n'));
  assert.equal(r.pe.getX(0), BigInt.asUintN(64, -38n));
});
