/**
 * The compiled tier (src/cpu/jit) against the closures it is generated from:
 * the same program run with every block compiled on its first run and with
 * compilation off must end in the same state, with the same instruction
 * count, whether the run is one long slice or many short ones (a compiled
 * loop stops at the budget exactly where the dispatch loop would).
 * Instruction-level agreement with QEMU is in tests/differential
 * ("compiled blocks agree with QEMU").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunExit } from '../../../src/cpu/pe.js';
import { blockSource } from '../../../src/cpu/jit/compile.js';
import { HVC, MOVZ, RAM_BASE, dec, ins, machine } from '../../helpers/program.js';

const DATA = RAM_BASE + 0x1ff0; // the array straddles pages, so loads miss the TLB mid-loop
const COUNT = 1500;

/** x2 = running sum of the 64-bit words at DATA, each word overwritten with the sum so far; x1 counts down. */
function sumLoop(): number[] {
  return [
    MOVZ(0, DATA & 0xffff), ins('MOVW', { sf: 1, opc: 3, hw: 1, imm16: DATA >>> 16, Rd: 0 }),
    MOVZ(1, COUNT),
    MOVZ(2, 0),
    // loop:
    ins('LDST_post', { size: 3, opc: 1, imm9: 8, Rn: 0, Rt: 3 }), // ldr x3, [x0], #8
    ins('ADD_sreg', { sf: 1, op: 0, S: 0, shift: 0, Rm: 3, imm6: 0, Rn: 2, Rd: 2 }), // add x2, x2, x3
    ins('LDST_unscaled', { size: 3, opc: 0, imm9: -8 & 0x1ff, Rn: 0, Rt: 2 }), // stur x2, [x0, #-8]
    ins('CSEL', { sf: 1, op: 0, o2: 1, Rm: 3, cond: 0, Rn: 3, Rd: 4 }), // csinc x4, x3, x3, eq
    ins('ADD_imm', { sf: 1, op: 1, S: 1, sh: 0, imm12: 1, Rn: 1, Rd: 1 }), // subs x1, x1, #1
    ins('B_cond', { imm19: -5 & 0x7ffff, cond: 1 }), // b.ne loop
    HVC(0),
  ];
}

function prepare(jitThreshold: number): ReturnType<typeof machine> {
  const m = machine(sumLoop());
  m.pe.jitThreshold = jitThreshold;
  for (let i = 0; i < COUNT; i++) m.bus.writeBytes(DATA + 8 * i, new Uint8Array([i & 0xff, (i * 7) & 0xff, 0, 0, 0, 0, 0, (i & 1) << 7]));
  return m;
}

function runSliced(m: ReturnType<typeof machine>, slice: number): number[] {
  const counts: number[] = [];
  for (let guard = 0; guard < 1_000_000; guard++) {
    const exit = m.pe.run(slice);
    counts.push(m.pe.icount);
    if (exit === RunExit.El2) return counts;
  }
  throw new Error('the program did not reach its HVC');
}

function state(m: ReturnType<typeof machine>): unknown {
  const regs = Array.from({ length: 5 }, (_, i) => m.pe.getX(i).toString(16));
  return { regs, pc: m.pe.pc.toString(16), icount: m.pe.icount, nzcv: m.pe.getPstate() >>> 28, mem: Buffer.from(m.bus.readBytes(DATA, 8 * COUNT)).toString('hex') };
}

test('a compiled loop ends in the same state as the closures, in one slice and in many', () => {
  for (const slice of [1_000_000, 7, 1, 13]) {
    const a = prepare(0), b = prepare(Infinity);
    const ca = runSliced(a, slice);
    runSliced(b, slice);
    assert.deepEqual(state(a), state(b), `slice ${slice}`);
    // A run stops at the first block boundary at or after its budget (a compiled loop stops at an iteration
    // boundary): never more than one block (a superblock has at most 64 instructions) beyond the budget.
    ca.forEach((c, i) => assert.ok(c - (i === 0 ? 0 : ca[i - 1]) <= slice + 64, `slice ${i} of ${slice} ran ${c - (ca[i - 1] ?? 0)}`));
  }
});

test('the loop block is compiled inline as a loop', () => {
  const code = sumLoop();
  const loopStart = 4; // index of the first loop instruction
  const body = code.slice(loopStart, loopStart + 6);
  const block = { ops: [], pa: RAM_BASE + 4 * loopStart, n: body.length, endsInCondBranch: true, superblock: true, noWasm: false, wasmIdx: -1, valid: true, s0: null, s1: null, hits: 0, fn: null, compiled: false };
  const { src, inline, loop } = blockSource(dec(), block, Int32Array.from(body));
  assert.equal(loop, true);
  assert.equal(inline, body.length, src);
  assert.doesNotMatch(src, /o\[\d+\]\(pe\)/, 'no instruction falls back to its closure');
});

test('a taken conditional branch inside a superblock retires only the instructions up to it, in every tier', () => {
  // movz x0, #40; loop: subs x0, x0, #1; b.eq done; add x1, x1, #1; b loop; done: hvc #0
  // (40 passes: the loop block reaches the fused tier, FUSE_THRESHOLD, without the compiled one.)
  const prog = [
    MOVZ(0, 40),
    ins('ADD_imm', { sf: 1, op: 1, S: 1, sh: 0, imm12: 1, Rn: 0, Rd: 0 }),
    ins('B_cond', { imm19: 3, cond: 0 }),
    ins('ADD_imm', { sf: 1, op: 0, S: 0, sh: 0, imm12: 1, Rn: 1, Rd: 1 }),
    ins('B', { imm26: -3 & 0x3ffffff }),
    HVC(0),
  ];
  // 1 + 39 iterations of 4 + subs and the taken b.eq; the HVC (an exception) retires nothing.
  const expected = 1 + 39 * 4 + 2;
  for (const threshold of [Infinity, 0, 1, 2]) {
    const m = machine(prog);
    m.pe.jitThreshold = threshold;
    assert.equal(m.pe.run(1000), RunExit.El2);
    assert.equal(m.pe.icount, expected, `jitThreshold ${threshold}`);
    assert.equal(m.pe.getX(1), 39n);
  }
});

test('where new Function is forbidden (a Content-Security-Policy), blocks stay on their closures', () => {
  const real = globalThis.Function;
  const forbidden = function (): never {
    throw new EvalError('Refused to evaluate a string as JavaScript (CSP)');
  } as unknown as FunctionConstructor;
  const a = prepare(0), b = prepare(Infinity);
  globalThis.Function = forbidden;
  try {
    runSliced(a, 1_000_000);
  } finally {
    globalThis.Function = real;
  }
  runSliced(b, 1_000_000);
  assert.equal(a.pe.jitThreshold, Infinity);
  assert.deepEqual(state(a), state(b));
});
