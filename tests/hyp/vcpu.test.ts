/**
 * vCPU scheduling seen from the guest: what one vCPU does between two
 * instructions of another (the round robin of Vm.run) must look to the
 * guest like another processor running at the same time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor, Reg } from '../../src/hyp/index.js';
import { PSCI } from '../../src/arch/psci.js';
import { A, code } from './asm.js';

const RAM = 0x4000_0000;
const COUNTER = RAM + 0x1000;

/** STXR Ws, Xt, [Xn]. */
const stxr = (rs: number, rt: number, rn: number): number => (0xc8007c00 | (rs << 16) | (rn << 5) | rt) >>> 0;

/**
 * Both vCPUs add 1 to one counter `n` times each with LDXR/STXR, the pair
 * split across two blocks (a branch between them) as in Linux's cmpxchg
 * loops, so that a slice can end between them.
 */
function incrementers(n: number): number[] {
  const start = 11;
  return [
    ...A.mov64(0, PSCI.CPU_ON), // 0
    A.movz(1, 1), // 4: target MPIDR 1
    ...A.mov64(2, RAM + 4 * start), // 5: entry
    A.movz(3, 0), // 9: context id
    A.hvc(0), // 10
    ...A.mov64(5, COUNTER), // 11 (start)
    ...A.mov64(4, n), // 15
    A.ldxr(1, 5), // 19 (loop)
    A.addi(2, 1, 1), // 20
    A.b(1), // 21: ends the block
    stxr(3, 2, 5), // 22
    A.cbnz(3, -4), // 23: retry from the LDXR
    A.subi(4, 4, 1), // 24
    A.cbnz(4, -6), // 25
    A.wfi(), // 26: nothing wakes it: halted
    A.b(-1), // 27
  ];
}

test('a store-exclusive fails when another vCPU ran since the load-exclusive (slices ending between LDXR and STXR lose no increment)', () => {
  for (const quantum of [3, 5, 7, 20_000]) {
    const n = 2000;
    const mem = new Uint8Array(1 << 16);
    mem.set(code(incrementers(n)));
    const vm = new Hypervisor().createVm([{ kind: 'vcpus', count: 2 }, { kind: 'quantum', insns: quantum }]);
    vm.setMemoryRegion(0, { gpa: RAM, memory: mem });
    const v0 = vm.createVcpu();
    vm.createVcpu();
    v0.setReg(Reg.PC, BigInt(RAM));
    let exit = null;
    for (let i = 0; i < 1000 && exit === null; i++) {
      const r = vm.run();
      if (r.exit.reason !== 'preempted') exit = r.exit;
    }
    assert.deepEqual(exit, { reason: 'halted' }, `quantum ${quantum}`);
    const count = new DataView(mem.buffer).getUint32(COUNTER - RAM, true);
    assert.equal(count, 2 * n, `quantum ${quantum}: ${2 * n - count} increments lost`);
  }
});
