/**
 * Stage-2 translation tables for one VM (the tables AArch64.S2Walk reads
 * through VTTBR_EL2 under VTCR_EL2), built by L0 in hyp-pool memory with the
 * 4 KiB granule.
 *
 * Geometry from the IPA size (the "Stage-2 geometry" facts): T0SZ = 64 -
 * ipaBits; the number of levels is that of a stage-1 table resolving
 * ipaBits - 4 bits, at least 2, because up to 16 tables may be concatenated
 * at the initial level (VTCR_EL2.SL0 gives the start level). So a 32-bit
 * IPA space starts at level 2 with 4 concatenated tables, 40 bits at level 1
 * with 2, 48 bits at level 0 with 1.
 *
 * Descriptors are the VMSAv8-64 stage-2 formats: table descriptors
 * (bits[1:0] = 0b11 at levels 0-2), block descriptors (0b01 at levels 1-2:
 * 1 GiB and 2 MiB) and page descriptors (0b11 at level 3), with
 * MemAttr[5:2] = 0b1111 (Normal, Inner/Outer Write-Back), S2AP[7:6], SH[9:8]
 * = Inner Shareable, AF[10] = 1 and XN[54:53] = 0b10 for non-executable.
 *
 * Table pages are refcounted in the pool's buddy metadata as 1 + the number
 * of valid entries they hold, so that an unmap frees the tables it empties.
 * The caller (the Vm) invalidates TLBs after every unmap: this module only
 * edits memory.
 */
import { HypError } from '../errors.js';
import { HypPool, PAGE_SIZE } from './buddy.js';
import { PS_BITS } from '../../arch/vmsa.js';

const TWO32 = 4294967296;
const POW2: readonly number[] = Array.from({ length: 65 }, (_, n) => 2 ** n);

export const S2_READ = 1;
export const S2_WRITE = 2;
export const S2_EXEC = 4;
export const S2_RWX = 7;

/** Smallest and largest IPA sizes the stage-2 builder supports (the 4K granule without FEAT_LPA2). */
export const IPA_MIN = 32;
export const IPA_MAX = 48;
export const IPA_DEFAULT = 40;

export interface S2Geometry {
  readonly ipaBits: number;
  /** VTCR_EL2.T0SZ. */
  readonly t0sz: number;
  /** Number of lookup levels (2..4). */
  readonly levels: number;
  /** Initial lookup level (0..2). */
  readonly startLevel: number;
  /** VTCR_EL2.SL0 for the 4K granule: 2 - startLevel. */
  readonly sl0: number;
  /** IPA bits the initial lookup resolves (9 per table plus up to 4 for concatenation). */
  readonly rootBits: number;
  /** Concatenated tables at the initial level (1, 2, 4, 8 or 16) and log2 of that (the root's buddy order). */
  readonly concat: number;
  readonly rootOrder: number;
}

/** log2 of the bytes one entry maps at `level` (4K granule): 39, 30, 21, 12. */
export function levelShift(level: number): number {
  return 12 + 9 * (3 - level);
}

/** Stage-2 geometry for an IPA size of `ipaBits` (32..48) with the 4K granule. */
export function s2Geometry(ipaBits: number): S2Geometry {
  if (!Number.isInteger(ipaBits) || ipaBits < IPA_MIN || ipaBits > IPA_MAX) throw new HypError(`IPA size ${ipaBits} bits is outside ${IPA_MIN}..${IPA_MAX}`);
  const levels = Math.max(2, Math.ceil((ipaBits - 4 - 12) / 9));
  const startLevel = 4 - levels;
  const rootBits = ipaBits - levelShift(startLevel);
  const rootOrder = Math.max(0, rootBits - 9);
  return { ipaBits, t0sz: 64 - ipaBits, levels, startLevel, sl0: 2 - startLevel, rootBits, concat: 1 << rootOrder, rootOrder };
}

/** VTCR_EL2.PS / ID_AA64MMFR0_EL1.PARange encoding of the largest size not above `bits`. */
export function paRangeEncoding(bits: number): number {
  let enc = 0;
  for (let i = 0; i < 7; i++) if (PS_BITS[i] <= bits) enc = i;
  return enc;
}

/**
 * The VTCR_EL2 value for `geom` on a host with `paBits` of physical address:
 * T0SZ, SL0, IRGN0 = ORGN0 = Write-Back (0b01), SH0 = Inner Shareable, TG0 =
 * 4K, PS = the host's PARange, VS for 16-bit VMIDs, and bit 31 (RES1).
 */
export function vtcrValue(geom: S2Geometry, paBits: number, vmid16: boolean): number {
  return (geom.t0sz | (geom.sl0 << 6) | (1 << 8) | (1 << 10) | (3 << 12) | (0 << 14) | (paRangeEncoding(paBits) << 16) | (vmid16 ? 1 << 19 : 0) | (1 << 31)) >>> 0;
}

/** Hands out VMIDs (1..max; VMID 0 is left to the host regime, as KVM does). */
export class VmidAllocator {
  private readonly used: Uint8Array;
  private hint = 1;
  constructor(readonly bits: 8 | 16) {
    this.used = new Uint8Array(1 << bits);
    this.used[0] = 1;
  }
  alloc(): number {
    const n = this.used.length;
    for (let k = 0; k < n; k++) {
      const v = (this.hint + k) % n;
      if (this.used[v] === 0) {
        this.used[v] = 1;
        this.hint = v + 1;
        return v;
      }
    }
    throw new HypError(`no free VMID: all ${n - 1} ${this.bits}-bit VMIDs are in use`);
  }
  free(vmid: number): void {
    if (vmid <= 0 || vmid >= this.used.length || this.used[vmid] === 0) throw new HypError(`VMID ${vmid} is not allocated`);
    this.used[vmid] = 0;
  }
}

/** Counters of one stage-2 table set. */
export interface S2Counters {
  tables: number;
  pages4k: number;
  blocks2m: number;
  blocks1g: number;
}

export class Stage2 {
  readonly geom: S2Geometry;
  /** Physical address of the initial-level table(s). */
  readonly root: number;
  readonly counters: S2Counters = { tables: 0, pages4k: 0, blocks2m: 0, blocks1g: 0 };
  private readonly view: DataView;
  private readonly poolBase: number;
  private destroyed = false;

  constructor(private readonly pool: HypPool, ipaBits: number, readonly vmid: number) {
    this.geom = s2Geometry(ipaBits);
    const root = pool.allocPages(this.geom.rootOrder);
    if (root < 0) throw new HypError(`hyp pool exhausted: cannot allocate the stage-2 root (${this.geom.concat} page(s))`);
    this.root = root;
    this.view = pool.view;
    this.poolBase = pool.base;
    this.counters.tables = this.geom.concat;
  }

  /** VTTBR_EL2 as (lo, hi): BADDR = root, VMID in bits [63:48]. */
  vttbr(): [number, number] {
    return [(this.root % TWO32) | 0, (Math.floor(this.root / TWO32) | (this.vmid << 16)) | 0];
  }

  /** Whether a block (or page) of 2^shift bytes may be used at this geometry: 1 GiB blocks need level 1 to exist. */
  blockAllowed(shift: number): boolean {
    if (shift === 12) return true;
    if (shift === 21) return this.geom.startLevel <= 2;
    if (shift === 30) return this.geom.startLevel <= 1;
    return false;
  }

  private rdLo(pa: number): number { return this.view.getInt32(pa - this.poolBase, true); }
  private rdHi(pa: number): number { return this.view.getInt32(pa - this.poolBase + 4, true); }
  private wr(pa: number, lo: number, hi: number): void {
    const o = pa - this.poolBase;
    this.view.setInt32(o, lo, true);
    this.view.setInt32(o + 4, hi, true);
  }
  private static outAddr(lo: number, hi: number): number {
    return (hi & 0xffff) * TWO32 + ((lo & ~0xfff) >>> 0);
  }

  private ref(tablePa: number): void {
    this.pool.buddy.get(this.pool.pageOf(tablePa));
  }
  /** Drops one entry's reference on a table; returns the remaining count (1 = empty). */
  private unref(tablePa: number): number {
    const p = this.pool.pageOf(tablePa);
    return --this.pool.buddy.refcount[p];
  }

  /** Leaf descriptor for output `pa` at `level` with permissions `prot`. */
  static leaf(pa: number, level: number, prot: number): [number, number] {
    let lo = (pa % TWO32) >>> 0;
    lo |= 1 | (level === 3 ? 2 : 0) | (0xf << 2) | (prot & S2_READ ? 1 << 6 : 0) | (prot & S2_WRITE ? 1 << 7 : 0) | (3 << 8) | (1 << 10);
    let hi = Math.floor(pa / TWO32);
    if (!(prot & S2_EXEC)) hi |= 2 << 21; // XN = 0b10: not executable at EL1 or EL0
    return [lo | 0, hi | 0];
  }

  /**
   * Maps one page or block of 2^shift bytes (12, 21 or 30) at `ipa` to `pa`,
   * both aligned to the size. Returns false if the range was already mapped
   * (by this or a larger mapping) and nothing changed.
   */
  map(ipa: number, pa: number, shift: number, prot: number): boolean {
    if (this.destroyed) throw new HypError('stage 2 used after destroy');
    const size = POW2[shift];
    if (!this.blockAllowed(shift)) throw new HypError(`a ${size}-byte mapping is not possible with a ${this.geom.ipaBits}-bit IPA space`);
    if (ipa % size !== 0 || pa % size !== 0) throw new HypError(`stage-2 map: ipa 0x${ipa.toString(16)} / pa 0x${pa.toString(16)} not aligned to 0x${size.toString(16)}`);
    if (ipa < 0 || ipa + size > POW2[this.geom.ipaBits]) throw new HypError(`stage-2 map: ipa 0x${ipa.toString(16)} outside the ${this.geom.ipaBits}-bit IPA space`);
    const target = 3 - (shift - 12) / 9;
    let level = this.geom.startLevel;
    let table = this.root;
    let idx = Math.floor(ipa / POW2[levelShift(level)]) % POW2[this.geom.rootBits];
    for (;;) {
      const d = table + idx * 8;
      const lo = this.rdLo(d);
      if (level === target) {
        if (lo & 1) return false;
        const [nlo, nhi] = Stage2.leaf(pa, level, prot);
        this.wr(d, nlo, nhi);
        this.ref(table);
        if (shift === 12) this.counters.pages4k++;
        else if (shift === 21) this.counters.blocks2m++;
        else this.counters.blocks1g++;
        return true;
      }
      if ((lo & 1) === 0) {
        const t = this.pool.allocPages(0);
        if (t < 0) throw new HypError('hyp pool exhausted: cannot allocate a stage-2 table page');
        this.counters.tables++;
        this.wr(d, (t % TWO32 | 3) | 0, Math.floor(t / TWO32) | 0);
        this.ref(table);
        table = t;
      } else if (lo & 2) {
        table = Stage2.outAddr(lo, this.rdHi(d));
      } else {
        return false; // a larger block already maps this range
      }
      level++;
      idx = Math.floor(ipa / POW2[levelShift(level)]) % 512;
    }
  }

  /**
   * Maps [ipa, ipa+size) to [pa, pa+size) with the largest mappings the
   * alignment of both allows (1 GiB, 2 MiB, then 4 KiB). Returns the number
   * of descriptors written.
   */
  mapRange(ipa: number, pa: number, size: number, prot: number): number {
    let n = 0;
    let off = 0;
    while (off < size) {
      const a = ipa + off, p = pa + off, left = size - off;
      let shift = 12;
      for (const s of [30, 21]) {
        if (this.blockAllowed(s) && a % POW2[s] === 0 && p % POW2[s] === 0 && left >= POW2[s]) {
          shift = s;
          break;
        }
      }
      if (this.map(a, p, shift, prot)) n++;
      off += POW2[shift];
    }
    return n;
  }

  /**
   * Removes every mapping of [ipa, ipa+size), splitting blocks that straddle
   * the range, and frees the tables that become empty. Returns the number of
   * leaf descriptors cleared. The caller must invalidate TLBs (by VMID/IPA).
   */
  unmap(ipa: number, size: number): number {
    if (this.destroyed) return 0;
    const end = Math.min(ipa + size, POW2[this.geom.ipaBits]);
    if (end <= ipa) return 0;
    return this.unmapIn(this.root, this.geom.startLevel, 0, ipa, end, true);
  }

  private unmapIn(table: number, level: number, base: number, from: number, to: number, isRoot: boolean): number {
    const shift = levelShift(level);
    const span = POW2[shift];
    const entries = isRoot ? POW2[this.geom.rootBits] : 512;
    const first = Math.max(0, Math.floor((from - base) / span));
    const last = Math.min(entries - 1, Math.floor((to - 1 - base) / span));
    let removed = 0;
    for (let i = first; i <= last; i++) {
      const d = table + i * 8;
      const lo = this.rdLo(d);
      if ((lo & 1) === 0) continue;
      const start = base + i * span, end = start + span;
      const hi = this.rdHi(d);
      if (level < 3 && (lo & 2) !== 0) {
        const child = Stage2.outAddr(lo, hi);
        removed += this.unmapIn(child, level + 1, start, from, to, false);
        if (this.pool.buddy.refcount[this.pool.pageOf(child)] === 1) {
          this.wr(d, 0, 0);
          this.unref(table);
          this.pool.freePages(child);
          this.counters.tables--;
        }
        continue;
      }
      if (from <= start && end <= to) {
        this.wr(d, 0, 0);
        this.unref(table);
        this.countLeaf(level, -1);
        removed++;
        continue;
      }
      // A block straddling the range: replace it by a table of the next level mapping the same, then unmap inside.
      const child = this.pool.allocPages(0);
      if (child < 0) throw new HypError('hyp pool exhausted: cannot split a stage-2 block');
      this.counters.tables++;
      const childShift = levelShift(level + 1);
      const oa = Stage2.outAddr(lo, hi) - (Stage2.outAddr(lo, hi) % span);
      const attrLo = lo & 0xffc & ~2, attrHi = hi & ~0xffff;
      for (let k = 0; k < 512; k++) {
        const p = oa + k * POW2[childShift];
        const clo = ((p % TWO32) >>> 0) | attrLo | 1 | (level + 1 === 3 ? 2 : 0);
        this.wr(child + k * 8, clo | 0, (Math.floor(p / TWO32) | attrHi) | 0);
      }
      this.pool.buddy.refcount[this.pool.pageOf(child)] = 513;
      this.countLeaf(level, -1);
      this.countLeaf(level + 1, 512);
      this.wr(d, (child % TWO32 | 3) | 0, Math.floor(child / TWO32) | 0);
      removed += this.unmapIn(child, level + 1, start, from, to, false);
      if (this.pool.buddy.refcount[this.pool.pageOf(child)] === 1) {
        this.wr(d, 0, 0);
        this.unref(table);
        this.pool.freePages(child);
        this.counters.tables--;
      }
    }
    return removed;
  }

  private countLeaf(level: number, n: number): void {
    if (level === 3) this.counters.pages4k += n;
    else if (level === 2) this.counters.blocks2m += n;
    else this.counters.blocks1g += n;
  }

  /**
   * Software walk of these tables (for tests and diagnostics): the output
   * address, level and permissions of `ipa`, or null when unmapped.
   */
  lookup(ipa: number): { pa: number; level: number; prot: number } | null {
    if (ipa < 0 || ipa >= POW2[this.geom.ipaBits]) return null;
    let level = this.geom.startLevel;
    let table = this.root;
    let idx = Math.floor(ipa / POW2[levelShift(level)]) % POW2[this.geom.rootBits];
    for (;;) {
      const d = table + idx * 8;
      const lo = this.rdLo(d), hi = this.rdHi(d);
      if ((lo & 1) === 0) return null;
      if (level < 3 && lo & 2) {
        table = Stage2.outAddr(lo, hi);
        level++;
        idx = Math.floor(ipa / POW2[levelShift(level)]) % 512;
        continue;
      }
      const span = POW2[levelShift(level)];
      const oa = Stage2.outAddr(lo, hi);
      const prot = (lo & (1 << 6) ? S2_READ : 0) | (lo & (1 << 7) ? S2_WRITE : 0) | (((hi >>> 21) & 3) === 0 ? S2_EXEC : 0);
      return { pa: oa - (oa % span) + (ipa % span), level, prot };
    }
  }

  /** Frees every table, the root included. */
  destroy(): void {
    if (this.destroyed) return;
    this.freeTables(this.root, this.geom.startLevel, true);
    this.pool.freePages(this.root);
    this.destroyed = true;
  }

  private freeTables(table: number, level: number, isRoot: boolean): void {
    if (level === 3) return;
    const entries = isRoot ? POW2[this.geom.rootBits] : 512;
    for (let i = 0; i < entries; i++) {
      const lo = this.rdLo(table + i * 8);
      if ((lo & 3) === 3) {
        const child = Stage2.outAddr(lo, this.rdHi(table + i * 8));
        this.freeTables(child, level + 1, false);
        this.pool.freePages(child);
      }
    }
  }
}

export { PAGE_SIZE };
