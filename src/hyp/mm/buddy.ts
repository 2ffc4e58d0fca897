/**
 * The hypervisor's page allocator: a binary buddy allocator over a pool of
 * 4 KiB pages, with per-page metadata in typed arrays (the idea of pKVM's
 * `hyp_pool` and its `vmemmap` of `struct hyp_page`): for every page its
 * refcount and, for the first page of a block, the block's order.
 *
 * - alloc(order) takes a block of 2^order pages, naturally aligned relative to
 *   the start of the pool, splitting larger blocks as needed; the block starts
 *   with refcount 1.
 * - free(page) returns a block and merges it with its buddy while the buddy is
 *   free and of the same order.
 * - get/put adjust the refcount of an allocated block's first page; put to
 *   zero frees it. Stage-2 table pages use the refcount to count their valid
 *   entries (1 + number of valid descriptors), as pKVM does.
 *
 * Pages are numbered 0..pages-1 within the pool; the caller adds the pool's
 * base address. No BigInt, no allocation after construction.
 */
import { HypError } from '../errors.js';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

/** The largest block: 2^MAX_ORDER pages (4 MiB). */
export const MAX_ORDER = 10;

const NONE = -1;

export class BuddyAllocator {
  /** Order of the block a page heads (allocated or free); -1 for a page inside a block. */
  readonly order: Int8Array;
  /** Refcount of an allocated block's first page; 0 for free pages. */
  readonly refcount: Uint32Array;
  /** 1 while the page heads a free block. */
  private readonly isFree: Uint8Array;
  /** Doubly linked free lists per order, threaded through the pages. */
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly heads: Int32Array;
  /** Free pages in total. */
  freePages = 0;

  constructor(readonly pages: number) {
    if (!Number.isInteger(pages) || pages <= 0 || pages > 0x7fffffff) throw new HypError(`buddy allocator: bad page count ${pages}`);
    this.order = new Int8Array(pages).fill(-1);
    this.refcount = new Uint32Array(pages);
    this.isFree = new Uint8Array(pages);
    this.next = new Int32Array(pages).fill(NONE);
    this.prev = new Int32Array(pages).fill(NONE);
    this.heads = new Int32Array(MAX_ORDER + 1).fill(NONE);
    // Carve the pool into the largest naturally aligned blocks.
    let p = 0;
    while (p < pages) {
      let o = MAX_ORDER;
      while (o > 0 && ((p & ((1 << o) - 1)) !== 0 || p + (1 << o) > pages)) o--;
      this.pushFree(p, o);
      this.freePages += 1 << o;
      p += 1 << o;
    }
  }

  private pushFree(p: number, o: number): void {
    this.order[p] = o;
    this.isFree[p] = 1;
    this.refcount[p] = 0;
    const h = this.heads[o];
    this.next[p] = h;
    this.prev[p] = NONE;
    if (h !== NONE) this.prev[h] = p;
    this.heads[o] = p;
  }

  private unlink(p: number, o: number): void {
    const n = this.next[p], pr = this.prev[p];
    if (pr !== NONE) this.next[pr] = n;
    else this.heads[o] = n;
    if (n !== NONE) this.prev[n] = pr;
    this.next[p] = this.prev[p] = NONE;
    this.isFree[p] = 0;
  }

  /** Allocates 2^order pages; returns the first page's number, or -1 when no block is large enough. */
  alloc(order: number): number {
    if (!(order >= 0 && order <= MAX_ORDER)) throw new HypError(`buddy allocator: order ${order} outside 0..${MAX_ORDER}`);
    let o = order;
    while (o <= MAX_ORDER && this.heads[o] === NONE) o++;
    if (o > MAX_ORDER) return -1;
    const p = this.heads[o];
    this.unlink(p, o);
    // Split: keep the lower half, give the upper halves back.
    while (o > order) {
      o--;
      this.pushFree(p + (1 << o), o);
    }
    this.order[p] = order;
    this.refcount[p] = 1;
    this.freePages -= 1 << order;
    return p;
  }

  /** Returns an allocated block (by its first page) to the pool, merging buddies. */
  free(page: number): void {
    this.checkAllocated(page, 'free');
    let p = page;
    let o = this.order[p];
    this.refcount[p] = 0;
    this.freePages += 1 << o;
    while (o < MAX_ORDER) {
      const b = p ^ (1 << o);
      if (b + (1 << o) > this.pages || this.isFree[b] !== 1 || this.order[b] !== o) break;
      this.unlink(b, o);
      this.order[b] = -1;
      this.order[p] = -1;
      p = Math.min(p, b);
      o++;
    }
    this.pushFree(p, o);
  }

  /** Increments the refcount of an allocated block's first page; returns the new count. */
  get(page: number): number {
    this.checkAllocated(page, 'get');
    return ++this.refcount[page];
  }

  /** Decrements the refcount; frees the block when it reaches zero. Returns the new count. */
  put(page: number): number {
    this.checkAllocated(page, 'put');
    const c = --this.refcount[page];
    if (c === 0) {
      this.refcount[page] = 1; // free() expects a live block
      this.free(page);
    }
    return c;
  }

  /** Whether `page` heads an allocated block. */
  isAllocated(page: number): boolean {
    return page >= 0 && page < this.pages && this.order[page] >= 0 && this.isFree[page] === 0;
  }

  /** Number of free blocks of each order (for tests and statistics). */
  freeBlocks(): number[] {
    const out: number[] = [];
    for (let o = 0; o <= MAX_ORDER; o++) {
      let n = 0;
      for (let p = this.heads[o]; p !== NONE; p = this.next[p]) n++;
      out.push(n);
    }
    return out;
  }

  private checkAllocated(page: number, what: string): void {
    if (!Number.isInteger(page) || page < 0 || page >= this.pages) throw new HypError(`buddy allocator: ${what} of page ${page} outside the pool (0..${this.pages - 1})`);
    if (this.isFree[page] === 1) throw new HypError(`buddy allocator: ${what} of page ${page}, which is free (double free?)`);
    if (this.order[page] < 0) throw new HypError(`buddy allocator: ${what} of page ${page}, which is not the first page of an allocated block`);
  }
}

/**
 * The hypervisor's page pool: a RAM region owned by L0 (at a host physical
 * address of its choice, on the host bus, never mapped into any guest's
 * stage 2) managed by a BuddyAllocator. Pages come back zeroed.
 */
export class HypPool {
  readonly buddy: BuddyAllocator;
  readonly view: DataView;
  readonly size: number;

  constructor(readonly base: number, readonly bytes: Uint8Array) {
    if (base % PAGE_SIZE !== 0) throw new HypError(`hyp pool base 0x${base.toString(16)} is not page aligned`);
    if (bytes.length % PAGE_SIZE !== 0 || bytes.length === 0) throw new HypError(`hyp pool size 0x${bytes.length.toString(16)} is not a positive multiple of 4 KiB`);
    this.size = bytes.length;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    this.buddy = new BuddyAllocator(bytes.length / PAGE_SIZE);
  }

  /** Allocates 2^order zeroed pages; returns their physical address, or -1 when the pool is exhausted. */
  allocPages(order: number): number {
    const p = this.buddy.alloc(order);
    if (p < 0) return -1;
    const off = p * PAGE_SIZE;
    this.bytes.fill(0, off, off + (PAGE_SIZE << order));
    return this.base + off;
  }

  freePages(pa: number): void {
    this.buddy.free(this.pageOf(pa));
  }

  /** Page number in the pool of physical address `pa` (which must be inside the pool). */
  pageOf(pa: number): number {
    const off = pa - this.base;
    if (off < 0 || off >= this.size) throw new HypError(`address 0x${pa.toString(16)} is not in the hyp pool`);
    return Math.floor(off / PAGE_SIZE);
  }

  contains(pa: number): boolean {
    return pa >= this.base && pa < this.base + this.size;
  }
}
