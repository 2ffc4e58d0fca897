/**
 * Differential FP testing against qemu-aarch64: batches of (instruction,
 * operands, FPCR, NZCV) run on QEMU through tests/guests/fpcheck/fpcheck.elf
 * and on nestvisor (the instruction's op applied to a PE), and the results
 * (V0..V3, X0..X3, FPSR, NZCV) are compared bit for bit.
 *
 * Cases are generated from the instruction definitions themselves: every
 * def in fpScalarInsns and simdFpInsns gets random encodings with registers
 * 0..3 and random immediates, and each encoding runs over operand records
 * mixing special values (zeros, infinities, quiet and signalling NaNs with
 * payloads, denormals, extreme normals, rounding-boundary values), random
 * bit patterns, and operands derived from each other (near cancellation,
 * ties, fused multiply-add near-cancellation), under random FPCR settings
 * (every rounding mode, FZ, FZ16, DN, AHP), from random initial FPSR values
 * (cumulative flags and QC already set or clear: sticky-flag shortcuts).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PhysicalBus } from '../../../src/cpu/bus.js';
import { PE } from '../../../src/cpu/pe.js';
import { Decoder, InsnDef, Op, compilePattern, encode } from '../../../src/cpu/decoder.js';

export const FPCHECK_ELF = fileURLToPath(new URL('../../../../tests/guests/fpcheck/fpcheck.elf', import.meta.url));
export const REC = 112;

/** qemu-aarch64: $QEMU_AARCH64, else the first on PATH; null if none. */
export function findQemu(): string | null {
  const env = process.env.QEMU_AARCH64;
  if (env) {
    try {
      accessSync(env, constants.X_OK);
      return env;
    } catch {
      return null;
    }
  }
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

/** Why the differential tests cannot run here, or null when they can. */
export function unavailable(): string | null {
  if (findQemu() === null) return 'qemu-aarch64 not found';
  if (!existsSync(FPCHECK_ELF)) return `${FPCHECK_ELF} missing (tests/guests/build.sh fpcheck)`;
  return null;
}

export interface Group {
  word: number;
  name: string;
  /** count * REC bytes of input records. */
  input: Buffer;
  count: number;
}

// ---- Random values ---------------------------------------------------------------

/** xorshift128+ on 32-bit halves, seeded: reproducible batches. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    this.a = seed | 0 || 1;
    this.b = 0x9e3779b9;
    this.c = 0x7f4a7c15;
    this.d = 0x94d049bb;
    for (let i = 0; i < 16; i++) this.u32();
  }
  u32(): number {
    let t = this.a ^ (this.a << 11);
    this.a = this.b;
    this.b = this.c;
    this.c = this.d;
    this.d = (this.d ^ (this.d >>> 19) ^ t ^ (t >>> 8)) | 0;
    return this.d >>> 0;
  }
  int(n: number): number {
    return this.u32() % n;
  }
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const f32 = new Float32Array(1);
const u32f = new Uint32Array(f32.buffer);

/** Bits of a double as [lo, hi]. */
export function dbits(x: number): [number, number] {
  f64[0] = x;
  return [u32[0], u32[1]];
}
export function dval(lo: number, hi: number): number {
  u32[0] = lo;
  u32[1] = hi;
  return f64[0];
}
export function sbits(x: number): number {
  f32[0] = x;
  return u32f[0];
}
export function sval(b: number): number {
  u32f[0] = b;
  return f32[0];
}

/** A random interesting value of format f (0 half, 1 single, 2 double) as [lo, hi] bits. */
export function randFp(r: Rng, f: number): [number, number] {
  const E = [5, 8, 11][f], F = [10, 23, 52][f];
  const sign = r.int(2);
  let exp: number, fracHi = 0, fracLo = 0; // fraction as high (up to 20 bits) and low 32 bits
  const fhBits = F > 32 ? F - 32 : 0;
  const randFrac = (): void => {
    if (F > 32) {
      fracHi = r.u32() & ((1 << fhBits) - 1);
      fracLo = r.u32();
    } else {
      fracHi = 0;
      fracLo = r.u32() & ((1 << F) - 1);
    }
    // Often few significant bits (exact results, ties) or all ones.
    const k = r.int(8);
    if (k === 0) {
      fracLo = 0;
      fracHi &= ~((1 << Math.max(0, fhBits - r.int(fhBits + 1))) - 1);
    } else if (k === 1) {
      fracLo = F > 32 ? 0xffffffff : (1 << F) - 1;
      if (F > 32) fracHi = (1 << fhBits) - 1;
    } else if (k === 2 && F <= 32) {
      fracLo &= ~((1 << r.int(F)) - 1);
    }
  };
  const maxE = (1 << E) - 1;
  const kind = r.int(20);
  switch (kind) {
    case 0: exp = 0; fracHi = 0; fracLo = 0; break; // zero
    case 1: exp = maxE; fracHi = 0; fracLo = 0; break; // infinity
    case 2: // NaN, quiet or signalling, random payload
      exp = maxE;
      randFrac();
      if (F > 32) fracHi = (fracHi & ((1 << (fhBits - 1)) - 1)) | (r.int(2) << (fhBits - 1));
      else fracLo = (fracLo & ((1 << (F - 1)) - 1)) | (r.int(2) << (F - 1));
      if ((fracHi | fracLo) === 0) fracLo = 1;
      break;
    case 3: case 4: // denormal
      exp = 0;
      randFrac();
      if ((fracHi | fracLo) === 0) fracLo = 1;
      break;
    case 5: // near the bottom of the normal range
      exp = 1 + r.int(3);
      randFrac();
      break;
    case 6: // near the top
      exp = maxE - 1 - r.int(3);
      randFrac();
      break;
    case 7: { // small integers and halves (rounding to integral, conversions)
      const v = (r.int(40) - 20) / (r.chance(0.5) ? 1 : 4) + (r.chance(0.3) ? 0.5 : 0);
      return fromValue(f, sign ? -Math.abs(v) : Math.abs(v));
    }
    case 8: { // conversion boundaries: 2^15, 2^16, 2^31, 2^32, 2^63, 2^64 and neighbours
      const p = r.pick([15, 16, 31, 32, 53, 63, 64]);
      const v = 2 ** p;
      const [lo, hi] = fromValue(f, sign ? -v : v);
      const d = r.int(5) - 2;
      if (f === 2) return [(lo + d) >>> 0, hi];
      return [(lo + d) >>> 0, 0];
    }
    default: // random exponent across the range, biased towards the middle
      exp = r.chance(0.5) ? (maxE >> 1) + r.int(2 * (F + 2)) - (F + 2) : 1 + r.int(maxE - 1);
      if (exp < 1) exp = 1;
      if (exp >= maxE) exp = maxE - 1;
      randFrac();
  }
  if (f === 2) return [fracLo >>> 0, ((sign << 31) | (exp << 20) | fracHi) >>> 0];
  return [((sign << (E + F)) | (exp << F) | fracLo) >>> 0, 0];
}

/** Bits of the nearest value of format f to x (x within range). */
export function fromValue(f: number, x: number): [number, number] {
  if (f === 2) return dbits(x);
  if (f === 1) return [sbits(x), 0];
  return [halfBits(x), 0];
}

function halfBits(x: number): number {
  // round to nearest via single then to half by hand (values used are exact halves mostly)
  const s = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  let a = Math.abs(x);
  if (a >= 65520) return s | 0x7c00;
  if (a < 2 ** -14) return s | Math.round(a * 2 ** 24);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  let m = Math.round((a / 2 ** e - 1) * 1024);
  if (m === 1024) {
    m = 0;
    e++;
  }
  a = 0;
  return s | ((e + 15) << 10) | m;
}

export function halfValue(b: number): number {
  const s = b & 0x8000 ? -1 : 1, e = (b >> 10) & 31, m = b & 0x3ff;
  if (e === 31) return m ? NaN : s * Infinity;
  if (e === 0) return s * m * 2 ** -24;
  return s * (1024 + m) * 2 ** (e - 25);
}

/** A random 64-bit integer for the general registers, as [lo, hi]. */
export function randInt(r: Rng): [number, number] {
  switch (r.int(6)) {
    case 0: return [r.int(64), 0];
    case 1: { const v = -(r.int(64) + 1); return [v >>> 0, 0xffffffff]; }
    case 2: { // powers of two and neighbours
      const p = r.int(64), d = r.int(3) - 1;
      let lo = p < 32 ? 2 ** p : 0, hi = p >= 32 ? 2 ** (p - 32) : 0;
      lo = lo + d;
      if (lo < 0) { lo += 4294967296; hi -= 1; if (hi < 0) hi += 4294967296; }
      if (lo >= 4294967296) { lo -= 4294967296; hi += 1; }
      return [lo >>> 0, hi >>> 0];
    }
    case 3: return [r.u32(), r.chance(0.5) ? 0 : 0xffffffff];
    case 4: return [r.u32(), r.u32() >>> r.int(32)];
    default: return [r.u32(), r.u32()];
  }
}

// ---- Case generation ----------------------------------------------------------------

/** The element format an instruction mostly works on, from its disassembly (for operand generation). */
export function guessFmt(dis: string): number {
  const m = /\.\d*([hsd])\b|\b([hsd])\d/.exec(dis);
  const c = m ? m[1] ?? m[2] : 's';
  return c === 'h' ? 0 : c === 'd' ? 2 : 1;
}

const REGFIELDS = new Set(['Rd', 'Rn', 'Rm', 'Ra']);

/** Random encodings of def with all registers in 0..3. */
export function randomWords(def: InsnDef, r: Rng, n: number): number[] {
  const c = compilePattern(def);
  const out: number[] = [];
  const isHalfElem = /_h$|_vh$|_fh$/.test(def.name);
  for (let tries = 0; out.length < n && tries < n * 200; tries++) {
    const f: Record<string, number> = {};
    for (const s of c.fields) {
      if (REGFIELDS.has(s.name)) f[s.name] = r.int(4);
      else if (s.name === 'M' && !isHalfElem) f[s.name] = 0;
      else f[s.name] = r.u32() & ((1 << s.width) - 1);
    }
    if (def.valid && !def.valid(f)) continue;
    out.push(encode(c, f));
  }
  return out;
}

/** FPCR values: RMode, FZ, DN, FZ16, AHP at random. */
export function randFpcr(r: Rng): number {
  let v = r.int(4) << 22;
  if (r.chance(0.4)) v |= 1 << 24;
  if (r.chance(0.3)) v |= 1 << 25;
  if (r.chance(0.4)) v |= 1 << 19;
  if (r.chance(0.15)) v |= 1 << 26;
  return v >>> 0;
}

/** FPSR bits a case may start with: the cumulative exception flags (IDC, IXC, UFC, OFC, DZC, IOC) and QC. */
export const FPSR_INIT_MASK = 0x9f | (1 << 27);

/** Initial FPSR values: sometimes all clear, sometimes all set, otherwise each bit with probability 1/2. */
export function randFpsr(r: Rng): number {
  const k = r.int(8);
  if (k === 0) return 0;
  if (k === 1) return FPSR_INIT_MASK >>> 0;
  return (r.u32() & FPSR_INIT_MASK) >>> 0;
}

/** Special values of each format as [lo, hi] bits, both signs. */
export const SPECIALS: [number, number][][] = [0, 1, 2].map((f) => {
  const out: [number, number][] = [];
  const E = [5, 8, 11][f], F = [10, 23, 52][f];
  const raw = (exp: number, fracHi: number, fracLo: number): [number, number] =>
    f === 2 ? [fracLo >>> 0, ((exp << 20) | fracHi) >>> 0] : [((exp << F) | fracLo) >>> 0, 0];
  const maxE = (1 << E) - 1;
  const fmax = f === 2 ? 0xfffff : 0, lmax = f === 2 ? 0xffffffff : (1 << F) - 1;
  const qbitHi = f === 2 ? 0x80000 : 0, qbitLo = f === 2 ? 0 : 1 << (F - 1);
  const vals: [number, number][] = [
    raw(0, 0, 0), raw(maxE, 0, 0), raw(maxE, qbitHi, qbitLo), raw(maxE, qbitHi, qbitLo | 5), raw(maxE, 0, 1), raw(maxE, f === 2 ? 0x40000 : 0, f === 2 ? 7 : 1 << (F - 2)),
    raw(0, 0, 1), raw(0, fmax, lmax), raw(0, f === 2 ? 0x80000 : 0, f === 2 ? 0 : 1 << (F - 1)), raw(1, 0, 0), raw(1, 0, 1), raw(maxE - 1, fmax, lmax), raw(maxE - 1, 0, 0),
    ...[1, 1.5, 0.5, 2, 3, 0.25, 0.75, 2.5, 65504, 2 ** 15, 2 ** 31, 2 ** 32, 2 ** 63, 2 ** 64].filter((v) => f > 0 || v <= 65504).map((v) => fromValue(f, v)),
  ];
  // One ulp either side of 1 and 2.
  const one = fromValue(f, 1), two = fromValue(f, 2);
  vals.push(f === 2 ? [1, one[1]] : [one[0] + 1, 0], f === 2 ? [0xffffffff, two[1] - 1] : [two[0] - 1, 0]);
  for (const [lo, hi] of vals) {
    out.push([lo, hi]);
    out.push(f === 2 ? [lo, (hi | 0x80000000) >>> 0] : [(lo | (1 << (E + F))) >>> 0, 0]);
  }
  return out;
});

/** Fills the 16 words of one V register with lanes of format f. */
function fillReg(r: Rng, words: Uint32Array, base: number, f: number): void {
  if (r.chance(0.25)) {
    const sp = SPECIALS[f];
    if (f === 2) {
      for (let i = 0; i < 2; i++) [words[base + 2 * i], words[base + 2 * i + 1]] = sp[r.int(sp.length)];
    } else if (f === 1) {
      for (let i = 0; i < 4; i++) words[base + i] = sp[r.int(sp.length)][0];
    } else {
      for (let i = 0; i < 4; i++) words[base + i] = (sp[r.int(sp.length)][0] | (sp[r.int(sp.length)][0] << 16)) >>> 0;
    }
    return;
  }
  if (f === 2) {
    for (let i = 0; i < 2; i++) {
      const [lo, hi] = randFp(r, 2);
      words[base + 2 * i] = lo;
      words[base + 2 * i + 1] = hi;
    }
  } else if (f === 1) {
    for (let i = 0; i < 4; i++) words[base + i] = randFp(r, 1)[0];
  } else {
    for (let i = 0; i < 4; i++) words[base + i] = (randFp(r, 0)[0] | (randFp(r, 0)[0] << 16)) >>> 0;
  }
}

/** Lane values of register words (for deriving related operands). */
function lanes(words: Uint32Array, base: number, f: number): number[] {
  const out: number[] = [];
  if (f === 2) for (let i = 0; i < 2; i++) out.push(dval(words[base + 2 * i], words[base + 2 * i + 1]));
  else if (f === 1) for (let i = 0; i < 4; i++) out.push(sval(words[base + i]));
  else for (let i = 0; i < 8; i++) out.push(halfValue((words[base + (i >> 1)] >>> (16 * (i & 1))) & 0xffff));
  return out;
}

function setLanes(words: Uint32Array, base: number, f: number, vals: number[], r: Rng): void {
  for (let i = 0; i < vals.length; i++) {
    let v = vals[i];
    if (!Number.isFinite(v)) continue;
    if (f === 2) {
      let [lo, hi] = dbits(v);
      const d = r.int(9) - 4;
      lo = (lo + d) >>> 0;
      words[base + 2 * i] = lo;
      words[base + 2 * i + 1] = hi;
    } else if (f === 1) {
      words[base + i] = (sbits(v) + r.int(9) - 4) >>> 0;
    } else {
      if (Math.abs(v) >= 65504) continue;
      const h = (halfBits(v) + r.int(5) - 2) & 0xffff;
      const w = base + (i >> 1), sh = 16 * (i & 1);
      words[w] = ((words[w] & ~(0xffff << sh)) | (h << sh)) >>> 0;
    }
    v = 0;
  }
}

/**
 * Input records for one instruction: `count` states with V0..V3 filled in
 * format f (mostly), some registers derived from others, X0..X3 random
 * integers, random FPCR, NZCV and initial FPSR.
 */
export function makeRecords(r: Rng, f: number, count: number, fpcrFixed?: number): Buffer {
  const buf = Buffer.alloc(count * REC);
  const w = new Uint32Array(16);
  for (let k = 0; k < count; k++) {
    const o = k * REC;
    const fmtOf = (): number => (r.chance(0.85) ? f : r.int(3));
    for (let reg = 0; reg < 4; reg++) fillReg(r, w, 4 * reg, fmtOf());
    // Related operands.
    const kind = r.int(10);
    if (kind < 4) {
      const i = r.int(4), j = r.int(4), t = r.int(4);
      const a = lanes(w, 4 * i, f), b = lanes(w, 4 * j, f);
      let out: number[];
      switch (kind) {
        case 0: out = a.map((x, n) => -(x * b[n])); break; // c = -(a*b): fused near-cancellation
        case 1: out = a.map((x) => -x * (1 + (r.int(5) - 2) * 2 ** -(f === 2 ? 52 : f === 1 ? 23 : 10))); break; // subtraction near-cancellation
        case 2: out = a.map((x) => x * 2 ** (r.int(60) - 30)); break; // alignment shifts
        default: out = a.map((x, n) => x * b[n] * 2 ** (r.int(3) - 1)); break;
      }
      if (f === 1) out = out.map((x) => Math.fround(x));
      setLanes(w, 4 * t, f, out, r);
    }
    buf.writeUInt32LE(fpcrFixed ?? randFpcr(r), o);
    buf.writeUInt32LE((r.int(16) << 28) >>> 0, o + 4);
    buf.writeUInt32LE(randFpsr(r), o + 8);
    for (let i = 0; i < 16; i++) buf.writeUInt32LE(w[i], o + 16 + 4 * i);
    for (let i = 0; i < 4; i++) {
      const [lo, hi] = randInt(r);
      buf.writeUInt32LE(lo >>> 0, o + 80 + 8 * i);
      buf.writeUInt32LE(hi >>> 0, o + 84 + 8 * i);
    }
  }
  return buf;
}

// ---- Running ----------------------------------------------------------------------

/** Runs the groups on QEMU; returns the output records concatenated. */
export function runQemu(groups: readonly Group[]): Buffer {
  const qemu = findQemu();
  if (qemu === null) throw new Error('qemu-aarch64 not found');
  const parts: Buffer[] = [Buffer.from('FPCK', 'latin1')];
  for (const g of groups) {
    const h = Buffer.alloc(12);
    h.write('GRP.', 0, 'latin1');
    h.writeUInt32LE(g.word >>> 0, 4);
    h.writeUInt32LE(g.count, 8);
    parts.push(h, g.input);
  }
  parts.push(Buffer.from('DONE', 'latin1'));
  const input = Buffer.concat(parts);
  const total = groups.reduce((s, g) => s + g.count, 0);
  const res = spawnSync(qemu, ['-cpu', 'max', FPCHECK_ELF], { input, maxBuffer: total * REC + (1 << 20) });
  if (res.error) throw res.error;
  const out = res.stdout;
  if (res.status !== 0 || out.length !== total * REC + 4 || out.toString('latin1', out.length - 4) !== 'END.') {
    const done = Math.floor(out.length / REC);
    let acc = 0, at = '?';
    for (const g of groups) {
      if (done < acc + g.count) {
        at = `${g.name} 0x${(g.word >>> 0).toString(16)}`;
        break;
      }
      acc += g.count;
    }
    throw new Error(`fpcheck on QEMU failed (status ${res.status}, signal ${res.signal}) after ${done} records, at ${at}: ${res.stderr.toString()}`);
  }
  return out;
}

let bus: PhysicalBus | null = null;
let pe: PE | null = null;

/** The PE the nestvisor side runs on (FP and FP16 enabled, FP access allowed). */
export function nvPe(): PE {
  if (pe === null) {
    bus = new PhysicalBus();
    bus.addRam(0x40000000, 1 << 16);
    pe = new PE(bus, { fp: true, fp16: true });
  }
  pe.fpEnabled = true;
  return pe;
}

/** Runs the groups on nestvisor with `decoder`; output in QEMU's layout. */
export function runNv(decoder: Decoder, groups: readonly Group[]): Buffer {
  const p = nvPe();
  const total = groups.reduce((s, g) => s + g.count, 0);
  const out = Buffer.alloc(total * REC + 4);
  let o = 0;
  for (const g of groups) {
    const d = decoder.decode(g.word);
    if (d === null) throw new Error(`nestvisor does not decode ${g.name} 0x${(g.word >>> 0).toString(16)}`);
    const op: Op = d.c.def.build(d.fields, { off: 0, word: g.word });
    for (let k = 0; k < g.count; k++) {
      const i = k * REC;
      const inp = g.input;
      p.fpcr = inp.readUInt32LE(i);
      p.fpsr = inp.readUInt32LE(i + 8);
      const nzcv = inp.readUInt32LE(i + 4);
      p.n = nzcv >>> 31;
      p.z = (nzcv >>> 30) & 1;
      p.c = (nzcv >>> 29) & 1;
      p.v = (nzcv >>> 28) & 1;
      for (let j = 0; j < 16; j++) p.v32[j] = inp.readInt32LE(i + 16 + 4 * j);
      for (let j = 0; j < 8; j++) p.x[j] = inp.readInt32LE(i + 80 + 4 * j);
      p.fpEnabled = true;
      op(p);
      for (let j = 0; j < 16; j++) out.writeInt32LE(p.v32[j], o + 4 * j);
      for (let j = 0; j < 8; j++) out.writeInt32LE(p.x[j], o + 64 + 4 * j);
      out.writeUInt32LE(p.fpsr >>> 0, o + 96);
      out.writeUInt32LE(((p.n << 31) | (p.z << 30) | (p.c << 29) | (p.v << 28)) >>> 0, o + 100);
      o += REC;
    }
  }
  out.write('END.', o, 'latin1');
  return out;
}

export interface Mismatch {
  group: Group;
  index: number;
  text: string;
}

const hexw = (b: Buffer, off: number, n: number): string => {
  const parts: string[] = [];
  for (let i = n - 1; i >= 0; i--) parts.push(b.readUInt32LE(off + 4 * i).toString(16).padStart(8, '0'));
  return parts.join('_');
};

/** Describes one record's inputs and both outputs. */
export function describe(g: Group, k: number, q: Buffer, nv: Buffer, base: number, dis: string): string {
  const i = k * REC, o = base + k * REC;
  const lines = [`${dis} (0x${(g.word >>> 0).toString(16)}) fpcr=${g.input.readUInt32LE(i).toString(16)} nzcv=${(g.input.readUInt32LE(i + 4) >>> 28).toString(2)} fpsr=${g.input.readUInt32LE(i + 8).toString(16)}`];
  for (let r = 0; r < 4; r++) lines.push(`  in  v${r}=${hexw(g.input, i + 16 + 16 * r, 4)} x${r}=${hexw(g.input, i + 80 + 8 * r, 2)}`);
  for (let r = 0; r < 4; r++) {
    const a = hexw(q, o + 16 * r, 4), b = hexw(nv, o + 16 * r, 4);
    lines.push(`  v${r} qemu=${a} nv=${b}${a === b ? '' : '  <--'}`);
  }
  for (let r = 0; r < 4; r++) {
    const a = hexw(q, o + 64 + 8 * r, 2), b = hexw(nv, o + 64 + 8 * r, 2);
    if (a !== b) lines.push(`  x${r} qemu=${a} nv=${b}  <--`);
  }
  lines.push(`  fpsr qemu=${q.readUInt32LE(o + 96).toString(16)} nv=${nv.readUInt32LE(o + 96).toString(16)}  nzcv qemu=${(q.readUInt32LE(o + 100) >>> 28).toString(2)} nv=${(nv.readUInt32LE(o + 100) >>> 28).toString(2)}`);
  return lines.join('\n');
}

/** Compares record by record; returns mismatches (all of them counted, texts for the first few per def). */
export function compare(groups: readonly Group[], q: Buffer, nv: Buffer, disasm: (w: number) => string, maxPerName = 3): { count: number; texts: string[]; byName: Map<string, number> } {
  let base = 0, count = 0;
  const texts: string[] = [];
  const byName = new Map<string, number>();
  for (const g of groups) {
    for (let k = 0; k < g.count; k++) {
      const o = base + k * REC;
      if (q.compare(nv, o, o + REC, o, o + REC) !== 0) {
        count++;
        const c = (byName.get(g.name) ?? 0) + 1;
        byName.set(g.name, c);
        if (c <= maxPerName) texts.push(describe(g, k, q, nv, base, disasm(g.word)));
      }
    }
    base += g.count * REC;
  }
  return { count, texts, byName };
}
