/** Register ids (vcpu.getReg/setReg), like KVM_GET/SET_ONE_REG. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor, HypError, Reg, regName, checkRegId } from '../../src/hyp/index.js';

test('ids and names', () => {
  assert.equal(regName(Reg.x(0)), 'x0');
  assert.equal(regName(Reg.x(30)), 'x30');
  assert.equal(regName(Reg.PC), 'pc');
  assert.equal(regName(Reg.SP_EL1), 'sp_el1');
  assert.equal(regName(Reg.sys(3, 0, 2, 0, 0)), 'TTBR0_EL1');
  assert.equal(Reg.named('TTBR0_EL1'), Reg.sys(3, 0, 2, 0, 0));
  assert.equal(Reg.named('ttbr0_el1'), Reg.sys(3, 0, 2, 0, 0));
  assert.equal(Reg.named('x7'), Reg.x(7));
  assert.equal(Reg.named('SP_EL0'), Reg.SP_EL0, 'the system register alias maps to the core id');
  assert.equal(Reg.named('ELR_EL1'), Reg.ELR_EL1);
  assert.deepEqual(checkRegId(Reg.named('MAIR_EL1')), { kind: 'sys', key: Reg.named('MAIR_EL1') & 0xffff, name: 'MAIR_EL1' });
});

test('unknown or forbidden ids are HypErrors', () => {
  assert.throws(() => Reg.x(31), /x31 is not a general register/);
  assert.throws(() => Reg.named('sp'), /ambiguous/);
  assert.throws(() => Reg.named('FOO_EL1'), /unknown register name/);
  assert.throws(() => Reg.sys(4, 0, 0, 0, 0), /not a system register encoding/);
  assert.throws(() => checkRegId(Reg.sys(3, 0, 15, 15, 7)), /unknown system register/);
  assert.throws(() => checkRegId(Reg.named('HCR_EL2')), /belong to the hypervisor/);
  assert.throws(() => checkRegId(Reg.named('NZCV')), /PSTATE/);
  assert.throws(() => checkRegId(0x1000_0000 | 99), /no core register/);
  assert.throws(() => checkRegId(0x7000_0000), /unknown register class/);
  assert.throws(() => checkRegId(-1), HypError);
});

test('get/set on a vCPU: core registers, SPs, PSTATE, system registers, ID registers read-only', () => {
  const hv = new Hypervisor();
  const vm = hv.createVm([{ kind: 'ipa-bits', bits: 36 }]);
  const v = vm.createVcpu();
  v.setReg(Reg.x(3), 0xffff_0000_1234_5678n);
  assert.equal(v.getReg(Reg.x(3)), 0xffff_0000_1234_5678n);
  v.setReg(Reg.x(4), -1n);
  assert.equal(v.getReg(Reg.x(4)), 0xffff_ffff_ffff_ffffn, 'values are taken modulo 2^64');
  v.setReg(Reg.PC, 0x4008_0000n);
  assert.equal(v.getReg(Reg.PC), 0x4008_0000n);
  assert.equal(v.getReg(Reg.PSTATE), 0x3c5n, 'reset: EL1h, DAIF masked');
  v.setReg(Reg.SP_EL1, 0x4010_0000n);
  v.setReg(Reg.SP_EL0, 0x5000n);
  assert.equal(v.getReg(Reg.SP_EL1), 0x4010_0000n);
  assert.equal(v.getReg(Reg.SP_EL0), 0x5000n);
  v.setReg(Reg.named('TTBR0_EL1'), 0x4020_0000n);
  assert.equal(v.getReg(Reg.named('TTBR0_EL1')), 0x4020_0000n);
  assert.equal(v.getReg(Reg.named('MPIDR_EL1')), 0x8000_0000n);
  assert.equal(v.getReg(Reg.named('ID_AA64MMFR0_EL1')) & 0xfn, 1n, 'PARange of a 36-bit IPA');
  assert.throws(() => v.setReg(Reg.named('ID_AA64MMFR0_EL1'), 0n), /cpu-features/);
  assert.throws(() => v.setReg(Reg.named('CNTVCT_EL0'), 0n), /read-only/);
  assert.throws(() => v.setReg(Reg.PSTATE, 0x3c9n), /EL0t, EL1t and EL1h/);
  assert.throws(() => v.setReg(Reg.x(0), 5 as unknown as bigint), /bigint/);
  assert.throws(() => v.getReg(0x3000_0000), HypError);
});
