/** Helpers for hypervisor system tests with assembled guests. */
import { Hypervisor, Reg, Vm, Vcpu, VmAttr, Exit } from '../../src/hyp/index.js';
import { code } from './asm.js';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PhysicalBus } from '../../src/cpu/bus.js';
import { loadElf, parseElf } from '../../src/vmm/elf.js';
import { VGicV3 } from '../../src/hyp/vgic/vgic.js';

export const RAM = 0x4000_0000;
export const DEV = 0x0900_0000;

/** A program image: code placed at byte offsets of the RAM slot. */
export class Image {
  readonly mem: Uint8Array;
  constructor(size = 2 << 20) {
    this.mem = new Uint8Array(size);
  }
  at(off: number, words: number[]): this {
    this.mem.set(code(words), off);
    return this;
  }
}

export function boot(img: Image, attrs: VmAttr[] = [], hv = new Hypervisor()): { hv: Hypervisor; vm: Vm; vcpu: Vcpu } {
  const vm = hv.createVm(attrs);
  vm.setMemoryRegion(0, { gpa: RAM, memory: img.mem });
  const vcpu = vm.createVcpu();
  vcpu.setReg(Reg.PC, BigInt(RAM));
  return { hv, vm, vcpu };
}

const IPI_ELF = fileURLToPath(new URL('../../../tests/guests/hyp-ipi/hyp-ipi.elf', import.meta.url));

/**
 * The bare-metal guest tests/guests/hyp-ipi (SGI ping-pong between two CPUs)
 * in a two-vCPU VM with the real vGICv3, its PL011 at DEV as an MMIO range
 * for the caller to serve; vCPU 0 at the ELF entry.
 */
export function ipiGuestVm(): { vm: Vm; v0: Vcpu; v1: Vcpu } {
  assert.ok(existsSync(IPI_ELF), `${IPI_ELF} is missing: bash tests/guests/build.sh hyp-ipi`);
  const img = parseElf(readFileSync(IPI_ELF), 'hyp-ipi');
  const mem = new Uint8Array(16 << 20);
  const bus = new PhysicalBus();
  bus.addRam(RAM, mem);
  loadElf(bus, img, 'hyp-ipi');
  const vm = new Hypervisor().createVm([
    { kind: 'vcpus', count: 2 },
    { kind: 'irqchip', gic: (info) => new VGicV3(info) },
    { kind: 'mmio-ranges', ranges: [{ gpa: DEV, size: 0x1000 }] },
  ]);
  vm.setMemoryRegion(0, { gpa: RAM, memory: mem });
  const v0 = vm.createVcpu();
  const v1 = vm.createVcpu();
  v0.setReg(Reg.PC, img.entry);
  return { vm, v0, v1 };
}

/** JSON of an exit with bigints as hex. */
export function show(e: Exit): string {
  return JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));
}

/** A simple device for MMIO exits: 8-byte registers in a Map; records accesses. */
export class TestDevice {
  readonly regs = new Map<number, bigint>();
  readonly log: string[] = [];
  serve(v: Vcpu, e: Exit): boolean {
    if (e.reason !== 'mmio') return false;
    const off = Number(e.addr) - DEV;
    if (e.isWrite) {
      this.log.push(`W${e.size}@${off.toString(16)}=${e.data.toString(16)}`);
      this.regs.set(off, e.data);
    } else {
      const val = this.regs.get(off) ?? 0n;
      this.log.push(`R${e.size}@${off.toString(16)}`);
      v.completeMmio(val);
    }
    return true;
  }
}

/** Runs until an exit other than MMIO to the test device. */
export function runServing(v: Vcpu, dev: TestDevice, max = 10_000): Exit {
  for (let i = 0; i < max; i++) {
    const e = v.run();
    if (e.reason === 'mmio' && Number(e.addr) >= DEV && Number(e.addr) < DEV + 0x1000 && dev.serve(v, e)) continue;
    return e;
  }
  throw new Error('too many exits');
}

export const SYSTEM_OFF = 0x84000008;
