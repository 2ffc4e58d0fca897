/** AT instructions: PAR_EL1 for successful and faulting translations. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atExecute } from '../../../src/cpu/mmu/at.js';
import { ExceptionTaken } from '../../../src/cpu/exceptions.js';
import { RunExit } from '../../../src/cpu/pe.js';
import type { PE } from '../../../src/cpu/pe.js';
import {
  makePe, Tables, alloc, tcr, vtcr, enableS1, enableS2, halves, RAM_BASE,
  AF, SH_INNER, attrIdx, AP_EL1_RW, AP_RW, AP_RO, S2_RW, S2_NORMAL,
} from './helpers.js';

// [op1, CRm, op2]
const S1E1R = [0, 8, 0] as const;
const S1E1W = [0, 8, 1] as const;
const S1E0R = [0, 8, 2] as const;
const S1E0W = [0, 8, 3] as const;
const S1E1RP = [0, 9, 0] as const;
const S12E1R = [4, 8, 4] as const;
const S12E0W = [4, 8, 7] as const;

function at(pe: PE, op: readonly [number, number, number], va: number | bigint): bigint {
  const [lo, hi] = halves(va);
  atExecute(pe, op[0], op[1], op[2], lo, hi);
  return pe.readSysreg('PAR_EL1');
}
/** PAR_EL1 for a successful translation: PA, SH, NS, RES1 and ATTR. */
const parOk = (pa: number, attr: number, sh: number): bigint => BigInt(pa) | (BigInt(sh) << 7n) | (1n << 9n) | (1n << 11n) | (BigInt(attr) << 56n);
/** PAR_EL1 for a fault. */
const parFault = (fst: number, s = false, ptw = false): bigint => 1n | (BigInt(fst) << 1n) | (ptw ? 1n << 8n : 0n) | (s ? 1n << 9n : 0n) | (1n << 11n);

function setup(): { pe: PE; t: Tables } {
  const { pe, ram } = makePe();
  const t = new Tables(ram, alloc(), 12, 0, 9);
  enableS1(pe, tcr({}), t.root);
  return { pe, t };
}

test('AT S1E1R/W and S1E0R/W report PA and attributes, or the fault, in PAR_EL1', () => {
  const { pe, t } = setup();
  t.map(0x1000, RAM_BASE + 0x5000, 3, AF | SH_INNER | attrIdx(1) | AP_EL1_RW);
  t.map(0x2000, RAM_BASE + 0x6000, 3, AF | attrIdx(0) | AP_RO);
  t.map(0x20_0000, 0x1_2340_0000, 2, AF | SH_INNER | attrIdx(2) | AP_RW);
  assert.equal(at(pe, S1E1R, 0x1abc), parOk(RAM_BASE + 0x5000, 0xff, 3));
  assert.equal(at(pe, S1E1W, 0x1abc), parOk(RAM_BASE + 0x5000, 0xff, 3));
  assert.equal(at(pe, S1E0R, 0x1abc), parFault(0x0f));
  assert.equal(at(pe, S1E1R, 0x2000), parOk(RAM_BASE + 0x6000, 0x00, 2)); // Device: Outer Shareable
  assert.equal(at(pe, S1E0R, 0x2000), parOk(RAM_BASE + 0x6000, 0x00, 2));
  assert.equal(at(pe, S1E1W, 0x2000), parFault(0x0f));
  assert.equal(at(pe, S1E0W, 0x2000), parFault(0x0f));
  assert.equal(at(pe, S1E0W, 0x21_3456), parOk(0x1_2341_3000, 0x44, 2)); // Normal NC: Outer Shareable
  assert.equal(at(pe, S1E1R, 0x3000), parFault(0x07));
  assert.equal(at(pe, S1E1R, 0x1_0000_0000_0000), parFault(0x04));
});

test('AT S1E1RP applies PSTATE.PAN; S1E1R does not', () => {
  const { pe, t } = setup();
  t.map(0x1000, RAM_BASE + 0x5000, 3, AF | SH_INNER | attrIdx(1) | AP_RW);
  pe.setPan(1);
  assert.equal(at(pe, S1E1R, 0x1000), parOk(RAM_BASE + 0x5000, 0xff, 3));
  assert.equal(at(pe, S1E1RP, 0x1000), parFault(0x0f));
  pe.setPan(0);
  assert.equal(at(pe, S1E1RP, 0x1000), parOk(RAM_BASE + 0x5000, 0xff, 3));
});

test('AT with the MMU off reports VA = PA', () => {
  const { pe } = makePe();
  assert.equal(at(pe, S1E1R, 0x4000_1234), parOk(0x4000_1000, 0x00, 2));
});

test('AT S12E1R/S12E0W go through stage 2 and report stage-2 faults with S (and PTW)', () => {
  const { pe, ram } = makePe();
  const s2 = new Tables(ram, alloc(0x4300_0000), 12, 1, 10);
  s2.map(0x4000_0000, 0x4000_0000, 1, AF | S2_NORMAL | SH_INNER | S2_RW);
  s2.map(0x8000_0000, RAM_BASE + 0x9000, 3, AF | S2_NORMAL | SH_INNER | S2_RW);
  s2.map(0x8000_1000, RAM_BASE + 0xa000, 3, AF | (1 << 2) | S2_RW); // Device-nGnRE at stage 2
  const s1 = new Tables(ram, alloc(0x4200_0000), 12, 0, 9);
  enableS1(pe, tcr({}), s1.root);
  enableS2(pe, vtcr({ t0sz: 24, sl0: 1 }), s2.root);
  s1.map(0x1000, 0x8000_0000, 3, AF | SH_INNER | attrIdx(1) | AP_RW);
  s1.map(0x2000, 0x8000_1000, 3, AF | SH_INNER | attrIdx(1) | AP_RW);
  s1.map(0x3000, 0x8000_2000, 3, AF | SH_INNER | attrIdx(1) | AP_RW);
  // Stage 1 only: the IPA.
  assert.equal(at(pe, S1E1R, 0x1000), parOk(0x8000_0000, 0xff, 3));
  // Both stages.
  assert.equal(at(pe, S12E1R, 0x1010), parOk(RAM_BASE + 0x9000, 0xff, 3));
  assert.equal(at(pe, S12E0W, 0x1010), parOk(RAM_BASE + 0x9000, 0xff, 3));
  assert.equal(at(pe, S12E1R, 0x2000), parOk(RAM_BASE + 0xa000, 0x04, 2));
  assert.equal(at(pe, S12E1R, 0x3000), parFault(0x07, true));
  // A stage-2 fault on the stage-1 walk: S and PTW.
  s1.write(s1.slot(0x80_0000_0000, 0), 0x9000_0000 | 3, 0);
  assert.equal(at(pe, S12E1R, 0x80_0000_0000), parFault(0x06, true, true));
  // ... which AT S1E1R takes to EL2 as a data abort with S1PTW.
  assert.throws(() => at(pe, S1E1R, 0x80_0000_0000), (e) => e === ExceptionTaken);
  assert.equal(pe.exitReason, RunExit.El2);
  const esr = Number(pe.readSysreg('ESR_EL2'));
  assert.equal(esr >>> 26, 0x24);
  assert.equal(esr & 0x1ffffff, (1 << 7) | 0x06);
  assert.equal(pe.readSysreg('HPFAR_EL2'), 0x9000_0n << 4n);
  assert.equal(pe.readSysreg('FAR_EL2'), 0x80_0000_0000n);
});
