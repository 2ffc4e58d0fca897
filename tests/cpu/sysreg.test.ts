/**
 * System instructions on the PE: MRS/MSR access rules (EL0 UNDEFINED, traps
 * to EL1, the EL2 traps of HCR_EL2 with their EC 0x18 syndromes), MSR
 * (immediate), WFI/WFE traps, ERET (legal and illegal returns), DC ZVA, and
 * the disassembly of these encodings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhysicalBus } from '../../src/cpu/bus.js';
import { PE, RunExit } from '../../src/cpu/pe.js';
import { Decoder } from '../../src/cpu/decoder.js';
import { insnTable } from '../../src/cpu/insn/table.js';
import { SYSREG_BY_NAME } from '../../src/arch/sysregs.js';
import { normalRamMmu } from '../helpers/mmu.js';

const BASE = 0x4000_0000;
const VBAR = 0x4001_0000;
const B_SELF = 0x14000000; // b .

// ---- Encoders ------------------------------------------------------------------

function regFields(name: string): number {
  const m = /^S(\d)_(\d)_C(\d+)_C(\d+)_(\d)$/.exec(name);
  if (m) {
    const [op0, op1, crn, crm, op2] = m.slice(1).map(Number);
    return ((op0 & 1) << 19) | (op1 << 16) | (crn << 12) | (crm << 8) | (op2 << 5);
  }
  const r = SYSREG_BY_NAME.get(name);
  assert.ok(r, `unknown register ${name}`);
  return ((r.op0 & 1) << 19) | (r.op1 << 16) | (r.crn << 12) | (r.crm << 8) | (r.op2 << 5);
}
const mrs = (rt: number, name: string): number => (0xd5300000 | regFields(name) | rt) >>> 0;
const msr = (name: string, rt: number): number => (0xd5100000 | regFields(name) | rt) >>> 0;
const sys = (op1: number, crn: number, crm: number, op2: number, rt: number): number => (0xd5080000 | (op1 << 16) | (crn << 12) | (crm << 8) | (op2 << 5) | rt) >>> 0;
const msrImm = (op1: number, crm: number, op2: number): number => (0xd500401f | (op1 << 16) | (crm << 8) | (op2 << 5)) >>> 0;
const WFI = 0xd503207f;
const WFE = 0xd503205f;
const SEVL = 0xd50320bf;
const ERET = 0xd69f03e0;
const NOP = 0xd503201f;
const SVC0 = 0xd4000001;

/** Syndrome of a trapped MSR/MRS/SYS (EC 0x18, IL). */
function esr18(op0: number, op1: number, crn: number, crm: number, op2: number, rt: number, read: number): number {
  return ((0x18 << 26) | (1 << 25) | (op0 << 20) | (op2 << 17) | (op1 << 14) | (crn << 10) | (rt << 5) | (crm << 1) | read) >>> 0;
}
function esrReg(name: string, rt: number, read: number): number {
  const r = SYSREG_BY_NAME.get(name)!;
  return esr18(r.op0, r.op1, r.crn, r.crm, r.op2, rt, read);
}

// ---- Harness ---------------------------------------------------------------------

interface Machine {
  pe: PE;
  bus: PhysicalBus;
}

/** A PE at EL1h with `code` (followed by `b .`) at BASE and a vector table of `b .` at VBAR. */
function machine(code: number[], features = {}): Machine {
  code = [...code, B_SELF];
  const bus = new PhysicalBus();
  bus.addRam(BASE, 1 << 20);
  const pe = new PE(bus, features);
  const words = new Uint32Array(code.map((w) => w >>> 0));
  bus.writeBytes(BASE, new Uint8Array(words.buffer));
  bus.writeBytes(VBAR, new Uint8Array(new Uint32Array(0x800 / 4).fill(B_SELF).buffer));
  pe.writeSysreg('VBAR_EL1', BigInt(VBAR));
  pe.pc = BigInt(BASE);
  pe.setSp(BigInt(BASE + 0x8000));
  return { pe, bus };
}

/** Drops the PE to EL0 at PC (as an ERET would). */
function toEl0(pe: PE): void {
  pe.setPstate(0);
}

const hex = (v: bigint | number): string => `0x${(typeof v === 'number' ? v >>> 0 : v).toString(16)}`;

function expectEl2(pe: PE, r: RunExit, esr: number, elr: number): void {
  assert.equal(r, RunExit.El2, 'exits to EL2');
  assert.equal(hex(pe.readSysreg('ESR_EL2')), hex(esr), 'ESR_EL2');
  assert.equal(hex(pe.readSysreg('ELR_EL2')), hex(elr), 'ELR_EL2');
}

/** Runs a few instructions and expects a synchronous exception to EL1 from `from` (0 or 1) with `esr`, at `elr`. */
function expectEl1(pe: PE, esr: number, elr: number, from: number | null): void {
  pe.run(3);
  assert.equal(hex(pe.readSysreg('ESR_EL1')), hex(esr), 'ESR_EL1');
  assert.equal(hex(pe.readSysreg('ELR_EL1')), hex(elr), 'ELR_EL1');
  assert.equal(pe.el, 1);
  if (from !== null) assert.equal(hex(pe.pc), hex(VBAR + (from === 0 ? 0x400 : 0x200)), 'vector');
}

const HCR = { TWI: 1n << 13n, TWE: 1n << 14n, TID1: 1n << 16n, TID2: 1n << 17n, TID3: 1n << 18n, TIDCP: 1n << 20n, TACR: 1n << 21n, TSW: 1n << 22n, TPC: 1n << 23n, TPU: 1n << 24n, TTLB: 1n << 25n, TVM: 1n << 26n, TDZ: 1n << 28n, TRVM: 1n << 30n };
const UNDEF_ESR = 0x02000000;

// ---- EL2 traps ---------------------------------------------------------------------

test('HCR_EL2.TVM traps MSR to the virtual memory controls, not MRS', () => {
  for (const name of ['SCTLR_EL1', 'TTBR0_EL1', 'TTBR1_EL1', 'TCR_EL1', 'ESR_EL1', 'FAR_EL1', 'AFSR0_EL1', 'AFSR1_EL1', 'MAIR_EL1', 'AMAIR_EL1', 'CONTEXTIDR_EL1']) {
    const { pe } = machine([mrs(3, name), msr(name, 5), NOP]);
    pe.writeSysreg('HCR_EL2', HCR.TVM);
    expectEl2(pe, pe.run(10), esrReg(name, 5, 0), BASE + 4);
  }
});

test('HCR_EL2.TRVM traps MRS of the virtual memory controls', () => {
  const { pe } = machine([msr('TTBR0_EL1', 1), mrs(2, 'TTBR0_EL1')]);
  pe.setX(1, 0x1234000n);
  pe.writeSysreg('HCR_EL2', HCR.TRVM);
  expectEl2(pe, pe.run(10), esrReg('TTBR0_EL1', 2, 1), BASE + 4);
  assert.equal(pe.readSysreg('TTBR0_EL1'), 0x1234000n, 'the write went through');
});

test('HCR_EL2.TID3 traps the ID group 3 registers, allocated or not', () => {
  for (const name of ['ID_AA64PFR0_EL1', 'ID_AA64MMFR1_EL1', 'ID_PFR0_EL1', 'MVFR0_EL1', 'S3_0_C0_C7_7']) {
    const { pe } = machine([mrs(7, name)]);
    pe.writeSysreg('HCR_EL2', HCR.TID3);
    const m = /^S(\d)_(\d)_C(\d+)_C(\d+)_(\d)$/.exec(name);
    const esr = m ? esr18(3, 0, 0, 7, 7, 7, 1) : esrReg(name, 7, 1);
    expectEl2(pe, pe.run(10), esr, BASE);
  }
  // Without the trap: the value from features.ts, and RAZ for the unallocated space.
  const { pe } = machine([mrs(1, 'ID_AA64ISAR0_EL1'), mrs(2, 'S3_0_C0_C7_7'), mrs(3, 'MIDR_EL1'), NOP]);
  pe.setX(2, 0xdeadn);
  pe.run(3);
  assert.equal(pe.getX(1), pe.readSysreg('ID_AA64ISAR0_EL1'));
  assert.equal(pe.getX(2), 0n);
  assert.equal(pe.getX(3), pe.readSysreg('VPIDR_EL2'));
});

test('MIDR_EL1 and MPIDR_EL1 read VPIDR_EL2 and VMPIDR_EL2', () => {
  const { pe } = machine([mrs(1, 'MIDR_EL1'), mrs(2, 'MPIDR_EL1'), NOP]);
  pe.writeSysreg('VPIDR_EL2', 0x410fd034n);
  pe.writeSysreg('VMPIDR_EL2', 0x80000102n);
  pe.run(2);
  assert.equal(hex(pe.getX(1)), '0x410fd034');
  assert.equal(hex(pe.getX(2)), '0x80000102');
});

test('HCR_EL2.TID1, TID2, TACR, TIDCP traps', () => {
  const cases: Array<[bigint, number, number]> = [
    [HCR.TID1, mrs(1, 'REVIDR_EL1'), esrReg('REVIDR_EL1', 1, 1)],
    [HCR.TID1, mrs(1, 'AIDR_EL1'), esrReg('AIDR_EL1', 1, 1)],
    [HCR.TID2, mrs(2, 'CTR_EL0'), esrReg('CTR_EL0', 2, 1)],
    [HCR.TID2, mrs(2, 'CLIDR_EL1'), esrReg('CLIDR_EL1', 2, 1)],
    [HCR.TID2, mrs(2, 'CCSIDR_EL1'), esrReg('CCSIDR_EL1', 2, 1)],
    [HCR.TID2, msr('CSSELR_EL1', 2), esrReg('CSSELR_EL1', 2, 0)],
    [HCR.TACR, msr('ACTLR_EL1', 4), esrReg('ACTLR_EL1', 4, 0)],
    [HCR.TACR, mrs(4, 'ACTLR_EL1'), esrReg('ACTLR_EL1', 4, 1)],
    [HCR.TIDCP, mrs(9, 'S3_1_C15_C2_0'), esr18(3, 1, 15, 2, 0, 9, 1)],
  ];
  for (const [bit, insn, esr] of cases) {
    const { pe } = machine([insn]);
    pe.writeSysreg('HCR_EL2', bit);
    expectEl2(pe, pe.run(10), esr, BASE);
  }
  // TIDCP clear: the IMPLEMENTATION DEFINED register is UNDEFINED.
  const { pe } = machine([mrs(9, 'S3_1_C15_C2_0')]);
  expectEl1(pe, UNDEF_ESR, BASE, 1);
});

test('HCR_EL2.TSW, TPC, TPU, TTLB, TDZ trap the maintenance instructions', () => {
  const cases: Array<[bigint, number, number]> = [
    [HCR.TSW, sys(0, 7, 6, 2, 0), esr18(1, 0, 7, 6, 2, 0, 0)], // DC ISW
    [HCR.TSW, sys(0, 7, 10, 2, 3), esr18(1, 0, 7, 10, 2, 3, 0)], // DC CSW
    [HCR.TSW, sys(0, 7, 14, 2, 3), esr18(1, 0, 7, 14, 2, 3, 0)], // DC CISW
    [HCR.TPC, sys(3, 7, 10, 1, 1), esr18(1, 3, 7, 10, 1, 1, 0)], // DC CVAC
    [HCR.TPC, sys(3, 7, 14, 1, 1), esr18(1, 3, 7, 14, 1, 1, 0)], // DC CIVAC
    [HCR.TPC, sys(0, 7, 6, 1, 1), esr18(1, 0, 7, 6, 1, 1, 0)], // DC IVAC
    [HCR.TPU, sys(3, 7, 5, 1, 1), esr18(1, 3, 7, 5, 1, 1, 0)], // IC IVAU
    [HCR.TPU, sys(0, 7, 5, 0, 31), esr18(1, 0, 7, 5, 0, 31, 0)], // IC IALLU
    [HCR.TPU, sys(3, 7, 11, 1, 2), esr18(1, 3, 7, 11, 1, 2, 0)], // DC CVAU
    [HCR.TTLB, sys(0, 8, 7, 0, 31), esr18(1, 0, 8, 7, 0, 31, 0)], // TLBI VMALLE1
    [HCR.TTLB, sys(0, 8, 3, 1, 6), esr18(1, 0, 8, 3, 1, 6, 0)], // TLBI VAE1IS
    [HCR.TDZ, sys(3, 7, 4, 1, 0), esr18(1, 3, 7, 4, 1, 0, 0)], // DC ZVA
  ];
  for (const [bit, insn, esr] of cases) {
    const { pe } = machine([insn]);
    pe.setX(0, BigInt(BASE + 0x1000));
    pe.setX(1, BigInt(BASE + 0x1000));
    pe.setX(2, BigInt(BASE + 0x1000));
    pe.writeSysreg('HCR_EL2', bit);
    expectEl2(pe, pe.run(10), esr, BASE);
  }
});

test('HCR_EL2.TWI and TWE trap WFI and WFE (EC 0x01) only when they would wait', () => {
  const wfiEsr = 0x07e00000, wfeEsr = 0x07e00001;
  let m = machine([WFI]);
  m.pe.writeSysreg('HCR_EL2', HCR.TWI);
  expectEl2(m.pe, m.pe.run(10), wfiEsr, BASE);
  m = machine([WFE]);
  m.pe.writeSysreg('HCR_EL2', HCR.TWE);
  expectEl2(m.pe, m.pe.run(10), wfeEsr, BASE);
  // With the Event Register set WFE does not wait, so it does not trap.
  m = machine([SEVL, WFE, NOP, NOP]);
  m.pe.writeSysreg('HCR_EL2', HCR.TWE);
  assert.equal(m.pe.run(4), RunExit.Budget);
  assert.equal(m.pe.eventRegister, false);
  // A pending (masked) interrupt makes WFI complete: no trap, no wait.
  m = machine([WFI, NOP, NOP]);
  m.pe.writeSysreg('HCR_EL2', HCR.TWI);
  m.pe.irqLine = true;
  assert.equal(m.pe.run(3), RunExit.Budget);
  // No trap: WFI waits.
  m = machine([WFI, NOP]);
  assert.equal(m.pe.run(10), RunExit.Wfi);
  assert.equal(hex(m.pe.pc), hex(BASE + 4));
});

test('WFI at EL0 traps to EL1 unless SCTLR_EL1.nTWI', () => {
  let m = machine([WFI]);
  toEl0(m.pe);
  expectEl1(m.pe, 0x07e00000, BASE, 0);
  m = machine([WFI, NOP]);
  m.pe.writeSysreg('SCTLR_EL1', m.pe.readSysreg('SCTLR_EL1') | (1n << 16n));
  toEl0(m.pe);
  assert.equal(m.pe.run(10), RunExit.Wfi);
  // EL0's trap to EL1 comes before HCR_EL2.TWI.
  m = machine([WFI]);
  m.pe.writeSysreg('HCR_EL2', HCR.TWI);
  toEl0(m.pe);
  expectEl1(m.pe, 0x07e00000, BASE, 0);
});

// ---- EL0 rules ---------------------------------------------------------------------

test('EL0: EL1 registers are UNDEFINED, before any EL2 trap', () => {
  for (const insn of [mrs(1, 'SCTLR_EL1'), msr('TTBR0_EL1', 1), mrs(1, 'ID_AA64PFR0_EL1'), mrs(1, 'CurrentEL'), mrs(1, 'SPSel'), mrs(1, 'CNTKCTL_EL1'), mrs(1, 'MIDR_EL1'), msr('TPIDRRO_EL0', 1), mrs(1, 'PMCR_EL0'), mrs(1, 'S3_4_C1_C1_0'), sys(0, 8, 7, 0, 31), sys(0, 7, 8, 0, 1), ERET]) {
    const m = machine([insn]);
    m.pe.writeSysreg('HCR_EL2', HCR.TVM | HCR.TRVM | HCR.TID3);
    toEl0(m.pe);
    expectEl1(m.pe, UNDEF_ESR, BASE, 0);
  }
});

test('EL0: registers EL1 lets it use, and EC 0x18 traps to EL1 when it does not', () => {
  // TPIDR_EL0 read/write, TPIDRRO_EL0 read, NZCV, CTR_EL0 with UCT, DAIF with UMA, DCZID_EL0.
  const m = machine([msr('TPIDR_EL0', 1), mrs(2, 'TPIDR_EL0'), mrs(3, 'TPIDRRO_EL0'), mrs(4, 'NZCV'), mrs(5, 'DCZID_EL0'), NOP]);
  m.pe.setX(1, 0x1122334455667788n);
  m.pe.writeSysreg('TPIDRRO_EL0', 0xabcn);
  toEl0(m.pe);
  m.pe.n = 1;
  m.pe.c = 1;
  m.pe.run(5);
  assert.equal(m.pe.el, 0);
  assert.equal(hex(m.pe.getX(2)), '0x1122334455667788');
  assert.equal(hex(m.pe.getX(3)), '0xabc');
  assert.equal(hex(m.pe.getX(4)), '0xa0000000');
  assert.equal(hex(m.pe.getX(5)), '0x14', 'DCZID_EL0: BS=4, DZP=1 without SCTLR_EL1.DZE');
  const traps: Array<[number, number]> = [
    [mrs(6, 'CTR_EL0'), esrReg('CTR_EL0', 6, 1)],
    [mrs(6, 'DAIF'), esrReg('DAIF', 6, 1)],
    [msr('DAIF', 6), esrReg('DAIF', 6, 0)],
    [msrImm(3, 2, 6), esr18(0, 3, 4, 2, 6, 31, 0)], // MSR DAIFSet, #2
    [mrs(6, 'CNTVCT_EL0'), esrReg('CNTVCT_EL0', 6, 1)],
    [mrs(6, 'CNTFRQ_EL0'), esrReg('CNTFRQ_EL0', 6, 1)],
    [mrs(6, 'CNTV_CTL_EL0'), esrReg('CNTV_CTL_EL0', 6, 1)],
    [sys(3, 7, 4, 1, 6), esr18(1, 3, 7, 4, 1, 6, 0)], // DC ZVA without DZE
    [sys(3, 7, 10, 1, 6), esr18(1, 3, 7, 10, 1, 6, 0)], // DC CVAC without UCI
  ];
  for (const [insn, esr] of traps) {
    const t = machine([insn]);
    // SCTLR_EL1 as reset: UCT, UMA, DZE, UCI clear; CNTKCTL_EL1 = 0.
    t.pe.writeSysreg('HCR_EL2', HCR.TID2);
    toEl0(t.pe);
    expectEl1(t.pe, esr, BASE, 0);
  }
  // With the enables set EL0 gets through (and then HCR_EL2.TID2 traps CTR_EL0 to EL2).
  const ok = machine([mrs(6, 'CTR_EL0')]);
  ok.pe.writeSysreg('SCTLR_EL1', ok.pe.readSysreg('SCTLR_EL1') | (1n << 15n));
  ok.pe.writeSysreg('HCR_EL2', HCR.TID2);
  toEl0(ok.pe);
  expectEl2(ok.pe, ok.pe.run(3), esrReg('CTR_EL0', 6, 1), BASE);
});

// ---- PSTATE registers and MSR (immediate) --------------------------------------------

test('DAIF, SPSel, SP_EL0, CurrentEL, PAN, UAO, NZCV', () => {
  const m = machine([
    msrImm(3, 0xf, 7), // daifclr #0xf
    mrs(1, 'DAIF'),
    msrImm(3, 0x2, 6), // daifset #2
    mrs(2, 'DAIF'),
    msr('SP_EL0', 10), // SP_EL0 = x10
    msrImm(0, 0, 5), // spsel #0
    mrs(3, 'SPSel'),
    mrs(4, 'CurrentEL'),
    msrImm(0, 1, 4), // pan #1
    mrs(5, 'PAN'),
    msrImm(0, 1, 3), // uao #1
    mrs(6, 'UAO'),
    msr('NZCV', 11),
    mrs(7, 'NZCV'),
    NOP,
  ]);
  m.pe.setX(10, 0x40088000n);
  m.pe.setX(11, 0x60000000n);
  m.pe.run(14);
  assert.equal(hex(m.pe.getX(1)), '0x0');
  assert.equal(hex(m.pe.getX(2)), '0x80');
  assert.equal(m.pe.getX(3), 0n);
  assert.equal(hex(m.pe.getSp()), '0x40088000', 'SPSel=0 selects SP_EL0');
  assert.equal(hex(m.pe.getX(4)), '0x4');
  assert.equal(hex(m.pe.getX(5)), '0x400000');
  assert.equal(hex(m.pe.getX(6)), '0x800000');
  assert.equal(hex(m.pe.getX(7)), '0x60000000');
  assert.equal(m.pe.z, 1);
  assert.equal(m.pe.c, 1);
});

test('SP_EL0 is UNDEFINED at EL1 with SPSel=0', () => {
  const m = machine([msrImm(0, 0, 5), mrs(1, 'SP_EL0')]);
  expectEl1(m.pe, UNDEF_ESR, BASE + 4, null);
  assert.equal(hex(m.pe.readSysreg('SPSR_EL1') & 0xfn), '0x4', 'taken from EL1t');
  assert.equal(hex(m.pe.pc), hex(VBAR), 'current EL with SP0 vector');
});

test('PAN and UAO are UNDEFINED without their features', () => {
  for (const insn of [msrImm(0, 1, 4), mrs(1, 'PAN'), msrImm(0, 1, 3), msr('UAO', 1)]) {
    const m = machine([insn], { pan: false, uao: false });
    expectEl1(m.pe, UNDEF_ESR, BASE, 1);
  }
});

test('read-only and write-only registers', () => {
  for (const insn of [msr('CTR_EL0', 1), msr('MIDR_EL1', 1), msr('CNTVCT_EL0', 1), msr('CurrentEL', 1), msr('ISR_EL1', 1), mrs(1, 'OSLAR_EL1'), msr('CNTFRQ_EL0', 1), msr('ID_AA64PFR0_EL1', 1)]) {
    const m = machine([insn]);
    expectEl1(m.pe, UNDEF_ESR, BASE, 1);
  }
});

test('SCTLR_EL1 keeps its RES1 bits and drops RES0 ones', () => {
  const m = machine([msr('SCTLR_EL1', 1), mrs(2, 'SCTLR_EL1'), NOP]);
  m.pe.setX(1, 0n);
  m.pe.run(2);
  assert.equal(hex(m.pe.getX(2)), '0x30500800', 'RES1 bits 11, 20, 22, 28, 29 (SPAN is writable with PAN)');
  const m2 = machine([msr('SCTLR_EL1', 1), mrs(2, 'SCTLR_EL1'), NOP]);
  m2.pe.setX(1, 0xfffffffffffffffen); // all but M (the MMU stays off)
  m2.pe.run(2);
  assert.equal(hex(m2.pe.getX(2)), '0x34dddb9e');
});

test('EL2 registers are UNDEFINED at EL1', () => {
  for (const insn of [mrs(1, 'HCR_EL2'), msr('VBAR_EL2', 1), mrs(1, 'CNTVOFF_EL2'), mrs(1, 'SP_EL1'), sys(4, 8, 7, 0, 31)]) {
    const m = machine([insn]);
    expectEl1(m.pe, UNDEF_ESR, BASE, 1);
  }
});

// ---- ERET --------------------------------------------------------------------------------

test('ERET to EL0 and back with SVC', () => {
  const m = machine([ERET, 0, 0, 0, SVC0 | (0x42 << 5)]);
  m.pe.writeSysreg('SPSR_EL1', 0n); // EL0t, interrupts unmasked
  m.pe.writeSysreg('ELR_EL1', BigInt(BASE + 16));
  m.pe.exclPa = 0x40000000;
  m.pe.run(2);
  assert.equal(m.pe.exclPa, -1, 'ERET clears the exclusive monitor');
  assert.equal(m.pe.eventRegister, true, 'ERET sets the Event Register');
  assert.equal(m.pe.el, 1);
  assert.equal(hex(m.pe.readSysreg('ESR_EL1')), hex((0x15 << 26) | (1 << 25) | 0x42));
  assert.equal(hex(m.pe.readSysreg('ELR_EL1')), hex(BASE + 20));
  assert.equal(hex(m.pe.pc), hex(VBAR + 0x400));
});

test('illegal exception returns set PSTATE.IL and the next instruction takes EC 0x0E', () => {
  // SPSR M values: EL2h (higher EL), AArch32, EL0 with SP_ELx (0b0001), reserved 0b0010.
  for (const m of [0x9, 0x10, 0x1, 0x2]) {
    const mc = machine([ERET, NOP, NOP, NOP]);
    mc.pe.writeSysreg('SPSR_EL1', BigInt(0x3c0 | m | (1 << 30)));
    mc.pe.writeSysreg('ELR_EL1', BigInt(BASE + 8));
    mc.pe.run(1);
    assert.equal(mc.pe.el, 1, `M=${m}: stays at EL1`);
    assert.equal(mc.pe.il, 1);
    assert.equal(mc.pe.z, 1, 'flags restored from SPSR');
    assert.equal(hex(mc.pe.pc), hex(BASE + 8));
    mc.pe.run(1);
    assert.equal(hex(mc.pe.readSysreg('ESR_EL1')), hex((0x0e << 26) | (1 << 25)));
    assert.equal(hex(mc.pe.readSysreg('ELR_EL1')), hex(BASE + 8));
    assert.equal(Number(mc.pe.readSysreg('SPSR_EL1') >> 20n) & 1, 1, 'SPSR_EL1.IL');
    assert.equal(mc.pe.il, 0);
  }
});

test('PC alignment fault on a branch to an unaligned address in the same page', () => {
  const BR_X1 = 0xd61f0020;
  const m = machine([BR_X1, NOP]);
  m.pe.setX(1, BigInt(BASE + 6));
  m.pe.run(3);
  assert.equal(hex(m.pe.readSysreg('ESR_EL1')), hex((0x22 << 26) | (1 << 25)));
  assert.equal(hex(m.pe.readSysreg('ELR_EL1')), hex(BASE + 6));
  assert.equal(hex(m.pe.readSysreg('FAR_EL1')), hex(BASE + 6));
});

// ---- DC ZVA, DC by VA, IC ------------------------------------------------------------------

test('DC ZVA zeros the aligned 64-byte block', () => {
  const m = machine([sys(3, 7, 4, 1, 0), NOP]);
  // Normal memory: with the MMU off DC ZVA (a Device-nGnRnE access) takes an Alignment fault (tests/cpu/device-align.test.ts).
  normalRamMmu(m.pe, m.bus.findRam(BASE)!);
  m.bus.writeBytes(BASE + 0x2000, new Uint8Array(256).fill(0xaa));
  m.pe.setX(0, BigInt(BASE + 0x2000 + 64 + 13));
  m.pe.run(1);
  const b = m.bus.readBytes(BASE + 0x2000, 256);
  assert.deepEqual([b[63], b[64], b[127], b[128]], [0xaa, 0, 0, 0xaa]);
  assert.ok(b.slice(64, 128).every((x) => x === 0));
});

test('DC CVAC at an address outside the PA range faults with CM and WnR set', () => {
  const m = machine([sys(3, 7, 10, 1, 0)]);
  m.pe.setX(0, 1n << 50n);
  m.pe.run(2);
  const esr = Number(m.pe.readSysreg('ESR_EL1'));
  assert.equal(esr >>> 26, 0x25, 'data abort, current EL');
  assert.equal((esr >>> 8) & 1, 1, 'CM');
  assert.equal((esr >>> 6) & 1, 1, 'WnR');
  assert.equal(m.pe.readSysreg('FAR_EL1'), 1n << 50n);
});

test('IC IALLU drops decoded code', () => {
  const MOVZ_X0_1 = 0xd2800020, MOVZ_X0_2 = 0xd2800040, B_BACK = 0x17ffffff; // b . - 4 (back to BASE+4... loops)
  void B_BACK;
  const m = machine([MOVZ_X0_1, sys(0, 7, 5, 0, 31), NOP]);
  m.pe.run(3);
  assert.equal(m.pe.getX(0), 1n);
  // Replace the first instruction behind the PE's back (as DMA would not be noticed by a cache): IC makes it visible.
  m.bus.findRam(BASE)!.view.setUint32(0, MOVZ_X0_2, true);
  m.pe.pc = BigInt(BASE);
  m.pe.run(1);
  assert.equal(m.pe.getX(0), 2n);
});

// ---- Disassembly ------------------------------------------------------------------------------

test('disassembly of system instructions', () => {
  const d = new Decoder(insnTable(), new Set(['pan', 'uao']));
  const dis = (w: number): string => {
    const r = d.decode(w | 0);
    assert.ok(r, `decodes ${hex(w >>> 0)}`);
    return r.c.def.disasm(r.fields, 0n);
  };
  assert.equal(dis(mrs(0, 'SCTLR_EL1')), 'mrs x0, sctlr_el1');
  assert.equal(dis(msr('TTBR1_EL1', 3)), 'msr ttbr1_el1, x3');
  assert.equal(dis(mrs(1, 'S3_1_C15_C2_0')), 'mrs x1, s3_1_c15_c2_0');
  assert.equal(dis(msrImm(3, 2, 6)), 'msr daifset, #0x2');
  assert.equal(dis(msrImm(3, 0xf, 7)), 'msr daifclr, #0xf');
  assert.equal(dis(sys(3, 7, 4, 1, 0)), 'dc zva, x0');
  assert.equal(dis(sys(0, 7, 5, 0, 31)), 'ic iallu');
  assert.equal(dis(sys(0, 8, 3, 0, 31)), 'tlbi vmalle1is');
  assert.equal(dis(sys(0, 8, 7, 1, 2)), 'tlbi vae1, x2');
  assert.equal(dis(sys(0, 7, 8, 0, 4)), 'at s1e1r, x4');
  assert.equal(dis(WFI), 'wfi');
  assert.equal(dis(ERET), 'eret');
  // MSR to a register that changes translation ends the block; MSR to TPIDR_EL1 does not.
  assert.equal(d.decode(msr('SCTLR_EL1', 0))!.c.def.flags! & 1, 1);
  assert.equal((d.decode(msr('TPIDR_EL1', 0))!.c.def.flags ?? 0) & 1, 0);
});

test('barriers decode: DSB, DMB, ISB; SB (FEAT_SB) is unallocated', () => {
  const d = new Decoder(insnTable(), new Set());
  const dis = (w: number): string | null => {
    const r = d.decode(w | 0);
    return r === null ? null : r.c.def.disasm(r.fields, 0n);
  };
  assert.equal(dis(0xd5033f9f), 'dsb sy');
  assert.equal(dis(0xd5033b9f), 'dsb ish');
  assert.equal(dis(0xd5033bbf), 'dmb ish');
  assert.equal(dis(0xd50339bf), 'dmb ishld');
  assert.equal(dis(0xd5033fdf), 'isb');
  assert.equal(dis(0xd50330ff), null);
  const m = machine([0xd5033f9f, 0xd5033bbf, 0xd5033fdf, NOP]);
  assert.equal(m.pe.run(4), RunExit.Budget);
  assert.equal(m.pe.el, 1);
  assert.equal(hex(m.pe.pc), hex(BASE + 16));
});

test('IC IVAU drops the decoded code of its line', () => {
  const MOVZ_X0_1 = 0xd2800020, MOVZ_X0_2 = 0xd2800040;
  const m = machine([MOVZ_X0_1, 0xd50b7520 | 1 /* ic ivau, x1 */, NOP]);
  m.pe.setX(1, BigInt(BASE + 0x40)); // the next 64-byte line: the first instruction's line is left alone
  m.pe.run(3);
  m.bus.findRam(BASE)!.view.setUint32(0, MOVZ_X0_2, true);
  m.pe.pc = BigInt(BASE);
  m.pe.run(3);
  assert.equal(m.pe.getX(0), 1n, 'stale decoded code is still used: IC IVAU named a different line');
  m.pe.setX(1, BigInt(BASE + 8)); // an address in the first line
  m.pe.pc = BigInt(BASE + 4);
  m.pe.run(2);
  m.pe.pc = BigInt(BASE);
  m.pe.run(1);
  assert.equal(m.pe.getX(0), 2n);
});
