/**
 * The stage-2 builder for every IPA size from 32 to 48 bits: geometry,
 * VTCR_EL2, page and block mappings at each level, checked with the PE's own
 * stage-2 walker (AArch64.S2Walk in src/cpu/mmu/walk.ts), unmapping with
 * table reclamation and block splitting.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhysicalBus } from '../../src/cpu/bus.js';
import { Access, XlResult, s2Walk } from '../../src/cpu/mmu/walk.js';
import { HypPool } from '../../src/hyp/mm/buddy.js';
import { S2_READ, S2_RWX, S2_EXEC, Stage2, VmidAllocator, s2Geometry, vtcrValue, paRangeEncoding } from '../../src/hyp/mm/stage2.js';
import { HypError } from '../../src/hyp/errors.js';

const PA_BITS = 48;
const GIB = 2 ** 30;

function setup(pages = 512): { bus: PhysicalBus; pool: HypPool } {
  const bus = new PhysicalBus();
  const bytes = new Uint8Array(pages * 4096);
  bus.addRam(0x1_0000_0000, bytes);
  return { bus, pool: new HypPool(0x1_0000_0000, bytes) };
}

function hwWalk(bus: PhysicalBus, s2: Stage2, ipa: number, acc = Access.Read): { pa: number; r: XlResult } {
  const [lo, hi] = s2.vttbr();
  const r = new XlResult();
  const pa = s2Walk(bus, PA_BITS, lo, hi, vtcrValue(s2.geom, PA_BITS, true), ipa, acc, false, false, r);
  return { pa, r };
}

test('geometry: levels, start level and concatenated tables for 32..48 bits', () => {
  const expect: Record<number, [number, number, number]> = {
    // ipa: [startLevel, concat, levels]
    32: [2, 4, 2], 33: [2, 8, 2], 34: [2, 16, 2], 35: [1, 1, 3], 36: [1, 1, 3], 39: [1, 1, 3],
    40: [1, 2, 3], 41: [1, 4, 3], 42: [1, 8, 3], 43: [1, 16, 3], 44: [0, 1, 4], 47: [0, 1, 4], 48: [0, 1, 4],
  };
  for (let ipa = 32; ipa <= 48; ipa++) {
    const g = s2Geometry(ipa);
    assert.equal(g.t0sz, 64 - ipa);
    assert.equal(g.levels, 4 - g.startLevel);
    assert.equal(g.sl0, 2 - g.startLevel);
    assert.ok(g.concat >= 1 && g.concat <= 16);
    // The initial lookup resolves ipa - shift(start) bits: 9 per table plus log2(concat).
    assert.equal(g.rootBits, ipa - (12 + 9 * (3 - g.startLevel)));
    const e = expect[ipa];
    if (e) assert.deepEqual([g.startLevel, g.concat, g.levels], e, `ipa ${ipa}`);
  }
  assert.throws(() => s2Geometry(31), HypError);
  assert.throws(() => s2Geometry(49), HypError);
  assert.throws(() => s2Geometry(40.5), HypError);
});

test('VTCR_EL2 values', () => {
  // 40-bit IPA, 48-bit PA, 16-bit VMID: T0SZ 24, SL0 1, IRGN0/ORGN0 WB, SH0 IS, TG0 4K, PS 0b101, VS, RES1 bit 31.
  assert.equal(vtcrValue(s2Geometry(40), 48, true), 0x800d3558);
  // 32-bit IPA: T0SZ 32, SL0 0; 8-bit VMID; 44-bit PA (PS 0b100).
  assert.equal(vtcrValue(s2Geometry(32), 44, false), 0x80043520);
  // 48-bit IPA: T0SZ 16, SL0 2.
  assert.equal(vtcrValue(s2Geometry(48), 48, true) & 0xff, 16 | (2 << 6));
  assert.equal(paRangeEncoding(40), 2);
  assert.equal(paRangeEncoding(41), 2);
  assert.equal(paRangeEncoding(48), 5);
});

for (let ipa = 32; ipa <= 48; ipa++) {
  test(`stage 2 with a ${ipa}-bit IPA: pages and blocks agree with the PE's walker`, () => {
    const { bus, pool } = setup();
    const free0 = pool.buddy.freePages;
    const s2 = new Stage2(pool, ipa, 7);
    const top = 2 ** ipa;
    const hpa = 0x4000_0000_0000; // a host address with every alignment
    // A 4K page at the bottom, one at the very top of the IPA space.
    assert.equal(s2.map(0, hpa, 12, S2_RWX), true);
    assert.equal(s2.map(top - 4096, hpa + 0x1000, 12, S2_READ | S2_EXEC), true);
    // A 2 MiB block (always possible: level 2 exists for every size).
    assert.equal(s2.map(0x4020_0000 % top, hpa + 0x20_0000, 21, S2_RWX), true);
    // A 1 GiB block where level 1 exists.
    const can1g = s2.geom.startLevel <= 1;
    assert.equal(s2.blockAllowed(30), can1g);
    if (can1g) assert.equal(s2.map(top - 2 * GIB, hpa + 4 * GIB, 30, S2_RWX), true);
    else assert.throws(() => s2.map(top - GIB, hpa, 30, S2_RWX), HypError);

    const check = (a: number, pa: number, level: number): void => {
      const { pa: got, r } = hwWalk(bus, s2, a);
      assert.equal(got, pa, `ipa 0x${a.toString(16)}: fault 0x${r.fsc.toString(16)}`);
      assert.equal(r.size2, 12 + 9 * (3 - level));
      assert.deepEqual(s2.lookup(a), { pa, level, prot: s2.lookup(a)!.prot });
    };
    check(0x123, hpa + 0x123, 3);
    check(top - 4096 + 8, hpa + 0x1008, 3);
    check((0x4020_0000 % top) + 0x1234, hpa + 0x20_1234, 2);
    if (can1g) check(top - 2 * GIB + 0x3456_789, hpa + 4 * GIB + 0x3456_789, 1);
    // Read-only page: a write faults at stage 2 with a permission fault at level 3.
    const w = hwWalk(bus, s2, top - 4096, Access.Write);
    assert.equal(w.pa, -1);
    assert.equal(w.r.fsc, 0x0c + 3);
    assert.equal(w.r.stage2, true);
    // Unmapped: a translation fault.
    const u = hwWalk(bus, s2, 0x5000);
    assert.equal(u.pa, -1);
    assert.equal(u.r.fsc & 0x3c, 0x04);
    // Mapping twice changes nothing.
    assert.equal(s2.map(0, hpa, 12, S2_RWX), false);
    // Unmap everything: every table but the root comes back.
    s2.unmap(0, top);
    assert.equal(hwWalk(bus, s2, 0x123).pa, -1);
    assert.equal(s2.counters.tables, s2.geom.concat);
    assert.equal(pool.buddy.freePages, free0 - s2.geom.concat);
    s2.destroy();
    assert.equal(pool.buddy.freePages, free0);
  });
}

test('mapRange uses 1 GiB, 2 MiB and 4 KiB mappings as alignment allows', () => {
  const { bus, pool } = setup();
  const s2 = new Stage2(pool, 40, 1);
  const ipa = GIB - 0x1000; // one page below a 1 GiB boundary
  const size = 0x1000 + GIB + 0x20_0000 + 0x3000;
  const hpa = 0x4000_0000_0000 + ipa;
  s2.mapRange(ipa, hpa, size, S2_RWX);
  assert.deepEqual(s2.counters, { tables: s2.counters.tables, pages4k: 1 + 3, blocks2m: 1, blocks1g: 1 });
  for (const off of [0, 0x1000, 0x1000 + GIB - 8, 0x1000 + GIB, size - 1]) {
    assert.equal(hwWalk(bus, s2, ipa + off).pa, hpa + off);
  }
  // Misaligned host address: no blocks at all.
  const s2b = new Stage2(pool, 40, 2);
  s2b.mapRange(0, 0x4000_0000_1000, 0x40_0000, S2_RWX);
  assert.equal(s2b.counters.blocks2m, 0);
  assert.equal(s2b.counters.pages4k, 1024);
});

test('unmapping part of a block splits it and keeps the rest mapped', () => {
  const { bus, pool } = setup();
  const s2 = new Stage2(pool, 40, 1);
  const hpa = 0x4000_0000_0000;
  s2.map(0, hpa, 30, S2_RWX);
  const n = s2.unmap(0x20_0000 + 0x3000, 0x1000); // one page inside the second 2 MiB of the 1 GiB block
  assert.equal(n, 1);
  assert.equal(hwWalk(bus, s2, 0x20_3000).pa, -1);
  assert.equal(hwWalk(bus, s2, 0x20_2fff).pa, hpa + 0x20_2fff);
  assert.equal(hwWalk(bus, s2, 0x20_4000).pa, hpa + 0x20_4000);
  assert.equal(hwWalk(bus, s2, 0x3fff_ffff).pa, hpa + 0x3fff_ffff);
  assert.equal(s2.lookup(0x40_0000)!.level, 2, 'other 2 MiB pieces stay blocks');
  assert.equal(s2.lookup(0x20_4000)!.level, 3);
});

test('bad requests are HypErrors, and the pool running dry too', () => {
  const { pool } = setup(6);
  const s2 = new Stage2(pool, 40, 1);
  assert.throws(() => s2.map(0x1234, 0, 12, S2_RWX), /not aligned/);
  assert.throws(() => s2.map(2 ** 40, 0, 12, S2_RWX), /outside/);
  assert.throws(() => s2.map(0, 0, 13, S2_RWX), HypError);
  // 2 root pages + 4 left: mapping pages far apart needs 2 tables each until the pool is empty.
  assert.throws(() => {
    for (let i = 0; i < 8; i++) s2.map(i * GIB, 0, 12, S2_RWX);
  }, /hyp pool exhausted/);
});

test('VMIDs are allocated, exhausted, and reused', () => {
  const a = new VmidAllocator(8);
  const got = new Set<number>();
  for (let i = 0; i < 255; i++) got.add(a.alloc());
  assert.equal(got.size, 255);
  assert.ok(!got.has(0));
  assert.throws(() => a.alloc(), /no free VMID/);
  a.free(17);
  assert.equal(a.alloc(), 17);
  assert.throws(() => a.free(0), HypError);
});
