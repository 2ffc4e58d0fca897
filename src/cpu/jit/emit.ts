/**
 * The JavaScript-source tier's building blocks: what an instruction emitter
 * returns, and the snippets emitters share (64-bit AddWithCarry, shifts by a
 * constant, NZCV, condition tests).
 *
 * The closures of src/cpu/insn stay the reference semantics of every
 * instruction: an emitter writes the same operation as JavaScript source with
 * its decoded fields as literals, and an instruction without an emitter runs
 * its closure from the compiled block. The differential tests run both.
 *
 * Generated code sees `pe` (the PE), `x` (pe.x: X registers as lo/hi int32
 * pairs, slots as in regs.ts) and `H` (jit/helpers.ts). Each emitter's code
 * is wrapped in its own `{ }` so that its `const`s never collide.
 */
import type { Fields } from '../decoder.js';

/** Where the instruction sits: byte offset in its 4 KiB page, its index in the block. */
export interface EmitSite {
  readonly off: number;
  /** Index of the instruction in its block (pe.opIndex while it runs). */
  readonly k: number;
}

/**
 * A PC-relative branch: `pre` runs first (BL's link), then PC becomes the
 * block's page base + `delta` when `cond` (a JavaScript boolean expression)
 * holds. The compiler turns a branch back to the block's own start into a loop.
 */
export interface BranchEmit {
  readonly pre: string;
  readonly cond: string;
  readonly delta: number;
}

/** Source of one instruction, a branch, or null when the closure should run instead. */
export type Emitted = string | BranchEmit | null;
export type Emitter = (f: Fields, s: EmitSite) => Emitted;

/** Integer literal for generated source (int32 range or small doubles). */
export const lit = (v: number): string => (v < 0 ? `(${v})` : String(v));

/**
 * AddWithCarry for 64 bits of (alo, ahi) + (blo, bhi) + cin into slot `d`
 * (none when d < 0), setting NZCV as `flags` says. Operands are int32
 * expressions evaluated once; `cin` is a literal or an expression giving 0 or 1.
 */
export function add64(d: number, alo: string, ahi: string, blo: string, bhi: string, cin: string, flags: Flags): string {
  let s = `const al = ${alo}, ah = ${ahi}, bl = ${blo}, bh = ${bhi};`;
  s += `const lo = (al >>> 0) + (bl >>> 0)${cin === '0' ? '' : ` + ${cin}`};`;
  s += 'const hi = (ah >>> 0) + (bh >>> 0) + (lo > 4294967295 ? 1 : 0); const rh = hi | 0;';
  if (flags !== false) s += setFlags(flags, 'rh >>> 31', '((lo >>> 0) | rh) === 0 ? 1 : 0', 'hi > 4294967295 ? 1 : 0', '((~(ah ^ bh) & (ah ^ rh)) >>> 31) & 1');
  if (d >= 0) s += `x[${d}] = lo | 0; x[${d + 1}] = rh;`;
  return s;
}

/** AddWithCarry for 32 bits, zero-extended into slot `d`. */
export function add32(d: number, a: string, b: string, cin: string, flags: Flags): string {
  let s = `const a = ${a}, b = ${b}; const s = (a >>> 0) + (b >>> 0)${cin === '0' ? '' : ` + ${cin}`}; const r = s | 0;`;
  if (flags !== false) s += setFlags(flags, 'r >>> 31', 'r === 0 ? 1 : 0', 's > 4294967295 ? 1 : 0', '((~(a ^ b) & (a ^ r)) >>> 31) & 1');
  if (d >= 0) s += `x[${d}] = r; x[${d + 1}] = 0;`;
  return s;
}

/**
 * Where AddWithCarry's NZCV go: nowhere (false), PSTATE (true), or locals
 * fn, fz, fc, fv (for CCMP, which then selects between them and its immediate).
 */
export type Flags = boolean | 'locals';

function setFlags(to: true | 'locals', n: string, z: string, c: string, v: string): string {
  if (to === 'locals') return `const fn = ${n}, fz = ${z}, fc = ${c}, fv = ${v};`;
  return `pe.n = ${n}; pe.z = ${z}; pe.c = ${c}; pe.v = ${v};`;
}

/** NZCV of the flag-setting logical operations: N and Z from the result, C = V = 0. */
export const nz64 = (lo: string, hi: string): string => `pe.n = ${hi} >>> 31; pe.z = (${lo} | ${hi}) === 0 ? 1 : 0; pe.c = 0; pe.v = 0;`;
export const nz32 = (r: string): string => `pe.n = ${r} >>> 31; pe.z = ${r} === 0 ? 1 : 0; pe.c = 0; pe.v = 0;`;

/**
 * A 64-bit value (l, h: names of int32 locals) shifted by a constant amount
 * 0..63: `type` 0 LSL, 1 LSR, 2 ASR, 3 ROR. Returns [lo, hi] expressions.
 */
export function shift64(type: number, amount: number, l: string, h: string): [string, string] {
  const s = amount & 63;
  if (s === 0) return [l, h];
  if (s === 32) {
    switch (type) {
      case 0: return ['0', l];
      case 1: return [h, '0'];
      case 2: return [h, `(${h} >> 31)`];
      default: return [h, l];
    }
  }
  if (s < 32) {
    switch (type) {
      case 0: return [`(${l} << ${s})`, `((${h} << ${s}) | (${l} >>> ${32 - s}))`];
      case 1: return [`((${l} >>> ${s}) | (${h} << ${32 - s}))`, `(${h} >>> ${s})`];
      case 2: return [`((${l} >>> ${s}) | (${h} << ${32 - s}))`, `(${h} >> ${s})`];
      default: return [`((${l} >>> ${s}) | (${h} << ${32 - s}))`, `((${h} >>> ${s}) | (${l} << ${32 - s}))`];
    }
  }
  const t = s - 32;
  switch (type) {
    case 0: return ['0', `(${l} << ${t})`];
    case 1: return [`(${h} >>> ${t})`, '0'];
    case 2: return [`(${h} >> ${t})`, `(${h} >> 31)`];
    default: return [`((${h} >>> ${t}) | (${l} << ${32 - t}))`, `((${l} >>> ${t}) | (${h} << ${32 - t}))`];
  }
}

/** A 32-bit value (int32 local `v`) shifted by a constant 0..31: LSL, LSR, ASR, ROR. */
export function shift32(type: number, s: number, v: string): string {
  if (s === 0) return v;
  switch (type) {
    case 0: return `(${v} << ${s})`;
    case 1: return `(${v} >>> ${s})`;
    case 2: return `(${v} >> ${s})`;
    default: return `((${v} >>> ${s}) | (${v} << ${32 - s}))`;
  }
}

/** ConditionHolds(cond) as a JavaScript boolean expression over pe.n/z/c/v. */
export function condExpr(c: number): string {
  let r: string;
  switch (c >> 1) {
    case 0: r = 'pe.z === 1'; break;
    case 1: r = 'pe.c === 1'; break;
    case 2: r = 'pe.n === 1'; break;
    case 3: r = 'pe.v === 1'; break;
    case 4: r = '(pe.c === 1 && pe.z === 0)'; break;
    case 5: r = 'pe.n === pe.v'; break;
    case 6: r = '(pe.n === pe.v && pe.z === 0)'; break;
    default: return 'true'; // AL and NV
  }
  return c & 1 ? `!(${r})` : r;
}
