/**
 * Differential testing of the Advanced SIMD instructions against QEMU: the
 * protocol of tests/guests/simdcheck (a static Linux program run under
 * qemu-aarch64), the same cases run on a nestvisor PE, and a random case
 * generator drawing encodings from nestvisor's own instruction definitions.
 *
 * A case is a short block of instructions plus V0-V31, X0-X30, SP, FPSR and
 * NZCV, run over a 16 KiB data area; the outcome is the final registers and
 * the changed data words, or the signal of a fault (then only the signal and
 * the faulting PC are compared).
 *
 * nestvisor side: RAM at the harness's code (with the harness's trampoline
 * page, so literal loads see the same bytes) and data addresses; the block
 * runs at EL1h with the MMU off (HCR_EL2.DC set: Normal memory) and CPACR_EL1.FPEN=0b11, for exactly as many
 * instructions as the block has (its last word is the B to the epilogue, so
 * PC then is the epilogue). Every EL1 vector is an HVC, so a fault ends
 * pe.run() with an exit to EL2 and ESR_EL1 says which fault.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PhysicalBus } from '../../../src/cpu/bus.js';
import { CompiledDef, Decoder, Fields, InsnDef, InsnFlags, encode } from '../../../src/cpu/decoder.js';
import { PE, RunExit } from '../../../src/cpu/pe.js';
import { insnTable } from '../../../src/cpu/insn/table.js';
import { simdIntInsns } from '../../../src/cpu/insn/simd_int.js';
import { simdPermInsns } from '../../../src/cpu/insn/simd_perm.js';
import { ldstSimdInsns } from '../../../src/cpu/insn/ldst_simd.js';
import { cryptoInsns } from '../../../src/cpu/insn/crypto.js';
import { sr } from '../../../src/arch/sysregs.js';

export const CODE_BASE = 0x10000000;
export const TRAMP_BASE = CODE_BASE + 0x1000;
export const EPILOGUE = TRAMP_BASE + 0x200;
export const DATA_BASE = 0x20100000;
export const DATA_SIZE = 0x4000;
/** The EL1 vectors; code, data and vector pages use distinct slots of the direct-mapped TLB. */
const VEC_BASE = 0x40010000;
export const STATE_BYTES = 0x310;
const MAGIC = (s: string): number => (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) >>> 0;

export const HARNESS_ELF = fileURLToPath(new URL('../../../../tests/guests/simdcheck/simdcheck.elf', import.meta.url));
/** QEMU's model: an ARMv8.0 core with exactly the optional features nestvisor implements here (AES, PMULL, SHA1, SHA256). */
export const QEMU_CPU = 'cortex-a57';
export const FEATURES = { fp: true, aes: true, pmull: true, sha1: true, sha256: true };

/** The instruction definitions under test (this work's four groups). */
export const SIMD_GROUPS: Record<string, InsnDef[]> = { ldst: ldstSimdInsns, int: simdIntInsns, perm: simdPermInsns, crypto: cryptoInsns };

/** The PE's table plus the SIMD groups (until table.ts lists them). */
export function fullTable(): InsnDef[] {
  const base = insnTable();
  const names = new Set(base.map((d) => d.name));
  const extra = Object.values(SIMD_GROUPS).flat().filter((d) => !names.has(d.name));
  return [...base, ...extra];
}

export function simdDecoder(): Decoder {
  return new Decoder(fullTable(), new Set(['lse', 'crc32', ...Object.keys(FEATURES)]));
}

/** A PE with the SIMD features whose decoder knows the SIMD groups. */
export function simdPe(bus: PhysicalBus): PE {
  const pe = new PE(bus, FEATURES);
  (pe as unknown as { decoder: Decoder }).decoder = simdDecoder();
  return pe;
}

// ---- Cases and outcomes -------------------------------------------------------------------

export interface Case {
  /** The block, ending with the B to the epilogue. */
  words: number[];
  /** Input state in the harness's IN layout (STATE_BYTES). */
  state: Uint8Array;
  /** Description for failure reports. */
  text: string[];
}

export interface Outcome {
  sig: number;
  pc: bigint;
  state: Uint8Array;
  diffs: Map<number, bigint>;
  other?: string;
}

export function bToEpilogue(index: number): number {
  const off = EPILOGUE - (CODE_BASE + 4 * index);
  return (0x14000000 | ((off >> 2) & 0x3ffffff)) >>> 0;
}

function encodeBatch(pristine: Uint8Array, cases: readonly Case[]): Buffer {
  let size = 8 + DATA_SIZE + 4;
  for (const c of cases) size += 8 + STATE_BYTES + 4 * c.words.length;
  const b = Buffer.alloc(size);
  let o = 0;
  b.writeUInt32LE(MAGIC('NVSB'), o); o += 4;
  b.writeUInt32LE(1, o); o += 4;
  b.set(pristine, o); o += DATA_SIZE;
  for (const c of cases) {
    b.writeUInt32LE(MAGIC('CASE'), o); o += 4;
    b.writeUInt32LE(c.words.length, o); o += 4;
    b.set(c.state, o); o += STATE_BYTES;
    for (const w of c.words) { b.writeUInt32LE(w >>> 0, o); o += 4; }
  }
  b.writeUInt32LE(MAGIC('DONE'), o);
  return b;
}

function decodeResults(b: Buffer, n: number): { tramp: Uint8Array; outcomes: Outcome[] } {
  let o = 0;
  if (b.readUInt32LE(0) !== MAGIC('NVSH')) throw new Error('simdcheck: bad hello');
  o = 8;
  const tramp = new Uint8Array(b.subarray(o, o + 4096)); o += 4096;
  const outcomes: Outcome[] = [];
  for (let i = 0; i < n; i++) {
    const sig = b.readUInt32LE(o);
    const pc = b.readBigUInt64LE(o + 16);
    o += 24;
    const state = new Uint8Array(b.subarray(o, o + STATE_BYTES)); o += STATE_BYTES;
    const nd = b.readUInt32LE(o); o += 8;
    const diffs = new Map<number, bigint>();
    for (let k = 0; k < nd; k++) { diffs.set(b.readUInt32LE(o), b.readBigUInt64LE(o + 8)); o += 16; }
    outcomes.push({ sig, pc, state, diffs });
  }
  if (b.readUInt32LE(o) !== MAGIC('END.')) throw new Error('simdcheck: missing end marker');
  return { tramp, outcomes };
}

/** The qemu-aarch64 binary: $QEMU_AARCH64, else the first on PATH; null if none. */
export function findQemu(): string | null {
  const env = process.env.QEMU_AARCH64;
  if (env) return env;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, 'qemu-aarch64');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

export function harnessPresent(): boolean {
  return existsSync(HARNESS_ELF);
}

/** Runs a batch in one qemu-aarch64 process. */
export function runQemu(qemu: string, pristine: Uint8Array, cases: readonly Case[]): Promise<{ tramp: Uint8Array; outcomes: Outcome[] }> {
  const input = encodeBatch(pristine, cases);
  return new Promise((resolve, reject) => {
    const child = spawn(qemu, ['-cpu', QEMU_CPU, HARNESS_ELF], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => {});
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) { reject(new Error(`qemu-aarch64 exited with ${code}: ${Buffer.concat(err).toString()}`)); return; }
      try { resolve(decodeResults(Buffer.concat(out), cases.length)); } catch (e) { reject(e); }
    });
    child.stdin.end(input);
  });
}

// ---- The nestvisor side -----------------------------------------------------------------------

const ESR_EL1 = sr('ESR_EL1');
const ELR_EL1 = sr('ELR_EL1');
const SIGILL = 4, SIGSEGV = 11, SIGBUS = 7;

export class NvSide {
  readonly bus = new PhysicalBus({ arenaRam: 0x2000 + DATA_SIZE });
  readonly pe: PE;
  private readonly data: Uint8Array;
  private pristine: Uint8Array = new Uint8Array(DATA_SIZE);
  private lastWords = 0;

  constructor(tramp: Uint8Array) {
    this.bus.addRam(CODE_BASE, 0x2000);
    const data = this.bus.addRam(DATA_BASE, DATA_SIZE);
    this.data = data.bytes;
    const vec = this.bus.addRam(VEC_BASE, 0x1000);
    for (let off = 0; off < 0x800; off += 4) vec.view.setUint32(off, (0xd4000002 | ((off >> 7) << 5)) >>> 0, true);
    this.bus.writeBytes(TRAMP_BASE, tramp);
    this.pe = simdPe(this.bus);
    this.pe.writeSysreg('VBAR_EL1', BigInt(VEC_BASE));
    this.pe.writeSysreg('CPACR_EL1', 3n << 20n);
    // HCR_EL2.DC: with stage 1 off, data accesses are Normal memory (as the harness's are under Linux), so
    // unaligned accesses do not fault as they would on Device memory.
    this.pe.writeSysreg('HCR_EL2', 1n << 12n);
  }

  setPristine(p: Uint8Array): void {
    this.pristine = p;
    this.data.set(p);
  }

  run(c: Case): Outcome {
    const pe = this.pe;
    const code = new Uint8Array(4 * Math.max(c.words.length, this.lastWords));
    const cv = new DataView(code.buffer);
    c.words.forEach((w, i) => cv.setUint32(4 * i, w >>> 0, true));
    this.lastWords = c.words.length;
    this.bus.writeBytes(CODE_BASE, code);
    const sv = new DataView(c.state.buffer, c.state.byteOffset, STATE_BYTES);
    const nzcv = sv.getUint32(0x308, true) >>> 28;
    pe.setPstate(((nzcv << 28) | 0x3c5) >>> 0); // EL1h, DAIF masked
    for (let i = 0; i < 128; i++) pe.v32[i] = sv.getInt32(4 * i, true);
    for (let i = 0; i < 62; i++) pe.x[i] = sv.getInt32(0x200 + 4 * i, true);
    pe.x[64] = sv.getInt32(0x2f8, true);
    pe.x[65] = sv.getInt32(0x2fc, true);
    pe.fpsr = sv.getUint32(0x300, true);
    pe.fpcr = 0;
    pe.pc = BigInt(CODE_BASE);
    const exit = pe.run(c.words.length);
    const out: Outcome = { sig: 0, pc: 0n, state: new Uint8Array(STATE_BYTES), diffs: this.collectDiffs() };
    if (exit === RunExit.Budget) {
      if (pe.pc !== BigInt(EPILOGUE)) out.other = `stopped at 0x${pe.pc.toString(16)}, not the epilogue`;
      const ov = new DataView(out.state.buffer);
      for (let i = 0; i < 128; i++) ov.setInt32(4 * i, pe.v32[i], true);
      for (let i = 0; i < 62; i++) ov.setInt32(0x200 + 4 * i, pe.x[i], true);
      ov.setInt32(0x2f8, pe.x[64], true);
      ov.setInt32(0x2fc, pe.x[65], true);
      ov.setUint32(0x300, pe.fpsr >>> 0, true);
      ov.setUint32(0x308, ((pe.n << 31) | (pe.z << 30) | (pe.c << 29) | (pe.v << 28)) >>> 0, true);
      return out;
    }
    if (exit !== RunExit.El2) {
      out.other = `run() returned ${exit}`;
      return out;
    }
    const esr = pe.getSrLo(ESR_EL1) >>> 0;
    const ec = esr >>> 26;
    out.pc = (BigInt(pe.getSrHi(ELR_EL1) >>> 0) << 32n) | BigInt(pe.getSrLo(ELR_EL1) >>> 0);
    if (ec === 0) out.sig = SIGILL;
    else if (ec === 0x25) out.sig = (esr & 0x3f) === 0x21 ? SIGBUS : SIGSEGV;
    else out.other = `exception EC 0x${ec.toString(16)} ESR 0x${esr.toString(16)}`;
    return out;
  }

  private collectDiffs(): Map<number, bigint> {
    const d = new DataView(this.data.buffer, this.data.byteOffset, DATA_SIZE);
    const p = new DataView(this.pristine.buffer, this.pristine.byteOffset, DATA_SIZE);
    const diffs = new Map<number, bigint>();
    for (let o = 0; o < DATA_SIZE; o += 8) {
      if (d.getBigUint64(o, true) !== p.getBigUint64(o, true)) {
        diffs.set(o, d.getBigUint64(o, true));
        d.setBigUint64(o, p.getBigUint64(o, true), true);
      }
    }
    return diffs;
  }
}

/** Differences between QEMU's and nestvisor's outcomes; empty when they agree. */
export function compare(q: Outcome, n: Outcome): string[] {
  const errs: string[] = [];
  if (n.other) errs.push(`nestvisor: ${n.other}`);
  if (q.sig !== n.sig) {
    errs.push(`signal: qemu ${q.sig} (pc 0x${q.pc.toString(16)}), nestvisor ${n.sig} (pc 0x${n.pc.toString(16)})`);
    return errs;
  }
  if (q.sig !== 0) {
    if (q.pc !== n.pc) errs.push(`fault pc: qemu 0x${q.pc.toString(16)}, nestvisor 0x${n.pc.toString(16)}`);
    return errs;
  }
  const qv = new DataView(q.state.buffer, q.state.byteOffset), nv = new DataView(n.state.buffer, n.state.byteOffset);
  const hex = (v: DataView, o: number, len: number): string => {
    let s = '';
    for (let i = len - 1; i >= 0; i--) s += v.getUint8(o + i).toString(16).padStart(2, '0');
    return s;
  };
  for (let r = 0; r < 32; r++) {
    if (hex(qv, 16 * r, 16) !== hex(nv, 16 * r, 16)) errs.push(`v${r}: qemu ${hex(qv, 16 * r, 16)}, nestvisor ${hex(nv, 16 * r, 16)}`);
  }
  for (let r = 0; r < 32; r++) {
    const o = 0x200 + 8 * r;
    if (hex(qv, o, 8) !== hex(nv, o, 8)) errs.push(`${r === 31 ? 'sp' : `x${r}`}: qemu ${hex(qv, o, 8)}, nestvisor ${hex(nv, o, 8)}`);
  }
  if (qv.getUint32(0x300, true) !== nv.getUint32(0x300, true)) errs.push(`fpsr: qemu 0x${qv.getUint32(0x300, true).toString(16)}, nestvisor 0x${nv.getUint32(0x300, true).toString(16)}`);
  if ((qv.getUint32(0x308, true) >>> 28) !== (nv.getUint32(0x308, true) >>> 28)) errs.push('nzcv differs');
  const offs = new Set([...q.diffs.keys(), ...n.diffs.keys()]);
  for (const o of [...offs].sort((a, b) => a - b)) {
    const a = q.diffs.get(o), b = n.diffs.get(o);
    if (a !== b) errs.push(`data +0x${o.toString(16)}: qemu ${a === undefined ? 'unchanged' : `0x${a.toString(16)}`}, nestvisor ${b === undefined ? 'unchanged' : `0x${b.toString(16)}`}`);
  }
  return errs;
}

// ---- Generation ------------------------------------------------------------------------------

/** sfc32 seeded through splitmix32. */
export class Rng {
  private a: number; private b: number; private c: number; private d: number;
  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next(); this.b = next(); this.c = next(); this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  below(n: number): number { return Math.floor((this.u32() / 4294967296) * n); }
  range(lo: number, hi: number): number { return lo + this.below(hi - lo + 1); }
  chance(p: number): boolean { return this.u32() < p * 4294967296; }
  pick<T>(xs: readonly T[]): T { return xs[this.below(xs.length)]; }
}

const LANE_EDGES = [0, 1, -1, 2, -2, 0x7f, 0x80, 0x7fff, 0x8000, 0x7fffffff, 0x80000000, 0xffff, 0xff, 0x40000000, 0x3fffffff];

/** Random lanes for a V register: edge values and small or random numbers in a random lane size. */
export function randomVreg(r: Rng, out: DataView, off: number): void {
  const kind = r.below(8);
  if (kind < 3) {
    for (let i = 0; i < 4; i++) out.setUint32(off + 4 * i, r.u32(), true);
    return;
  }
  const size = r.below(4);
  const eb = 1 << size;
  for (let i = 0; i < 16; i += eb) {
    let lo: number, hi = 0;
    const c = r.below(6);
    if (c === 0) lo = r.range(-8, 8);
    else if (c <= 2) lo = r.pick(LANE_EDGES);
    else lo = r.u32();
    if (size === 3) {
      hi = c === 0 ? (lo < 0 ? -1 : 0) : c <= 2 ? r.pick([0, -1, 0x7fffffff, 0x80000000, 1]) : r.u32();
      if (c === 1 && r.chance(0.5)) { hi = lo >= 0x80000000 || lo < 0 ? 0x7fffffff : 0x80000000; }
    }
    for (let k = 0; k < eb; k++) {
      const byte = k < 4 ? (lo >>> (8 * k)) & 0xff : (hi >>> (8 * (k - 4))) & 0xff;
      out.setUint8(off + i + k, byte);
    }
  }
}

export interface GenOptions {
  /** Fraction of instructions drawn from encodings the definition's `valid` rejects (unallocated: SIGILL expected). */
  undefRate: number;
  maxInsns: number;
}

/** The x-bits ("either") of a pattern: neither fixed nor inside a field. */
function xMask(c: CompiledDef): number {
  let m = c.mask;
  for (const s of c.fields) m |= s.width === 32 ? -1 : ((1 << s.width) - 1) << s.lsb;
  return ~m >>> 0;
}

export class Generator {
  readonly defs: CompiledDef[];
  readonly perDef = new Map<string, number>();
  undefCount = 0;
  private next = 0;

  constructor(readonly dec: Decoder, group: InsnDef[], readonly r: Rng, readonly opts: GenOptions) {
    const names = new Set(group.map((d) => d.name));
    this.defs = dec.compiled.filter((c) => names.has(c.def.name) && (c.def.feature === undefined || dec.features.has(c.def.feature)));
  }

  newPristine(): Uint8Array {
    const p = new Uint8Array(DATA_SIZE);
    const v = new DataView(p.buffer);
    for (let i = 0; i < DATA_SIZE; i += 16) randomVreg(this.r, v, i);
    return p;
  }

  private fieldValue(c: CompiledDef, name: string, width: number): number {
    const r = this.r;
    const mem = ((c.def.flags ?? 0) & InsnFlags.Memory) !== 0;
    if (mem && name === 'imm12') return r.chance(0.8) ? r.below(64) : r.below(256);
    if (mem && name === 'imm19') return r.chance(0.9) ? r.below(0x7f0) : r.below(1 << 19);
    if (mem && name === 'Rm' && c.fields.some((f) => f.name === 'opcode')) return r.chance(0.5) ? 31 : r.below(31);
    if (/^R[a-z]\d?$/.test(name) && width === 5) return r.chance(0.5) ? r.pick([0, 1, 2, 3, 30, 31]) : r.below(32);
    return r.below(2 ** width);
  }

  /** One instruction of definition c: [word, fields], or null. `valid` true: an allocated encoding; false: one valid() rejects. */
  make(c: CompiledDef, wantValid: boolean): { word: number; f: Fields } | null {
    for (let attempt = 0; attempt < 40; attempt++) {
      const f: Fields = {};
      for (const s of c.fields) f[s.name] = this.fieldValue(c, s.name, s.width);
      let word = encode(c, f);
      const xm = xMask(c);
      if (xm) word = (word | (this.r.u32() & xm)) >>> 0;
      const d = this.dec.decode(word);
      if (wantValid && d !== null && d.c === c) return { word, f: d.fields };
      if (!wantValid && d === null && ((word & c.mask) >>> 0) === c.value) return { word, f };
    }
    return null;
  }

  /** Generates one case from the next definitions in turn (every definition gets its share). */
  genCase(): Case {
    const r = this.r;
    const n = r.range(1, this.opts.maxInsns);
    const words: number[] = [];
    const text: string[] = [];
    const state = new Uint8Array(STATE_BYTES);
    const sv = new DataView(state.buffer);
    for (let i = 0; i < 32; i++) randomVreg(r, sv, 16 * i);
    for (let i = 0; i < 31; i++) {
      sv.setUint32(0x200 + 8 * i, r.u32(), true);
      sv.setUint32(0x204 + 8 * i, r.chance(0.3) ? 0 : r.u32(), true);
    }
    const setX = (i: number, v: number): void => {
      const o = i === 31 ? 0x2f8 : 0x200 + 8 * i;
      sv.setUint32(o, v >>> 0, true);
      sv.setUint32(o + 4, v < 0 ? 0xffffffff : 0, true);
    };
    setX(31, DATA_BASE + 0x2000 + 16 * r.below(64));
    // Initial FPSR: QC and the cumulative FP flags (IOC, DZC, OFC, UFC, IXC, IDC), sometimes all clear, sometimes
    // all set, otherwise each bit with probability 1/2 (sticky flags must stay set; shortcuts taken when they are set).
    const fk = r.below(8);
    sv.setUint32(0x300, fk === 0 ? 0 : fk === 1 ? 0x0800009f : (r.u32() & 0x0800009f) >>> 0, true);
    sv.setUint32(0x308, (r.below(16) << 28) >>> 0, true);
    const bases = new Set<number>();
    const indexes = new Set<number>();
    let memInsns = 0;
    for (let k = 0; k < n; k++) {
      const c = this.defs[this.next++ % this.defs.length];
      const undef = r.chance(this.opts.undefRate);
      let p = this.make(c, !undef);
      if (p === null) p = this.make(c, true);
      if (p === null) continue;
      const mem = ((c.def.flags ?? 0) & InsnFlags.Memory) !== 0;
      if (mem) {
        if (memInsns > 0) continue; // one memory instruction per case: bases stay simple
        const f = p.f;
        if ('Rm' in f && f.Rm !== 31 && f.Rm === f.Rn) continue;
        memInsns++;
        if (f.Rn !== 31) {
          setX(f.Rn, DATA_BASE + 0x1400 + (r.chance(0.7) ? 16 * r.below(0x180) : r.below(0x1800)));
          bases.add(f.Rn);
        }
        if ('Rm' in f && f.Rm !== 31) {
          setX(f.Rm, r.chance(0.8) ? r.range(-64, 64) : r.range(-1024, 1024));
          indexes.add(f.Rm);
        }
      }
      const d = this.dec.decode(p.word);
      this.perDef.set(c.def.name, (this.perDef.get(c.def.name) ?? 0) + 1);
      if (d === null) this.undefCount++;
      text.push(`${(p.word >>> 0).toString(16).padStart(8, '0')} ${d === null ? `(unallocated, from ${c.def.name})` : `${d.c.def.name}: ${d.c.def.disasm(d.fields, BigInt(CODE_BASE + 4 * words.length))}`}`);
      words.push(p.word);
      if (d === null) break; // nothing runs after an UNDEFINED instruction
    }
    words.push(bToEpilogue(words.length));
    void bases; void indexes;
    return { words, state, text };
  }
}
