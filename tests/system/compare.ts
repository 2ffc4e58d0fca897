/**
 * Runs a bare-metal test guest (tests/guests/<name>/<name>.elf) on nestvisor
 * and under qemu-system-aarch64, and checks both outputs line by line
 * against each other and against tests/system/expected/<name>.txt (so that
 * two equally broken runs cannot pass).
 *
 * Without qemu-system-aarch64 the QEMU comparison is skipped visibly, except
 * with CI=true, where it fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { runBareMetal } from '../../src/vmm/baremetal.js';

/** The repository root (this file runs from dist/tests/system/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const QEMU = 'qemu-system-aarch64';
let qemuPresent: boolean | null = null;
function haveQemu(): boolean {
  if (qemuPresent === null) qemuPresent = spawnSync(QEMU, ['--version'], { stdio: 'ignore' }).status === 0;
  return qemuPresent;
}

export interface GuestCompareOptions {
  /** QEMU -cpu value (default max with pointer authentication off). */
  qemuCpu?: string;
  /** Budget of instructions on nestvisor. */
  maxInsns?: number;
  /**
   * Lines where QEMU is known to be wrong, nestvisor line -> QEMU line, each
   * with the reason in a comment where it is declared. Only these exact
   * pairs are forgiven.
   */
  knownQemuDifferences?: ReadonlyMap<string, string>;
  /** Skip the QEMU comparison for this reason (QEMU does not model the behaviour). */
  qemuSkip?: string;
  /** Mark the nestvisor run as a known gap (node:test todo) while a feature is missing. */
  nestvisorTodo?: string;
}

const lines = (s: string): string[] => s.replace(/\r/g, '').replace(/\n+$/, '').split('\n');

/** The first difference between two outputs, for assertion messages. */
function firstDifference(a: string[], b: string[], an: string, bn: string, forgive?: ReadonlyMap<string, string>): string | null {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    if (a[i] !== undefined && b[i] !== undefined && forgive?.get(a[i]) === b[i]) continue;
    return `line ${i + 1} differs:\n  ${an}: ${a[i] ?? '<missing>'}\n  ${bn}: ${b[i] ?? '<missing>'}`;
  }
  return null;
}

function runQemu(elf: string, cpu: string): { output: string; status: number | null } {
  const r = spawnSync(QEMU, ['-M', 'virt', '-cpu', cpu, '-m', '128M', '-nographic', '-monitor', 'none', '-serial', 'stdio', '-kernel', elf, '-no-reboot'], {
    encoding: 'utf8',
    timeout: 120_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.error) throw r.error;
  return { output: r.stdout, status: r.status };
}

/** Declares the tests for one guest. */
export function compareGuest(name: string, opts: GuestCompareOptions = {}): void {
  const elf = join(ROOT, 'tests', 'guests', name, `${name}.elf`);
  const expectedFile = join(ROOT, 'tests', 'system', 'expected', `${name}.txt`);
  let nestvisorLines: string[] | null = null;

  test(`${name}: nestvisor prints the expected output`, { todo: opts.nestvisorTodo }, () => {
    assert.ok(existsSync(elf), `${elf} is missing: build it with tests/guests/build.sh`);
    const expected = lines(readFileSync(expectedFile, 'utf8'));
    const r = runBareMetal(readFileSync(elf), { maxInsns: opts.maxInsns ?? 200_000_000, name });
    nestvisorLines = lines(r.output);
    assert.equal(r.exit, 'poweroff', `guest did not power off: ${r.exit} ${r.message ?? ''}\n${r.output}`);
    const diff = firstDifference(expected, nestvisorLines, 'expected ', 'nestvisor');
    assert.equal(diff, null, diff ?? '');
  });

  const noQemu = !haveQemu();
  const ci = process.env.CI === 'true';
  const skip = opts.qemuSkip ?? (noQemu && !ci ? `${QEMU} not found (install qemu-system-arm; with CI=true this fails)` : false);
  test(`${name}: QEMU (${opts.qemuCpu ?? 'max,pauth=off'}) prints the same lines`, { skip }, () => {
    assert.ok(!noQemu, `${QEMU} is required when CI=true`);
    const expected = lines(readFileSync(expectedFile, 'utf8'));
    const q = runQemu(elf, opts.qemuCpu ?? 'max,pauth=off');
    const qemuLines = lines(q.output);
    assert.equal(q.status, 0, `QEMU exited with ${q.status}:\n${q.output}`);
    // QEMU against the expected output (with the known QEMU errors forgiven), then against nestvisor's run.
    const dq = firstDifference(expected, qemuLines, 'expected', 'QEMU    ', opts.knownQemuDifferences);
    assert.equal(dq, null, dq ?? '');
    if (nestvisorLines !== null) {
      const dn = firstDifference(nestvisorLines, qemuLines, 'nestvisor', 'QEMU     ', opts.knownQemuDifferences);
      assert.equal(dn, null, dn ?? '');
    }
  });
}
