/**
 * The QEMU side: runs a batch of cases in one `qemu-aarch64` process executing
 * tests/guests/diffharness/diffharness.elf.
 *
 * CPU model: `-cpu max,pauth=off`. Our default PE advertises LSE and CRC32,
 * no FP/SIMD and no pointer authentication; with pauth on, `max` would give
 * the PAC hint encodings (PACIASP and friends, which we treat as NOPs) and the
 * PAC data-processing encodings real semantics. Everything else `max` adds is
 * harmless here, because cases are generated only from our own table (so
 * instructions we lack are never emitted), BTI needs guarded pages (ours are
 * not) and MTE tag checks are off unless a process asks for them.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Case, Outcome, decodeResults, encodeBatch } from './protocol.js';

export const QEMU_CPU = 'max,pauth=off';
export const HARNESS_ELF = fileURLToPath(new URL('../../../tests/guests/diffharness/diffharness.elf', import.meta.url));
/** A batch taking longer than this is killed (a looping block, or a wedged QEMU). */
const BATCH_TIMEOUT_MS = 300_000;

/** The qemu-aarch64 binary: $QEMU_AARCH64, else the first on PATH; null if none. */
export function findQemu(): string | null {
  const executable = (p: string): boolean => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  const env = process.env.QEMU_AARCH64;
  if (env) return executable(env) ? env : null;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, 'qemu-aarch64'))) return join(dir, 'qemu-aarch64');
  }
  return null;
}

export class QemuHarness {
  /** The harness's trampoline page, from its hello record (after `init`). */
  tramp: Uint8Array = new Uint8Array(4096);
  /** Processes started and their total wall time, for the statistics. */
  runs = 0;
  ms = 0;

  constructor(readonly qemu: string, readonly elf: string = HARNESS_ELF, readonly cpu: string = QEMU_CPU) {
    if (!existsSync(elf)) throw new Error(`differential harness image ${elf} is missing: build it with tests/guests/build.sh diffharness`);
  }

  /** Starts the harness once with no cases, to learn its trampoline page. */
  async init(): Promise<void> {
    this.tramp = (await this.run(new Uint8Array(0x10000), [])).tramp;
  }

  run(pristine: Uint8Array, cases: readonly Case[]): Promise<{ tramp: Uint8Array; outcomes: Outcome[] }> {
    const input = encodeBatch(pristine, cases);
    const t0 = Date.now();
    return new Promise((resolve, reject) => {
      const child = spawn(this.qemu, ['-cpu', this.cpu, this.elf], { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`qemu-aarch64 did not finish a batch of ${cases.length} cases within ${BATCH_TIMEOUT_MS / 1000} s`));
      }, BATCH_TIMEOUT_MS);
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.stdin.on('error', () => {
        // EPIPE when the harness dies early; reported through the exit status.
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.runs++;
        this.ms += Date.now() - t0;
        if (code !== 0) {
          reject(new Error(`qemu-aarch64 ${this.cpu} ${this.elf} exited with ${code ?? signal}: ${Buffer.concat(err).toString().trim()}`));
          return;
        }
        try {
          resolve(decodeResults(Buffer.concat(out), cases.length));
        } catch (e) {
          reject(e);
        }
      });
      child.stdin.end(input);
    });
  }
}
