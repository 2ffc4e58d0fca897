/**
 * A QEMU-virt-compatible machine on the hypervisor API (src/hyp): a VM with
 * the vGICv3, RAM at 0x4000_0000, a PL011 (SPI 1), a PL031 (SPI 2) and
 * virtio-mmio transports (SPI 16+n) dispatched from `mmio` exits by a small
 * bus that hands devices offsets only; loaders for a Linux arm64 Image, an
 * ELF64 image and a raw binary; the device tree (generated, or a user DTB
 * with /chosen patched); and an asynchronous run loop that yields to the
 * Node event loop so that input and timers keep working.
 */
import { readFileSync } from 'node:fs';
import { Hypervisor, Reg } from '../hyp/index.js';
import { PowerState } from '../hyp/psci.js';
import type { Vm } from '../hyp/vm.js';
import type { Vcpu } from '../hyp/vcpu.js';
import type { MmioExit } from '../hyp/exits.js';
import { VGicV3 } from '../hyp/vgic/vgic.js';
import { PhysicalBus, type MmioDevice } from '../cpu/bus.js';
import { HYP_POOL_BYTES } from '../hyp/hypervisor.js';
import { ImageError, isElf, parseElf } from './elf.js';
import { parseLinuxImage, planLinuxBoot, loadLinux, loadRaw, type BootLayout } from './linux-image.js';
import { VIRT, virtDefaults, virtDtb } from './virt-fdt.js';
import { buildDtb, ensureChild, parseDtb, prop, setProp } from './fdt.js';
import { Pl011 } from './pl011.js';
import { Pl031 } from './pl031.js';
import { VirtioMmio, type VirtioDevice } from './virtio/mmio.js';
import { VirtioBlk } from './virtio/blk.js';
import { VirtioConsole } from './virtio/console.js';
import { VirtioRng } from './virtio/rng.js';
import { VirtioNet } from './virtio/net.js';
import type { NetBackend } from './net/backend.js';
import { attachTracer, type TraceOptions } from './trace.js';

const MiB = 1024 * 1024;

/** How a machine's run ended; `exitCode` maps it to the process exit code. */
export type MachineEnd = 'poweroff' | 'reset' | 'error' | 'budget' | 'quit';

/** Process exit codes: 0 poweroff, 1 error, (2 is the CLI's usage error), 3 reset with -no-reboot, 4 budget spent, 5 quit by the user. */
export const EXIT_CODES: Record<MachineEnd, number> = { poweroff: 0, error: 1, reset: 3, budget: 4, quit: 5 };

export interface DiskSpec {
  path: string;
  readOnly?: boolean;
}

export interface MachineOptions {
  memBytes: number;
  cpus?: number;
  /** CPU model ('max', 'cortex-a57'). */
  cpu?: string;
  /** A Linux arm64 Image (plain, gzip or EFI zboot) or an ELF64 image; absent when `entry` is given. */
  kernel?: Uint8Array;
  kernelName?: string;
  /** Raw binaries copied into RAM before boot (QEMU's -device loader,file=F,addr=A). */
  loads?: Array<{ addr: number; data: Uint8Array; name?: string }>;
  /** Without a kernel: where the boot vCPU starts (x0 = 0). */
  entry?: number;
  initrd?: Uint8Array;
  initrdName?: string;
  append?: string;
  /** A user DTB: used instead of the generated one, with /chosen bootargs and initrd patched in. */
  dtb?: Uint8Array;
  disks?: DiskSpec[];
  /** Add a virtio-console (hvc0) whose output goes to `onSerial` too. */
  virtioConsole?: boolean;
  /** Add a virtio-rng (default true). */
  rng?: boolean;
  /** virtio-net NICs on these backends (the machine closes them in close()); MAC default 52:54:00:12:34:56, counting up. */
  nics?: Array<{ backend: NetBackend; mac?: Uint8Array }>;
  /** Bytes the guest writes to its PL011 (and virtio console). */
  onSerial?: (bytes: Uint8Array) => void;
  /** Device problems worth a log line. */
  onWarning?: (message: string) => void;
  clock?: 'icount' | 'host';
  nsPerInsn?: number;
  /**
   * When every vCPU sleeps until a timer, let that time pass on the host
   * clock (waking early for input) instead of skipping to the deadline at
   * once: QEMU's `-icount sleep=on`. Interactive runs want it (an idle shell
   * neither burns a host CPU nor races its clock ahead); tests do not.
   */
  idleSleep?: boolean;
  trace?: TraceOptions;
  /** On SYSTEM_RESET: stop (true) or reload the images and boot again (false, default). */
  noReboot?: boolean;
}

/** A debugger's hold on the run loop (vmm/gdb/machine-target.ts): pause, single-step, interrupt. */
export interface RunControl {
  /** The loop waits in waitForResume() while this is set. */
  readonly paused: boolean;
  /** Run this vCPU alone for one instruction, then stop. */
  readonly stepCpu: number | null;
  /** Stop at the next turn of the loop (the debugger's Ctrl-C). */
  readonly interruptRequested: boolean;
  waitForResume(): Promise<void>;
  stopped(cpu: number, reason: 'breakpoint' | 'step' | 'interrupt'): void;
  /** The run ended with this exit code (EXIT_CODES). */
  ended(code: number): void;
}

export interface MachineResult {
  end: MachineEnd;
  message?: string;
  insns: number;
  seconds: number;
}

/** Devices at guest-physical ranges; devices see offsets only; overlaps are refused. */
export class MmioBus {
  private readonly entries: Array<{ base: number; size: number; dev: MmioDevice }> = [];
  private last: { base: number; size: number; dev: MmioDevice } | null = null;

  add(base: number, size: number, dev: MmioDevice): void {
    for (const e of this.entries) {
      if (base < e.base + e.size && e.base < base + size) throw new RangeError(`bus: ${dev.name} at 0x${base.toString(16)}+0x${size.toString(16)} overlaps ${e.dev.name} at 0x${e.base.toString(16)}`);
    }
    this.entries.push({ base, size, dev });
  }

  find(addr: number): { base: number; size: number; dev: MmioDevice } | null {
    const l = this.last;
    if (l !== null && addr >= l.base && addr < l.base + l.size) return l;
    for (const e of this.entries) {
      if (addr >= e.base && addr < e.base + e.size) {
        this.last = e;
        return e;
      }
    }
    return null;
  }

  get ranges(): Array<{ gpa: number; size: number }> {
    return this.entries.map((e) => ({ gpa: e.base, size: e.size }));
  }
}

export class VirtMachine {
  readonly hv: Hypervisor;
  readonly vm: Vm;
  readonly gic: VGicV3;
  readonly ram: Uint8Array;
  readonly bus = new MmioBus();
  readonly uart: Pl011;
  readonly rtc: Pl031;
  readonly transports: VirtioMmio[] = [];
  readonly blks: VirtioBlk[] = [];
  readonly console: VirtioConsole | null = null;
  readonly nics: VirtioNet[] = [];
  /** Set by a debugger (vmm/gdb): the run loop stops, steps and goes on as it says. */
  control: RunControl | null = null;
  /** Where the boot vCPU starts, and its x0. */
  entry = 0;
  x0 = 0;
  layout: BootLayout | null = null;
  dtb: Uint8Array | null = null;
  private stopRequest: MachineEnd | null = null;
  private wake: (() => void) | null = null;
  private readonly hi = { value: 0 };
  private loaded = false;

  constructor(private o: MachineOptions) {
    const cpus = o.cpus ?? 1;
    if (o.memBytes < 16 * MiB) throw new ImageError(`-m: ${Math.floor(o.memBytes / MiB)} MiB of RAM is too small (at least 16 MiB)`);
    const onSerial = o.onSerial ?? (() => {});
    this.uart = new Pl011((b) => onSerial(new Uint8Array([b])));
    this.rtc = new Pl031();
    this.bus.add(VIRT.UART, 0x1000, this.uart);
    this.bus.add(VIRT.RTC, 0x1000, this.rtc);

    const devices: VirtioDevice[] = [];
    for (const d of o.disks ?? []) {
      let blk: VirtioBlk;
      try {
        blk = VirtioBlk.open(d.path, { readOnly: d.readOnly });
      } catch (e) {
        throw new ImageError(`disk '${d.path}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
      }
      blk.onError = (m) => this.o.onWarning?.(`virtio-blk ${d.path}: ${m}`);
      this.blks.push(blk);
      devices.push(blk);
    }
    if (o.virtioConsole) {
      this.console = new VirtioConsole((bytes) => onSerial(bytes));
      devices.push(this.console);
    }
    (o.nics ?? []).forEach((n, k) => {
      const nic = new VirtioNet(n.backend, n.mac ?? Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56 + k));
      // A frame from a host socket arrives between runs: wake the run loop if it sleeps.
      const deliver = n.backend.onReceive!;
      n.backend.onReceive = (frame) => {
        deliver(frame);
        this.wake?.();
      };
      this.nics.push(nic);
      devices.push(nic);
    });
    if (o.rng ?? true) devices.push(new VirtioRng());

    this.gic = new VGicV3({ vcpus: cpus });
    const mmioRanges = [
      { gpa: VIRT.UART, size: 0x1000 },
      { gpa: VIRT.RTC, size: 0x1000 },
      { gpa: VIRT.VIRTIO_MMIO, size: VIRT.VIRTIO_MMIO_STRIDE * VIRT.VIRTIO_MMIO_COUNT },
    ];
    // Guest RAM and the PEs' state share one host arena, which the WebAssembly tier of the processor needs.
    this.hv = new Hypervisor({ cpu: o.cpu ?? 'max', bus: new PhysicalBus({ arenaRam: o.memBytes + HYP_POOL_BYTES }) });
    this.vm = this.hv.createVm([
      { kind: 'ipa-bits', bits: 40 },
      { kind: 'vcpus', count: cpus },
      { kind: 'cpu-features', model: o.cpu ?? 'max' },
      { kind: 'irqchip', gic: this.gic },
      { kind: 'mmio-ranges', ranges: mmioRanges },
    ]);
    const vm = this.vm;
    this.uart.onInterrupt = (l) => vm.setIrqLevel(VIRT.UART_INTID, l);
    this.rtc.onInterrupt = (l) => vm.setIrqLevel(VIRT.RTC_INTID, l);
    const mem = { read: (gpa: number, len: number) => vm.readMemory(gpa, len), write: (gpa: number, data: Uint8Array) => vm.writeMemory(gpa, data) };
    devices.forEach((dev, n) => {
      const t = new VirtioMmio(dev, mem);
      const intid = VIRT.VIRTIO_MMIO_INTID + n;
      // The line is the transport's InterruptStatus != 0; the DT says edge-rising (as QEMU's), so the
      // vGIC latches each rising edge; the driver acknowledges (lowering the line) before it looks at the rings.
      t.onInterrupt = (l) => vm.setIrqLevel(intid, l);
      // (this.o, not o: with noReboot the kernel and initrd are dropped from this.o, and a closure must not keep them.)
      t.onError = (m) => this.o.onWarning?.(`${t.name}: ${m}`);
      this.bus.add(VIRT.VIRTIO_MMIO + VIRT.VIRTIO_MMIO_STRIDE * n, VIRT.VIRTIO_MMIO_STRIDE, t);
      this.transports.push(t);
    });

    this.ram = this.hv.bus.allocRam(o.memBytes);
    vm.setMemoryRegion(0, { gpa: VIRT.RAM, memory: this.ram });
    for (let i = 0; i < cpus; i++) {
      const v = vm.createVcpu();
      if (o.clock === 'host') v.pe.timer.setMode('host');
      if (o.nsPerInsn !== undefined) v.pe.timer.ticksPerInsn = (v.pe.features.cntfrq * o.nsPerInsn) / 1e9;
      if (o.trace) attachTracer(v.pe, o.trace);
    }
    this.load();
  }

  /** Copies the images into RAM and sets vCPU 0's boot registers (also used on reboot). */
  private load(): void {
    const o = this.o;
    const name = o.kernelName ?? 'kernel';
    const ramDesc = { base: VIRT.RAM, size: o.memBytes };
    const mem = { writeBytes: (pa: number, data: Uint8Array) => this.vm.writeMemory(pa, data) };
    // A fresh buffer is already zero and still lazily backed: filling it would make all of guest RAM resident.
    // On reboot, only the pages holding data are cleared.
    if (this.loaded) zeroDirtyPages(this.ram);
    this.loaded = true;
    if (o.kernel === undefined) {
      if (o.entry === undefined) throw new ImageError('no kernel and no entry point given');
      this.entry = o.entry;
      this.x0 = 0;
    } else if (isElf(o.kernel)) {
      const img = parseElf(o.kernel, name);
      for (const s of img.segments) {
        if (s.paddr < VIRT.RAM || s.paddr + s.memSize > VIRT.RAM + o.memBytes) {
          throw new ImageError(`${name}: ELF segment at 0x${s.paddr.toString(16)}+0x${s.memSize.toString(16)} does not fit in guest RAM 0x${VIRT.RAM.toString(16)}-0x${(VIRT.RAM + o.memBytes).toString(16)}: give more memory (-m) or link the image inside RAM`);
        }
        this.vm.writeMemory(s.paddr, s.data);
      }
      this.entry = Number(img.entry);
      this.x0 = 0;
    } else {
      const k = parseLinuxImage(o.kernel, name);
      const layout = planLinuxBoot(k.header, ramDesc, { initrdSize: o.initrd?.length }, name);
      const dtb = this.makeDtb(layout);
      const r = loadLinux(mem, layout, { kernel: k, dtb, initrd: o.initrd }, name);
      this.layout = layout;
      this.dtb = dtb;
      this.entry = r.pc;
      this.x0 = r.x0;
    }
    for (const l of o.loads ?? []) loadRaw(mem, l.addr, l.data, ramDesc, l.name ?? 'loader');
    // Without reboots the images are not needed again: let their memory go (a kernel is some 30 MiB).
    if (o.noReboot) this.o = { ...o, kernel: undefined, initrd: undefined, loads: undefined };
    const v0 = this.vm.vcpus[0];
    v0.setReg(Reg.PC, BigInt(this.entry));
    v0.setReg(Reg.x(0), BigInt(this.x0));
    for (let i = 1; i < 4; i++) v0.setReg(Reg.x(i), 0n);
  }

  private makeDtb(layout: BootLayout): Uint8Array {
    const o = this.o;
    const initrd = layout.initrdStart !== undefined ? { start: layout.initrdStart, end: layout.initrdEnd! } : undefined;
    if (o.dtb) {
      const fdt = parseDtb(o.dtb, 'dtb');
      const chosen = ensureChild(fdt.root, 'chosen');
      if (o.append !== undefined) setProp(chosen, 'bootargs', prop.string(o.append));
      if (initrd) {
        setProp(chosen, 'linux,initrd-start', prop.u64(initrd.start));
        setProp(chosen, 'linux,initrd-end', prop.u64(initrd.end));
      }
      return buildDtb(fdt.root, { bootCpuid: fdt.bootCpuid, memReserve: fdt.memReserve });
    }
    const d = virtDefaults(o.memBytes, o.cpus ?? 1, this.transports.length);
    d.bootargs = o.append ?? '';
    d.initrd = initrd;
    const seed = new Uint8Array(32);
    crypto.getRandomValues(seed);
    d.rngSeed = seed;
    return virtDtb(d);
  }

  /** Bytes typed by the user for the guest's console. */
  input(bytes: Uint8Array): void {
    this.uart.receive(bytes);
    this.console?.input(bytes);
    this.wake?.();
  }

  /**
   * While a NIC's backend waits on host sockets (a TCP connection, a UDP
   * exchange), idle time passes in host time: skipping straight to the next
   * timer would let the guest's retransmission and connect timeouts run out
   * before the host has had time to answer.
   */
  private networkBusy(): boolean {
    for (const n of this.nics) if (n.backend.busy?.()) return true;
    return false;
  }

  /** Closes what the machine holds open on the host (the network backends' sockets). */
  close(): void {
    for (const n of this.nics) n.backend.close();
  }

  /** Wakes the run loop if it waits (for input, a timer, a debugger) so that it looks at its state again. */
  wakeUp(): void {
    this.wake?.();
  }

  /** Stops the run loop at its next turn (Ctrl-A x). */
  stop(end: MachineEnd = 'quit'): void {
    this.stopRequest = end;
    this.wake?.();
  }

  get insns(): number {
    let n = 0;
    for (const v of this.vm.vcpus) n += v.pe.icount;
    return n;
  }

  private serveMmio(vcpu: Vcpu, e: MmioExit): void {
    const addr = Number(e.addr);
    const ent = this.bus.find(addr);
    if (ent === null) {
      // Inside an mmio range but no device there (an empty virtio-mmio slot): RAZ/WI, as QEMU's unassigned access.
      if (!e.isWrite) vcpu.completeMmio(0);
      return;
    }
    const off = addr - ent.base;
    if (e.isWrite) {
      const lo = Number(e.data & 0xffffffffn) | 0;
      const hi = e.size === 8 ? Number(e.data >> 32n) | 0 : 0;
      ent.dev.write(off, e.size, lo, hi);
    } else {
      this.hi.value = 0;
      const lo = ent.dev.read(off, e.size, this.hi) >>> 0;
      vcpu.completeMmio(e.size === 8 ? (BigInt(this.hi.value >>> 0) << 32n) | BigInt(lo) : lo);
    }
  }

  /** SYSTEM_RESET without -no-reboot: every vCPU reset, the images loaded again, vCPU 0 at the entry. */
  private reboot(): void {
    this.vm.reset(0n);
    this.gic.reset?.();
    this.load();
  }

  /**
   * A debugger's single step: vCPU `cpu` alone executes one instruction
   * (its PE decodes one-instruction blocks meanwhile: the debugger set that),
   * an MMIO access it makes served on the way. Returns how the run ends if
   * the instruction ends it (PSCI SYSTEM_OFF...), else null.
   */
  private stepInstruction(cpu: number): MachineEnd | null {
    const ctl = this.control!;
    const v = this.vm.vcpus[cpu];
    let e = v.run({ budget: 1 });
    // The access completes on the next run, which a budget of 0 ends right after it.
    while (e.reason === 'mmio') {
      this.serveMmio(v, e);
      e = v.run({ budget: 0 });
    }
    if (e.reason === 'system-event') {
      if (e.type === 'shutdown') return 'poweroff';
      if (this.o.noReboot) return 'reset';
      this.reboot();
    }
    if (e.reason === 'internal-error') return 'error';
    ctl.stopped(cpu, e.reason === 'debug' ? 'breakpoint' : 'step');
    return null;
  }

  /** Runs until the guest powers off or resets (with noReboot), an error, the budget, or stop(). */
  async run(opts: { maxInsns?: number; onProgress?: (insns: number) => void } = {}): Promise<MachineResult> {
    const t0 = performance.now();
    const maxInsns = opts.maxInsns ?? Infinity;
    const done = (end: MachineEnd, message?: string): MachineResult => {
      this.control?.ended(EXIT_CODES[end]);
      return { end, message, insns: this.insns, seconds: (performance.now() - t0) / 1000 };
    };
    let lastYield = performance.now();
    const CHUNK = 2_000_000;
    for (;;) {
      if (this.stopRequest !== null) return done(this.stopRequest);
      const ctl = this.control;
      if (ctl !== null) {
        if (ctl.interruptRequested) ctl.stopped(0, 'interrupt');
        if (ctl.paused) {
          await Promise.race([ctl.waitForResume(), new Promise<void>((resolve) => (this.wake = resolve))]);
          this.wake = null;
          lastYield = performance.now();
          continue;
        }
        if (ctl.stepCpu !== null) {
          const end = this.stepInstruction(ctl.stepCpu);
          if (end !== null) return done(end);
          continue;
        }
      }
      const used = this.insns;
      if (used >= maxInsns) return done('budget', `instruction budget of ${maxInsns} spent`);
      const { vcpu, exit } = this.vm.run({ budget: Math.min(CHUNK, maxInsns - used), idleSleep: this.o.idleSleep === true || this.networkBusy() });
      switch (exit.reason) {
        case 'mmio':
          this.serveMmio(vcpu!, exit);
          break;
        case 'preempted':
          break;
        case 'system-event':
          if (exit.type === 'shutdown') return done('poweroff');
          if (this.o.noReboot) return done('reset');
          this.reboot();
          break;
        case 'halted':
          // Every vCPU is off or waits with no timer armed: only host input can wake it.
          if (this.vm.vcpus.every((v) => v.power !== PowerState.On) && !this.vm.vcpus.some((v) => v.pe.waiting)) return done('error', 'every vCPU is off');
          await new Promise<void>((resolve) => {
            this.wake = resolve;
            setTimeout(resolve, 50);
          });
          this.wake = null;
          lastYield = performance.now();
          continue;
        case 'idle': {
          // Sleep until the next timer deadline in host time, or until input arrives, then let that much virtual time pass.
          const hz = this.vm.vcpus[0]!.pe.features.cntfrq;
          const t = performance.now();
          await new Promise<void>((resolve) => {
            this.wake = resolve;
            setTimeout(resolve, Math.min(1000, (exit.ticks * 1000) / hz));
          });
          this.wake = null;
          this.vm.advanceTime(Math.min(exit.ticks, Math.ceil(((performance.now() - t) * hz) / 1000)));
          lastYield = performance.now();
          continue;
        }
        case 'debug':
          // A breakpoint's BRK (guest debug is on only while a debugger holds the machine).
          if (this.control !== null) {
            this.control.stopped(vcpu!.index, 'breakpoint');
            continue;
          }
          return done('error', `vCPU ${vcpu?.index}: unexpected debug exit at PC 0x${vcpu?.getReg(Reg.PC).toString(16)}`);
        case 'internal-error':
          return done('error', `vCPU ${vcpu?.index}: ${exit.message} at PC 0x${vcpu?.getReg(Reg.PC).toString(16)}`);
        default:
          return done('error', `vCPU ${vcpu?.index}: unexpected exit '${exit.reason}'`);
      }
      const now = performance.now();
      if (now - lastYield > 25) {
        this.rtc.poll();
        opts.onProgress?.(this.insns);
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
    }
  }
}

/** Zeroes the 4 KiB pages of `ram` that hold a non-zero byte; reading leaves untouched pages unbacked. */
function zeroDirtyPages(ram: Uint8Array): void {
  const w = new Int32Array(ram.buffer, ram.byteOffset, ram.byteLength >> 2);
  for (let p = 0; p < w.length; p += 1024) {
    const end = Math.min(p + 1024, w.length);
    for (let i = p; i < end; i++) {
      if (w[i] !== 0) {
        w.fill(0, p, end);
        break;
      }
    }
  }
}

/** Reads a file with a message naming the flag when it is missing. */
export function readInput(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ImageError(`${what} '${path}': ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`);
  }
}
