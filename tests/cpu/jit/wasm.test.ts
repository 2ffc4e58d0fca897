/**
 * The WebAssembly tier (src/cpu/jit/wasm) against the closures: the same
 * programs run with every block compiled to WebAssembly on its first run
 * and with compilation off end in the same state with the same instruction
 * count, in one long slice and in many short ones; blocks run one into the
 * next inside WebAssembly (the dispatcher's chaining) and the run loop
 * picks up from the last one. Instruction-level agreement with QEMU is in
 * tests/differential ("blocks compiled to WebAssembly agree with QEMU").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Block, PE, RunExit } from '../../../src/cpu/pe.js';
import { HVC, MOVZ, NOP, RAM_BASE, ins, machine } from '../../helpers/program.js';
import { wasmBlockCode } from '../../../src/cpu/jit/wasm/compile.js';
import { Machine, fillData, runSliced, state, sumLoop } from './program.js';

/** The loop program, then 300 calls of a function in the next page (BL there, RET back), counted down in x5. */
function program(): number[] {
  const code = [
    ...sumLoop(),
    MOVZ(5, 300),
    // call:
    ins('BL', { imm26: 0x400 - 11 }), // bl func (word 0x400: the next page)
    ins('ADD_imm', { sf: 1, op: 1, S: 1, sh: 0, imm12: 1, Rn: 5, Rd: 5 }), // subs x5, x5, #1
    ins('B_cond', { imm19: -2 & 0x7ffff, cond: 1 }), // b.ne call
    HVC(0),
  ];
  while (code.length < 0x400) code.push(0xd503201f); // nop
  code.push(
    // func: x6 += x5 * 3; udiv x7, x6, x5; ret
    ins('ADD_sreg', { sf: 1, op: 0, S: 0, shift: 0, Rm: 5, imm6: 1, Rn: 5, Rd: 8 }), // add x8, x5, x5, lsl #1
    ins('ADD_sreg', { sf: 1, op: 0, S: 0, shift: 0, Rm: 8, imm6: 0, Rn: 6, Rd: 6 }), // add x6, x6, x8
    ins('UDIV', { sf: 1, Rm: 5, o1: 0, Rn: 6, Rd: 7 }),
    ins('BR', { opc: 2, Rn: 30 }), // ret
  );
  return code;
}

function prepare(tier: 'wasm' | 'none'): Machine {
  const m = machine(program(), 1 << 20, true);
  assert.ok(m.pe.wasmTier, 'a bus with an arena gives the PE the WebAssembly tier');
  if (tier === 'wasm') {
    m.pe.jitThreshold = 0;
    m.pe.jsThreshold = Infinity; // blocks the tier cannot take stay on their closures
  } else m.pe.jitThreshold = m.pe.jsThreshold = Infinity;
  fillData(m);
  return m;
}

test('blocks compiled to WebAssembly end in the same state as the closures, in one slice and in many', () => {
  for (const slice of [1_000_000, 7, 1, 13, 100]) {
    const a = prepare('wasm'), b = prepare('none');
    const ca = runSliced(a, slice);
    runSliced(b, slice);
    assert.deepEqual(state(a, 9), state(b, 9), `slice ${slice}`);
    // A run stops at the first block boundary at or after its budget, chained blocks included.
    ca.forEach((c, i) => assert.ok(c - (i === 0 ? 0 : ca[i - 1]) <= slice + 64, `slice ${i} of ${slice} ran ${c - (ca[i - 1] ?? 0)}`));
  }
});

test('WebAssembly blocks run one into the next without the run loop, across pages', () => {
  // Each BL to the next page and RET back is a transition the run loop makes through a TLB lookup
  // (PE.lookupBlock); in the WebAssembly tier the dispatcher makes them itself.
  const lookups = (m: Machine): number => {
    let n = 0;
    const pe = m.pe as unknown as { lookupBlock: () => unknown };
    const real = pe.lookupBlock.bind(pe);
    pe.lookupBlock = () => (n++, real());
    runSliced(m, 1_000_000);
    return n;
  };
  const closures = lookups(prepare('none'));
  const wasm = lookups(prepare('wasm'));
  assert.ok(closures >= 600, `the closures look up every call and return: ${closures}`);
  assert.ok(wasm < 50, `the calls and returns ran inside WebAssembly: ${wasm} lookups`);
  const m = prepare('wasm');
  assert.ok(countChained(m.pe, () => runSliced(m, 1_000_000)) > 0, 'the run loop was told where the chain ended');
});

/** Runs `f` and counts the times a compiled function reported where a chain ended (PE.chained set). */
function countChained(pe: PE, f: () => void): number {
  let n = 0;
  let value: PE['chained'] = null;
  Object.defineProperty(pe, 'chained', {
    configurable: true,
    get: () => value,
    set: (v: PE['chained']) => {
      if (v !== null) n++;
      value = v;
    },
  });
  try {
    f();
  } finally {
    delete (pe as { chained?: unknown }).chained;
    pe.chained = null;
  }
  return n;
}

test('a run with an interrupt check pending stops at each block: nothing is chained past it', () => {
  const a = prepare('wasm'), b = prepare('none');
  // irqCheck set before every run: limit 0, so each compiled function runs one block (a loop one pass).
  for (const m of [a, b]) {
    for (let guard = 0; guard < 1_000_000; guard++) {
      m.pe.irqCheck = true;
      if (m.pe.run(5) === RunExit.El2) break;
    }
  }
  assert.deepEqual(state(a, 9), state(b, 9));
});

test('where WebAssembly cannot be compiled, blocks fall back and the state is the same', () => {
  const real = WebAssembly.Module;
  const a = prepare('wasm'), b = prepare('none');
  (WebAssembly as { Module: unknown }).Module = function (): never {
    throw new WebAssembly.CompileError('WebAssembly.Module(): Wasm code generation disallowed by embedder');
  };
  try {
    runSliced(a, 1_000_000);
  } finally {
    (WebAssembly as { Module: unknown }).Module = real;
  }
  runSliced(b, 1_000_000);
  assert.equal(a.pe.wasmTier, false, 'the PE stopped trying');
  assert.deepEqual(state(a, 9), state(b, 9));
});

test('MRS of plain registers runs in WebAssembly, and leaves for the closure where the read must trap', () => {
  // mrs x1, tpidr_el1; mrs x2, sp_el0; add x3, x1, x2; msr spsel, #0; mrs x4, sp_el0 (UNDEFINED: PSTATE.SP = 0)
  const mrsTpidr = ins('MRS', { o0: 1, op1: 0, CRn: 13, CRm: 0, op2: 4, Rt: 1 });
  const mrsSpEl0 = (rt: number): number => ins('MRS', { o0: 1, op1: 0, CRn: 4, CRm: 1, op2: 0, Rt: rt });
  const code = [
    mrsTpidr,
    mrsSpEl0(2),
    ins('ADD_sreg', { sf: 1, op: 0, S: 0, shift: 0, Rm: 2, imm6: 0, Rn: 1, Rd: 3 }),
    ins('MSR_imm', { op1: 0, CRm: 0, op2: 5 }),
    mrsSpEl0(4),
    HVC(0),
  ];
  while (code.length < 0x200) code.push(NOP());
  code.push(HVC(1)); // VBAR_EL1 + 0x000: synchronous exception from the current EL with SP_EL0
  const run = (tier: 'wasm' | 'none'): unknown => {
    const m = machine(code, 1 << 20, true);
    m.pe.jitThreshold = tier === 'wasm' ? 0 : Infinity;
    m.pe.jsThreshold = Infinity;
    m.pe.writeSysreg('VBAR_EL1', BigInt(RAM_BASE + 0x800));
    m.pe.writeSysreg('TPIDR_EL1', 0x1234_5678_9abc_def0n);
    m.pe.spBank[1] = 0x10; // SP_EL0 = 0x10_0000_0000 (EL1 runs on SP_EL1)
    assert.equal(m.pe.run(10_000), RunExit.El2);
    const esr = m.pe.readSysreg('ESR_EL1'), elr = m.pe.readSysreg('ELR_EL1');
    return { x: [1, 2, 3, 4].map((i) => m.pe.getX(i).toString(16)), esr: esr.toString(16), elr: elr.toString(16), icount: m.pe.icount };
  };
  const a = run('wasm'), b = run('none');
  assert.deepEqual(a, b);
  assert.equal((b as { x: string[] }).x[2], (0x1234_5678_9abc_def0n + 0x10_0000_0000n).toString(16));
  assert.equal((b as { esr: string }).esr, (1 << 25).toString(16), 'UNDEFINED (EC 0, IL) for SP_EL0 with PSTATE.SP = 0');
  // The first block (mrs, mrs, add, then msr spsel) is written in WebAssembly up to the MSR.
  const m = machine(code, 1 << 20, true);
  const words = Int32Array.from(code.slice(0, 4));
  const w = wasmBlockCode(m.pe, { pa: RAM_BASE, n: 4 } as Block, words);
  assert.equal(w?.covered, 3);
});
