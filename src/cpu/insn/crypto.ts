/**
 * The cryptographic extension: AESE/AESD/AESMC/AESIMC (FEAT_AES),
 * SHA1C/SHA1P/SHA1M/SHA1H/SHA1SU0/SHA1SU1 (FEAT_SHA1) and
 * SHA256H/SHA256H2/SHA256SU0/SHA256SU1 (FEAT_SHA256). PMULL of 64-bit lanes
 * (FEAT_PMULL) is in simd_int.ts.
 *
 * The AES state is the 16 bytes of the register, byte i at row i mod 4 and
 * column i div 4 (the FIPS-197 order).
 */
import { InsnDef, Op } from '../decoder.js';
import type { PE } from '../pe.js';

// ---- AES --------------------------------------------------------------------------------

const SBOX = new Uint8Array(256);
const INV_SBOX = new Uint8Array(256);

/** Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1. */
function gmul(a: number, b: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) {
    if (b & 1) r ^= a;
    const hi = a & 0x80;
    a = (a << 1) & 0xff;
    if (hi) a ^= 0x1b;
    b >>= 1;
  }
  return r;
}

(function buildSbox(): void {
  // Multiplicative inverse followed by the affine transformation.
  for (let x = 0; x < 256; x++) {
    let inv = 0;
    if (x !== 0) for (let y = 1; y < 256; y++) if (gmul(x, y) === 1) { inv = y; break; }
    let s = inv;
    for (let k = 1; k <= 4; k++) s ^= ((inv << k) | (inv >> (8 - k))) & 0xff;
    s ^= 0x63;
    SBOX[x] = s;
    INV_SBOX[s] = x;
  }
})();

const MUL2 = new Uint8Array(256), MUL3 = new Uint8Array(256), MUL9 = new Uint8Array(256);
const MUL11 = new Uint8Array(256), MUL13 = new Uint8Array(256), MUL14 = new Uint8Array(256);
for (let x = 0; x < 256; x++) {
  MUL2[x] = gmul(x, 2); MUL3[x] = gmul(x, 3); MUL9[x] = gmul(x, 9);
  MUL11[x] = gmul(x, 11); MUL13[x] = gmul(x, 13); MUL14[x] = gmul(x, 14);
}

const tmp = new Uint8Array(16);

/** AESE/AESD: AddRoundKey (Vd EOR Vn), then (Inv)ShiftRows and (Inv)SubBytes. */
function aesRound(pe: PE, d: number, n: number, decrypt: boolean): void {
  const v = pe.v8, od = 16 * d, on = 16 * n;
  for (let i = 0; i < 16; i++) tmp[i] = v[od + i] ^ v[on + i];
  const box = decrypt ? INV_SBOX : SBOX;
  for (let c = 0; c < 4; c++) {
    for (let r = 0; r < 4; r++) {
      const sc = decrypt ? (c - r + 4) & 3 : (c + r) & 3;
      v[od + r + 4 * c] = box[tmp[r + 4 * sc]];
    }
  }
}

/** AESMC/AESIMC: (Inv)MixColumns of Vn into Vd. */
function aesMix(pe: PE, d: number, n: number, inverse: boolean): void {
  const v = pe.v8, od = 16 * d, on = 16 * n;
  for (let i = 0; i < 16; i++) tmp[i] = v[on + i];
  for (let c = 0; c < 4; c++) {
    const a0 = tmp[4 * c], a1 = tmp[4 * c + 1], a2 = tmp[4 * c + 2], a3 = tmp[4 * c + 3];
    if (inverse) {
      v[od + 4 * c] = MUL14[a0] ^ MUL11[a1] ^ MUL13[a2] ^ MUL9[a3];
      v[od + 4 * c + 1] = MUL9[a0] ^ MUL14[a1] ^ MUL11[a2] ^ MUL13[a3];
      v[od + 4 * c + 2] = MUL13[a0] ^ MUL9[a1] ^ MUL14[a2] ^ MUL11[a3];
      v[od + 4 * c + 3] = MUL11[a0] ^ MUL13[a1] ^ MUL9[a2] ^ MUL14[a3];
    } else {
      v[od + 4 * c] = MUL2[a0] ^ MUL3[a1] ^ a2 ^ a3;
      v[od + 4 * c + 1] = a0 ^ MUL2[a1] ^ MUL3[a2] ^ a3;
      v[od + 4 * c + 2] = a0 ^ a1 ^ MUL2[a2] ^ MUL3[a3];
      v[od + 4 * c + 3] = MUL3[a0] ^ a1 ^ a2 ^ MUL2[a3];
    }
  }
}

// ---- SHA --------------------------------------------------------------------------------

const rol = (x: number, s: number): number => (x << s) | (x >>> (32 - s));
const ror = (x: number, s: number): number => (x >>> s) | (x << (32 - s));
const choose = (x: number, y: number, z: number): number => ((y ^ z) & x) ^ z;
const parity = (x: number, y: number, z: number): number => x ^ y ^ z;
const majority = (x: number, y: number, z: number): number => (x & y) | ((x | y) & z);

/** SHA1C/SHA1P/SHA1M: four rounds on Qd (a..d, X) and Sn (e, Y) with the words of Vm. */
function sha1Hash(pe: PE, d: number, n: number, m: number, f: (x: number, y: number, z: number) => number): void {
  const v = pe.v32;
  let x0 = v[4 * d], x1 = v[4 * d + 1], x2 = v[4 * d + 2], x3 = v[4 * d + 3];
  let y = v[4 * n];
  const w0 = v[4 * m], w1 = v[4 * m + 1], w2 = v[4 * m + 2], w3 = v[4 * m + 3];
  for (let e = 0; e < 4; e++) {
    const t = f(x1, x2, x3);
    y = (y + rol(x0, 5) + t + (e === 0 ? w0 : e === 1 ? w1 : e === 2 ? w2 : w3)) | 0;
    x1 = rol(x1, 30);
    // <Y, X> = ROL(Y:X, 32)
    const ny = x3;
    x3 = x2; x2 = x1; x1 = x0; x0 = y;
    y = ny;
  }
  v[4 * d] = x0; v[4 * d + 1] = x1; v[4 * d + 2] = x2; v[4 * d + 3] = x3;
}

const sigma0 = (x: number): number => ror(x, 2) ^ ror(x, 13) ^ ror(x, 22);
const sigma1 = (x: number): number => ror(x, 6) ^ ror(x, 11) ^ ror(x, 25);

/** SHA256hash(X, Y, W, part1): four rounds; returns X (part1) or Y in `out`. */
function sha256Hash(X: Int32Array, Y: Int32Array, W: Int32Array, part1: boolean, out: Int32Array): void {
  let [x0, x1, x2, x3] = X;
  let [y0, y1, y2, y3] = Y;
  for (let e = 0; e < 4; e++) {
    const chs = choose(y0, y1, y2);
    const maj = majority(x0, x1, x2);
    const t1 = (y3 + sigma1(y0) + chs + W[e]) | 0;
    x3 = (t1 + x3) | 0;
    y3 = (t1 + sigma0(x0) + maj) | 0;
    // <Y, X> = ROL(Y:X, 32)
    const nx0 = y3, ny0 = x3;
    y3 = y2; y2 = y1; y1 = y0; y0 = ny0;
    x3 = x2; x2 = x1; x1 = x0; x0 = nx0;
  }
  if (part1) { out[0] = x0; out[1] = x1; out[2] = x2; out[3] = x3; } else { out[0] = y0; out[1] = y1; out[2] = y2; out[3] = y3; }
}

const TX = new Int32Array(4), TY = new Int32Array(4), TW = new Int32Array(4), TO = new Int32Array(4);
const load4 = (pe: PE, r: number, t: Int32Array): void => {
  for (let i = 0; i < 4; i++) t[i] = pe.v32[4 * r + i];
};
const store4 = (pe: PE, r: number, t: Int32Array): void => {
  for (let i = 0; i < 4; i++) pe.v32[4 * r + i] = t[i];
};

function fp(op: Op): Op {
  return (pe) => {
    if (!pe.fpEnabled) pe.fpTrap();
    op(pe);
  };
}

const SHA1_3 = ['sha1c', 'sha1p', 'sha1m', 'sha1su0', 'sha256h', 'sha256h2', 'sha256su1'];

export const cryptoInsns: InsnDef[] = [
  {
    name: 'AES', pattern: '01001110 00 10100 001 M:1 D:1 10 Rn:5 Rd:5', cls: 'simd', feature: 'aes',
    build: (f) => {
      const d = f.Rd, n = f.Rn, dec = f.D === 1;
      return f.M ? fp((pe) => aesMix(pe, d, n, dec)) : fp((pe) => aesRound(pe, d, n, dec));
    },
    disasm: (f) => `${['aese', 'aesd', 'aesmc', 'aesimc'][(f.M << 1) | f.D]} v${f.Rd}.16b, v${f.Rn}.16b`,
  },
  {
    name: 'SHA1_3', pattern: '01011110 00 0 Rm:5 0 0 opcode:2 00 Rn:5 Rd:5', cls: 'simd', feature: 'sha1',
    build: (f) => {
      const d = f.Rd, n = f.Rn, m = f.Rm;
      if (f.opcode === 3) {
        // SHA1SU0: (Vn<63:0> : Vd<127:64>) EOR Vd EOR Vm
        return fp((pe) => {
          const v = pe.v32;
          const d0 = v[4 * d], d1 = v[4 * d + 1], d2 = v[4 * d + 2], d3 = v[4 * d + 3];
          const r0 = d2, r1 = d3, r2 = v[4 * n], r3 = v[4 * n + 1];
          const m0 = v[4 * m], m1 = v[4 * m + 1], m2 = v[4 * m + 2], m3 = v[4 * m + 3];
          v[4 * d] = r0 ^ d0 ^ m0; v[4 * d + 1] = r1 ^ d1 ^ m1; v[4 * d + 2] = r2 ^ d2 ^ m2; v[4 * d + 3] = r3 ^ d3 ^ m3;
        });
      }
      const fn = f.opcode === 0 ? choose : f.opcode === 1 ? parity : majority;
      return fp((pe) => sha1Hash(pe, d, n, m, fn));
    },
    disasm: (f) => (f.opcode === 3 ? `sha1su0 v${f.Rd}.4s, v${f.Rn}.4s, v${f.Rm}.4s` : `${SHA1_3[f.opcode]} q${f.Rd}, s${f.Rn}, v${f.Rm}.4s`),
  },
  {
    name: 'SHA256_3', pattern: '01011110 00 0 Rm:5 0 1 opcode:2 00 Rn:5 Rd:5', cls: 'simd', feature: 'sha256',
    valid: (f) => f.opcode !== 3,
    build: (f) => {
      const d = f.Rd, n = f.Rn, m = f.Rm;
      if (f.opcode === 2) {
        // SHA256SU1
        return fp((pe) => {
          load4(pe, d, TX); load4(pe, n, TY); load4(pe, m, TW);
          const t0 = [TY[1], TY[2], TY[3], TW[0]];
          const s1 = (x: number): number => ror(x, 17) ^ ror(x, 19) ^ (x >>> 10);
          const r0 = (s1(TW[2]) + TX[0] + t0[0]) | 0;
          const r1 = (s1(TW[3]) + TX[1] + t0[1]) | 0;
          const r2 = (s1(r0) + TX[2] + t0[2]) | 0;
          const r3 = (s1(r1) + TX[3] + t0[3]) | 0;
          TO[0] = r0; TO[1] = r1; TO[2] = r2; TO[3] = r3;
          store4(pe, d, TO);
        });
      }
      const part1 = f.opcode === 0;
      return fp((pe) => {
        load4(pe, d, TX); load4(pe, n, TY); load4(pe, m, TW);
        if (part1) sha256Hash(TX, TY, TW, true, TO);
        else sha256Hash(TY, TX, TW, false, TO);
        store4(pe, d, TO);
      });
    },
    disasm: (f) => (f.opcode === 2 ? `sha256su1 v${f.Rd}.4s, v${f.Rn}.4s, v${f.Rm}.4s` : `${SHA1_3[4 + f.opcode]} q${f.Rd}, q${f.Rn}, v${f.Rm}.4s`),
  },
  {
    name: 'SHA1H', pattern: '01011110 00 10100 00000 10 Rn:5 Rd:5', cls: 'simd', feature: 'sha1',
    build: (f) => {
      const d = f.Rd, n = f.Rn;
      return fp((pe) => {
        const r = rol(pe.v32[4 * n], 30);
        pe.v32[4 * d] = r; pe.v32[4 * d + 1] = 0; pe.v32[4 * d + 2] = 0; pe.v32[4 * d + 3] = 0;
      });
    },
    disasm: (f) => `sha1h s${f.Rd}, s${f.Rn}`,
  },
  {
    name: 'SHA1SU1', pattern: '01011110 00 10100 00001 10 Rn:5 Rd:5', cls: 'simd', feature: 'sha1',
    build: (f) => {
      const d = f.Rd, n = f.Rn;
      return fp((pe) => {
        const v = pe.v32;
        // T = Vd EOR LSR(Vn, 32)
        const t0 = v[4 * d] ^ v[4 * n + 1], t1 = v[4 * d + 1] ^ v[4 * n + 2], t2 = v[4 * d + 2] ^ v[4 * n + 3], t3 = v[4 * d + 3];
        const w0 = rol(t0, 1), w1 = rol(t1, 1), w2 = rol(t2, 1), w3 = rol(t3, 1) ^ rol(t0, 2);
        v[4 * d] = w0; v[4 * d + 1] = w1; v[4 * d + 2] = w2; v[4 * d + 3] = w3;
      });
    },
    disasm: (f) => `sha1su1 v${f.Rd}.4s, v${f.Rn}.4s`,
  },
  {
    name: 'SHA256SU0', pattern: '01011110 00 10100 00010 10 Rn:5 Rd:5', cls: 'simd', feature: 'sha256',
    build: (f) => {
      const d = f.Rd, n = f.Rn;
      return fp((pe) => {
        const v = pe.v32;
        // T = Vn<31:0> : Vd<127:32>
        const t = [v[4 * d + 1], v[4 * d + 2], v[4 * d + 3], v[4 * n]];
        for (let e = 0; e < 4; e++) {
          const x = t[e];
          v[4 * d + e] = ((ror(x, 7) ^ ror(x, 18) ^ (x >>> 3)) + v[4 * d + e]) | 0;
        }
      });
    },
    disasm: (f) => `sha256su0 v${f.Rd}.4s, v${f.Rn}.4s`,
  },
];
