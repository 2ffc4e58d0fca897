/**
 * The virt machine as a GDB target (target.ts), all-stop:
 *  - registers: the AArch64 core set of GDB's org.gnu.gdb.aarch64.core
 *    (x0-x30, sp — the stack pointer PSTATE.EL/SPSel select —, pc, cpsr);
 *  - memory by virtual address, through the CPU's stage-1 translation as it
 *    stands (a debug walk: no fault is raised in the guest), then the VM's
 *    memory by IPA;
 *  - software breakpoints as KVM's guest debug does them: BRK #0 written
 *    over the instruction, MDCR_EL2.TDE set (vcpu.setGuestDebug), the BRK's
 *    `debug` exit stopping the machine; reads show the original words;
 *  - single step: the CPU runs one-instruction blocks
 *    (PE.setSingleInstructionBlocks) for one instruction, the others stay.
 * The machine's run loop asks `RunControl` (machine.ts) whether to pause,
 * step or go on.
 */
import { Access, XlResult, walk } from '../../cpu/mmu/walk.js';
import { Reg } from '../../hyp/index.js';
import type { Vcpu } from '../../hyp/vcpu.js';
import type { RunControl, VirtMachine } from '../machine.js';
import type { GdbTarget } from './target.js';

const REGS = 34; // x0-x30, sp, pc, cpsr
const BRK0 = Uint8Array.of(0x00, 0x00, 0x20, 0xd4);

function targetXml(): string {
  const x = Array.from({ length: 31 }, (_, i) => `    <reg name="x${i}" bitsize="64" type="int" regnum="${i}"/>`).join('\n');
  return `<?xml version="1.0"?>
<!DOCTYPE target SYSTEM "gdb-target.dtd">
<target version="1.0">
  <architecture>aarch64</architecture>
  <feature name="org.gnu.gdb.aarch64.core">
${x}
    <reg name="sp" bitsize="64" type="data_ptr" regnum="31"/>
    <reg name="pc" bitsize="64" type="code_ptr" regnum="32"/>
    <reg name="cpsr" bitsize="32" type="int" regnum="33"/>
  </feature>
</target>
`;
}

type StopEvent = Parameters<NonNullable<GdbTarget['onStop']>>[0];

export class MachineGdbTarget implements GdbTarget, RunControl {
  readonly targetXml = targetXml();
  onStop: GdbTarget['onStop'] = null;
  // RunControl: the machine waits while paused (it starts paused: QEMU's -S, or until the debugger says go).
  paused = true;
  stepCpu: number | null = null;
  interruptRequested = false;
  private resumeWaiter: (() => void) | null = null;
  private readonly breakpoints = new Map<bigint, { ipa: number; orig: Uint8Array }>();
  private readonly xl = new XlResult();

  constructor(private readonly machine: VirtMachine) {
    machine.control = this;
  }

  get cpus(): number {
    return this.machine.vm.vcpus.length;
  }

  private vcpu(cpu: number): Vcpu {
    return this.machine.vm.vcpus[cpu];
  }

  // ---- Registers ------------------------------------------------------------------

  /** The register GDB calls `sp`: SP_EL0 at EL0 or with PSTATE.SPSel clear, else SP_EL1. */
  private spReg(v: Vcpu): ReturnType<typeof Reg.x> {
    const pstate = Number(v.getReg(Reg.PSTATE));
    return ((pstate >>> 2) & 3) === 0 || (pstate & 1) === 0 ? Reg.SP_EL0 : Reg.SP_EL1;
  }

  readRegister(cpu: number, n: number): Uint8Array | null {
    const v = this.vcpu(cpu);
    if (v === undefined || n < 0 || n >= REGS) return null;
    const value = n < 31 ? v.getReg(Reg.x(n)) : n === 31 ? v.getReg(this.spReg(v)) : n === 32 ? v.getReg(Reg.PC) : v.getReg(Reg.PSTATE);
    const out = new Uint8Array(n === 33 ? 4 : 8);
    const dv = new DataView(out.buffer);
    if (n === 33) dv.setUint32(0, Number(value & 0xffffffffn), true);
    else dv.setBigUint64(0, value, true);
    return out;
  }

  writeRegister(cpu: number, n: number, bytes: Uint8Array): boolean {
    const v = this.vcpu(cpu);
    if (v === undefined || n < 0 || n >= REGS || bytes.length < (n === 33 ? 4 : 8)) return false;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    if (n === 33) v.setReg(Reg.PSTATE, BigInt(dv.getUint32(0, true)));
    else v.setReg(n < 31 ? Reg.x(n) : n === 31 ? this.spReg(v) : Reg.PC, dv.getBigUint64(0, true));
    return true;
  }

  readRegisters(cpu: number): Uint8Array {
    const out = new Uint8Array(33 * 8 + 4);
    for (let n = 0; n < REGS; n++) out.set(this.readRegister(cpu, n)!, 8 * n);
    return out;
  }

  writeRegisters(cpu: number, bytes: Uint8Array): void {
    for (let n = 0; n < REGS && 8 * n < bytes.length; n++) this.writeRegister(cpu, n, bytes.subarray(8 * n, n === 33 ? 8 * n + 4 : 8 * n + 8));
  }

  // ---- Memory -----------------------------------------------------------------------

  /** IPA of virtual address `va` for `cpu` (stage 1 as it stands, EL1 privilege), or -1. */
  private ipaOf(cpu: number, va: bigint): number {
    const v = this.vcpu(cpu);
    if (v === undefined) return -1;
    const lo = Number(va & 0xffffffffn) | 0, hi = Number((va >> 32n) & 0xffffffffn) | 0;
    return walk(v.pe, lo, hi, Access.Read, false, false, false, this.xl);
  }

  readMemory(cpu: number, addr: bigint, len: number): Uint8Array | null {
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const va = BigInt.asUintN(64, addr + BigInt(done));
      const ipa = this.ipaOf(cpu, va);
      const n = Math.min(len - done, 4096 - Number(va & 0xfffn));
      if (ipa < 0) break;
      try {
        out.set(this.machine.vm.readMemory(ipa, n), done);
      } catch {
        break; // not memory (a device, or nothing)
      }
      done += n;
    }
    if (done === 0 && len > 0) return null;
    // The debugger sees the instructions, not the BRKs standing in for them.
    for (const [bva, bp] of this.breakpoints) {
      for (let k = 0; k < 4; k++) {
        const o = Number(bva - addr) + k;
        if (o >= 0 && o < done) out[o] = bp.orig[k];
      }
    }
    return out.subarray(0, done);
  }

  writeMemory(cpu: number, addr: bigint, data: Uint8Array): boolean {
    let done = 0;
    while (done < data.length) {
      const va = BigInt.asUintN(64, addr + BigInt(done));
      const ipa = this.ipaOf(cpu, va);
      const n = Math.min(data.length - done, 4096 - Number(va & 0xfffn));
      if (ipa < 0) return false;
      try {
        this.machine.vm.writeMemory(ipa, data.subarray(done, done + n));
      } catch {
        return false;
      }
      done += n;
    }
    return true;
  }

  // ---- Breakpoints ------------------------------------------------------------------

  insertBreakpoint(addr: bigint): boolean {
    if (this.breakpoints.has(addr)) return true;
    if ((addr & 3n) !== 0n) return false;
    const ipa = this.ipaOf(0, addr);
    if (ipa < 0) return false;
    let orig: Uint8Array;
    try {
      orig = this.machine.vm.readMemory(ipa, 4);
      this.machine.vm.writeMemory(ipa, BRK0);
    } catch {
      return false;
    }
    this.breakpoints.set(addr, { ipa, orig });
    if (this.breakpoints.size === 1) for (const v of this.machine.vm.vcpus) v.setGuestDebug({ breakpoints: true });
    return true;
  }

  removeBreakpoint(addr: bigint): boolean {
    const bp = this.breakpoints.get(addr);
    if (bp === undefined) return false;
    this.machine.vm.writeMemory(bp.ipa, bp.orig);
    this.breakpoints.delete(addr);
    if (this.breakpoints.size === 0) for (const v of this.machine.vm.vcpus) v.setGuestDebug({ breakpoints: false });
    return true;
  }

  // ---- Running ------------------------------------------------------------------------

  resume(stepCpu: number | null): void {
    this.stepCpu = stepCpu;
    // Whole blocks again for a continue; a step keeps one-instruction blocks on its CPU.
    if (stepCpu === null) for (const v of this.machine.vm.vcpus) v.pe.setSingleInstructionBlocks(false);
    else this.vcpu(stepCpu)?.pe.setSingleInstructionBlocks(true);
    this.paused = false;
    const w = this.resumeWaiter;
    this.resumeWaiter = null;
    w?.();
  }

  interrupt(): void {
    if (this.paused) return;
    this.interruptRequested = true;
    this.machine.wakeUp();
  }

  waitForResume(): Promise<void> {
    return new Promise((resolve) => (this.resumeWaiter = resolve));
  }

  /** RunControl: the machine stopped (a breakpoint's exit, the end of a step, an interrupt). */
  stopped(cpu: number, reason: 'breakpoint' | 'step' | 'interrupt'): void {
    this.paused = true;
    this.stepCpu = null;
    this.interruptRequested = false;
    this.report({ kind: 'stopped', cpu, reason });
  }

  /** RunControl: the machine's run ended (the guest powered off, reset with -no-reboot, or an error). */
  ended(code: number): void {
    this.paused = true;
    this.report({ kind: 'exited', code });
  }

  private report(e: StopEvent): void {
    this.onStop?.(e);
  }
}
