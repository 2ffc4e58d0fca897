/**
 * Just enough of the WebAssembly binary format (WebAssembly Core
 * Specification, "Binary Format") to write the processor's compiled blocks:
 * LEB128 numbers, the handful of sections a block module has, and opcode
 * values by their specification names.
 */

/** Opcodes by their names in the specification (section 5.4, Instructions). */
export const enum W {
  unreachable = 0x00, block = 0x02, loop = 0x03, if = 0x04, else = 0x05, end = 0x0b,
  br = 0x0c, br_if = 0x0d, return = 0x0f, call_indirect = 0x11, select = 0x1b,
  local_get = 0x20, local_set = 0x21, local_tee = 0x22,
  i32_load = 0x28, i64_load = 0x29, f64_load = 0x2b,
  i32_load8_s = 0x2c, i32_load8_u = 0x2d, i32_load16_s = 0x2e, i32_load16_u = 0x2f,
  i64_load8_s = 0x30, i64_load8_u = 0x31, i64_load16_s = 0x32, i64_load16_u = 0x33, i64_load32_s = 0x34, i64_load32_u = 0x35,
  i32_store = 0x36, i64_store = 0x37, i64_store8 = 0x3c, i64_store16 = 0x3d, i64_store32 = 0x3e,
  i32_const = 0x41, i64_const = 0x42,
  i64_trunc_f64_u = 0xb1,
  i32_eqz = 0x45, i32_eq = 0x46, i32_ne = 0x47, i32_lt_u = 0x49, i32_gt_u = 0x4b, i32_le_u = 0x4d, i32_ge_s = 0x4e,
  i64_eqz = 0x50, i64_eq = 0x51, i64_ne = 0x52, i64_lt_u = 0x54, i64_le_u = 0x58,
  f64_eq = 0x61,
  i32_clz = 0x67, i64_clz = 0x79, i32_div_s = 0x6d, i32_div_u = 0x6e, i64_div_s = 0x7f, i64_div_u = 0x80,
  i32_add = 0x6a, i32_sub = 0x6b, i32_mul = 0x6c, i32_and = 0x71, i32_or = 0x72, i32_xor = 0x73,
  i32_shl = 0x74, i32_shr_s = 0x75, i32_shr_u = 0x76, i32_rotr = 0x78,
  i64_add = 0x7c, i64_sub = 0x7d, i64_mul = 0x7e, i64_and = 0x83, i64_or = 0x84, i64_xor = 0x85,
  i64_shl = 0x86, i64_shr_s = 0x87, i64_shr_u = 0x88, i64_rotr = 0x8a,
  i32_wrap_i64 = 0xa7, i64_extend_i32_s = 0xac, i64_extend_i32_u = 0xad,
  i64_extend8_s = 0xc2, i64_extend16_s = 0xc3, i64_extend32_s = 0xc4,
}

/** Value types. */
export const enum T {
  i32 = 0x7f,
  i64 = 0x7e,
  f64 = 0x7c,
  void = 0x40,
  funcref = 0x70,
}

export function uleb(out: number[], v: number): void {
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
}

export function sleb32(out: number[], v: number): void {
  v |= 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

/** A signed 64-bit constant (compile time only: never on the run path). */
export function sleb64(out: number[], v: bigint): void {
  v = BigInt.asIntN(64, v);
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

/** Function code being written: opcodes and their immediates, by the specification's names. */
export class CodeWriter {
  readonly code: number[] = [];

  op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }

  get(l: number): this { return this.op(W.local_get, l); }
  set(l: number): this { return this.op(W.local_set, l); }
  tee(l: number): this { return this.op(W.local_tee, l); }
  i32(v: number): this { this.code.push(W.i32_const); sleb32(this.code, v); return this; }
  i64(v: bigint | number): this { this.code.push(W.i64_const); sleb64(this.code, BigInt(v)); return this; }
  /** A load or store with the natural alignment `align` (log2) and a constant offset. */
  mem(opcode: number, align: number, offset: number): this {
    this.code.push(opcode, align);
    uleb(this.code, offset);
    return this;
  }
}

function section(out: number[], id: number, body: number[]): void {
  out.push(id);
  uleb(out, body.length);
  for (const b of body) out.push(b);
}

function name(out: number[], s: string): void {
  uleb(out, s.length);
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
}

function funcType(out: number[], params: readonly T[], results: readonly T[]): void {
  out.push(0x60);
  uleb(out, params.length);
  out.push(...params);
  uleb(out, results.length);
  out.push(...results);
}

/** A function: its type (index into ModuleSpec.types), its locals beyond the parameters as (count, type) runs, and its code up to and including the final `end`. */
export interface FunctionBody {
  readonly type: number;
  readonly locals: readonly (readonly [number, T])[];
  readonly code: readonly number[];
}

export interface ModuleSpec {
  /** Function types as [params, results]. */
  readonly types: readonly (readonly [readonly T[], readonly T[]])[];
  readonly funcs: readonly FunctionBody[];
  /** When set, a table of this many function references, exported as "t". */
  readonly table?: number;
}

/**
 * A module importing memory `m.mem` (any size), with functions exported as
 * "f0", "f1", ... and optionally a table.
 */
export function moduleBytes(spec: ModuleSpec): Uint8Array<ArrayBuffer> {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const types: number[] = [];
  uleb(types, spec.types.length);
  for (const [p, r] of spec.types) funcType(types, p, r);
  section(out, 1, types);
  const imports: number[] = [];
  uleb(imports, 1);
  name(imports, 'm');
  name(imports, 'mem');
  imports.push(0x02, 0x00, 0x00); // memory, limits: min 0, no max
  section(out, 2, imports);
  const funcs: number[] = [];
  uleb(funcs, spec.funcs.length);
  for (const f of spec.funcs) uleb(funcs, f.type);
  section(out, 3, funcs);
  if (spec.table !== undefined) {
    const tables: number[] = [];
    uleb(tables, 1);
    tables.push(T.funcref, 0x00);
    uleb(tables, spec.table);
    section(out, 4, tables);
  }
  const exports: number[] = [];
  uleb(exports, spec.funcs.length + (spec.table !== undefined ? 1 : 0));
  spec.funcs.forEach((_, i) => {
    name(exports, `f${i}`);
    exports.push(0x00);
    uleb(exports, i);
  });
  if (spec.table !== undefined) {
    name(exports, 't');
    exports.push(0x01, 0x00);
  }
  section(out, 7, exports);
  const code: number[] = [];
  uleb(code, spec.funcs.length);
  for (const b of spec.funcs) {
    const body: number[] = [];
    uleb(body, b.locals.length);
    for (const [count, type] of b.locals) {
      uleb(body, count);
      body.push(type);
    }
    for (const x of b.code) body.push(x);
    uleb(code, body.length);
    for (const x of body) code.push(x);
  }
  section(out, 10, code);
  return new Uint8Array(out);
}
