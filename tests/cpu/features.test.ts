/** CPU models: the ID registers say exactly what the decoder implements. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhysicalBus } from '../../src/cpu/bus.js';
import { PE, RunExit } from '../../src/cpu/pe.js';
import { cpuModel } from '../../src/cpu/features.js';
import { HVC, ins, RAM_BASE, words } from '../helpers/program.js';
import { normalRamMmu } from '../helpers/mmu.js';

/** DC CVAP, Xt (SYS #3, C7, C12, #1) */
const DC_CVAP = (rt: number): number => ins('SYS_DC_AT', { op1: 3, CRm: 12, op2: 1, Rt: rt });

function run(model: string): PE {
  const bus = new PhysicalBus();
  const ram = bus.addRam(RAM_BASE, 1 << 22);
  const pe = new PE(bus, cpuModel(model));
  bus.writeBytes(RAM_BASE, words([DC_CVAP(1), HVC(0)]));
  const vbar = RAM_BASE + 0x800;
  for (let k = 0; k < 16; k++) bus.writeBytes(vbar + 0x80 * k, words([HVC(0x100 + k)]));
  pe.writeSysreg('VBAR_EL1', BigInt(vbar));
  normalRamMmu(pe, ram);
  pe.setX(1, BigInt(RAM_BASE + 0x1000));
  pe.pc = BigInt(RAM_BASE);
  assert.equal(pe.run(100), RunExit.El2);
  return pe;
}

test('DC CVAP exists exactly when ID_AA64ISAR1_EL1.DPB says so', () => {
  const max = run('max');
  assert.equal(Number(max.readSysreg('ID_AA64ISAR1_EL1')) & 0xf, 1);
  assert.equal(Number(max.readSysreg('ESR_EL2')) & 0xffff, 0, 'max: DC CVAP ran and the program reached its HVC');
  const a57 = run('cortex-a57');
  assert.equal(Number(a57.readSysreg('ID_AA64ISAR1_EL1')) & 0xf, 0);
  assert.equal(Number(a57.readSysreg('ESR_EL1')) >>> 26, 0, 'cortex-a57: DC CVAP is UNDEFINED');
});

test('the FP, crypto and atomics fields follow the model', () => {
  const bus = new PhysicalBus();
  const max = new PE(bus, cpuModel('max'));
  const a57 = new PE(bus, cpuModel('cortex-a57'));
  const pfr0 = (pe: PE): number => Number(pe.readSysreg('ID_AA64PFR0_EL1'));
  const isar0 = (pe: PE): number => Number(pe.readSysreg('ID_AA64ISAR0_EL1'));
  assert.equal((pfr0(max) >> 16) & 0xff, 0x11, 'max: FP and AdvSIMD with FP16');
  assert.equal((pfr0(a57) >> 16) & 0xff, 0x00, 'cortex-a57: FP and AdvSIMD without FP16');
  assert.equal((isar0(max) >> 20) & 0xf, 2, 'max: LSE');
  assert.equal((isar0(a57) >> 20) & 0xf, 0, 'cortex-a57: no LSE');
  for (const pe of [max, a57]) assert.equal((isar0(pe) >> 4) & 0xf, 2, 'AES with PMULL');
});
