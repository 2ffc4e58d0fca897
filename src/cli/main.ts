#!/usr/bin/env node
/**
 * The nestvisor command line.
 *   nestvisor run -kernel guest.elf [-m 128M] [-cpu max|cortex-a57] [--stats]
 *   nestvisor run --default-guest
 */
import { readFileSync, existsSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRunArgs, UsageError } from './args.js';
import { runBareMetal } from '../vmm/baremetal.js';
import { cpuModel } from '../cpu/features.js';
import { ImageError } from '../vmm/elf.js';

const USAGE = `usage: nestvisor run [options]
  -kernel FILE        AArch64 ELF image to run (bare metal, QEMU virt layout)
  --default-guest     run the bundled demo guest (tests/guests/hello)
  -m SIZE             guest RAM (default 128M)
  -cpu MODEL          max (default) or cortex-a57
  -M virt             the machine (the only one)
  -nographic          accepted for QEMU compatibility (output always goes to stdout)
  --max-insns N       stop after N instructions
  --stats             print instruction count and speed when the guest ends
  -d ITEMS            log in_asm (code of each block as first run), exec (each block run),
                      int (each exception), comma-separated, as QEMU's -d
  -D FILE             write the -d log to FILE instead of stderr
  -icount shift=N     deterministic virtual time, 2^N ns per instruction (the default
                      clock is deterministic already, at 16 ns per instruction)
  -rtc clock=host|vm  host: the system counter follows host time; vm: deterministic
`;

function packageRoot(): string {
  // dist/src/cli/main.js -> package root
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

function main(argv: string[]): number {
  const cmd = argv[0];
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd !== 'run') throw new UsageError(`unknown command '${cmd}' (try 'nestvisor help')`);
  const args = parseRunArgs(argv.slice(1));
  const path = args.kernel ?? join(packageRoot(), 'tests', 'guests', 'hello', 'hello.elf');
  if (!existsSync(path)) throw new UsageError(`-kernel: no such file '${path}'`);
  const features = cpuModel(args.cpu);
  let trace;
  if (args.log.size > 0) {
    const fd = args.logFile !== undefined ? openSync(args.logFile, 'w') : 2;
    trace = { inAsm: args.log.has('in_asm'), exec: args.log.has('exec'), int: args.log.has('int'), write: (line: string) => writeSync(fd, line + '\n') };
  }
  const res = runBareMetal(readFileSync(path), {
    ramSize: args.memBytes,
    maxInsns: args.maxInsns,
    features,
    name: path,
    onOutput: (s) => process.stdout.write(s),
    trace,
    clock: args.clock,
    nsPerInsn: args.icountShift === undefined ? undefined : 2 ** args.icountShift,
  });
  if (args.stats || args.defaultGuest) {
    const mips = res.insns / res.seconds / 1e6;
    process.stderr.write(`nestvisor: guest ${res.exit} after ${res.insns.toLocaleString('en-US')} instructions in ${res.seconds.toFixed(3)} s (${mips.toFixed(1)} MIPS)\n`);
  }
  if (res.exit === 'error' || res.exit === 'budget') {
    process.stderr.write(`nestvisor: ${res.message}\n`);
    return 1;
  }
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  if (e instanceof UsageError || e instanceof ImageError) {
    process.stderr.write(`nestvisor: ${e.message}\n`);
    process.exitCode = 2;
  } else throw e;
}
