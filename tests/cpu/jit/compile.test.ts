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
import { Machine, fillData, runSliced, state, sumLoop } from './program.js';

function prepare(jitThreshold: number): Machine {
  const m = machine([...sumLoop(), HVC(0)]);
  m.pe.jitThreshold = jitThreshold;
  fillData(m);
  return m;
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
  const code = [...sumLoop(), HVC(0)];
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
