/** End to end: code running at EL1/EL0 with the MMU on takes translation faults to EL1 or (stage 2) exits to EL2. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Decoder, encode } from '../../../src/cpu/decoder.js';
import { insnTable } from '../../../src/cpu/insn/table.js';
import { PE, RunExit } from '../../../src/cpu/pe.js';
import type { RamRegion } from '../../../src/cpu/bus.js';
import {
  makePe, Tables, alloc, tcr, vtcr, enableS1, enableS2, RAM_BASE,
  AF, SH_INNER, attrIdx, AP_EL1_RW, AP_EL1_RO, S2_RW, S2_NORMAL, S2_XN,
} from './helpers.js';

const dec = new Decoder(insnTable());
const def = (name: string) => dec.byName.get(name)!;
const movz = (rd: number, imm: number, hw = 0): number => encode(def('MOVW'), { sf: 1, opc: 2, hw, imm16: imm, Rd: rd });
const movk = (rd: number, imm: number, hw: number): number => encode(def('MOVW'), { sf: 1, opc: 3, hw, imm16: imm, Rd: rd });
const ldr = (rt: number, rn: number): number => encode(def('LDST_uimm'), { size: 3, opc: 1, imm12: 0, Rn: rn, Rt: rt });
const str = (rt: number, rn: number): number => encode(def('LDST_uimm'), { size: 3, opc: 0, imm12: 0, Rn: rn, Rt: rt });
const hvc = (imm: number): number => encode(def('HVC'), { imm16: imm });
const b = (delta: number): number => encode(def('B'), { imm26: delta >> 2 });

const CODE = RAM_BASE;
const VBAR = RAM_BASE + 0x1000;
const N = AF | SH_INNER | attrIdx(1);

function put(ram: RamRegion, pa: number, words: number[]): void {
  words.forEach((w, i) => ram.view.setUint32(pa - ram.base + 4 * i, w, true));
}

/**
 * A PE at EL1h with stage 1 on: VA 0x4000_0000 (2M, code and vectors) is
 * identity-mapped, VA 0x1000 is a read-only page at RAM_BASE + 0x5000.
 * The EL1 vectors execute `hvc #1` (current EL, SPx) and `hvc #2` (lower EL).
 */
function machine(code: number[]): { pe: PE; ram: RamRegion; s1: Tables } {
  const { pe, ram } = makePe();
  const s1 = new Tables(ram, alloc(), 12, 1, 9);
  s1.map(RAM_BASE, RAM_BASE, 2, N | AP_EL1_RW);
  s1.map(0x1000, RAM_BASE + 0x5000, 3, N | AP_EL1_RO);
  ram.view.setUint32(0x5000, 0xcafe_f00d, true);
  put(ram, VBAR + 0x200, [hvc(1)]);
  put(ram, VBAR + 0x400, [hvc(2)]);
  put(ram, CODE, code);
  pe.writeSysreg('VBAR_EL1', BigInt(VBAR));
  enableS1(pe, tcr({ t0sz: 25 }), s1.root);
  pe.pc = BigInt(CODE);
  return { pe, ram, s1 };
}

/** ESR value with EC, IL = 1 and ISS. */
const esrOf = (ec: number, iss: number): bigint => BigInt(((ec << 26) | (1 << 25) | iss) >>> 0);

function hvcImm(pe: PE): number {
  const esr = Number(pe.readSysreg('ESR_EL2'));
  assert.equal(esr >>> 26, 0x16, `ESR_EL2 0x${esr.toString(16)} is not an HVC`);
  return esr & 0xffff;
}

test('a load through the MMU succeeds', () => {
  const { pe } = machine([movz(1, 0x1000), ldr(0, 1), hvc(0x99)]);
  assert.equal(pe.run(100), RunExit.El2);
  assert.equal(hvcImm(pe), 0x99);
  assert.equal(pe.getX(0) & 0xffffffffn, 0xcafe_f00dn);
});

test('translation fault on a load: ESR_EL1 DFSC level 3, FAR_EL1, ELR_EL1', () => {
  const { pe } = machine([movz(0, 0), movz(1, 0x10, 1), ldr(0, 1), hvc(0x99)]);
  assert.equal(pe.run(100), RunExit.El2);
  assert.equal(hvcImm(pe), 1);
  assert.equal(pe.readSysreg('ESR_EL1'), esrOf(0x25, 0x07));
  assert.equal(pe.readSysreg('FAR_EL1'), 0x10_0000n);
  assert.equal(pe.readSysreg('ELR_EL1'), BigInt(CODE + 8));
});

test('permission fault on a store to a read-only page sets WnR', () => {
  const { pe } = machine([movz(1, 0x1010), str(0, 1), hvc(0x99)]);
  assert.equal(pe.run(100), RunExit.El2);
  assert.equal(hvcImm(pe), 1);
  assert.equal(pe.readSysreg('ESR_EL1'), esrOf(0x25, (1 << 6) | 0x0f));
  assert.equal(pe.readSysreg('FAR_EL1'), 0x1010n);
});

test('instruction abort on a branch to an unmapped page: EC 0x21, IFSC level 2, FAR = ELR = target', () => {
  const { pe } = machine([b(0x20_0000)]);
  assert.equal(pe.run(100), RunExit.El2);
  assert.equal(hvcImm(pe), 1);
  assert.equal(pe.readSysreg('ESR_EL1'), esrOf(0x21, 0x06));
  assert.equal(pe.readSysreg('FAR_EL1'), BigInt(RAM_BASE + 0x20_0000));
  assert.equal(pe.readSysreg('ELR_EL1'), BigInt(RAM_BASE + 0x20_0000));
});

test('EL0 load from an EL1-only page: permission fault from a lower EL (EC 0x24)', () => {
  const { pe } = machine([movz(1, 0x1000), ldr(0, 1), hvc(0x99)]);
  pe.setPstate(0); // EL0t; the code block is execute-only at EL0 (AP = 00, UXN = 0)
  assert.equal(pe.run(100), RunExit.El2);
  assert.equal(hvcImm(pe), 2);
  assert.equal(pe.readSysreg('ESR_EL1'), esrOf(0x24, 0x0f));
  assert.equal(pe.readSysreg('FAR_EL1'), 0x1000n);
});

test('PAN: an EL1 load from an EL0-accessible page faults when PSTATE.PAN is set', () => {
  const { pe, s1 } = machine([movz(1, 0x2000), ldr(0, 1), hvc(0x99)]);
  s1.map(0x2000, RAM_BASE + 0x5000, 3, N | (1 << 6));
  pe.setPan(1);
  assert.equal(pe.run(100), RunExit.El2);
  assert.equal(hvcImm(pe), 1);
  assert.equal(pe.readSysreg('ESR_EL1'), esrOf(0x25, 0x0f));
});

/** Adds stage 2: IPA 0x4000_0000 (1G) identity-mapped with `s2attr`. */
function withStage2(pe: PE, ram: RamRegion, s2lo: number, s2hi = 0): Tables {
  const s2 = new Tables(ram, alloc(0x4300_0000), 12, 1, 10);
  s2.map(0x4000_0000, 0x4000_0000, 1, s2lo, s2hi);
  enableS2(pe, vtcr({ t0sz: 24, sl0: 1 }), s2.root);
  return s2;
}

test('stage-2 data abort exits to EL2 directly: ESR_EL2, FAR_EL2, HPFAR_EL2, ELR_EL2; ESR_EL1 untouched', () => {
  const { pe, ram, s1 } = machine([movz(1, 0x2000), ldr(0, 1), hvc(0x99)]);
  s1.map(0x2000, 0x8000_0000, 3, N);
  withStage2(pe, ram, AF | S2_NORMAL | S2_RW);
  assert.equal(pe.run(100), RunExit.El2);
  const esr = Number(pe.readSysreg('ESR_EL2'));
  assert.equal(esr >>> 26, 0x24);
  assert.equal(esr & 0x3fff, 0x05); // ISV bits (24:14) depend on the load/store op's syndrome
  assert.equal(pe.readSysreg('FAR_EL2'), 0x2000n);
  assert.equal(pe.readSysreg('HPFAR_EL2'), 0x8000_0n << 4n);
  assert.equal(pe.readSysreg('ELR_EL2'), BigInt(CODE + 4));
  assert.equal(pe.readSysreg('ESR_EL1'), 0n);
  // L0 maps the page and resumes: the load completes.
  withStage2(pe, ram, AF | S2_NORMAL | S2_RW).map(0x8000_0000, RAM_BASE + 0x5000, 3, AF | S2_NORMAL | S2_RW);
  pe.eretFromEl2();
  assert.equal(pe.run(100), RunExit.El2);
  assert.equal(hvcImm(pe), 0x99);
  assert.equal(pe.getX(0) & 0xffffffffn, 0xcafe_f00dn);
});

test('stage-2 instruction abort (XN) exits to EL2 with EC 0x20', () => {
  const { pe, ram } = machine([hvc(0x99)]);
  withStage2(pe, ram, AF | S2_NORMAL | S2_RW, S2_XN);
  assert.equal(pe.run(100), RunExit.El2);
  assert.equal(pe.readSysreg('ESR_EL2'), esrOf(0x20, 0x0d));
  assert.equal(pe.readSysreg('FAR_EL2'), BigInt(CODE));
  assert.equal(pe.readSysreg('ELR_EL2'), BigInt(CODE));
  assert.equal(pe.readSysreg('HPFAR_EL2'), BigInt(CODE / 4096) << 4n);
});
