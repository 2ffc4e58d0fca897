/**
 * Running a bare-metal image under qemu-system-aarch64 for the benchmark:
 * `-M virt -cpu cortex-a57 -nographic -kernel X.elf -no-reboot`, wall time
 * measured around the whole process (start-up, guest, shutdown).
 */
import { spawnSync } from 'node:child_process';

export interface QemuRun {
  ok: boolean;
  /** Wall seconds of the whole QEMU process. */
  seconds: number;
  output: string;
  message?: string;
}

/** The QEMU version line, or undefined when the binary cannot be run. */
export function qemuVersion(qemu: string): string | undefined {
  const r = spawnSync(qemu, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.split('\n')[0]?.trim();
}

export function runQemu(qemu: string, elfPath: string, timeoutMs = 300_000): QemuRun {
  const args = ['-M', 'virt', '-cpu', 'cortex-a57', '-m', '128M', '-nographic', '-kernel', elfPath, '-no-reboot'];
  const t0 = performance.now();
  const r = spawnSync(qemu, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 * 1024 * 1024 });
  const seconds = (performance.now() - t0) / 1000;
  const output = (r.stdout ?? '').replace(/\r\n/g, '\n');
  if (r.error) return { ok: false, seconds, output, message: `${qemu}: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, seconds, output, message: `${qemu} exited with ${r.status ?? r.signal}: ${(r.stderr ?? '').trim()}` };
  return { ok: true, seconds, output };
}
