/**
 * Helpers for the MMU tests: a PE with RAM, and a translation table builder
 * for stage 1 and stage 2 tables of any granule, written straight into RAM.
 */
import { PhysicalBus, RamRegion } from '../../../src/cpu/bus.js';
import { PE } from '../../../src/cpu/pe.js';
import { levelShift } from '../../../src/arch/vmsa.js';

export const RAM_BASE = 0x4000_0000;
export const RAM_SIZE = 0x0400_0000; // 64 MiB
/** Page tables are allocated from here up. */
export const PT_BASE = 0x4200_0000;

const TWO32 = 4294967296;

// Stage-1 descriptor bits (low half unless noted).
export const AF = 1 << 10;
export const NG = 1 << 11;
export const AP_EL1_RW = 0 << 6;
export const AP_RW = 1 << 6; // EL1 RW, EL0 RW
export const AP_EL1_RO = 2 << 6;
export const AP_RO = 3 << 6; // EL1 RO, EL0 RO
export const SH_INNER = 3 << 8;
export const attrIdx = (i: number): number => i << 2;
// High-half bits.
export const H_PXN = 1 << 21;
export const H_UXN = 1 << 22;
export const H_PXNTABLE = 1 << 27;
export const H_UXNTABLE = 1 << 28;
export const H_APTABLE0 = 1 << 29;
export const H_APTABLE1 = 1 << 30;
// Stage-2 descriptor bits.
export const S2_R = 1 << 6;
export const S2_W = 1 << 7;
export const S2_RW = S2_R | S2_W;
export const S2_NORMAL = 0xf << 2; // MemAttr = Normal write-back
export const S2_XN = 2 << 21; // XN[1:0] = 10 in the high half

export function makePe(paBits = 48): { pe: PE; bus: PhysicalBus; ram: RamRegion } {
  const bus = new PhysicalBus();
  const ram = bus.addRam(RAM_BASE, RAM_SIZE);
  const pe = new PE(bus, { paBits });
  return { pe, bus, ram };
}

/** A translation table tree in RAM. Addresses (VA/IPA/PA) are numbers. */
export class Tables {
  readonly root: number;
  readonly stride: number;
  constructor(
    readonly ram: RamRegion,
    private alloc: { next: number },
    /** Granule log2: 12, 14, 16. */
    readonly g: number,
    readonly startLevel: number,
    /** Index bits at the start level (more than stride: concatenated tables). */
    readonly startBits: number,
  ) {
    this.stride = g - 3;
    this.root = this.allocTable(Math.max(8 << startBits, 1 << g));
  }

  /** A zeroed table of `size` bytes aligned to its size. */
  allocTable(size: number): number {
    const a = Math.ceil(this.alloc.next / size) * size;
    this.alloc.next = a + size;
    this.ram.bytes.fill(0, a - this.ram.base, a - this.ram.base + size);
    return a;
  }

  write(pa: number, lo: number, hi: number): void {
    this.ram.view.setUint32(pa - this.ram.base, lo >>> 0, true);
    this.ram.view.setUint32(pa - this.ram.base + 4, hi >>> 0, true);
  }
  read(pa: number): [number, number] {
    return [this.ram.view.getUint32(pa - this.ram.base, true), this.ram.view.getUint32(pa - this.ram.base + 4, true)];
  }

  /** Address of the descriptor for `va` at `level`, creating tables on the way (with `tableHi` in each new table descriptor's high half). */
  slot(va: number, level: number, tableHi = 0): number {
    let l = this.startLevel;
    let table = this.root;
    let bits = this.startBits;
    for (;;) {
      const shift = levelShift(l, this.g);
      const idx = Math.floor(va / 2 ** shift) % 2 ** bits;
      const ea = table + idx * 8;
      if (l === level) return ea;
      let [lo, hi] = this.read(ea);
      if ((lo & 3) !== 3) {
        const t = this.allocTable(1 << this.g);
        lo = (t % TWO32) | 3;
        hi = Math.floor(t / TWO32) | tableHi;
        this.write(ea, lo, hi);
      }
      table = (hi & 0xffff) * TWO32 + ((lo >>> 0) - (lo & ((1 << this.g) - 1)) >>> 0);
      bits = this.stride;
      l++;
    }
  }

  /** Maps `va` to `pa` with a leaf (page at level 3, block above) whose low/high attribute bits are `lo`/`hi`. */
  map(va: number, pa: number, level: number, lo: number, hi = 0, tableHi = 0): number {
    const ea = this.slot(va, level, tableHi);
    this.write(ea, (pa % TWO32) | lo | (level === 3 ? 3 : 1), Math.floor(pa / TWO32) | hi);
    return ea;
  }
}

/** Splits a number into (lo, hi) halves. */
export function halves(a: number | bigint): [number, number] {
  const b = BigInt(a);
  return [Number(b & 0xffffffffn) >>> 0, Number((b >> 32n) & 0xffffffffn) >>> 0];
}

export function alloc(start = PT_BASE): { next: number } {
  return { next: start };
}

/** TCR_EL1 value. */
export function tcr(f: { t0sz?: number; t1sz?: number; tg0?: number; tg1?: number; ips?: number; epd0?: boolean; epd1?: boolean; a1?: boolean; as16?: boolean; tbi0?: boolean; tbi1?: boolean }): bigint {
  let v = 0n;
  v |= BigInt(f.t0sz ?? 16);
  v |= BigInt(f.tg0 ?? 0) << 14n;
  v |= BigInt(f.t1sz ?? 16) << 16n;
  v |= BigInt(f.tg1 ?? 2) << 30n;
  v |= BigInt(f.ips ?? 5) << 32n;
  if (f.epd0) v |= 1n << 7n;
  if (f.epd1) v |= 1n << 23n;
  if (f.a1) v |= 1n << 22n;
  if (f.as16) v |= 1n << 36n;
  if (f.tbi0) v |= 1n << 37n;
  if (f.tbi1) v |= 1n << 38n;
  return v;
}

/** VTCR_EL2 value. */
export function vtcr(f: { t0sz: number; sl0: number; tg0?: number; ps?: number }): bigint {
  return BigInt(f.t0sz | (f.sl0 << 6) | ((f.tg0 ?? 0) << 14) | ((f.ps ?? 5) << 16));
}

/** Turns on stage 1 with the given TCR and TTBRs (SCTLR_EL1.M). MAIR: index 0 Device-nGnRnE, 1 Normal WB, 2 Normal NC. */
export function enableS1(pe: PE, tcrValue: bigint, ttbr0: number | bigint, ttbr1: number | bigint = 0): void {
  pe.writeSysreg('TCR_EL1', tcrValue);
  pe.writeSysreg('TTBR0_EL1', BigInt(ttbr0));
  pe.writeSysreg('TTBR1_EL1', BigInt(ttbr1));
  pe.writeSysreg('MAIR_EL1', 0x44ff00n);
  pe.writeSysreg('SCTLR_EL1', pe.readSysreg('SCTLR_EL1') | 1n);
}

/** Turns on stage 2 (HCR_EL2.VM). */
export function enableS2(pe: PE, vtcrValue: bigint, vttbr: number | bigint): void {
  pe.writeSysreg('VTCR_EL2', vtcrValue);
  pe.writeSysreg('VTTBR_EL2', BigInt(vttbr));
  pe.writeSysreg('HCR_EL2', pe.readSysreg('HCR_EL2') | 1n);
}
