/**
 * System tests of L0 with small assembled guests: MMIO exits (syndrome and
 * decoded), read-only slots, PSCI, system events, wild accesses, WFI with
 * timers, hypercall forwarding, debug exits, trapped system registers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor, HypError, Reg } from '../../src/hyp/index.js';
import { A } from './asm.js';
import { DEV, Image, RAM, SYSTEM_OFF, TestDevice, boot, runServing, show } from './util.js';

const off = (): number[] => [...A.mov64(0, SYSTEM_OFF), A.hvc()];

test('MMIO with a syndrome (ISV=1): sized writes, zero- and sign-extending reads', () => {
  const img = new Image().at(0, [
    ...A.mov64(1, DEV),
    ...A.mov64(2, 0x1122_3344_8899_aabbn),
    A.ldstU(0, 0, 2, 1, 0x0), // strb w2, [x1]
    A.ldstU(1, 0, 2, 1, 0x8), // strh w2, [x1, #8]
    A.ldstU(2, 0, 2, 1, 0x10), // str w2, [x1, #16]
    A.ldstU(3, 0, 2, 1, 0x18), // str x2, [x1, #24]
    A.ldstU(3, 1, 3, 1, 0x18), // ldr x3, [x1, #24]
    A.ldstU(0, 2, 4, 1, 0x0), // ldrsb x4, [x1]
    A.ldstU(1, 3, 5, 1, 0x8), // ldrsh w5, [x1, #8]
    A.ldstU(2, 1, 6, 1, 0x10), // ldr w6, [x1, #16]
    A.ldstU(2, 2, 7, 1, 0x10), // ldrsw x7, [x1, #16]
    A.ldstU(3, 0, 31, 1, 0x20), // str xzr, [x1, #32]
    ...off(),
  ]);
  const { vm, vcpu } = boot(img);
  const dev = new TestDevice();
  const e = runServing(vcpu, dev);
  assert.equal(e.reason, 'system-event', show(e));
  assert.deepEqual(dev.log, ['W1@0=bb', 'W2@8=aabb', 'W4@10=8899aabb', 'W8@18=112233448899aabb', 'R8@18', 'R1@0', 'R2@8', 'R4@10', 'R4@10', 'W8@20=0']);
  assert.equal(vcpu.getReg(Reg.x(3)), 0x1122_3344_8899_aabbn);
  assert.equal(vcpu.getReg(Reg.x(4)), 0xffff_ffff_ffff_ffbbn);
  assert.equal(vcpu.getReg(Reg.x(5)), 0xffff_aabbn, 'W destination: sign-extended to 32 bits, upper half zero');
  assert.equal(vcpu.getReg(Reg.x(6)), 0x8899_aabbn);
  assert.equal(vcpu.getReg(Reg.x(7)), 0xffff_ffff_8899_aabbn);
  const s = vm.stats();
  assert.equal(s['mmio-write'], 5);
  assert.equal(s['mmio-read'], 5);
  assert.equal(s['mmio-decoded'], 0);
});

test('MMIO without a syndrome (ISV=0): post/pre-indexed and pair accesses are decoded, with writeback', () => {
  const img = new Image().at(0, [
    ...A.mov64(1, DEV + 0x100),
    ...A.mov64(2, 0xaaaa_0000_0000_0001n),
    ...A.mov64(3, 0xbbbb_0000_0000_0002n),
    A.ldstPost(3, 0, 2, 1, 8), // str x2, [x1], #8        -> 0x100, x1 = 0x108
    A.ldstPre(2, 0, 3, 1, 8), // str w3, [x1, #8]!        -> 0x110, x1 = 0x110
    A.ldstp(2, false, 2, 3, 1, 16, 'pre'), // stp x2, x3, [x1, #16]!  -> 0x120, 0x128, x1 = 0x120
    A.ldstp(2, true, 4, 5, 1, -32, 'off'), // ldp x4, x5, [x1, #-32]  -> 0x100, 0x108
    A.ldstp(1, true, 6, 7, 1, 0, 'post'), // ldpsw x6, x7, [x1], #0    -> 0x120, 0x124
    A.ldstPost(1, 3, 8, 1, -2), // ldrsh w8, [x1], #-2   -> 0x120, x1 = 0x11e
    ...off(),
  ]);
  const { vm, vcpu } = boot(img);
  const dev = new TestDevice();
  dev.regs.set(0x108, 0x5555n);
  dev.regs.set(0x120, 0x8000_0000n);
  dev.regs.set(0x124, 0x7fff_ffffn);
  const e = runServing(vcpu, dev);
  assert.equal(e.reason, 'system-event', show(e));
  assert.deepEqual(dev.log, [
    'W8@100=aaaa000000000001', 'W4@110=2', 'W8@120=aaaa000000000001', 'W8@128=bbbb000000000002',
    'R8@100', 'R8@108', 'R4@120', 'R4@124', 'R2@120',
  ]);
  assert.equal(vcpu.getReg(Reg.x(4)), 0xaaaa_0000_0000_0001n);
  assert.equal(vcpu.getReg(Reg.x(5)), 0x5555n);
  // The device returned the 8-byte value stored at 0x120 for the 4-byte read: only the low 4 bytes count.
  assert.equal(vcpu.getReg(Reg.x(6)), 0x0000_0000_0000_0001n);
  assert.equal(vcpu.getReg(Reg.x(7)), 0x7fff_ffffn);
  assert.equal(vcpu.getReg(Reg.x(8)), 0x1n);
  assert.equal(vcpu.getReg(Reg.x(1)), BigInt(DEV + 0x11e));
  assert.equal(vm.stats()['mmio-decoded'], 6);
});

test('an MMIO pair read whose first half failed leaves the registers untouched; SP-based writeback works', () => {
  const img = new Image().at(0, [
    ...A.mov64(1, DEV),
    A.addi(31, 1, 0), // mov sp, x1
    ...A.mov64(9, 0x1234),
    A.ldstPre(3, 0, 9, 31, -16), // str x9, [sp, #-16]!
    A.ldstp(2, true, 4, 5, 31, 0, 'post'), // ldp x4, x5, [sp], #0
    ...off(),
  ]);
  const { vcpu } = boot(img);
  vcpu.setReg(Reg.x(4), 44n);
  let e = vcpu.run();
  assert.deepEqual([e.reason, (e as { addr: bigint }).addr, (e as { data: bigint }).data], ['mmio', BigInt(DEV - 16), 0x1234n]);
  e = vcpu.run();
  assert.equal(e.reason, 'mmio');
  assert.equal(vcpu.getReg(Reg.SP_EL1), BigInt(DEV - 16), 'pre-index writeback of SP after the store');
  vcpu.completeMmio(7n);
  e = vcpu.run(); // second element
  assert.equal(e.reason, 'mmio');
  assert.equal(vcpu.getReg(Reg.x(4)), 44n, 'nothing written before the pair completes');
  vcpu.failMmio(); // the device refuses the second half: an external abort instead
  assert.equal(vcpu.getReg(Reg.x(4)), 44n);
  assert.equal(vcpu.getReg(Reg.named('ESR_EL1')) >> 26n, 0x25n, 'data abort, current EL');
  assert.equal(vcpu.getReg(Reg.named('ESR_EL1')) & 0x3fn, 0x10n, 'synchronous external abort');
  assert.equal(vcpu.getReg(Reg.named('FAR_EL1')), BigInt(DEV - 16));
});

test('an MMIO read must be completed before running again', () => {
  const img = new Image().at(0, [...A.mov64(1, DEV), A.ldstU(2, 1, 2, 1, 0), ...off()]);
  const { vcpu } = boot(img);
  assert.equal(vcpu.run().reason, 'mmio');
  assert.throws(() => vcpu.run(), (e: unknown) => e instanceof HypError && /not completed/.test((e as Error).message));
  vcpu.completeMmio(1n);
  vcpu.completeMmio(2n); // until the next run, the value may be replaced
  assert.equal(vcpu.run().reason, 'system-event');
  assert.equal(vcpu.getReg(Reg.x(2)), 2n);
  assert.throws(() => vcpu.completeMmio(3n), /without a pending MMIO read/);
});

test('MMIO that cannot be emulated is an internal-error exit, not a host crash', () => {
  const img = new Image().at(0, [...A.mov64(1, DEV), A.ldxr(2, 1), ...off()]);
  const { vcpu } = boot(img);
  const e = vcpu.run();
  assert.equal(e.reason, 'internal-error');
  assert.match((e as { message: string }).message, /exclusive/);
  assert.equal(vcpu.getReg(Reg.PC), BigInt(RAM + 16), 'the vCPU stays at the instruction');
});

test('a write to a read-only slot is an mmio exit; reads and fetches work', () => {
  const img = new Image().at(0, [
    ...A.mov64(1, 0x5000_0000),
    A.ldstU(3, 1, 2, 1, 8), // ldr x2, [x1, #8]
    A.ldstU(3, 0, 2, 1, 0), // str x2, [x1]     -> mmio write exit
    A.ldstp(2, false, 2, 2, 1, 16), // stp x2, x2, [x1, #16] (ISV=0) -> two exits
    ...off(),
  ]);
  const { vm, vcpu } = boot(img);
  const rom = new Uint8Array(0x10000);
  new DataView(rom.buffer).setBigUint64(8, 0xfeed_f00dn, true);
  vm.setMemoryRegion(1, { gpa: 0x5000_0000, memory: rom, readonly: true });
  const exits = [];
  for (;;) {
    const e = vcpu.run();
    if (e.reason !== 'mmio') {
      assert.equal(e.reason, 'system-event', show(e));
      break;
    }
    exits.push([e.addr, e.size, e.isWrite, e.data]);
  }
  assert.deepEqual(exits, [[0x5000_0000n, 8, true, 0xfeed_f00dn], [0x5000_0010n, 8, true, 0xfeed_f00dn], [0x5000_0018n, 8, true, 0xfeed_f00dn]]);
  assert.equal(new DataView(rom.buffer).getBigUint64(0, true), 0n, 'the read-only memory is unchanged');
});

test('slots: overlap refused, replacement and removal at run time invalidate stage 2', () => {
  const img = new Image().at(0, [
    ...A.mov64(1, 0x6000_0000),
    A.ldstU(3, 1, 2, 1, 0), // ldr x2, [x1]
    ...A.mov64(0, 0xc6000055), A.hvc(), // forwarded: a place for the test to act
    A.ldstU(3, 1, 3, 1, 0), // ldr x3, [x1]
    ...off(),
  ]);
  const { hv, vm, vcpu } = boot(img, [{ kind: 'hypercalls', forward: [0xc6000055] }]);
  const a = new Uint8Array(0x20_0000);
  a[0] = 0xaa;
  vm.setMemoryRegion(1, { gpa: 0x6000_0000, memory: a });
  assert.throws(() => vm.setMemoryRegion(2, { gpa: 0x601f_f000, memory: new Uint8Array(0x2000) }), /overlaps slot 1/);
  assert.throws(() => vm.setMemoryRegion(2, { gpa: 0x1001, memory: new Uint8Array(0x1000) }), /4 KiB aligned/);
  assert.throws(() => vm.setMemoryRegion(2, { gpa: 0x2000, memory: new Uint8Array(0x1800) }), /multiple of 4 KiB/);
  assert.throws(() => vm.setMemoryRegion(2, { gpa: 2 ** 40, memory: new Uint8Array(0x1000) }), /IPA space/);
  assert.throws(() => vm.setMemoryRegion(9, null), /does not exist/);
  let e = vcpu.run();
  assert.equal(e.reason, 'hypercall');
  assert.equal(vcpu.getReg(Reg.x(2)), 0xaan);
  assert.equal(vm.stats()['stage2-blocks-2m'], 2, 'the two 2 MiB slots (code and data) are one block each');
  // Remove the slot while the guest has it mapped: its next access is MMIO.
  const tlbi0 = vm.stats().tlbi;
  vm.setMemoryRegion(1, null);
  assert.equal(vm.stats().tlbi, tlbi0 + 1);
  assert.equal(vm.stage2.lookup(0x6000_0000), null);
  e = vcpu.run();
  assert.deepEqual([e.reason, (e as { addr: bigint }).addr], ['mmio', 0x6000_0000n]);
  vcpu.completeMmio(0x77n);
  e = vcpu.run();
  assert.equal(e.reason, 'system-event');
  assert.equal(vcpu.getReg(Reg.x(3)), 0x77n);
  // The host range of the removed slot is free again and the bus no longer holds it.
  assert.equal(hv.bus.ram.some((r) => r.bytes === a), false);
});

test('PSCI over HVC and over trapped SMC; unknown calls return NOT_SUPPORTED; SYSTEM_RESET', () => {
  const img = new Image().at(0, [
    ...A.mov64(0, 0x84000000), A.hvc(), A.addi(10, 0, 0), // PSCI_VERSION
    ...A.mov64(0, 0x80000000), A.smc(), A.addi(11, 0, 0), // SMCCC_VERSION via SMC
    ...A.mov64(0, 0xc2000042), A.hvc(), A.addi(12, 0, 0), // unknown
    ...A.mov64(0, 0x84000009), A.hvc(), // SYSTEM_RESET
  ]);
  const { vm, vcpu } = boot(img);
  const e = vcpu.run();
  assert.deepEqual(e, { reason: 'system-event', type: 'reset' });
  assert.equal(vcpu.getReg(Reg.x(10)), 0x10001n);
  assert.equal(vcpu.getReg(Reg.x(11)), 0x10001n);
  assert.equal(vcpu.getReg(Reg.x(12)), 0xffff_ffff_ffff_ffffn);
  const s = vm.stats();
  assert.equal(s.hvc, 3);
  assert.equal(s.smc, 1);
  assert.equal(s['hypercall-unknown'], 1);
  assert.equal(s['system-event'], 1);
  assert.deepEqual(vcpu.run(), { reason: 'system-event', type: 'reset' }, 'the event stays until the VMM resets the VM');
  vm.reset(BigInt(RAM));
  assert.deepEqual(vcpu.run(), { reason: 'system-event', type: 'reset' }, 'runs again from the start after reset');
});

test('PSCI CPU_ON of secondaries (context id in x0, MMU off, EL1h), CPU_OFF, AFFINITY_INFO; vm.run schedules', () => {
  // vCPU 0: CPU_ON(1, sec, 0x111), CPU_ON(2, sec, 0x222); wait until both are OFF (AFFINITY_INFO), SYSTEM_OFF.
  // Secondaries: store x0 (context id), MPIDR and PSTATE at RAM+0x1000+0x20*aff0, then CPU_OFF.
  const SEC = 0x800;
  const main = [
    ...A.mov64(0, 0xc4000003), ...A.mov64(1, 1), ...A.mov64(2, RAM + SEC), ...A.mov64(3, 0x111), A.hvc(), A.addi(20, 0, 0),
    ...A.mov64(0, 0xc4000003), ...A.mov64(1, 2), ...A.mov64(2, RAM + SEC), ...A.mov64(3, 0x222), A.hvc(), A.addi(21, 0, 0),
    ...A.mov64(0, 0xc4000003), ...A.mov64(1, 1), ...A.mov64(2, RAM + SEC), ...A.mov64(3, 0x333), A.hvc(), A.addi(22, 0, 0), // already on (or on pending)
    ...A.mov64(0, 0xc4000003), ...A.mov64(1, 9), ...A.mov64(2, RAM + SEC), ...A.mov64(3, 0), A.hvc(), A.addi(23, 0, 0), // no such CPU
  ];
  // poll: AFFINITY_INFO(1) and (2) until both return 1 (OFF)
  const poll = [
    A.wfe(),
    ...A.mov64(0, 0xc4000004), ...A.mov64(1, 1), ...A.mov64(2, 0), A.hvc(), A.subi(24, 0, 1), // x24 = result - 1 (0 when OFF)
    ...A.mov64(0, 0xc4000004), ...A.mov64(1, 2), ...A.mov64(2, 0), A.hvc(), A.subi(25, 0, 1),
  ];
  const prog = [...main, ...poll];
  // cbnz x24, poll ; cbnz x25, poll
  const pollStart = main.length;
  prog.push(A.cbnz(24, pollStart - prog.length));
  prog.push(A.cbnz(25, pollStart - prog.length));
  prog.push(...off());
  const sec = [
    A.mrs(5, 'MPIDR_EL1'),
    A.ldstU(0, 1, 6, 31, 0), // ldrb... placeholder replaced below
  ];
  sec.length = 1;
  sec.push(
    ...A.mov64(6, RAM + 0x1000),
    // x7 = aff0 * 32 : and x7, x5, #0xff ; lsl #5 -> use add x6, x6, x5, lsl #5 (aff0 only: small indexes)
  );
  // Compute address with arithmetic available: x6 += aff0 * 32 by a loop-free trick: store at +0 for aff0=1, +0x20 for aff0=2 via ubfm
  sec.push(
    0xd37b1ca7, // ubfiz x7, x5, #5, #8   (x7 = (x5 & 0xff) << 5)
    0x8b0700c6, // add x6, x6, x7
    A.ldstU(3, 0, 0, 6, 0), // str x0, [x6]
    A.ldstU(3, 0, 5, 6, 8), // str x5, [x6, #8]
    A.mrs(8, 'CurrentEL'),
    A.ldstU(3, 0, 8, 6, 16),
    A.mrs(8, 'SCTLR_EL1'),
    A.ldstU(3, 0, 8, 6, 24),
    ...A.mov64(0, 0x84000002), A.hvc(), // CPU_OFF
    A.b(0), // never reached
  );
  const img = new Image().at(0, prog).at(SEC, sec);
  const hv = new Hypervisor();
  const vm = hv.createVm([{ kind: 'vcpus', count: 3 }]);
  vm.setMemoryRegion(0, { gpa: RAM, memory: img.mem });
  const v0 = vm.createVcpu();
  const v1 = vm.createVcpu();
  const v2 = vm.createVcpu();
  assert.throws(() => vm.createVcpu(), /created for 3 vCPU/);
  v0.setReg(Reg.PC, BigInt(RAM));
  assert.equal(v1.run().reason, 'halted', 'secondaries start powered off');
  const r = vm.run();
  assert.equal(r.exit.reason, 'system-event', show(r.exit));
  assert.equal(r.vcpu, v0);
  assert.deepEqual([20, 21, 22, 23].map((n) => BigInt.asIntN(64, v0.getReg(Reg.x(n)))), [0n, 0n, -4n, -2n]);
  const dv = new DataView(img.mem.buffer);
  for (const [aff, ctx] of [[1, 0x111n], [2, 0x222n]] as const) {
    const b = 0x1000 + 0x20 * aff;
    assert.equal(dv.getBigUint64(b, true), ctx, 'context id in x0');
    assert.equal(dv.getBigUint64(b + 8, true), 0x8000_0000n | BigInt(aff), 'MPIDR from VMPIDR_EL2');
    assert.equal(dv.getBigUint64(b + 16, true), 4n, 'EL1');
    assert.equal(dv.getBigUint64(b + 24, true) & 1n, 0n, 'MMU off');
  }
  assert.equal(v1.power, 1);
  const s = vm.stats();
  assert.ok(s.psci >= 8);
  assert.equal(v1.stats().psci, 1, 'one CPU_OFF');
});

test('a guest touching an address outside its memory gets an abort; the host and another VM are untouched', () => {
  // Vectors at RAM+0x800: the current-EL sync handler stores ESR_EL1 and FAR_EL1, skips the instruction.
  const VEC = 0x800;
  const handler = [
    A.mrs(20, 'ESR_EL1'), A.mrs(21, 'FAR_EL1'), A.mrs(22, 'ELR_EL1'), A.addi(22, 22, 4), A.msr('ELR_EL1', 22),
    0xd69f03e0, // eret
  ];
  const prog = [
    ...A.mov64(1, RAM + VEC), A.msr('VBAR_EL1', 1), A.isb(),
    ...A.mov64(2, 0x1_0000_0000), // the hyp pool's host physical address: not guest memory
    A.ldstU(3, 1, 3, 2, 0), // ldr x3, [x2]   -> abort
    A.addi(23, 20, 0), A.addi(24, 21, 0),
    ...A.mov64(2, 0xff_ffff_f000n), // last page of the 40-bit IPA space
    A.ldstU(3, 0, 3, 2, 0), // str x3, [x2]    -> abort
    ...A.mov64(2, 0x100_0000_0000n), // beyond the IPA space (stage 1 off: IPA = VA, an address size fault at EL1)
    A.ldstU(3, 1, 3, 2, 0),
    ...off(),
  ];
  const img = new Image().at(0, prog).at(VEC + 0x200, handler);
  const hv = new Hypervisor();
  const { vm, vcpu } = boot(img, [{ kind: 'mmio-ranges', ranges: [{ gpa: DEV, size: 0x1000 }] }], hv);
  // Another VM with its own memory, running a counting loop.
  const other = new Image().at(0, [...A.mov64(5, 1000), A.subi(5, 5, 1), A.cbnz(5, -1), ...A.mov64(6, 0x1234), ...off()]);
  other.mem[0x10_0000] = 0x5a;
  const vm2 = boot(other, [], hv);
  const e = vcpu.run();
  assert.equal(e.reason, 'system-event', show(e));
  assert.equal(vcpu.getReg(Reg.x(23)) >> 26n, 0x25n, 'a data abort at EL1');
  assert.equal(vcpu.getReg(Reg.x(23)) & 0x3fn, 0x10n, 'synchronous external abort');
  assert.equal(vcpu.getReg(Reg.x(24)), 0x1_0000_0000n, 'FAR');
  assert.equal(vcpu.getReg(Reg.x(21)), 0x100_0000_0000n, 'an IPA beyond the IPA size: aborted too');
  assert.equal(vcpu.getReg(Reg.x(3)), 0n, 'the load returned nothing (x3 was 0 and stays 0)');
  assert.equal(vm.stats()['abort-injected'], 3);
  assert.equal(vm.stats()['mmio-read'] + vm.stats()['mmio-write'], 0);
  // The pool holds stage-2 descriptors (non-zero): the guest's load at the pool's host address saw none of them.
  const root = vm.stage2.root - hv.pool.base;
  assert.ok(hv.pool.bytes.subarray(root, root + 8192).some((b) => b !== 0), 'the pool holds live stage-2 descriptors');
  assert.equal(vm2.vcpu.run().reason, 'system-event');
  assert.equal(vm2.vcpu.getReg(Reg.x(6)), 0x1234n);
  assert.equal(other.mem[0x10_0000], 0x5a);
});

test('without mmio-ranges a wild access is an mmio exit, which the VMM can refuse (failMmio: abort)', () => {
  const VEC = 0x800;
  const prog = [...A.mov64(1, RAM + VEC), A.msr('VBAR_EL1', 1), ...A.mov64(2, 0x2000_0000), A.ldstU(3, 1, 3, 2, 0), ...off()];
  const handler = [A.mrs(20, 'ESR_EL1'), A.mrs(22, 'ELR_EL1'), A.addi(22, 22, 4), A.msr('ELR_EL1', 22), 0xd69f03e0];
  const { vcpu } = boot(new Image().at(0, prog).at(VEC + 0x200, handler));
  const e = vcpu.run();
  assert.deepEqual([e.reason, (e as { addr: bigint }).addr], ['mmio', 0x2000_0000n]);
  vcpu.failMmio();
  assert.equal(vcpu.run().reason, 'system-event');
  assert.equal(vcpu.getReg(Reg.x(20)) & 0x3fn, 0x10n);
});

test('WFI with the virtual timer due: the vCPU sleeps, time skips to the deadline, it wakes', () => {
  const prog = [
    ...A.mov64(1, 100_000), A.msr('CNTV_TVAL_EL0', 1), ...A.mov64(1, 1), A.msr('CNTV_CTL_EL0', 1),
    A.mrs(9, 'CNTVCT_EL0'),
    A.wfi(),
    A.mrs(10, 'CNTVCT_EL0'), A.mrs(11, 'CNTV_CTL_EL0'), A.mrs(12, 'CNTV_CVAL_EL0'),
    ...off(),
  ];
  const { vm, vcpu } = boot(new Image().at(0, prog));
  const e = vcpu.run();
  assert.equal(e.reason, 'system-event', show(e));
  assert.ok(vcpu.getReg(Reg.x(10)) >= vcpu.getReg(Reg.x(12)), 'woke at or after the deadline');
  assert.ok(vcpu.getReg(Reg.x(10)) - vcpu.getReg(Reg.x(9)) >= 99_000n, 'about 100000 ticks passed while asleep');
  assert.equal(vcpu.getReg(Reg.x(11)), 5n, 'ENABLE and ISTATUS');
  assert.equal(vm.stats().wfi, 1);
  assert.ok(vm.stats().wakeup >= 1);
});

test('vm.run with idleSleep reports the idle time instead of skipping it; advanceTime then lets it pass', () => {
  const prog = [
    ...A.mov64(1, 100_000), A.msr('CNTV_TVAL_EL0', 1), ...A.mov64(1, 1), A.msr('CNTV_CTL_EL0', 1),
    A.mrs(9, 'CNTVCT_EL0'),
    A.wfi(),
    A.mrs(10, 'CNTVCT_EL0'),
    ...off(),
  ];
  const { vm, vcpu } = boot(new Image().at(0, prog));
  const r = vm.run({ idleSleep: true });
  assert.equal(r.exit.reason, 'idle', show(r.exit));
  const ticks = (r.exit as { ticks: number }).ticks;
  assert.ok(ticks > 99_000 && ticks <= 100_000, `about 100000 ticks to the deadline, not ${ticks}`);
  vm.advanceTime(ticks);
  const e = vm.run({ idleSleep: true });
  assert.equal(e.exit.reason, 'system-event', show(e.exit));
  assert.ok(vcpu.getReg(Reg.x(10)) - vcpu.getReg(Reg.x(9)) >= 99_000n);
});

test('WFI with nothing armed is halted (vcpu.run and vm.run); a virtual IRQ line wakes it', () => {
  const prog = [A.wfi(), ...A.mov64(7, 7), ...off()];
  const { vm, vcpu } = boot(new Image().at(0, prog));
  assert.equal(vcpu.run().reason, 'halted');
  assert.deepEqual(vm.run(), { vcpu: null, exit: { reason: 'halted' } });
  vcpu.setVirtualIrq(true); // masked at EL1 (DAIF.I): wakes WFI without being taken
  assert.equal(vcpu.run().reason, 'system-event');
  assert.equal(vcpu.getReg(Reg.x(7)), 7n);
});

test('budgets: a spinning guest is preempted, and resumes', () => {
  const { vm, vcpu } = boot(new Image().at(0, [A.b(0)]));
  assert.equal(vcpu.run({ budget: 5000 }).reason, 'preempted');
  assert.equal(vm.run({ budget: 5000 }).exit.reason, 'preempted');
});

test('hypercalls the VMM asked for exit with their arguments; results come back in x0..x3', () => {
  const prog = [
    ...A.mov64(0, 0xc6000003), ...A.mov64(1, 0x11), ...A.mov64(2, 0x22), A.hvc(7), A.addi(10, 0, 0), A.addi(11, 1, 0),
    ...A.mov64(0, 0xc6000004), A.smc(), A.addi(12, 0, 0),
    ...off(),
  ];
  const { vcpu } = boot(new Image().at(0, prog), [{ kind: 'hypercalls', forward: [[0xc6000000, 0xc60000ff]] }]);
  let e = vcpu.run();
  assert.equal(e.reason, 'hypercall');
  if (e.reason !== 'hypercall') return;
  assert.equal(e.conduit, 'hvc');
  assert.equal(e.imm, 7);
  assert.equal(e.functionId, 0xc6000003);
  assert.deepEqual(e.args.slice(0, 2), [0x11n, 0x22n]);
  vcpu.setHypercallResult(0n, 0x1000n);
  e = vcpu.run();
  assert.equal(e.reason, 'hypercall');
  assert.equal((e as { conduit: string }).conduit, 'smc');
  vcpu.setHypercallResult(-3n);
  assert.equal(vcpu.run().reason, 'system-event');
  assert.deepEqual([vcpu.getReg(Reg.x(10)), vcpu.getReg(Reg.x(11)), vcpu.getReg(Reg.x(12))], [0n, 0x1000n, 0xffff_ffff_ffff_fffdn]);
});

test('debug: with guest debugging on, BRK exits to the VMM at the BRK', () => {
  const { vm, vcpu } = boot(new Image().at(0, [A.nop(), A.brk(0x42), ...off()]));
  vcpu.setGuestDebug({ breakpoints: true });
  const e = vcpu.run();
  assert.deepEqual(e, { reason: 'debug', kind: 'breakpoint', pc: BigInt(RAM + 4), imm: 0x42 });
  vcpu.setReg(Reg.PC, BigInt(RAM + 8));
  assert.equal(vcpu.run().reason, 'system-event');
  assert.equal(vm.stats().debug, 1);
});

test('traps: ID registers answered from the configured features, set/way ops, ACTLR, IMPDEF registers UNDEFINED', () => {
  const VEC = 0x800;
  const handler = [A.mrs(20, 'ESR_EL1'), A.mrs(22, 'ELR_EL1'), A.addi(22, 22, 4), A.msr('ELR_EL1', 22), 0xd69f03e0];
  const prog = [
    ...A.mov64(1, RAM + VEC), A.msr('VBAR_EL1', 1),
    A.mrs(2, 'ID_AA64ISAR0_EL1'),
    A.mrs(3, 'ID_AA64MMFR0_EL1'),
    A.mrs(4, 'ID_AA64PFR0_EL1'),
    0xd5380105, // mrs x5, S3_0_C0_C1_0? (ID_PFR0_EL1 is named) -> keep: reads the VM's value (0)
    A.sys(0, 7, 14, 2, 1), // dc cisw, x1
    ...A.mov64(6, 0x1234), A.msr('ACTLR_EL1', 6), A.mrs(7, 'ACTLR_EL1'),
    0xd53bf000, // mrs x0, S3_3_C15_C0_0 (IMPLEMENTATION DEFINED): UNDEFINED
    ...off(),
  ];
  const { vm, vcpu } = boot(new Image().at(0, prog).at(VEC + 0x200, handler), [{ kind: 'cpu-features', features: { crc32: false } }, { kind: 'ipa-bits', bits: 36 }]);
  assert.equal(vcpu.run().reason, 'system-event');
  assert.equal((vcpu.getReg(Reg.x(2)) >> 16n) & 0xfn, 0n, 'CRC32 hidden');
  assert.equal((vcpu.getReg(Reg.x(2)) >> 20n) & 0xfn, 2n, 'LSE shown');
  assert.equal(vcpu.getReg(Reg.x(3)) & 0xfn, 1n, 'PARange = 36 bits');
  assert.equal((vcpu.getReg(Reg.x(4)) >> 8n) & 0xfn, 0n, 'no EL2');
  assert.equal(vcpu.getReg(Reg.x(7)), 0x1234n);
  assert.equal(vcpu.getReg(Reg.x(20)) >> 26n, 0n, 'IMPDEF access: Undefined Instruction');
  const s = vm.stats();
  assert.equal(s['id-reg'], 4);
  assert.equal(s['set-way'], 1);
  assert.equal(s['undef-injected'], 1);
});

test('a guest with stage 1 on and its page tables in memory runs; its MMIO through stage 1 is decoded from the instruction', () => {
  // Identity-map 1 GiB blocks: RAM (Normal) and the device gigabyte (Device), TTBR0 at RAM+0x10000.
  const TT = 0x1_0000;
  const img = new Image();
  const dv = new DataView(img.mem.buffer);
  // L1 table (T0SZ=32, 4K granule: level-1 start, 4 entries): entry 0 device block, entry 1 RAM block.
  dv.setBigUint64(TT + 0, 0x0000_0000n | 0x401n | (0n << 2n), true); // AF, block, AttrIndx 0 (Device)
  dv.setBigUint64(TT + 8, 0x4000_0000n | 0x401n | (1n << 2n), true); // AttrIndx 1 (Normal)
  const tcr = 32n | (1n << 23n) | (2n << 32n); // T0SZ=32, EPD1, IPS=40 bits
  img.at(0, [
    ...A.mov64(1, 0xff00), A.msr('MAIR_EL1', 1), // attr0 Device-nGnRnE, attr1 Normal WB
    ...A.mov64(1, tcr), A.msr('TCR_EL1', 1),
    ...A.mov64(1, RAM + TT), A.msr('TTBR0_EL1', 1), A.isb(),
    ...A.mov64(1, 0x30d0_0801), A.msr('SCTLR_EL1', 1), A.isb(), // M on
    ...A.mov64(1, DEV),
    ...A.mov64(2, 0xabcd),
    A.ldstPost(2, 0, 2, 1, 4), // str w2, [x1], #4
    A.ldstp(0, true, 3, 4, 1, 0), // ldp w3, w4, [x1]
    ...off(),
  ]);
  const { vcpu } = boot(img);
  const dev = new TestDevice();
  dev.regs.set(4, 0x1111n);
  dev.regs.set(8, 0x2222n);
  const e = runServing(vcpu, dev);
  assert.equal(e.reason, 'system-event', show(e));
  assert.deepEqual(dev.log, ['W4@0=abcd', 'R4@4', 'R4@8']);
  assert.deepEqual([vcpu.getReg(Reg.x(3)), vcpu.getReg(Reg.x(4))], [0x1111n, 0x2222n]);
});
