/** The hyp pool's buddy allocator: split, merge, exhaustion, refcounts, metadata. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuddyAllocator, HypPool, MAX_ORDER } from '../../src/hyp/mm/buddy.js';
import { HypError } from '../../src/hyp/errors.js';

test('a fresh pool is carved into maximal aligned blocks', () => {
  const b = new BuddyAllocator(1024 + 512 + 3);
  const fb = b.freeBlocks();
  assert.equal(fb[MAX_ORDER], 1);
  assert.equal(fb[9], 1);
  assert.equal(fb[1], 1);
  assert.equal(fb[0], 1);
  assert.equal(b.freePages, 1539);
});

test('alloc splits the smallest sufficient block and keeps the halves free', () => {
  const b = new BuddyAllocator(16);
  const p = b.alloc(0);
  assert.equal(p, 0);
  assert.deepEqual(b.freeBlocks().slice(0, 5), [1, 1, 1, 1, 0]); // 1, 2, 4, 8 pages left over
  assert.equal(b.order[0], 0);
  assert.equal(b.refcount[0], 1);
  assert.equal(b.freePages, 15);
  const q = b.alloc(2);
  assert.equal(q % 4, 0, 'naturally aligned');
  assert.equal(b.order[q], 2);
});

test('free merges buddies back into the original block', () => {
  const b = new BuddyAllocator(16);
  const pages = Array.from({ length: 16 }, () => b.alloc(0));
  assert.deepEqual([...pages].sort((x, y) => x - y), Array.from({ length: 16 }, (_, i) => i));
  assert.equal(b.alloc(0), -1, 'exhausted');
  assert.equal(b.freePages, 0);
  for (const p of pages) b.free(p);
  assert.equal(b.freePages, 16);
  assert.deepEqual(b.freeBlocks().slice(0, 5), [0, 0, 0, 0, 1]);
  assert.equal(b.alloc(4), 0, 'whole pool available as one block again');
});

test('exhaustion: a large block fails while small ones remain, fragmentation respected', () => {
  const b = new BuddyAllocator(8);
  const a = b.alloc(0);
  assert.equal(b.alloc(3), -1, 'no 8-page block while one page is taken');
  assert.notEqual(b.alloc(2), -1);
  assert.notEqual(b.alloc(1), -1);
  assert.notEqual(b.alloc(0), -1);
  assert.equal(b.alloc(0), -1);
  b.free(a);
  assert.equal(b.alloc(0), a);
});

test('refcounts: get/put, put to zero frees; misuse is a HypError', () => {
  const b = new BuddyAllocator(4);
  const p = b.alloc(1);
  assert.equal(b.get(p), 2);
  assert.equal(b.put(p), 1);
  assert.equal(b.isAllocated(p), true);
  assert.equal(b.put(p), 0);
  assert.equal(b.isAllocated(p), false);
  assert.equal(b.freePages, 4);
  assert.throws(() => b.free(p), HypError, 'double free');
  const q = b.alloc(1);
  assert.throws(() => b.free(q + 1), /not the first page/);
  assert.throws(() => b.get(99), /outside the pool/);
  assert.throws(() => b.alloc(MAX_ORDER + 1), HypError);
  assert.throws(() => new BuddyAllocator(0), HypError);
});

test('random alloc/free keeps the accounting exact', () => {
  const b = new BuddyAllocator(300);
  let seed = 12345;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  const live: number[] = [];
  for (let i = 0; i < 5000; i++) {
    if (live.length > 0 && rnd(2) === 0) {
      b.free(live.splice(rnd(live.length), 1)[0]);
    } else {
      const p = b.alloc(rnd(4));
      if (p >= 0) live.push(p);
    }
    const used = live.reduce((s, p) => s + (1 << b.order[p]), 0);
    assert.equal(b.freePages + used, 300);
  }
  // No two live blocks overlap.
  const owner = new Int32Array(300).fill(-1);
  for (const p of live) for (let k = 0; k < 1 << b.order[p]; k++) {
    assert.equal(owner[p + k], -1);
    owner[p + k] = p;
  }
  for (const p of live) b.free(p);
  assert.equal(b.freePages, 300);
});

test('HypPool hands out zeroed pages at physical addresses', () => {
  const bytes = new Uint8Array(8 * 4096).fill(0xaa);
  const pool = new HypPool(0x1_0000_0000, bytes);
  const pa = pool.allocPages(1);
  assert.equal(pa, 0x1_0000_0000);
  assert.ok(bytes.subarray(0, 8192).every((x) => x === 0));
  assert.equal(pool.pageOf(pa + 4095), 0);
  pool.freePages(pa);
  assert.throws(() => pool.pageOf(0x1000), HypError);
});
