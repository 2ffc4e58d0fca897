/**
 * Runs a bare-metal AArch64 program on the QEMU virt layout without a
 * hypervisor: RAM at 0x4000_0000, a PL011 at 0x0900_0000, and a firmware
 * stand-in for the EL2 that catches HVC and answers the PSCI calls such
 * programs make (SYSTEM_OFF, SYSTEM_RESET, PSCI_VERSION, PSCI_FEATURES).
 * This is what `npm start` and the processor's system tests run; full VMs
 * are built by the hypervisor and VMM layers.
 */
import { PhysicalBus } from '../cpu/bus.js';
import { PE, RunExit } from '../cpu/pe.js';
import type { CpuFeatures } from '../cpu/features.js';
import { EC, ecName } from '../arch/esr.js';
import { PSCI, PSCI_RET, PSCI_VERSION_1_1, SMCCC } from '../arch/psci.js';
import { VECTOR_SYNC } from '../cpu/exceptions.js';
import { loadElf, parseElf } from './elf.js';
import { Pl011 } from './pl011.js';
import { attachTracer, TraceOptions } from './trace.js';

export const VIRT_RAM_BASE = 0x4000_0000;
export const VIRT_UART_BASE = 0x0900_0000;

export interface BareMetalOptions {
  /** Guest RAM in bytes (default 128 MiB). */
  ramSize?: number;
  /** Give up after this many instructions (default 2e9). */
  maxInsns?: number;
  features?: Partial<CpuFeatures>;
  /** Receives the guest's UART output as it is produced. */
  onOutput?: (text: string) => void;
  /** Called every ~`progressEvery` instructions with the count so far. */
  onProgress?: (insns: number) => void;
  /** Image name for error messages. */
  name?: string;
  /** The system counter: deterministic from instructions (default) or host time. */
  clock?: 'icount' | 'host';
  /** Nanoseconds of virtual time per instruction in icount mode (QEMU's -icount shift=N gives 2^N). */
  nsPerInsn?: number;
  /** QEMU-style logs (-d in_asm,exec,int). */
  trace?: TraceOptions;
}

export type BareMetalExit = 'poweroff' | 'reset' | 'budget' | 'error';

export interface BareMetalResult {
  exit: BareMetalExit;
  output: string;
  insns: number;
  pe: PE;
  /** Host seconds spent running the PE. */
  seconds: number;
  message?: string;
}

const CHUNK = 5_000_000;

export function runBareMetal(elf: Uint8Array, opts: BareMetalOptions = {}): BareMetalResult {
  const name = opts.name ?? 'image';
  const bus = new PhysicalBus({ arenaRam: opts.ramSize ?? 128 * 1024 * 1024 });
  bus.addRam(VIRT_RAM_BASE, opts.ramSize ?? 128 * 1024 * 1024);
  let output = '';
  const decoder = new TextDecoder();
  const uart = new Pl011((b) => {
    const s = decoder.decode(new Uint8Array([b]), { stream: true });
    output += s;
    if (s && opts.onOutput) opts.onOutput(s);
  });
  bus.addDevice(VIRT_UART_BASE, 0x1000, uart);
  const img = parseElf(elf, name);
  loadElf(bus, img, name);
  const pe = new PE(bus, opts.features ?? {});
  pe.pc = img.entry;
  if (opts.trace) attachTracer(pe, opts.trace);
  if (opts.nsPerInsn !== undefined) pe.timer.ticksPerInsn = (pe.features.cntfrq * opts.nsPerInsn) / 1e9;
  if (opts.clock === 'host') pe.timer.setMode('host');
  const maxInsns = opts.maxInsns ?? 2e9;
  const t0 = performance.now();
  const done = (exit: BareMetalExit, message?: string): BareMetalResult => ({ exit, output, insns: pe.icount, pe, seconds: (performance.now() - t0) / 1000, message });
  while (pe.icount < maxInsns) {
    const r = pe.run(Math.min(CHUNK, maxInsns - pe.icount));
    opts.onProgress?.(pe.icount);
    if (r === RunExit.Budget) continue;
    if (r === RunExit.Wfi) {
      // No interrupt controller here: nothing can wake the PE but time. WFI
      // may complete at any time architecturally, so let time pass to the
      // next timer event and resume.
      if (!pe.timer.skipToNextDeadline()) return done('error', `guest waits for an interrupt (WFI at PC 0x${pe.pc.toString(16)}) with no timer armed: nothing can wake it on this machine (no interrupt controller)`);
      pe.waiting = false;
      continue;
    }
    if (r === RunExit.El2) {
      const esr = Number(pe.readSysreg('ESR_EL2'));
      const ec = esr >>> 26;
      if (pe.el2Vector !== VECTOR_SYNC || ec !== EC.HVC64) {
        return done('error', `unexpected exception to EL2: ${pe.el2Vector === VECTOR_SYNC ? ecName(ec) : `vector 0x${pe.el2Vector.toString(16)}`} (ESR_EL2=0x${esr.toString(16)}) at PC 0x${pe.readSysreg('ELR_EL2').toString(16)}`);
      }
      const fn = Number(pe.getX(0) & 0xffffffffn);
      switch (fn) {
        case PSCI.SYSTEM_OFF:
          return done('poweroff');
        case PSCI.SYSTEM_RESET:
          return done('reset');
        case PSCI.VERSION:
          pe.setX(0, BigInt(PSCI_VERSION_1_1));
          break;
        case PSCI.FEATURES: {
          const q = Number(pe.getX(1) & 0xffffffffn);
          const known: number[] = [PSCI.VERSION, PSCI.SYSTEM_OFF, PSCI.SYSTEM_RESET, PSCI.FEATURES, SMCCC.VERSION];
          pe.setX(0, BigInt.asUintN(64, BigInt(known.includes(q) ? PSCI_RET.SUCCESS : PSCI_RET.NOT_SUPPORTED)));
          break;
        }
        case SMCCC.VERSION:
          pe.setX(0, 0x10001n);
          break;
        default:
          pe.setX(0, BigInt.asUintN(64, BigInt(PSCI_RET.NOT_SUPPORTED)));
      }
      pe.eretFromEl2();
      continue;
    }
    return done('error', `PE stopped (${r})`);
  }
  return done('budget', `instruction budget of ${maxInsns} spent`);
}
