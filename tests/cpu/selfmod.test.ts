/** Self-modifying and cross-modifying code: decoded blocks never outlive the bytes they came from. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhysicalBus } from '../../src/cpu/bus.js';
import { PE, RunExit } from '../../src/cpu/pe.js';
import { HVC, ins, machine, MOVZ, RAM_BASE, words } from '../helpers/program.js';

/** STR Wt, [Xn, #imm] */
const STRW = (rt: number, rn: number, imm = 0): number => ins('LDST_uimm', { size: 2, opc: 0, imm12: imm >> 2, Rn: rn, Rt: rt });

test('a store into the running page replaces an instruction that has already been decoded', () => {
  // x0 = address of the `movz x2` slot; x1 = encoding of `movz x2, #2`; the program overwrites slot 3
  // (decoded as part of the same page, not yet run) and then runs it.
  const target = RAM_BASE + 0x100;
  const code = [STRW(1, 0), HVC(1)];
  const { pe, bus } = machine(code);
  bus.writeBytes(target, words([MOVZ(2, 1), HVC(2)]));
  // Run the target first so that it is decoded and hot.
  for (let i = 0; i < 40; i++) {
    pe.pc = BigInt(target);
    assert.equal(pe.run(100), RunExit.El2);
    pe.eretFromEl2();
    assert.equal(pe.getX(2), 1n);
  }
  pe.setX(0, BigInt(target));
  pe.setX(1, BigInt(MOVZ(2, 2)));
  pe.pc = BigInt(RAM_BASE);
  assert.equal(pe.run(100), RunExit.El2);
  pe.eretFromEl2();
  pe.pc = BigInt(target);
  assert.equal(pe.run(100), RunExit.El2);
  assert.equal(pe.getX(2), 2n, 'the new instruction ran, not the stale decoded one');
});

test("a store by one PE drops code that another PE decoded from the same page", () => {
  const bus = new PhysicalBus();
  bus.addRam(RAM_BASE, 1 << 20);
  const a = new PE(bus);
  const b = new PE(bus);
  const target = RAM_BASE + 0x2000;
  bus.writeBytes(target, words([MOVZ(2, 1), HVC(2)]));
  bus.writeBytes(RAM_BASE, words([STRW(1, 0), HVC(1)]));
  for (let i = 0; i < 40; i++) {
    a.pc = BigInt(target);
    assert.equal(a.run(100), RunExit.El2);
    a.eretFromEl2();
  }
  assert.equal(a.getX(2), 1n);
  // PE b first stores elsewhere in that page (filling its own TLB), then over A's decoded instruction.
  b.setX(0, BigInt(target));
  b.setX(1, BigInt(MOVZ(2, 3)));
  b.pc = BigInt(RAM_BASE);
  assert.equal(b.run(100), RunExit.El2);
  a.pc = BigInt(target);
  assert.equal(a.run(100), RunExit.El2);
  assert.equal(a.getX(2), 3n, "PE a runs the instruction PE b wrote");
});

test('a device (DMA) write over decoded code is seen by the PE', () => {
  const { pe, bus } = machine([MOVZ(2, 1), HVC(0)]);
  assert.equal(pe.run(100), RunExit.El2);
  pe.eretFromEl2();
  bus.writeBytes(RAM_BASE, words([MOVZ(2, 7)]));
  pe.pc = BigInt(RAM_BASE);
  assert.equal(pe.run(100), RunExit.El2);
  assert.equal(pe.getX(2), 7n);
});
