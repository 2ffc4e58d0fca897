/** Stage-2 walks: start levels, concatenated tables, permissions, faults on the stage-1 walk, HPFAR_EL2. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { walk, s2Walk, XlResult, Access } from '../../../src/cpu/mmu/walk.js';
import { ExceptionTaken } from '../../../src/cpu/exceptions.js';
import { RunExit } from '../../../src/cpu/pe.js';
import type { PE } from '../../../src/cpu/pe.js';
import {
  makePe, Tables, alloc, tcr, vtcr, enableS1, enableS2, halves, RAM_BASE,
  AF, SH_INNER, attrIdx, AP_EL1_RW, S2_R, S2_RW, S2_NORMAL, S2_XN,
} from './helpers.js';

const N = AF | SH_INNER | attrIdx(1);
const S2 = AF | S2_NORMAL | SH_INNER;

interface Out { pa: number; r: XlResult }
function xl(pe: PE, va: bigint | number, acc = Access.Read, el0 = false): Out {
  const r = new XlResult();
  const [lo, hi] = halves(va);
  return { pa: walk(pe, lo, hi, acc, el0, false, true, r), r };
}
/** `size2`: the stage-2 block size (log2); with stage 1 off the combined size stays 12. */
function ok(o: Out, pa: number, size2?: number): void {
  assert.equal(o.r.fsc, -1, `unexpected fault 0x${o.r.fsc.toString(16)} stage2=${o.r.stage2}`);
  assert.equal(o.pa, pa, `pa 0x${o.pa.toString(16)} != 0x${pa.toString(16)}`);
  if (size2 !== undefined) assert.equal(o.r.size2, size2);
}
function s2fault(o: Out, fsc: number, ipa: number, s1ptw = false): void {
  assert.equal(o.pa, -1);
  assert.equal(o.r.fsc, fsc, `fsc 0x${o.r.fsc.toString(16)} != 0x${fsc.toString(16)}`);
  assert.equal(o.r.stage2, true);
  assert.equal(o.r.s1ptw, s1ptw);
  assert.equal(o.r.ipa, ipa, `ipa 0x${o.r.ipa.toString(16)} != 0x${ipa.toString(16)}`);
}

test('stage 2, 4K granule: each start level, with concatenated initial tables', () => {
  // [T0SZ, SL0, start level, index bits at the start level]
  const cases: Array<[number, number, number, number]> = [
    [24, 1, 1, 10], // 40-bit IPA: level 1, 2 concatenated tables
    [32, 0, 2, 11], // 32-bit IPA: level 2, 4 concatenated tables
    [16, 2, 0, 9], // 48-bit IPA: level 0
    [22, 1, 1, 12], // 42-bit IPA: level 1, 8 concatenated tables
  ];
  for (const [t0sz, sl0, level, bits] of cases) {
    const { pe, ram } = makePe();
    const t = new Tables(ram, alloc(), 12, level, bits);
    enableS2(pe, vtcr({ t0sz, sl0 }), t.root);
    const top = 2 ** (64 - t0sz) - 0x20_0000; // the last 2M of the IPA space: the last concatenated table
    t.map(top, RAM_BASE + 0x20_0000, 2, S2 | S2_RW);
    t.map(0x1000, RAM_BASE + 0x3000, 3, S2 | S2_RW);
    // Stage 1 off: VA = IPA.
    ok(xl(pe, top + 0x1234), RAM_BASE + 0x20_1234, 21);
    ok(xl(pe, 0x1008), RAM_BASE + 0x3008, 12);
    s2fault(xl(pe, 0x2000), 0x07, 0x2000);
    if (t0sz > 16) s2fault(xl(pe, 2 ** (64 - t0sz)), 0x04, 2 ** (64 - t0sz)); // IPA out of range: level 0
  }
});

test('stage 2, 16K and 64K granules, including 64K level-3 start with 8 concatenated tables', () => {
  // [TG0, g, T0SZ, SL0, start level, bits]
  const cases: Array<[number, number, number, number, number, number]> = [
    [2, 14, 24, 1, 2, 15], // 16K, 40-bit: level 2, 16 concatenated tables
    [2, 14, 27, 2, 1, 1], // 16K, 37-bit IPA from level 1 (2 entries)
    [1, 16, 24, 1, 2, 11], // 64K, 40-bit: level 2
    [1, 16, 32, 0, 3, 16], // 64K, 32-bit: level 3, 8 concatenated tables
    [1, 16, 16, 2, 1, 6], // 64K, 48-bit: level 1
  ];
  for (const [tg0, g, t0sz, sl0, level, bits] of cases) {
    const { pe, ram } = makePe();
    const t = new Tables(ram, alloc(), g, level, bits);
    enableS2(pe, vtcr({ t0sz, sl0, tg0 }), t.root);
    const page = 2 ** g;
    const top = 2 ** (64 - t0sz) - page;
    t.map(top, RAM_BASE + 4 * page, 3, S2 | S2_RW);
    ok(xl(pe, top + 8), RAM_BASE + 4 * page + 8, g);
    if (level < 3) {
      const blk = 2 ** (g + (g - 3));
      t.map(blk, 0x8000_0000, 2, S2 | S2_RW);
      ok(xl(pe, blk + 0x1230), 0x8000_1230, g + g - 3);
    }
  }
});

test('stage 2: invalid and inconsistent SL0 / T0SZ are level-0 translation faults', () => {
  const { pe } = makePe();
  for (const [t0sz, sl0, tg0] of [[24, 0, 0], [24, 3, 0], [40, 2, 0], [16, 1, 0], [24, 0, 1], [12, 2, 0]]) {
    enableS2(pe, vtcr({ t0sz, sl0, tg0 }), 0x4200_0000);
    s2fault(xl(pe, 0x1000), 0x04, 0x1000);
  }
  // Level 0 start with 4K needs a PA range of at least 44 bits.
  const small = makePe(40);
  enableS2(small.pe, vtcr({ t0sz: 24, sl0: 2 }), 0x4200_0000);
  s2fault(xl(small.pe, 0x1000), 0x04, 0x1000);
});

test('stage 2 permissions (S2AP, XN), access flag and output address size', () => {
  const { pe, ram } = makePe();
  const t = new Tables(ram, alloc(), 12, 1, 10);
  enableS2(pe, vtcr({ t0sz: 24, sl0: 1 }), t.root);
  t.map(0x1000, RAM_BASE, 3, S2 | S2_R);
  t.map(0x2000, RAM_BASE, 3, S2 | S2_RW, S2_XN);
  t.map(0x3000, RAM_BASE, 3, S2_NORMAL | S2_RW);
  t.map(0x4000, 0x1_0000_0000, 3, S2 | S2_RW);
  t.map(0x5000, RAM_BASE, 3, S2 | S2_RW, 1 << 21); // XN = 01: not executable at EL1
  ok(xl(pe, 0x1000), RAM_BASE);
  assert.equal(xl(pe, 0x1000).r.perms, 5);
  s2fault(xl(pe, 0x1000, Access.Write), 0x0f, 0x1000);
  assert.equal(xl(pe, 0x2000).r.perms, 3);
  s2fault(xl(pe, 0x2000, Access.Exec), 0x0f, 0x2000);
  s2fault(xl(pe, 0x3000), 0x0b, 0x3000);
  ok(xl(pe, 0x4000), 0x1_0000_0000);
  assert.equal(xl(pe, 0x5000, Access.Exec, true).r.perms, 7);
  s2fault(xl(pe, 0x5000, Access.Exec), 0x0f, 0x5000);
  enableS2(pe, vtcr({ t0sz: 24, sl0: 1, ps: 0 }), t.root); // 32-bit output
  s2fault(xl(pe, 0x4000), 0x03, 0x4000);
  enableS2(pe, vtcr({ t0sz: 24, sl0: 1, ps: 0 }), 0x1_0000_0000);
  s2fault(xl(pe, 0x1000), 0x00, 0x1000);
});

/** Stage 2 identity-maps the 1G holding RAM (so stage-1 tables in RAM are reachable) and maps IPA 0x8000_0000.. as given. */
function twoStages(): { pe: PE; s1: Tables; s2: Tables } {
  const { pe, ram } = makePe();
  const s2 = new Tables(ram, alloc(0x4300_0000), 12, 1, 10);
  s2.map(0x4000_0000, 0x4000_0000, 1, S2 | S2_RW);
  const s1 = new Tables(ram, alloc(0x4200_0000), 12, 0, 9);
  enableS1(pe, tcr({}), s1.root);
  enableS2(pe, vtcr({ t0sz: 24, sl0: 1 }), s2.root);
  return { pe, s1, s2 };
}

test('stage 1 + stage 2: combined output, permissions intersected, smaller size wins', () => {
  const { pe, s1, s2 } = twoStages();
  s1.map(0x20_0000, 0x8000_0000, 2, N | AP_EL1_RW); // 2M block to IPA 0x8000_0000
  s2.map(0x8000_5000, RAM_BASE + 0x7000, 3, S2 | S2_R, S2_XN);
  ok(xl(pe, 0x20_5010), RAM_BASE + 0x7010);
  assert.equal(xl(pe, 0x20_5010).r.sizeLog2, 12);
  assert.equal(xl(pe, 0x20_5010).r.perms, 1);
  // Stage-2 fault on the final access: the IPA of the access, s1ptw clear.
  s2fault(xl(pe, 0x20_6010), 0x07, 0x8000_6010);
  s2fault(xl(pe, 0x20_5010, Access.Write), 0x0f, 0x8000_5010);
  // Stage-1 faults are still stage-1 faults.
  const o = xl(pe, 0x40_0000);
  assert.equal(o.r.fsc, 0x06);
  assert.equal(o.r.stage2, false);
});

test('the combined size is the smaller of the two stages', () => {
  const { pe, s1 } = twoStages();
  s1.map(0x4000_0000, 0x4000_0000, 2, N | AP_EL1_RW); // 2M block at stage 1, inside the 1G stage-2 block
  const o = xl(pe, 0x4001_2345);
  assert.equal(o.pa, 0x4001_2345);
  assert.equal(o.r.sizeLog2, 21);
  assert.equal(o.r.size2, 30);
});

test('stage-2 faults on the stage-1 table walk report S1PTW and the descriptor IPA', () => {
  const { pe, s1, s2 } = twoStages();
  // A level-1 stage-1 table at IPA 0x9000_0000, not mapped at stage 2.
  const l0 = s1.slot(0x1000, 0);
  s1.write(l0, 0x9000_0000 | 3, 0);
  s2fault(xl(pe, 0x1000), 0x05, 0x9000_0000, true);
  // Map it at stage 2 without read permission: permission fault at stage-2 level 3.
  s2.map(0x9000_0000, RAM_BASE + 0x10_0000, 3, S2);
  s2fault(xl(pe, 0x1000 + 0x4000_0000), 0x0f, 0x9000_0008, true);
  // TTBR0 itself pointing to an unmapped IPA.
  enableS1(pe, tcr({}), 0xa000_0000);
  s2fault(xl(pe, 0x80_0000_0000), 0x06, 0xa000_0008, true); // level-2 table exists since the map above
});

test('s2Walk can be called on its own (for L0)', () => {
  const { pe, ram } = makePe();
  const t = new Tables(ram, alloc(), 12, 1, 10);
  t.map(0x1234_5000, RAM_BASE + 0x5000, 3, S2 | S2_RW);
  const r = new XlResult();
  const pa = s2Walk(pe.bus, 48, t.root, 0, Number(vtcr({ t0sz: 24, sl0: 1 })), 0x1234_5678, Access.Read, false, false, r);
  assert.equal(pa, RAM_BASE + 0x5678);
  assert.equal(r.perms2, 7);
  assert.equal(r.size2, 12);
});

test('stage-2 data and instruction aborts exit to EL2 with ESR_EL2, FAR_EL2 and HPFAR_EL2', () => {
  const { pe, s1, s2 } = twoStages();
  s1.map(0x5000_0000, 0x8_1234_5000, 3, N);
  s1.map(0x5000_1000, 0x9000_0000, 3, AF | attrIdx(1)); // a data page at IPA 0x9000_0000
  pe.dataIss = 0;
  assert.throws(() => pe.ld32(0x5000_0010, 0), (e) => e === ExceptionTaken);
  assert.equal(pe.exitReason, RunExit.El2);
  const esr = Number(pe.readSysreg('ESR_EL2'));
  assert.equal(esr >>> 26, 0x24);
  assert.equal(esr & 0x3f, 0x05); // level-1 translation fault (IPA 0x8_1234_5000 is beyond the mapped 1G)
  assert.equal(esr & (1 << 6), 0);
  assert.equal(esr & (1 << 7), 0);
  assert.equal(pe.readSysreg('FAR_EL2'), 0x5000_0010n);
  assert.equal(pe.readSysreg('HPFAR_EL2'), (0x8_1234_5000n >> 12n) << 4n);

  // A store, with an instruction syndrome from the load/store op.
  pe.el = 1;
  pe.dataIss = (1 << 24) | (2 << 22) | (5 << 16); // ISV, SAS=word, SRT=5
  assert.throws(() => pe.st32(0x5000_1020, 0, 7), (e) => e === ExceptionTaken);
  const esr2 = Number(pe.readSysreg('ESR_EL2'));
  assert.equal(esr2 & 0x1ffffff, (1 << 24) | (2 << 22) | (5 << 16) | (1 << 6) | 0x05);
  assert.equal(pe.readSysreg('HPFAR_EL2'), 0x9000_0n << 4n);

  // S1PTW: no instruction syndrome, S1PTW set, HPFAR = the descriptor's IPA.
  pe.el = 1;
  s1.write(s1.slot(0x100_0000_0000, 0), 0xa000_0000 | 3, 0);
  assert.throws(() => pe.ld32(0, 0x100), (e) => e === ExceptionTaken);
  const esr3 = Number(pe.readSysreg('ESR_EL2'));
  assert.equal(esr3 & 0x1ffffff, (1 << 7) | 0x05);
  assert.equal(pe.readSysreg('HPFAR_EL2'), 0xa000_0n << 4n);
  assert.equal(pe.readSysreg('FAR_EL2'), 0x100_0000_0000n);
  pe.dataIss = 0;
});
