/**
 * The WebAssembly tier: a warm block becomes a WebAssembly function,
 * written by the emitters of jit/wasm from the same decoded fields as the
 * closures, compiled with others in one module (WASM_BATCH). V8 compiles a
 * module at once with its baseline compiler (Liftoff, some 15 microseconds
 * a block) and later optimizes hot functions in the background, so unlike
 * generated JavaScript (jit/compile.ts) a block pays off after about a
 * thousand runs.
 *
 * The function covers the block from its first instruction up to the first
 * one without an emitter; the closures run the rest. It returns with the
 * protocol of CompiledBlock through a small JavaScript adapter (wasmBlock)
 * that passes the run loop's state in and copies NZCV and PC back.
 * Every block function sits in one table per PE and is called through
 * its dispatcher (wasm/dispatch.ts), so that V8 sees a single call target.
 */
import type { Block, PE } from '../../pe.js';
import type { HostArena } from '../../arena.js';
import type { CompiledBlock } from '../compile.js';
import { blockWords, jitStats } from '../compile.js';
import type { Fields } from '../../decoder.js';
import { sext } from '../../insn/regs.js';
import { W, moduleBytes } from './encoder.js';
import { CHAIN_BYTES, CHAIN_ENTRIES, dispatcherBytes } from './dispatch.js';
import { BLOCK_LOCALS, BLOCK_PARAMS, BLOCK_RESULTS, RET_BRANCH_TO, RET_PC, Scratch, WasmBlock } from './block.js';
import { WasmEmitter, wasmEmitters } from './emitters.js';

let emitters: Map<string, WasmEmitter> | null = null;

type Dispatch = (index: number, lo: number, hi: number, tlb: number, limit: number, excl: number) => number;

/** A PE's dispatcher (wasm/dispatch.ts), its table of block functions and its chain cache. */
class WasmRuntime {
  readonly run: Dispatch;
  readonly table: WebAssembly.Table;
  readonly i32: Int32Array;
  /** Arena offset of the chain cache. */
  readonly cache: number;
  /** The block of each table entry. */
  readonly blocks: Block[] = [];

  constructor(pe: PE, arena: HostArena) {
    this.cache = arena.alloc(CHAIN_BYTES, 16);
    if (this.cache < 0) throw new Error('the host arena has no room for the chain cache');
    this.i32 = new Int32Array(arena.buffer);
    this.dropAll();
    const mod = new WebAssembly.Module(dispatcherBytes(pe.scratchHost, this.cache, 1024));
    const inst = new WebAssembly.Instance(mod, { m: { mem: arena.memory } });
    this.run = inst.exports.f0 as Dispatch;
    this.table = inst.exports.t as WebAssembly.Table;
  }

  add(fn: unknown, b: Block): number {
    if (this.blocks.length >= this.table.length) this.table.grow(this.table.length);
    const idx = this.blocks.length;
    this.table.set(idx, fn);
    this.blocks.push(b);
    // The chain cache entry for the block's PA: { pa: int64, index: int32 }.
    const e = (this.cache >> 2) + 4 * ((b.pa >>> 2) & (CHAIN_ENTRIES - 1));
    this.i32[e] = b.pa % 4294967296;
    this.i32[e + 1] = Math.floor(b.pa / 4294967296);
    this.i32[e + 2] = idx;
    return idx;
  }

  /** Forgets block `b` (null: every block) in the chain cache. */
  drop(b: Block | null): void {
    if (b === null) return this.dropAll();
    const e = (this.cache >> 2) + 4 * ((b.pa >>> 2) & (CHAIN_ENTRIES - 1));
    if (this.i32[e + 2] === b.wasmIdx) this.i32[e] = this.i32[e + 1] = -1;
  }

  private dropAll(): void {
    this.i32.fill(-1, this.cache >> 2, (this.cache + CHAIN_BYTES) >> 2);
  }
}

const runtimes = new WeakMap<PE, WasmRuntime>();

/** A dropped block (or all of a PE's blocks, b = null) must not be chained to any more. */
export function wasmBlocksDropped(pe: PE, b: Block | null): void {
  runtimes.get(pe)?.drop(b);
}

/**
 * Writes block `b` (its instruction words `words`) as a WebAssembly function
 * body, up to its first instruction without an emitter. Returns null when
 * that is the first one.
 */
export function wasmBlockCode(pe: PE, b: Block, words: Int32Array): { c: WasmBlock; covered: number } | null {
  emitters ??= wasmEmitters();
  const startOff = b.pa % 4096;
  // The instructions the tier has emitters for, decoded once.
  const insns: { em: WasmEmitter; fields: Fields; name: string }[] = [];
  for (const w of words) {
    const d = pe.decoder.decode(w);
    const em = d === null ? undefined : emitters.get(d.c.def.name);
    if (em === undefined) break;
    insns.push({ em, fields: d!.fields, name: d!.c.def.name });
  }
  if (insns.length === 0) return null;
  // A conditional branch back to the block's start makes the body a loop.
  const c = new WasmBlock(pe.xHost, pe.scratchHost, pe.spBankHost, pe.srHost, startOff, insns.some((d, k) => branchesTo(d.name, d.fields, 4 * k, 0)));
  c.prologue();
  if (c.isLoop) c.beginLoop();
  let covered = 0;
  let ended = false;
  for (let k = 0; k < insns.length && !ended; k++) {
    const off = startOff + 4 * k;
    const mark = c.code.length;
    const e = insns[k].em(c, insns[k].fields, { off, k });
    if (e === false) {
      c.code.length = mark;
      break;
    }
    covered = k + 1;
    if (e === true) continue;
    if (e === 'exit') {
      ended = true;
      continue;
    }
    if (e.pre !== null) e.pre();
    if (e.cond === null) {
      // B, BL: always taken; the last instruction of any block.
      c.setPc(() => c.pageRel(e.delta)).exit(RET_PC | (k + 1));
      ended = true;
    } else if (e.delta === startOff && c.isLoop) {
      e.cond();
      c.loopBack(k + 1);
    } else if (k === b.n - 1) {
      c.setPc(() => {
        c.pageRel(e.delta).pageRel(off + 4);
        e.cond!();
        c.op(W.select);
      }).exit(RET_PC | (k + 1));
      ended = true;
    } else {
      e.cond();
      c.if(() => c.setPc(() => c.pageRel(e.delta)).exit(RET_PC | (k + 1)));
    }
  }
  if (covered === 0) return null;
  if (!ended) c.exit(covered);
  if (c.isLoop) c.endLoop();
  c.op(W.unreachable, W.end);
  return { c, covered };
}

/** Whether the instruction `name` at byte `at` of its block is a conditional branch to byte `target`. */
function branchesTo(name: string, f: Fields, at: number, target: number): boolean {
  if (name !== 'B_cond' && name !== 'CBZ' && name !== 'TBZ') return false;
  return at + 4 * (name === 'TBZ' ? sext(f.imm14, 14) : sext(f.imm19, 19)) === target;
}

/** Blocks compiled together in one module (V8's cost per module is most of the cost of a small one). */
export const WASM_BATCH = 16;

/** Function bodies written for a PE's hot blocks, waiting for their batch to be compiled. */
const pendingBlocks = new WeakMap<PE, { b: Block; code: number[] }[]>();

/**
 * Writes block `b` for the WebAssembly tier and queues it: the block keeps
 * running on its closures (marked with wasmIdx = WASM_PENDING) until
 * WASM_BATCH blocks are waiting or it has run twice its threshold
 * (flushWasmBlocks; at once with jitThreshold 0). Returns false when its first instruction has no
 * emitter or the PE has no arena.
 */
export function queueWasmBlock(pe: PE, b: Block): boolean {
  const arena = pe.bus.arena;
  if (arena === null) return false;
  const w = wasmBlockCode(pe, b, blockWords(pe, b));
  if (w === null) return false;
  let q = pendingBlocks.get(pe);
  if (q === undefined) pendingBlocks.set(pe, (q = []));
  q.push({ b, code: w.c.code });
  b.wasmIdx = WASM_PENDING;
  // With jitThreshold 0 (NESTVISOR_JIT=always, the tests) every block is compiled on its first run.
  if (q.length >= WASM_BATCH || pe.jitThreshold === 0) flushWasmBlocks(pe);
  return true;
}

/** wasmIdx of a block written and waiting for its batch. */
export const WASM_PENDING = -2;

/**
 * Compiles the PE's waiting blocks (those still valid) as one module and
 * gives each its compiled function. A module the host refuses is split, so
 * that one bad block (an emitter's bug) stays on its closures alone; a host
 * that compiles nothing (no WebAssembly, or a page whose
 * Content-Security-Policy forbids it) ends the tier: pe.wasmTier = false.
 */
export function flushWasmBlocks(pe: PE): void {
  const q = pendingBlocks.get(pe) ?? [];
  pendingBlocks.delete(pe);
  const live = q.filter((e) => e.b.valid && e.b.wasmIdx === WASM_PENDING);
  if (live.length > 0) compileBatch(pe, live);
}

function compileBatch(pe: PE, batch: { b: Block; code: number[] }[]): void {
  const arena = pe.bus.arena!;
  let rt = runtimes.get(pe);
  let fns: unknown[];
  try {
    if (rt === undefined) runtimes.set(pe, (rt = new WasmRuntime(pe, arena)));
    const bytes = moduleBytes({ types: [[BLOCK_PARAMS, BLOCK_RESULTS]], funcs: batch.map((e) => ({ type: 0, locals: BLOCK_LOCALS, code: e.code })) });
    const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { m: { mem: arena.memory } }).exports;
    fns = batch.map((_, i) => exports[`f${i}`]);
  } catch (e) {
    const message = (e as Error).message;
    if (!(e instanceof WebAssembly.CompileError) || rt === undefined || /disallow/i.test(message)) {
      pe.wasmTier = false;
      jitStats.lastError = `WebAssembly: ${message}`;
    } else if (batch.length > 1) {
      const half = batch.length >> 1;
      compileBatch(pe, batch.slice(0, half));
      compileBatch(pe, batch.slice(half));
      return;
    } else jitStats.lastError = `block at PA 0x${batch[0].b.pa.toString(16)} (WebAssembly): ${message}`;
    for (const { b } of batch) {
      b.wasmIdx = -1;
      b.noWasm = true;
    }
    return;
  }
  batch.forEach(({ b }, i) => {
    b.wasmIdx = rt!.add(fns[i], b);
    b.fn = wasmBlock(rt!, b.wasmIdx, pe.scratchHost >> 2);
    b.compiled = true;
  });
}

/**
 * The adapter between the run loop and the dispatcher: NZCV into the
 * scratch area and back (blocks run one into the next, so the words must
 * always be current), the budget for loops and chains, and what the
 * dispatcher reports: the instructions of the blocks before the last, the
 * last block (PE.chained) with its VA and fall-through PC, and the PC the
 * last one left with.
 */
function wasmBlock(rt: WasmRuntime, index: number, sc: number): CompiledBlock {
  const m = rt.i32;
  const run = rt.run;
  return (pe) => {
    m[sc] = pe.n;
    m[sc + 1] = pe.z;
    m[sc + 2] = pe.c;
    m[sc + 3] = pe.v;
    m[sc + (Scratch.MODE >> 2)] = pe.el | (pe.spsel << 2);
    const limit = pe.irqCheck || pe.onBlock !== null ? 0 : Math.min(Math.min(pe.runEnd, pe.timer.deadline) - pe.icount, 0x7fffffff);
    const r = run(index, pe.blockLo, pe.blockHi, pe.tlb.base, limit, Math.floor(pe.exclPa / 4096) * 4096);
    pe.n = m[sc];
    pe.z = m[sc + 1];
    pe.c = m[sc + 2];
    pe.v = m[sc + 3];
    pe.icount += m[sc + (Scratch.CHAINED >> 2)];
    const last = m[sc + (Scratch.LAST_IDX >> 2)];
    if (last !== index) {
      const lb = rt.blocks[last];
      pe.chained = lb;
      const lo = m[sc + (Scratch.LAST_LO >> 2)] >>> 0, hi = m[sc + (Scratch.LAST_HI >> 2)] >>> 0;
      pe.blockLo = lo;
      pe.blockHi = hi;
      const next = lo + 4 * lb.n;
      pe.pcLo = next >>> 0;
      pe.pcHi = next > 0xffffffff ? (hi + 1) >>> 0 : hi;
    }
    if (r < RET_PC) return r;
    const lo = m[sc + (Scratch.PC >> 2)], hi = m[sc + (Scratch.PC >> 2) + 1];
    if (r >= RET_BRANCH_TO) pe.branchTo(lo, hi);
    else {
      pe.pcLo = lo >>> 0;
      pe.pcHi = hi >>> 0;
    }
    return -(r & 0xff);
  };
}
