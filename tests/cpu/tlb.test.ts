import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tlb, TLB_SIZE } from '../../src/cpu/tlb.js';

const view = new DataView(new ArrayBuffer(8));
const bytes = new Uint8Array(8);
const slot = (va: number): number => (va >>> 12) & (TLB_SIZE - 1);
const hit = (tag: Int32Array, tagHi: Int32Array, va: number): boolean => tag[slot(va)] === va >>> 12 && tagHi[slot(va)] === 0;

test('filling a slot for another page evicts every access kind of the old page', () => {
  const t = new Tlb('test');
  const a = 0x1000_0000, b = a + TLB_SIZE * 4096; // same slot, different pages
  t.fill(a, 0, 7, view, bytes, 0, -1, 0x4000_0000, -1, 12, false);
  assert.ok(hit(t.rTag, t.rTagHi, a) && hit(t.wTag, t.wTagHi, a) && hit(t.xTag, t.xTagHi, a));
  t.fill(b, 0, 4, view, bytes, 0x1000, -1, 0x4000_1000, -1, 12, false);
  assert.ok(hit(t.xTag, t.xTagHi, b));
  assert.ok(!hit(t.rTag, t.rTagHi, a), 'read entry of the old page is gone');
  assert.ok(!hit(t.wTag, t.wTagHi, a), 'write entry of the old page is gone');
  assert.ok(!hit(t.xTag, t.xTagHi, a), 'execute entry of the old page is gone');
  assert.equal(t.pa[slot(b)], 0x4000_1000);
});

test('an instruction fetch of a page with a data entry keeps the data side and its memory type', () => {
  const t = new Tlb('test');
  const a = 0x2000_0000;
  t.fill(a, 0, 3, view, bytes, 0, -1, 0x4000_0000, -1, 12, true);
  t.fill(a, 0, 4, view, bytes, 0, -1, 0x4000_0000, -1, 12, false);
  assert.ok(hit(t.rTag, t.rTagHi, a) && hit(t.wTag, t.wTagHi, a) && hit(t.xTag, t.xTagHi, a));
  assert.equal(t.dev[slot(a)], -1, 'still Device for data accesses');
});
