/**
 * Integer data-processing instructions (dp_imm.ts logical immediate,
 * dp_bitfield.ts, dp_reg.ts): each encoding runs on a PE against a BigInt
 * reference model written from the architecture's pseudocode, over edge values
 * and random values, with random register choices (including 31 as ZR or SP
 * and aliasing between operands). The whole register file, SP and NZCV are
 * compared after every instruction, so a stray write or a 32-bit result with
 * bits 63:32 set shows up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhysicalBus } from '../../../src/cpu/bus.js';
import { PE, RunExit } from '../../../src/cpu/pe.js';
import { Decoder, Fields, encode } from '../../../src/cpu/decoder.js';
import { insnTable } from '../../../src/cpu/insn/table.js';

// ---- PE harness --------------------------------------------------------------

const BASE = 0x40000000;
const bus = new PhysicalBus();
bus.addRam(BASE, 1 << 20);
const pe = new PE(bus);
const decoder = new Decoder(insnTable(), new Set(['crc32']));
const noCrc = new Decoder(insnTable(), new Set());

function enc(name: string, f: Fields): number {
  const c = decoder.byName.get(name);
  assert.ok(c, `no instruction ${name}`);
  return encode(c, f);
}

const HVC0 = enc('HVC', { imm16: 0 });
/** SPSR layout: DAIF masked, M = EL1h. */
const PSTATE_EL1H = 0x3c5;

const word32 = (w: number): Uint8Array => new Uint8Array(new Uint32Array([w >>> 0]).buffer);
let loaded = -1;

interface State {
  x: bigint[]; // X0..X30
  sp: bigint;
  nzcv: number; // N in bit 3 .. V in bit 0
}

/** Runs `word` followed by HVC #0 from `st`; returns the state after. */
function runWord(word: number, st: State): State {
  if (word !== loaded) {
    bus.writeBytes(BASE, word32(word));
    bus.writeBytes(BASE + 4, word32(HVC0));
    loaded = word;
  }
  // Taking the HVC left the PE at EL2; start each run at EL1h with interrupts masked.
  pe.setPstate(PSTATE_EL1H);
  for (let i = 0; i < 31; i++) pe.setX(i, st.x[i]);
  pe.setSp(st.sp);
  pe.n = (st.nzcv >> 3) & 1;
  pe.z = (st.nzcv >> 2) & 1;
  pe.c = (st.nzcv >> 1) & 1;
  pe.v = st.nzcv & 1;
  pe.pc = BigInt(BASE);
  const exit = pe.run(100);
  assert.equal(exit, RunExit.El2, 'program did not reach HVC');
  assert.equal(pe.readSysreg('ELR_EL2'), BigInt(BASE + 8));
  const x: bigint[] = [];
  for (let i = 0; i < 31; i++) x.push(pe.getX(i));
  return { x, sp: pe.getSp(), nzcv: (pe.n << 3) | (pe.z << 2) | (pe.c << 1) | pe.v };
}

// ---- BigInt reference helpers -------------------------------------------------

const M64 = (1n << 64n) - 1n;
const mask = (bits: number): bigint => (1n << BigInt(bits)) - 1n;
const u = (v: bigint, bits: number): bigint => BigInt.asUintN(bits, v);
const s = (v: bigint, bits: number): bigint => BigInt.asIntN(bits, v);
const ones = (k: number): bigint => mask(k);

/** Reference register file access with register 31 as ZR or SP. */
class Ref {
  x: bigint[];
  sp: bigint;
  nzcv: number;
  constructor(st: State) {
    this.x = st.x.slice();
    this.sp = st.sp;
    this.nzcv = st.nzcv;
  }
  get(n: number, size: number, sp = false): bigint {
    if (n === 31) return sp ? u(this.sp, size) : 0n;
    return u(this.x[n], size);
  }
  /** Writes a `size`-bit result zero-extended to 64 bits. */
  set(d: number, v: bigint, size: number, sp = false): void {
    const r = u(v, size);
    if (d === 31) {
      if (sp) this.sp = r;
      return;
    }
    this.x[d] = r;
  }
  get c(): number {
    return (this.nzcv >> 1) & 1;
  }
  state(): State {
    return { x: this.x, sp: this.sp, nzcv: this.nzcv };
  }
}

/** AddWithCarry: result and NZCV. */
function addWithCarry(x: bigint, y: bigint, cin: number, N: number): [bigint, number] {
  const usum = u(x, N) + u(y, N) + BigInt(cin);
  const ssum = s(x, N) + s(y, N) + BigInt(cin);
  const r = u(usum, N);
  const n = Number(r >> BigInt(N - 1)) & 1;
  const z = r === 0n ? 1 : 0;
  const c = r === usum ? 0 : 1;
  const v = s(r, N) === ssum ? 0 : 1;
  return [r, (n << 3) | (z << 2) | (c << 1) | v];
}

function nzFlags(r: bigint, N: number): number {
  return ((Number(r >> BigInt(N - 1)) & 1) << 3) | (r === 0n ? 4 : 0);
}

function conditionHolds(cond: number, nzcv: number): boolean {
  const n = (nzcv >> 3) & 1, z = (nzcv >> 2) & 1, c = (nzcv >> 1) & 1, v = nzcv & 1;
  let r: boolean;
  switch (cond >> 1) {
    case 0: r = z === 1; break;
    case 1: r = c === 1; break;
    case 2: r = n === 1; break;
    case 3: r = v === 1; break;
    case 4: r = c === 1 && z === 0; break;
    case 5: r = n === v; break;
    case 6: r = n === v && z === 0; break;
    default: r = true;
  }
  return cond & 1 && cond !== 15 ? !r : r;
}

function shiftReg(v: bigint, type: number, amount: number, N: number): bigint {
  v = u(v, N);
  const a = BigInt(amount);
  switch (type) {
    case 0: return u(v << a, N);
    case 1: return v >> a;
    case 2: return u(s(v, N) >> a, N);
    default: return amount === 0 ? v : u((v >> a) | (v << BigInt(N - amount)), N);
  }
}

function extendReg(v: bigint, option: number, shift: number, N: number): bigint {
  const len = 8 << (option & 3);
  let e = u(v, len);
  if (option >= 4) e = s(e, len);
  return u(e << BigInt(shift), N);
}

/** DecodeBitMasks from the pseudocode, with the reserved cases as null. */
function decodeBitMasks(N: number, imms: number, immr: number, immediate: boolean, M: number): [bigint, bigint] | null {
  const combined = (N << 6) | (~imms & 0x3f);
  if (combined === 0) return null;
  let len = 6;
  while (!((combined >> len) & 1)) len--;
  if (len < 1) return null;
  const levels = (1 << len) - 1;
  if (immediate && (imms & levels) === levels) return null;
  const S = imms & levels, R = immr & levels;
  const d = (S - R) & levels;
  const esize = 1 << len;
  const welem = ones(S + 1);
  const telem = ones(d + 1);
  const rorE = (v: bigint, r: number): bigint => (r === 0 ? v : u((v >> BigInt(r)) | (v << BigInt(esize - r)), esize));
  const rep = (e: bigint): bigint => {
    let out = 0n;
    for (let i = 0; i < M; i += esize) out |= e << BigInt(i);
    return out;
  };
  return [rep(rorE(welem, R)), rep(telem)];
}

/** CRC32 from the pseudocode's BitReverse / Poly32Mod2 formulation. */
function crcRef(acc: bigint, val: bigint, size: number, poly: bigint): bigint {
  const rev = (v: bigint, n: number): bigint => {
    let r = 0n;
    for (let i = 0; i < n; i++) if ((v >> BigInt(i)) & 1n) r |= 1n << BigInt(n - 1 - i);
    return r;
  };
  const tempacc = rev(u(acc, 32), 32) << BigInt(size);
  const tempval = rev(u(val, size), size) << 32n;
  let data = tempacc ^ tempval;
  const total = 32 + size;
  for (let i = total - 1; i >= 32; i--) if ((data >> BigInt(i)) & 1n) data ^= (poly | (1n << 32n)) << BigInt(i - 32);
  return rev(u(data, 32), 32);
}

// ---- Random values ------------------------------------------------------------

let seed = 0x2545f491;
function rnd32(): number {
  // xorshift32
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
}
const rndInt = (n: number): number => rnd32() % n;

const EDGES: bigint[] = [
  0n, 1n, 2n, 3n, M64, M64 - 1n, 0x7fffffffn, 0x80000000n, 0x80000001n, 0xffffffffn, 0xfffffffen, 0x100000000n,
  0x100000001n, 0x7fffffffffffffffn, 0x8000000000000000n, 0x8000000000000001n, 0xffffffff00000000n,
  0xffffffff80000000n, 0xffffffff7fffffffn, 0x00000000ffffffffn, 0x8000000080000000n, 0x123456789abcdef0n,
  0xfedcba9876543210n, 0x00000001ffffffffn, 0xffff0000ffff0000n,
];

function rndValue(): bigint {
  switch (rndInt(6)) {
    case 0:
    case 1:
      return EDGES[rndInt(EDGES.length)];
    case 2: // small signed
      return u(BigInt(rndInt(512) - 256), 64);
    case 3: // one bit set or clear
      return rndInt(2) ? 1n << BigInt(rndInt(64)) : M64 ^ (1n << BigInt(rndInt(64)));
    default:
      return (BigInt(rnd32()) << 32n) | BigInt(rnd32());
  }
}

function rndState(): State {
  const x: bigint[] = [];
  for (let i = 0; i < 31; i++) x.push(rndValue());
  return { x, sp: rndValue() & ~0xfn, nzcv: rndInt(16) };
}

const rndReg = (): number => (rndInt(4) === 0 ? 31 : rndInt(31));

function assertSame(got: State, want: State, what: string): void {
  for (let i = 0; i < 31; i++) {
    if (got.x[i] !== want.x[i]) assert.fail(`${what}: X${i} = 0x${got.x[i].toString(16)}, expected 0x${want.x[i].toString(16)}`);
  }
  if (got.sp !== want.sp) assert.fail(`${what}: SP = 0x${got.sp.toString(16)}, expected 0x${want.sp.toString(16)}`);
  if (got.nzcv !== want.nzcv) assert.fail(`${what}: NZCV = ${got.nzcv.toString(2).padStart(4, '0')}, expected ${want.nzcv.toString(2).padStart(4, '0')}`);
}

/**
 * Runs `trials` random encodings of `name` (fields from `gen`, which may
 * return null to skip) against the reference `ref`, each with `perWord` random
 * register states.
 */
function fuzz(name: string, trials: number, perWord: number, gen: () => Fields | null, ref: (f: Fields, r: Ref) => void): void {
  const c = decoder.byName.get(name)!;
  for (let t = 0; t < trials; t++) {
    const f = gen();
    if (f === null) continue;
    const w = encode(c, f);
    const d = decoder.decode(w);
    assert.ok(d !== null && d.c.def.name === name, `${name} ${JSON.stringify(f)} did not decode as itself`);
    // The disassembler must not throw and must produce something.
    assert.ok(d.c.def.disasm(d.fields, BigInt(BASE)).length > 0);
    for (let k = 0; k < perWord; k++) {
      const st = rndState();
      const r = new Ref(st);
      ref(d.fields, r);
      const got = runWord(w, st);
      assertSame(got, r.state(), `${d.c.def.disasm(d.fields, BigInt(BASE))} (${JSON.stringify(f)})`);
    }
  }
}

const TRIALS = 1500;
const PER = 4;

// ---- Logical (immediate) --------------------------------------------------------

test('logical immediate: AND/ORR/EOR/ANDS with DecodeBitMasks', () => {
  fuzz('AND_imm', TRIALS, PER, () => {
    const f = { sf: rndInt(2), opc: rndInt(4), N: rndInt(2), immr: rndInt(64), imms: rndInt(64), Rn: rndReg(), Rd: rndReg() };
    if (f.sf === 0 && f.N === 1) return null;
    if (decodeBitMasks(f.N, f.imms, f.immr, true, f.sf ? 64 : 32) === null) return null;
    return f;
  }, (f, r) => {
    const N = f.sf ? 64 : 32;
    const [imm] = decodeBitMasks(f.N, f.imms, f.immr, true, N)!;
    const a = r.get(f.Rn, N);
    const res = [a & imm, a | imm, a ^ imm, a & imm][f.opc];
    if (f.opc === 3) r.nzcv = nzFlags(res, N);
    r.set(f.Rd, res, N, f.opc !== 3);
  });
});

test('logical immediate: every encoding decodes exactly when DecodeBitMasks accepts it', () => {
  const c = decoder.byName.get('AND_imm')!;
  let valid = 0;
  for (let sf = 0; sf < 2; sf++) {
    for (let N = 0; N < 2; N++) {
      for (let immr = 0; immr < 64; immr++) {
        for (let imms = 0; imms < 64; imms++) {
          const w = encode(c, { sf, opc: 0, N, immr, imms, Rn: 1, Rd: 2 });
          const ok = !(sf === 0 && N === 1) && decodeBitMasks(N, imms, immr, true, sf ? 64 : 32) !== null;
          const d = decoder.decode(w);
          assert.equal(d !== null, ok, `sf=${sf} N=${N} immr=${immr} imms=${imms}`);
          if (ok) valid++;
        }
      }
    }
  }
  // Per immr (all 64 values encode): 64-bit N=1 has 63 valid imms, N=0 has 31+15+7+3+1 = 57; 32-bit N=0 only.
  assert.equal(valid, 64 * (63 + 57) + 64 * 57);
});

// ---- Bitfield and extract -------------------------------------------------------

function bitfieldRef(f: Fields, r: Ref): void {
  const N = f.sf ? 64 : 32;
  const src = r.get(f.Rn, N);
  const dst = r.get(f.Rd, N);
  const { immr, imms } = f;
  let res: bigint;
  // Independent of the wmask/tmask formulation: the field and where it goes.
  let width: number, pos: number, field: bigint;
  if (imms >= immr) {
    width = imms - immr + 1;
    pos = 0;
    field = (src >> BigInt(immr)) & ones(width);
  } else {
    width = imms + 1;
    pos = N - immr;
    field = src & ones(width);
  }
  const placed = field << BigInt(pos);
  const fieldMask = ones(width) << BigInt(pos);
  if (f.opc === 1) {
    res = (dst & ~fieldMask & ones(N)) | placed;
  } else if (f.opc === 2) {
    res = placed;
  } else {
    const top = pos + width - 1;
    res = u(s(placed, top + 1), N);
  }
  r.set(f.Rd, res, N);
}

test('bitfield: SBFM/BFM/UBFM', () => {
  fuzz('BFM', TRIALS * 2, PER, () => {
    const sf = rndInt(2);
    const lim = sf ? 64 : 32;
    const opc = rndInt(3);
    return { sf, opc, N: sf, immr: rndInt(lim), imms: rndInt(lim), Rn: rndReg(), Rd: rndReg() };
  }, bitfieldRef);
});

test('bitfield: common aliases', () => {
  // lsl x0, x1, #4 = UBFM x0, x1, #60, #59; asr w2, w3, #31; sxtb x4, w5; uxth w6, w7; bfi x8, x9, #8, #16.
  const st = rndState();
  st.x[1] = 0x0123456789abcdefn;
  st.x[3] = 0x80000000n;
  st.x[5] = 0xffffffff00000080n;
  st.x[7] = 0x12345678n;
  st.x[8] = 0xffffffffffffffffn;
  st.x[9] = 0xabcdn;
  let got = runWord(enc('BFM', { sf: 1, opc: 2, N: 1, immr: 60, imms: 59, Rn: 1, Rd: 0 }), st);
  assert.equal(got.x[0], 0x123456789abcdef0n);
  got = runWord(enc('BFM', { sf: 0, opc: 0, N: 0, immr: 31, imms: 31, Rn: 3, Rd: 2 }), st);
  assert.equal(got.x[2], 0xffffffffn);
  got = runWord(enc('BFM', { sf: 1, opc: 0, N: 1, immr: 0, imms: 7, Rn: 5, Rd: 4 }), st);
  assert.equal(got.x[4], 0xffffffffffffff80n);
  got = runWord(enc('BFM', { sf: 0, opc: 2, N: 0, immr: 0, imms: 15, Rn: 7, Rd: 6 }), st);
  assert.equal(got.x[6], 0x5678n);
  got = runWord(enc('BFM', { sf: 1, opc: 1, N: 1, immr: 56, imms: 15, Rn: 9, Rd: 8 }), st);
  assert.equal(got.x[8], 0xffffffffffabcdffn);
});

test('extract: EXTR and ROR (immediate)', () => {
  fuzz('EXTR', TRIALS, PER, () => {
    const sf = rndInt(2);
    return { sf, N: sf, imms: rndInt(sf ? 64 : 32), Rm: rndReg(), Rn: rndReg(), Rd: rndReg() };
  }, (f, r) => {
    const N = f.sf ? 64 : 32;
    const cat = (r.get(f.Rn, N) << BigInt(N)) | r.get(f.Rm, N);
    r.set(f.Rd, cat >> BigInt(f.imms), N);
  });
});

// ---- ADD/SUB, ADC/SBC ---------------------------------------------------------------

test('add/sub (shifted register) with flags', () => {
  fuzz('ADD_sreg', TRIALS * 2, PER, () => {
    const sf = rndInt(2);
    return { sf, op: rndInt(2), S: rndInt(2), shift: rndInt(3), imm6: rndInt(4) === 0 ? 0 : rndInt(sf ? 64 : 32), Rm: rndReg(), Rn: rndReg(), Rd: rndReg() };
  }, (f, r) => {
    const N = f.sf ? 64 : 32;
    let op2 = shiftReg(r.get(f.Rm, N), f.shift, f.imm6, N);
    if (f.op) op2 = u(~op2, N);
    const [res, nzcv] = addWithCarry(r.get(f.Rn, N), op2, f.op, N);
    if (f.S) r.nzcv = nzcv;
    r.set(f.Rd, res, N);
  });
});

test('add/sub (extended register) with SP', () => {
  fuzz('ADD_ereg', TRIALS * 2, PER, () => {
    const sf = rndInt(2);
    return { sf, op: rndInt(2), S: rndInt(2), opt: 0, option: rndInt(8), imm3: rndInt(5), Rm: rndReg(), Rn: rndReg(), Rd: rndReg() };
  }, (f, r) => {
    const N = f.sf ? 64 : 32;
    let op2 = extendReg(r.get(f.Rm, 64), f.option, f.imm3, N);
    if (f.op) op2 = u(~op2, N);
    const [res, nzcv] = addWithCarry(r.get(f.Rn, N, true), op2, f.op, N);
    if (f.S) r.nzcv = nzcv;
    r.set(f.Rd, res, N, !f.S);
  });
});

test('adc/adcs/sbc/sbcs', () => {
  fuzz('ADC', TRIALS, PER * 2, () => ({ sf: rndInt(2), op: rndInt(2), S: rndInt(2), Rm: rndReg(), Rn: rndReg(), Rd: rndReg() }), (f, r) => {
    const N = f.sf ? 64 : 32;
    let op2 = r.get(f.Rm, N);
    if (f.op) op2 = u(~op2, N);
    const [res, nzcv] = addWithCarry(r.get(f.Rn, N), op2, r.c, N);
    if (f.S) r.nzcv = nzcv;
    r.set(f.Rd, res, N);
  });
});

test('sbcs flag corner cases', () => {
  const w = enc('ADC', { sf: 1, op: 1, S: 1, Rm: 2, Rn: 1, Rd: 0 });
  const cases: [bigint, bigint, number, bigint, number][] = [
    // Rn, Rm, C in, result, NZCV
    [0n, 0n, 1, 0n, 0b0110],
    [0n, 0n, 0, M64, 0b1000],
    [0x8000000000000000n, 1n, 1, 0x7fffffffffffffffn, 0b0011],
    [0x8000000000000000n, 0n, 0, 0x7fffffffffffffffn, 0b0011],
    [0x7fffffffffffffffn, M64, 1, 0x8000000000000000n, 0b1001],
    [5n, 5n, 0, M64, 0b1000],
  ];
  for (const [a, b, cin, res, nzcv] of cases) {
    const st = rndState();
    st.x[1] = a;
    st.x[2] = b;
    st.nzcv = cin << 1;
    const got = runWord(w, st);
    assert.equal(got.x[0], res, `sbcs ${a} ${b} ${cin}`);
    assert.equal(got.nzcv, nzcv, `sbcs ${a} ${b} ${cin} flags`);
  }
});

// ---- Logical (shifted register) -------------------------------------------------------

test('logical (shifted register) incl. ROR and the inverted forms', () => {
  fuzz('AND_sreg', TRIALS * 2, PER, () => {
    const sf = rndInt(2);
    return { sf, opc: rndInt(4), shift: rndInt(4), N: rndInt(2), imm6: rndInt(4) === 0 ? 0 : rndInt(sf ? 64 : 32), Rm: rndReg(), Rn: rndReg(), Rd: rndReg() };
  }, (f, r) => {
    const N = f.sf ? 64 : 32;
    let op2 = shiftReg(r.get(f.Rm, N), f.shift, f.imm6, N);
    if (f.N) op2 = u(~op2, N);
    const a = r.get(f.Rn, N);
    const res = [a & op2, a | op2, a ^ op2, a & op2][f.opc];
    if (f.opc === 3) r.nzcv = nzFlags(res, N);
    r.set(f.Rd, res, N);
  });
});

// ---- Conditional select and compare ------------------------------------------------------

test('csel/csinc/csinv/csneg', () => {
  fuzz('CSEL', TRIALS, PER * 2, () => ({ sf: rndInt(2), op: rndInt(2), o2: rndInt(2), cond: rndInt(16), Rm: rndReg(), Rn: rndReg(), Rd: rndReg() }), (f, r) => {
    const N = f.sf ? 64 : 32;
    let res: bigint;
    if (conditionHolds(f.cond, r.nzcv)) res = r.get(f.Rn, N);
    else {
      const m = r.get(f.Rm, N);
      res = [m, m + 1n, ~m, -m][(f.op << 1) | f.o2];
    }
    r.set(f.Rd, res, N);
  });
});

test('ccmp/ccmn register and immediate', () => {
  const ref = (imm: boolean) => (f: Fields, r: Ref): void => {
    const N = f.sf ? 64 : 32;
    if (!conditionHolds(f.cond, r.nzcv)) {
      r.nzcv = f.nzcv;
      return;
    }
    let op2 = imm ? BigInt(f.imm5) : r.get(f.Rm, N);
    if (f.op) op2 = u(~op2, N);
    r.nzcv = addWithCarry(r.get(f.Rn, N), op2, f.op, N)[1];
  };
  fuzz('CCMP_reg', TRIALS, PER * 2, () => ({ sf: rndInt(2), op: rndInt(2), Rm: rndReg(), cond: rndInt(16), Rn: rndReg(), nzcv: rndInt(16) }), ref(false));
  fuzz('CCMP_imm', TRIALS, PER * 2, () => ({ sf: rndInt(2), op: rndInt(2), imm5: rndInt(32), cond: rndInt(16), Rn: rndReg(), nzcv: rndInt(16) }), ref(true));
});

// ---- Multiply and divide -----------------------------------------------------------------

test('madd/msub', () => {
  fuzz('MADD', TRIALS, PER, () => ({ sf: rndInt(2), Rm: rndReg(), o0: rndInt(2), Ra: rndReg(), Rn: rndReg(), Rd: rndReg() }), (f, r) => {
    const N = f.sf ? 64 : 32;
    const p = r.get(f.Rn, N) * r.get(f.Rm, N);
    r.set(f.Rd, f.o0 ? r.get(f.Ra, N) - p : r.get(f.Ra, N) + p, N);
  });
});

test('smaddl/smsubl/umaddl/umsubl', () => {
  fuzz('SMADDL', TRIALS, PER, () => ({ U: rndInt(2), Rm: rndReg(), o0: rndInt(2), Ra: rndReg(), Rn: rndReg(), Rd: rndReg() }), (f, r) => {
    const ext = (v: bigint): bigint => (f.U ? u(v, 32) : s(v, 32));
    const p = ext(r.get(f.Rn, 32)) * ext(r.get(f.Rm, 32));
    r.set(f.Rd, f.o0 ? r.get(f.Ra, 64) - p : r.get(f.Ra, 64) + p, 64);
  });
});

test('smulh/umulh', () => {
  fuzz('SMULH', TRIALS, PER * 2, () => ({ U: rndInt(2), Rm: rndReg(), Ra: 31, Rn: rndReg(), Rd: rndReg() }), (f, r) => {
    const ext = (v: bigint): bigint => (f.U ? v : s(v, 64));
    r.set(f.Rd, (ext(r.get(f.Rn, 64)) * ext(r.get(f.Rm, 64))) >> 64n, 64);
  });
});

function divRef(f: Fields, r: Ref): void {
  const N = f.sf ? 64 : 32;
  const a = r.get(f.Rn, N), b = r.get(f.Rm, N);
  let q: bigint;
  if (b === 0n) q = 0n;
  else if (f.o1) q = s(a, N) / s(b, N); // BigInt division truncates toward zero
  else q = a / b;
  r.set(f.Rd, q, N);
}

test('udiv/sdiv on random and edge values', () => {
  fuzz('UDIV', TRIALS * 2, PER * 2, () => ({ sf: rndInt(2), o1: rndInt(2), Rm: rndReg(), Rn: rndReg(), Rd: rndReg() }), divRef);
});

test('udiv/sdiv: exhaustive edge pairs and quotients near the estimate boundaries', () => {
  const vals = EDGES.slice();
  // Divisors just above 2^32 and dividends that are exact multiples +/- 1: the double estimate is off by one there.
  for (let i = 0; i < 40; i++) {
    const b = (BigInt(rnd32() >>> rndInt(32)) << 32n) | BigInt(rnd32());
    const q = BigInt(rnd32() >>> rndInt(32));
    for (const dlt of [-1n, 0n, 1n]) vals.push(u(b * q + dlt, 64));
    vals.push(b, u(b - 1n, 64), u(b + 1n, 64));
  }
  for (let i = 0; i < 20; i++) vals.push(u((1n << BigInt(rndInt(64))) + BigInt(rndInt(3)) - 1n, 64));
  for (let sf = 0; sf < 2; sf++) {
    for (let o1 = 0; o1 < 2; o1++) {
      const w = enc('UDIV', { sf, o1, Rm: 2, Rn: 1, Rd: 0 });
      for (const a of vals) {
        for (const b of vals) {
          const st = rndState();
          st.x[1] = a;
          st.x[2] = b;
          const r = new Ref(st);
          divRef({ sf, o1, Rm: 2, Rn: 1, Rd: 0 }, r);
          assertSame(runWord(w, st), r.state(), `${o1 ? 's' : 'u'}div${sf ? 64 : 32} 0x${a.toString(16)} / 0x${b.toString(16)}`);
        }
      }
    }
  }
});

test('sdiv overflow and divide by zero', () => {
  const st = rndState();
  st.x[1] = 0x8000000000000000n;
  st.x[2] = M64;
  st.x[3] = 0n;
  let got = runWord(enc('UDIV', { sf: 1, o1: 1, Rm: 2, Rn: 1, Rd: 0 }), st);
  assert.equal(got.x[0], 0x8000000000000000n);
  st.x[1] = 0x80000000n;
  got = runWord(enc('UDIV', { sf: 0, o1: 1, Rm: 2, Rn: 1, Rd: 0 }), st);
  assert.equal(got.x[0], 0x80000000n);
  got = runWord(enc('UDIV', { sf: 1, o1: 0, Rm: 3, Rn: 1, Rd: 0 }), st);
  assert.equal(got.x[0], 0n);
  got = runWord(enc('UDIV', { sf: 0, o1: 1, Rm: 3, Rn: 1, Rd: 0 }), st);
  assert.equal(got.x[0], 0n);
});

// ---- Variable shifts, bit operations, CRC ---------------------------------------------------

test('lslv/lsrv/asrv/rorv', () => {
  fuzz('LSLV', TRIALS, PER * 2, () => ({ sf: rndInt(2), Rm: rndReg(), op2: rndInt(4), Rn: rndReg(), Rd: rndReg() }), (f, r) => {
    const N = f.sf ? 64 : 32;
    const amount = Number(r.get(f.Rm, 64) % BigInt(N));
    r.set(f.Rd, shiftReg(r.get(f.Rn, N), f.op2, amount, N), N);
  });
});

test('rbit/rev16/rev32/rev', () => {
  fuzz('RBIT', TRIALS, PER, () => {
    const sf = rndInt(2), opc = rndInt(4);
    if (!sf && opc === 3) return null;
    return { sf, opc, Rn: rndReg(), Rd: rndReg() };
  }, (f, r) => {
    const N = f.sf ? 64 : 32;
    const v = r.get(f.Rn, N);
    let res = 0n;
    if (f.opc === 0) {
      for (let i = 0; i < N; i++) if ((v >> BigInt(i)) & 1n) res |= 1n << BigInt(N - 1 - i);
    } else {
      // Reverse bytes within containers of 16, 32 or N bits.
      const cont = f.opc === 1 ? 16 : f.opc === 2 && f.sf ? 32 : N;
      for (let c = 0; c < N; c += cont) {
        for (let b = 0; b < cont; b += 8) {
          const byte = (v >> BigInt(c + b)) & 0xffn;
          res |= byte << BigInt(c + cont - 8 - b);
        }
      }
    }
    r.set(f.Rd, res, N);
  });
});

test('clz/cls', () => {
  fuzz('CLZ', TRIALS, PER * 2, () => ({ sf: rndInt(2), op: rndInt(2), Rn: rndReg(), Rd: rndReg() }), (f, r) => {
    const N = f.sf ? 64 : 32;
    const v = r.get(f.Rn, N);
    const clz = (x: bigint, n: number): number => {
      let k = 0;
      while (k < n && !((x >> BigInt(n - 1 - k)) & 1n)) k++;
      return k;
    };
    // CountLeadingSignBits(x) = CountLeadingZeroBits(x<N-1:1> EOR x<N-2:0>).
    const res = f.op ? clz((v >> 1n) ^ (v & ones(N - 1)), N - 1) : clz(v, N);
    r.set(f.Rd, BigInt(res), N);
  });
});

test('crc32 and crc32c', () => {
  fuzz('CRC32', TRIALS, PER, () => {
    const sz = rndInt(4);
    return { sf: sz === 3 ? 1 : 0, C: rndInt(2), sz, Rm: rndReg(), Rn: rndReg(), Rd: rndReg() };
  }, (f, r) => {
    const size = 8 << f.sz;
    r.set(f.Rd, crcRef(r.get(f.Rn, 32), r.get(f.Rm, 64), size, f.C ? 0x1edc6f41n : 0x04c11db7n), 32);
  });
  // The check values of CRC-32 and CRC-32C over "123456789" (with the usual pre- and post-inversion).
  for (const [C, want] of [[0, 0xcbf43926n], [1, 0xe3069283n]] as const) {
    const w = enc('CRC32', { sf: 0, C, sz: 0, Rm: 1, Rn: 0, Rd: 0 });
    const st = rndState();
    st.x[0] = 0xffffffffn;
    for (const ch of '123456789') {
      st.x[1] = BigInt(ch.charCodeAt(0)) | 0xabcdef00n; // bits above the byte are ignored
      st.x[0] = runWord(w, st).x[0];
    }
    assert.equal(st.x[0] ^ 0xffffffffn, want);
  }
});

// ---- Unallocated encodings and features --------------------------------------------------------

test('unallocated encodings inside the patterns do not decode', () => {
  const bad: [string, Fields][] = [
    ['AND_imm', { sf: 0, opc: 0, N: 1, immr: 0, imms: 0 }],
    ['AND_imm', { sf: 1, opc: 1, N: 1, immr: 0, imms: 63 }], // all-ones element
    ['AND_imm', { sf: 1, opc: 1, N: 0, immr: 0, imms: 0x3d }], // element size 2, all ones
    ['AND_imm', { sf: 1, opc: 1, N: 0, immr: 0, imms: 0x3f }], // N:NOT(imms) = 0
    ['AND_imm', { sf: 1, opc: 1, N: 0, immr: 0, imms: 0x3e }], // len 0
    ['BFM', { sf: 0, opc: 0, N: 1, immr: 0, imms: 7 }],
    ['BFM', { sf: 1, opc: 2, N: 0, immr: 0, imms: 7 }],
    ['BFM', { sf: 0, opc: 2, N: 0, immr: 32, imms: 7 }],
    ['BFM', { sf: 0, opc: 2, N: 0, immr: 0, imms: 32 }],
    ['BFM', { sf: 1, opc: 3, N: 1, immr: 0, imms: 7 }],
    ['EXTR', { sf: 0, N: 0, imms: 32 }],
    ['EXTR', { sf: 1, N: 0, imms: 3 }],
    ['EXTR', { sf: 0, N: 1, imms: 3 }],
    ['ADD_sreg', { sf: 1, op: 0, S: 0, shift: 3, imm6: 1 }],
    ['ADD_sreg', { sf: 0, op: 1, S: 1, shift: 0, imm6: 32 }],
    ['ADD_ereg', { sf: 1, op: 0, S: 0, opt: 0, option: 3, imm3: 5 }],
    ['ADD_ereg', { sf: 1, op: 0, S: 0, opt: 1, option: 3, imm3: 0 }],
    ['AND_sreg', { sf: 0, opc: 1, shift: 0, N: 0, imm6: 40 }],
    ['CRC32', { sf: 1, C: 0, sz: 0 }],
    ['CRC32', { sf: 0, C: 1, sz: 3 }],
    ['RBIT', { sf: 0, opc: 3 }],
  ];
  for (const [name, f] of bad) {
    const w = enc(name, { Rm: 3, Rn: 2, Rd: 1, ...f });
    assert.equal(decoder.decode(w), null, `${name} ${JSON.stringify(f)} (0x${w.toString(16)}) should be unallocated`);
  }
  // Fixed-bit variants just outside the patterns: CSEL with S=1, CCMP with S=0 or o3=1, MADD with op54 != 0, SMULH with sf=0.
  const csel = enc('CSEL', { sf: 1, op: 0, Rm: 3, cond: 0, o2: 0, Rn: 2, Rd: 1 });
  assert.equal(decoder.decode(csel | (1 << 29)), null);
  assert.equal(decoder.decode(csel | (1 << 11)), null);
  const ccmp = enc('CCMP_reg', { sf: 1, op: 1, Rm: 3, cond: 0, Rn: 2, nzcv: 0 });
  assert.equal(decoder.decode(ccmp & ~(1 << 29)), null);
  assert.equal(decoder.decode(ccmp | (1 << 4)), null);
  assert.equal(decoder.decode(ccmp | (1 << 10)), null);
  const madd = enc('MADD', { sf: 1, Rm: 3, o0: 0, Ra: 4, Rn: 2, Rd: 1 });
  assert.equal(decoder.decode(madd | (1 << 29)), null);
  const smulh = enc('SMULH', { U: 0, Rm: 3, Ra: 31, Rn: 2, Rd: 1 });
  assert.equal(decoder.decode(smulh & ~(1 << 31)), null);
  assert.equal(decoder.decode(smulh | (1 << 15)), null);
  const smaddl = enc('SMADDL', { U: 0, Rm: 3, o0: 0, Ra: 4, Rn: 2, Rd: 1 });
  assert.equal(decoder.decode(smaddl & ~(1 << 31)), null);
  // Without FEAT_CRC32 the CRC32 encodings are unallocated.
  assert.equal(noCrc.decode(enc('CRC32', { sf: 0, C: 0, sz: 0, Rm: 3, Rn: 2, Rd: 1 })), null);
});

test('an unallocated encoding raises Undefined Instruction on the PE', () => {
  // VBAR_EL1 points at a vector table whose current-EL synchronous entry (offset 0x200) is HVC #1.
  const vbar = BASE + 0x10000;
  bus.writeBytes(vbar + 0x200, word32(enc('HVC', { imm16: 1 })));
  pe.writeSysreg('VBAR_EL1', BigInt(vbar));
  const w = enc('ADD_sreg', { sf: 1, op: 0, S: 0, shift: 3, imm6: 1, Rm: 3, Rn: 2, Rd: 1 });
  bus.writeBytes(BASE, word32(w));
  bus.writeBytes(BASE + 4, word32(HVC0));
  loaded = -1;
  pe.setPstate(PSTATE_EL1H);
  pe.pc = BigInt(BASE);
  assert.equal(pe.run(100), RunExit.El2);
  assert.equal(Number(pe.readSysreg('ESR_EL2') & 0xffffn), 1, 'took the vector, not the fall-through HVC');
  assert.equal(Number(pe.readSysreg('ESR_EL1') >> 26n), 0, 'EC is Unknown');
  assert.equal(Number(pe.readSysreg('SPSR_EL1') & 0xfn), 5, 'taken from EL1h');
  assert.equal(pe.readSysreg('ELR_EL1'), BigInt(BASE));
  // Back to a clean EL1h state for any later test.
  pe.reset();
});

// ---- Disassembly ------------------------------------------------------------------------------------

test('disassembly of representative encodings (objdump syntax)', () => {
  const cases: [number, string][] = [
    [0x92401c20, 'and x0, x1, #0xff'],
    [0xb200c3e0, 'mov x0, #0x101010101010101'],
    [0x7200001f, 'tst w0, #0x1'],
    [0xd37ff820, 'lsl x0, x1, #1'],
    [0xd341fc20, 'lsr x0, x1, #1'],
    [0x13017c20, 'asr w0, w1, #1'],
    [0x93401c20, 'sxtb x0, w1'],
    [0x53001c20, 'uxtb w0, w1'],
    [0xd3441c20, 'ubfx x0, x1, #4, #4'],
    [0xb37c0c20, 'bfi x0, x1, #4, #4'],
    [0x93c21020, 'extr x0, x1, x2, #4'],
    [0x93c11020, 'ror x0, x1, #4'],
    [0x8b020c20, 'add x0, x1, x2, lsl #3'],
    [0xeb02003f, 'cmp x1, x2'],
    [0xcb0203e0, 'neg x0, x2'],
    [0x8b22c020, 'add x0, x1, w2, sxtw'],
    [0x8b2263e0, 'add x0, sp, x2'],
    [0xaa0203e0, 'mov x0, x2'],
    [0xaa2203e0, 'mvn x0, x2'],
    [0xea02003f, 'tst x1, x2'],
    [0x8a620420, 'bic x0, x1, x2, lsr #1'],
    [0x9a821020, 'csel x0, x1, x2, ne'],
    [0x9a9f17e0, 'cset x0, eq'],
    [0xfa420824, 'ccmp x1, #0x2, #0x4, eq'],
    [0x9b027c20, 'mul x0, x1, x2'],
    [0x9b220c20, 'smaddl x0, w1, w2, x3'],
    [0x9bc27c20, 'umulh x0, x1, x2'],
    [0x9ac20c20, 'sdiv x0, x1, x2'],
    [0x9ac22020, 'lsl x0, x1, x2'],
    [0x1ac24020, 'crc32b w0, w1, w2'],
    [0x9ac25c20, 'crc32cx w0, w1, x2'],
    [0xdac00c20, 'rev x0, x1'],
    [0xdac01420, 'cls x0, x1'],
    [0xda020020, 'sbc x0, x1, x2'],
  ];
  for (const [w, want] of cases) {
    const d = decoder.decode(w);
    assert.ok(d, `0x${w.toString(16)} does not decode`);
    assert.equal(d.c.def.disasm(d.fields, BigInt(BASE)), want, `0x${w.toString(16)}`);
  }
});
