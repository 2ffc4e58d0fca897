import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunExit } from '../../src/cpu/pe.js';
import { injectAbort, injectUndefined } from '../../src/cpu/inject.js';
import { HVC, ins, machine, MOVZ, NOP, RAM_BASE, words } from '../helpers/program.js';

const SMC = (imm = 0): number => ins('SMC', { imm16: imm });

/** A program that traps to EL2 with SMC (HCR_EL2.TSC), and vectors that report which entry was taken. */
function setup() {
  const { pe, bus } = machine([NOP(), SMC(7), MOVZ(1, 0x55), HVC(0)]);
  // VBAR_EL1 at RAM_BASE + 0x800: each vector entry is `hvc #(0x100 + offset/0x80)`.
  const vbar = RAM_BASE + 0x800;
  for (let k = 0; k < 16; k++) bus.writeBytes(vbar + k * 0x80, words([HVC(0x100 + k)]));
  pe.writeSysreg('VBAR_EL1', BigInt(vbar));
  pe.writeSysreg('HCR_EL2', 1n << 19n); // TSC
  return { pe, bus };
}

test('an SMC trapped to EL2 can be answered by injecting Undefined Instruction into EL1', () => {
  const { pe } = setup();
  assert.equal(pe.run(100), RunExit.El2);
  assert.equal(Number(pe.readSysreg('ESR_EL2')) >>> 26, 0x17, 'EC is SMC64');
  assert.equal(pe.readSysreg('ELR_EL2'), BigInt(RAM_BASE + 4), 'a trapped SMC returns to itself');
  injectUndefined(pe);
  pe.eretFromEl2();
  assert.equal(pe.run(100), RunExit.El2);
  // The vector for "current EL with SP_ELx, synchronous" is entry 4 (offset 0x200).
  assert.equal(Number(pe.readSysreg('ESR_EL2')) & 0xffff, 0x104);
  assert.equal(pe.readSysreg('ESR_EL1'), 0x02000000n, 'EC 0 with IL set');
  assert.equal(pe.readSysreg('ELR_EL1'), BigInt(RAM_BASE + 4));
  assert.equal(Number(pe.readSysreg('SPSR_EL1')) & 0xf, 0x5, 'came from EL1h');
});

test('an injected external abort reports the address and lands on the lower-EL vector for EL0 code', () => {
  const { pe } = setup();
  assert.equal(pe.run(100), RunExit.El2);
  // Pretend the guest was at EL0 when it trapped.
  pe.writeSysreg('SPSR_EL2', 0n);
  injectAbort(pe, 0x1234_5678_9000n);
  pe.eretFromEl2();
  assert.equal(pe.run(100), RunExit.El2);
  assert.equal(Number(pe.readSysreg('ESR_EL2')) & 0xffff, 0x108, 'lower EL AArch64 synchronous vector (0x400)');
  assert.equal(Number(pe.readSysreg('ESR_EL1')) >>> 26, 0x24, 'data abort from a lower EL');
  assert.equal(Number(pe.readSysreg('ESR_EL1')) & 0x3f, 0x10, 'synchronous external abort');
  assert.equal(pe.readSysreg('FAR_EL1'), 0x1234_5678_9000n);
});

test('injection refuses to run unless the PE is stopped at EL2', () => {
  const { pe } = setup();
  assert.throws(() => injectUndefined(pe), /not stopped at EL2/);
});
