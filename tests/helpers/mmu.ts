/**
 * Test helper: turns stage-1 translation of the EL1&0 regime on with an
 * identity map, so that a test's data accesses go to Normal memory.
 *
 * With SCTLR_EL1.M = 0 every EL0/EL1 data access is Device-nGnRnE, where any
 * unaligned access (and DC ZVA) takes an Alignment fault; instruction fetches
 * are Normal. Tests of unaligned accesses, DC ZVA, or anything a Linux
 * process does (the differential tests) must therefore run with the MMU on
 * and their memory mapped Normal, as an OS would set it up.
 *
 * The tables (4K granule, 48-bit VAs: T0SZ = T1SZ = 16, start level 0) are
 * written by the MMU tests' table builder (tests/cpu/mmu/helpers.ts) into a
 * RAM area the caller gives. Each range is mapped with the largest blocks its
 * alignment allows: 1 GiB blocks at level 1, else 2 MiB blocks at level 2,
 * else 4 KiB pages. Ranges may not overlap.
 *
 * MAIR_EL1: index 0 = 0xff (Normal, write-back), 1 = 0x00 (Device-nGnRnE),
 * 2 = 0x44 (Normal, non-cacheable). Descriptors have AF = 1, SH = Inner
 * Shareable and nG = 0 (global).
 */
import type { PE } from '../../src/cpu/pe.js';
import type { RamRegion } from '../../src/cpu/bus.js';
import { Tables, AF, SH_INNER, H_PXN, H_UXN, attrIdx } from '../cpu/mmu/helpers.js';

/** MAIR_EL1 written by `enableIdentityMmu`. */
export const MAIR_IDENTITY = 0x4400ffn;
export const ATTR_NORMAL = 0;
export const ATTR_DEVICE = 1;
export const ATTR_NORMAL_NC = 2;

const GIB = 2 ** 30;
const MIB2 = 2 ** 21;
const PAGE = 2 ** 12;
const TWO48 = 2 ** 48;

export interface MapRange {
  /** First virtual address (4 KiB aligned). Addresses from 0xffff_0000_0000_0000 up are TTBR1 addresses. */
  va: number | bigint;
  /** Size in bytes (a multiple of 4 KiB). */
  size: number;
  /** Output address of `va` (default: `va`, an identity map; ignored bits 63:48 for TTBR1 addresses). */
  pa?: number;
  /**
   * AP[1] = 1: EL0 has the same data access as EL1 (AP = 01, or 11 with
   * `readOnly`). A page EL0 can write (AP = 01) is never executable at EL1,
   * so EL1 code and vectors belong in a range without `el0`.
   */
  el0?: boolean;
  /** AP[2] = 1: read-only at every EL that has access. */
  readOnly?: boolean;
  /** Not executable at EL0 (UXN). */
  uxn?: boolean;
  /** Not executable at EL1 (PXN). */
  pxn?: boolean;
  /** MAIR index (ATTR_NORMAL by default; ATTR_DEVICE for Device-nGnRnE). */
  attr?: number;
}

export interface TableArea {
  /** The RAM region the tables go in (as returned by bus.addRam). */
  ram: RamRegion;
  /** First byte of the area (4 KiB aligned). */
  base: number;
  /** Bytes available. */
  size: number;
}

export interface IdentityMmu {
  /** Physical addresses of the level-0 tables (TTBR1's is 0 when no range needs it). */
  ttbr0: number;
  ttbr1: number;
  /** First byte after the tables written. */
  end: number;
}

/** Writes the tables for `ranges` into `area`; changes no register. */
export function buildIdentityTables(area: TableArea, ranges: readonly MapRange[]): IdentityMmu {
  const { ram } = area;
  if (area.base % PAGE !== 0) throw new Error('table area must be 4 KiB aligned');
  if (area.base < ram.base || area.base + area.size > ram.base + ram.size) throw new Error('table area must lie inside its RAM region');
  const alloc = { next: area.base };
  const check = (): void => {
    if (alloc.next > area.base + area.size) throw new Error(`page tables need more than the ${area.size} bytes given`);
  };
  let t0: Tables | null = null;
  let t1: Tables | null = null;
  const tables = (upper: boolean): Tables => {
    if (upper) t1 ??= new Tables(ram, alloc, 12, 0, 9);
    else t0 ??= new Tables(ram, alloc, 12, 0, 9);
    check();
    return (upper ? t1 : t0)!;
  };
  const done: [boolean, number, number][] = [];
  for (const r of ranges) {
    const full = BigInt(r.va);
    const upper = full >= 0xffff_0000_0000_0000n;
    if (!upper && full >= 1n << 48n) throw new Error(`VA 0x${full.toString(16)} is outside both 48-bit ranges`);
    const va = Number(full & 0xffff_ffff_ffffn);
    if (va % PAGE !== 0 || r.size % PAGE !== 0 || r.size <= 0) throw new Error(`range 0x${full.toString(16)}+0x${r.size.toString(16)} is not a whole number of 4 KiB pages`);
    if (va + r.size > TWO48) throw new Error('range wraps the 48-bit VA space');
    for (const [u, b, e] of done) if (u === upper && va < e && b < va + r.size) throw new Error(`range 0x${full.toString(16)} overlaps another`);
    done.push([upper, va, va + r.size]);
    const pa0 = r.pa ?? va;
    const t = tables(upper);
    const lo = AF | SH_INNER | attrIdx(r.attr ?? ATTR_NORMAL) | (r.el0 ? 1 << 6 : 0) | (r.readOnly ? 1 << 7 : 0);
    const hi = (r.uxn ? H_UXN : 0) | (r.pxn ? H_PXN : 0);
    for (let off = 0; off < r.size; ) {
      const v = va + off;
      const p = pa0 + off;
      const left = r.size - off;
      const step = v % GIB === 0 && p % GIB === 0 && left >= GIB ? GIB : v % MIB2 === 0 && p % MIB2 === 0 && left >= MIB2 ? MIB2 : PAGE;
      t.map(v, p, step === GIB ? 1 : step === MIB2 ? 2 : 3, lo, hi);
      check();
      off += step;
    }
  }
  return { ttbr0: t0 !== null ? (t0 as Tables).root : 0, ttbr1: t1 !== null ? (t1 as Tables).root : 0, end: alloc.next };
}

// TCR_EL1 fields this helper owns (bits 34:0 but RES0 bit 6); the others (TBI0/1, AS, HA/HD, ...) keep the caller's values.
const TCR_OWNED = 0x7_ffff_ffbfn;

/**
 * Builds the tables for `ranges` in `area` and turns the MMU on: MAIR_EL1 =
 * MAIR_IDENTITY; TCR_EL1 with T0SZ = T1SZ = 16, TG0 = TG1 = 4K, IRGN/ORGN =
 * write-back write-allocate, SH = Inner Shareable, IPS = 48 bits, A1 = 0,
 * EPD1 = 1 unless a range is a TTBR1 one (other TCR bits are kept); TTBR0_EL1
 * (and TTBR1_EL1) with ASID 0; SCTLR_EL1.M = 1 with every other bit as the
 * caller set it. Returns where the tables are.
 */
export function enableIdentityMmu(pe: PE, area: TableArea, ranges: readonly MapRange[]): IdentityMmu {
  const t = buildIdentityTables(area, ranges);
  const walkAttrs = (1n << 8n) | (1n << 10n) | (3n << 12n); // IRGN0 = ORGN0 = WBWA, SH0 = Inner Shareable
  let tcr = 16n | walkAttrs | (0n << 14n); // T0SZ = 16, TG0 = 4K
  tcr |= (16n << 16n) | (walkAttrs << 16n) | (2n << 30n); // T1SZ = 16, IRGN1/ORGN1/SH1, TG1 = 4K
  if (t.ttbr1 === 0) tcr |= 1n << 23n; // EPD1: no TTBR1 walks
  tcr |= 5n << 32n; // IPS = 48 bits
  pe.writeSysreg('MAIR_EL1', MAIR_IDENTITY);
  pe.writeSysreg('TCR_EL1', (pe.readSysreg('TCR_EL1') & ~TCR_OWNED) | tcr);
  pe.writeSysreg('TTBR0_EL1', BigInt(t.ttbr0));
  pe.writeSysreg('TTBR1_EL1', BigInt(t.ttbr1));
  pe.writeSysreg('SCTLR_EL1', pe.readSysreg('SCTLR_EL1') | 1n);
  return t;
}

/** SCTLR_EL1.M = 0: stage 1 off again (all data accesses Device-nGnRnE). */
export function disableMmu(pe: PE): void {
  pe.writeSysreg('SCTLR_EL1', pe.readSysreg('SCTLR_EL1') & ~1n);
}

/**
 * The common case for the unit tests: one EL1-only (AP = 00), executable,
 * Normal 1 GiB block covering the RAM region (which must lie in one GiB),
 * with the tables in the last `tableBytes` of the region.
 */
export function normalRamMmu(pe: PE, ram: RamRegion, tableBytes = 0x4000): IdentityMmu {
  const g = Math.floor(ram.base / GIB) * GIB;
  if (ram.base + ram.size > g + GIB) throw new Error('RAM region crosses a 1 GiB boundary');
  return enableIdentityMmu(pe, { ram, base: ram.base + ram.size - tableBytes, size: tableBytes }, [{ va: g, size: GIB }]);
}
