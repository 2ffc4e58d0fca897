/** Stage-1 walks of the EL1&0 regime, called directly (no exceptions taken). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { walk, XlResult, Access } from '../../../src/cpu/mmu/walk.js';
import type { PE } from '../../../src/cpu/pe.js';
import {
  makePe, Tables, alloc, tcr, enableS1, halves, RAM_BASE,
  AF, NG, AP_EL1_RW, AP_RW, AP_EL1_RO, AP_RO, SH_INNER, attrIdx, H_PXN, H_UXN, H_PXNTABLE, H_UXNTABLE, H_APTABLE0, H_APTABLE1,
} from './helpers.js';

const N = AF | SH_INNER | attrIdx(1); // normal memory, accessed

interface Out { pa: number; r: XlResult }
function xl(pe: PE, va: bigint | number, acc = Access.Read, el0 = false, pan = false): Out {
  const r = new XlResult();
  const [lo, hi] = halves(va);
  const pa = walk(pe, lo, hi, acc, el0, pan, true, r);
  return { pa, r };
}
function ok(o: Out, pa: number, sizeLog2?: number): void {
  assert.equal(o.r.fsc, -1, `unexpected fault 0x${o.r.fsc.toString(16)}`);
  assert.equal(o.pa, pa, `pa 0x${o.pa.toString(16)} != 0x${pa.toString(16)}`);
  if (sizeLog2 !== undefined) assert.equal(o.r.sizeLog2, sizeLog2);
}
function faults(o: Out, fsc: number): void {
  assert.equal(o.pa, -1);
  assert.equal(o.r.fsc, fsc, `fsc 0x${o.r.fsc.toString(16)} != 0x${fsc.toString(16)}`);
  assert.equal(o.r.stage2, false);
}

test('4K granule, 48-bit VA: pages and level-1/level-2 blocks, start level 0', () => {
  const { pe, ram } = makePe();
  const t = new Tables(ram, alloc(), 12, 0, 9);
  enableS1(pe, tcr({ t0sz: 16, tg0: 0 }), t.root);
  t.map(0x1234_5678_9000, RAM_BASE + 0x3000, 3, N);
  t.map(0x4020_0000, 0x4060_0000, 2, N);
  t.map(0x80_0000_0000, 0x8000_0000, 1, N);
  ok(xl(pe, 0x1234_5678_9abcn), RAM_BASE + 0x3abc, 12);
  ok(xl(pe, 0x4021_2345), 0x4061_2345, 21);
  ok(xl(pe, 0x80_1234_5678), 0x9234_5678, 30);
  assert.equal(xl(pe, 0x4021_2345).r.perms, 7);
  // Nothing mapped at level 3 next to the page: translation fault level 3; unmapped level-1 entry: level 1.
  faults(xl(pe, 0x1234_5678_a000), 0x07);
  faults(xl(pe, 0x1234_0000_0000), 0x05);
  faults(xl(pe, 0x1234_4000_0000), 0x06);
  faults(xl(pe, 0x7f80_0000_0000), 0x04);
  // A block descriptor at level 0 and a 01 descriptor at level 3 are translation faults.
  t.write(t.root + 8 * 2, 0x1 | AF, 0);
  faults(xl(pe, 0x100_0000_0000), 0x04);
  const ea = t.slot(0x1234_5678_9000, 3);
  const [lo, hi] = t.read(ea);
  t.write(ea, lo & ~2, hi);
  faults(xl(pe, 0x1234_5678_9000), 0x07);
});

test('4K granule with 39-bit and 25-bit VAs (start levels 1 and 2)', () => {
  const { pe, ram } = makePe();
  const t = new Tables(ram, alloc(), 12, 1, 9);
  enableS1(pe, tcr({ t0sz: 25 }), t.root);
  t.map(0x7f_ffff_f000, RAM_BASE + 0x5000, 3, N);
  ok(xl(pe, 0x7f_ffff_f008), RAM_BASE + 0x5008, 12);
  faults(xl(pe, 0x80_0000_0000), 0x04); // beyond 39 bits
  const t2 = new Tables(ram, alloc(0x4300_0000), 12, 2, 4);
  enableS1(pe, tcr({ t0sz: 39 }), t2.root);
  t2.map(0x1ff_f000, RAM_BASE + 0x6000, 3, N);
  t2.map(0x20_0000, RAM_BASE + 0x20_0000, 2, N);
  ok(xl(pe, 0x1ff_f010), RAM_BASE + 0x6010, 12);
  ok(xl(pe, 0x21_0000), RAM_BASE + 0x21_0000, 21);
  faults(xl(pe, 0x200_0000), 0x04);
});

test('16K granule: 47-bit (start level 1) and 48-bit (start level 0, 2 entries) VAs, 32M blocks', () => {
  const { pe, ram } = makePe();
  const t = new Tables(ram, alloc(), 14, 1, 11);
  enableS1(pe, tcr({ t0sz: 17, tg0: 2 }), t.root);
  t.map(0x7000_1234_4000, RAM_BASE + 0x8000, 3, N);
  t.map(0x5000_0200_0000, 0x4200_0000, 2, N);
  ok(xl(pe, 0x7000_1234_7ffc), RAM_BASE + 0xbffc, 14);
  ok(xl(pe, 0x5000_0312_3456), 0x4312_3456, 25);
  // A level-1 block is not allowed with 16K.
  t.write(t.slot(0x6000_0000_0000, 1), 1 | AF, 0);
  faults(xl(pe, 0x6000_0000_0000), 0x05);

  const t48 = new Tables(ram, alloc(0x4300_0000), 14, 0, 1);
  enableS1(pe, tcr({ t0sz: 16, tg0: 2 }), t48.root);
  t48.map(0x8000_0000_4000, RAM_BASE + 0x4000, 3, N);
  ok(xl(pe, 0x8000_0000_4321), RAM_BASE + 0x4321, 14);
  faults(xl(pe, 0x0000_0000_4000), 0x04);
});

test('64K granule: 48-bit (start level 1) and 42-bit (start level 2) VAs, 512M blocks', () => {
  const { pe, ram } = makePe();
  const t = new Tables(ram, alloc(), 16, 1, 6);
  enableS1(pe, tcr({ t0sz: 16, tg0: 1 }), t.root);
  t.map(0xabcd_0001_0000, RAM_BASE + 0x1_0000, 3, N);
  t.map(0x1_2000_0000, 0x6000_0000, 2, N);
  ok(xl(pe, 0xabcd_0001_fff0), RAM_BASE + 0x1_fff0, 16);
  ok(xl(pe, 0x1_2abc_0123), 0x6abc_0123, 29);
  t.write(t.slot(0x400_0000_0000, 1), 1 | AF, 0); // 4TB blocks need 52-bit PAs
  faults(xl(pe, 0x400_0000_0000), 0x05);

  const t42 = new Tables(ram, alloc(0x4300_0000), 16, 2, 13);
  enableS1(pe, tcr({ t0sz: 22, tg0: 1 }), t42.root);
  t42.map(0x3ff_fff0_0000, RAM_BASE + 0x20_0000, 3, N);
  ok(xl(pe, 0x3ff_fff0_0004), RAM_BASE + 0x20_0004, 16);
  faults(xl(pe, 0x400_0000_0000), 0x04);
});

test('TTBR1_EL1 for high addresses, with TG1 encodings (4K=2, 16K=1, 64K=3)', () => {
  const { pe, ram } = makePe();
  for (const [tg1, g, level, bits] of [[2, 12, 0, 9], [1, 14, 0, 1], [3, 16, 1, 6]] as const) {
    const t0 = new Tables(ram, alloc(0x4200_0000), 12, 0, 9);
    const t1 = new Tables(ram, alloc(0x4300_0000), g, level, bits);
    enableS1(pe, tcr({ t0sz: 16, t1sz: 16, tg1 }), t0.root, t1.root);
    t0.map(0x8000_0000_0000 - 0x1000, RAM_BASE, 3, N);
    t1.map(0x8000_0010_0000, RAM_BASE + 0x10_0000, 3, N);
    ok(xl(pe, 0xffff_8000_0010_0040n), RAM_BASE + 0x10_0040, g);
    ok(xl(pe, 0x7fff_ffff_f000), RAM_BASE, 12);
    // Bits 63:48 neither all zeros nor all ones.
    faults(xl(pe, 0xfffe_8000_0010_0040n), 0x04);
    faults(xl(pe, 0x0001_8000_0010_0040n), 0x04);
  }
  // T1SZ = 17: VA bit 47 must be 1 as well.
  const t1 = new Tables(ram, alloc(0x4300_0000), 12, 0, 9);
  enableS1(pe, tcr({ t1sz: 17 }), 0, t1.root);
  t1.map(0x7000_0000_0000, RAM_BASE, 3, N);
  ok(xl(pe, 0xffff_f000_0000_0000n), RAM_BASE, 12);
  faults(xl(pe, 0xffff_7000_0000_0000n), 0x04);
});

test('TBI0/TBI1 ignore the top byte for data and instruction addresses', () => {
  const { pe, ram } = makePe();
  const t0 = new Tables(ram, alloc(0x4200_0000), 12, 0, 9);
  const t1 = new Tables(ram, alloc(0x4300_0000), 12, 0, 9);
  t0.map(0x1234_5678_9000, RAM_BASE + 0x3000, 3, N);
  t1.map(0x8000_0010_0000, RAM_BASE + 0x10_0000, 3, N);
  enableS1(pe, tcr({}), t0.root, t1.root);
  faults(xl(pe, 0x5a00_1234_5678_9000n), 0x04);
  faults(xl(pe, 0x12ff_8000_0010_0000n), 0x04);
  enableS1(pe, tcr({ tbi0: true, tbi1: true }), t0.root, t1.root);
  ok(xl(pe, 0x5a00_1234_5678_9004n), RAM_BASE + 0x3004);
  ok(xl(pe, 0x5a00_1234_5678_9004n, Access.Exec), RAM_BASE + 0x3004);
  ok(xl(pe, 0x12ff_8000_0010_0008n), RAM_BASE + 0x10_0008);
  // VA[55] still selects the range and must match bits 54:48.
  faults(xl(pe, 0x5a80_1234_5678_9000n), 0x04);
  // TBI0 alone does not cover the TTBR1 range.
  enableS1(pe, tcr({ tbi0: true }), t0.root, t1.root);
  faults(xl(pe, 0x12ff_8000_0010_0000n), 0x04);
});

test('EPD0/EPD1 and out-of-range TxSZ give level-0 translation faults', () => {
  const { pe, ram } = makePe();
  const t0 = new Tables(ram, alloc(), 12, 0, 9);
  t0.map(0x1000, RAM_BASE, 3, N);
  enableS1(pe, tcr({ epd0: true }), t0.root, t0.root);
  faults(xl(pe, 0x1000), 0x04);
  enableS1(pe, tcr({ epd1: true }), t0.root, t0.root);
  ok(xl(pe, 0x1000), RAM_BASE);
  faults(xl(pe, 0xffff_0000_0000_1000n), 0x04);
  enableS1(pe, tcr({ t0sz: 12 }), t0.root);
  faults(xl(pe, 0x1000), 0x04);
  enableS1(pe, tcr({ t0sz: 40 }), t0.root);
  faults(xl(pe, 0x1000), 0x04);
});

test('access flag fault at the leaf level, before permission checks', () => {
  const { pe, ram } = makePe();
  const t = new Tables(ram, alloc(), 12, 0, 9);
  enableS1(pe, tcr({}), t.root);
  t.map(0x1000, RAM_BASE, 3, SH_INNER | AP_EL1_RW);
  t.map(0x4000_0000, RAM_BASE, 1, SH_INNER | AP_EL1_RW);
  faults(xl(pe, 0x1000), 0x0b);
  faults(xl(pe, 0x1000, Access.Write, true), 0x0b);
  faults(xl(pe, 0x4000_1000), 0x09);
});

test('address size faults: TTBR, table and output addresses beyond IPS and beyond PARange', () => {
  const { pe, ram } = makePe();
  const t = new Tables(ram, alloc(), 12, 0, 9);
  t.map(0x1000, 0x1_0000_0000, 3, N);
  t.map(0x2000, RAM_BASE, 3, N);
  t.map(0x4000_0000, 0x1_4000_0000, 1, N);
  enableS1(pe, tcr({ ips: 0 }), t.root); // 32-bit output
  faults(xl(pe, 0x1000), 0x03);
  faults(xl(pe, 0x4000_0000), 0x01);
  ok(xl(pe, 0x2000), RAM_BASE);
  enableS1(pe, tcr({ ips: 1 }), t.root); // 36 bits: fine
  ok(xl(pe, 0x1000), 0x1_0000_0000);
  // TTBR0 above the output size: level 0.
  enableS1(pe, tcr({ ips: 0 }), 0x1_0000_0000);
  faults(xl(pe, 0x2000), 0x00);
  // A table descriptor whose next-level address is beyond the output size: fault at that descriptor's level.
  const ea = t.slot(0x80_0000_0000, 0);
  t.write(ea, 3, 0x1);
  enableS1(pe, tcr({ ips: 0 }), t.root);
  faults(xl(pe, 0x80_0000_0000), 0x00);
  // IPS larger than the PE's PARange is limited to PARange.
  const small = makePe(36);
  const ts = new Tables(small.ram, alloc(), 12, 0, 9);
  ts.map(0x1000, 0x10_0000_0000, 3, N);
  ts.map(0x2000, 0xf_ffff_f000, 3, N);
  enableS1(small.pe, tcr({ ips: 5 }), ts.root);
  faults(xl(small.pe, 0x1000), 0x03);
  ok(xl(small.pe, 0x2000), 0xf_ffff_f000);
});

test('a descriptor address outside RAM is a synchronous external abort on the walk', () => {
  const { pe, ram } = makePe();
  const t = new Tables(ram, alloc(), 12, 0, 9);
  enableS1(pe, tcr({}), 0x1000_0000);
  faults(xl(pe, 0x1000), 0x14);
  t.write(t.slot(0x1000, 1), 0x2000_0000 | 3, 0);
  enableS1(pe, tcr({}), t.root);
  faults(xl(pe, 0x1000), 0x16);
});

test('AP[2:1] permissions for EL0, EL1 and EL1 with PAN; AP=01 implies PXN', () => {
  const { pe, ram } = makePe();
  const t = new Tables(ram, alloc(), 12, 0, 9);
  enableS1(pe, tcr({}), t.root);
  // [AP, EL0 perms, EL1 perms, EL1+PAN perms]
  const cases: Array<[number, number, number, number]> = [
    // EL0 execute permission depends on UXN only: AP = 00 or 10 pages are execute-only at EL0.
    [AP_EL1_RW, 4, 7, 7],
    [AP_RW, 7, 3, 0],
    [AP_EL1_RO, 4, 5, 5],
    [AP_RO, 5, 5, 4],
  ];
  cases.forEach(([ap, el0, el1, pan], i) => {
    const va = 0x10_0000 + i * 0x1000;
    t.map(va, RAM_BASE + i * 0x1000, 3, N | ap);
    for (const [isEl0, isPan, want] of [[true, false, el0], [false, false, el1], [false, true, pan]] as const) {
      for (const acc of [Access.Read, Access.Write, Access.Exec]) {
        const o = xl(pe, va, acc, isEl0, isPan);
        const bit = acc === Access.Write ? 2 : acc === Access.Exec ? 4 : 1;
        if (want & bit) {
          ok(o, RAM_BASE + i * 0x1000);
          assert.equal(o.r.perms, want, `AP ${ap >> 6} el0=${isEl0} pan=${isPan}`);
        } else {
          faults(o, 0x0f);
        }
      }
    }
  });
});

test('UXN/PXN and the hierarchical APTable/UXNTable/PXNTable, and SCTLR_EL1.WXN', () => {
  const { pe, ram } = makePe();
  const t = new Tables(ram, alloc(), 12, 0, 9);
  enableS1(pe, tcr({}), t.root);
  t.map(0x1000, RAM_BASE, 3, N | AP_RW, H_UXN);
  t.map(0x2000, RAM_BASE, 3, N | AP_EL1_RW, H_PXN);
  assert.equal(xl(pe, 0x1000, Access.Read, true).r.perms, 3);
  faults(xl(pe, 0x1000, Access.Exec, true), 0x0f);
  assert.equal(xl(pe, 0x2000).r.perms, 3);
  faults(xl(pe, 0x2000, Access.Exec), 0x0f);
  // Table attributes apply to everything below the table descriptor (set where the level-2 table is created).
  const cases: Array<[number, number, number]> = [
    // [tableHi, EL0 perms, EL1 perms] for an AP=01 (EL0 RW) page
    [H_APTABLE0, 4, 7], // EL0: execute-only
    [H_APTABLE1, 5, 5],
    [H_UXNTABLE, 3, 3],
    [H_APTABLE1 | H_PXNTABLE, 5, 1],
  ];
  cases.forEach(([tableHi, el0, el1], i) => {
    const va = (i + 1) * 0x4000_0000; // a distinct level-1 entry, hence a distinct level-2 table
    t.map(va, RAM_BASE, 3, N | AP_RW, 0, tableHi);
    const e0 = xl(pe, va, Access.Read, true);
    if (el0 & 1) assert.equal(e0.r.perms, el0, `case ${i} EL0`);
    else {
      faults(e0, 0x0f);
      assert.equal(xl(pe, va, Access.Exec, true).r.perms, el0);
    }
    assert.equal(xl(pe, va).r.perms, el1, `case ${i} EL1`);
  });
  // WXN: writable at EL1 means not executable at EL1; writable at EL0 means not executable at EL0.
  pe.writeSysreg('SCTLR_EL1', pe.readSysreg('SCTLR_EL1') | (1n << 19n));
  t.map(0x3000, RAM_BASE, 3, N | AP_EL1_RW);
  t.map(0x4000, RAM_BASE, 3, N | AP_EL1_RO);
  t.map(0x5000, RAM_BASE, 3, N | AP_RW);
  assert.equal(xl(pe, 0x3000).r.perms, 3);
  assert.equal(xl(pe, 0x4000).r.perms, 5);
  assert.equal(xl(pe, 0x5000, Access.Read, true).r.perms, 3);
});

test('nG entries carry the ASID (8 or 16 bits, from TTBR0 or TTBR1 per TCR_EL1.A1); global entries -1', () => {
  const { pe, ram } = makePe();
  const t = new Tables(ram, alloc(), 12, 0, 9);
  t.map(0x1000, RAM_BASE, 3, N | NG);
  t.map(0x2000, RAM_BASE, 3, N);
  const ttbr0 = (0x1234n << 48n) | BigInt(t.root);
  const ttbr1 = 0x5678n << 48n;
  enableS1(pe, tcr({}), ttbr0, ttbr1);
  assert.equal(xl(pe, 0x1000).r.asid, 0x34);
  assert.equal(xl(pe, 0x2000).r.asid, -1);
  enableS1(pe, tcr({ as16: true }), ttbr0, ttbr1);
  assert.equal(xl(pe, 0x1000).r.asid, 0x1234);
  enableS1(pe, tcr({ as16: true, a1: true }), ttbr0, ttbr1);
  assert.equal(xl(pe, 0x1000).r.asid, 0x5678);
});

test('MAIR attributes and shareability are reported', () => {
  const { pe, ram } = makePe();
  const t = new Tables(ram, alloc(), 12, 0, 9);
  t.map(0x1000, RAM_BASE, 3, AF | attrIdx(0));
  t.map(0x2000, RAM_BASE, 3, AF | attrIdx(2) | (2 << 8));
  enableS1(pe, tcr({}), t.root);
  assert.equal(xl(pe, 0x1000).r.attr, 0x00);
  const o = xl(pe, 0x2000);
  assert.equal(o.r.attr, 0x44);
  assert.equal(o.r.sh, 2);
});

test('MMU off: VA = PA, address size fault above PARange, TBI honoured', () => {
  const { pe } = makePe();
  ok(xl(pe, 0x4000_1234), 0x4000_1234, 12);
  ok(xl(pe, 0xffff_ffff_f000), 0xffff_ffff_f000);
  faults(xl(pe, 0x1_0000_0000_0000), 0x00);
  faults(xl(pe, 0x5a00_0000_4000_0000n), 0x00);
  pe.writeSysreg('TCR_EL1', tcr({ tbi0: true }));
  ok(xl(pe, 0x5a00_0000_4000_0000n), 0x4000_0000);
  assert.equal(xl(pe, 0x4000_0000, Access.Read, true).r.perms, 7);
});
