/**
 * Operand helpers shared by the instruction definitions: register slot
 * indexes resolved at decode time (so that register 31 costs nothing at run
 * time), disassembly names, and immediate decoders.
 */
import { SLOT_SINK, SLOT_SP } from '../pe.js';

/** Index in pe.x of the low half of Xn as a source, with 31 = XZR (reads zero). */
export const src = (n: number): number => 2 * n;
/** Index of Xn|SP as a source. */
export const srcSp = (n: number): number => (n === 31 ? 2 * SLOT_SP : 2 * n);
/** Index of Xn as a destination, with 31 = XZR (the write is discarded). */
export const dst = (n: number): number => (n === 31 ? 2 * SLOT_SINK : 2 * n);
/** Index of Xn|SP as a destination. */
export const dstSp = (n: number): number => (n === 31 ? 2 * SLOT_SP : 2 * n);

/** Disassembly name of a general register; `sp` selects SP over ZR for register 31. */
export function regName(n: number, sf: number | boolean, sp = false): string {
  const x = sf === true || sf === 1;
  if (n === 31) return sp ? (x ? 'sp' : 'wsp') : x ? 'xzr' : 'wzr';
  return `${x ? 'x' : 'w'}${n}`;
}

/** Sign-extends the low `bits` bits of v. */
export const sext = (v: number, bits: number): number => (bits >= 32 ? v | 0 : (v << (32 - bits)) >> (32 - bits));

export const hex = (v: number | bigint): string => {
  const b = typeof v === 'bigint' ? v : BigInt(v);
  return b < 0n ? `-0x${(-b).toString(16)}` : `0x${b.toString(16)}`;
};

export const CONDS = ['eq', 'ne', 'cs', 'cc', 'mi', 'pl', 'vs', 'vc', 'hi', 'ls', 'ge', 'lt', 'gt', 'le', 'al', 'nv'];

/** PC-relative target for disassembly. */
export const target = (pc: bigint, delta: number): string => `0x${((pc + BigInt(delta)) & 0xffffffffffffffffn).toString(16)}`;
