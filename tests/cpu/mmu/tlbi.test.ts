/** TLB filling through the MMU and TLBI by VA, by ASID, of blocks, tagged addresses, and broadcast. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tlbiExecute, setTlbiDomain, tlbiVa } from '../../../src/cpu/mmu/tlbi.js';
import { PE } from '../../../src/cpu/pe.js';
import { makePe, Tables, alloc, tcr, enableS1, RAM_BASE, AF, NG, SH_INNER, attrIdx, AP_RO } from './helpers.js';
import type { RamRegion } from '../../../src/cpu/bus.js';

const N = AF | SH_INNER | attrIdx(1);

/** Fills physical page `pa` with its own address as 32-bit words, so a load shows which page it reached. */
function stamp(ram: RamRegion, pa: number, size = 0x1000): void {
  for (let o = 0; o < size; o += 0x1000) ram.view.setUint32(pa + o - ram.base, pa + o, true);
}
const ld = (pe: PE, va: number, hi = 0): number => pe.ld32(va, hi) >>> 0;

// SYS encodings of TLBI: [op1, CRm, op2]
const VMALLE1 = [0, 7, 0] as const;
const VAE1 = [0, 7, 1] as const;
const ASIDE1 = [0, 7, 2] as const;
const VAAE1IS = [0, 3, 3] as const;
const VALE1 = [0, 7, 5] as const;
const tlbi = (pe: PE, op: readonly [number, number, number], lo = 0, hi = 0): void => tlbiExecute(pe, op[0], op[1], op[2], lo, hi);

function setup(): { pe: PE; t: Tables; ram: RamRegion } {
  const { pe, ram } = makePe();
  const t = new Tables(ram, alloc(), 12, 0, 9);
  enableS1(pe, tcr({ tbi0: true }), (5n << 48n) | BigInt(t.root));
  for (let p = RAM_BASE; p < RAM_BASE + 0x80_0000; p += 0x1000) stamp(ram, p);
  return { pe, t, ram };
}

test('a cached page survives a table change until TLBI VAE1 / VALE1 / VMALLE1', () => {
  const { pe, t } = setup();
  t.map(0x1000, RAM_BASE + 0x5000, 3, N);
  t.map(0x2000, RAM_BASE + 0x6000, 3, N);
  assert.equal(ld(pe, 0x1000), RAM_BASE + 0x5000);
  assert.equal(ld(pe, 0x2000), RAM_BASE + 0x6000);
  t.map(0x1000, RAM_BASE + 0x7000, 3, N);
  t.map(0x2000, RAM_BASE + 0x8000, 3, N);
  assert.equal(ld(pe, 0x1000), RAM_BASE + 0x5000); // TLB hit
  tlbi(pe, VAE1, 0x1000 >>> 12);
  assert.equal(ld(pe, 0x1000), RAM_BASE + 0x7000);
  assert.equal(ld(pe, 0x2000), RAM_BASE + 0x6000); // other pages untouched
  t.map(0x1000, RAM_BASE + 0x9000, 3, N);
  tlbi(pe, VALE1, 0x1000 >>> 12);
  assert.equal(ld(pe, 0x1000), RAM_BASE + 0x9000);
  tlbi(pe, VMALLE1);
  assert.equal(ld(pe, 0x2000), RAM_BASE + 0x8000);
});

test('TLBI by VA of a TTBR1 address uses VA[55:12] with the top bits from VA[55]', () => {
  const { pe, ram } = makePe();
  for (let p = RAM_BASE; p < RAM_BASE + 0x10_0000; p += 0x1000) stamp(ram, p);
  const t1 = new Tables(ram, alloc(), 12, 0, 9);
  enableS1(pe, tcr({}), 0, t1.root);
  t1.map(0xffff_8000_0000_3000 % 2 ** 48, RAM_BASE + 0x3000, 3, N);
  assert.equal(ld(pe, 0x3000, 0xffff8000), RAM_BASE + 0x3000);
  t1.map(0xffff_8000_0000_3000 % 2 ** 48, RAM_BASE + 0x4000, 3, N);
  assert.equal(ld(pe, 0x3000, 0xffff8000), RAM_BASE + 0x3000);
  // Operand: VA[55:12] in bits [43:0], ASID 0.
  const op = (0xffff_8000_0000_3000n >> 12n) & ((1n << 44n) - 1n);
  assert.equal(op, 0xff8_0000_0003n);
  tlbi(pe, VAE1, Number(op & 0xffffffffn), Number(op >> 32n));
  assert.equal(ld(pe, 0x3000, 0xffff8000), RAM_BASE + 0x4000);
});

test('TLBI VAE1 drops every 4K entry of a block mapping', () => {
  const { pe, t } = setup();
  t.map(0x20_0000, RAM_BASE + 0x20_0000, 2, N);
  assert.equal(ld(pe, 0x20_0000), RAM_BASE + 0x20_0000);
  assert.equal(ld(pe, 0x20_5000), RAM_BASE + 0x20_5000);
  assert.equal(ld(pe, 0x3f_f000), RAM_BASE + 0x3f_f000);
  t.map(0x20_0000, RAM_BASE + 0x40_0000, 2, N);
  assert.equal(ld(pe, 0x20_5000), RAM_BASE + 0x20_5000);
  tlbi(pe, VAE1, 0x20_0000 >>> 12);
  assert.equal(ld(pe, 0x20_0000), RAM_BASE + 0x40_0000);
  assert.equal(ld(pe, 0x20_5000), RAM_BASE + 0x40_5000);
  assert.equal(ld(pe, 0x3f_f000), RAM_BASE + 0x5f_f000);
  // Invalidating by any VA inside the block works too.
  t.map(0x20_0000, RAM_BASE + 0x60_0000, 2, N);
  tlbi(pe, VAE1, 0x3f_f000 >>> 12);
  assert.equal(ld(pe, 0x20_5000), RAM_BASE + 0x60_5000);
});

test('TLBI by VA drops entries filled through a tagged (TBI) address', () => {
  const { pe, t } = setup();
  t.map(0x1000, RAM_BASE + 0x5000, 3, N);
  assert.equal(ld(pe, 0x1000, 0x5a00_0000), RAM_BASE + 0x5000);
  t.map(0x1000, RAM_BASE + 0x6000, 3, N);
  assert.equal(ld(pe, 0x1000, 0x5a00_0000), RAM_BASE + 0x5000);
  tlbi(pe, VAE1, 1);
  assert.equal(ld(pe, 0x1000, 0x5a00_0000), RAM_BASE + 0x6000);
});

test('TLBI ASIDE1 drops the non-global entries of that ASID only', () => {
  const { pe, t } = setup();
  t.map(0x3000, RAM_BASE + 0x3000, 3, N | NG);
  t.map(0x4000, RAM_BASE + 0x4000, 3, N);
  assert.equal(ld(pe, 0x3000), RAM_BASE + 0x3000);
  assert.equal(ld(pe, 0x4000), RAM_BASE + 0x4000);
  t.map(0x3000, RAM_BASE + 0x13000, 3, N | NG);
  t.map(0x4000, RAM_BASE + 0x14000, 3, N);
  tlbi(pe, ASIDE1, 0, 6 << 16);
  assert.equal(ld(pe, 0x3000), RAM_BASE + 0x3000);
  tlbi(pe, ASIDE1, 0, 5 << 16);
  assert.equal(ld(pe, 0x3000), RAM_BASE + 0x13000);
  assert.equal(ld(pe, 0x4000), RAM_BASE + 0x4000); // global: kept
  // With 8-bit ASIDs the upper byte of the operand's ASID is ignored.
  t.map(0x3000, RAM_BASE + 0x23000, 3, N | NG);
  tlbi(pe, ASIDE1, 0, 0x0105 << 16);
  assert.equal(ld(pe, 0x3000), RAM_BASE + 0x23000);
});

test('the EL0 and EL1 TLBs are both invalidated, and permissions are per privilege', () => {
  const { pe, t } = setup();
  t.map(0x5000, RAM_BASE + 0x5000, 3, N | AP_RO);
  assert.equal(ld(pe, 0x5000), RAM_BASE + 0x5000);
  pe.el = 0;
  pe.updateTlbSelection();
  assert.equal(ld(pe, 0x5000), RAM_BASE + 0x5000);
  t.map(0x5000, RAM_BASE + 0x6000, 3, N | AP_RO);
  tlbi(pe, VAE1, 5);
  assert.equal(ld(pe, 0x5000), RAM_BASE + 0x6000);
  pe.el = 1;
  pe.updateTlbSelection();
  assert.equal(ld(pe, 0x5000), RAM_BASE + 0x6000);
});

test('Inner Shareable TLBI reaches the other PEs of the domain', () => {
  const { pe, t, ram } = setup();
  const pe2 = new PE(pe.bus);
  pe2.writeSysreg('TCR_EL1', pe.readSysreg('TCR_EL1'));
  pe2.writeSysreg('TTBR0_EL1', pe.readSysreg('TTBR0_EL1'));
  pe2.writeSysreg('SCTLR_EL1', pe.readSysreg('SCTLR_EL1'));
  setTlbiDomain([pe, pe2]);
  t.map(0x1000, RAM_BASE + 0x5000, 3, N);
  assert.equal(ld(pe2, 0x1000), RAM_BASE + 0x5000);
  t.map(0x1000, RAM_BASE + 0x6000, 3, N);
  tlbi(pe, VAE1, 1); // local only
  assert.equal(ld(pe2, 0x1000), RAM_BASE + 0x5000);
  tlbi(pe, VAAE1IS, 1);
  assert.equal(ld(pe2, 0x1000), RAM_BASE + 0x6000);
  // Direct call with broadcast, as L0 would do.
  t.map(0x1000, RAM_BASE + 0x7000, 3, N);
  tlbiVa(pe, 1, 0, true);
  assert.equal(ld(pe2, 0x1000), RAM_BASE + 0x7000);
  void ram;
});

test('EL2 forms: IPAS2E1IS, VMALLS12E1 and ALLE1 drop the combined entries', () => {
  for (const op of [[4, 0, 1], [4, 4, 5], [4, 7, 6], [4, 3, 4]] as const) {
    const { pe, t } = setup();
    t.map(0x1000, RAM_BASE + 0x5000, 3, N);
    assert.equal(ld(pe, 0x1000), RAM_BASE + 0x5000);
    t.map(0x1000, RAM_BASE + 0x6000, 3, N);
    tlbi(pe, op, 0x4000_5000 >>> 12);
    assert.equal(ld(pe, 0x1000), RAM_BASE + 0x6000, `op ${op.join(',')}`);
  }
});
