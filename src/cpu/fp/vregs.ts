/**
 * Element access to the SIMD&FP register file for the FP instructions, and
 * a 128-bit scratch result that is committed to Vd once every lane is
 * computed (so that Vd may alias a source).
 *
 * Elements are addressed by register and lane in the element's format:
 * half lanes in pe.v16, single lanes in pe.v32, double lanes as two words
 * of pe.v32 (bits 31:0 then 63:32). `elo` gives a lane's bits (the low
 * word for double), `ehi` the high word of a double lane (0 otherwise).
 */
import type { PE } from '../pe.js';
import { Fmt, rhi } from './softfloat.js';

export function elo(pe: PE, fmt: number, r: number, i: number): number {
  return fmt === Fmt.S ? pe.v32[4 * r + i] : fmt === Fmt.D ? pe.v32[4 * r + 2 * i] : pe.v16[8 * r + i];
}

export function ehi(pe: PE, fmt: number, r: number, i: number): number {
  return fmt === Fmt.D ? pe.v32[4 * r + 2 * i + 1] : 0;
}

const T = new ArrayBuffer(16);
/** The scratch result as words and halfwords. */
export const T32 = new Int32Array(T);
export const T16 = new Uint16Array(T);

/** Stores lane i of the scratch result: the bits lo (and rhi for double, as left by the op). */
export function tput(fmt: number, i: number, lo: number): void {
  if (fmt === Fmt.S) T32[i] = lo;
  else if (fmt === Fmt.D) {
    T32[2 * i] = lo;
    T32[2 * i + 1] = rhi;
  } else T16[i] = lo;
}

/** Stores lane i as the two words (lo, hi) of a double lane, or the low bits of a narrower lane. */
export function tput2(fmt: number, i: number, lo: number, hi: number): void {
  if (fmt === Fmt.S) T32[i] = lo;
  else if (fmt === Fmt.D) {
    T32[2 * i] = lo;
    T32[2 * i + 1] = hi;
  } else T16[i] = lo;
}

export function tclear(): void {
  T32[0] = T32[1] = T32[2] = T32[3] = 0;
}

/** Vd = the scratch result; with q false the upper 64 bits become zero. */
export function tcommit(pe: PE, d: number, q: boolean): void {
  const v = pe.v32, b = 4 * d;
  v[b] = T32[0];
  v[b + 1] = T32[1];
  if (q) {
    v[b + 2] = T32[2];
    v[b + 3] = T32[3];
  } else v[b + 2] = v[b + 3] = 0;
}

/** Writes a scalar result (bits lo, and hi for double) to element 0 of Vd, zeroing the rest of the register. */
export function wscalar(pe: PE, fmt: number, d: number, lo: number, hi: number): void {
  const v = pe.v32, b = 4 * d;
  v[b] = fmt === Fmt.H ? lo & 0xffff : lo;
  v[b + 1] = fmt === Fmt.D ? hi : 0;
  v[b + 2] = 0;
  v[b + 3] = 0;
}

/** Register name prefixes and arrangement names for disassembly. */
export const FPREG = ['h', 's', 'd'];
export const fmtOfType = (ftype: number): number => (ftype === 0 ? Fmt.S : ftype === 1 ? Fmt.D : Fmt.H);
export const vreg = (fmt: number, n: number): string => `${FPREG[fmt]}${n}`;
/** Lanes in a 64- or 128-bit vector of format fmt. */
export const lanesOf = (fmt: number, q: number): number => (q ? 16 : 8) >> (fmt === Fmt.H ? 1 : fmt === Fmt.S ? 2 : 3);
export const arr = (fmt: number, q: number): string => `${lanesOf(fmt, q)}${FPREG[fmt]}`;
