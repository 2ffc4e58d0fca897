/** The PSCI 1.1 / SMCCC 1.1 dispatcher against a fake VM. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PowerState, PsciAction, PsciVm, psciCall } from '../../src/hyp/psci.js';
import { PSCI, PSCI_RET, SMCCC } from '../../src/arch/psci.js';

class FakeVm implements PsciVm {
  states: PowerState[];
  started: Array<[number, number, number, number, number]> = [];
  constructor(n: number, on: number[] = [0]) {
    this.states = Array.from({ length: n }, (_, i) => (on.includes(i) ? PowerState.On : PowerState.Off));
  }
  get vcpuCount(): number { return this.states.length; }
  mpidrLo(i: number): number { return (i & 15) | ((i >> 4) << 8); }
  mpidrHi(): number { return 0; }
  powerState(i: number): PowerState { return this.states[i]; }
  cpuOn(i: number, eLo: number, eHi: number, cLo: number, cHi: number): void {
    this.started.push([i, eLo, eHi, cLo, cHi]);
    this.states[i] = PowerState.On;
  }
}

/** Calls fn with args, returns [action, x0 as a signed 64-bit bigint]. */
function call(vm: PsciVm, fn: number, ...args: bigint[]): [PsciAction, bigint] {
  const x = new Int32Array(68);
  x[0] = fn | 0;
  args.forEach((a, i) => {
    x[2 * (i + 1)] = Number(a & 0xffffffffn) | 0;
    x[2 * (i + 1) + 1] = Number((a >> 32n) & 0xffffffffn) | 0;
  });
  const act = psciCall(vm, 0, fn, x);
  return [act, BigInt.asIntN(64, (BigInt(x[1] >>> 0) << 32n) | BigInt(x[0] >>> 0))];
}

test('PSCI_VERSION, SMCCC_VERSION, MIGRATE_INFO_TYPE', () => {
  const vm = new FakeVm(1);
  assert.deepEqual(call(vm, PSCI.VERSION), [PsciAction.None, 0x10001n]);
  assert.deepEqual(call(vm, SMCCC.VERSION), [PsciAction.None, 0x10001n]);
  assert.deepEqual(call(vm, PSCI.MIGRATE_INFO_TYPE), [PsciAction.None, 2n]);
});

test('PSCI_FEATURES knows what is implemented, NOT_SUPPORTED otherwise', () => {
  const vm = new FakeVm(1);
  for (const f of [PSCI.VERSION, PSCI.CPU_ON, PSCI.CPU_ON_32, PSCI.CPU_OFF, PSCI.CPU_SUSPEND, PSCI.AFFINITY_INFO, PSCI.SYSTEM_OFF, PSCI.SYSTEM_RESET, PSCI.FEATURES, SMCCC.VERSION]) {
    assert.deepEqual(call(vm, PSCI.FEATURES, BigInt(f)), [PsciAction.None, 0n], `0x${f.toString(16)}`);
  }
  for (const f of [0x84000005, 0xc400000e, 0x8400000c, 0x12345678]) assert.deepEqual(call(vm, PSCI.FEATURES, BigInt(f)), [PsciAction.None, -1n]);
  assert.deepEqual(call(vm, SMCCC.ARCH_FEATURES, 0x80008000n), [PsciAction.None, -1n]);
});

test('unknown function ids return NOT_SUPPORTED (-1 in all 64 bits)', () => {
  const vm = new FakeVm(1);
  assert.deepEqual(call(vm, 0xc6000003), [PsciAction.Unknown, -1n]);
  assert.deepEqual(call(vm, 0), [PsciAction.Unknown, -1n]);
});

test('CPU_ON starts an off vCPU with entry and context id; errors per PSCI', () => {
  const vm = new FakeVm(4);
  assert.deepEqual(call(vm, PSCI.CPU_ON, 2n, 0x1_4008_0000n, 0xdead_beef_1234n), [PsciAction.None, 0n]);
  assert.deepEqual(vm.started[0], [2, 0x4008_0000, 1, 0xbeef1234 | 0, 0xdead]);
  assert.equal(vm.states[2], PowerState.On);
  assert.deepEqual(call(vm, PSCI.CPU_ON, 2n, 0x4008_0000n, 0n), [PsciAction.None, BigInt(PSCI_RET.ALREADY_ON)]);
  assert.deepEqual(call(vm, PSCI.CPU_ON, 0n, 0x4008_0000n, 0n), [PsciAction.None, BigInt(PSCI_RET.ALREADY_ON)]);
  assert.deepEqual(call(vm, PSCI.CPU_ON, 7n, 0x4008_0000n, 0n), [PsciAction.None, BigInt(PSCI_RET.INVALID_PARAMETERS)], 'no such vCPU');
  assert.deepEqual(call(vm, PSCI.CPU_ON, 0x8000_0001n, 0x4008_0000n, 0n), [PsciAction.None, BigInt(PSCI_RET.INVALID_PARAMETERS)], 'non-affinity bits set');
  assert.deepEqual(call(vm, PSCI.CPU_ON, 1n, 0x4008_0002n, 0n), [PsciAction.None, BigInt(PSCI_RET.INVALID_ADDRESS)]);
  // The SMC32 form takes 32-bit arguments: the upper halves are ignored.
  assert.deepEqual(call(vm, PSCI.CPU_ON_32, 3n, 0xffff_ffff_4000_0000n, 0x1_0000_0007n), [PsciAction.None, 0n]);
  assert.deepEqual(vm.started[1], [3, 0x4000_0000, 0, 7, 0]);
});

test('AFFINITY_INFO by level; CPU_OFF, CPU_SUSPEND, SYSTEM_OFF and SYSTEM_RESET are actions', () => {
  const vm = new FakeVm(18, [0, 17]);
  assert.deepEqual(call(vm, PSCI.AFFINITY_INFO, 0n, 0n), [PsciAction.None, 0n]);
  assert.deepEqual(call(vm, PSCI.AFFINITY_INFO, 1n, 0n), [PsciAction.None, 1n]);
  assert.deepEqual(call(vm, PSCI.AFFINITY_INFO, 0x101n, 0n), [PsciAction.None, 0n], 'vCPU 17 is Aff1=1 Aff0=1');
  assert.deepEqual(call(vm, PSCI.AFFINITY_INFO, 0x100n, 0n), [PsciAction.None, 1n]);
  assert.deepEqual(call(vm, PSCI.AFFINITY_INFO, 0x1ffn, 1n), [PsciAction.None, 0n], 'level 1: any vCPU in cluster 1 is on');
  assert.deepEqual(call(vm, PSCI.AFFINITY_INFO, 0x205n, 0n), [PsciAction.None, BigInt(PSCI_RET.INVALID_PARAMETERS)]);
  assert.deepEqual(call(vm, PSCI.AFFINITY_INFO, 0n, 4n), [PsciAction.None, BigInt(PSCI_RET.INVALID_PARAMETERS)]);
  assert.equal(call(vm, PSCI.CPU_OFF)[0], PsciAction.CpuOff);
  assert.deepEqual(call(vm, PSCI.CPU_SUSPEND, 0n, 0x4000_0000n, 0n), [PsciAction.Suspend, 0n]);
  assert.equal(call(vm, PSCI.SYSTEM_OFF)[0], PsciAction.SystemOff);
  assert.equal(call(vm, PSCI.SYSTEM_RESET)[0], PsciAction.SystemReset);
});
