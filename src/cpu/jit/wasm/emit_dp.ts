/**
 * WebAssembly emitters for data processing, the same instructions as the
 * JavaScript tier's jit/emit_dp.ts and with the closures of src/cpu/insn as
 * the reference: ADR/ADRP, ADD/SUB (immediate, shifted and extended
 * register), ADC/SBC, MOVZ/MOVN/MOVK, logical (immediate and shifted
 * register), SBFM/BFM/UBFM, CSEL and friends, CCMP/CCMN, MADD/MSUB and the
 * variable shifts. WebAssembly has 64-bit integers, so each is a few
 * native operations rather than pairs of 32-bit halves.
 */
import type { Fields } from '../../decoder.js';
import { decodeBitMasks } from '../../insn/alu.js';
import { dst, dstSp, sext, src, srcSp } from '../../insn/regs.js';
import { W } from './encoder.js';
import { I, L, Scratch, WasmBlock } from './block.js';
import type { WasmEmitter } from './emitters.js';

const MASK32 = 0xffffffffn;

/** A 64-bit constant from DecodeBitMasks' halves. */
const wide = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

/**
 * AddWithCarry(a, b, carry) with a and b in locals (i64 L(0), L(1) when
 * `sf`, else i32 I(0), I(1)); the sum goes to L(2)/I(2) and, when `d` >= 0,
 * to that register (a W result zero-extended); NZCV are set when `flags`.
 * `cin` is 0, 1, or 'C' for PSTATE.C (ADC/SBC).
 */
function addWithCarry(c: WasmBlock, sf: boolean, d: number, cin: 0 | 1 | 'C', flags: boolean): void {
  const [a, b, r] = sf ? [L(0), L(1), L(2)] : [I(0), I(1), I(2)];
  const add = sf ? W.i64_add : W.i32_add;
  c.get(a).get(b).op(add);
  if (cin === 1) (sf ? c.i64(1) : c.i32(1)).op(add);
  else if (cin === 'C') {
    c.flag(Scratch.C);
    if (sf) c.op(W.i64_extend_i32_u);
    c.op(add);
  }
  c.set(r);
  if (flags) {
    const [shr, wrap, ltu, leu, xor, and] = sf
      ? [W.i64_shr_u, [W.i32_wrap_i64], W.i64_lt_u, W.i64_le_u, W.i64_xor, W.i64_and]
      : [W.i32_shr_u, [], W.i32_lt_u, W.i32_le_u, W.i32_xor, W.i32_and];
    const top = (): void => void (sf ? c.i64(63) : c.i32(31));
    c.setFlag(Scratch.N, () => { c.get(r); top(); c.op(shr, ...wrap); });
    c.setFlag(Scratch.Z, () => c.get(r).op(sf ? W.i64_eqz : W.i32_eqz));
    // Unsigned carry out: the sum wrapped below a (or to a itself with a carry in).
    if (cin === 0) c.setFlag(Scratch.C, () => c.get(r).get(a).op(ltu));
    else if (cin === 1) c.setFlag(Scratch.C, () => c.get(r).get(a).op(leu));
    else c.setFlag(Scratch.C, () => { c.get(r).get(a).op(leu).get(r).get(a).op(ltu).flag(Scratch.C).op(W.select); });
    c.setFlag(Scratch.V, () => { c.get(a).get(r).op(xor).get(b).get(r).op(xor, and); top(); c.op(shr, ...wrap); });
  }
  if (d >= 0) {
    if (sf) c.setX64(d, () => c.get(r));
    else c.setX32(d, () => c.get(r));
  }
}

/** Pushes Rm shifted by a constant: `type` LSL, LSR, ASR, ROR. */
function shifted(c: WasmBlock, sf: boolean, m: number, type: number, amount: number): void {
  if (sf) c.x64(m);
  else c.x32(m);
  if (amount === 0) return;
  const ops64 = [W.i64_shl, W.i64_shr_u, W.i64_shr_s, W.i64_rotr];
  const ops32 = [W.i32_shl, W.i32_shr_u, W.i32_shr_s, W.i32_rotr];
  if (sf) c.i64(amount).op(ops64[type]);
  else c.i32(amount).op(ops32[type]);
}

const adr: WasmEmitter = (c, f, s) => {
  const imm = sext((f.immhi << 2) | f.immlo, 21);
  const delta = f.op === 0 ? s.off + imm : imm * 4096;
  c.setX64(dst(f.Rd), () => c.pageRel(delta));
  return true;
};

const addImm: WasmEmitter = (c, f) => {
  const n = srcSp(f.Rn);
  const d = f.S ? dst(f.Rd) : dstSp(f.Rd);
  const imm = f.sh ? f.imm12 << 12 : f.imm12;
  const sf = f.sf === 1;
  if (sf && !f.S) {
    c.setX64(d, () => c.x64(n).i64(f.op ? -imm : imm).op(W.i64_add));
    return true;
  }
  if (sf) c.x64(n).set(L(0)).i64(f.op ? ~imm : imm).set(L(1));
  else c.x32(n).set(I(0)).i32(f.op ? ~imm : imm).set(I(1));
  addWithCarry(c, sf, d, f.op ? 1 : 0, f.S === 1);
  return true;
};

const movw: WasmEmitter = (c, f) => {
  const d = dst(f.Rd);
  const shift = BigInt(f.hw * 16);
  const part = BigInt(f.imm16) << shift;
  const width = f.sf ? 0xffffffffffffffffn : MASK32;
  if (f.opc === 2) c.setX64(d, () => c.i64(part));
  else if (f.opc === 0) c.setX64(d, () => c.i64(~part & width));
  else {
    c.setX64(d, () => {
      c.x64(d).i64(~(0xffffn << shift)).op(W.i64_and).i64(part).op(W.i64_or);
      if (!f.sf) c.i64(MASK32).op(W.i64_and);
    });
  }
  return true;
};

const LOGIC64 = [W.i64_and, W.i64_or, W.i64_xor, W.i64_and];
const LOGIC32 = [W.i32_and, W.i32_or, W.i32_xor, W.i32_and];

const andImm: WasmEmitter = (c, f) => {
  const m = decodeBitMasks(f.N, f.imms, f.immr, true, f.sf ? 64 : 32);
  if (m === null) return false;
  const n = src(f.Rn);
  const d = f.opc === 3 ? dst(f.Rd) : dstSp(f.Rd);
  if (f.sf) {
    c.x64(n).i64(wide(m.wlo, m.whi)).op(LOGIC64[f.opc]).set(L(0));
    if (f.opc === 3) c.logicFlags(L(0), false);
    c.setX64(d, () => c.get(L(0)));
  } else {
    c.x32(n).i32(m.wlo | 0).op(LOGIC32[f.opc]).set(I(0));
    if (f.opc === 3) c.logicFlags(I(0), true);
    c.setX32(d, () => c.get(I(0)));
  }
  return true;
};

/** SBFM/BFM/UBFM: ROR(src, immr) under DecodeBitMasks' wmask and tmask, as buildBitfield. */
const bitfield: WasmEmitter = (c, f) => {
  const sf = f.sf === 1;
  const m = decodeBitMasks(f.N, f.imms, f.immr, false, sf ? 64 : 32);
  if (m === null) return false;
  const n = src(f.Rn), d = dst(f.Rd);
  const S = f.imms;
  if (sf) {
    const w = wide(m.wlo, m.whi), t = wide(m.tlo, m.thi);
    const rot = (): void => void c.x64(n).i64(f.immr).op(W.i64_rotr);
    c.setX64(d, () => {
      switch (f.opc) {
        case 0: // (replicated bit S) & ~tmask | rot & wmask & tmask
          c.x64(n).i64(63 - S).op(W.i64_shl).i64(63).op(W.i64_shr_s).i64(~t).op(W.i64_and);
          rot();
          c.i64(w & t).op(W.i64_and, W.i64_or);
          break;
        case 1: // (dst & ~tmask) | (((dst & ~wmask) | (rot & wmask)) & tmask)
          c.x64(d).i64(~t).op(W.i64_and);
          c.x64(d).i64(~w).op(W.i64_and);
          rot();
          c.i64(w).op(W.i64_and, W.i64_or).i64(t).op(W.i64_and, W.i64_or);
          break;
        default:
          rot();
          c.i64(w & t).op(W.i64_and);
      }
    });
    return true;
  }
  const w = m.wlo | 0, t = m.tlo | 0;
  const rot = (): void => void c.x32(n).i32(f.immr).op(W.i32_rotr);
  c.setX32(d, () => {
    switch (f.opc) {
      case 0:
        c.x32(n).i32(31 - (S & 31)).op(W.i32_shl).i32(31).op(W.i32_shr_s).i32(~t).op(W.i32_and);
        rot();
        c.i32(w & t).op(W.i32_and, W.i32_or);
        break;
      case 1:
        c.x32(d).i32(~t).op(W.i32_and);
        c.x32(d).i32(~w).op(W.i32_and);
        rot();
        c.i32(w).op(W.i32_and, W.i32_or).i32(t).op(W.i32_and, W.i32_or);
        break;
      default:
        rot();
        c.i32(w & t).op(W.i32_and);
    }
  });
  return true;
};

/** Loads Rn into L(0)/I(0) and the operand `b` pushes, inverted for SUB, into L(1)/I(1), then AddWithCarry. */
function addSub(c: WasmBlock, f: Fields, n: number, d: number, b: () => void): void {
  const sf = f.sf === 1;
  if (sf) c.x64(n).set(L(0));
  else c.x32(n).set(I(0));
  b();
  if (f.op) (sf ? c.i64(-1).op(W.i64_xor) : c.i32(-1).op(W.i32_xor));
  c.set(sf ? L(1) : I(1));
  addWithCarry(c, sf, d, f.op ? 1 : 0, f.S === 1);
}

const addShifted: WasmEmitter = (c, f) => {
  addSub(c, f, src(f.Rn), dst(f.Rd), () => shifted(c, f.sf === 1, src(f.Rm), f.shift, f.imm6));
  return true;
};

const addExtended: WasmEmitter = (c, f) => {
  const m = src(f.Rm);
  const size = f.option & 3, signed = f.option >= 4;
  addSub(c, f, srcSp(f.Rn), f.S ? dst(f.Rd) : dstSp(f.Rd), () => {
    // ExtendReg(Rm, option, imm3) in 64 bits; a W operation uses its low half.
    if (size === 3) c.x64(m);
    else if (signed) c.x64(m).op([W.i64_extend8_s, W.i64_extend16_s, W.i64_extend32_s][size]);
    else c.x64(m).i64([0xffn, 0xffffn, MASK32][size]).op(W.i64_and);
    if (f.imm3 !== 0) c.i64(f.imm3).op(W.i64_shl);
    if (!f.sf) c.op(W.i32_wrap_i64);
  });
  return true;
};

const adc: WasmEmitter = (c, f) => {
  const sf = f.sf === 1;
  if (sf) c.x64(src(f.Rn)).set(L(0)).x64(src(f.Rm));
  else c.x32(src(f.Rn)).set(I(0)).x32(src(f.Rm));
  if (f.op) (sf ? c.i64(-1).op(W.i64_xor) : c.i32(-1).op(W.i32_xor));
  c.set(sf ? L(1) : I(1));
  addWithCarry(c, sf, dst(f.Rd), 'C', f.S === 1);
  return true;
};

const andShifted: WasmEmitter = (c, f) => {
  const sf = f.sf === 1;
  const d = dst(f.Rd);
  if (sf) c.x64(src(f.Rn));
  else c.x32(src(f.Rn));
  shifted(c, sf, src(f.Rm), f.shift, f.imm6);
  if (f.N) (sf ? c.i64(-1).op(W.i64_xor) : c.i32(-1).op(W.i32_xor));
  c.op((sf ? LOGIC64 : LOGIC32)[f.opc]).set(sf ? L(0) : I(0));
  if (f.opc === 3) c.logicFlags(sf ? L(0) : I(0), !sf);
  if (sf) c.setX64(d, () => c.get(L(0)));
  else c.setX32(d, () => c.get(I(0)));
  return true;
};

/** CSEL, CSINC, CSINV, CSNEG: Rn if the condition holds, else the altered Rm (a W result zero-extended). */
const csel: WasmEmitter = (c, f) => {
  const n = src(f.Rn), m = src(f.Rm);
  const kind = (f.op << 1) | f.o2;
  c.setX64(dst(f.Rd), () => {
    c.x64(n);
    switch (kind) {
      case 0: c.x64(m); break;
      case 1: c.x64(m).i64(1).op(W.i64_add); break;
      case 2: c.x64(m).i64(-1).op(W.i64_xor); break;
      default: c.i64(0).x64(m).op(W.i64_sub);
    }
    c.cond(f.cond).op(W.select);
    if (!f.sf) c.i64(MASK32).op(W.i64_and);
  });
  return true;
};

/** CCMP/CCMN (register when `reg`, else immediate imm5): NZCV from the comparison when the condition holds, else the immediate. */
const ccmp = (reg: boolean): WasmEmitter => (c, f) => {
  const sf = f.sf === 1;
  const nzcv = f.nzcv;
  c.cond(f.cond).if(
    () => {
      if (sf) c.x64(src(f.Rn)).set(L(0));
      else c.x32(src(f.Rn)).set(I(0));
      if (reg) (sf ? c.x64(src(f.Rm)) : c.x32(src(f.Rm)));
      else (sf ? c.i64(f.imm5) : c.i32(f.imm5));
      if (f.op) (sf ? c.i64(-1).op(W.i64_xor) : c.i32(-1).op(W.i32_xor));
      c.set(sf ? L(1) : I(1));
      addWithCarry(c, sf, -1, f.op ? 1 : 0, true);
    },
    () => {
      c.setFlag(Scratch.N, () => c.i32((nzcv >> 3) & 1));
      c.setFlag(Scratch.Z, () => c.i32((nzcv >> 2) & 1));
      c.setFlag(Scratch.C, () => c.i32((nzcv >> 1) & 1));
      c.setFlag(Scratch.V, () => c.i32(nzcv & 1));
    },
  );
  return true;
};

/** MADD/MSUB: Ra +/- Rn * Rm. */
const madd: WasmEmitter = (c, f) => {
  const n = src(f.Rn), m = src(f.Rm), a = src(f.Ra), d = dst(f.Rd);
  if (f.sf) c.setX64(d, () => c.x64(a).x64(n).x64(m).op(W.i64_mul, f.o0 ? W.i64_sub : W.i64_add));
  else c.setX32(d, () => c.x32(a).x32(n).x32(m).op(W.i32_mul, f.o0 ? W.i32_sub : W.i32_add));
  return true;
};

/** LSLV/LSRV/ASRV/RORV: WebAssembly's shifts take the amount modulo the width, as the architecture does. */
const shiftVar: WasmEmitter = (c, f) => {
  const n = src(f.Rn), m = src(f.Rm), d = dst(f.Rd);
  if (f.sf) c.setX64(d, () => c.x64(n).x64(m).op([W.i64_shl, W.i64_shr_u, W.i64_shr_s, W.i64_rotr][f.op2]));
  else c.setX32(d, () => c.x32(n).x32(m).op([W.i32_shl, W.i32_shr_u, W.i32_shr_s, W.i32_rotr][f.op2]));
  return true;
};

/** EXTR (and ROR by a constant): bits lsb+datasize-1..lsb of Rn:Rm. */
const extr: WasmEmitter = (c, f) => {
  const n = src(f.Rn), m = src(f.Rm), lsb = f.imms;
  if (f.sf) c.setX64(dst(f.Rd), () => (lsb === 0 ? c.x64(m) : c.x64(m).i64(lsb).op(W.i64_shr_u).x64(n).i64(64 - lsb).op(W.i64_shl, W.i64_or)));
  else c.setX32(dst(f.Rd), () => (lsb === 0 ? c.x32(m) : c.x32(m).i32(lsb).op(W.i32_shr_u).x32(n).i32(32 - lsb).op(W.i32_shl, W.i32_or)));
  return true;
};

/** SMADDL/SMSUBL/UMADDL/UMSUBL: Xa +/- the 64-bit product of the extended W registers. */
const maddl: WasmEmitter = (c, f) => {
  const ext = f.U ? W.i64_extend_i32_u : W.i64_extend_i32_s;
  c.setX64(dst(f.Rd), () => c.x64(src(f.Ra)).x32(src(f.Rn)).op(ext).x32(src(f.Rm)).op(ext, W.i64_mul, f.o0 ? W.i64_sub : W.i64_add));
  return true;
};

/**
 * UDIV/SDIV: a zero divisor gives 0, and SDIV by -1 is a negation (so that
 * INT_MIN / -1 gives INT_MIN): the two cases where WebAssembly's division traps.
 */
const div: WasmEmitter = (c, f) => {
  const sf = f.sf === 1;
  const [r, dv] = sf ? [L(0), L(1)] : [I(0), I(1)];
  const rd = (): void => void (sf ? c.x64(src(f.Rn)) : c.x32(src(f.Rn)));
  (sf ? c.x64(src(f.Rm)) : c.x32(src(f.Rm))).tee(dv).op(sf ? W.i64_eqz : W.i32_eqz);
  c.if(
    () => void (sf ? c.i64(0) : c.i32(0)).set(r),
    () => {
      const divide = (): void => {
        rd();
        c.get(dv).op(sf ? (f.o1 ? W.i64_div_s : W.i64_div_u) : f.o1 ? W.i32_div_s : W.i32_div_u).set(r);
      };
      if (!f.o1) return divide();
      c.get(dv);
      (sf ? c.i64(-1).op(W.i64_eq) : c.i32(-1).op(W.i32_eq)).if(() => {
        (sf ? c.i64(0) : c.i32(0));
        rd();
        c.op(sf ? W.i64_sub : W.i32_sub).set(r);
      }, divide);
    },
  );
  if (sf) c.setX64(dst(f.Rd), () => c.get(r));
  else c.setX32(dst(f.Rd), () => c.get(r));
  return true;
};

/** CLZ, and CLS as CLZ(x EOR (x ASR 1)) - 1 (leading bits equal to the sign bit, not counting it). */
const clz: WasmEmitter = (c, f) => {
  const n = src(f.Rn);
  if (f.sf) {
    c.setX64(dst(f.Rd), () => {
      if (f.op) c.x64(n).x64(n).i64(1).op(W.i64_shr_s, W.i64_xor, W.i64_clz).i64(1).op(W.i64_sub);
      else c.x64(n).op(W.i64_clz);
    });
  } else {
    c.setX32(dst(f.Rd), () => {
      if (f.op) c.x32(n).x32(n).i32(1).op(W.i32_shr_s, W.i32_xor, W.i32_clz).i32(1).op(W.i32_sub);
      else c.x32(n).op(W.i32_clz);
    });
  }
  return true;
};

/**
 * RBIT, REV16, REV32 and REV as swaps of ever larger fields: x = ((x >> s) & m) | ((x & m) << s)
 * for fields of 1, 2 and 4 bits (RBIT), then bytes, halfwords (and words, a rotation) as far as the
 * operation reverses.
 */
const rev: WasmEmitter = (c, f) => {
  const sf = f.sf === 1;
  const x = sf ? L(0) : I(0);
  const [and, or, shl, shr, rotr] = sf ? [W.i64_and, W.i64_or, W.i64_shl, W.i64_shr_u, W.i64_rotr] : [W.i32_and, W.i32_or, W.i32_shl, W.i32_shr_u, W.i32_rotr];
  const k = (v: bigint): void => void (sf ? c.i64(v) : c.i32(Number(BigInt.asIntN(32, v))));
  const swap = (s: number, m: bigint): void => {
    c.get(x); k(BigInt(s)); c.op(shr); k(m); c.op(and);
    c.get(x); k(m); c.op(and); k(BigInt(s)); c.op(shl, or).set(x);
  };
  (sf ? c.x64(src(f.Rn)) : c.x32(src(f.Rn))).set(x);
  if (f.opc === 0) {
    swap(1, 0x5555555555555555n);
    swap(2, 0x3333333333333333n);
    swap(4, 0x0f0f0f0f0f0f0f0fn);
  }
  // Bytes within halfwords (REV16), within words (REV32, and REV of a W register), within the register (REV, RBIT).
  const width = f.opc === 0 ? (sf ? 64 : 32) : f.opc === 1 ? 16 : f.opc === 2 ? 32 : 64;
  swap(8, 0x00ff00ff00ff00ffn);
  if (width >= 32) {
    if (sf) swap(16, 0x0000ffff0000ffffn);
    else c.get(x).i32(16).op(rotr).set(x);
  }
  if (width === 64) c.get(x).i64(32).op(rotr).set(x);
  if (sf) c.setX64(dst(f.Rd), () => c.get(x));
  else c.setX32(dst(f.Rd), () => c.get(x));
  return true;
};

export const dpEmitters: Record<string, WasmEmitter> = {
  RBIT: rev,
  EXTR: extr,
  SMADDL: maddl,
  UDIV: div,
  CLZ: clz,
  ADR: adr,
  ADD_imm: addImm,
  MOVW: movw,
  AND_imm: andImm,
  BFM: bitfield,
  ADD_sreg: addShifted,
  ADD_ereg: addExtended,
  ADC: adc,
  AND_sreg: andShifted,
  CSEL: csel,
  CCMP_reg: ccmp(true),
  CCMP_imm: ccmp(false),
  MADD: madd,
  LSLV: shiftVar,
};
