/**
 * Unit tests of the integer Advanced SIMD groups with reference models:
 * - the 64-bit lane helpers and the register-shift lane functions against
 *   BigInt references on random and edge inputs;
 * - AES-128 encryption and decryption run with AESE/AESMC/AESD/AESIMC
 *   against node:crypto; SHA-1 and SHA-256 single-block compressions run
 *   with the SHA instructions against node:crypto;
 * - lane-level checks of some instructions (saturation and FPSR.QC, Q=0
 *   clearing, structure loads and stores with register wrap-around, post-index);
 * - the FP/SIMD access trap (CPACR_EL1.FPEN) and the feature gating of the
 *   crypto instructions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { PhysicalBus } from '../../../src/cpu/bus.js';
import { Decoder, Fields, encode } from '../../../src/cpu/decoder.js';
import { PE, RunExit } from '../../../src/cpu/pe.js';
import {
  add64, sub64, sqadd64, sqsub64, uqadd64, uqsub64, shl64, shr64, sar64, rshr64, smul32, umul32, st,
} from '../../../src/cpu/insn/simd_util.js';
import { shlReg, shlReg64, suqadd64, usqadd64 } from '../../../src/cpu/insn/simd_lanes.js';
import { Rng, fullTable, simdPe, FEATURES } from './simdcheck.js';

const M64 = (1n << 64n) - 1n;
const u64 = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
const halves = (v: bigint): [number, number] => [Number(v & 0xffffffffn) | 0, Number((v >> 32n) & 0xffffffffn) | 0];
const res = (lo: number): bigint => u64(lo, st.hi);

const EDGES64 = [0n, 1n, M64, 0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffn, 0x100000000n, 0x80000000n, 0x7fffffffn, 0xffffffff80000000n, 2n, M64 - 1n];
function rnd64(r: Rng): bigint {
  if (r.chance(0.3)) return r.pick(EDGES64);
  return (BigInt(r.u32()) << 32n) | BigInt(r.u32());
}
const satS = (v: bigint): { v: bigint; q: boolean } =>
  v > 0x7fffffffffffffffn ? { v: 0x7fffffffffffffffn, q: true } : v < -0x8000000000000000n ? { v: 0x8000000000000000n, q: true } : { v: BigInt.asUintN(64, v), q: false };
const satU = (v: bigint): { v: bigint; q: boolean } => (v > M64 ? { v: M64, q: true } : v < 0n ? { v: 0n, q: true } : { v, q: false });

test('64-bit lane helpers match BigInt references', () => {
  const r = new Rng(1);
  for (let i = 0; i < 20000; i++) {
    const a = rnd64(r), b = rnd64(r);
    const [al, ah] = halves(a), [bl, bh] = halves(b);
    const sa = BigInt.asIntN(64, a), sb = BigInt.asIntN(64, b);
    assert.equal(res(add64(al, ah, bl, bh)), (a + b) & M64);
    assert.equal(res(sub64(al, ah, bl, bh)), (a - b) & M64);
    for (const [fn, ref] of [[sqadd64, satS(sa + sb)], [sqsub64, satS(sa - sb)], [uqadd64, satU(a + b)], [uqsub64, satU(a - b)]] as const) {
      st.qc = 0;
      const lo = fn(al, ah, bl, bh);
      assert.equal(res(lo), ref.v, `${fn.name}(${a}, ${b})`);
      assert.equal(st.qc === 1, ref.q);
    }
    st.qc = 0;
    // SUQADD: SignedSat(SInt(d) + UInt(n)); USQADD: UnsignedSat(UInt(d) + SInt(n)); arguments (n, d).
    assert.equal(res(suqadd64(al, ah, bl, bh)), satS(sb + a).v);
    assert.equal(res(usqadd64(al, ah, bl, bh)), satU(b + sa).v);
    st.qc = 0;
    const s = r.below(70);
    assert.equal(res(shl64(al, ah, s)), s >= 64 ? 0n : (a << BigInt(s)) & M64);
    assert.equal(res(shr64(al, ah, s)), s >= 64 ? 0n : a >> BigInt(s));
    assert.equal(res(sar64(al, ah, s)), BigInt.asUintN(64, sa >> BigInt(Math.min(s, 63))));
    const k = 1 + r.below(130);
    assert.equal(res(rshr64(al, ah, k, true)), BigInt.asUintN(64, (sa + (1n << BigInt(k - 1))) >> BigInt(k)), `srshr ${sa} ${k}`);
    assert.equal(res(rshr64(al, ah, k, false)), BigInt.asUintN(64, (a + (1n << BigInt(k - 1))) >> BigInt(k)), `urshr ${a} ${k}`);
    assert.equal(res(smul32(al, bl)), BigInt.asUintN(64, BigInt(al | 0) * BigInt(bl | 0)));
    assert.equal(res(umul32(al, bl)), BigInt(al >>> 0) * BigInt(bl >>> 0));
  }
});

/** The register-shift family on one e-bit lane (shift = signed low byte of b), infinite precision. */
function shlRef(a: bigint, sh: number, e: number, round: boolean, saturating: boolean, signed: boolean): { v: bigint; q: boolean } {
  let v: bigint;
  if (sh >= 0) v = a << BigInt(sh);
  else {
    const k = BigInt(-sh);
    v = round ? (a + (1n << (k - 1n))) >> k : a >> k;
  }
  const E = BigInt(e);
  if (saturating) {
    const lo = signed ? -(1n << (E - 1n)) : 0n, hi = signed ? (1n << (E - 1n)) - 1n : (1n << E) - 1n;
    if (v > hi) return { v: BigInt.asUintN(e, hi), q: true };
    if (v < lo) return { v: BigInt.asUintN(e, lo), q: true };
  }
  return { v: BigInt.asUintN(e, v), q: false };
}

test('register shifts (SSHL ... UQRSHL) match a BigInt reference for every lane size', () => {
  const r = new Rng(2);
  for (const e of [8, 16, 32, 64]) {
    for (const round of [false, true]) for (const saturating of [false, true]) for (const signed of [false, true]) {
      const f32 = e < 64 ? shlReg(e, round, saturating, signed) : null;
      const f64 = e === 64 ? shlReg64(round, saturating, signed) : null;
      for (let i = 0; i < 3000; i++) {
        let a = BigInt.asUintN(e, rnd64(r));
        if (signed) a = BigInt.asIntN(e, a);
        const sh = r.chance(0.5) ? r.range(-e - 2, e + 2) : r.range(-128, 127);
        const b = (r.u32() & ~0xff) | (sh & 0xff);
        const ref = shlRef(a, sh, e, round, saturating, signed);
        st.qc = 0;
        let got: bigint;
        if (f32) got = BigInt.asUintN(e, BigInt(f32(Number(a), b, 0)));
        else {
          const [al, ah] = halves(BigInt.asUintN(64, a));
          got = res(f64!(al, ah, b, 0, 0, 0));
        }
        assert.equal(got, ref.v, `e=${e} round=${round} sat=${saturating} signed=${signed} a=${a} sh=${sh}`);
        assert.equal(st.qc === 1, ref.q);
      }
    }
  }
});

// ---- Running instructions --------------------------------------------------------------------

const dec = new Decoder(fullTable(), new Set(['lse', 'crc32', ...Object.keys(FEATURES)]));
function enc(name: string, f: Fields): number {
  const c = dec.byName.get(name);
  if (c === undefined) throw new Error(`no ${name}`);
  const w = encode(c, f);
  const d = dec.decode(w);
  assert.ok(d !== null && d.c.def.name === name, `${name} ${JSON.stringify(f)} does not decode to itself`);
  return w;
}

const RAM = 0x40000000, VBAR = 0x40010000, DATA = 0x40080000;
const HVC0 = 0xd4000002, HVC1 = 0xd4000022;

function machine(features: Record<string, boolean> = FEATURES, fpen = 3): { pe: PE; bus: PhysicalBus } {
  const bus = new PhysicalBus();
  bus.addRam(RAM, 1 << 20);
  const pe = features === FEATURES ? simdPe(bus) : new PE(bus, features);
  if (features !== FEATURES) (pe as unknown as { decoder: Decoder }).decoder = new Decoder(fullTable(), new Set(Object.entries({ ...pe.features }).filter(([, v]) => v === true).map(([k]) => k)));
  const v = new Uint8Array(4);
  new DataView(v.buffer).setUint32(0, HVC1, true);
  bus.writeBytes(VBAR + 0x200, v);
  pe.writeSysreg('VBAR_EL1', BigInt(VBAR));
  pe.writeSysreg('CPACR_EL1', BigInt(fpen) << 20n);
  pe.writeSysreg('HCR_EL2', 1n << 12n); // DC: Normal memory with the MMU off
  return { pe, bus };
}

function run(m: { pe: PE; bus: PhysicalBus }, words: number[]): void {
  const b = new Uint8Array(4 * words.length + 4);
  const v = new DataView(b.buffer);
  words.forEach((w, i) => v.setUint32(4 * i, w >>> 0, true));
  v.setUint32(4 * words.length, HVC0, true);
  m.bus.writeBytes(RAM, b);
  if (m.pe.el === 2) m.pe.eretFromEl2();
  m.pe.pc = BigInt(RAM);
  assert.equal(m.pe.run(10000), RunExit.El2);
}

const setQ = (pe: PE, n: number, v: bigint): void => {
  for (let i = 0; i < 4; i++) pe.v32[4 * n + i] = Number((v >> BigInt(32 * i)) & 0xffffffffn) | 0;
};
const getQ = (pe: PE, n: number): bigint => {
  let v = 0n;
  for (let i = 3; i >= 0; i--) v = (v << 32n) | BigInt(pe.v32[4 * n + i] >>> 0);
  return v;
};
const bytesToQ = (b: Uint8Array, o = 0): bigint => {
  let v = 0n;
  for (let i = 15; i >= 0; i--) v = (v << 8n) | BigInt(b[o + i]);
  return v;
};
const qToBytes = (v: bigint): Uint8Array => {
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return b;
};

test('AES-128 with AESE/AESMC and AESD/AESIMC matches node:crypto', () => {
  const m = machine();
  const r = new Rng(3);
  for (let trial = 0; trial < 20; trial++) {
    const key = Uint8Array.from({ length: 16 }, () => r.below(256));
    const pt = Uint8Array.from({ length: 16 }, () => r.below(256));
    const expected = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false).update(pt);
    const rk = expandKey(key);
    // Round keys in v1..v11, the block in v0.
    for (let i = 0; i < 11; i++) setQ(m.pe, i + 1, bytesToQ(rk, 16 * i));
    setQ(m.pe, 0, bytesToQ(pt));
    const prog: number[] = [];
    for (let i = 0; i < 9; i++) {
      prog.push(enc('AES', { M: 0, D: 0, Rn: i + 1, Rd: 0 })); // AESE v0, v(i+1)
      prog.push(enc('AES', { M: 1, D: 0, Rn: 0, Rd: 0 })); // AESMC v0, v0
    }
    prog.push(enc('AES', { M: 0, D: 0, Rn: 10, Rd: 0 }));
    prog.push(enc('EOR_BSL_vec', { Q: 1, size: 0, Rm: 11, Rn: 0, Rd: 0 }));
    run(m, prog);
    assert.deepEqual(qToBytes(getQ(m.pe, 0)), new Uint8Array(expected));
    // Decrypt: AESD with the round keys in reverse, AESIMC on the middle ones (the equivalent inverse cipher).
    const dprog: number[] = [];
    for (let i = 2; i <= 10; i++) dprog.push(enc('AES', { M: 1, D: 1, Rn: i, Rd: i })); // AESIMC v2..v10
    for (let i = 11; i >= 3; i--) {
      dprog.push(enc('AES', { M: 0, D: 1, Rn: i, Rd: 0 })); // AESD v0, vi
      dprog.push(enc('AES', { M: 1, D: 1, Rn: 0, Rd: 0 })); // AESIMC v0, v0
    }
    dprog.push(enc('AES', { M: 0, D: 1, Rn: 2, Rd: 0 }));
    dprog.push(enc('EOR_BSL_vec', { Q: 1, size: 0, Rm: 1, Rn: 0, Rd: 0 }));
    run(m, dprog);
    assert.deepEqual(qToBytes(getQ(m.pe, 0)), pt);
  }
});

/** AES-128 key expansion (FIPS-197 5.2), 176 bytes. */
function expandKey(key: Uint8Array): Uint8Array {
  const sbox = aesSbox();
  const w = new Uint8Array(176);
  w.set(key);
  let rcon = 1;
  for (let i = 16; i < 176; i += 4) {
    let t = [w[i - 4], w[i - 3], w[i - 2], w[i - 1]];
    if (i % 16 === 0) {
      t = [sbox[t[1]] ^ rcon, sbox[t[2]], sbox[t[3]], sbox[t[0]]];
      rcon = (rcon << 1) ^ (rcon & 0x80 ? 0x11b : 0);
    }
    for (let k = 0; k < 4; k++) w[i + k] = w[i - 16 + k] ^ t[k];
  }
  return w;
}

function aesSbox(): Uint8Array {
  // The S-box from its definition, computed independently of crypto.ts: inverse by exponentiation (x^254).
  const mul = (a: number, b: number): number => {
    let p = 0;
    for (let i = 0; i < 8; i++) {
      if (b & 1) p ^= a;
      a = (a << 1) ^ (a & 0x80 ? 0x11b : 0);
      b >>= 1;
    }
    return p;
  };
  const s = new Uint8Array(256);
  for (let x = 0; x < 256; x++) {
    let inv = 1;
    for (let k = 0; k < 254; k++) inv = mul(inv, x);
    if (x === 0) inv = 0;
    let y = inv;
    for (let k = 1; k < 5; k++) y ^= ((inv << k) | (inv >> (8 - k))) & 0xff;
    s[x] = y ^ 0x63;
  }
  return s;
}

const K256 = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/** One 64-byte block, big-endian words, as four Q registers of 32-bit lanes. */
function blockWords(msg: Uint8Array): number[] {
  const w: number[] = [];
  for (let i = 0; i < 16; i++) w.push(((msg[4 * i] << 24) | (msg[4 * i + 1] << 16) | (msg[4 * i + 2] << 8) | msg[4 * i + 3]) >>> 0);
  return w;
}
function setWords(pe: PE, n: number, w: number[]): void {
  for (let i = 0; i < 4; i++) pe.v32[4 * n + i] = w[i] | 0;
}
function padOneBlock(s: string): Uint8Array {
  const b = new Uint8Array(64);
  const t = new TextEncoder().encode(s);
  b.set(t);
  b[t.length] = 0x80;
  const bits = t.length * 8;
  b[62] = bits >> 8;
  b[63] = bits & 0xff;
  return b;
}
const hexWords = (pe: PE, regs: [number, number][]): string => regs.map(([r, i]) => (pe.v32[4 * r + i] >>> 0).toString(16).padStart(8, '0')).join('');

test('SHA-256 compression with SHA256H/H2/SU0/SU1 matches node:crypto', () => {
  for (const text of ['', 'abc', 'nestvisor advanced simd']) {
    const m = machine();
    const pe = m.pe;
    const W = blockWords(padOneBlock(text));
    // v0 = abcd, v1 = efgh (initial hash), v4..v7 = message, v16.. = K, v2/v3 scratch; v20/v21 keep the initial hash.
    const H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a], H1 = [0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    setWords(pe, 0, H0); setWords(pe, 1, H1); setWords(pe, 20, H0); setWords(pe, 21, H1);
    for (let i = 0; i < 4; i++) setWords(pe, 4 + i, W.slice(4 * i, 4 * i + 4));
    // Put all 16 K groups in registers: v8..v15 and v22..v29.
    const kreg = (g: number): number => (g < 8 ? 8 + g : 14 + g);
    for (let g = 0; g < 16; g++) setWords(pe, kreg(g), K256.slice(4 * g, 4 * g + 4));
    const p: number[] = [];
    for (let g = 0; g < 16; g++) {
      const wr = 4 + (g % 4);
      p.push(enc('ADD_vec', { Q: 1, size: 2, Rm: kreg(g), Rn: wr, Rd: 2 })); // v2 = W + K
      p.push(enc('AND_ORR_vec', { Q: 1, size: 2, Rm: 0, Rn: 0, Rd: 3 })); // mov v3, v0
      p.push(enc('SHA256_3', { opcode: 0, Rm: 2, Rn: 1, Rd: 0 })); // sha256h q0, q1, v2.4s
      p.push(enc('SHA256_3', { opcode: 1, Rm: 2, Rn: 3, Rd: 1 })); // sha256h2 q1, q3, v2.4s
      if (g < 12) {
        const w0 = 4 + (g % 4), w1 = 4 + ((g + 1) % 4), w2 = 4 + ((g + 2) % 4), w3 = 4 + ((g + 3) % 4);
        p.push(enc('SHA256SU0', { Rn: w1, Rd: w0 }));
        p.push(enc('SHA256_3', { opcode: 2, Rm: w3, Rn: w2, Rd: w0 }));
      }
    }
    p.push(enc('ADD_vec', { Q: 1, size: 2, Rm: 20, Rn: 0, Rd: 0 }));
    p.push(enc('ADD_vec', { Q: 1, size: 2, Rm: 21, Rn: 1, Rd: 1 }));
    run(m, p);
    const got = hexWords(pe, [[0, 0], [0, 1], [0, 2], [0, 3], [1, 0], [1, 1], [1, 2], [1, 3]]);
    assert.equal(got, createHash('sha256').update(text).digest('hex'), `sha256(${JSON.stringify(text)})`);
  }
});

test('SHA-1 compression with SHA1C/P/M/H/SU0/SU1 matches node:crypto', () => {
  for (const text of ['', 'abc', 'nestvisor advanced simd']) {
    const m = machine();
    const pe = m.pe;
    const W = blockWords(padOneBlock(text));
    const H = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
    setWords(pe, 0, H.slice(0, 4)); // v0 = abcd
    pe.v32[4 * 1] = H[4]; // s1 = e
    setWords(pe, 20, H.slice(0, 4));
    pe.v32[4 * 21] = H[4];
    for (let i = 0; i < 4; i++) setWords(pe, 4 + i, W.slice(4 * i, 4 * i + 4));
    const K = [0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xca62c1d6];
    for (let i = 0; i < 4; i++) setWords(pe, 8 + i, [K[i], K[i], K[i], K[i]]);
    const p: number[] = [];
    // e alternates between s1 and s3; v2 = W + K.
    let e0 = 1, e1 = 3;
    for (let g = 0; g < 20; g++) {
      const wr = 4 + (g % 4);
      const op = g < 5 ? 0 : g < 10 ? 1 : g < 15 ? 2 : 1; // C, P, M, P
      p.push(enc('ADD_vec', { Q: 1, size: 2, Rm: 8 + Math.floor(g / 5), Rn: wr, Rd: 2 }));
      p.push(enc('SHA1H', { Rn: 0, Rd: e1 }));
      p.push(enc('SHA1_3', { opcode: op, Rm: 2, Rn: e0, Rd: 0 }));
      [e0, e1] = [e1, e0];
      if (g < 16) {
        const w0 = 4 + (g % 4), w1 = 4 + ((g + 1) % 4), w2 = 4 + ((g + 2) % 4), w3 = 4 + ((g + 3) % 4);
        p.push(enc('SHA1_3', { opcode: 3, Rm: w2, Rn: w1, Rd: w0 })); // sha1su0 w0, w1, w2
        p.push(enc('SHA1SU1', { Rn: w3, Rd: w0 }));
      }
    }
    p.push(enc('ADD_vec', { Q: 1, size: 2, Rm: 20, Rn: 0, Rd: 0 }));
    p.push(enc('ADD_vec', { Q: 0, size: 2, Rm: 21, Rn: e0, Rd: 1 }));
    run(m, p);
    const got = hexWords(pe, [[0, 0], [0, 1], [0, 2], [0, 3], [1, 0]]);
    assert.equal(got, createHash('sha1').update(text).digest('hex'), `sha1(${JSON.stringify(text)})`);
  }
});

test('saturation sets FPSR.QC cumulatively; Q=0 clears the upper half', () => {
  const m = machine();
  const pe = m.pe;
  setQ(pe, 1, 0x7f7f7f7f7f7f7f7f_7f7f7f7f7f7f7f7fn);
  setQ(pe, 2, 0x01010101010101010101010101010101n);
  setQ(pe, 3, 0xffffffffffffffffffffffffffffffffn);
  pe.fpsr = 0;
  run(m, [enc('SQADD_vec', { Q: 0, size: 0, Rm: 2, Rn: 1, Rd: 0 })]);
  assert.equal(getQ(pe, 0), 0x7f7f7f7f7f7f7f7fn);
  assert.equal(pe.fpsr, 1 << 27);
  run(m, [enc('ADD_vec', { Q: 1, size: 0, Rm: 2, Rn: 2, Rd: 0 })]);
  assert.equal(pe.fpsr, 1 << 27, 'QC is sticky');
  pe.fpsr = 0;
  run(m, [enc('UQADD_vec', { Q: 1, size: 3, Rm: 2, Rn: 3, Rd: 0 })]);
  assert.equal(getQ(pe, 0), (1n << 128n) - 1n);
  assert.equal(pe.fpsr, 1 << 27);
});

test('structure loads and stores: LD4 de-interleaves, register lists wrap, post-index by immediate and register', () => {
  const m = machine();
  const pe = m.pe;
  const data = Uint8Array.from({ length: 64 }, (_, i) => i);
  m.bus.writeBytes(DATA, data);
  pe.setX(0, BigInt(DATA));
  // LD4 {v30.16b, v31.16b, v0.16b, v1.16b}, [x0], #64
  run(m, [enc('LDST_multi_post', { Q: 1, L: 1, Rm: 31, opcode: 0, size: 0, Rn: 0, Rt: 30 })]);
  for (let i = 0; i < 16; i++) {
    assert.equal(pe.v8[16 * 30 + i], 4 * i);
    assert.equal(pe.v8[16 * 31 + i], 4 * i + 1);
    assert.equal(pe.v8[16 * 0 + i], 4 * i + 2);
    assert.equal(pe.v8[16 * 1 + i], 4 * i + 3);
  }
  assert.equal(pe.getX(0), BigInt(DATA + 64));
  // ST1 {v30.8b}, [x0], x2 with x2 = -64; then LD1R {v5.4h}, [x0]
  pe.setX(2, BigInt.asUintN(64, -64n));
  run(m, [enc('LDST_multi_post', { Q: 0, L: 0, Rm: 2, opcode: 0b0111, size: 0, Rn: 0, Rt: 30 })]);
  assert.equal(pe.getX(0), BigInt(DATA));
  setQ(pe, 5, (1n << 128n) - 1n);
  run(m, [enc('LDST_single', { Q: 0, L: 1, R: 0, opcode: 0b110, S: 0, size: 1, Rn: 0, Rt: 5 })]);
  assert.equal(getQ(pe, 5), 0x0100010001000100n, 'LD1R replicates and clears the upper half');
  assert.deepEqual([...m.bus.readBytes(DATA + 64, 8)], [0, 4, 8, 12, 16, 20, 24, 28]);
  // LDR b7 clears the rest of the register.
  setQ(pe, 7, (1n << 128n) - 1n);
  run(m, [enc('LDST_V_uimm', { size: 0, opc: 1, imm12: 5, Rn: 0, Rt: 7 })]);
  assert.equal(getQ(pe, 7), 5n);
});

test('FP/SIMD instructions trap with CPACR_EL1.FPEN=0 (EC 0x07)', () => {
  const m = machine(FEATURES, 0);
  run(m, [enc('ADD_vec', { Q: 1, size: 0, Rm: 2, Rn: 1, Rd: 0 })]);
  assert.equal(m.pe.readSysreg('ESR_EL1') >> 26n, 0x07n);
  assert.equal(m.pe.readSysreg('ELR_EL1'), BigInt(RAM));
});

test('crypto instructions are UNDEFINED without their features', () => {
  const m = machine({ fp: true, aes: false, pmull: false, sha1: false, sha256: false });
  for (const w of [0x4e284820, 0x5e020020, 0x5e024020, 0x4ee2e020]) {
    run(m, [w]);
    assert.equal(m.pe.readSysreg('ESR_EL1') >> 26n, 0n, `0x${w.toString(16)}`);
  }
  // And everything SIMD is UNDEFINED without fp.
  const m2 = machine({ fp: false });
  run(m2, [0x4e228420]); // add v0.16b, v1.16b, v2.16b
  assert.equal(m2.pe.readSysreg('ESR_EL1') >> 26n, 0n);
});
