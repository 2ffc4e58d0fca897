/**
 * The second execution tier: a hot decoded block becomes one JavaScript
 * function generated from source (`new Function`), each instruction written
 * out by its emitter (jit/emit_*.ts) with its fields as literals, so that V8
 * compiles the block as straight-line code with no call per instruction.
 * Instructions without an emitter call their closure (the reference
 * semantics) from the generated code.
 *
 * A block with a conditional branch back to its own start (a counted loop,
 * a copy or checksum loop) becomes a loop inside the function:
 * it keeps iterating while the run budget, the timer deadline and the
 * interrupt check allow, with the instruction count exact at every exit, as
 * if the run loop had dispatched each iteration.
 *
 * Invariants the run loop relies on:
 * - on entry pe.blockLo/blockHi hold the block's VA and PC the fall-through
 *   address; a branch sets PC;
 * - pe.opIndex is the index of the instruction that raised an exception
 *   (set before every closure call; inline code cannot raise one: it leaves
 *   the block with `return k` instead, see CompiledBlock);
 * - the run loop adds the instructions of the last pass through the block
 *   to pe.icount after the function returns: a loop counts the iterations
 *   before the last one itself.
 */
import type { PE, Block } from '../pe.js';
import type { Decoder } from '../decoder.js';
import { BranchEmit, Emitter } from './emit.js';
import { jitEmitters } from './emitters.js';
import * as H from './helpers.js';

let emitters: Map<string, Emitter> | null = null;

/**
 * What a compiled block returns: undefined when it ran to its end; -r when
 * it left after r instructions (a taken conditional branch inside the block,
 * or a loop that stopped iterating for the run loop's sake, with PC then the
 * block's own start); k >= 0 when it left before instruction k took any
 * effect (the run loop runs the closures from k on).
 */
export type CompiledBlock = (pe: PE) => number | undefined;

/** The last block the host could not compile, and why (see compileBlock). */
export const jitStats = { lastError: '' };

/**
 * Generates the source of block `b` whose instruction words are `words`.
 * Exported for tests and for `-d jit`-style inspection.
 */
export function blockSource(decoder: Decoder, b: Block, words: Int32Array): { src: string; inline: number; loop: boolean } {
  emitters ??= jitEmitters();
  const n = b.n;
  const startOff = b.pa % 4096;
  let body = '';
  let inline = 0;
  let loop = false;
  for (let k = 0; k < n; k++) {
    const off = startOff + 4 * k;
    const d = decoder.decode(words[k]);
    const em = d === null ? undefined : emitters.get(d.c.def.name);
    const e = em === undefined || d === null ? null : em(d.fields, { off, k });
    if (e === null) {
      body += `${CALL_MARK} pe.opIndex = ${k}; o[${k}](pe); ${CALL_MARK}\n`;
      continue;
    }
    inline++;
    if (typeof e === 'string') {
      body += `{ ${e} }\n`;
      continue;
    }
    // A PC-relative branch: the last instruction of its block, or a conditional branch inside a superblock
    // (InsnFlags.CondBranch), which leaves the block when taken with k + 1 instructions retired (returned
    // negated). PC is written without a branch in the generated code (see mem.ts on why untaken paths are avoided).
    const br: BranchEmit = e;
    if (br.pre !== '') body += `{ ${br.pre} }\n`;
    const pcTo = (delta: string): string =>
      `{ const s = pe.blockLo - (pe.blockLo & 4095) + ${delta}; pe.pcLo = s >>> 0; pe.pcHi = (pe.blockHi + Math.floor(s / 4294967296)) >>> 0; }\n`;
    if (br.delta === startOff && br.cond !== 'true') {
      loop = true;
      // Back to the block's start: iterate inside the function while the count stays below the budget and the
      // timer deadline, nothing asked for attention, and the block is still valid (a store in it may have
      // overwritten its own code). When the loop stops, PC is the block's start.
      body += `if (${br.cond}) { const c = pe.icount + ${k + 1}; if (c >= pe.runEnd || c >= pe.timer.deadline || pe.irqCheck || !blk.valid || pe.onBlock !== null) { pe.pcLo = pe.blockLo; pe.pcHi = pe.blockHi; return ${-(k + 1)}; } pe.icount = c; continue; }\n`;
    } else if (br.cond === 'true') {
      // B, BL, or B.AL/B.NV (always taken; inside a superblock it leaves it).
      body += pcTo(String(br.delta));
      if (k < n - 1) body += `return ${-(k + 1)};\n`;
    } else if (k === n - 1) {
      body += pcTo(`(${br.cond} ? ${br.delta} : ${off + 4})`);
    } else {
      body += `const t${k} = ${br.cond};\n${pcTo(`(t${k} ? ${br.delta} : ${startOff + 4 * n})`)}if (t${k}) return ${-(k + 1)};\n`;
    }
  }
  // (The final return is where cacheRegisters writes the registers back at the block's end.)
  const code = loop ? `for (;;) {\n${body}return;\n}` : `${body}return;`;
  // Registers in locals only pay where no closure call needs them written back and reloaded.
  const src = inline === n ? cacheRegisters(code) : code.split(CALL_MARK).join('');
  return { src: `const x = pe.x;\n${src}`, inline, loop };
}

/** Brackets every closure call in generated code, for cacheRegisters. */
const CALL_MARK = '/*call*/';

/**
 * Keeps the X registers a block uses in JavaScript locals (X<slot>) instead
 * of the register file, so that V8 holds them in machine registers (across
 * a loop's iterations too): loaded on entry, written back to pe.x before
 * every return and every closure call (which reads and writes pe.x), and
 * reloaded after the call (blockSource uses it for blocks without calls).
 * Emitters write registers only as `x[slot] = ...;` with a literal slot,
 * and wrap nothing: the store to the Int32Array did the
 * wrapping to 32 bits, so the locals get `| 0`. Slots 62/63 (XZR) read zero.
 */
function cacheRegisters(body: string): string {
  const used = new Set<number>();
  const written = new Set<number>();
  for (const m of body.matchAll(/x\[(\d+)\]/g)) used.add(Number(m[1]));
  let out = body.replace(/x\[(\d+)\] = ([^;]*);/g, (_, slot: string, e: string) => {
    written.add(Number(slot));
    return `X${slot} = (${e}) | 0;`;
  });
  out = out.replace(/x\[(\d+)\]/g, 'X$1');
  const slots = [...used].sort((a, b) => a - b);
  const writeBack = [...written].filter((n) => n !== 62 && n !== 63).sort((a, b) => a - b).map((n) => `x[${n}] = X${n};`).join(' ');
  const reload = slots.filter((n) => n !== 62 && n !== 63).map((n) => `X${n} = x[${n}];`).join(' ');
  out = out.replace(/return([^;]*);/g, `{ ${writeBack} return$1; }`);
  out = out.split(CALL_MARK).map((part, i) => (i % 2 === 1 ? `${writeBack} ${part} ${reload}` : part)).join('');
  const decl = slots.map((n) => (n === 62 || n === 63 ? `let X${n} = 0;` : `let X${n} = x[${n}];`)).join(' ');
  return `${decl}\n${out}`;
}

/** The instruction words of valid block `b`, re-read from guest memory (which cannot have changed while it is valid). */
export function blockWords(pe: PE, b: Block): Int32Array {
  const r = pe.bus.findRam(b.pa)!;
  const o = b.pa - r.base;
  const words = new Int32Array(b.n);
  for (let k = 0; k < b.n; k++) words[k] = r.view.getInt32(o + 4 * k, true);
  return words;
}

/**
 * Compiles block `b` (its words from blockWords), or returns null when the host cannot: a page whose
 * Content-Security-Policy forbids `new Function` (the PE then stops
 * compiling: jitThreshold = Infinity), or generated source that does not
 * parse (a bug in an emitter: that block stays on its closures, and the
 * message is kept in jitStats.lastError).
 */
export function compileBlock(pe: PE, b: Block): CompiledBlock | null {
  const { src } = blockSource(pe.decoder, b, blockWords(pe, b));
  let make: (o: unknown, blk: Block, h: typeof H) => CompiledBlock;
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    make = new Function('o', 'blk', 'H', `return function jitBlock(pe) {\n${src}\n};`) as typeof make;
  } catch (e) {
    jitStats.lastError = `block at PA 0x${b.pa.toString(16)}: ${(e as Error).message}`;
    if (e instanceof EvalError) pe.jitThreshold = Infinity;
    return null;
  }
  return make(b.ops, b, H);
}
