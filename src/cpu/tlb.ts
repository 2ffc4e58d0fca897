/**
 * A software TLB for one translation regime and privilege (QEMU's "MMU
 * index"): direct-mapped, keyed by virtual page, holding the combined
 * stage-1 + stage-2 result as a host view and offset. Read, write and
 * execute have their own tags, so that a page enters only for the accesses
 * its permissions allow; pages that need the slow path for an access
 * (MMIO, decoded code for writes, alignment checking) simply are not
 * entered for it.
 */
import type { HostArena } from './arena.js';

export const TLB_BITS = 10;
export const TLB_SIZE = 1 << TLB_BITS;
export const TLB_MASK = TLB_SIZE - 1;

/** Key of the block of 2^sizeLog2 bytes holding VA page `vpage` (VA[55:12]). */
export function blockKey(sizeLog2: number, vpage: number): number {
  return sizeLog2 * 17592186044416 + Math.floor(vpage / 2 ** (sizeLog2 - 12));
}

/**
 * Where a TLB's arrays sit in its chunk of the host arena (arena.ts), for
 * the WebAssembly tier: int32 arrays of TLB_SIZE entries, then `pa` as float64.
 */
export const enum TlbLayout {
  R_TAG = 0,
  R_TAG_HI = 4 * TLB_SIZE,
  W_TAG = 8 * TLB_SIZE,
  W_TAG_HI = 12 * TLB_SIZE,
  DEV = 16 * TLB_SIZE,
  HOST = 20 * TLB_SIZE,
  PA = 24 * TLB_SIZE,
  X_TAG = 32 * TLB_SIZE,
  X_TAG_HI = 36 * TLB_SIZE,
  BYTES = 40 * TLB_SIZE,
}

export class Tlb {
  /** VA[43:12] as an int32, and VA[63:44]; tagHi -1 marks an empty slot. */
  readonly rTag: Int32Array;
  readonly rTagHi: Int32Array;
  readonly wTag: Int32Array;
  readonly wTagHi: Int32Array;
  readonly xTag: Int32Array;
  readonly xTagHi: Int32Array;
  /** Host view of the RAM region holding the page, and the page's offset in it. */
  readonly view: DataView[];
  readonly bytes: Uint8Array[];
  readonly off = new Float64Array(TLB_SIZE);
  /** Offset of the page in the host arena, or -1 when its RAM is outside the arena (the WebAssembly tier's view). */
  readonly host: Int32Array;
  /** Physical address of the page (for code lookup and invalidation). */
  readonly pa: Float64Array;
  /** ASID of a non-global entry, -1 for global. */
  readonly asid = new Int32Array(TLB_SIZE);
  /**
   * -1 for Device memory, 0 for Normal: the fast paths test
   * `(va & (size - 1) & dev) === 0`, so unaligned accesses to Device memory
   * take the slow path, which raises the Alignment fault.
   */
  readonly dev: Int32Array;
  /** Arena offset of this TLB's arrays (TlbLayout), or -1 when they are ordinary buffers. */
  readonly base: number;
  /** Log2 of the size of the translation that produced the entry (for TLBI by VA of blocks). */
  readonly level = new Int8Array(TLB_SIZE);
  /**
   * Slots that have held an entry from a block larger than 4K since the last
   * full flush (each listed once), so that TLBI by VA can find the 4K pieces
   * of a block without scanning the whole TLB. Stale slots are harmless.
   */
  readonly bigList = new Int32Array(TLB_SIZE);
  bigCount = 0;
  /**
   * The blocks those entries came from, as keys `log2size * 2^44 + VA[55:12] >> (log2size - 12)`,
   * and a bit mask of the block sizes present: a TLBI by VA outside every cached block
   * (the common case: user pages) then skips the scan of bigList.
   */
  readonly blockKeys = new Set<number>();
  blockSizes = 0;
  private readonly bigMark = new Uint8Array(TLB_SIZE);
  private static readonly EMPTY_VIEW = new DataView(new ArrayBuffer(8));
  private static readonly EMPTY_BYTES = new Uint8Array(8);

  constructor(readonly name: string, arena: HostArena | null = null) {
    const at = arena === null ? -1 : arena.alloc(TlbLayout.BYTES, 4096);
    const buf = at < 0 ? new ArrayBuffer(TlbLayout.BYTES) : arena!.buffer;
    const o = at < 0 ? 0 : at;
    this.base = at;
    this.rTag = new Int32Array(buf, o + TlbLayout.R_TAG, TLB_SIZE);
    this.rTagHi = new Int32Array(buf, o + TlbLayout.R_TAG_HI, TLB_SIZE).fill(-1);
    this.wTag = new Int32Array(buf, o + TlbLayout.W_TAG, TLB_SIZE);
    this.wTagHi = new Int32Array(buf, o + TlbLayout.W_TAG_HI, TLB_SIZE).fill(-1);
    this.dev = new Int32Array(buf, o + TlbLayout.DEV, TLB_SIZE);
    this.host = new Int32Array(buf, o + TlbLayout.HOST, TLB_SIZE);
    this.pa = new Float64Array(buf, o + TlbLayout.PA, TLB_SIZE);
    this.xTag = new Int32Array(buf, o + TlbLayout.X_TAG, TLB_SIZE);
    this.xTagHi = new Int32Array(buf, o + TlbLayout.X_TAG_HI, TLB_SIZE).fill(-1);
    this.view = new Array<DataView>(TLB_SIZE).fill(Tlb.EMPTY_VIEW);
    this.bytes = new Array<Uint8Array>(TLB_SIZE).fill(Tlb.EMPTY_BYTES);
  }

  flushAll(): void {
    for (let k = 0; k < this.bigCount; k++) this.bigMark[this.bigList[k]] = 0;
    this.bigCount = 0;
    this.blockKeys.clear();
    this.blockSizes = 0;
    this.rTagHi.fill(-1);
    this.wTagHi.fill(-1);
    this.xTagHi.fill(-1);
  }

  /** Drops the entry for the page holding VA (lo, hi), whatever its ASID. */
  flushVa(lo: number, hi: number): void {
    const i = (lo >>> 12) & TLB_MASK;
    const tag = (lo >>> 12) | (hi << 20);
    const tagHi = hi >>> 12;
    if (this.rTag[i] === tag && this.rTagHi[i] === tagHi) this.rTagHi[i] = -1;
    if (this.wTag[i] === tag && this.wTagHi[i] === tagHi) this.wTagHi[i] = -1;
    if (this.xTag[i] === tag && this.xTagHi[i] === tagHi) this.xTagHi[i] = -1;
  }

  /** Drops non-global entries of one ASID (or all non-global ones when asid is -1). */
  flushAsid(asid: number): void {
    for (let i = 0; i < TLB_SIZE; i++) {
      const a = this.asid[i];
      if (a !== -1 && (asid === -1 || a === asid)) {
        this.rTagHi[i] = -1;
        this.wTagHi[i] = -1;
        this.xTagHi[i] = -1;
      }
    }
  }

  /** Drops every write entry that maps physical page `pa` (the page now holds decoded code). */
  dropWritesToPage(pa: number): void {
    for (let i = 0; i < TLB_SIZE; i++) if (this.wTagHi[i] !== -1 && this.pa[i] === pa) this.wTagHi[i] = -1;
  }

  /** Whether VA page `vpage` (VA[55:12]) lies in a block some entry of this TLB came from. */
  inCachedBlock(vpage: number): boolean {
    let sizes = this.blockSizes;
    for (let l = 13; sizes >= 2 ** (l - 12) && l < 48; l++) {
      if (sizes & 2 ** (l - 12) && this.blockKeys.has(blockKey(l, vpage))) return true;
    }
    return false;
  }

  /** Enters a page. `perms` bit 0 read, 1 write, 2 execute. */
  fill(lo: number, hi: number, perms: number, view: DataView, bytes: Uint8Array, off: number, host: number, pa: number, asid: number, sizeLog2: number, device: boolean): void {
    const i = (lo >>> 12) & TLB_MASK;
    const tag = (lo >>> 12) | (hi << 20);
    const tagHi = hi >>> 12;
    if (perms === 4 && ((this.rTag[i] === tag && this.rTagHi[i] === tagHi) || (this.wTag[i] === tag && this.wTagHi[i] === tagHi))) {
      // An instruction fetch of a page whose data entry is present: keep the
      // data side (its memory type is the data accesses' one) and add execute.
      this.xTag[i] = tag;
      this.xTagHi[i] = tagHi;
      return;
    }
    // An entry shares one view/offset for all three kinds; evict kinds whose tag differs.
    if (this.rTag[i] !== tag || this.rTagHi[i] !== tagHi) this.rTagHi[i] = -1;
    if (this.wTag[i] !== tag || this.wTagHi[i] !== tagHi) this.wTagHi[i] = -1;
    if (this.xTag[i] !== tag || this.xTagHi[i] !== tagHi) this.xTagHi[i] = -1;
    this.view[i] = view;
    this.bytes[i] = bytes;
    this.off[i] = off;
    this.host[i] = host;
    this.pa[i] = pa;
    this.asid[i] = asid;
    this.level[i] = sizeLog2;
    if (sizeLog2 > 12) {
      if (this.bigMark[i] === 0) {
        this.bigMark[i] = 1;
        this.bigList[this.bigCount++] = i;
      }
      const vpage = (hi & 0xffffff) * 1048576 + (lo >>> 12);
      this.blockKeys.add(blockKey(sizeLog2, vpage));
      this.blockSizes |= 2 ** (sizeLog2 - 12);
    }
    this.dev[i] = device ? -1 : 0;
    if (perms & 1) { this.rTag[i] = tag; this.rTagHi[i] = tagHi; }
    if (perms & 2) { this.wTag[i] = tag; this.wTagHi[i] = tagHi; }
    if (perms & 4) { this.xTag[i] = tag; this.xTagHi[i] = tagHi; }
  }
}
