/**
 * Hand-picked edge cases for the differential tests, encoded through the
 * table by definition name and fields (so they follow the table's names;
 * an entry whose definition is missing, or whose fields do not decode back to
 * that definition with the PE's features, is skipped with a note).
 *
 * Covered: flag-setting add/subtract and add/subtract with carry on overflow
 * boundaries; shift and rotate amounts 0/1/31/32/63/64 (register and
 * immediate forms, bitfield moves, EXTR); every condition code for B.cond,
 * CSEL (and CSINC/CSINV/CSNEG) and CCMP/CCMN under all 16 NZCV values;
 * CBZ/TBZ on W registers with high bits set and on bits 31/32/63; division
 * (by zero, INT_MIN / -1, rounding) and high multiplies; CRC32; exclusive
 * sequences (success, failure without a load, CLREX, other address, second
 * store, pairs, acquire/release, alignment faults); unaligned and
 * page-crossing loads and stores, and accesses running off the data area;
 * tagged (TBI) addresses for loads and branches.
 */
import { CompiledDef, Decoder, Fields, encode } from '../../src/cpu/decoder.js';
import { Case, DATA_BASE, DATA_SIZE, SP, Word64, setReg64 } from './protocol.js';
import { Rng } from './prng.js';

type Insn = [name: string, fields: Fields];

export interface Entry {
  name: string;
  code: Insn[];
  /** Initial registers by number (31 = SP); unlisted ones are 0, SP is DATA_BASE + 0x8000. */
  x?: Record<number, bigint>;
  nzcv?: number;
  /** 8-byte words of the data area to preset: [offset (multiple of 8), value]. */
  mem?: [number, bigint][];
}

const M64 = 0xffffffffffffffffn;
const u = (v: bigint): bigint => v & M64;
const INT64_MIN = 0x8000000000000000n;
const INT64_MAX = 0x7fffffffffffffffn;
const D = BigInt(DATA_BASE);
const EDGE: readonly bigint[] = [0n, 1n, M64, INT64_MIN, INT64_MAX, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0xffffffff80000000n];

const movz = (rd: number, imm16: number, hw = 0): Insn => ['MOVW', { sf: 1, opc: 2, hw, imm16, Rd: rd }];

export function corpusEntries(): Entry[] {
  const E: Entry[] = [];
  // ---- add/subtract and carry ---------------------------------------------
  for (const sf of [0, 1])
    for (const op of [0, 1])
      for (const a of EDGE)
        for (const b of EDGE) {
          E.push({ name: `${op ? 'subs' : 'adds'} ${sf ? 'x' : 'w'} ${a} ${b}`, code: [['ADD_sreg', { sf, op, S: 1, shift: 0, Rm: 2, imm6: 0, Rn: 1, Rd: 0 }]], x: { 1: a, 2: b } });
          for (const c of [0, 1]) E.push({ name: `${op ? 'sbcs' : 'adcs'} ${sf ? 'x' : 'w'} ${a} ${b} C=${c}`, code: [['ADC', { sf, op, S: 1, Rm: 2, Rn: 1, Rd: 0 }]], x: { 1: a, 2: b }, nzcv: c << 1 });
        }
  for (const sf of [0, 1])
    for (const op of [0, 1])
      for (const imm12 of [0, 1, 0xfff])
        for (const sh of [0, 1])
          for (const a of EDGE) E.push({ name: `${op ? 'subs' : 'adds'} imm ${sf ? 'x' : 'w'} ${a} #${imm12}${sh ? ' lsl 12' : ''}`, code: [['ADD_imm', { sf, op, S: 1, sh, imm12, Rn: 1, Rd: 0 }]], x: { 1: a } });
  // ---- shifts and rotates -------------------------------------------------
  const SHVAL = [0x8000000000000001n, 0x123456789abcdef0n, M64];
  for (const sf of [0, 1])
    for (const op2 of [0, 1, 2, 3])
      for (const amt of [0n, 1n, 31n, 32n, 33n, 63n, 64n, 65n, M64])
        for (const v of SHVAL) E.push({ name: `${['lslv', 'lsrv', 'asrv', 'rorv'][op2]} ${sf ? 'x' : 'w'} ${v} by ${amt}`, code: [['LSLV', { sf, op2, Rm: 2, Rn: 1, Rd: 0 }]], x: { 1: v, 2: amt } });
  for (const sf of [0, 1])
    for (const shift of [0, 1, 2])
      for (const imm6 of sf ? [0, 1, 31, 32, 63] : [0, 1, 31])
        for (const v of SHVAL) {
          E.push({ name: `add shifted ${['lsl', 'lsr', 'asr'][shift]} #${imm6} ${sf ? 'x' : 'w'}`, code: [['ADD_sreg', { sf, op: 0, S: 1, shift, Rm: 2, imm6, Rn: 1, Rd: 0 }]], x: { 1: 5n, 2: v } });
          E.push({ name: `ands shifted ${['lsl', 'lsr', 'asr', 'ror'][shift + 1]} #${imm6} ${sf ? 'x' : 'w'}`, code: [['AND_sreg', { sf, opc: 3, shift: shift + 1, N: 0, Rm: 2, imm6, Rn: 1, Rd: 0 }]], x: { 1: M64, 2: v } });
        }
  for (const sf of [0, 1])
    for (const opc of [0, 1, 2])
      for (const immr of sf ? [0, 1, 31, 32, 63] : [0, 1, 31])
        for (const imms of sf ? [0, 1, 31, 32, 63] : [0, 1, 31])
          E.push({ name: `${['sbfm', 'bfm', 'ubfm'][opc]} ${sf ? 'x' : 'w'} #${immr}, #${imms}`, code: [['BFM', { sf, opc, N: sf, immr, imms, Rn: 1, Rd: 0 }]], x: { 0: 0xa5a5a5a5a5a5a5a5n, 1: 0x8123456789abcdefn } });
  for (const sf of [0, 1])
    for (const imms of sf ? [0, 1, 31, 32, 63] : [0, 1, 31])
      E.push({ name: `extr ${sf ? 'x' : 'w'} #${imms}`, code: [['EXTR', { sf, N: sf, Rm: 2, imms, Rn: 1, Rd: 0 }]], x: { 1: 0x8123456789abcdefn, 2: 0xfedcba9876543210n } });
  // ---- conditions ----------------------------------------------------------
  for (let cond = 0; cond < 16; cond++)
    for (let nzcv = 0; nzcv < 16; nzcv++) {
      E.push({ name: `b.cond ${cond} nzcv ${nzcv}`, code: [['B_cond', { imm19: 2, cond }], movz(0, 1), movz(1, 2)], nzcv });
      E.push({ name: `csel ${cond} nzcv ${nzcv}`, code: [['CSEL', { sf: 1, op: 0, Rm: 2, cond, o2: 0, Rn: 1, Rd: 0 }]], x: { 1: 0x1111n, 2: 0x2222n }, nzcv });
      E.push({ name: `csneg ${cond} nzcv ${nzcv}`, code: [['CSEL', { sf: 0, op: 1, Rm: 2, cond, o2: 1, Rn: 1, Rd: 0 }]], x: { 1: 0x1111n, 2: 0x80000000n }, nzcv });
      E.push({ name: `ccmp ${cond} nzcv ${nzcv}`, code: [['CCMP_imm', { sf: 1, op: 1, imm5: 3, cond, Rn: 1, nzcv: 15 - nzcv }]], x: { 1: 3n }, nzcv });
      E.push({ name: `ccmn reg ${cond} nzcv ${nzcv}`, code: [['CCMP_reg', { sf: 0, op: 0, Rm: 2, cond, Rn: 1, nzcv: 5 }]], x: { 1: 0x7fffffffn, 2: 1n }, nzcv });
    }
  for (const [o2, op] of [[1, 0], [0, 1]])
    for (const cond of [0, 1, 14, 15]) E.push({ name: `${o2 ? 'csinc' : 'csinv'} ${cond}`, code: [['CSEL', { sf: 1, op, Rm: 2, cond, o2, Rn: 1, Rd: 0 }]], x: { 1: 7n, 2: M64 }, nzcv: 4 });
  for (const op of [0, 1]) E.push({ name: `${op ? 'cbnz' : 'cbz'} w with high bits`, code: [['CBZ', { sf: 0, op, imm19: 2, Rt: 1 }], movz(0, 1)], x: { 1: 0xffffffff00000000n } });
  for (const bit of [0, 31, 32, 63])
    for (const op of [0, 1])
      for (const v of [1n << BigInt(bit), u(~(1n << BigInt(bit)))])
        E.push({ name: `${op ? 'tbnz' : 'tbz'} #${bit} ${v}`, code: [['TBZ', { b5: bit >> 5, op, b40: bit & 31, imm14: 2, Rt: 1 }], movz(0, 1)], x: { 1: v } });
  // ---- multiply and divide --------------------------------------------------
  const DIV: [bigint, bigint][] = [[7n, 0n], [INT64_MIN, M64], [0x80000000n, 0xffffffffn], [u(-7n), 2n], [7n, u(-2n)], [M64, 1n], [1n, M64], [0n, 0n]];
  for (const sf of [0, 1])
    for (const o1 of [0, 1])
      for (const [a, b] of DIV) E.push({ name: `${o1 ? 'sdiv' : 'udiv'} ${sf ? 'x' : 'w'} ${a} / ${b}`, code: [['UDIV', { sf, o1, Rm: 2, Rn: 1, Rd: 0 }]], x: { 1: a, 2: b } });
  for (const U of [0, 1])
    for (const a of EDGE)
      for (const b of [M64, INT64_MIN, 0xffffffffn, 3n]) E.push({ name: `${U ? 'umulh' : 'smulh'} ${a} ${b}`, code: [['SMULH', { U, Rm: 2, Ra: 31, Rn: 1, Rd: 0 }]], x: { 1: a, 2: b } });
  for (const U of [0, 1])
    for (const o0 of [0, 1]) E.push({ name: `${U ? 'u' : 's'}m${o0 ? 'sub' : 'add'}l`, code: [['SMADDL', { U, Rm: 2, o0, Ra: 3, Rn: 1, Rd: 0 }]], x: { 1: 0x80000000n, 2: 0xffffffffn, 3: INT64_MAX } });
  for (const sf of [0, 1]) for (const o0 of [0, 1]) E.push({ name: `m${o0 ? 'sub' : 'add'} ${sf ? 'x' : 'w'} wrap`, code: [['MADD', { sf, Rm: 2, o0, Ra: 3, Rn: 1, Rd: 0 }]], x: { 1: INT64_MAX, 2: INT64_MAX, 3: INT64_MIN } });
  // ---- bit operations, CRC32 ---------------------------------------------------
  for (const sf of [0, 1])
    for (const v of [0n, 1n, M64, INT64_MIN, 0x00000000ffffffffn, 0x0123456789abcdefn]) {
      for (const opc of sf ? [0, 1, 2, 3] : [0, 1, 2]) E.push({ name: `rbit/rev opc ${opc} ${sf ? 'x' : 'w'} ${v}`, code: [['RBIT', { sf, opc, Rn: 1, Rd: 0 }]], x: { 1: v } });
      for (const op of [0, 1]) E.push({ name: `${op ? 'cls' : 'clz'} ${sf ? 'x' : 'w'} ${v}`, code: [['CLZ', { sf, op, Rn: 1, Rd: 0 }]], x: { 1: v } });
    }
  for (const C of [0, 1])
    for (const sz of [0, 1, 2, 3])
      for (const [acc, v] of [[0n, 0n], [0xffffffffn, 0x0123456789abcdefn], [0x12345678n, M64]] as [bigint, bigint][])
        E.push({ name: `crc32${C ? 'c' : ''} sz ${sz}`, code: [['CRC32', { sf: sz === 3 ? 1 : 0, C, sz, Rm: 2, Rn: 1, Rd: 0 }]], x: { 1: acc, 2: v } });
  E.push({ name: 'adr/adrp', code: [['ADR', { op: 0, immlo: 3, immhi: 0x7ffff, Rd: 0 }], ['ADR', { op: 1, immlo: 1, immhi: 0, Rd: 1 }], ['ADR', { op: 1, immlo: 3, immhi: 0x7ffff, Rd: 2 }]] });

  // ---- exclusives ----------------------------------------------------------
  const ldxr = (size: number, rt: number, rn: number, o0 = 0): Insn => ['LDXR', { size, o0, Rn: rn, Rt: rt }];
  const stxr = (size: number, rs: number, rt: number, rn: number, o0 = 0): Insn => ['STXR', { size, Rs: rs, o0, Rn: rn, Rt: rt }];
  const base = { 0: D + 0x100n, 3: 0x1122334455667788n, 4: D + 0x108n };
  for (const size of [0, 1, 2, 3]) {
    E.push({ name: `ldxr/stxr success size ${size}`, code: [ldxr(size, 1, 0), stxr(size, 2, 3, 0)], x: base });
    E.push({ name: `ldaxr/stlxr success size ${size}`, code: [ldxr(size, 1, 0, 1), stxr(size, 2, 3, 0, 1)], x: base });
    E.push({ name: `stxr without ldxr fails size ${size}`, code: [stxr(size, 2, 3, 0)], x: base });
    E.push({ name: `ldxr, clrex, stxr fails size ${size}`, code: [ldxr(size, 1, 0), ['CLREX', { CRm: 15 }], stxr(size, 2, 3, 0)], x: base });
    E.push({ name: `ldxr, stxr to another address fails size ${size}`, code: [ldxr(size, 1, 0), stxr(size, 2, 3, 4)], x: base });
    E.push({ name: `ldxr, stxr, stxr: second fails size ${size}`, code: [ldxr(size, 1, 0), stxr(size, 2, 3, 0), stxr(size, 5, 1, 0)], x: base });
    if (size > 0) E.push({ name: `ldxr unaligned size ${size}`, code: [ldxr(size, 1, 0)], x: { 0: D + 0x101n } });
  }
  for (const sz of [0, 1]) {
    E.push({ name: `ldxp/stxp success sz ${sz}`, code: [['LDXP', { sz, o0: 0, Rt2: 2, Rn: 0, Rt: 1 }], ['STXP', { sz, Rs: 5, o0: 1, Rt2: 4, Rn: 0, Rt: 3 }]], x: { 0: D + 0x200n, 3: 0x0102030405060708n, 4: 0x1112131415161718n } });
    E.push({ name: `ldxp misaligned sz ${sz}`, code: [['LDXP', { sz, o0: 0, Rt2: 2, Rn: 0, Rt: 1 }]], x: { 0: D + (sz ? 0x208n : 0x204n) } });
  }
  E.push({ name: 'stlr/ldar', code: [['STLR', { size: 3, Rn: 0, Rt: 3 }], ['LDAR', { size: 1, Rn: 0, Rt: 1 }]], x: base });

  // ---- unaligned, page-crossing and out-of-area accesses ---------------------------
  const ldr = (size: number, opc: number, rt: number, rn: number, imm12 = 0): Insn => ['LDST_uimm', { size, opc, imm12, Rn: rn, Rt: rt }];
  for (const size of [1, 2, 3])
    for (const off of [1n, 3n, 7n, 0xfffn, 0xffdn, 0x1ffbn])
      E.push({ name: `ldr/str size ${size} at +${off}`, code: [ldr(size, 1, 1, 0), ldr(size, 0, 2, 0)], x: { 0: D + off, 2: 0xa1a2a3a4a5a6a7a8n } });
  E.push({ name: 'ldrsh/ldrsb unaligned', code: [ldr(1, 2, 1, 0), ldr(0, 3, 2, 0)], x: { 0: D + 0x2fffn }, mem: [[0x2ff8, 0x80ff000000000000n], [0x3000, 0x80n]] });
  E.push({ name: 'ldp across a page inside the area', code: [['LDSTP_off', { opc: 2, L: 1, imm7: 0, Rt2: 2, Rn: 0, Rt: 1 }]], x: { 0: D + 0xffcn } });
  E.push({ name: 'ldr running off the end of the area', code: [ldr(3, 1, 1, 0)], x: { 0: D + BigInt(DATA_SIZE) - 4n } });
  E.push({ name: 'ldr below the area', code: [['LDST_unscaled', { size: 3, opc: 1, imm9: 0x1f8, Rn: 0, Rt: 1 }]], x: { 0: D } });
  E.push({ name: 'str running off the end of the area (no partial write)', code: [ldr(3, 0, 1, 0)], x: { 0: D + BigInt(DATA_SIZE) - 3n, 1: M64 } });
  E.push({ name: 'stp, second half off the end', code: [['LDSTP_off', { opc: 2, L: 0, imm7: 0, Rt2: 2, Rn: 0, Rt: 1 }]], x: { 0: D + BigInt(DATA_SIZE) - 8n, 1: M64, 2: M64 } });
  E.push({ name: 'ldr pre-index writeback then fault leaves base', code: [['LDST_pre', { size: 3, opc: 1, imm9: 8, Rn: 0, Rt: 1 }]], x: { 0: D + BigInt(DATA_SIZE) - 8n } });
  E.push({ name: 'ldr with sp base', code: [ldr(3, 1, 1, 31, 2)], x: { 31: D + 0x400n } });
  E.push({ name: 'ldr register offset sxtw negative', code: [['LDST_reg', { size: 3, opc: 1, Rm: 2, option: 6, S: 1, Rn: 0, Rt: 1 }]], x: { 0: D + 0x800n, 2: 0xfffffffen } });
  E.push({ name: 'ldr register offset uxtw of a negative w', code: [['LDST_reg', { size: 2, opc: 1, Rm: 2, option: 2, S: 0, Rn: 0, Rt: 1 }]], x: { 0: D + 0x800n, 2: 0xfffffffffffffffen } });
  E.push({ name: 'ldr literal of the block itself', code: [['LDR_lit', { opc: 1, imm19: 0, Rt: 1 }], ['LDR_lit', { opc: 2, imm19: 0x7ffff, Rt: 2 }]] });
  // ---- tagged addresses (TCR_EL1.TBI0, as Linux) --------------------------------------
  E.push({ name: 'load and store through a tagged base', code: [ldr(3, 1, 1, 0), ldr(3, 0, 2, 0, 1)], x: { 0: D + 0x500n + (0x5an << 56n), 2: 42n } });
  E.push({ name: 'fault at a tagged address reports it untagged', code: [ldr(3, 1, 1, 0)], x: { 0: 0x3c00000000001000n } });
  E.push({ name: 'br to a tagged target drops the tag', code: [['BR', { opc: 1, Rn: 1 }], movz(0, 1), ['BL', { imm26: 1 }]], x: { 1: 0x7f00000010000008n } });
  return E;
}

/** The corpus as cases (in entry order), with the names of entries that had to be skipped and why. */
export function buildCorpus(dec: Decoder): { cases: Case[]; skipped: string[] } {
  const cases: Case[] = [];
  const skipped: string[] = [];
  for (const e of corpusEntries()) {
    const words: number[] = [];
    let why: string | null = null;
    for (const [name, f] of e.code) {
      const c: CompiledDef | undefined = dec.byName.get(name);
      if (c === undefined) {
        why = `no definition ${name} in the table`;
        break;
      }
      let word = encode(c, f);
      // The pattern's x bits: 1, their "should be one" value.
      let m = c.mask;
      for (const s of c.fields) m |= s.width === 32 ? -1 : ((1 << s.width) - 1) << s.lsb;
      word = (word | ~m) >>> 0;
      const d = dec.decode(word);
      if (d === null || d.c !== c) {
        why = `${name} ${JSON.stringify(f)} does not decode as ${name}${d ? ` (decodes as ${d.c.def.name})` : ''}`;
        break;
      }
      words.push(word);
    }
    if (why !== null) {
      skipped.push(`${e.name}: ${why}`);
      continue;
    }
    const regs = new Uint32Array(64);
    setReg64(regs, SP, D + 0x8000n);
    for (const [k, v] of Object.entries(e.x ?? {})) setReg64(regs, Number(k), v);
    const patches: Word64[] = (e.mem ?? []).map(([off, v]) => ({ off, lo: Number(v & 0xffffffffn), hi: Number(v >> 32n) }));
    cases.push({ words, regs, nzcv: e.nzcv ?? 0, patches, insns: words.length, note: e.name });
  }
  return { cases, skipped };
}

/** The corpus's initial data area: fixed pseudo-random bytes. */
export function corpusPristine(): Uint8Array {
  const rng = new Rng('corpus');
  const p = new Uint8Array(DATA_SIZE);
  const v = new DataView(p.buffer);
  for (let i = 0; i < DATA_SIZE; i += 4) v.setUint32(i, rng.u32(), true);
  return p;
}
