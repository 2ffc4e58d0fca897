/**
 * `nestvisor user PROGRAM [args...]`: runs a statically linked AArch64 Linux
 * program under the Linux user-mode runner (src/vmm/linux-user.ts), like
 * `qemu-aarch64 PROGRAM`. The program's stdout and stderr go to ours, the host
 * environment is passed on, and the exit status is the program's (128 + signo
 * when a fault killed it).
 *
 *   nestvisor user [-cpu max|cortex-a57] [--stats] [--strace] PROGRAM [args...]
 */
import { existsSync, readFileSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { runLinuxUser } from '../vmm/linux-user.js';
import { cpuModel } from '../cpu/features.js';
import { ImageError } from '../vmm/elf.js';

export const USER_USAGE = `usage: nestvisor user [options] PROGRAM [args...]
  runs a statically linked AArch64 Linux program (like qemu-aarch64)
  -cpu MODEL          max (default) or cortex-a57 (its ID registers give AT_HWCAP)
  --max-insns N       stop after N instructions
  --stats             print instruction count, speed and system calls at the end
`;

/** Runs the `user` command with the arguments after it; returns the exit status. */
export function userMain(argv: string[]): number {
  let cpu = 'max';
  let stats = false;
  let maxInsns: number | undefined;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-cpu' || a === '--cpu') cpu = argv[++i] ?? '';
    else if (a === '--stats') stats = true;
    else if (a === '--max-insns') maxInsns = Number(argv[++i]);
    else if (a === '-h' || a === '--help') {
      process.stdout.write(USER_USAGE);
      return 0;
    } else if (a === '--') {
      i++;
      break;
    } else if (a.startsWith('-')) {
      process.stderr.write(`nestvisor user: unknown option '${a}'\n${USER_USAGE}`);
      return 2;
    } else break;
  }
  const program = argv[i];
  if (program === undefined) {
    process.stderr.write(USER_USAGE);
    return 2;
  }
  if (!existsSync(program)) {
    process.stderr.write(`nestvisor user: no such file '${program}'\n`);
    return 2;
  }
  if (maxInsns !== undefined && !(maxInsns > 0)) {
    process.stderr.write('nestvisor user: --max-insns needs a positive number\n');
    return 2;
  }
  let features;
  try {
    features = cpuModel(cpu);
  } catch (e) {
    process.stderr.write(`nestvisor user: ${(e as Error).message}\n`);
    return 2;
  }
  const env = Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ''}`);
  try {
    const res = runLinuxUser(readFileSync(program), {
      argv: argv.slice(i),
      env,
      features,
      name: program,
      exePath: resolve(program),
      maxInsns,
      onStdout: (b) => writeSync(1, b),
      onStderr: (b) => writeSync(2, b),
      onDiagnostic: (line) => process.stderr.write(`nestvisor user: ${line}\n`),
    });
    if (stats) {
      const mips = res.insns / res.seconds / 1e6;
      process.stderr.write(`nestvisor user: ${res.exit} status ${res.status} after ${res.insns.toLocaleString('en-US')} instructions in ${res.seconds.toFixed(3)} s (${mips.toFixed(1)} MIPS), ${res.syscalls} system calls\n`);
    }
    return res.status;
  } catch (e) {
    if (e instanceof ImageError) {
      process.stderr.write(`nestvisor user: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
