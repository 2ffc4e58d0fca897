/**
 * General-register loads and stores: every addressing form, extension,
 * writeback and register-31 rules, unaligned and page-crossing accesses,
 * unprivileged accesses, the exclusive monitor, acquire/release, FEAT_LSE
 * atomics, alignment faults, the data-abort syndrome bits, and disassembly.
 *
 * Programs run at EL1 from RAM at 0x40000000 and end with HVC #0, which ends
 * pe.run() with RunExit.El2. Synchronous exceptions taken to EL1 land on an
 * HVC #1 at VBAR_EL1 + 0x200. The MMU is off (data accesses Device-nGnRnE)
 * unless a test calls `normalMemory`, which maps the RAM as Normal memory:
 * tests of unaligned accesses need that, since any unaligned access to Device
 * memory takes an Alignment fault (tests/cpu/device-align.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhysicalBus } from '../../../src/cpu/bus.js';
import { Decoder, encode, Fields } from '../../../src/cpu/decoder.js';
import { PE, RunExit, TlbIndex } from '../../../src/cpu/pe.js';
import { insnTable } from '../../../src/cpu/insn/table.js';
import { normalRamMmu } from '../../helpers/mmu.js';

const CODE = 0x40000000;
const VBAR = 0x40010000;
const DATA = 0x40080000;
const HVC0 = 0xd4000002;
const HVC1 = 0xd4000022;
const M64 = (1n << 64n) - 1n;
/** A virtual address beyond the 48-bit physical address size: with the MMU off, an address size fault. */
const BAD_VA = 0x0001_0000_0000_0000n;

const dec = new Decoder(insnTable(), new Set(['lse']));
function enc(name: string, fields: Fields): number {
  const c = dec.byName.get(name);
  if (c === undefined) throw new Error(`no instruction ${name}`);
  const w = encode(c, fields);
  const d = dec.decode(w);
  assert.ok(d !== null && d.c.def.name === name, `${name} ${JSON.stringify(fields)} does not decode to itself`);
  return w;
}

interface Machine {
  bus: PhysicalBus;
  pe: PE;
}

function machine(features: Record<string, boolean> = {}): Machine {
  const bus = new PhysicalBus();
  bus.addRam(0x40000000, 1 << 20);
  const pe = new PE(bus, features);
  const vec = new Uint8Array(4);
  new DataView(vec.buffer).setUint32(0, HVC1, true);
  bus.writeBytes(VBAR + 0x200, vec);
  pe.writeSysreg('VBAR_EL1', BigInt(VBAR));
  return { bus, pe };
}

/** Stage 1 on: the RAM (code, vectors, data) identity-mapped as Normal memory, EL1 only; tables in its last 16 KiB. */
function normalMemory(m: Machine): void {
  normalRamMmu(m.pe, m.bus.findRam(CODE)!);
}

function load(m: Machine, words: number[], at = CODE): void {
  const b = new Uint8Array(4 * (words.length + 1));
  const v = new DataView(b.buffer);
  words.forEach((w, i) => v.setUint32(4 * i, w >>> 0, true));
  v.setUint32(4 * words.length, HVC0, true);
  m.bus.writeBytes(at, b);
  // After an exit to EL2 (a fault that reached the HVC #1 at the vector), return to EL1 as L0 would.
  if (m.pe.el === 2) m.pe.eretFromEl2();
  m.pe.pc = BigInt(at);
}

/** Runs `words` and expects the final HVC #0. */
function run(m: Machine, words: number[]): void {
  load(m, words);
  const r = m.pe.run(10000);
  assert.equal(r, RunExit.El2);
  const esr = m.pe.readSysreg('ESR_EL2');
  assert.equal(esr, 0x5a000000n, `expected HVC #0, got ESR_EL2=0x${esr.toString(16)} ESR_EL1=0x${m.pe.readSysreg('ESR_EL1').toString(16)}`);
  // Return to EL1 as L0 would, so that state set up for the next run (SP, PSTATE) is the guest's.
  m.pe.eretFromEl2();
}

/** Runs `words` and expects a synchronous exception to EL1 (the HVC #1 at the vector); returns ESR_EL1. */
function runFault(m: Machine, words: number[]): bigint {
  load(m, words);
  const r = m.pe.run(10000);
  assert.equal(r, RunExit.El2);
  assert.equal(m.pe.readSysreg('ESR_EL2'), 0x5a000001n, 'expected the exception vector (HVC #1)');
  return m.pe.readSysreg('ESR_EL1');
}

function put64(m: Machine, pa: number, v: bigint): void {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v & M64, true);
  m.bus.writeBytes(pa, b);
}
function get64(m: Machine, pa: number): bigint {
  return new DataView(m.bus.readBytes(pa, 8).buffer).getBigUint64(0, true);
}
function putBytes(m: Machine, pa: number, bytes: number[]): void {
  m.bus.writeBytes(pa, Uint8Array.from(bytes));
}
function getBytes(m: Machine, pa: number, n: number): number[] {
  return [...m.bus.readBytes(pa, n)];
}

const PATTERN = [0x81, 0x92, 0xa3, 0xb4, 0xc5, 0xd6, 0xe7, 0xf8, 0x09, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x70];

// ---- Load/store register, unsigned offset ------------------------------------------------

test('LDR/LDRS unsigned offset: every size and extension', () => {
  const m = machine();
  putBytes(m, DATA, PATTERN);
  m.pe.setX(1, BigInt(DATA));
  const cases: [number, number, bigint][] = [
    // size, opc, expected value loaded from DATA + (1 << size) (the second element)
    [0, 1, 0x92n], // LDRB
    [1, 1, 0xb4a3n], // LDRH
    [2, 1, 0xf8e7d6c5n], // LDR W
    [3, 1, 0x706f5e4d3c2b1a09n], // LDR X
    [0, 2, 0xffffffffffffff92n], // LDRSB X
    [1, 2, 0xffffffffffffb4a3n], // LDRSH X
    [2, 2, 0xfffffffff8e7d6c5n], // LDRSW
    [0, 3, 0xffffff92n], // LDRSB W
    [1, 3, 0xffffb4a3n], // LDRSH W
  ];
  for (const [size, opc, want] of cases) {
    m.pe.setX(2, 0x1234567812345678n);
    run(m, [enc('LDST_uimm', { size, opc, imm12: 1, Rn: 1, Rt: 2 })]);
    assert.equal(m.pe.getX(2), want, `size=${size} opc=${opc}`);
  }
});

test('STR unsigned offset stores only the access size; scaled offsets', () => {
  const m = machine();
  putBytes(m, DATA, new Array(32).fill(0xee));
  m.pe.setX(1, BigInt(DATA));
  m.pe.setX(2, 0x0102030405060708n);
  run(m, [
    enc('LDST_uimm', { size: 0, opc: 0, imm12: 1, Rn: 1, Rt: 2 }), // STRB at +1
    enc('LDST_uimm', { size: 1, opc: 0, imm12: 1, Rn: 1, Rt: 2 }), // STRH at +2
    enc('LDST_uimm', { size: 2, opc: 0, imm12: 1, Rn: 1, Rt: 2 }), // STR W at +4
    enc('LDST_uimm', { size: 3, opc: 0, imm12: 1, Rn: 1, Rt: 2 }), // STR X at +8
  ]);
  assert.deepEqual(getBytes(m, DATA, 18), [0xee, 0x08, 0x08, 0x07, 0x08, 0x07, 0x06, 0x05, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0xee, 0xee]);
  // The largest scaled offset: 4095 * 8.
  m.pe.setX(3, 0xabcdn);
  run(m, [enc('LDST_uimm', { size: 3, opc: 0, imm12: 4095, Rn: 1, Rt: 3 })]);
  assert.equal(get64(m, DATA + 4095 * 8), 0xabcdn);
});

test('unallocated size/opc combinations and PRFM', () => {
  const uimm = dec.byName.get('LDST_uimm')!;
  // size=11 opc=11 and size=10 opc=11 are unallocated; size=11 opc=10 is PRFM.
  assert.equal(dec.decode(encode(uimm, { size: 3, opc: 3, imm12: 0, Rn: 1, Rt: 0 })), null);
  assert.equal(dec.decode(encode(uimm, { size: 2, opc: 3, imm12: 0, Rn: 1, Rt: 0 })), null);
  assert.equal(dec.decode(encode(uimm, { size: 3, opc: 2, imm12: 0, Rn: 1, Rt: 0 }))?.c.def.name, 'PRFM_uimm');
  for (const name of ['LDST_post', 'LDST_pre', 'LDST_unpriv']) {
    const c = dec.byName.get(name)!;
    assert.equal(dec.decode(encode(c, { size: 3, opc: 2, imm9: 0, Rn: 1, Rt: 0 })), null, name);
  }
  assert.equal(dec.decode(encode(dec.byName.get('LDST_unscaled')!, { size: 3, opc: 2, imm9: 0, Rn: 1, Rt: 0 }))?.c.def.name, 'PRFUM');
  // V=1 (SIMD&FP) forms are not implemented here: LDR q0, [x1] must not decode as a general load.
  const d = dec.decode(0x3dc00020);
  assert.ok(d === null || !['ldst', 'ldst-excl', 'atomic'].includes(d.c.def.cls));
});

test('PRFM forms are no-ops, also on unmapped addresses', () => {
  const m = machine();
  m.pe.setX(1, BAD_VA); // not RAM, beyond the PA size
  run(m, [
    enc('PRFM_uimm', { imm12: 3, Rn: 1, Rt: 0 }),
    enc('PRFUM', { imm9: 0x1ff, Rn: 1, Rt: 0x10 }),
    enc('PRFM_reg', { Rm: 1, option: 3, S: 1, Rn: 1, Rt: 5 }),
    enc('PRFM_lit', { imm19: 0x40000, Rt: 0 }),
  ]);
  assert.equal(dec.decode(encode(dec.byName.get('PRFM_reg')!, { Rm: 1, option: 0, S: 0, Rn: 1, Rt: 0 })), null);
});

// ---- Unscaled, pre- and post-indexed ----------------------------------------------------------

test('LDUR/STUR with negative offsets and sign extension', () => {
  const m = machine();
  normalMemory(m); // ldursh is unaligned
  putBytes(m, DATA, PATTERN);
  m.pe.setX(1, BigInt(DATA + 16));
  run(m, [
    enc('LDST_unscaled', { size: 3, opc: 1, imm9: 0x1f0, Rn: 1, Rt: 2 }), // ldur x2, [x1, #-16]
    enc('LDST_unscaled', { size: 1, opc: 2, imm9: 0x1f3, Rn: 1, Rt: 3 }), // ldursh x3, [x1, #-13] (unaligned)
    enc('LDST_unscaled', { size: 0, opc: 3, imm9: 0x1f1, Rn: 1, Rt: 4 }), // ldursb w4, [x1, #-15]
    enc('LDST_unscaled', { size: 2, opc: 0, imm9: 0x0ff, Rn: 1, Rt: 2 }), // stur w2, [x1, #255]
  ]);
  assert.equal(m.pe.getX(2), 0xf8e7d6c5b4a39281n);
  assert.equal(m.pe.getX(3), 0xffffffffffffc5b4n);
  assert.equal(m.pe.getX(4), 0xffffff92n);
  assert.deepEqual(getBytes(m, DATA + 16 + 255, 4), [0x81, 0x92, 0xa3, 0xb4]);
});

test('pre- and post-indexed writeback, SP as base', () => {
  const m = machine();
  putBytes(m, DATA, PATTERN);
  m.pe.setX(1, BigInt(DATA));
  m.pe.setSp(BigInt(DATA + 0x100));
  m.pe.setX(5, 0x1122334455667788n);
  run(m, [
    enc('LDST_pre', { size: 3, opc: 1, imm9: 8, Rn: 1, Rt: 2 }), // ldr x2, [x1, #8]!
    enc('LDST_post', { size: 2, opc: 2, imm9: 0x1fc, Rn: 1, Rt: 3 }), // ldrsw x3, [x1], #-4
    enc('LDST_pre', { size: 3, opc: 0, imm9: 0x1f0, Rn: 31, Rt: 5 }), // str x5, [sp, #-16]!
    enc('LDST_post', { size: 1, opc: 0, imm9: 2, Rn: 31, Rt: 5 }), // strh w5, [sp], #2
  ]);
  assert.equal(m.pe.getX(2), 0x706f5e4d3c2b1a09n);
  assert.equal(m.pe.getX(3), 0x3c2b1a09n);
  assert.equal(m.pe.getX(1), BigInt(DATA + 4));
  assert.equal(m.pe.getSp(), BigInt(DATA + 0xf2));
  assert.equal(get64(m, DATA + 0xf0), 0x1122334455667788n);
  assert.equal(m.pe.dataIss, 0, 'writeback forms report ISV=0');
});

test('writeback with Rt == Rn: the address wins (QEMU), stores store the old base', () => {
  const m = machine();
  putBytes(m, DATA, PATTERN);
  m.pe.setX(1, BigInt(DATA));
  m.pe.setX(2, BigInt(DATA));
  m.pe.setX(3, BigInt(DATA + 0x40));
  run(m, [
    enc('LDST_pre', { size: 3, opc: 1, imm9: 8, Rn: 1, Rt: 1 }), // ldr x1, [x1, #8]!
    enc('LDST_post', { size: 3, opc: 1, imm9: 8, Rn: 2, Rt: 2 }), // ldr x2, [x2], #8
    enc('LDST_pre', { size: 3, opc: 0, imm9: 8, Rn: 3, Rt: 3 }), // str x3, [x3, #8]!
  ]);
  assert.equal(m.pe.getX(1), BigInt(DATA + 8));
  assert.equal(m.pe.getX(2), BigInt(DATA + 8));
  assert.equal(m.pe.getX(3), BigInt(DATA + 0x48));
  assert.equal(get64(m, DATA + 0x48), BigInt(DATA + 0x40));
});

test('register 31: XZR as data, loads to XZR discarded, SP as base', () => {
  const m = machine();
  putBytes(m, DATA, PATTERN);
  m.pe.setSp(BigInt(DATA));
  run(m, [
    enc('LDST_uimm', { size: 3, opc: 0, imm12: 2, Rn: 31, Rt: 31 }), // str xzr, [sp, #16]
    enc('LDST_uimm', { size: 3, opc: 1, imm12: 0, Rn: 31, Rt: 31 }), // ldr xzr, [sp]
    enc('LDST_uimm', { size: 3, opc: 1, imm12: 0, Rn: 31, Rt: 0 }), // ldr x0, [sp]
  ]);
  assert.equal(get64(m, DATA + 16), 0n);
  assert.equal(m.pe.getX(0), 0xf8e7d6c5b4a39281n);
  assert.equal(m.pe.x[2 * 31], 0);
  assert.equal(m.pe.x[2 * 31 + 1], 0);
});

test('a faulting writeback access changes no register', () => {
  const m = machine();
  m.pe.setX(1, BAD_VA); // beyond the 48-bit PA size: address size fault
  m.pe.setX(2, 0x55n);
  const esr = runFault(m, [enc('LDST_pre', { size: 3, opc: 1, imm9: 8, Rn: 1, Rt: 2 })]);
  assert.equal(esr >> 26n, 0x25n);
  assert.equal(m.pe.getX(1), BAD_VA);
  assert.equal(m.pe.getX(2), 0x55n);
});

// ---- Register offset --------------------------------------------------------------------------

test('register offset: UXTW, LSL, SXTW, SXTX with and without scaling', () => {
  const m = machine();
  for (let i = 0; i < 64; i++) putBytes(m, DATA + 8 * i, [i, 0, 0, 0, 0, 0, 0, 0]);
  const base = DATA + 32 * 8;
  m.pe.setX(1, BigInt(base));
  const cases: [number, number, bigint, number][] = [
    // option, S, index value, expected element (index from base in doublewords)
    [3, 1, 3n, 3], // LSL #3
    [3, 0, 16n, 2], // LSL #0 (bytes)
    [2, 1, 0xffffffff_00000002n, 2], // UXTW #3 ignores bits 63:32
    [6, 1, 0x12345678_fffffffen, -2], // SXTW #3 of -2
    [7, 1, -5n & M64, -5], // SXTX #3
    [7, 0, -8n & M64, -1], // SXTX
  ];
  for (const [option, S, idx, elem] of cases) {
    m.pe.setX(2, idx);
    run(m, [enc('LDST_reg', { size: 3, opc: 1, Rm: 2, option, S, Rn: 1, Rt: 3 })]);
    assert.equal(m.pe.getX(3), BigInt(32 + elem), `option=${option} S=${S}`);
  }
  // Byte access with S=1 shifts by 0; halfword with S=1 by 1; Rm=31 is XZR.
  m.pe.setX(2, 8n);
  run(m, [
    enc('LDST_reg', { size: 0, opc: 1, Rm: 2, option: 3, S: 1, Rn: 1, Rt: 4 }),
    enc('LDST_reg', { size: 1, opc: 1, Rm: 2, option: 3, S: 1, Rn: 1, Rt: 5 }),
    enc('LDST_reg', { size: 3, opc: 1, Rm: 31, option: 3, S: 1, Rn: 1, Rt: 6 }),
    enc('LDST_reg', { size: 2, opc: 0, Rm: 2, option: 2, S: 1, Rn: 1, Rt: 2 }), // str w2, [x1, w2, uxtw #2]
  ]);
  assert.equal(m.pe.getX(4), 33n);
  assert.equal(m.pe.getX(5), 34n);
  assert.equal(m.pe.getX(6), 32n);
  assert.equal(get64(m, base + 32), 8n);
  // Options 000, 001, 100, 101 are unallocated.
  const c = dec.byName.get('LDST_reg')!;
  for (const option of [0, 1, 4, 5]) assert.equal(dec.decode(encode(c, { size: 3, opc: 1, Rm: 2, option, S: 0, Rn: 1, Rt: 3 })), null);
});

// ---- Literal ------------------------------------------------------------------------------

test('load literal: LDR W/X, LDRSW, forward and backward', () => {
  const m = machine();
  // Words: 0: ldr x1, #+16; 1: ldr w2, #+16; 2: ldrsw x3, #+16; 3: b +12 ; 4,5: data; 6: hvc ...
  const words = [
    enc('LDR_lit', { opc: 1, imm19: 4, Rt: 1 }), // pc+16 -> word 4
    enc('LDR_lit', { opc: 0, imm19: 3, Rt: 2 }), // pc+12 -> word 4
    enc('LDR_lit', { opc: 2, imm19: 3, Rt: 3 }), // pc+12 -> word 5
    0x14000003, // b +12 -> word 6
    0x8899aabb,
    0xccddeeff,
    enc('LDR_lit', { opc: 1, imm19: (1 << 19) - 2, Rt: 4 }), // pc-8 -> word 4
  ];
  run(m, words);
  assert.equal(m.pe.getX(1), 0xccddeeff8899aabbn);
  assert.equal(m.pe.getX(2), 0x8899aabbn);
  assert.equal(m.pe.getX(3), 0xffffffffccddeeffn);
  assert.equal(m.pe.getX(4), 0xccddeeff8899aabbn);
  assert.equal(m.pe.dataIss, (1 << 24) | (3 << 22) | (4 << 16) | (1 << 15));
});

// ---- Pairs -----------------------------------------------------------------------------------

test('LDP/STP/LDPSW/LDNP/STNP: offset, pre, post', () => {
  const m = machine();
  putBytes(m, DATA, PATTERN);
  m.pe.setX(1, BigInt(DATA));
  m.pe.setSp(BigInt(DATA + 0x200));
  m.pe.setX(29, 0x2929292929292929n);
  m.pe.setX(30, 0x3030303030303030n);
  run(m, [
    enc('LDSTP_off', { opc: 2, L: 1, imm7: 0, Rt2: 3, Rn: 1, Rt: 2 }), // ldp x2, x3, [x1]
    enc('LDSTP_off', { opc: 0, L: 1, imm7: 1, Rt2: 5, Rn: 1, Rt: 4 }), // ldp w4, w5, [x1, #4]
    enc('LDSTP_off', { opc: 1, L: 1, imm7: 0, Rt2: 7, Rn: 1, Rt: 6 }), // ldpsw x6, x7, [x1]
    enc('LDSTP_pre', { opc: 2, L: 0, imm7: 0x7e, Rt2: 30, Rn: 31, Rt: 29 }), // stp x29, x30, [sp, #-16]!
    enc('LDSTP_post', { opc: 2, L: 1, imm7: 2, Rt2: 9, Rn: 31, Rt: 8 }), // ldp x8, x9, [sp], #16
    enc('LDSTNP', { opc: 0, L: 0, imm7: 0x7f, Rt2: 31, Rn: 1, Rt: 4 }), // stnp w4, wzr, [x1, #-4]
    enc('LDSTNP', { opc: 2, L: 1, imm7: 1, Rt2: 11, Rn: 1, Rt: 10 }), // ldnp x10, x11, [x1, #8]
  ]);
  assert.equal(m.pe.getX(2), 0xf8e7d6c5b4a39281n);
  assert.equal(m.pe.getX(3), 0x706f5e4d3c2b1a09n);
  assert.equal(m.pe.getX(4), 0xf8e7d6c5n);
  assert.equal(m.pe.getX(5), 0x3c2b1a09n);
  assert.equal(m.pe.getX(6), 0xffffffffb4a39281n);
  assert.equal(m.pe.getX(7), 0xfffffffff8e7d6c5n);
  assert.equal(m.pe.getX(8), 0x2929292929292929n);
  assert.equal(m.pe.getX(9), 0x3030303030303030n);
  assert.equal(m.pe.getSp(), BigInt(DATA + 0x200));
  assert.equal(get64(m, DATA - 4), 0x00000000f8e7d6c5n);
  assert.equal(m.pe.getX(10), 0x706f5e4d3c2b1a09n);
  assert.equal(m.pe.getX(11), 0n);
  assert.equal(m.pe.dataIss, 0, 'pairs report ISV=0');
});

test('pair: Rt == Rt2 keeps Rt, writeback wins over a loaded base, unallocated forms', () => {
  const m = machine();
  putBytes(m, DATA, PATTERN);
  m.pe.setX(1, BigInt(DATA));
  m.pe.setX(2, BigInt(DATA));
  run(m, [
    enc('LDSTP_off', { opc: 2, L: 1, imm7: 0, Rt2: 0, Rn: 1, Rt: 0 }), // ldp x0, x0, [x1]
    enc('LDSTP_pre', { opc: 2, L: 1, imm7: 2, Rt2: 3, Rn: 2, Rt: 2 }), // ldp x2, x3, [x2, #16]!
  ]);
  assert.equal(m.pe.getX(0), 0xf8e7d6c5b4a39281n);
  assert.equal(m.pe.getX(2), BigInt(DATA + 16));
  for (const name of ['LDSTP_off', 'LDSTP_pre', 'LDSTP_post', 'LDSTNP']) {
    const c = dec.byName.get(name)!;
    assert.equal(dec.decode(encode(c, { opc: 3, L: 1, imm7: 0, Rt2: 1, Rn: 2, Rt: 3 })), null, `${name} opc=11`);
    assert.equal(dec.decode(encode(c, { opc: 1, L: 0, imm7: 0, Rt2: 1, Rn: 2, Rt: 3 })), null, `${name} STGP`);
  }
  assert.equal(dec.decode(encode(dec.byName.get('LDSTNP')!, { opc: 1, L: 1, imm7: 0, Rt2: 1, Rn: 2, Rt: 3 })), null, 'no LDNPSW');
});

// ---- Unaligned and page-crossing ---------------------------------------------------------------

test('unaligned and page-crossing normal accesses', () => {
  const m = machine();
  normalMemory(m);
  const page = DATA + 0x1000;
  putBytes(m, page - 8, PATTERN);
  m.pe.setX(1, BigInt(page));
  m.pe.setX(9, 0x0123456789abcdefn);
  run(m, [
    enc('LDST_unscaled', { size: 3, opc: 1, imm9: 0x1fd, Rn: 1, Rt: 2 }), // ldur x2, [x1, #-3]
    enc('LDST_unscaled', { size: 2, opc: 2, imm9: 0x1ff, Rn: 1, Rt: 3 }), // ldursw x3, [x1, #-1]
    enc('LDST_unscaled', { size: 1, opc: 1, imm9: 0x1ff, Rn: 1, Rt: 4 }), // ldurh w4, [x1, #-1]
    enc('LDSTP_off', { opc: 2, L: 1, imm7: 0x7f, Rt2: 6, Rn: 1, Rt: 5 }), // ldp x5, x6, [x1, #-8]
    enc('LDST_unscaled', { size: 3, opc: 0, imm9: 0x1fb, Rn: 1, Rt: 9 }), // stur x9, [x1, #-5]
  ]);
  assert.equal(m.pe.getX(2), 0x4d3c2b1a09f8e7d6n, 'ldur across the page');
  assert.equal(m.pe.getX(3), 0x2b1a09f8n);
  assert.equal(m.pe.getX(4), 0x09f8n);
  assert.equal(m.pe.getX(5), 0xf8e7d6c5b4a39281n);
  assert.equal(m.pe.getX(6), 0x706f5e4d3c2b1a09n);
  assert.deepEqual(getBytes(m, page - 5, 8), [0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01]);
});

test('unaligned access with SCTLR_EL1.A=1 raises an alignment fault', () => {
  const m = machine();
  normalMemory(m); // Normal memory: only SCTLR_EL1.A makes this access fault
  m.pe.writeSysreg('SCTLR_EL1', m.pe.readSysreg('SCTLR_EL1') | 2n);
  m.pe.setX(1, BigInt(DATA + 2));
  const esr = runFault(m, [enc('LDST_uimm', { size: 2, opc: 1, imm12: 0, Rn: 1, Rt: 2 })]);
  assert.equal(esr >> 26n, 0x25n);
  assert.equal(esr & 0x3fn, 0x21n);
  assert.equal(m.pe.readSysreg('FAR_EL1'), BigInt(DATA + 2));
});

// ---- Unprivileged --------------------------------------------------------------------------

test('LDTR/STTR family: semantics, EL0 TLB at EL1, restored after faults, UAO', () => {
  const m = machine();
  putBytes(m, DATA, PATTERN);
  m.pe.setX(1, BigInt(DATA + 8));
  m.pe.setX(9, 0xa5a5a5a5a5a5a5a5n);
  const idx = ((DATA) >>> 12) & 1023;
  run(m, [
    enc('LDST_unpriv', { size: 3, opc: 1, imm9: 0x1f8, Rn: 1, Rt: 2 }), // ldtr x2, [x1, #-8]
    enc('LDST_unpriv', { size: 0, opc: 2, imm9: 1, Rn: 1, Rt: 3 }), // ldtrsb x3, [x1, #1]
    enc('LDST_unpriv', { size: 1, opc: 3, imm9: 2, Rn: 1, Rt: 4 }), // ldtrsh w4, [x1, #2]
    enc('LDST_unpriv', { size: 2, opc: 2, imm9: 4, Rn: 1, Rt: 5 }), // ldtrsw x5, [x1, #4]
    enc('LDST_unpriv', { size: 0, opc: 0, imm9: 0x20, Rn: 1, Rt: 9 }), // sttrb w9, [x1, #32]
  ]);
  assert.equal(m.pe.getX(2), 0xf8e7d6c5b4a39281n);
  assert.equal(m.pe.getX(3), 0x1an);
  assert.equal(m.pe.getX(4), 0x3c2bn);
  assert.equal(m.pe.getX(5), 0x706f5e4dn);
  assert.equal(getBytes(m, DATA + 40, 1)[0], 0xa5);
  assert.equal(m.pe.tlb, m.pe.tlbs[TlbIndex.EL1], 'the EL1 TLB is selected again');
  assert.notEqual(m.pe.tlbs[TlbIndex.EL0].rTagHi[idx], -1, 'the access went through the EL0 TLB');
  assert.equal(m.pe.dataIss, (1 << 24) | (0 << 22) | (9 << 16));

  // With UAO=1 the access is an ordinary EL1 access.
  m.pe.flushTlbs();
  m.pe.uao = 1;
  run(m, [enc('LDST_unpriv', { size: 3, opc: 1, imm9: 0, Rn: 1, Rt: 2 })]);
  assert.equal(m.pe.tlbs[TlbIndex.EL0].rTagHi[idx], -1);
  assert.notEqual(m.pe.tlbs[TlbIndex.EL1].rTagHi[idx], -1);
  m.pe.uao = 0;

  // A faulting LDTR leaves the TLB of the EL the exception was taken to selected.
  m.pe.setX(1, BAD_VA);
  const esr = runFault(m, [enc('LDST_unpriv', { size: 3, opc: 1, imm9: 0, Rn: 1, Rt: 2 })]);
  assert.equal(esr >> 26n, 0x25n);
  assert.notEqual(m.pe.tlb, m.pe.tlbs[TlbIndex.EL0]);
});

// ---- Exclusives -------------------------------------------------------------------------------

const LDXR = (size: number, rt: number, rn: number, o0 = 0): number => enc('LDXR', { size, o0, Rn: rn, Rt: rt });
const STXR = (size: number, rs: number, rt: number, rn: number, o0 = 0): number => enc('STXR', { size, Rs: rs, o0, Rn: rn, Rt: rt });

test('LDXR/STXR: success, failure without a reservation, monitor cleared', () => {
  const m = machine();
  put64(m, DATA, 0x1111222233334444n);
  m.pe.setX(1, BigInt(DATA));
  m.pe.setX(5, 0x5555n);
  m.pe.setX(6, 0x6666n);
  run(m, [
    LDXR(3, 2, 1), // ldxr x2, [x1]
    STXR(3, 3, 5, 1), // stxr w3, x5, [x1] -> 0
    STXR(3, 4, 6, 1), // stxr w4, x6, [x1] -> 1 (monitor open)
  ]);
  assert.equal(m.pe.getX(2), 0x1111222233334444n);
  assert.equal(m.pe.getX(3), 0n);
  assert.equal(m.pe.getX(4), 1n);
  assert.equal(get64(m, DATA), 0x5555n);
  assert.equal(m.pe.exclPa, -1);
  assert.equal(m.pe.dataIss, 0, 'exclusives report ISV=0');
});

test('STXR fails for another address or size; a plain store clears the monitor', () => {
  const m = machine();
  put64(m, DATA, 0x77n);
  m.pe.setX(1, BigInt(DATA));
  m.pe.setX(7, BigInt(DATA + 8));
  m.pe.setX(5, 0x5555n);
  run(m, [LDXR(3, 2, 1), STXR(3, 3, 5, 7)]);
  assert.equal(m.pe.getX(3), 1n);
  assert.equal(get64(m, DATA + 8), 0n);
  run(m, [LDXR(3, 2, 1), STXR(2, 3, 5, 1)]); // stxr w3, w5 after an 8-byte ldxr
  assert.equal(m.pe.getX(3), 1n);
  assert.equal(get64(m, DATA), 0x77n);
  run(m, [LDXR(2, 2, 1), enc('LDST_uimm', { size: 3, opc: 0, imm12: 4, Rn: 1, Rt: 5 }), STXR(2, 3, 5, 1)]);
  assert.equal(m.pe.getX(3), 1n);
  assert.equal(get64(m, DATA), 0x77n);
  // An exception (here the HVC ending the first run) clears the monitor.
  run(m, [LDXR(3, 2, 1)]);
  run(m, [STXR(3, 3, 5, 1)]);
  assert.equal(m.pe.getX(3), 1n);
  assert.equal(get64(m, DATA), 0x77n);
});

test('byte and halfword exclusives, acquire/release variants, XZR status', () => {
  const m = machine();
  putBytes(m, DATA, PATTERN);
  m.pe.setX(1, BigInt(DATA + 2));
  m.pe.setX(5, 0x1234n);
  run(m, [
    LDXR(1, 2, 1, 1), // ldaxrh w2, [x1]
    STXR(1, 3, 5, 1, 1), // stlxrh w3, w5, [x1]
    LDXR(0, 4, 1), // ldxrb w4, [x1]
    STXR(0, 31, 31, 1), // stxrb wzr, wzr, [x1]
  ]);
  assert.equal(m.pe.getX(2), 0xb4a3n);
  assert.equal(m.pe.getX(3), 0n);
  assert.equal(m.pe.getX(4), 0x34n);
  assert.deepEqual(getBytes(m, DATA + 2, 2), [0x00, 0x12]);
});

test('LDXP/STXP (W and X pairs)', () => {
  const m = machine();
  putBytes(m, DATA, PATTERN);
  m.pe.setX(1, BigInt(DATA));
  m.pe.setX(7, 0xaaaan);
  m.pe.setX(8, 0xbbbbn);
  run(m, [
    enc('LDXP', { sz: 1, o0: 1, Rt2: 3, Rn: 1, Rt: 2 }), // ldaxp x2, x3, [x1]
    enc('STXP', { sz: 1, Rs: 4, o0: 0, Rt2: 8, Rn: 1, Rt: 7 }), // stxp w4, x7, x8, [x1]
    enc('LDXP', { sz: 0, o0: 0, Rt2: 6, Rn: 1, Rt: 5 }), // ldxp w5, w6, [x1]
    enc('STXP', { sz: 0, Rs: 9, o0: 1, Rt2: 7, Rn: 1, Rt: 8 }), // stlxp w9, w8, w7, [x1]
  ]);
  assert.equal(m.pe.getX(2), 0xf8e7d6c5b4a39281n);
  assert.equal(m.pe.getX(3), 0x706f5e4d3c2b1a09n);
  assert.equal(m.pe.getX(4), 0n);
  assert.equal(m.pe.getX(5), 0xaaaan);
  assert.equal(m.pe.getX(6), 0n);
  assert.equal(m.pe.getX(9), 0n);
  assert.equal(get64(m, DATA), 0x0000aaaa0000bbbbn);
  assert.equal(get64(m, DATA + 8), 0xbbbbn);
  // A pair store after a single-register reservation of another size fails.
  run(m, [LDXR(3, 2, 1), enc('STXP', { sz: 1, Rs: 4, o0: 0, Rt2: 8, Rn: 1, Rt: 7 })]);
  assert.equal(m.pe.getX(4), 1n);
});

function checkAlignmentFault(m: Machine, words: number[], far: number, write: boolean): void {
  const esr = runFault(m, words);
  assert.equal(esr >> 26n, 0x25n, 'EC = data abort, current EL');
  assert.equal(esr & 0x3fn, 0x21n, 'DFSC = alignment fault');
  assert.equal((esr >> 6n) & 1n, write ? 1n : 0n, 'WnR');
  assert.equal(m.pe.readSysreg('FAR_EL1'), BigInt(far));
  assert.equal(m.pe.readSysreg('ELR_EL1'), BigInt(CODE));
}

test('exclusives and acquire/release need natural alignment', () => {
  const m = machine();
  normalMemory(m); // Normal memory: the alignment requirement is the instructions' own
  m.pe.setX(1, BigInt(DATA + 4));
  m.pe.setX(2, BigInt(DATA + 2));
  m.pe.setX(3, 0x99n);
  checkAlignmentFault(m, [LDXR(3, 3, 1)], DATA + 4, false);
  assert.equal(m.pe.getX(3), 0x99n);
  checkAlignmentFault(m, [STXR(2, 4, 3, 2)], DATA + 2, true);
  checkAlignmentFault(m, [enc('LDXP', { sz: 1, o0: 0, Rt2: 5, Rn: 1, Rt: 4 })], DATA + 4, false); // 16-byte pair at +4
  checkAlignmentFault(m, [enc('LDXP', { sz: 0, o0: 0, Rt2: 5, Rn: 1, Rt: 4 })], DATA + 4, false); // 8-byte pair at +4
  checkAlignmentFault(m, [enc('LDAR', { size: 2, Rn: 2, Rt: 4 })], DATA + 2, false);
  checkAlignmentFault(m, [enc('STLR', { size: 2, Rn: 2, Rt: 4 })], DATA + 2, true);
});

test('LDAR/STLR and their syndrome (AR=1)', () => {
  const m = machine();
  putBytes(m, DATA, PATTERN);
  m.pe.setX(1, BigInt(DATA));
  m.pe.setX(5, 0xfedcn);
  run(m, [
    enc('LDAR', { size: 3, Rn: 1, Rt: 2 }),
    enc('LDAR', { size: 0, Rn: 1, Rt: 3 }),
    enc('LDAR', { size: 1, Rn: 1, Rt: 4 }),
  ]);
  assert.equal(m.pe.getX(2), 0xf8e7d6c5b4a39281n);
  assert.equal(m.pe.getX(3), 0x81n);
  assert.equal(m.pe.getX(4), 0x9281n);
  assert.equal(m.pe.dataIss, (1 << 24) | (1 << 22) | (4 << 16) | (1 << 14));
  run(m, [enc('STLR', { size: 2, Rn: 1, Rt: 5 })]);
  assert.equal(get64(m, DATA), 0xf8e7d6c50000fedcn);
  assert.equal(m.pe.dataIss, (1 << 24) | (2 << 22) | (5 << 16) | (1 << 14));
  // STLR with SP as base and XZR as data.
  m.pe.setSp(BigInt(DATA + 8));
  run(m, [enc('STLR', { size: 3, Rn: 31, Rt: 31 })]);
  assert.equal(get64(m, DATA + 8), 0n);
});

// ---- Syndrome bits ------------------------------------------------------------------------------

test('dataIss for single-register loads and stores', () => {
  const m = machine();
  // pe.dataIss is what the closures record for a data abort's syndrome; compiled blocks
  // (jit/compile.ts) leave for the closure before any access that could fault, so pin the closures.
  m.pe.jitThreshold = Infinity;
  m.pe.setX(1, BigInt(DATA));
  m.pe.setX(2, 1n);
  const iss = (sas: number, sse: number, srt: number, sf: number, ar = 0): number =>
    (1 << 24) | (sas << 22) | (sse << 21) | (srt << 16) | (sf << 15) | (ar << 14);
  const cases: [number, number][] = [
    [enc('LDST_uimm', { size: 1, opc: 2, imm12: 0, Rn: 1, Rt: 3 }), iss(1, 1, 3, 1)], // ldrsh x3
    [enc('LDST_uimm', { size: 1, opc: 3, imm12: 0, Rn: 1, Rt: 3 }), iss(1, 1, 3, 0)], // ldrsh w3
    [enc('LDST_uimm', { size: 2, opc: 2, imm12: 0, Rn: 1, Rt: 7 }), iss(2, 1, 7, 1)], // ldrsw x7
    [enc('LDST_uimm', { size: 2, opc: 1, imm12: 0, Rn: 1, Rt: 7 }), iss(2, 0, 7, 0)], // ldr w7
    [enc('LDST_uimm', { size: 3, opc: 0, imm12: 0, Rn: 1, Rt: 31 }), iss(3, 0, 31, 1)], // str xzr
    [enc('LDST_unscaled', { size: 0, opc: 0, imm9: 1, Rn: 1, Rt: 4 }), iss(0, 0, 4, 0)], // sturb w4
    [enc('LDST_reg', { size: 3, opc: 1, Rm: 2, option: 3, S: 1, Rn: 1, Rt: 30 }), iss(3, 0, 30, 1)],
    [enc('LDST_reg', { size: 0, opc: 2, Rm: 2, option: 3, S: 0, Rn: 1, Rt: 9 }), iss(0, 1, 9, 1)], // ldrsb x9
  ];
  for (const [w, want] of cases) {
    m.pe.dataIss = -1;
    run(m, [w]);
    assert.equal(m.pe.dataIss, want, dec.decode(w)!.c.def.disasm(dec.decode(w)!.fields, 0n));
  }
  for (const w of [
    enc('LDST_post', { size: 3, opc: 1, imm9: 0, Rn: 1, Rt: 3 }),
    enc('LDSTP_off', { opc: 2, L: 0, imm7: 0, Rt2: 3, Rn: 1, Rt: 4 }),
    enc('LDADD', { size: 3, A: 0, R: 0, Rs: 2, Rn: 1, Rt: 3 }),
  ]) {
    m.pe.dataIss = -1;
    run(m, [w]);
    assert.equal(m.pe.dataIss, 0);
  }
});

// ---- FEAT_LSE atomics ---------------------------------------------------------------------------

test('CAS: success and failure for every size, old value to Rs', () => {
  const m = machine();
  m.pe.setX(1, BigInt(DATA));
  for (const size of [0, 1, 2, 3]) {
    const bits = 8n << BigInt(size);
    const mask = (1n << bits) - 1n;
    const old = 0x8899aabbccddeeffn & mask;
    put64(m, DATA, (0x1122334455667788n & ~mask) | old);
    // Failure: Rs differs in the sized bits; upper register bits are ignored for the compare.
    m.pe.setX(2, (old ^ 1n) | (~mask & M64));
    m.pe.setX(3, 0x0102030405060708n);
    run(m, [enc('CAS', { size, A: 0, R: 0, Rs: 2, Rn: 1, Rt: 3 })]);
    assert.equal(m.pe.getX(2), old, `size ${size} fail: Rs = old`);
    assert.equal(get64(m, DATA) & mask, old);
    // Success, with garbage in the upper bits of Rs.
    m.pe.setX(2, old | (size < 3 ? 0xdead000000000000n : 0n));
    run(m, [enc('CAS', { size, A: 1, R: 1, Rs: 2, Rn: 1, Rt: 3 })]);
    assert.equal(m.pe.getX(2), old, `size ${size} success: Rs = old`);
    assert.equal(get64(m, DATA), (0x1122334455667788n & ~mask) | (0x0102030405060708n & mask), `size ${size} stored`);
  }
});

test('CASP: W and X pairs, success and failure, odd registers unallocated', () => {
  const m = machine();
  m.pe.setX(1, BigInt(DATA));
  put64(m, DATA, 0x1111111122222222n);
  put64(m, DATA + 8, 0x3333333344444444n);
  // X pair, failure on the second doubleword.
  m.pe.setX(2, 0x1111111122222222n);
  m.pe.setX(3, 0n);
  m.pe.setX(4, 0xaan);
  m.pe.setX(5, 0xbbn);
  run(m, [enc('CASP', { sz: 1, A: 0, R: 0, Rs: 2, Rn: 1, Rt: 4 })]);
  assert.equal(m.pe.getX(2), 0x1111111122222222n);
  assert.equal(m.pe.getX(3), 0x3333333344444444n);
  assert.equal(get64(m, DATA), 0x1111111122222222n);
  // X pair, success (Rs now holds the old pair).
  run(m, [enc('CASP', { sz: 1, A: 1, R: 1, Rs: 2, Rn: 1, Rt: 4 })]);
  assert.equal(get64(m, DATA), 0xaan);
  assert.equal(get64(m, DATA + 8), 0xbbn);
  // W pair: Rs at the lower address.
  m.pe.setX(6, 0xaan | 0xffff_0000_0000_0000n);
  m.pe.setX(7, 0n);
  m.pe.setX(8, 0x12345678n);
  m.pe.setX(9, 0x9abcdef0n);
  run(m, [enc('CASP', { sz: 0, A: 0, R: 0, Rs: 6, Rn: 1, Rt: 8 })]);
  assert.equal(get64(m, DATA), 0x9abcdef012345678n);
  assert.equal(m.pe.getX(6), 0xaan);
  assert.equal(m.pe.getX(7), 0n);
  // Rt = 30: Rt+1 is XZR (stores zero); Rs = 30: the second old value is discarded.
  m.pe.setX(30, 0x12345678n);
  run(m, [enc('CASP', { sz: 0, A: 0, R: 0, Rs: 30, Rn: 1, Rt: 30 })]);
  assert.equal(m.pe.getX(30), 0x12345678n);
  const c = dec.byName.get('CASP')!;
  assert.equal(dec.decode(encode(c, { sz: 1, A: 0, R: 0, Rs: 3, Rn: 1, Rt: 4 })), null);
  assert.equal(dec.decode(encode(c, { sz: 1, A: 0, R: 0, Rs: 2, Rn: 1, Rt: 5 })), null);
});

interface AtomicCase {
  name: string;
  size: number;
  mem: bigint;
  rs: bigint;
  result: bigint;
}

test('LD<op> and SWP: sized arithmetic, old value zero-extended into Rt', () => {
  const cases: AtomicCase[] = [
    { name: 'LDADD', size: 3, mem: 0x00000001ffffffffn, rs: 1n, result: 0x0000000200000000n },
    { name: 'LDADD', size: 3, mem: M64, rs: 2n, result: 1n },
    { name: 'LDADD', size: 0, mem: 0xffn, rs: 0x102n, result: 0x01n },
    { name: 'LDADD', size: 2, mem: 0xffffffffn, rs: 0x1_00000002n, result: 0x1n },
    { name: 'LDCLR', size: 3, mem: 0xff00ff00ff00ff00n, rs: 0xf0f0f0f0f0f0f0f0n, result: 0x0f000f000f000f00n },
    { name: 'LDEOR', size: 1, mem: 0x1234n, rs: 0xffffn, result: 0xedcbn },
    { name: 'LDSET', size: 3, mem: 0x8000000000000000n, rs: 1n, result: 0x8000000000000001n },
    { name: 'LDSMAX', size: 0, mem: 0x80n, rs: 0x7fn, result: 0x7fn }, // -128 vs 127
    { name: 'LDSMAX', size: 0, mem: 0x7fn, rs: 0xffn, result: 0x7fn }, // 127 vs -1
    { name: 'LDSMIN', size: 1, mem: 0x8000n, rs: 0x7fffn, result: 0x8000n },
    { name: 'LDSMIN', size: 3, mem: 5n, rs: M64, result: M64 }, // -1 < 5
    { name: 'LDSMAX', size: 3, mem: 0x8000000000000000n, rs: 0x7fffffffffffffffn, result: 0x7fffffffffffffffn },
    { name: 'LDSMAX', size: 3, mem: 0x0000000100000000n, rs: 0x00000000ffffffffn, result: 0x0000000100000000n },
    { name: 'LDSMAX', size: 2, mem: 0x80000000n, rs: 0x1n, result: 0x1n },
    { name: 'LDUMAX', size: 0, mem: 0x80n, rs: 0x7fn, result: 0x80n },
    { name: 'LDUMAX', size: 2, mem: 0x80000000n, rs: 0xffffffff_7fffffffn, result: 0x80000000n },
    { name: 'LDUMIN', size: 1, mem: 0x8000n, rs: 0x12_7fffn, result: 0x7fffn },
    { name: 'LDUMIN', size: 3, mem: 0xffffffff00000000n, rs: 0xfffffffe00000001n, result: 0xfffffffe00000001n },
    { name: 'LDUMAX', size: 3, mem: 0x00000001_00000000n, rs: 0x00000000_ffffffffn, result: 0x00000001_00000000n },
    { name: 'SWP', size: 2, mem: 0xdeadbeefn, rs: 0x1234_5678_9abc_def0n, result: 0x9abcdef0n },
    { name: 'SWP', size: 3, mem: 0xdeadbeefn, rs: 0x1234_5678_9abc_def0n, result: 0x1234_5678_9abc_def0n },
  ];
  const m = machine();
  m.pe.setX(1, BigInt(DATA));
  for (const c of cases) {
    const mask = (1n << (8n << BigInt(c.size))) - 1n;
    const fill = 0x5a5a5a5a5a5a5a5an;
    put64(m, DATA, (fill & ~mask) | c.mem);
    m.pe.setX(2, c.rs);
    m.pe.setX(3, 0xeeeeeeeeeeeeeeeen);
    run(m, [enc(c.name, { size: c.size, A: 1, R: 0, Rs: 2, Rn: 1, Rt: 3 })]);
    const label = `${c.name} size=${c.size} mem=0x${c.mem.toString(16)} rs=0x${c.rs.toString(16)}`;
    assert.equal(get64(m, DATA), (fill & ~mask) | c.result, `${label}: memory`);
    assert.equal(m.pe.getX(3), c.mem, `${label}: Rt`);
    assert.equal(m.pe.getX(2), c.rs, `${label}: Rs unchanged`);
  }
});

test('ST<op> aliases (Rt = XZR), SP base, Rs == Rt', () => {
  const m = machine();
  put64(m, DATA, 10n);
  m.pe.setSp(BigInt(DATA));
  m.pe.setX(2, 5n);
  run(m, [
    enc('LDADD', { size: 3, A: 0, R: 1, Rs: 2, Rn: 31, Rt: 31 }), // staddl x2, [sp]
    enc('SWP', { size: 3, A: 0, R: 0, Rs: 2, Rn: 31, Rt: 2 }), // swp x2, x2, [sp]
  ]);
  assert.equal(m.pe.getX(2), 15n);
  assert.equal(get64(m, DATA), 5n);
  assert.equal(m.pe.x[2 * 31], 0);
});

test('atomics need alignment; they are unallocated without FEAT_LSE', () => {
  const m = machine();
  normalMemory(m); // Normal memory: the alignment requirement is the instructions' own
  m.pe.setX(1, BigInt(DATA + 2));
  put64(m, DATA, 7n);
  checkAlignmentFault(m, [enc('LDADD', { size: 2, A: 0, R: 0, Rs: 2, Rn: 1, Rt: 3 })], DATA + 2, true);
  assert.equal(get64(m, DATA), 7n);
  checkAlignmentFault(m, [enc('CAS', { size: 3, A: 0, R: 0, Rs: 2, Rn: 1, Rt: 3 })], DATA + 2, true);
  checkAlignmentFault(m, [enc('SWP', { size: 2, A: 0, R: 0, Rs: 2, Rn: 1, Rt: 3 })], DATA + 2, true);
  m.pe.setX(1, BigInt(DATA + 8));
  checkAlignmentFault(m, [enc('CASP', { sz: 1, A: 0, R: 0, Rs: 2, Rn: 1, Rt: 4 })], DATA + 8, true);
  // Byte atomics are always aligned.
  m.pe.setX(1, BigInt(DATA + 3));
  m.pe.setX(2, 1n);
  run(m, [enc('LDADD', { size: 0, A: 0, R: 0, Rs: 2, Rn: 1, Rt: 3 })]);

  const noLse = machine({ lse: false });
  load(noLse, [enc('LDADD', { size: 3, A: 0, R: 0, Rs: 2, Rn: 1, Rt: 3 })]);
  noLse.pe.run(100);
  assert.equal(noLse.pe.readSysreg('ESR_EL1') >> 26n, 0n, 'Undefined Instruction');
  assert.equal(noLse.pe.decoder.decode(enc('CAS', { size: 3, A: 0, R: 0, Rs: 2, Rn: 1, Rt: 3 })), null);
});

// ---- Disassembly ----------------------------------------------------------------------------

test('disassembly matches objdump', () => {
  // Words and objdump's text (binutils 2.40), literal targets as 0x<address>.
  const cases: [number, string][] = [
    [0xf9400420, 'ldr x0, [x1, #8]'],
    [0xf9400020, 'ldr x0, [x1]'],
    [0xb85fc020, 'ldur w0, [x1, #-4]'],
    [0xf85f0fe0, 'ldr x0, [sp, #-16]!'],
    [0xf8400420, 'ldr x0, [x1], #0'],
    [0x38627820, 'ldrb w0, [x1, x2, lsl #0]'],
    [0x38626820, 'ldrb w0, [x1, x2]'],
    [0x38624820, 'ldrb w0, [x1, w2, uxtw]'],
    [0xf862d820, 'ldr x0, [x1, w2, sxtw #3]'],
    [0xf862e820, 'ldr x0, [x1, x2, sxtx]'],
    [0xb9800420, 'ldrsw x0, [x1, #4]'],
    [0x39c00420, 'ldrsb w0, [x1, #1]'],
    [0xf9800400, 'prfm pldl1keep, [x0, #8]'],
    [0xf8a17815, 'prfm pstl3strm, [x0, x1, lsl #3]'],
    [0xf89ff00a, 'prfum plil2keep, [x0, #-1]'],
    [0xf9800018, 'prfm #0x18, [x0]'],
    [0x98ffffe0, 'ldrsw x0, 0xfffffffffffffffc'],
    [0x58000040, 'ldr x0, 0x8'],
    [0xa9be7bfd, 'stp x29, x30, [sp, #-32]!'],
    [0x28ff0440, 'ldp w0, w1, [x2], #-8'],
    [0x69410440, 'ldpsw x0, x1, [x2, #8]'],
    [0x283f8440, 'stnp w0, w1, [x2, #-4]'],
    [0xf8408820, 'ldtr x0, [x1, #8]'],
    [0x789fe820, 'ldtrsh x0, [x1, #-2]'],
    [0xc85f7c20, 'ldxr x0, [x1]'],
    [0x0802ffe0, 'stlxrb w2, w0, [sp]'],
    [0x88238440, 'stlxp w3, w0, w1, [x2]'],
    [0x88dffc20, 'ldar w0, [x1]'],
    [0x489ffc20, 'stlrh w0, [x1]'],
    [0x08e0fc41, 'casalb w0, w1, [x2]'],
    [0x0860ffe2, 'caspal w0, w1, w2, w3, [sp]'],
    [0x78e00041, 'ldaddalh w0, w1, [x2]'],
    [0x3860005f, 'staddlb w0, [x2]'],
    [0xf8a0005f, 'ldadda x0, xzr, [x2]'],
    [0x38e0805f, 'swpalb w0, wzr, [x2]'],
    [0xf863409f, 'stsmaxl x3, [x4]'],
  ];
  for (const [w, want] of cases) {
    const d = dec.decode(w);
    assert.ok(d !== null, `0x${w.toString(16)} decodes`);
    assert.equal(d.c.def.disasm(d.fields, 0n), want);
  }
});
