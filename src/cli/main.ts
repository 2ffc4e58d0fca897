#!/usr/bin/env node
/**
 * The nestvisor command line.
 *   nestvisor run -M virt -m 512M -kernel Image -initrd initrd.gz -append "console=ttyAMA0" [-smp N] ...
 *   nestvisor run -kernel guest.elf   (an ELF64 bare-metal image)
 *   nestvisor run --default-guest
 */
import { existsSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRunArgs, UsageError, type UserNetdevSpec } from './args.js';
import { gunzipSync } from 'node:zlib';
import { VirtMachine, EXIT_CODES, readInput, type MachineResult } from '../vmm/machine.js';
import { ImageError } from '../vmm/elf.js';
import { SerialSocket, SerialSocketError } from '../vmm/serial-socket.js';
import { isGzip } from '../vmm/linux-image.js';
import { userMain } from './user.js';
import { UserNetwork } from '../vmm/net/user.js';
import { ExitTrace } from '../vmm/exit-trace.js';
import { BufferedOutput } from './buffered-output.js';
import { GdbServer } from '../vmm/gdb/server.js';
import { MachineGdbTarget } from '../vmm/gdb/machine-target.js';

const USAGE = `usage: nestvisor run [options]
QEMU-style:
  -M virt[,gic-version=3]   the machine (QEMU's virt board; the only one)
  -cpu MODEL          cortex-a57 or max (default)
  -smp N              number of CPUs (default 1, at most 8)
  -m SIZE             guest RAM (default 128M; plain numbers are MiB)
  -kernel FILE        Linux arm64 Image (or Image.gz / EFI zboot), or an ELF64 image
  -initrd FILE        initial ramdisk (cpio archive, optionally compressed)
  -append TEXT        kernel command line
  -dtb FILE           use this device tree instead of the generated one (/chosen is patched)
  -drive file=F,if=none,format=raw,id=ID[,readonly=on]  a raw disk image ...
  -device virtio-blk-device,drive=ID                    ... attached as virtio-blk
  -device virtio-rng-device | virtconsole | loader,file=F,addr=A[,cpu-num=0]
  -netdev user,id=ID[,hostfwd=tcp:[HADDR]:HPORT-[GADDR]:GPORT][,net=,host=,dns=,dhcpstart=]
  -device virtio-net-device,netdev=ID[,mac=MAC]
                      a NIC on the user-mode network: the guest (DHCP 10.0.2.15) reaches the
                      host's network through a NAT of host sockets (TCP, UDP; ping of the
                      gateway 10.0.2.2, which is the host's 127.0.0.1; DNS at 10.0.2.3)
  -nic user[,mac=MAC][,hostfwd=...]   the same in one flag
  -serial stdio|file:PATH|none   where the PL011 goes (default stdio)
  -serial tcp:[HOST]:PORT[,server=on[,wait=off]] | unix:PATH[,server=on[,wait=off]]
                      the PL011 on a socket (legacy tcp::PORT,server,nowait too); a server
                      waits for its first client unless wait=off; port 0 picks a free port
  -nographic          accepted (the console is always on stdio); Ctrl-A x quits, Ctrl-A h helps
  -no-reboot          a guest reset ends the run (exit code 3) instead of rebooting
kvmtool-style: --kernel --initrd --params --cpus --mem --disk FILE --rng --console serial|virtio
               --network mode=user[,guest_mac=MAC]
nestvisor:
  --default-guest     run the bundled demo guest (tests/guests/hello)
  --max-insns N       stop after N instructions (exit code 4)
  --stats             print instruction count and speed when the guest ends
  -d ITEMS            log in_asm, exec, int (comma-separated, as QEMU's -d)
  -D FILE             write the -d log to FILE instead of stderr
  -gdb tcp:[HOST]:PORT | unix:PATH   a GDB server (gdb-multiarch: target remote HOST:PORT);
  -s                  the same on tcp::1234; -S: the CPUs start when the debugger continues
  --exit-trace FILE   write a trace of every vCPU's exits, traps and WFI sleeps on the guest's
                      clock, with exits/ms counters (JSON: open it in ui.perfetto.dev)
  -icount shift=N[,sleep=on|off]
                      deterministic virtual time, 2^N ns per instruction (default 16 ns);
                      sleep=on: time in which every vCPU idles passes in host time
                      (the default for an interactive terminal or socket console)
  -rtc clock=host|vm  host: the system counter follows host time; vm: deterministic (default)
Exit codes: 0 guest powered off, 1 error, 2 bad command line or input, 3 guest reset with -no-reboot,
  4 --max-insns spent, 5 quit with Ctrl-A x.
`;

const CTRL_A_HELP = '\r\nC-a h    print this help\r\nC-a x    exit emulator\r\nC-a a    send C-a\r\n';

function packageRoot(): string {
  // dist/src/cli/main.js -> package root
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

async function main(argv: string[]): Promise<number> {
  const cmd = argv[0];
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === 'user') return userMain(argv.slice(1));
  if (cmd !== 'run') throw new UsageError(`unknown command '${cmd}' (try 'nestvisor help')`);
  const args = parseRunArgs(argv.slice(1));
  const path = args.kernel ?? (args.defaultGuest ? join(packageRoot(), 'tests', 'guests', 'hello', 'hello.elf') : undefined);
  if (path !== undefined && !existsSync(path)) throw new UsageError(`-kernel: no such file '${path}'`);
  let trace;
  if (args.log.size > 0) {
    const fd = args.logFile !== undefined ? openSync(args.logFile, 'w') : 2;
    trace = { inAsm: args.log.has('in_asm'), exec: args.log.has('exec'), int: args.log.has('int'), write: (line: string) => writeSync(fd, line + '\n') };
  }
  const initrd = args.initrd !== undefined ? readInput(args.initrd, '-initrd') : undefined;
  if (initrd !== undefined) checkInitrd(initrd, args.initrd!);
  const serialFd = args.serial.kind === 'file' ? openSync(args.serial.path, 'w') : args.serial.kind === 'stdio' ? 1 : -1;
  // (machine.stop: the reader went away (EPIPE): end the run quietly.)
  const serialOut = serialFd < 0 ? null : new BufferedOutput(serialFd, () => machine.stop('quit'));
  const entryLoader = args.loaders.find((l) => l.entry);
  let serialSocket: SerialSocket | null = null;
  const machine = new VirtMachine({
    memBytes: args.memBytes,
    cpus: args.smp,
    cpu: args.cpu,
    kernel: path !== undefined ? readInput(path, '-kernel') : undefined,
    kernelName: path,
    loads: args.loaders.map((l) => ({ addr: l.addr, data: readInput(l.file, '-device loader'), name: l.file })),
    entry: entryLoader?.addr,
    initrd,
    append: args.append,
    dtb: args.dtb !== undefined ? readInput(args.dtb, '-dtb') : undefined,
    disks: args.disks,
    rng: args.rng,
    virtioConsole: args.virtioConsole,
    nics: args.nics.map((n, k) => ({ backend: userNetwork(n.netdev, k), mac: n.mac })),
    onSerial: args.serial.kind === 'socket' ? (b) => serialSocket?.write(b) : serialOut === null ? undefined : (b) => serialOut!.write(b),
    onWarning: (m) => process.stderr.write(`nestvisor: warning: ${m}\n`),
    clock: args.clock,
    nsPerInsn: args.icountShift === undefined ? undefined : 2 ** args.icountShift,
    // Idle time passes in host time for an interactive console (a terminal or a socket), unless -icount sleep=off.
    idleSleep: args.idleSleep ?? (args.serial.kind === 'socket' || (args.serial.kind === 'stdio' && process.stdin.isTTY === true)),
    trace,
    noReboot: args.noReboot,
  });

  let exitTrace: ExitTrace | null = null;
  if (args.exitTrace !== undefined) {
    try {
      exitTrace = ExitTrace.toFile(machine.vm, args.exitTrace);
    } catch (e) {
      machine.close();
      throw new UsageError(`--exit-trace ${args.exitTrace}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message}`);
    }
  }
  const endTrace = (): void => {
    if (exitTrace === null) return;
    exitTrace.close();
    process.stderr.write(`nestvisor: exit trace: ${exitTrace.written.toLocaleString('en-US')} events in ${args.exitTrace}${exitTrace.dropped ? ` (${exitTrace.dropped.toLocaleString('en-US')} more not written)` : ''}; open it in ui.perfetto.dev\n`);
  };

  // Host port forwards are listening (or the run ends here, naming the port that could not be bound).
  try {
    for (const nic of machine.nics) {
      for (const b of await (nic.backend as UserNetwork).ready()) {
        process.stderr.write(`nestvisor: hostfwd ${b.proto} ${b.hostAddr}:${b.hostPort} -> guest ${b.guestAddr}:${b.guestPort}\n`);
      }
    }
  } catch (e) {
    machine.close();
    throw new UsageError((e as Error).message);
  }

  // -gdb / -s: a GDB server; with -S the CPUs wait for the debugger's first continue.
  let gdb: GdbServer | null = null;
  if (args.gdb !== undefined) {
    const target = new MachineGdbTarget(machine);
    try {
      gdb = await GdbServer.listen(target, args.gdb, (m) => process.stderr.write(`nestvisor: gdb: ${m}\n`));
    } catch (e) {
      machine.close();
      throw new UsageError(`-gdb: ${(e as Error).message}`);
    }
    process.stderr.write(`nestvisor: gdb server on ${gdb.address}${args.startPaused ? ' (-S: the CPUs start when the debugger continues)' : ''}\n`);
    if (!args.startPaused) gdb.resume();
  }
  const endGdb = async (): Promise<void> => {
    await gdb?.close();
  };

  // -serial tcp:/unix: the guest's console is the socket (stdin is not read, and there are no Ctrl-A escapes).
  if (args.serial.kind === 'socket') {
    const spec = args.serial;
    serialSocket = await SerialSocket.open(spec, (b) => machine.input(b), (where, waiting) => {
      const opts = `,server=on${waiting ? '' : ',wait=off'}`;
      process.stderr.write(waiting ? `nestvisor: waiting for connection on: ${where}${opts}\n` : `nestvisor: serial listening on: ${where}${opts}\n`);
    });
    let res;
    try {
      res = await machine.run({ maxInsns: args.maxInsns });
    } finally {
      machine.close();
      endTrace();
      await endGdb();
      await serialSocket.close();
    }
    return finish(args, res, machine);
  }

  // The console: stdin goes to the guest, with QEMU's Ctrl-A escapes (x quits, h helps, a sends Ctrl-A).
  const stdin = process.stdin;
  const tty = stdin.isTTY === true;
  let escape = false;
  const onData = (chunk: Buffer): void => {
    const out: number[] = [];
    for (const b of chunk) {
      if (escape) {
        escape = false;
        if (b === 0x78 /* x */) {
          process.stderr.write('nestvisor: terminated (Ctrl-A x)\r\n');
          machine.stop('quit');
          return;
        }
        if (b === 0x68 /* h */) {
          process.stderr.write(CTRL_A_HELP);
          continue;
        }
        if (b === 0x01 || b === 0x61 /* a */) {
          out.push(0x01);
          continue;
        }
        out.push(0x01, b);
        continue;
      }
      if (b === 0x01) escape = true;
      else out.push(b);
    }
    if (out.length > 0) machine.input(new Uint8Array(out));
  };
  if (tty) stdin.setRawMode(true);
  stdin.on('data', onData);
  stdin.on('error', () => {});
  let res;
  try {
    res = await machine.run({ maxInsns: args.maxInsns });
  } finally {
    machine.close();
    endTrace();
    serialOut?.flush();
    await endGdb();
    stdin.off('data', onData);
    if (tty) stdin.setRawMode(false);
    stdin.pause();
    stdin.unref?.();
  }
  return finish(args, res, machine);
}

/** The user-mode network behind NIC `k`; a bad address option is a command-line error. */
function userNetwork(spec: UserNetdevSpec, k: number): UserNetwork {
  try {
    return new UserNetwork({ ...spec, log: (m: string) => process.stderr.write(`nestvisor: net${k}: ${m}\n`) });
  } catch (e) {
    throw new UsageError(`-netdev user (NIC ${k}): ${(e as Error).message}`);
  }
}

/** Reports how the run ended (with --stats or the default guest) and gives the exit code. */
function finish(args: ReturnType<typeof parseRunArgs>, res: MachineResult, machine: VirtMachine): number {
  if (args.stats || args.defaultGuest) {
    const mips = res.insns / res.seconds / 1e6;
    process.stderr.write(`nestvisor: guest ${res.end} after ${res.insns.toLocaleString('en-US')} instructions in ${res.seconds.toFixed(3)} s (${mips.toFixed(1)} MIPS)\n`);
  }
  if (args.stats) {
    machine.nics.forEach((n, k) => {
      const s = n.stats;
      process.stderr.write(`nestvisor: net${k}: sent ${s.txFrames} frames (${s.txBytes} bytes), received ${s.rxFrames} (${s.rxBytes} bytes), ${s.rxDropped} dropped for want of receive buffers\n`);
    });
  }
  if (res.message !== undefined && res.end !== 'poweroff') process.stderr.write(`nestvisor: ${res.message}\n`);
  return EXIT_CODES[res.end];
}

/** A corrupt initrd is refused here with a clear message, rather than becoming a kernel panic. */
function checkInitrd(b: Uint8Array, name: string): void {
  const cpio = (x: Uint8Array): boolean => x.length >= 6 && /^0707(01|02|07)$/.test(String.fromCharCode(...x.subarray(0, 6)));
  if (isGzip(b)) {
    let out: Uint8Array;
    try {
      out = gunzipSync(b);
    } catch (e) {
      throw new ImageError(`-initrd '${name}': gzip data does not decompress (${(e as Error).message}): truncated or corrupt file?`);
    }
    if (!cpio(out)) throw new ImageError(`-initrd '${name}': decompresses, but not to a cpio archive (newc): not an initramfs`);
    return;
  }
  if (cpio(b)) return;
  const magic = [...b.subarray(0, 6)];
  const known = [[0xfd, 0x37, 0x7a, 0x58, 0x5a], [0x28, 0xb5, 0x2f, 0xfd], [0x02, 0x21, 0x4c, 0x18], [0x42, 0x5a, 0x68], [0x5d, 0x00, 0x00], [0x89, 0x4c, 0x5a, 0x4f]];
  if (known.some((k) => k.every((v, i) => magic[i] === v))) return; // xz, zstd, lz4, bzip2, lzma, lzo: the kernel checks them
  throw new ImageError(`-initrd '${name}': not a cpio archive (newc) nor a compressed one (gzip, xz, zstd, lz4, bzip2, lzma, lzo): corrupt file?`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError || e instanceof ImageError || e instanceof SerialSocketError) {
      process.stderr.write(`nestvisor: ${e.message}\n`);
      process.exitCode = 2;
    } else throw e;
  },
);
