/**
 * Alignment of accesses to Device memory (Arm ARM, "Alignment of data
 * accesses"; AArch64.CheckAlignment): any unaligned data access to Device
 * memory takes an Alignment fault (DFSC 0b100001), whatever SCTLR_EL1.A says,
 * and DC ZVA to any type of Device memory does too. With stage 1 off
 * (SCTLR_EL1.M = 0) every EL0/EL1 data access is Device-nGnRnE, while
 * instruction fetches are Normal; with stage 1 on, the memory type comes
 * from MAIR_EL1 through the descriptor's AttrIndx.
 *
 * (QEMU 7.2 does not implement this; tests/system/mmu.test.ts and
 * sysexc.test.ts list it as a known QEMU difference.)
 *
 * Programs run at EL1h (or EL0t) from CODE and end with HVC #0 (pe.run()
 * returns RunExit.El2 with ESR_EL2 = HVC #0); a synchronous exception to EL1
 * lands on HVC #1 (from EL1) or HVC #2 (from EL0) at the vectors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhysicalBus, RamRegion } from '../../src/cpu/bus.js';
import { Decoder, encode, Fields } from '../../src/cpu/decoder.js';
import { PE, RunExit } from '../../src/cpu/pe.js';
import { insnTable } from '../../src/cpu/insn/table.js';
import { ATTR_DEVICE, MapRange, disableMmu, enableIdentityMmu } from '../helpers/mmu.js';

const RAM = 0x40000000;
const RAM_SIZE = 8 << 20;
const CODE = 0x40000000;
const VBAR = 0x40010000;
/** Data in the 2 MiB Normal block of the MMU-on tests. */
const DATA = 0x40080000;
/** A Device page and a Normal page, mapped 4 KiB each by `mmuOn`. */
const DEV = 0x40200000;
const NORM = 0x40201000;
/** Page tables (not mapped). */
const TABLES = 0x40300000;
/** 4 MiB above CODE: the same index in the direct-mapped TLB (1024 pages). */
const ALIAS = CODE + (4 << 20);

const HVC = (imm: number): number => (0xd4000002 | (imm << 5)) >>> 0;
const DC_ZVA = (rt: number): number => (0xd50b7420 | rt) >>> 0;
const ISB = 0xd5033fdf;
const SVC0 = 0xd4000001;

const dec = new Decoder(insnTable());
function enc(name: string, fields: Fields): number {
  const c = dec.byName.get(name);
  if (c === undefined) throw new Error(`no instruction ${name}`);
  const w = encode(c, fields);
  assert.equal(dec.decode(w)?.c.def.name, name, `${name} ${JSON.stringify(fields)}`);
  return w;
}
// Loads and stores used below (Rn = base register, offset 0 unless given).
const LDRX = (rt: number, rn: number): number => enc('LDST_uimm', { size: 3, opc: 1, imm12: 0, Rn: rn, Rt: rt });
const LDRW = (rt: number, rn: number): number => enc('LDST_uimm', { size: 2, opc: 1, imm12: 0, Rn: rn, Rt: rt });
const LDRH = (rt: number, rn: number): number => enc('LDST_uimm', { size: 1, opc: 1, imm12: 0, Rn: rn, Rt: rt });
const LDRB = (rt: number, rn: number): number => enc('LDST_uimm', { size: 0, opc: 1, imm12: 0, Rn: rn, Rt: rt });
const STRX = (rt: number, rn: number): number => enc('LDST_uimm', { size: 3, opc: 0, imm12: 0, Rn: rn, Rt: rt });
const STRW = (rt: number, rn: number): number => enc('LDST_uimm', { size: 2, opc: 0, imm12: 0, Rn: rn, Rt: rt });
const STRB = (rt: number, rn: number): number => enc('LDST_uimm', { size: 0, opc: 0, imm12: 0, Rn: rn, Rt: rt });
const LDPX = (rt: number, rt2: number, rn: number): number => enc('LDSTP_off', { opc: 2, L: 1, imm7: 0, Rt2: rt2, Rn: rn, Rt: rt });
const STPX = (rt: number, rt2: number, rn: number): number => enc('LDSTP_off', { opc: 2, L: 0, imm7: 0, Rt2: rt2, Rn: rn, Rt: rt });
const MSR_SCTLR = (rt: number): number => (0xd5181000 | rt) >>> 0; // msr sctlr_el1, xt

interface Machine {
  bus: PhysicalBus;
  pe: PE;
  ram: RamRegion;
}

function machine(): Machine {
  const bus = new PhysicalBus();
  const ram = bus.addRam(RAM, RAM_SIZE);
  const pe = new PE(bus);
  const v = new Uint8Array(0x800);
  const dv = new DataView(v.buffer);
  for (let off = 0; off < 0x800; off += 0x80) dv.setUint32(off, HVC(off >= 0x400 ? 2 : 1), true);
  bus.writeBytes(VBAR, v);
  pe.writeSysreg('VBAR_EL1', BigInt(VBAR));
  return { bus, pe, ram };
}

/**
 * Stage 1 on: the first 2 MiB of RAM (code, vectors, DATA) Normal and
 * EL1-only; DEV a Device-nGnRnE page and NORM a Normal page, both EL0-accessible
 * (AP = 01, so not executable at EL1) and UXN.
 */
function mmuOn(m: Machine): void {
  const ranges: MapRange[] = [
    { va: RAM, size: 2 << 20 },
    { va: DEV, size: 0x1000, attr: ATTR_DEVICE, el0: true, uxn: true },
    { va: NORM, size: 0x1000, el0: true, uxn: true },
  ];
  enableIdentityMmu(m.pe, { ram: m.ram, base: TABLES, size: 0x10000 }, ranges);
}

/** Writes `words` and then `end` (HVC #0 for EL1 code; EL0 code, for which HVC is UNDEFINED, ends with SVC #0). */
function load(m: Machine, words: number[], at: number, end = HVC(0)): void {
  const b = new Uint8Array(4 * (words.length + 1));
  const v = new DataView(b.buffer);
  words.forEach((w, i) => v.setUint32(4 * i, w >>> 0, true));
  v.setUint32(4 * words.length, end, true);
  m.bus.writeBytes(at, b);
  if (m.pe.el === 2) m.pe.eretFromEl2();
}

/** Runs `words` at EL1 (or EL0 with `el0`) from `at`; returns 0 when they completed, 1/2 for another exception to EL1 from EL1/EL0. */
function exec(m: Machine, words: number[], opts: { el0?: boolean; at?: number } = {}): number {
  const at = opts.at ?? CODE;
  load(m, words, at, opts.el0 ? SVC0 : HVC(0));
  m.pe.setPstate(opts.el0 ? 0 : 0x3c5);
  m.pe.pc = BigInt(at);
  assert.equal(m.pe.run(10000), RunExit.El2);
  const esr2 = m.pe.readSysreg('ESR_EL2');
  assert.equal(esr2 >> 26n, 0x16n, 'ended by an HVC');
  m.pe.eretFromEl2();
  const k = Number(esr2 & 0xffffn);
  // From EL0: the final SVC #0 at the expected place means the words completed.
  if (k === 2 && m.pe.readSysreg('ESR_EL1') === 0x56000000n && m.pe.readSysreg('ELR_EL1') === BigInt(at + 4 * words.length + 4)) return 0;
  return k;
}

function runOk(m: Machine, words: number[], opts: { el0?: boolean; at?: number } = {}): void {
  const k = exec(m, words, opts);
  assert.equal(k, 0, `expected no exception, got ESR_EL1=0x${m.pe.readSysreg('ESR_EL1').toString(16)} FAR_EL1=0x${m.pe.readSysreg('FAR_EL1').toString(16)}`);
}

/** Runs `words` and expects an Alignment fault data abort at the first instruction with FAR = `far` (or in the `farBlock`-byte block holding it). */
function runAlignFault(m: Machine, words: number[], far: number, write: boolean, opts: { el0?: boolean; at?: number; farBlock?: number } = {}): void {
  const k = exec(m, words, opts);
  assert.equal(k, opts.el0 ? 2 : 1, 'a synchronous exception to EL1');
  const esr = m.pe.readSysreg('ESR_EL1');
  assert.equal(esr >> 26n, opts.el0 ? 0x24n : 0x25n, `EC = data abort (ESR_EL1=0x${esr.toString(16)})`);
  assert.equal((esr >> 25n) & 1n, 1n, 'IL');
  assert.equal(esr & 0x3fn, 0x21n, 'DFSC = alignment fault');
  assert.equal((esr >> 6n) & 1n, write ? 1n : 0n, 'WnR');
  assert.equal((esr >> 8n) & 1n, 0n, 'CM');
  const got = m.pe.readSysreg('FAR_EL1');
  if (opts.farBlock === undefined) assert.equal(got, BigInt(far), 'FAR_EL1');
  else assert.equal(got & ~BigInt(opts.farBlock - 1), BigInt(far) & ~BigInt(opts.farBlock - 1), 'FAR_EL1 in the block');
  assert.equal(m.pe.readSysreg('ELR_EL1'), BigInt(opts.at ?? CODE), 'ELR_EL1 = the faulting instruction');
}

const PATTERN = Array.from({ length: 32 }, (_, i) => (0x81 + 0x11 * i) & 0xff);
function putPattern(m: Machine, pa: number): void {
  m.bus.writeBytes(pa, Uint8Array.from(PATTERN));
}
/** The little-endian value of `n` pattern bytes at offset `off`. */
function pat(off: number, n: number): bigint {
  let v = 0n;
  for (let k = n - 1; k >= 0; k--) v = (v << 8n) | BigInt(PATTERN[off + k]);
  return v;
}
function bytes(m: Machine, pa: number, n: number): number[] {
  return [...m.bus.readBytes(pa, n)];
}

/**
 * The checks every Device region gets: unaligned LDR/LDRH/STR/LDP/STP fault
 * and leave registers and memory unchanged, naturally aligned ones work,
 * byte accesses never fault, DC ZVA faults even at an aligned address.
 */
function deviceChecks(m: Machine, base: number, el0 = false): void {
  const o = { el0 };
  putPattern(m, base);
  m.pe.setX(1, BigInt(base));
  m.pe.setX(9, 0x0123456789abcdefn);
  m.pe.setX(2, 0x5555n);
  m.pe.setX(3, 0x6666n);

  // Aligned accesses of every size work.
  runOk(m, [LDRX(2, 1), LDRW(3, 1), LDRH(4, 1), LDRB(5, 1)], o);
  assert.equal(m.pe.getX(2), pat(0, 8));
  assert.equal(m.pe.getX(3), pat(0, 4));
  assert.equal(m.pe.getX(4), pat(0, 2));
  assert.equal(m.pe.getX(5), pat(0, 1));
  m.pe.setX(1, BigInt(base + 8));
  runOk(m, [LDPX(6, 7, 1)], o); // 8-aligned, not 16-aligned: each register is an aligned access
  assert.equal(m.pe.getX(6), pat(8, 8));
  assert.equal(m.pe.getX(7), pat(16, 8));

  // Byte accesses at every offset.
  for (let k = 0; k < 8; k++) {
    m.pe.setX(1, BigInt(base + k));
    m.pe.setX(9, BigInt(0xa0 + k));
    runOk(m, [LDRB(5, 1), STRB(9, 1)], o);
    assert.equal(m.pe.getX(5), pat(k, 1), `ldrb at +${k}`);
  }
  assert.deepEqual(bytes(m, base, 8), [0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7]);
  putPattern(m, base);

  // Unaligned accesses fault, first after an aligned access to the page (a TLB hit), with registers and memory unchanged.
  m.pe.setX(2, 0x5555n);
  m.pe.setX(3, 0x6666n);
  m.pe.setX(1, BigInt(base + 0x101));
  runAlignFault(m, [LDRX(2, 1)], base + 0x101, false, o);
  assert.equal(m.pe.getX(2), 0x5555n);
  m.pe.setX(1, BigInt(base + 0x102));
  runAlignFault(m, [LDRW(2, 1)], base + 0x102, false, o);
  m.pe.setX(1, BigInt(base + 0x103));
  runAlignFault(m, [LDRH(2, 1)], base + 0x103, false, o);
  assert.equal(m.pe.getX(2), 0x5555n);
  m.pe.setX(1, BigInt(base + 4));
  m.pe.setX(9, 0x0123456789abcdefn);
  runAlignFault(m, [STRX(9, 1)], base + 4, true, o);
  m.pe.setX(1, BigInt(base + 6));
  runAlignFault(m, [STRW(9, 1)], base + 6, true, o);
  assert.deepEqual(bytes(m, base, 32), PATTERN, 'faulting stores write nothing');
  m.pe.setX(1, BigInt(base + 4));
  runAlignFault(m, [LDPX(2, 3, 1)], base + 4, false, o);
  assert.equal(m.pe.getX(2), 0x5555n);
  assert.equal(m.pe.getX(3), 0x6666n);
  runAlignFault(m, [STPX(9, 9, 1)], base + 4, true, o);
  assert.deepEqual(bytes(m, base, 32), PATTERN);
  // An unaligned access crossing into the next page faults on the first byte, before anything is written.
  m.pe.setX(1, BigInt(base + 0xffc));
  runAlignFault(m, [STRX(9, 1)], base + 0xffc, true, o);
  assert.deepEqual(bytes(m, base + 0xffc, 8), [0, 0, 0, 0, 0, 0, 0, 0]);

  // DC ZVA to Device memory faults, at an aligned address too; nothing is zeroed.
  if (el0) m.pe.writeSysreg('SCTLR_EL1', m.pe.readSysreg('SCTLR_EL1') | (1n << 14n)); // DZE
  const bs = 4 << Number(m.pe.readSysreg('DCZID_EL0') & 0xfn);
  m.bus.writeBytes(base + 0x200, new Uint8Array(2 * bs).fill(0xaa));
  for (const off of [0x200, 0x200 + bs + 13]) {
    m.pe.setX(1, BigInt(base + off));
    runAlignFault(m, [DC_ZVA(1)], base + off, true, { el0, farBlock: bs });
  }
  assert.ok(bytes(m, base + 0x200, 2 * bs).every((b) => b === 0xaa), 'DC ZVA zeroed nothing');
}

/** The same accesses on Normal memory: unaligned ones work, DC ZVA zeros its block. */
function normalChecks(m: Machine, base: number, el0 = false): void {
  const o = { el0 };
  putPattern(m, base);
  m.pe.setX(1, BigInt(base + 1));
  runOk(m, [LDRX(2, 1), LDRW(3, 1), LDRH(4, 1), LDPX(5, 6, 1)], o);
  assert.equal(m.pe.getX(2), pat(1, 8));
  assert.equal(m.pe.getX(3), pat(1, 4));
  assert.equal(m.pe.getX(4), pat(1, 2));
  assert.equal(m.pe.getX(5), pat(1, 8));
  assert.equal(m.pe.getX(6), pat(9, 8));
  m.pe.setX(1, BigInt(base + 0x103));
  m.pe.setX(9, 0x0123456789abcdefn);
  runOk(m, [STRX(9, 1), LDRX(10, 1)], o);
  assert.equal(m.pe.getX(10), 0x0123456789abcdefn);
  assert.deepEqual(bytes(m, base + 0x103, 8), [0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01]);
  if (el0) m.pe.writeSysreg('SCTLR_EL1', m.pe.readSysreg('SCTLR_EL1') | (1n << 14n)); // DZE
  const bs = 4 << Number(m.pe.readSysreg('DCZID_EL0') & 0xfn);
  m.bus.writeBytes(base + 0x200, new Uint8Array(3 * bs).fill(0xaa));
  m.pe.setX(1, BigInt(base + 0x200 + bs + 13));
  runOk(m, [DC_ZVA(1)], o);
  const b = bytes(m, base + 0x200, 3 * bs);
  assert.ok(b.every((x, i) => x === (i >= bs && i < 2 * bs ? 0 : 0xaa)), 'DC ZVA zeroed exactly the aligned block');
}

test('MMU off: data accesses at EL1 are Device-nGnRnE (unaligned ones and DC ZVA take Alignment faults)', () => {
  const m = machine();
  deviceChecks(m, DATA);
});

test('MMU off: the same at EL0 (data abort from a lower EL, EC 0x24)', () => {
  const m = machine();
  deviceChecks(m, DATA, true);
});

test('MMU off: SCTLR_EL1.A does not change the outcome on Device memory', () => {
  const m = machine();
  m.pe.writeSysreg('SCTLR_EL1', m.pe.readSysreg('SCTLR_EL1') | 2n);
  m.pe.setX(1, BigInt(DATA + 2));
  runAlignFault(m, [LDRW(2, 1)], DATA + 2, false);
  m.pe.setX(1, BigInt(DATA + 3));
  runOk(m, [LDRB(2, 1)]);
});

test('MMU on: a Device-nGnRnE page (MAIR 0x00) behaves as memory with the MMU off', () => {
  const m = machine();
  mmuOn(m);
  deviceChecks(m, DEV);
});

test('MMU on: the Device page from EL0', () => {
  const m = machine();
  mmuOn(m);
  deviceChecks(m, DEV, true);
});

test('MMU on: Normal memory allows unaligned accesses and DC ZVA (EL1 block, EL0 page)', () => {
  const m = machine();
  mmuOn(m);
  normalChecks(m, DATA);
  normalChecks(m, NORM);
  normalChecks(m, NORM, true);
});

test('a TLB entry filled by an instruction fetch (Normal) does not let unaligned data accesses to the page through', () => {
  const m = machine();
  // The code's own page: executing it fills the TLB for execution; the data accesses that follow are still Device.
  m.pe.setX(1, BigInt(CODE + 0x801));
  runAlignFault(m, [LDRX(2, 1)], CODE + 0x801, false);
  m.pe.setX(1, BigInt(CODE + 0x806));
  runAlignFault(m, [STRW(2, 1)], CODE + 0x806, true);
  // Again after an aligned access to the page and a fetch through the TLB; byte accesses and aligned ones work.
  m.pe.setX(1, BigInt(CODE + 0x800));
  runOk(m, [LDRX(3, 1), LDRB(4, 1)]);
  m.pe.setX(1, BigInt(CODE + 0x804));
  runAlignFault(m, [LDRX(2, 1)], CODE + 0x804, false);
  // The same from EL0.
  m.pe.setX(1, BigInt(CODE + 0x802));
  runAlignFault(m, [LDRW(2, 1)], CODE + 0x802, false, { el0: true });
  // DC ZVA of the code's page.
  const bs = 4 << Number(m.pe.readSysreg('DCZID_EL0') & 0xfn);
  m.pe.setX(1, BigInt(CODE + 0xc00));
  runAlignFault(m, [DC_ZVA(1)], CODE + 0xc00, true, { farBlock: bs });
});

test('entries filled with the MMU on (Normal) do not survive turning it off', () => {
  const m = machine();
  mmuOn(m);
  m.pe.setX(1, BigInt(DATA + 1));
  runOk(m, [LDRX(2, 1), STRX(2, 1)]);
  // MSR SCTLR_EL1 (M = 0) then the same unaligned load, in one block.
  m.pe.setX(5, m.pe.readSysreg('SCTLR_EL1') & ~1n);
  const k = exec(m, [MSR_SCTLR(5), ISB, LDRX(2, 1)]);
  assert.equal(k, 1);
  assert.equal(m.pe.readSysreg('ESR_EL1') & 0x3fn, 0x21n);
  assert.equal(m.pe.readSysreg('ELR_EL1'), BigInt(CODE + 8));
  assert.equal(m.pe.readSysreg('FAR_EL1'), BigInt(DATA + 1));
  // And back on: Normal again.
  mmuOn(m);
  runOk(m, [LDRX(2, 1)]);
  disableMmu(m.pe);
  runAlignFault(m, [LDRX(2, 1)], DATA + 1, false);
});

test('an instruction fetch filling the TLB does not redirect another page\'s data entry at the same index', () => {
  // CODE and ALIAS share a slot of the direct-mapped TLB. A data access to ALIAS fills the slot; a later
  // instruction fetch from CODE (after a branch from another page) refills it for execution. Data accesses
  // to ALIAS must still reach ALIAS's memory, and stores must not land in CODE's page.
  for (const on of [false, true]) {
    const m = machine();
    if (on) enableIdentityMmu(m.pe, { ram: m.ram, base: TABLES, size: 0x10000 }, [{ va: RAM, size: RAM_SIZE }]);
    const OTHER = CODE + 0x1000;
    const B = (from: number, to: number): number => (0x14000000 | (((to - from) >> 2) & 0x3ffffff)) >>> 0;
    load(m, [B(OTHER, CODE + 12)], OTHER); // the other page branches back into CODE's page
    m.bus.writeBytes(ALIAS, Uint8Array.from(PATTERN));
    m.pe.setX(1, BigInt(ALIAS));
    m.pe.setX(9, 0x7777n);
    // CODE: ldr x2, [x1]; str x2, [x1]; b OTHER. OTHER: b CODE + 12. CODE + 12: ldr x3, [x1]; str x9, [x1]; hvc #0.
    runOk(m, [LDRX(2, 1), STRX(2, 1), B(CODE + 8, OTHER), LDRX(3, 1), STRX(9, 1)]);
    assert.equal(m.pe.getX(2), pat(0, 8), `MMU ${on ? 'on' : 'off'}: first load`);
    assert.equal(m.pe.getX(3), pat(0, 8), `MMU ${on ? 'on' : 'off'}: load after the fetch refilled the slot`);
    assert.equal(new DataView(m.bus.readBytes(ALIAS, 8).buffer).getBigUint64(0, true), 0x7777n, 'the store reached ALIAS');
    assert.equal(new DataView(m.bus.readBytes(CODE, 4).buffer).getUint32(0, true), LDRX(2, 1), 'and not the code page');
  }
});
